"""Uploaded photos and scans -> a canvas-like image (grayscale uint8, white ink on black).

Whatever the photo (PNG or JPEG, any size, dark ink on light paper or light on dark, the
light falling off across the page, a shadow over it, the table in view), the result goes
through the same `Recognizer.predict` as a drawing. Files that are not images, are corrupt,
or would decompress to an enormous bitmap raise `UploadError`.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000     # a 12-megapixel phone photo is well inside; a decompression bomb is not
WORKING_SIZE = 560          # larger photos are shrunk first: the digit ends up 20 px tall anyway
MIN_WORKING_SIZE = 280      # smaller ones are enlarged to the canvas's size
# The paper's brightness is estimated on a grid of about this many cells across the shorter
# side, with a window of this share of it: wider than a marker's stroke, even where a bold
# digit's strokes merge (an MNIST digit filling its picture), narrower than a hand's shadow.
# A dark region wider than the window counts as dim paper: a shadow, or the table.
PAPER_GRID = 80
PAPER_WINDOW = 0.25
# Ink is at least this much darker than the paper around it (15 %; a pencil stroke is 25 % or
# more), and at least this share of the darkest ink's contrast: paper grain, JPEG noise and a
# table's texture stay below both.
MIN_CONTRAST = 0.15
NOISE_SHARE = 0.3
# Not on the paper: a region touching one side of the border along more than BORDER_CONTACT
# of its length (the table's edge, a shadow's; a digit touches it over a stroke's width), and
# marks lying within the outer BORDER_MARGIN of the image that touch the border or come within
# BORDER_NEAR of such a region (the table's grain): the digit reaches into the middle. Regions
# are traced in anything BORDER_LOW darker than the paper, on a grid of about BORDER_GRID
# cells across.
BORDER_CONTACT = 0.2
BORDER_MARGIN = 0.25
BORDER_NEAR = 0.04
BORDER_LOW = 0.06
BORDER_GRID = 140


class UploadError(ValueError):
    """The upload cannot be used; the message is meant for the person who uploaded it. `kind`
    ("too_big_file", "too_many_pixels", "bomb", "unreadable") and `values` say the same for a
    page that words it in its own language."""

    def __init__(self, message: str, kind: str, **values):
        super().__init__(message)
        self.kind, self.values = kind, values


def open_image(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        megabytes, limit = f"{len(data) / 2**20:.0f}", MAX_BYTES // 2**20
        raise UploadError(f"That file is {megabytes} MB; the limit is {limit} MB.", "too_big_file",
                          megabytes=megabytes, limit=limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                limit = MAX_PIXELS // 1_000_000
                raise UploadError(f"That image is {image.width} x {image.height} pixels, too large to "
                                  f"read safely; please upload one under {limit} megapixels.", "too_many_pixels",
                                  width=image.width, height=image.height, limit=limit)
            image.load()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError("That image would decompress to an enormous bitmap; it was not opened.", "bomb") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadError("That file is not an image we can read (PNG or JPEG), or it is damaged.",
                          "unreadable") from None
    return image


def photo_to_canvas(image: Image.Image) -> np.ndarray:
    """Grayscale, white ink on black, paper at zero, ink stretched to full white.

    The paper is rarely evenly lit: a brightness gradient, the soft shadow of a hand or a
    phone, the table's edge along a border. So each pixel is compared with the paper around
    it (`paper_brightness`), not with one global level, and dark regions along the border
    that are not part of the digit (`drop_border_regions`) are removed.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # A transparent PNG: what matters is where it is opaque; put it on white paper.
        paper = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    gray = image.convert("L")
    gray.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BILINEAR)
    if min(gray.size) < MIN_WORKING_SIZE:
        # A small image (an MNIST digit, a thumbnail) is enlarged first: the filters below are
        # sized for strokes several pixels wide.
        scale = MIN_WORKING_SIZE / min(gray.size)
        gray = gray.resize((round(gray.width * scale), round(gray.height * scale)), Image.Resampling.BILINEAR)
    # A 3x3 median: JPEG's specks and the paper's grain go, a stroke 3 px wide stays.
    a = np.asarray(gray.filter(ImageFilter.MedianFilter(3)), dtype=np.float32)
    if paper_is_light(a):
        # Ink as the share of the local paper's light it takes away: a shadow dims paper and
        # ink alike, so the ratio is the same in and out of it.
        ink = 1.0 - a / np.maximum(paper_brightness(a), 1.0)
    else:
        # Light ink on a dark ground (chalk, a screenshot of the canvas): brightness above it.
        ink = (a - (255.0 - paper_brightness(255.0 - a))) / 255.0
    ink = drop_border_regions(ink)
    peak = float(np.percentile(ink, 99.9))
    if peak < MIN_CONTRAST:
        return np.zeros(ink.shape, np.uint8)        # blank paper: nothing to stretch
    floor = max(MIN_CONTRAST, NOISE_SHARE * peak)
    ink = np.clip((ink - floor) / (peak - floor), 0.0, 1.0)
    return np.round(ink * (255.0 / max(float(ink.max()), 1e-6))).astype(np.uint8)


def paper_is_light(a: np.ndarray) -> bool:
    """Is the ground light (dark ink)? Yes if the brightest side of the border is (a table or a
    shadow may darken one or two sides, rarely all four), or if most of the picture is (a
    note on a dark desk, the desk all around)."""
    sides = [a[0], a[-1], a[:, 0], a[:, -1]]
    return max(float(np.median(side)) for side in sides) > 127 or float(np.median(a)) > 127


def paper_brightness(a: np.ndarray) -> np.ndarray:
    """The paper's brightness under each pixel, as if nothing were written on it: a closing
    (max, then min filter) wider than any stroke removes the dark ink and keeps what is wider,
    gradients and shadows; computed on a coarse grid, then smoothed and enlarged."""
    h, w = a.shape
    cell = max(1, round(min(h, w) / PAPER_GRID))
    coarse = Image.fromarray(np.round(a).astype(np.uint8)).reduce(cell)
    size = 2 * max(1, round(PAPER_WINDOW * min(coarse.size) / 2)) + 1
    coarse = coarse.filter(ImageFilter.MaxFilter(size)).filter(ImageFilter.MinFilter(size))
    # Smoothed, then pulled 2 cells towards the darker side of every edge: where the paper
    # meets the table or a sharp shadow, the estimate must not be brighter than the dark side.
    coarse = coarse.filter(ImageFilter.BoxBlur(1)).filter(ImageFilter.MinFilter(5))
    return np.asarray(coarse.resize((w, h), Image.Resampling.BILINEAR), np.float32)


def drop_border_regions(ink: np.ndarray) -> np.ndarray:
    """Removes the ink that is not on the paper: regions touching one side of the border over
    more than BORDER_CONTACT of its length (the table's edge, a shadow's; a digit touches it
    over a stroke's width), then the marks that stay within the outer BORDER_MARGIN of the
    image and touch the border or come near those regions (the table's grain)."""
    h, w = ink.shape
    cell = max(1, min(h, w) // BORDER_GRID)
    mask = np.asarray(Image.fromarray((ink > BORDER_LOW).astype(np.uint8) * 255).reduce(cell)) > 0
    rows, cols = mask.shape
    frame = np.zeros_like(mask)
    frame[[0, -1]], frame[:, [0, -1]] = True, True
    outside = [r for r in _regions(mask, frame) if _along_border(r) > BORDER_CONTACT]
    drop = np.logical_or.reduce(outside) if outside else np.zeros_like(mask)
    reach = 2 * round(BORDER_NEAR * min(rows, cols)) + 1
    near = np.asarray(Image.fromarray(drop.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(reach))) > 0
    for region in _regions(mask & ~drop, frame | near):
        r, c = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
        if (r[-1] < BORDER_MARGIN * rows or r[0] >= (1 - BORDER_MARGIN) * rows
                or c[-1] < BORDER_MARGIN * cols or c[0] >= (1 - BORDER_MARGIN) * cols):
            drop |= region
    if not drop.any():
        return ink
    drop = np.asarray(Image.fromarray(drop.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)) > 0
    return np.where(drop, 0.0, ink)


def _along_border(region: np.ndarray) -> float:
    """How far the region runs along one side of the border, as a share of that side."""
    rows, cols = region.shape
    return max(region[[0, -1]].sum(axis=1).max() / cols, region[:, [0, -1]].sum(axis=0).max() / rows)


def _regions(mask: np.ndarray, seeds: np.ndarray) -> list[np.ndarray]:
    """The 8-connected pieces of `mask` that hold a seed, each grown one pixel per step."""
    pieces = []
    seeds = mask & seeds
    while seeds.any():
        region = np.zeros_like(mask)
        region[np.unravel_index(np.argmax(seeds), seeds.shape)] = True
        while True:
            grown = region.copy()
            grown[1:] |= region[:-1]
            grown[:-1] |= region[1:]
            rows = grown.copy()
            grown[:, 1:] |= rows[:, :-1]
            grown[:, :-1] |= rows[:, 1:]
            grown &= mask
            if (grown == region).all():
                break
            region = grown
        pieces.append(region)
        seeds &= ~region
    return pieces


def read_upload(data: bytes) -> np.ndarray:
    """The bytes of an uploaded file -> a canvas-like grayscale image; raises UploadError."""
    return photo_to_canvas(open_image(data))
