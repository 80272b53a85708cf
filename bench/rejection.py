"""Not a digit, no guess: what the ink check (`model.ink`) costs real drawings and what it
catches, measured side by side in one run with the shipped model.

    MNIST_PATH=../shared/data/mnist.npz python bench/rejection.py
    python bench/rejection.py --canvases ../shared/data/drawn_dev.npz --n-speed 500

Prints: drawn_dev accuracy with and without the check (a rejected drawing counts as wrong),
the real drawings it rejects, by reason; the same for real digits redrawn with every pen
width and at small sizes (drawn_dev_strokes.json) and for MNIST's test digits drawn 10x as
canvases (other writers); how many of ~200 generated non-digits (taps, dots, noise, full
canvases, scribbles) it rejects; and the recognizer's median ms per canvas with and without.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from model.evaluate import canvas_chunks, guess_canvases  # noqa: E402
from model.recognizer import Recognizer, load_recognizer  # noqa: E402

PENS = (5, 10, 15, 20, 30, 40)          # the page's pen slider: 5 to 40 px


def render(strokes, width: float, size: int = 280) -> np.ndarray:
    """White strokes with round caps on black, like the page's canvas."""
    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    for line in strokes:
        points = [tuple(map(float, p)) for p in line]
        if len(points) > 1:
            pen.line(points, fill=255, width=round(width), joint="curve")
        for x, y in points:
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(image)


def non_digits(rng: np.random.Generator, each: int = 40) -> list[tuple[str, np.ndarray]]:
    """Taps, dots, noise, full canvases and scribbles, `each` of every kind."""
    out = []
    for _ in range(each):                # a tap: one pen width, a finger's wobble of up to half of it
        w = rng.uniform(5, 40)
        x, y = rng.uniform(w, 280 - w, 2)
        d, a = rng.uniform(0, w / 2), rng.uniform(0, 2 * math.pi)
        out.append(("tap", render([[(x, y), (x + d * math.cos(a), y + d * math.sin(a))]], w)))
    for _ in range(each):                # a dot or a tiny mark: a few points within 20 px
        x, y = rng.uniform(30, 250, 2)
        points = [(x, y)] + [(x + dx, y + dy) for dx, dy in rng.uniform(-10, 10, (int(rng.integers(1, 4)), 2))]
        out.append(("dot", render([points], rng.uniform(3, 10))))
    for i in range(each):                # noise: uniform, sparse specks, blotches, faint grain
        kind = i % 4
        if kind == 0:
            noise = rng.integers(0, 256, (280, 280))
        elif kind == 1:
            noise = (rng.random((280, 280)) < rng.uniform(0.01, 0.3)) * 255
        elif kind == 2:
            coarse = rng.integers(0, 256, (int(rng.integers(8, 40)),) * 2).astype(np.uint8)
            noise = np.asarray(Image.fromarray(coarse).resize((280, 280), Image.Resampling.BILINEAR))
        else:
            noise = rng.normal(0, rng.uniform(20, 80), (280, 280))
        out.append(("noise", np.clip(noise, 0, 255).astype(np.uint8)))
    for i in range(each):                # full canvases: all ink, a big filled box, coloured in
        if i % 3 == 0:
            full = np.full((280, 280), int(rng.integers(60, 256)), np.uint8)
        elif i % 3 == 1:
            full = np.zeros((280, 280), np.uint8)
            (top, left), (bottom, right) = rng.integers(0, 30, 2), rng.integers(250, 281, 2)
            full[top:bottom, left:right] = 255
        else:
            w = rng.uniform(30, 40)
            full = render([[(10 if k % 2 else 270, y) for k, y in enumerate(np.arange(10, 280, w * 0.8))]], w)
        out.append(("full", full))
    for i in range(each):                # scribbles: many crossing strokes filling a region
        w, size = PENS[i % len(PENS)], rng.uniform(120, 260)
        centre, half = rng.uniform(size / 2, 280 - size / 2, 2), size / 2 - PENS[i % len(PENS)] / 2
        kind = (i // len(PENS)) % 3
        if kind == 0:                    # back and forth between random points
            points = centre + rng.uniform(-half, half, (int(rng.integers(12, 40)), 2))
        elif kind == 1:                  # a ball of yarn: loops around a wandering centre
            n = int(rng.integers(5, 12))
            t = np.linspace(0, 2 * math.pi * n, 24 * n)
            r = half * rng.uniform(0.3, 0.6)
            wander = np.clip(np.cumsum(rng.normal(0, half / 12, (len(t), 2)), 0), r - half, half - r)
            points = centre + wander + r * np.stack([np.cos(t), np.sin(t * rng.uniform(0.8, 1.2))], 1)
        else:                            # hatching one way, then across
            k, a = int(rng.integers(6, 14)), rng.uniform(0, math.pi)
            u, v = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
            ticks = [2 * j / (k - 1) - 1 for j in range(k)]
            sweep = [(1 if j % 2 else -1, s) for j, s in enumerate(ticks)]
            points = np.array([centre + u * half * e + v * half * s for e, s in sweep]
                              + [centre + v * half * e + u * half * s for e, s in sweep])
            points = np.clip(points, w / 2, 280 - w / 2)
        out.append((f"scribble {w:>2} px", render([points], w)))
    return out


def redrawn_digits(path: Path, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """drawn_dev_strokes.json's digits redrawn with every pen at 30 % to 90 % of the canvas's
    height (a pen at most a quarter of the digit's height: thicker ones leave a blob)."""
    out = []
    for sample in json.loads(path.read_text())["samples"]:
        points = np.concatenate([np.array(line, float) for line in sample["strokes"]])
        low, high = points.min(0), points.max(0)
        for height in (0.3, 0.45, 0.6, 0.75, 0.9):
            for pen in (p for p in PENS if p <= height * 280 / 4):
                scale = (height * 280 - pen) / max(high[1] - low[1], 1.0)
                room = np.maximum(280 - pen - (high - low) * scale, 0)
                offset = pen / 2 + rng.uniform(0, 1, 2) * room
                strokes = [(np.array(line) - low) * scale + offset for line in sample["strokes"]]
                out.append((sample["label"], render(strokes, pen)))
    return out


def count_rejections(recognizer: Recognizer, canvases) -> Counter:
    return Counter(recognizer.predict(c).rejected or "guessed" for c in canvases)


def median_ms(recognizer: Recognizer, unchecked: Recognizer, canvases) -> tuple[float, float]:
    """Median ms per canvas of both, alternating canvas by canvas so both see the same load."""
    times = ([], [])
    for canvas in canvases:
        for k, r in enumerate((recognizer, unchecked)):
            start = time.perf_counter()
            r.predict(canvas)
            times[k].append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--canvases", type=Path, default=SHARED / "drawn_dev.npz")
    parser.add_argument("--strokes", type=Path, default=SHARED / "drawn_dev_strokes.json")
    parser.add_argument("--data", type=Path, default=os.environ.get("MNIST_PATH") or SHARED / "mnist.npz")
    parser.add_argument("--model", default=None, help="a .keras model (default: the shipped one)")
    parser.add_argument("--n-speed", type=int, default=500)
    args = parser.parse_args()
    recognizer = load_recognizer(args.model)
    unchecked = dataclasses.replace(recognizer, check_ink=False)

    labels, checked_guesses, plain_guesses, reasons, speed_canvases = [], [], [], Counter(), []
    for images, chunk_labels in canvas_chunks(args.canvases):
        labels.append(chunk_labels)
        checked_guesses.append(guess_canvases(recognizer, images))
        plain_guesses.append(guess_canvases(unchecked, images))
        reasons.update(recognizer.predict(im).rejected for im in images[checked_guesses[-1] < 0])
        room = max(args.n_speed - len(speed_canvases), 0)
        speed_canvases += [np.dstack([g, g, g, np.full_like(g, 255)]) for g in images[:room]]
    labels, checked, plain = map(np.concatenate, (labels, checked_guesses, plain_guesses))
    print(f"## drawn_dev ({len(labels)} drawings by 30 writers), the shipped model\n")
    print("| | accuracy | rejected |\n|---|---:|---:|")
    print(f"| without the ink check | {(plain == labels).mean():.2%} | {(plain < 0).sum()} |")
    print(f"| with the ink check (a rejection counts as wrong) | {(checked == labels).mean():.2%} | "
          f"{(checked < 0).sum()}{' ' + str(dict(reasons)) if reasons else ''} |")
    print(f"| change | {((checked == labels).mean() - (plain == labels).mean()) * 100:+.2f} points | |")

    print("\n## other real digits: rejected, by reason\n\n| set | n | rejected |\n|---|---:|---|")
    if args.strokes.is_file():
        redrawn = redrawn_digits(args.strokes, np.random.default_rng(0))
        found = count_rejections(recognizer, (c for _, c in redrawn))
        print(f"| drawn_dev_strokes.json redrawn, pens 5-40 px, 30-90 % high | {len(redrawn)} | "
              f"{len(redrawn) - found.pop('guessed', 0)} {dict(found)} |")
    if Path(args.data).is_file():
        with np.load(args.data) as f:
            mnist = f["x_test"]
        canvases = (np.kron(d, np.ones((10, 10), np.uint8)) for d in mnist)
        found = count_rejections(recognizer, canvases)
        print(f"| MNIST's test digits, 10x as 280x280 canvases | {len(mnist)} | "
              f"{len(mnist) - found.pop('guessed', 0)} {dict(found)} |")

    print("\n## generated non-digits: rejected\n\n| kind | n | rejected | reasons | still guessed | "
          "without the check: median confidence |\n|---|---:|---:|---|---:|---:|")
    kinds: dict[str, list] = {}
    for kind, canvas in non_digits(np.random.default_rng(1)):
        kinds.setdefault(kind.split(" ")[0], []).append(canvas)
        if kind.startswith("scribble"):
            kinds.setdefault(kind, []).append(canvas)
    total = rejected = 0
    for kind, canvases in kinds.items():
        found = count_rejections(recognizer, canvases)
        guessed = found.pop("guessed", 0)
        confidence = statistics.median(unchecked.predict(c).confidence for c in canvases)
        print(f"| {kind} | {len(canvases)} | {len(canvases) - guessed} | {dict(found)} | {guessed} | "
              f"{confidence:.0%} |")
        if " " not in kind:
            total, rejected = total + len(canvases), rejected + len(canvases) - guessed
    print(f"| **all** | {total} | {rejected} ({rejected / total:.0%}) | | {total - rejected} | |")

    with_check, without = median_ms(recognizer, unchecked, speed_canvases)
    print(f"\n## speed: recognizer.predict on {len(speed_canvases)} drawn_dev canvases (280x280 RGBA)\n")
    print("| | median ms per canvas |\n|---|---:|")
    print(f"| without the ink check | {without:.3f} |\n| with the ink check | {with_check:.3f} |")
    print(f"| the check costs | {with_check - without:+.3f} ({with_check / without:.2f}x) |")


if __name__ == "__main__":
    main()
