"""Canvas or photo -> MNIST's 28x28 input: MNIST's own recipe, one small pure step at a time.

MNIST's digits were cropped to their ink, scaled so the longer side is 20 px (keeping
the aspect ratio and the anti-aliased grey edges), and pasted into 28x28 with their
centre of mass at the centre. `to_mnist_format` does the same to a drawing, then the
optional steps a model was trained with (deskew, stroke width), which `prepare_mnist`
applies alike to MNIST's own images. NumPy and Pillow only: no TensorFlow here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

SIZE = 28
BOX = 20
# Ink fainter than this (of full white) is treated as background when cropping:
# anti-aliasing and JPEG noise leave faint pixels far from the strokes.
INK_THRESHOLD = 0.1


def to_ink(image: np.ndarray) -> np.ndarray:
    """Any canvas or image array -> float32 ink in [0, 1], white ink on black.

    RGBA is composited over black, so a canvas with a transparent background (ink only
    in the alpha channel) and one with a black background give the same ink.
    """
    a = np.asarray(image)
    if a.ndim == 2:
        gray = a.astype(np.float32)
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float32)
        gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        if a.shape[2] == 4:
            gray *= a[..., 3].astype(np.float32) / 255.0
    else:
        raise ValueError(f"expected an H x W, H x W x 3 or H x W x 4 image, got shape {a.shape}")
    if a.dtype == np.uint8 or gray.max(initial=0) > 1.0:
        gray = gray / 255.0
    return np.clip(gray, 0.0, 1.0, out=gray)


def ink_box(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the ink, bottom and right exclusive; None if no ink."""
    mask = ink > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def crop_to_ink(ink: np.ndarray) -> np.ndarray | None:
    box = ink_box(ink)
    if box is None:
        return None
    top, bottom, left, right = box
    return ink[top:bottom, left:right]


def fit_in_box(crop: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is `box` px, keeping the aspect ratio, anti-aliased."""
    h, w = crop.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F")
                       .resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    small = np.clip(small, 0.0, 1.0)
    # A thin line scaled down from a large drawing turns faint; MNIST's strokes peak at full white.
    peak = small.max(initial=0.0)
    return small / peak if peak > 0 else small


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = np.arange(image.shape[0], dtype=np.float32)
    cols = np.arange(image.shape[1], dtype=np.float32)
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def center_by_mass(small: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Paste into size x size with the centre of mass at (14, 14), where MNIST puts it."""
    h, w = small.shape
    cy, cx = center_of_mass(small)
    top = int(np.clip(round(size / 2 - cy), 0, size - h))
    left = int(np.clip(round(size / 2 - cx), 0, size - w))
    out = np.zeros((size, size), np.float32)
    out[top:top + h, left:left + w] = small
    return out


def deskew(image: np.ndarray) -> np.ndarray:
    """Shear the digit upright by its second moments, keeping its centre of mass."""
    total = image.sum()
    if total <= 0:
        return image
    cy, cx = center_of_mass(image)
    ys, xs = np.mgrid[:image.shape[0], :image.shape[1]].astype(np.float32)
    var_y = float(((ys - cy) ** 2 * image).sum() / total)
    cov = float(((ys - cy) * (xs - cx) * image).sum() / total)
    if var_y < 1e-6:
        return image
    alpha = cov / var_y
    # Output pixel (x, y) samples input (x + alpha * (y - cy), y).
    coeffs = (1.0, alpha, -alpha * cy, 0.0, 1.0, 0.0)
    out = Image.fromarray(image, mode="F").transform(
        image.shape[::-1], Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float32)


def normalize_stroke(image: np.ndarray, width: float) -> np.ndarray:
    """Thin or thicken the strokes towards `width` pixels (an estimate: 2 * area / perimeter)."""
    mask = image > 0.5
    area = mask.sum()
    if area == 0 or width <= 0:
        return image
    edges = (mask[1:, :] != mask[:-1, :]).sum() + (mask[:, 1:] != mask[:, :-1]).sum()
    current = 2.0 * area / max(edges, 1)
    pil = Image.fromarray(image, mode="F")
    if current > width + 1.0:
        pil = pil.filter(ImageFilter.MinFilter(3))
    elif current < width - 1.0:
        pil = pil.filter(ImageFilter.MaxFilter(3))
    return np.asarray(pil, dtype=np.float32)


@dataclass(frozen=True)
class Pipeline:
    """The optional steps after MNIST's recipe; recorded with a model so it is fed as trained."""
    deskew: bool = False
    stroke_width: float = 0.0

    @classmethod
    def from_config(cls, config) -> "Pipeline":
        return cls(deskew=config.deskew, stroke_width=config.stroke_width)

    def finish(self, image: np.ndarray) -> np.ndarray:
        """Apply the optional steps to a centred 28x28 (a drawing's or MNIST's own)."""
        if self.stroke_width > 0:
            image = normalize_stroke(image, self.stroke_width)
        if self.deskew:
            image = deskew(image)
        return np.clip(image, 0.0, 1.0)


@dataclass(frozen=True)
class Step:
    """One stage of the conversion, for showing the pipeline in class."""
    name: str
    image: np.ndarray


def conversion_steps(image: np.ndarray, pipeline: Pipeline = Pipeline()) -> list[Step]:
    """Every stage from the raw canvas to the model's 28x28; empty list for a blank canvas."""
    ink = to_ink(image)
    crop = crop_to_ink(ink)
    if crop is None:
        return []
    small = fit_in_box(crop)
    centred = center_by_mass(small)
    steps = [Step("canvas", ink), Step("cropped to the ink", crop),
             Step(f"scaled to fit {BOX}x{BOX}", small), Step("centred by mass", centred)]
    if pipeline.stroke_width > 0:
        steps.append(Step("stroke width normalized", normalize_stroke(centred, pipeline.stroke_width)))
    if pipeline.deskew:
        steps.append(Step("deskewed", deskew(steps[-1].image)))
    return steps


def to_mnist_format(image: np.ndarray, pipeline: Pipeline = Pipeline()) -> np.ndarray | None:
    """A canvas (H x W x 4 RGBA, or H x W grayscale, white ink on black) -> 28x28 float32
    in [0, 1] as MNIST's digits are, or None when there is no ink."""
    ink = to_ink(image)
    crop = crop_to_ink(ink)
    if crop is None:
        return None
    return pipeline.finish(center_by_mass(fit_in_box(crop)))


def prepare_mnist(images: np.ndarray, pipeline: Pipeline = Pipeline()) -> np.ndarray:
    """MNIST's own uint8 digits -> float32 in [0, 1], with the same optional steps as drawings."""
    out = images.astype(np.float32) / 255.0
    if pipeline != Pipeline():
        for i in range(len(out)):
            out[i] = pipeline.finish(out[i])
    return out
