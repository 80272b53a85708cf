"""More training images from MNIST's own: randomly shifted, rotated, scaled and thickened copies.

    images, labels = augment(x_train, y_train, copies=2, seed=0)   # 180,000 images, originals first

Every copy is one random affine map per image (rotation, scale, shift) sampled bilinearly,
then a partial grey dilation or erosion (thicker or thinner strokes). Whole batches at once
in NumPy: 60,000 images take a few seconds per copy. No TensorFlow here.
"""
from __future__ import annotations

import numpy as np

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


def distort(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random copy of each (n, 28, 28) float32 image in [0, 1]."""
    n, h, w = images.shape
    angle = np.deg2rad(rng.uniform(-ROTATION, ROTATION, n)).astype(np.float32)
    scale = np.exp(rng.uniform(-SCALE, SCALE, n)).astype(np.float32)
    dy, dx = rng.uniform(-SHIFT, SHIFT, (2, n)).astype(np.float32)
    amount = rng.uniform(-THICKNESS, THICKNESS, n).astype(np.float32)
    # Each output pixel looks up where it came from: the inverse rotation and scale about the centre.
    cos, sin = (np.cos(angle) / scale)[:, None, None], (np.sin(angle) / scale)[:, None, None]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    y = ys[None] - cy - dy[:, None, None]
    x = xs[None] - cx - dx[:, None, None]
    moved = sample(images, cy + cos * y - sin * x, cx + sin * y + cos * x)
    return np.clip(thicken(moved, amount), 0.0, 1.0)


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
        for start in range(0, len(images), CHUNK):
            batch = images[start:start + CHUNK].astype(np.float32) / 255.0
            at = c * len(images) + start
            out[at:at + len(batch)] = np.round(distort(batch, rng) * 255.0).astype(np.uint8)
    return out, np.tile(labels, 1 + copies)
