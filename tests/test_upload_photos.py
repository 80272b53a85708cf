"""Photos of a digit on paper, as phones take them: the light falls off across the page, a
hand's soft shadow lies over part of it, the table's edge shows along a border, JPEG. Each
one, through `read_upload` and the shipped model, must read as the digit on the paper; a
blank page must give no digit and no error."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from conftest import STROKES
from model import store
from model.recognizer import load_recognizer
from model.upload import read_upload

pytestmark = pytest.mark.skipif(not store.SHIPPED.is_file(),
                                reason=f"the shipped model {store.SHIPPED} is not there yet")
SIZE = (480, 640)                      # width, height: a portrait phone photo, already small


@pytest.fixture(scope="module")
def recognizer():
    return load_recognizer()


def paper(digit: int | None, pen: int = 16, paper_level: float = 232, ink_level: float = 40) -> np.ndarray:
    """A digit written on evenly lit paper (the STROKES enlarged 1.3x around the middle)."""
    image = Image.new("L", SIZE, round(paper_level))
    pen_draw = ImageDraw.Draw(image)
    ox, oy = SIZE[0] / 2 - 140 * 1.3, SIZE[1] / 2 - 140 * 1.3
    for line in STROKES[digit] if digit is not None else []:
        points = [(ox + x * 1.3, oy + y * 1.3) for x, y in line]
        pen_draw.line(points, fill=round(ink_level), width=pen, joint="curve")
        for x, y in points:
            pen_draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=round(ink_level))
    return np.asarray(image, np.float32)


def light_falloff(photo: np.ndarray, darkest: float, angle: float) -> np.ndarray:
    """The light dims linearly across the page, down to `darkest` of it in one corner."""
    h, w = photo.shape
    y, x = np.mgrid[0:h, 0:w]
    t = np.clip(np.cos(angle) * (x / w - 0.5) + np.sin(angle) * (y / h - 0.5) + 0.5, 0, 1)
    return photo * (1 - (1 - darkest) * t)


def soft_shadow(photo: np.ndarray, box: tuple, depth: float) -> np.ndarray:
    """A hand's or a phone's shadow: a blurred ellipse taking `depth` of the light."""
    h, w = photo.shape
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).ellipse(tuple(b * s for b, s in zip(box, (w, h, w, h))), fill=255)
    shade = np.asarray(mask.filter(ImageFilter.GaussianBlur(40)), np.float32) / 255
    return photo * (1 - depth * shade)


def table_edge(photo: np.ndarray, side: str, share: float, level: float, slant: float = 0.0) -> np.ndarray:
    """The table shows along one side: a dark band with some grain, its edge slightly slanted."""
    h, w = photo.shape
    y, x = np.mgrid[0:h, 0:w]
    band = {"bottom": y > h * (1 - share) + slant * (x - w / 2), "top": y < h * share + slant * (x - w / 2),
            "left": x < w * share + slant * (y - h / 2), "right": x > w * (1 - share) + slant * (y - h / 2)}[side]
    out = photo.copy()
    out[band] = level + 6 * np.sin(x[band] / 5.0 + y[band] / 31.0)
    return out


def encode(photo: np.ndarray, fmt: str = "PNG") -> bytes:
    """As a colour photo (the paper slightly warm), PNG or JPEG at a phone's quality."""
    gray = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    colour = Image.merge("RGB", [gray, gray.point(lambda v: round(v * 0.97)), gray.point(lambda v: round(v * 0.9))])
    buffer = io.BytesIO()
    colour.save(buffer, fmt, **({"quality": 75} if fmt == "JPEG" else {}))
    return buffer.getvalue()


CONDITIONS = {
    "light falling off": lambda p: encode(light_falloff(p, 0.45, 0.7)),
    "soft shadow over the digit": lambda p: encode(soft_shadow(p, (0.4, 0.1, 1.3, 0.9), 0.55), "JPEG"),
    "table along the bottom": lambda p: encode(table_edge(p, "bottom", 0.15, 70), "JPEG"),
    "table in a corner": lambda p: encode(table_edge(table_edge(light_falloff(p, 0.6, 2.0), "left", 0.1, 50, 0.05),
                                                     "bottom", 0.1, 80, -0.1)),
    "shadow, falloff and table": lambda p: encode(table_edge(soft_shadow(light_falloff(p, 0.5, 1.2),
                                                                         (-0.3, 0.3, 0.6, 1.2), 0.5),
                                                             "right", 0.12, 60, 0.08), "JPEG"),
}


@pytest.mark.parametrize("condition", list(CONDITIONS))
@pytest.mark.parametrize("digit", sorted(STROKES))
def test_a_photo_in_poor_light_reads_as_its_digit(recognizer, digit, condition):
    prediction = recognizer.predict(read_upload(CONDITIONS[condition](paper(digit))))
    assert prediction.digit == digit
    assert prediction.rejected is None


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_pencil_and_light_on_dark_photos_read_as_their_digit(recognizer, digit):
    pencil = encode(light_falloff(paper(digit, ink_level=150), 0.6, 0.5), "JPEG")
    chalk = encode(255 - paper(digit, paper_level=255, ink_level=0))    # a screenshot of the canvas
    assert [recognizer.predict(read_upload(photo)).digit for photo in (pencil, chalk)] == [digit, digit]


def test_the_table_edge_leaves_no_ink_along_the_border():
    canvas = read_upload(CONDITIONS["table along the bottom"](paper(7)))
    assert canvas.shape == (560, 420)
    band = canvas[round(560 * 0.85):]
    assert band.max() < 26, "the table's edge became ink"     # under the conversion's ink threshold
    assert canvas[: round(560 * 0.8)].max() == 255             # the digit is there, at full white


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_a_blank_page_gives_no_digit(recognizer, condition):
    canvas = read_upload(CONDITIONS[condition](paper(None)))
    prediction = recognizer.predict(canvas)
    assert prediction.digit is None
    assert prediction.rejected in ("empty", "too_little_ink")
