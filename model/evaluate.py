"""Score a model on MNIST's test set or on a file of drawings.

    python -m model.evaluate                                   # shipped model, MNIST test set
    python -m model.evaluate --canvases ../shared/data/drawn_dev.npz --json
    python -m model.evaluate --model path/to/model.keras --data mnist.npz

Drawings go through `load_recognizer().predict`, the same path as the page, whatever the
model's architecture (the lesson's softmax, a hidden layer, a CNN); the output names it.
"""
from __future__ import annotations

import argparse
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .data import DataError, load_mnist
from .recognizer import Recognizer, load_recognizer
from .store import ModelFileError


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    n: int
    per_class: list[float]          # accuracy for each true digit
    confusion: list[list[int]]      # [true][guessed] counts

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "n": self.n, "per_class": self.per_class,
                "confusion": self.confusion}


def architecture_words(config) -> str:
    """The model's architecture for the terminal: 'softmax', 'mlp (128 hidden units)', 'cnn (32 filters)'."""
    if config.architecture == "mlp":
        return f"mlp ({config.hidden_units} hidden units)"
    if config.architecture == "cnn":
        return f"cnn ({config.filters} filters)"
    return config.architecture


def summarize(labels: np.ndarray, guesses: np.ndarray) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix; an empty drawing (-1) counts as wrong."""
    labels = np.asarray(labels, int)
    guesses = np.asarray(guesses, int)
    confusion = np.zeros((10, 10), int)
    valid = guesses >= 0
    np.add.at(confusion, (labels[valid], guesses[valid]), 1)
    totals = np.bincount(labels, minlength=10)
    per_class = [float(confusion[d, d] / totals[d]) if totals[d] else 0.0 for d in range(10)]
    n = len(labels)
    return Evaluation(float((labels == guesses).mean()) if n else 0.0, n, per_class, confusion.tolist())


def guess_mnist(recognizer: Recognizer, images: np.ndarray) -> np.ndarray:
    """MNIST's own digits are already in the model's format: only the model's optional steps apply."""
    from .preprocess import prepare_mnist
    return recognizer.probabilities(prepare_mnist(images, recognizer.pipeline)).argmax(axis=1)


def guess_canvases(recognizer: Recognizer, images: np.ndarray) -> np.ndarray:
    """Each drawing's guess through the page's own path; -1 (wrong) when there is none: an
    empty canvas, or a drawing the recognizer rejects as not a digit."""
    return np.array([-1 if (d := recognizer.predict(im).digit) is None else d for im in images], int)


def read_canvases(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels = f["images"], f["labels"]
    except FileNotFoundError:
        raise DataError(f"No drawings file at {path}.") from None
    except KeyError:
        raise DataError(f"{path} must hold the arrays 'images' and 'labels'.") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}).") from None
    if images.ndim not in (3, 4) or len(images) != len(labels):
        raise DataError(f"{path}: images must be (N, H, W) or (N, H, W, 4) with one label each; "
                        f"got {images.shape} images and {labels.shape} labels.")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels must be digits 0 to 9; found {labels.min()} to {labels.max()}.")
    return images, labels


def canvas_chunks(path: str | Path, chunk: int = 256) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A drawings .npz as (images, labels), `chunk` drawings at a time, streamed from the
    archive: drawn_dev.npz is 13 MB on disk but 588 MB of pixels, and scoring needs one
    drawing at a time. Raises DataError as `read_canvases` does, while iterating."""
    try:
        with np.load(path, allow_pickle=False) as f:
            labels = f["labels"]
        with zipfile.ZipFile(path) as z, z.open("images.npy") as stream:
            version = np.lib.format.read_magic(stream)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"npy format {version} is not read here")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(stream)
            if len(shape) not in (3, 4) or shape[0] != len(labels) or fortran_order or dtype.hasobject:
                raise DataError(f"{path}: images must be (N, H, W) or (N, H, W, 4) with one label each; "
                                f"got {shape} images and {labels.shape} labels.")
            if labels.size and (labels.min() < 0 or labels.max() > 9):
                raise DataError(f"{path}: labels must be digits 0 to 9; found {labels.min()} to {labels.max()}.")
            row = int(np.prod(shape[1:])) * dtype.itemsize
            for start in range(0, shape[0], chunk):
                n = min(chunk, shape[0] - start)
                data = stream.read(n * row)
                if len(data) != n * row:
                    raise DataError(f"{path}: the images end early.")
                yield np.frombuffer(data, dtype).reshape(n, *shape[1:]), labels[start:start + n]
    except FileNotFoundError:
        raise DataError(f"No drawings file at {path}.") from None
    except KeyError:
        raise DataError(f"{path} must hold the arrays 'images' and 'labels'.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}).") from None


def drawn_accuracy(recognizer: Recognizer, path: str | Path | None) -> float | None:
    """The model's accuracy on the drawings at `path`, or None if there are none. They are
    read a chunk at a time: this runs after each training, which must not hold the whole
    file's pixels at once (the training process's memory is the server's budget too)."""
    if path is None:
        return None
    labels, guesses = [], []
    try:
        for images, chunk_labels in canvas_chunks(path):
            guesses.append(guess_canvases(recognizer, images))
            labels.append(chunk_labels)
    except DataError:
        return None
    return summarize(np.concatenate(labels), np.concatenate(guesses)).accuracy if labels else None


def main(argv: list[str] | None = None, mnist_path: str | Path | None = None) -> int:
    """The command line; `mnist_path` is used when --data is not given."""
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a .keras model file (default: the shipped model)")
    parser.add_argument("--data", help="Keras-format mnist.npz (default: $MNIST_PATH, else Keras's cache)")
    parser.add_argument("--canvases", help="an .npz of drawings: images (N,H,W) or (N,H,W,4), labels (N,)")
    parser.add_argument("--json", action="store_true", help="print one line of JSON")
    args = parser.parse_args(argv)
    try:
        recognizer = load_recognizer(args.model)
        if args.canvases:
            images, labels = read_canvases(args.canvases)
            evaluation = summarize(labels, guess_canvases(recognizer, images))
            what = f"drawings in {args.canvases}"
        else:
            mnist = load_mnist(args.data or mnist_path)
            evaluation = summarize(mnist.y_test, guess_mnist(recognizer, mnist.x_test))
            what = "MNIST test set"
    except (DataError, ModelFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**evaluation.to_dict(), "architecture": recognizer.config.architecture}))
    else:
        print(f"{recognizer.path}\nmodel: {architecture_words(recognizer.config)}\n"
              f"on the {what}: accuracy {evaluation.accuracy:.4f} (n={evaluation.n})")
        print("per digit: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(evaluation.per_class)))
    return 0


if __name__ == "__main__":
    # Only the command line looks for MNIST where the project keeps its paths; importing
    # this module never imports the classroom package.
    from classroom.paths import mnist_path
    sys.exit(main(mnist_path=mnist_path()))
