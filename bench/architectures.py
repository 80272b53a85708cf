"""The three models side by side, each trained twice in one run: on MNIST alone, and with the
copies that make MNIST look more like people's drawings (flagged 1s, crossed 7s, hooked 9s,
and randomly distorted copies). For each: MNIST test accuracy, accuracy on the drawings of
`drawn_dev.npz` (through the page's own recognizer: conversion and ink check included),
parameters, fit seconds per epoch and predict ms per canvas.

    MNIST_PATH=../shared/data/mnist.npz python bench/architectures.py [--drawn ../shared/data/drawn_dev.npz]
    python bench/architectures.py --quick     # 1 epoch each on 10,000 digits: checks the script runs

What it teaches: how much a bigger model buys, against how much training data that looks like
the drawings buys. The rows use the shipped recipes (model.config.SHIPPED); "MNIST alone"
turns off the styles and the augmented copies and changes nothing else.
Takes about 15 minutes on 2 cores; the load average before and after is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classroom.paths import drawn_dev_path, mnist_path  # noqa: E402
from model import load_recognizer, store  # noqa: E402
from model.config import SHIPPED, TrainConfig  # noqa: E402
from model.data import load_mnist  # noqa: E402
from model.evaluate import canvas_chunks, drawn_accuracy  # noqa: E402

NAMES = {"softmax": "softmax (the lesson's model)", "mlp": "hidden layer (MLP)", "cnn": "small CNN"}


def predict_ms(recognizer, canvases: np.ndarray) -> float:
    """Median ms per canvas through `predict`, conversion and ink check included."""
    times = []
    for canvas in canvases:
        start = time.perf_counter()
        recognizer.predict(canvas)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def row(config: TrainConfig, data, drawn: str | None, canvases: np.ndarray, folder: Path) -> dict:
    from model import training
    result = training.fit(config, data)
    path = store.save(result, folder / f"{config.architecture}-{int(config.styles)}.keras")
    recognizer = load_recognizer(path)
    return {
        "architecture": config.architecture,
        "data": "styled + augmented" if config.styles or config.augment else "MNIST alone",
        "mnist_test": result.test_accuracy,
        "drawn_dev": drawn_accuracy(recognizer, drawn),
        "parameters": int(result.model.count_params()),
        "fit_s_per_epoch": result.fit_seconds / config.epochs,
        "predict_ms": predict_ms(recognizer, canvases),
        "epochs": config.epochs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="mnist.npz (default: $MNIST_PATH)")
    parser.add_argument("--drawn", help="drawings .npz (default: $DIGITS_DRAWN_PATH or ../shared/data/drawn_dev.npz)")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 10,000 digits: a smoke run, not figures")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args()

    data = load_mnist(args.data or mnist_path())
    drawn = args.drawn or drawn_dev_path()
    drawn = str(drawn) if drawn and Path(drawn).is_file() else None
    canvases = next(iter(canvas_chunks(drawn, chunk=200)))[0] if drawn else np.zeros((50, 280, 280), np.uint8)
    if args.quick:
        data = data.head(10_000, 2_000)
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for architecture, recipe in SHIPPED.items():
            for styled in (False, True):
                config = recipe if styled else recipe.replace(styles=False, augment=0)
                if args.quick:
                    config = config.replace(epochs=1, augment=min(config.augment, 1))
                print(f"training {architecture}, {'styled + augmented' if styled else 'MNIST alone'} "
                      f"({config.epochs} epochs)...", file=sys.stderr, flush=True)
                rows.append(row(config, data, drawn, canvases, Path(folder)))
    load_after = os.getloadavg()[0]

    print(f"\nload average (1 min) before {load_before:.2f}, after {load_after:.2f}; "
          f"drawings: {drawn or 'none found'}{'; QUICK run: not figures' if args.quick else ''}\n")
    print("| model | training data | MNIST test | drawn_dev | parameters | fit s / epoch | predict ms / canvas |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        drawn_cell = f"{r['drawn_dev']:.2%}" if r["drawn_dev"] is not None else "-"
        print(f"| {NAMES[r['architecture']]} | {r['data']} | {r['mnist_test']:.2%} | {drawn_cell} | "
              f"{r['parameters']:,} | {r['fit_s_per_epoch']:.1f} | {r['predict_ms']:.2f} |")
    by = {(r["architecture"], r["data"] != "MNIST alone"): r for r in rows}
    if drawn:
        size = by[("cnn", False)]["drawn_dev"] - by[("softmax", False)]["drawn_dev"]
        likeness = [by[(a, True)]["drawn_dev"] - by[(a, False)]["drawn_dev"] for a in SHIPPED]
        print(f"\nOn the drawings: softmax -> CNN on MNIST alone buys {size * 100:+.1f} points; the styled and "
              f"augmented copies buy {', '.join(f'{a} {d * 100:+.1f}' for a, d in zip(SHIPPED, likeness))} points.")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
