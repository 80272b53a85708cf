"""Recognition speed: one 280x280 canvas through `load_recognizer().predict` (conversion
to 28x28 included) against Keras's `model.predict` on one already-converted image.

    python bench/predict_speed.py [--canvases ../shared/data/drawn_dev.npz] [--n 500]

Canvases are fed as the page gets them: RGBA, white ink on an opaque black background.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model import load_recognizer, store  # noqa: E402


def per_call(fn, items) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--canvases", default=str(ROOT.parent / "shared" / "data" / "drawn_dev.npz"))
    parser.add_argument("--model", default=None, help="a .keras model (default: the shipped one)")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    with np.load(args.canvases) as f:
        gray = f["images"][: args.n]
    opaque = np.full(gray.shape, 255, np.uint8)
    canvases = [np.dstack([g, g, g, a]) for g, a in zip(gray, opaque)]

    recognizer = load_recognizer(args.model)
    recognizer.predict(canvases[0])
    ours = per_call(recognizer.predict, canvases)

    keras_model = store.load_keras_model(recognizer.path)
    inputs = [recognizer.predict(c).input.reshape(1, 784) for c in canvases[:50]]
    keras_model.predict(inputs[0], verbose=0)
    theirs = per_call(lambda x: keras_model.predict(x, verbose=0), inputs)

    ms = lambda ts: statistics.median(ts) * 1000  # noqa: E731
    print("| per image | median ms | p95 ms | n |")
    print("|---|---|---|---|")
    print(f"| recognizer.predict (280x280 RGBA canvas, conversion included) | {ms(ours):.3f} | "
          f"{np.percentile(ours, 95) * 1000:.3f} | {len(ours)} |")
    print(f"| Keras model.predict (28x28 already converted) | {ms(theirs):.1f} | "
          f"{np.percentile(theirs, 95) * 1000:.1f} | {len(theirs)} |")
    print(f"\nratio: recognizer is {ms(theirs) / ms(ours):.0f}x faster  (target: at most 1 ms per canvas)")


if __name__ == "__main__":
    main()
