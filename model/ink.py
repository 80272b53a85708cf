"""Is there a digit on this canvas at all? A few cheap measurements of the ink, taken before
the model guesses.

A softmax always names a digit: a single tap reads as an 8 at 99 %, a scribble as a 3. So
`Recognizer.predict` first looks at the ink's shape and gives a reason instead of a guess:

- "empty": nothing drawn;
- "too_little_ink": a tap, a dot, a tiny mark (about one pen width across) or a few specks;
- "not_a_digit": a full canvas, noise, a scribble: too much ink, too many pieces or holes,
  or one solid blob.

Every measurement is a ratio (of the canvas's side, or of the strokes' own width), so it
holds for any pen width from 5 to 40 px and for photos of any size. The thresholds sit in
one place below, each with the margin it keeps from real drawings; bench/rejection.py
measures both sides. NumPy and Pillow only; about a tenth of a millisecond per canvas.

A dense scribble drawn with a medium pen (10 to 20 px) can look like a bold digit to these
measurements and still get a guess; taps, dots, noise and full canvases do not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .preprocess import INK_THRESHOLD, _gray_uint8, to_ink

EMPTY, TOO_LITTLE_INK, NOT_A_DIGIT = "empty", "too_little_ink", "not_a_digit"

# -- thresholds -------------------------------------------------------------------------------
# Set on 200 real digits redrawn with pens of 5 to 40 px at 30 % to 90 % of the canvas's
# height, and on generated taps, dots, noise, full canvases and scribbles (bench/rejection.py
# prints both sides). drawn_dev.npz and MNIST were only checked afterwards, never tuned on.
#
# The ink is measured on the canvas shrunk to about this side: 4x fewer pixels on the page's
# 280x280, and a 5 px pen is still 2.5 px wide there.
WORKING_SIDE = 140
# A digit's ink box spans at least this share of the canvas's shorter side: small digits span
# 30 %, a dot or a tiny mark under 10 %.
MIN_EXTENT = 0.15
# Elongation = the ink box's longer side / the strokes' mean width. A round tap is 2, a tap
# dragged by half a pen width 2.6; a real digit is at least 2.9, even a small one drawn with
# a pen a quarter of its height; a thin 1 is 10 or more.
BLOB_ELONGATION = 2.7
# A blob smaller than this (of the canvas's side) is a tap: the widest pen, 40 px, is 14 % of
# 280. A larger blob is a filled-in region.
TAP_EXTENT = 0.22
# Strokes wider than this share of the canvas's side are a filled-in region: the widest pen is
# 14 %, and the fattest real digits measure up to 22 % (a narrow 0 drawn with the 40 px pen,
# its hole nearly closed: crossings, caps and closed holes add to the measured width).
MAX_WIDTH = 0.23
# Ink / the square on the ink box's longer side. Strokes leave a quarter of a digit's box
# empty or more (at most 64 % covered for a small 8 drawn with a pen a quarter of its height,
# 74 % for MNIST's boldest 0s); a scribble fills its region.
MAX_DENSITY = 0.75
# Real digits cover at most 40 % of the canvas (a 90 %-high 8 drawn with a 40 px pen); a full
# canvas, or dense noise, far more.
MAX_INK_SHARE = 0.5
# Pieces and holes, counted after closing gaps of 1 working pixel (the slivers a retraced
# stroke leaves): a digit has at most 3 separate pieces (a 4 or a 5 whose strokes do not
# touch; 4 seen in MNIST's faint, broken strokes) and 2 holes (an 8), plus a few where its
# loops cross (5 at most measured); noise makes many pieces, a scribble many holes.
MAX_PIECES = 6
MAX_HOLES = 6
# The strokes' total length (ink area / stroke width) over the ink box's longer side: at least
# 1 for a digit (a 1 is its own length; 1.06 at least measured), under 4 for an 8 drawn with
# extra loops. Less than half is a few specks spread out; a scribble goes back and forth.
MIN_LENGTH = 0.5
MAX_LENGTH = 4.5
# A scribble with a medium pen can pass every check above, but it is busier than a digit: it
# fills more of its square, or has more holes than pieces by two or more (an 8 has one piece
# and two holes: -1). Such ink is only guessed when the model is sure of it: real drawings
# that busy and guessed below that confidence are few (5 of drawn_dev's 7,494, 1 of them
# right), scribbles many (11 of the 18 that passed the checks above in bench/rejection.py).
BUSY_DENSITY = 0.45
BUSY_EULER = -2
BUSY_CONFIDENCE = 0.9


@dataclass(frozen=True)
class InkShape:
    """What the ink looks like, in ratios that do not depend on the canvas's size or the pen."""
    share: float        # ink pixels / canvas pixels
    extent: float       # the ink box's longer side / the canvas's shorter side
    width: float        # the strokes' mean width / the canvas's shorter side
    elongation: float   # the ink box's longer side / the strokes' mean width
    density: float      # ink pixels / the square on the ink box's longer side
    length: float       # the strokes' total length / the ink box's longer side
    euler: int          # pieces minus holes (after closing 1-pixel gaps)

    @property
    def busy(self) -> bool:
        """Ink like a scribble's: guessed only when the model is sure (`BUSY_CONFIDENCE`)."""
        return self.density > BUSY_DENSITY or self.euler <= BUSY_EULER

    def rejection(self, confidence: float = 1.0) -> str | None:
        """The reason this ink is not a digit, or None if it may well be one; `confidence` is
        the model's top probability for it (busy ink needs a sure model)."""
        if self.extent < MIN_EXTENT or self.length < MIN_LENGTH:
            return TOO_LITTLE_INK
        if self.elongation < BLOB_ELONGATION:
            return TOO_LITTLE_INK if self.extent < TAP_EXTENT else NOT_A_DIGIT
        if (self.width > MAX_WIDTH or self.density > MAX_DENSITY or self.share > MAX_INK_SHARE
                or self.euler > MAX_PIECES or self.euler < 1 - MAX_HOLES or self.length > MAX_LENGTH):
            return NOT_A_DIGIT
        if self.busy and confidence < BUSY_CONFIDENCE:
            return NOT_A_DIGIT
        return None


def canvas_gray(image: np.ndarray) -> np.ndarray:
    """Any canvas -> uint8 grayscale, white ink on black: for a uint8 canvas exactly the pixels
    `to_mnist_format` reads, so it can be handed the result instead of converting twice."""
    gray = _gray_uint8(image)
    return gray if gray is not None else np.round(to_ink(image) * 255).astype(np.uint8)


def _quads(mask: np.ndarray) -> np.ndarray:
    """How many of each of the 16 patterns of 2x2 pixels the mask has, its border included
    (Gray's bit quads): area, outline and Euler number all follow from these counts."""
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    code = padded[:-1, :-1] + 2 * padded[:-1, 1:] + 4 * padded[1:, :-1] + 8 * padded[1:, 1:]
    return np.bincount(code.ravel(), minlength=16)


def _euler(quads: np.ndarray) -> int:
    """Pieces minus holes, pieces joined by corners (8-connected)."""
    one, three, diagonal = quads[[1, 2, 4, 8]].sum(), quads[[7, 11, 13, 14]].sum(), quads[[6, 9]].sum()
    return int(one - three - 2 * diagonal) // 4


def _close(mask: np.ndarray) -> np.ndarray:
    """Morphological closing by a 3x3 square: fills gaps and holes 1 pixel wide."""
    def spread(m: np.ndarray, op) -> np.ndarray:
        out = m.copy()
        op(out[1:], m[:-1], out=out[1:])
        op(out[:-1], m[1:], out=out[:-1])
        rows = out.copy()
        op(out[:, 1:], rows[:, :-1], out=out[:, 1:])
        op(out[:, :-1], rows[:, 1:], out=out[:, :-1])
        return out
    padded = np.pad(mask, 1)
    return spread(spread(padded, np.logical_or), np.logical_and)[1:-1, 1:-1]


def measure(gray: np.ndarray) -> InkShape | None:
    """A uint8 canvas (white on black) -> its InkShape; None if no ink survives shrinking."""
    factor = max(1, min(gray.shape) // WORKING_SIDE)
    small = np.asarray(Image.fromarray(gray).reduce(factor)) if factor > 1 else gray
    mask = small > int(INK_THRESHOLD * 255)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    # Closed first: the slivers a retraced stroke leaves are neither holes nor outline.
    crop = _close(mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    quads = _quads(crop)
    # Area and outline from the quads; a diagonal edge counts 1/sqrt(2) per quad (Duda's
    # estimate), so the width of a slanted stroke is not overestimated.
    area = (quads[[1, 2, 4, 8]].sum() + 2 * quads[[3, 5, 10, 12]].sum() + 3 * quads[[7, 11, 13, 14]].sum()
            + 4 * quads[15] + 2 * quads[[6, 9]].sum()) / 4
    outline = quads[[3, 5, 10, 12]].sum() + (quads[[1, 2, 4, 8, 7, 11, 13, 14]].sum()
                                             + 2 * quads[[6, 9]].sum()) / np.sqrt(2)
    width = 2 * area / outline                 # a stroke of width w and length L: 2wL / 2L
    side, canvas = max(crop.shape), min(mask.shape)
    return InkShape(share=float(area / mask.size), extent=side / canvas, width=float(width / canvas),
                    elongation=float(side / width), density=float(area / side ** 2),
                    length=float(area / width / side), euler=_euler(quads))


def rejection(gray: np.ndarray, confidence: float = 1.0) -> str | None:
    """Why this canvas (uint8, white on black) holds no digit to guess, or None; `confidence`
    is the model's top probability for it."""
    shape = measure(gray)
    if shape is not None:
        return shape.rejection(confidence)
    # Nothing left after shrinking 2x: either nothing at all, or a speck too small to read.
    return TOO_LITTLE_INK if (gray > int(INK_THRESHOLD * 255)).any() else EMPTY
