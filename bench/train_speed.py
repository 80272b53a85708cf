"""Training speed: the lesson's plain `model.fit` against `model.training.fit`, side by side.

    MNIST_PATH=../shared/data/mnist.npz python bench/train_speed.py [--repeats 3]

Both train the lesson's model (SGD 0.01, batch 100, 5 epochs, test set scored every
epoch) on the full MNIST in one process, alternately; TensorFlow is loaded and warmed
up before any timing. Prints each run's fit seconds and test accuracy, the medians and
the speed-up.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from model import training  # noqa: E402
from model.config import LESSON  # noqa: E402
from classroom.paths import mnist_path  # noqa: E402
from model.data import load_mnist  # noqa: E402
from model.network import build_model  # noqa: E402


def plain_fit(data) -> tuple[float, float]:
    """The lesson exactly: compile, fit with validation_data, evaluate on the test set."""
    keras.utils.set_random_seed(LESSON.seed)
    x = data.x_train.reshape(-1, 784).astype("float32") / 255
    xt = data.x_test.reshape(-1, 784).astype("float32") / 255
    y, yt = keras.utils.to_categorical(data.y_train, 10), keras.utils.to_categorical(data.y_test, 10)
    model = build_model(LESSON)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=LESSON.batch_size, epochs=LESSON.epochs, validation_data=(xt, yt), verbose=0)
    seconds = time.perf_counter() - start
    return seconds, model.evaluate(xt, yt, verbose=0)[1]


def ours(data) -> tuple[float, float]:
    result = training.fit(LESSON, data)
    return result.fit_seconds, result.test_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", help="mnist.npz (default: $MNIST_PATH)")
    args = parser.parse_args()
    data = load_mnist(args.data or mnist_path())
    training.fit(LESSON.replace(epochs=1), data.head(1000))  # load and warm TensorFlow up
    runs = {"plain model.fit": [], "model.training.fit": []}
    for _ in range(args.repeats):
        for name, run in (("plain model.fit", plain_fit), ("model.training.fit", ours)):
            runs[name].append(run(data))
    print(f"| lesson (5 epochs, batch 100, SGD 0.01) | fit seconds (median of {args.repeats}) | runs | test accuracy |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        secs = [s for s, _ in results]
        accs = [a for _, a in results]
        print(f"| {name} | {statistics.median(secs):.2f} | {', '.join(f'{s:.2f}' for s in secs)} | "
              f"{', '.join(f'{a:.4f}' for a in accs)} |")
    plain = statistics.median(s for s, _ in runs["plain model.fit"])
    fast = statistics.median(s for s, _ in runs["model.training.fit"])
    gap = abs(statistics.mean(a for _, a in runs["plain model.fit"]) -
              statistics.mean(a for _, a in runs["model.training.fit"]))
    print(f"\nspeed-up: {plain / fast:.1f}x  (target: at most 2 s of fit time)")
    print(f"accuracy gap: {gap * 100:.2f} points  (target: within 0.3)")


if __name__ == "__main__":
    main()
