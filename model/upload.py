"""Uploaded photos and scans -> a canvas-like image (grayscale uint8, white ink on black).

Whatever the photo (PNG or JPEG, any size, dark ink on light paper or light on dark),
the result goes through the same `to_mnist_format` as a drawing. Files that are not
images, are corrupt, or would decompress to an enormous bitmap raise `UploadError`.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000     # a 12-megapixel phone photo is well inside; a decompression bomb is not
WORKING_SIZE = 560          # larger photos are shrunk first: the digit ends up 20 px tall anyway


class UploadError(ValueError):
    """The upload cannot be used; the message is meant for the person who uploaded it."""


def open_image(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise UploadError(f"That file is {len(data) / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise UploadError(f"That image is {image.width} x {image.height} pixels, too large to "
                                  f"read safely; please upload one under {MAX_PIXELS // 1_000_000} megapixels.")
            image.load()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError("That image would decompress to an enormous bitmap; it was not opened.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadError("That file is not an image we can read (PNG or JPEG), or it is damaged.") from None
    return image


def photo_to_canvas(image: Image.Image) -> np.ndarray:
    """Grayscale, white ink on black, background at zero, ink stretched to full white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # A transparent PNG: what matters is where it is opaque; put it on white paper.
        paper = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    gray = image.convert("L")
    gray.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BILINEAR)
    a = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    # The border is background: if it is light, the ink is dark, so invert.
    if np.median(border) > 127:
        a = 255.0 - a
    # Paper is never perfectly black after inversion: lift the background to zero.
    background = np.percentile(a, 50)
    a = np.clip(a - background - 0.1 * (255 - background), 0, None)
    peak = a.max(initial=0)
    if peak <= 0:
        return np.zeros(a.shape, np.uint8)
    return np.round(a * (255.0 / peak)).astype(np.uint8)


def read_upload(data: bytes) -> np.ndarray:
    """The bytes of an uploaded file -> a canvas-like grayscale image; raises UploadError."""
    return photo_to_canvas(open_image(data))
