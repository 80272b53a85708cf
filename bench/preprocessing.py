"""Which preprocessing lets MNIST's softmax read people's drawings: each variant trained and scored.

    MNIST_PATH=../shared/data/mnist.npz python bench/preprocessing.py      # about 5-10 minutes
    python bench/preprocessing.py --quick                                  # smoke run on small slices
    python bench/preprocessing.py --data mnist.npz --canvases ../shared/data/drawn_dev.npz

Every row trains the softmax on MNIST's training set with `model.training.fit` and scores it
on MNIST's test set and on the drawings (digits by people, rendered as 280x280 canvases)
through the page's own recognizer, so each row's preprocessing is applied alike to MNIST and
to the drawings. The rows add one step at a time, up to BEST, and use BEST's optimizer (SGD
at 0.5 for 20 epochs) unless they say otherwise; the last rows try one more idea each. Only the first row converts drawings differently: it
squashes the whole canvas to 28x28 as many demos do, a conversion kept here for comparison
only. The drawings are never trained on. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from model.config import BEST, LESSON, TrainConfig  # noqa: E402
from classroom.paths import mnist_path  # noqa: E402
from model.data import load_mnist  # noqa: E402
from model.evaluate import guess_canvases, read_canvases  # noqa: E402
from model.preprocess import to_ink  # noqa: E402
from model.recognizer import Recognizer  # noqa: E402

TUNED = LESSON.replace(epochs=BEST.epochs, learning_rate=BEST.learning_rate, optimizer=BEST.optimizer)
RECIPE = TUNED.replace(deskew=True)
STROKES = RECIPE.replace(stroke_width=BEST.stroke_width)
MOMENTS = STROKES.replace(normalization="moments", aspect=0.25)
SQUARER = MOMENTS.replace(aspect=BEST.aspect)
STYLES = SQUARER.replace(styles=True)
assert STYLES.replace(average_weights=True) == BEST, "the rows must build up to BEST"

# (label, config, how drawings become 28x28: "squash" or the recognizer's own conversion)
ROWS: list[tuple[str, TrainConfig, str]] = [
    ("resize whole canvas to 28x28 (what most demos do)", TUNED, "squash"),
    ("MNIST recipe (crop, 20x20 box, centre of mass)", TUNED, "recognizer"),
    ("+ deskew", RECIPE, "recognizer"),
    (f"+ stroke normalization ({BEST.stroke_width:g} px)", STROKES, "recognizer"),
    ("+ moment normalization instead of the 20x20 box (aspect^0.25 kept)", MOMENTS, "recognizer"),
    (f"+ squarer: aspect^{BEST.aspect:g} kept", SQUARER, "recognizer"),
    ("+ styled copies: flagged 1s, crossed 7s, hooked 9s", STYLES, "recognizer"),
    ("+ weight averaging = **BEST** (`python train.py --preset best`)", BEST, "recognizer"),
    ("BEST + augmentation (2 shifted/rotated/scaled/thickened copies)", BEST.replace(augment=2), "recognizer"),
    ("BEST's preprocessing, the lesson's optimizer (SGD 0.01, 5 epochs, no averaging)",
     BEST.replace(epochs=LESSON.epochs, learning_rate=LESSON.learning_rate, average_weights=False), "recognizer"),
]


def squash(canvas: np.ndarray) -> np.ndarray:
    """The naive conversion, for comparison only: the whole canvas resized to 28x28."""
    ink = Image.fromarray(to_ink(canvas), mode="F")
    return np.clip(np.asarray(ink.resize((28, 28), Image.Resampling.BILINEAR), np.float32), 0.0, 1.0)


def drawn_accuracy(recognizer: Recognizer, images: np.ndarray, labels: np.ndarray, how: str) -> float:
    if how == "squash":
        inputs = np.stack([squash(im) for im in images])
        guesses = recognizer.probabilities(inputs).argmax(axis=1)
    else:
        guesses = guess_canvases(recognizer, images)
    return float((guesses == labels).mean())


def changes(config: TrainConfig) -> str:
    """The settings that differ from the lesson's, e.g. `deskew=True, epochs=20`."""
    lesson = LESSON.to_dict()
    return ", ".join(f"{k}={v}" for k, v in config.to_dict().items() if lesson[k] != v) or "the lesson"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="Keras-format mnist.npz (default: $MNIST_PATH, else Keras's cache)")
    parser.add_argument("--canvases", default=str(REPO.parent / "shared" / "data" / "drawn_dev.npz"),
                        help="an .npz of drawings: images (N,H,W) or (N,H,W,4), labels (N,) (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3,000 training and 1,000 test images, 500 drawings, 3 epochs")
    args = parser.parse_args(argv)

    from model import training  # imports TensorFlow

    data = load_mnist(args.data or mnist_path())
    images, labels = read_canvases(args.canvases)
    rows = ROWS
    if args.quick:
        data = data.head(3000, 1000)
        images, labels = images[:500], labels[:500]
        rows = [(label, config.replace(epochs=min(config.epochs, 3)), how) for label, config, how in ROWS]

    print(f"MNIST: {len(data.x_train)} training, {len(data.x_test)} test images; "
          f"{len(labels)} drawings from {args.canvases}\n", file=sys.stderr)
    table = ["| variant | MNIST test | drawn dev | settings (besides the lesson's) | seconds |",
             "|---|---:|---:|---|---:|"]
    for label, config, how in rows:
        start = time.perf_counter()
        result = training.fit(config, data)
        kernel, bias = (np.asarray(w) for w in result.model.get_layer("softmax").get_weights())
        recognizer = Recognizer.from_softmax(kernel, bias, {"config": config.to_dict()})
        drawn = drawn_accuracy(recognizer, images, labels, how)
        seconds = time.perf_counter() - start
        table.append(f"| {label} | {result.test_accuracy:.2%} | {drawn:.2%} | {changes(config)} | {seconds:.0f} |")
        print(table[-1], file=sys.stderr, flush=True)
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
