"""python -m model.evaluate: one JSON line of scores on MNIST or on a file of drawings;
a bad drawings file is a message, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import store
from model.data import DataError
from model.evaluate import canvas_chunks, drawn_accuracy, guess_canvases, read_canvases, summarize
from model.recognizer import load_recognizer

REPO = Path(__file__).resolve().parents[1]


def evaluate(*args):
    return subprocess.run([sys.executable, "-m", "model.evaluate", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def scores_of(done) -> dict:
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def assert_consistent(scores, n_counted=None):
    confusion = np.array(scores["confusion"])
    assert confusion.shape == (10, 10) and len(scores["per_class"]) == 10
    assert confusion.sum() == (scores["n"] if n_counted is None else n_counted)
    assert scores["accuracy"] == pytest.approx(np.trace(confusion) / scores["n"])
    for digit, accuracy in enumerate(scores["per_class"]):
        if confusion[digit].sum():
            assert accuracy == pytest.approx(confusion[digit, digit] / confusion[digit].sum())


def test_scores_on_the_mnist_test_set(small_model_file, mnist_path, mnist):
    scores = scores_of(evaluate("--json", "--model", small_model_file, "--data", mnist_path))
    assert scores["n"] == len(mnist.y_test)
    assert_consistent(scores)
    # Keras's own guesses on the same digits give the same accuracy.
    x = mnist.x_test.reshape(len(mnist.x_test), -1).astype(np.float32) / 255
    keras_guesses = np.asarray(store.load_keras_model(small_model_file)(x)).argmax(axis=1)
    assert scores["accuracy"] == pytest.approx((keras_guesses == mnist.y_test).mean(), abs=0.0005)
    assert np.array(scores["confusion"]).sum(axis=1).tolist() == np.bincount(mnist.y_test, minlength=10).tolist()


def test_the_plain_report_names_the_model_and_the_accuracy(small_model_file, mnist_path):
    done = evaluate("--model", small_model_file, "--data", mnist_path)
    assert done.returncode == 0, done.stderr
    assert str(small_model_file) in done.stdout and "accuracy" in done.stdout
    assert "model: softmax" in done.stdout.splitlines()


@pytest.mark.parametrize("changes, says", [
    (dict(architecture="mlp", hidden_units=32), "model: mlp (32 hidden units)"),
    (dict(architecture="cnn", filters=4), "model: cnn (4 filters)"),
], ids=["mlp", "cnn"])
def test_any_architecture_is_scored_and_named(mnist, mnist_path, tmp_path, changes, says):
    """The next lesson's models, scored through the page's recognizer: the same accuracy as
    Keras's own guesses, and the report says which model it was."""
    from model import training
    from model.config import TrainConfig
    config = TrainConfig(epochs=1, optimizer="adam", learning_rate=0.003, **changes)
    path = store.save(training.fit(config, mnist.head(2000, 500)), tmp_path / "next.keras")
    scores = scores_of(evaluate("--json", "--model", path, "--data", mnist_path))
    assert scores["architecture"] == config.architecture
    x = mnist.x_test.reshape(len(mnist.x_test), -1).astype(np.float32) / 255
    keras_guesses = np.asarray(store.load_keras_model(path)(x)).argmax(axis=1)
    assert scores["accuracy"] == pytest.approx((keras_guesses == mnist.y_test).mean(), abs=0.0005)
    done = evaluate("--model", path, "--data", mnist_path)
    assert done.returncode == 0, done.stderr
    assert says in done.stdout.splitlines()


def canvases_file(path, draw, rgba=False):
    """Four drawn digits and one blank canvas (which counts as a wrong answer)."""
    digits = [0, 1, 4, 7]
    images = [draw(d) for d in digits] + [np.zeros((280, 280), np.uint8)]
    images = np.stack(images)
    if rgba:
        images = np.stack([images, images, images, np.full_like(images, 255)], axis=-1)
    np.savez(path, images=images, labels=np.array(digits + [3]))
    return path


@pytest.mark.parametrize("rgba", [False, True], ids=["grayscale", "rgba"])
def test_scores_on_a_file_of_drawings(small_model_file, tmp_path, draw, rgba):
    path = canvases_file(tmp_path / "drawn.npz", draw, rgba)
    scores = scores_of(evaluate("--json", "--model", small_model_file, "--canvases", path))
    assert scores["n"] == 5
    assert_consistent(scores, n_counted=4)  # the blank canvas has no guess
    with np.load(path) as f:
        recognizer = load_recognizer(small_model_file)
        right = [recognizer.predict(im).digit == label for im, label in zip(f["images"], f["labels"])]
    assert scores["accuracy"] == pytest.approx(np.mean(right))


@pytest.mark.skipif(not store.SHIPPED.is_file(), reason=f"the shipped model {store.SHIPPED} is not there yet")
def test_the_shipped_model_reads_the_drawings(tmp_path, draw):
    scores = scores_of(evaluate("--json", "--canvases", canvases_file(tmp_path / "drawn.npz", draw)))
    assert scores["accuracy"] == pytest.approx(4 / 5)
    assert scores["per_class"][3] == 0.0


def _save(**arrays):
    return lambda path: np.savez(path, **arrays)


BLANKS = np.zeros((2, 280, 280), np.uint8)
BAD_CANVASES = {
    "no labels": (_save(images=BLANKS), ["labels"]),
    "no images": (_save(labels=np.array([1, 2])), ["images"]),
    "one label too many": (_save(images=BLANKS, labels=np.array([1, 2, 3])), ["one label each"]),
    "flat images": (_save(images=np.zeros((2, 784), np.uint8), labels=np.array([1, 2])), ["(N, H, W)"]),
    "not an npz": (lambda path: path.write_bytes(b"not a zip"), ["not a readable"]),
    "missing": (lambda path: None, ["No drawings file"]),
    "label 10": (_save(images=BLANKS + 255, labels=np.array([10, 1])), ["labels"]),
    "label -1": (_save(images=BLANKS + 255, labels=np.array([-1, 1])), ["labels"]),
}


@pytest.mark.parametrize("make, words", [
    case for name, case in BAD_CANVASES.items()], ids=BAD_CANVASES.keys())
def test_a_bad_drawings_file_is_a_message(small_model_file, tmp_path, make, words):
    path = tmp_path / "drawn.npz"
    make(path)
    done = evaluate("--json", "--model", small_model_file, "--canvases", path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert str(path) in done.stderr and all(word in done.stderr for word in words)


@pytest.mark.parametrize("content", [None, b"random bytes"], ids=["missing", "corrupt"])
def test_a_bad_model_file_is_a_message(tmp_path, mnist_path, content):
    path = tmp_path / "m.keras"
    if content is not None:
        path.write_bytes(content)
    done = evaluate("--json", "--model", path, "--data", mnist_path)
    assert done.returncode == 1
    assert str(path) in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "compressed"])
@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_drawings_streamed_in_chunks_are_the_file_read_whole(tmp_path, draw, save, chunk):
    digits = [0, 1, 4, 7, 1]
    path = tmp_path / "drawn.npz"
    save(path, images=np.stack([draw(d, offset=(5 * i, 0)) for i, d in enumerate(digits)]),
         labels=np.array(digits, np.uint8), writers=np.zeros(len(digits), np.int16))
    images, labels = read_canvases(path)
    pieces = list(canvas_chunks(path, chunk))
    assert [len(i) for i, _ in pieces] == [min(chunk, len(digits) - s) for s in range(0, len(digits), chunk)]
    np.testing.assert_array_equal(np.concatenate([i for i, _ in pieces]), images)
    np.testing.assert_array_equal(np.concatenate([l for _, l in pieces]), labels)


@pytest.mark.parametrize("content, says", [
    ("missing", "No drawings file"), (b"not a zip", "not a readable"),
    ({"images": np.zeros((2, 28, 28), np.uint8)}, "'images' and 'labels'"),
    ({"images": np.zeros((2, 28, 28), np.uint8), "labels": np.zeros(3, np.uint8)}, "one label each"),
    ({"images": np.zeros((1, 28, 28), np.uint8), "labels": np.array([12], np.uint8)}, "digits 0 to 9"),
], ids=["missing", "not-a-zip", "no-labels", "lengths", "labels"])
def test_streamed_drawings_refuse_a_bad_file_as_read_canvases_does(tmp_path, content, says):
    path = tmp_path / "drawn.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    with pytest.raises(DataError, match=says):
        list(canvas_chunks(path))


def test_drawn_accuracy_is_the_accuracy_on_the_whole_file(tmp_path, monkeypatch, draw, small_model_file):
    digits = [0, 1, 4, 7] * 3
    path = tmp_path / "drawn.npz"
    images = np.stack([draw(d, width=14 + 2 * i) for i, d in enumerate(digits)])
    np.savez_compressed(path, images=images, labels=np.array(digits, np.uint8))
    monkeypatch.setenv("DIGITS_DRAWN_PATH", str(path))
    recognizer = load_recognizer(small_model_file)
    whole = summarize(np.array(digits), guess_canvases(recognizer, images)).accuracy
    assert drawn_accuracy(recognizer, path) == whole
