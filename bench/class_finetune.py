"""Fine-tuning with a class's drawings: does learning from some people's drawings help the
model read other people's?

    MNIST_PATH=../shared/data/mnist.npz python bench/class_finetune.py
    python bench/class_finetune.py --data mnist.npz --drawings drawn_dev.npz --feedback-writers 10

A class simulated with drawn_dev.npz (30 writers): the drawings of writers 1..10 are the
feedback the class collected ("Right" / "Wrong — it was …"), the other writers are held
out. The shipped settings (model.config.BEST, read at run time) are trained twice in one
run: on MNIST alone, and on MNIST plus the feedback drawings, as the instructor's
fine-tuning does (`training.fit(..., drawings=(images, labels))`). Each model is saved to
a temporary folder and scored through the page's own recognizer: on the held-out writers'
drawings, on the feedback drawings it learned from, and on MNIST's test set.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.config import BEST  # noqa: E402
from classroom.paths import mnist_path  # noqa: E402
from model.data import load_mnist  # noqa: E402
from classroom.paths import drawn_dev_path  # noqa: E402
from model.evaluate import guess_canvases, guess_mnist, read_canvases, summarize  # noqa: E402
from model.recognizer import load_recognizer  # noqa: E402


def read_writers(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as f:
        return f["writers"]


def score(model_path: Path, mnist, drawn, held, feedback) -> dict[str, float]:
    """Accuracies of the saved model, through the same recognizer the page uses."""
    recognizer = load_recognizer(model_path)
    images, labels = drawn
    return {
        "held-out writers": summarize(labels[held], guess_canvases(recognizer, images[held])).accuracy,
        "feedback writers": summarize(labels[feedback], guess_canvases(recognizer, images[feedback])).accuracy,
        "MNIST test": summarize(mnist.y_test, guess_mnist(recognizer, mnist.x_test)).accuracy,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="Keras-format mnist.npz (default: $MNIST_PATH)")
    parser.add_argument("--drawings", help="drawn_dev.npz: images, labels, writers "
                                           "(default: $DIGITS_DRAWN_PATH, else ../shared/data/drawn_dev.npz)")
    parser.add_argument("--feedback-writers", type=int, default=10,
                        help="writers 1..N are the class's feedback; the rest are held out (default: %(default)s)")
    args = parser.parse_args(argv)

    drawings_path = Path(args.drawings) if args.drawings else drawn_dev_path()
    if drawings_path is None:
        print("error: no drawings file; pass --drawings path/to/drawn_dev.npz", file=sys.stderr)
        return 1
    mnist = load_mnist(args.data or mnist_path())
    images, labels = read_canvases(drawings_path)
    writers = read_writers(drawings_path)
    feedback = (writers >= 1) & (writers <= args.feedback_writers)
    held = ~feedback
    print(f"BEST: {BEST}")
    print(f"drawings: {drawings_path} - feedback: writers 1..{args.feedback_writers} "
          f"({feedback.sum()} drawings); held out: {len(np.unique(writers[held]))} writers ({held.sum()} drawings)")

    from model import store, training  # TensorFlow loads here

    rows = []
    with tempfile.TemporaryDirectory(prefix="class-finetune-") as folder:
        for name, drawings in [("MNIST only", None),
                               ("MNIST + class drawings", (images[feedback], labels[feedback]))]:
            result = training.fit(BEST, mnist, drawings=drawings)
            if result.diverged:
                print(f"error: {name}: training diverged", file=sys.stderr)
                return 1
            path = store.save(result, Path(folder) / "model.keras")
            rows.append((name, result.fit_seconds, score(path, mnist, (images, labels), held, feedback)))
            print(f"  trained {name} in {result.fit_seconds:.1f} s", flush=True)

    columns = list(rows[0][2])
    print(f"\n{'model':24}  " + "  ".join(f"{c:>16}" for c in columns) + f"  {'fit s':>6}")
    for name, seconds, scores in rows:
        print(f"{name:24}  " + "  ".join(f"{scores[c]:>16.2%}" for c in columns) + f"  {seconds:>6.1f}")
    (_, _, before), (_, _, after) = rows
    print(f"{'change (points)':24}  " + "  ".join(f"{100 * (after[c] - before[c]):>+16.2f}" for c in columns))
    errors_before, errors_after = 1 - before["held-out writers"], 1 - after["held-out writers"]
    if errors_before > 0:
        print(f"held-out errors: {errors_before:.2%} -> {errors_after:.2%} "
              f"({errors_after / errors_before:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
