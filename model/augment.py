"""More training images from MNIST's own: randomly shifted, rotated, scaled and thickened
copies, and copies of the 1s, 7s and 9s in the styles MNIST's writers rarely used.

    images, labels = augment(x_train, y_train, copies=2, seed=0)   # 180,000 images, originals first
    copies, labels = world_styles(x_train, y_train, seed=0)        # ~22,000 restyled 1s, 7s, 9s

`augment`: one random affine map per image (rotation, scale, shift) sampled bilinearly, then
a partial grey dilation or erosion. Whole batches at once in NumPy: a few seconds per copy.

`world_styles`: MNIST's digits were written in the United States, where a 1 is one stroke,
a 7 has no crossbar and a 9's tail is straight. Much of the world writes a 1 with a long
flag (and sometimes a base), crosses the 7 and hooks the 9's tail to the left; a softmax
that has only seen MNIST's styles reads those as 7s, 2s and 3s. Each 1, 7 and 9 gets one
copy with that stroke added (drawn with Pillow at 4x, then shrunk) or its tail bent; and
9s written fast, with a small loop and a long hooked tail, are drawn from strokes.
No TensorFlow here.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

ROTATION = 10.0     # degrees either way
SCALE = 0.1         # up to 10% smaller or larger
SHIFT = 2.0         # pixels either way, in each direction
THICKNESS = 0.5     # up to half a pixel step of dilation (thicker) or erosion (thinner)
CHUNK = 4096        # images per batch: bounds the temporary arrays to a few tens of MB


def sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of (n, H, W) images at (n, H, W) fractional positions; outside is 0."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), np.float32)     # a border of zeros: outside the image
    padded[:, 1:-1, 1:-1] = images
    rows = np.clip(rows + 1, 0, h + 0.999)
    cols = np.clip(cols + 1, 0, w + 0.999)
    top, left = rows.astype(np.int32), cols.astype(np.int32)
    fy, fx = rows - top, cols - left
    index = np.arange(n)[:, None, None] * ((h + 2) * (w + 2)) + top * (w + 2) + left
    flat = padded.reshape(-1)
    top_row = flat[index] * (1 - fx) + flat[index + 1] * fx
    bottom_row = flat[index + w + 2] * (1 - fx) + flat[index + w + 3] * fx
    return top_row * (1 - fy) + bottom_row * fy


def thicken(images: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Blend each image towards its 3x3-cross grey dilation (amount > 0) or erosion (< 0)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    centre, up, down = padded[:, 1:-1, 1:-1], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1]
    left, right = padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]
    grown = np.maximum(np.maximum(np.maximum(centre, up), np.maximum(down, left)), right)
    shrunk = np.minimum(np.minimum(np.minimum(centre, up), np.minimum(down, left)), right)
    a = amount[:, None, None]
    return np.where(a > 0, images + a * (grown - images), images - a * (shrunk - images))


def distort(images: np.ndarray, rng: np.random.Generator, rotation: float = ROTATION, scale: float = SCALE,
            shift: float = SHIFT, thickness: float = THICKNESS) -> np.ndarray:
    """One random copy of each (n, 28, 28) float32 image in [0, 1]."""
    n, h, w = images.shape
    angle = np.deg2rad(rng.uniform(-rotation, rotation, n)).astype(np.float32)
    factor = np.exp(rng.uniform(-scale, scale, n)).astype(np.float32)
    dy, dx = rng.uniform(-shift, shift, (2, n)).astype(np.float32)
    amount = rng.uniform(-thickness, thickness, n).astype(np.float32)
    # Each output pixel looks up where it came from: the inverse rotation and scale about the centre.
    cos, sin = (np.cos(angle) / factor)[:, None, None], (np.sin(angle) / factor)[:, None, None]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y = ys[None] - cy - dy[:, None, None]
    x = xs[None] - cx - dx[:, None, None]
    moved = sample(images, cy + cos * y - sin * x, cx + sin * y + cos * x)
    return np.clip(thicken(moved, amount), 0.0, 1.0)


def distorted(images: np.ndarray, rng: np.random.Generator, **moves) -> np.ndarray:
    """`distort` for (n, 28, 28) uint8 images, CHUNK at a time: one random uint8 copy of each."""
    out = np.empty_like(images)
    for start in range(0, len(images), CHUNK):
        batch = images[start:start + CHUNK].astype(np.float32) / 255.0
        out[start:start + len(batch)] = np.round(distort(batch, rng, **moves) * 255.0).astype(np.uint8)
    return out


def augment(images: np.ndarray, labels: np.ndarray, copies: int, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) uint8 digits and their labels -> the originals followed by `copies` random
    copies of each: ((1 + copies) * n, 28, 28) uint8 and the labels repeated alike."""
    if copies <= 0:
        return images, labels
    rng = np.random.default_rng(seed)
    out = np.empty(((1 + copies) * len(images), *images.shape[1:]), np.uint8)
    out[:len(images)] = images
    for c in range(1, copies + 1):
        out[c * len(images):(c + 1) * len(images)] = distorted(images, rng)
    return out, np.tile(labels, 1 + copies)


# After the pipeline, a milder move of the model's own 28x28 inputs. The pipeline centres,
# scales, straightens and re-strokes every digit, which undoes most of what `distort` did to the
# raw copy; a drawing the pipeline places a pixel off or a few degrees turned (a long flag pulls
# a 1's centre of mass to the left) is what this teaches. No thickening: the strokes are set.
SETTLE = dict(rotation=8.0, scale=0.08, shift=1.5, thickness=0.0)


def settle(pixels: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 784) uint8 model inputs -> each one moved a little (SETTLE), as uint8."""
    return distorted(pixels.reshape(-1, 28, 28), np.random.default_rng(seed), **SETTLE).reshape(pixels.shape)


INK = 64            # of 255: a pixel this bright is part of a stroke
UP = 4              # styles are drawn at 4x, then shrunk: anti-aliased like MNIST's strokes
PEN = (1.6, 2.6)    # width of an added stroke, in 28x28 pixels: MNIST's own strokes' range


def _ink_rows(image: np.ndarray) -> tuple[int, int, int] | None:
    """(top row, bottom row, height) of the ink; None for a blank image."""
    rows = np.flatnonzero((image > INK).any(axis=1))
    return None if rows.size == 0 else (rows[0], rows[-1], rows[-1] - rows[0] + 1)


def _draw_lines(image: np.ndarray, lines: list[tuple[float, float, float, float]], width: float) -> np.ndarray:
    """Add strokes from (x0, y0) to (x1, y1), in pixel coordinates, to a uint8 digit."""
    h, w = image.shape
    big = Image.fromarray(image).resize((w * UP, h * UP), Image.Resampling.BILINEAR)
    pen = ImageDraw.Draw(big)
    for x0, y0, x1, y1 in lines:
        pen.line([((x0 + .5) * UP, (y0 + .5) * UP), ((x1 + .5) * UP, (y1 + .5) * UP)],
                 fill=255, width=max(1, round(width * UP)))
    return np.asarray(big.resize((w, h), Image.Resampling.BOX))


def flag_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1 with a flag from its top down to the left, and a quarter of the time a base."""
    ink = _ink_rows(image)
    if ink is None:
        return image
    top, bottom, height = ink
    x_top = np.nonzero(image[top:top + 2] > INK)[1].mean()
    drop, reach = rng.uniform(0.2, 0.4) * height, rng.uniform(0.25, 0.5) * height
    lines = [(x_top, top, x_top - reach, top + drop)]
    if rng.random() < 0.25:
        x_foot, half = np.nonzero(image[bottom - 1:bottom + 1] > INK)[1].mean(), rng.uniform(0.2, 0.35) * height
        lines.append((x_foot - half, bottom, x_foot + half, bottom))
    return _draw_lines(image, lines, rng.uniform(*PEN))


def cross_seven(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 7 with a crossbar through its stem, a little below the middle."""
    ink = _ink_rows(image)
    if ink is None:
        return image
    top, bottom, height = ink
    row = int(round(top + rng.uniform(0.45, 0.6) * height))
    stem = np.nonzero(image[row] > INK)[0]
    if stem.size == 0:
        return image
    x, half = stem.mean(), rng.uniform(0.15, 0.3) * height
    return _draw_lines(image, [(x - half, row, x + half, row)], rng.uniform(*PEN))


def hook_nine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 9 whose tail bends to the left: the lower half is sheared left, more towards the bottom."""
    ink = _ink_rows(image)
    if ink is None:
        return image
    top, bottom, height = ink
    start, bend = top + 0.5 * height, rng.uniform(0.4, 0.8) * height
    rows, cols = np.mgrid[:image.shape[0], :image.shape[1]].astype(np.float32)
    depth = np.clip((rows - start) / max(bottom - start, 1.0), 0.0, None)
    bent = sample(image[None].astype(np.float32) / 255.0, rows[None], (cols + bend * depth ** 2)[None])[0]
    return np.round(np.clip(bent, 0.0, 1.0) * 255.0).astype(np.uint8)


def cursive_nine(rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """A 9 drawn from strokes as many write it fast: a small loop, then a long tail that usually
    hooks to the left at the bottom. MNIST's 9s have large loops and straight tails; once
    the pipeline thickens the strokes, a small loop over a hooked tail looked like a 3's top."""
    big = Image.new("L", (size * UP, size * UP))
    height = rng.uniform(17, 21)
    top, bottom = (size - height) / 2, (size + height) / 2
    radius, squash = rng.uniform(0.09, 0.22) * height, rng.uniform(0.8, 1.3)
    cx, cy = size / 2 + rng.uniform(-1, 1), top + radius
    start = rng.uniform(0, 40) if rng.random() < 0.3 else 0.0      # sometimes a little open
    turn = np.deg2rad(np.linspace(start, 360, 40))
    xs = list(cx + squash * radius * np.cos(turn))
    ys = list(cy - radius * np.sin(turn))
    # The tail: from the loop's right side down, then (four times in five) a J-hook to the left.
    slant = rng.uniform(-0.1, 0.15) * height
    hook = rng.uniform(0.1, 0.35) * height if rng.random() < 0.8 else 0.0
    down = np.linspace(0, 1, 20)
    x0, y0 = cx + squash * radius, cy
    xs += list(x0 - slant * down)
    ys += list(y0 + (bottom - hook - y0) * down)
    if hook:
        arc = np.linspace(0, np.pi * rng.uniform(0.5, 0.9), 15)
        xe, ye = xs[-1], ys[-1]
        xs += list(xe - hook + hook * np.cos(arc))
        ys += list(ye + hook * np.sin(arc))
        xs.append(xs[-1] - rng.uniform(0, 0.3) * height)
        ys.append(ys[-1])
    ImageDraw.Draw(big).line([(x * UP, y * UP) for x, y in zip(xs, ys)], fill=255,
                             width=max(1, round(rng.uniform(*PEN) * UP)), joint="curve")
    return np.asarray(big.resize((size, size), Image.Resampling.BOX))


STYLES = {1: flag_one, 7: cross_seven, 9: hook_nine}
CURSIVE_NINES = 0.5     # cursive 9s drawn, per MNIST 9


def world_styles(images: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One restyled copy of every 1, 7 and 9 in (n, 28, 28) uint8 `images`, then half as many
    cursive 9s as there are 9s: (copies, their labels)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picked = [(i, digit) for digit in STYLES for i in np.flatnonzero(labels == digit)]
    copies = [STYLES[digit](images[i], rng) for i, digit in picked]
    nines = int(CURSIVE_NINES * np.count_nonzero(labels == 9))
    copies += [cursive_nine(rng, images.shape[1]) for _ in range(nines)]
    if not copies:
        return np.zeros((0, *images.shape[1:]), np.uint8), np.zeros(0, labels.dtype)
    return np.stack(copies), np.array([digit for _, digit in picked] + [9] * nines, labels.dtype)
