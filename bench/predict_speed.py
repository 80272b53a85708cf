"""Recognition speed of the three models side by side: one 280x280 canvas through
`load_recognizer(...).predict` (conversion to 28x28 and the ink check included), in ms per
canvas over real drawings, against the targets (softmax and MLP 1 ms, CNN 3 ms).

    MNIST_PATH=../shared/data/mnist.npz python bench/predict_speed.py [--n 500]

Models: model/trained/digits.keras (softmax), model/trained/mlp.keras and cnn.keras when they
are there; otherwise a quick one-epoch model of the default size is trained into a temporary
folder (needs MNIST; its accuracy does not matter here, only its shapes and preprocessing).
Canvases are fed as the page gets them: RGBA, white ink on an opaque black background. The
three recognizers take turns on each canvas, so that a burst of load from another process
falls on all three alike; the load average before and after is printed with the table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model import load_recognizer, store  # noqa: E402
from model.config import BEST  # noqa: E402
from model.preprocess import to_mnist_format  # noqa: E402

TARGET_MS = {"softmax": 1.0, "mlp": 1.0, "cnn": 3.0}


def model_file(architecture: str, folder: Path, data_path: str | None) -> tuple[Path, str]:
    """(the model to time, where it comes from): the shipped one, else a quick training."""
    shipped = store.SHIPPED_FILES[architecture]
    if shipped.is_file():
        return shipped, "shipped"
    from classroom.paths import mnist_path
    from model import training
    from model.data import load_mnist

    # The shipped model's preprocessing (conversion time depends on it), default layer sizes,
    # and Adam so that one short epoch cannot diverge into weights the store would refuse.
    config = BEST.replace(architecture=architecture, epochs=1, optimizer="adam", learning_rate=1e-3,
                          average_weights=False, styles=False)
    data = load_mnist(data_path or mnist_path()).head(10_000, 2_000)
    print(f"training a quick {architecture} (1 epoch on 10,000 digits) for the bench...", file=sys.stderr)
    result = training.fit(config, data)
    return store.save(result, folder / f"{architecture}.keras"), f"quick 1-epoch ({result.test_accuracy:.1%})"


def ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(seconds, q)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--canvases", default=str(ROOT.parent / "shared" / "data" / "drawn_dev.npz"))
    parser.add_argument("--data", default=None, help="mnist.npz for the quick trainings (default: $MNIST_PATH)")
    parser.add_argument("--n", type=int, default=500, help="drawings to time (default: %(default)s)")
    args = parser.parse_args()
    with np.load(args.canvases) as f:
        gray = f["images"][: args.n]
    opaque = np.full(gray.shape[1:], 255, np.uint8)
    canvases = [np.dstack([g, g, g, opaque]) for g in gray]

    with tempfile.TemporaryDirectory() as folder:
        files = {a: model_file(a, Path(folder), args.data) for a in TARGET_MS}
        recognizers = {a: load_recognizer(path) for a, (path, _) in files.items()}
        load_before = os.getloadavg()
        for r in recognizers.values():  # warm up: first calls build caches and page in code
            for canvas in canvases[:5]:
                r.predict(canvas)
        total = {a: [] for a in TARGET_MS}
        for canvas in canvases:  # take turns, canvas by canvas
            for a, r in recognizers.items():
                start = time.perf_counter()
                r.predict(canvas)
                total[a].append(time.perf_counter() - start)
        # Where the time goes: the conversion alone, and the model alone on its converted input.
        inputs = {a: [to_mnist_format(c, r.pipeline) for c in canvases] for a, r in recognizers.items()}
        convert, forward = {a: [] for a in TARGET_MS}, {a: [] for a in TARGET_MS}
        for i, canvas in enumerate(canvases):
            for a, r in recognizers.items():
                start = time.perf_counter()
                to_mnist_format(canvas, r.pipeline)
                convert[a].append(time.perf_counter() - start)
                if inputs[a][i] is not None:
                    start = time.perf_counter()
                    r.probabilities(inputs[a][i][None])
                    forward[a].append(time.perf_counter() - start)
        load_after = os.getloadavg()

    print(f"{len(canvases)} drawings from {args.canvases}; load average (1, 5, 15 min) "
          f"before {', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}; "
          f"{os.cpu_count()} cores\n")
    print("| model | file | predict median ms | predict p95 ms | target ms | median / target | p95 / target "
          "| conversion median ms | model alone median ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for a, r in recognizers.items():
        path, origin = files[a]
        target = TARGET_MS[a]
        size = {"mlp": f" {r.config.hidden_units} units", "cnn": f" {r.config.filters} filters"}.get(a, "")
        print(f"| {a}{size} | {path.name}, {origin} | {ms(total[a], 50):.3f} | {ms(total[a], 95):.3f} | {target:g} "
              f"| {ms(total[a], 50) / target:.2f} | {ms(total[a], 95) / target:.2f} "
              f"| {statistics.median(convert[a]) * 1000:.3f} | {statistics.median(forward[a]) * 1000:.3f} |")
    print("\nratio < 1: within the target (predict = conversion + ink check + model, per 280x280 canvas)")


if __name__ == "__main__":
    main()
