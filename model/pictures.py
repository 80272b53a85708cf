"""Arrays -> pictures for the page: enlarged, pixelated digits. NumPy and Pillow only."""
from __future__ import annotations

import numpy as np
from PIL import Image


def enlarge(image: np.ndarray, size: int = 196) -> Image.Image:
    """A [0, 1] grayscale array as a crisp enlargement, each pixel a visible square."""
    pixels = np.clip(np.asarray(image, np.float32) * 255.0, 0, 255).astype(np.uint8)
    h, w = pixels.shape
    scale = max(1, size // max(h, w))
    return Image.fromarray(pixels, mode="L").resize((w * scale, h * scale), Image.Resampling.NEAREST)
