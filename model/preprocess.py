"""Canvas or photo -> MNIST's 28x28 input: MNIST's own recipe, then the same optional steps
for drawings and MNIST's digits alike, one small pure function at a time.

MNIST's digits were cropped to their ink, scaled so the longer side is 20 px (keeping the
aspect ratio and the anti-aliased grey edges), and pasted into 28x28 with their centre of
mass at the centre. `to_mnist_format` does the same to a drawing, then `Pipeline.finish`
applies the steps a model was trained with, exactly as `prepare_mnist` applies them to
MNIST's own digits:

- stroke width: at 4x resolution, thin or thicken the strokes to one width, so that a digit
  drawn small with a fat brush and one drawn large with a thin pen look alike;
- deskew: shear the digit upright by its second moments;
- normalization "moments": instead of fitting a 20 px box, centre the digit on its ink and
  scale each side by the spread of the ink there (bi-moment normalization, C.-L. Liu et al.,
  2004), evening out tall and wide digits. A linear model gains most from this step.

bench/preprocessing.py measures each step. NumPy and Pillow only: no TensorFlow here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops

SIZE = 28
BOX = 20
# Ink fainter than this (of full white) is treated as background when cropping:
# anti-aliasing and JPEG noise leave faint pixels far from the strokes.
INK_THRESHOLD = 0.1
# The optional steps work on the cropped digit enlarged 4x (20 px -> 80 px): fine enough to
# move a stroke's edges by a quarter of a pixel.
UPSCALE = 4
# Moments: the ink's +-2 standard deviations along the longer axis span 20 px, MNIST's box...
SPREAD = 5.0
# ...and the shorter axis keeps this power of the digit's aspect ratio (1: as drawn, 0: every
# digit square); the default of `Pipeline.aspect`. bench/preprocessing.py measures 0.25 and 0.1.
ASPECT = 0.1
# ...but is never stretched more than this many times as much as the longer one: a plain 1
# stays a stroke (as MNIST's 20x20 box keeps it) instead of filling a rectangle. Only ink under
# about 0.36 times as wide as tall reaches it: nearly all 1s, hardly any other digit.
# Measured with BEST retrained each time (drawn dev, seeds 0 and 1): uncapped 92.33 / 92.46 %, 2.5x 92.59 / 92.67 %,
# 3x 92.41 / 92.58 %, 2x 92.02 / 92.10 %; the 1s right 86 % uncapped, 89 % at 2.5x.
STRETCH = 2.5
NORMALIZATIONS = ("box", "moments")


def _gray_uint8(image: np.ndarray) -> np.ndarray | None:
    """A uint8 canvas -> its uint8 ink, RGBA composited over black; None for other arrays."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        return None
    if a.ndim == 2:
        return a
    # Pillow's luma (the same 0.299/0.587/0.114 weights) is ~50x faster than NumPy's.
    pil = Image.fromarray(a)
    gray = pil.convert("L")
    if a.shape[2] == 4 and not _opaque(a):             # an opaque canvas needs no compositing
        gray = ImageChops.multiply(gray, pil.getchannel("A"))
    return np.asarray(gray)


def _opaque(rgba: np.ndarray) -> bool:
    """Is every pixel's alpha 255? Read as one little-endian uint32 per pixel, alpha is the
    top byte: a contiguous minimum is several times faster than one over every 4th byte."""
    if rgba.flags.c_contiguous and np.little_endian:
        return bool(rgba.view(np.uint32).min() >= 0xFF000000)
    return bool(rgba[..., 3].min() == 255)


def to_ink(image: np.ndarray) -> np.ndarray:
    """Any canvas or image array -> float32 ink in [0, 1], white ink on black.

    RGBA is composited over black, so a canvas with a transparent background (ink only
    in the alpha channel) and one with a black background give the same ink.
    """
    gray8 = _gray_uint8(image)
    if gray8 is not None:
        gray = gray8.astype(np.float32)
        gray /= np.float32(255)  # in place: a second full-size array costs more than the division
        return gray
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
    if gray.max(initial=0) > 1.0:
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


def _ink_crop(image: np.ndarray) -> np.ndarray | None:
    """`crop_to_ink(to_ink(image))`, converting only the crop to floats when it can."""
    gray8 = _gray_uint8(image)
    if gray8 is None:
        return crop_to_ink(to_ink(image))
    box = ink_box(gray8, int(INK_THRESHOLD * 255))    # the same pixels: v / 255 > 0.1 iff v > 25
    if box is None:
        return None
    top, bottom, left, right = box
    crop = gray8[top:bottom, left:right].astype(np.float32)
    crop /= np.float32(255)
    return crop


def fit_in_box(crop: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is `box` px, keeping the aspect ratio, anti-aliased."""
    h, w = crop.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(np.ascontiguousarray(crop, np.float32), mode="F")
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


def slant(image: np.ndarray) -> tuple[float, float]:
    """(how far the ink moves right per row down, the centre row): the regression of column on row."""
    total = image.sum()
    if total <= 0:
        return 0.0, 0.0
    cy, cx = center_of_mass(image)
    rows = np.arange(image.shape[0], dtype=np.float32) - cy
    cols = np.arange(image.shape[1], dtype=np.float32) - cx
    var_y = float(image.sum(axis=1) @ rows ** 2 / total)
    cov = float(rows @ image @ cols / total)
    return (cov / var_y if var_y > 1e-6 else 0.0), cy


def _shear(image: np.ndarray, alpha: float, cy: float, pad: int = 0,
           resample: Image.Resampling = Image.Resampling.BILINEAR) -> np.ndarray:
    # Output pixel (x, y) samples input (x - pad + alpha * (y - cy), y).
    coeffs = (1.0, alpha, -pad - alpha * cy, 0.0, 1.0, 0.0)
    size = (image.shape[1] + 2 * pad, image.shape[0])
    out = Image.fromarray(image, mode="F").transform(size, Image.Transform.AFFINE, coeffs, resample)
    return np.asarray(out, dtype=np.float32)


def deskew(image: np.ndarray) -> np.ndarray:
    """Shear the digit upright by its second moments, keeping its size and centre of mass."""
    alpha, cy = slant(image)
    return image if alpha == 0.0 else _shear(image, alpha, cy)


def shear_upright(image: np.ndarray) -> np.ndarray:
    """`deskew` for a tightly cropped digit: the image widens so that no ink is cut off.
    Meant for the 4x enlarged digit, which is shrunk later: nearest-neighbour sampling
    (5x faster than bilinear in Pillow) moves no edge by more than an eighth of a final pixel."""
    alpha, cy = slant(image)
    pad = int(np.ceil(abs(alpha) * image.shape[0]))
    return image if alpha == 0.0 else _shear(image, alpha, cy, pad, Image.Resampling.NEAREST)


def upscale(image: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    h, w = image.shape
    return np.asarray(Image.fromarray(image, mode="F").resize((w * factor, h * factor),
                                                              Image.Resampling.BILINEAR), np.float32)


def stroke_width_of(image: np.ndarray) -> float:
    """The strokes' mean width in pixels: a stroke of width w and length L has area wL and
    outline 2L, so w = 2 area / outline. The outline is counted in pixel edges, which
    overcounts slanted edges by 4/pi on average."""
    mask = image > 0.5
    area = int(mask.sum())
    inner = (mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum()
    border = mask[0].sum() + mask[-1].sum() + mask[:, 0].sum() + mask[:, -1].sum()
    return 2.0 * area / ((inner + border) * np.pi / 4) if area else 0.0


def grow(image: np.ndarray, steps: int) -> np.ndarray:
    """Grey dilation (steps > 0) or erosion (steps < 0) by |steps| pixels in every direction,
    alternating 4- and 8-neighbour steps (an octagon, close to a disc). Pads by |steps|."""
    n = abs(steps)
    op = np.maximum if steps > 0 else np.minimum
    out = np.zeros((image.shape[0] + 2 * n, image.shape[1] + 2 * n), np.float32)
    out[n:-n, n:-n] = image
    for i in range(n):
        prev = out.copy()
        op(out[1:], prev[:-1], out=out[1:])
        op(out[:-1], prev[1:], out=out[:-1])
        if i % 2:                           # 8-neighbour: spread the row-wise result sideways
            prev = out.copy()
        op(out[:, 1:], prev[:, :-1], out=out[:, 1:])
        op(out[:, :-1], prev[:, 1:], out=out[:, :-1])
    return out


def set_stroke_width(image: np.ndarray, width: float) -> np.ndarray:
    """Thin or thicken the strokes to about `width` pixels; a digit whose every stroke
    would vanish is left as it is."""
    steps = round((width - stroke_width_of(image)) / 2)
    if steps == 0 or not (image > 0.5).any():
        return image
    out = grow(image, steps)
    return out if (out > 0.5).any() else image


def _spreads(profiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, standard deviations before them, after them) of 1-D ink profiles, one per
    row of `profiles`; a side with no ink (or a hair of it) counts as half a pixel."""
    pos = np.arange(profiles.shape[1])
    total = profiles.sum(axis=1)
    centre = profiles @ pos / total
    offset = pos - centre[:, None]
    moment = profiles * offset ** 2
    before = offset < 0
    weight_before, moment_before = (profiles * before).sum(axis=1), (moment * before).sum(axis=1)
    minus = np.sqrt(moment_before / np.maximum(weight_before, 1e-12))
    plus = np.sqrt((moment.sum(axis=1) - moment_before) / np.maximum(total - weight_before, 1e-12))
    return centre, np.maximum(minus, 0.5), np.maximum(plus, 0.5)


def _sampling_matrices(n: int, centre: np.ndarray, minus: np.ndarray, plus: np.ndarray,
                       half_span: np.ndarray, sub: int = UPSCALE) -> np.ndarray:
    """(k, 28, n) weights, one matrix per axis, taking an axis of length n to SIZE output
    pixels so that the ink's centre lands in the middle and its -2 and +2 standard
    deviations (`minus`, `plus`) land `half_span` pixels either side: the inverse of Liu's
    quadratic map through those three points, continued linearly beyond them. Each output
    pixel averages `sub` bilinear samples, so shrinking is anti-aliased."""
    k = len(centre)
    # The quadratic is monotone only while one side's spread is under 2.4 times the other's.
    mean = (minus + plus) / 2
    a, b = 2 * np.clip(minus, mean * 2 / 3, mean * 4 / 3), 2 * np.clip(plus, mean * 2 / 3, mean * 4 / 3)
    # Forward map u(d) = 0.5 + p d + q d^2 of the offset d from the centre: u(-a) = 0, u(b) = 1.
    q = (0.5 * (a - b) / (a * b * (a + b)))[:, None]
    p = (0.5 / b)[:, None] - q * b[:, None]
    u = 0.5 + ((np.arange(SIZE * sub) + 0.5) / sub - SIZE / 2) / (2 * half_span[:, None])
    inside = np.clip(u, 0.0, 1.0) - 0.5
    d = 2 * inside / (p + np.sqrt(np.maximum(p * p + 4 * q * inside, 0.0)))
    d += np.minimum(u, 0.0) / (p - 2 * q * a[:, None]) + np.maximum(u - 1.0, 0.0) / (p + 2 * q * b[:, None])
    # Each sample's bilinear weights on its two neighbouring input pixels; outside is 0.
    x = centre[:, None] + d                 # input pixel coordinates (pixel i's centre at i)
    left = np.floor(x)
    frac = x - left
    cols = np.concatenate([left, left + 1], axis=1).astype(np.int64)
    rows = np.arange(k)[:, None] * SIZE + np.tile(np.arange(SIZE * sub) // sub, 2)
    keep = (cols >= 0) & (cols < n)
    weights = np.bincount((rows * n + cols)[keep], np.concatenate([1 - frac, frac], axis=1)[keep] / sub,
                          minlength=k * SIZE * n)
    return weights.reshape(k, SIZE, n).astype(np.float32)


def normalize_by_moments(image: np.ndarray, aspect: float = ASPECT, stretch: float = STRETCH) -> np.ndarray:
    """Bi-moment normalization: a (deskewed) digit of any size -> 28x28, centred on its ink,
    each side scaled by the ink's spread there, the aspect ratio kept to the power `aspect`,
    the shorter side scaled at most `stretch` times as much as the longer."""
    h, w = image.shape
    profiles = np.zeros((2, max(h, w)))      # the ink per row and per column
    profiles[0, :h], profiles[1, :w] = image.sum(axis=1), image.sum(axis=0)
    if profiles[0].sum() <= 0:
        return np.zeros((SIZE, SIZE), np.float32)
    centre, minus, plus = _spreads(profiles)
    sy, sx = (minus + plus) / 2
    ratio = min(sy, sx) / max(sy, sx)
    short = SPREAD * min(ratio ** aspect, ratio * stretch)
    half_span = 2 * np.array([SPREAD if sy >= sx else short, SPREAD if sx > sy else short])
    wy, wx = _sampling_matrices(profiles.shape[1], centre, minus, plus, half_span)
    return (wy[:, :h] @ image @ wx[:, :w].T).astype(np.float32)


@dataclass(frozen=True)
class Pipeline:
    """The optional steps after MNIST's recipe; recorded with a model so it is fed as trained."""
    deskew: bool = False
    stroke_width: float = 0.0
    normalization: str = "box"
    aspect: float = ASPECT              # used by the "moments" normalization only

    def __post_init__(self) -> None:
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, "
                             f"got {self.normalization!r}")

    @classmethod
    def from_config(cls, config) -> "Pipeline":
        # The aspect setting is kept only where it matters, so that every "box" pipeline
        # with the same steps is the same pipeline (and the lesson's is `Pipeline()`).
        aspect = config.aspect if config.normalization == "moments" else ASPECT
        return cls(deskew=config.deskew, stroke_width=config.stroke_width,
                   normalization=config.normalization, aspect=aspect)

    def finish(self, image: np.ndarray) -> np.ndarray:
        """Apply the optional steps to a centred 28x28 (a drawing's or MNIST's own)."""
        return np.clip(self._finish(np.asarray(image, np.float32)), 0.0, 1.0)

    def _finish(self, image: np.ndarray, steps: list[Step] | None = None) -> np.ndarray:
        def step(name: str, result: np.ndarray) -> np.ndarray:
            if steps is not None:
                steps.append(Step(name, result))
            return result

        if self.stroke_width <= 0 and self.normalization == "box":
            # MNIST's digits already follow the recipe: only the deskewing is left.
            return step("deskewed", deskew(image)) if self.deskew else image
        crop = crop_to_ink(image)
        if crop is None:
            return image
        big = upscale(crop)
        if self.stroke_width > 0:
            # The width is given in 28x28 pixels; the digit is enlarged UPSCALE times here.
            big = step(f"strokes redrawn {self.stroke_width:g} px wide (at {UPSCALE}x)",
                       set_stroke_width(big, self.stroke_width * UPSCALE))
        if self.normalization == "moments":
            if self.deskew:
                big = step(f"deskewed (at {UPSCALE}x)", shear_upright(big))
            return step("normalized by moments", normalize_by_moments(big, self.aspect))
        crop = crop_to_ink(big)
        image = step("scaled and centred again", center_by_mass(fit_in_box(crop))) if crop is not None else image
        return step("deskewed", deskew(image)) if self.deskew else image


@dataclass(frozen=True)
class Step:
    """One stage of the conversion, for showing the pipeline in class."""
    name: str
    image: np.ndarray


def _recipe(image: np.ndarray, steps: list[Step] | None = None) -> np.ndarray | None:
    """MNIST's own recipe: crop to the ink, fit in 20x20, centre by mass in 28x28."""
    crop = _ink_crop(image)
    if crop is None:
        return None
    small = fit_in_box(crop)
    centred = center_by_mass(small)
    if steps is not None:
        steps += [Step("canvas", to_ink(image)), Step("cropped to the ink", crop),
                  Step(f"scaled to fit {BOX}x{BOX}", small), Step("centred by mass", centred)]
    return centred


def conversion_steps(image: np.ndarray, pipeline: Pipeline = Pipeline()) -> list[Step]:
    """Every stage from the raw canvas to the model's 28x28; empty list for a blank canvas."""
    steps: list[Step] = []
    centred = _recipe(image, steps)
    if centred is None:
        return []
    pipeline._finish(centred, steps)
    return steps


def to_mnist_format(image: np.ndarray, pipeline: Pipeline = Pipeline()) -> np.ndarray | None:
    """A canvas (H x W x 4 RGBA, or H x W grayscale, white ink on black) -> 28x28 float32
    in [0, 1] as MNIST's digits are, or None when there is no ink."""
    centred = _recipe(image)
    return None if centred is None else pipeline.finish(centred)


def prepare_mnist(images: np.ndarray, pipeline: Pipeline = Pipeline()) -> np.ndarray:
    """MNIST's own uint8 digits -> float32 in [0, 1], with the same optional steps as drawings."""
    out = images.astype(np.float32) / 255.0
    if pipeline != Pipeline():
        for i in range(len(out)):
            out[i] = pipeline.finish(out[i])
    return out
