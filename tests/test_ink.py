"""Not a digit, no guess: a tap, a dot, a full canvas, noise or a scribble get a reason
(`Prediction.rejected`) instead of a confident digit, while real drawings of every pen width
and size keep their guess. Everything goes through the page's own path, `predict`."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import STROKES, render
from model import ink, store
from model.evaluate import canvas_chunks, guess_canvases
from model.recognizer import load_recognizer

DRAWN_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "drawn_dev.npz"
PENS = [5, 10, 20, 30, 40]             # the page's pen slider goes from 5 to 40 px

needs_shipped = pytest.mark.skipif(not store.SHIPPED.is_file(),
                                   reason=f"the shipped model {store.SHIPPED} is not there yet")
pytestmark = needs_shipped


@pytest.fixture(scope="module")
def recognizer():
    return load_recognizer()


def assert_rejected(prediction, reason: str) -> None:
    assert prediction.digit is None and prediction.confidence == 0.0
    assert not prediction.probabilities.any()
    assert prediction.rejected == reason


def assert_guessed(prediction) -> None:
    assert prediction.rejected is None, f"rejected as {prediction.rejected}"
    assert prediction.digit is not None and prediction.probabilities.sum() == pytest.approx(1.0)


def rgba(gray: np.ndarray) -> np.ndarray:
    """What the page's canvas sends: white ink on an opaque black background."""
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def scaled(strokes, factor: float, centre=(140, 140)):
    cx, cy = centre
    return [[(cx + (x - 140) * factor, cy + (y - 140) * factor) for x, y in line] for line in strokes]


# -- not a digit ------------------------------------------------------------------------------
def test_an_empty_canvas_says_empty(recognizer):
    prediction = recognizer.predict(rgba(np.zeros((280, 280), np.uint8)))
    assert_rejected(prediction, "empty")
    assert prediction.input is None


@pytest.mark.parametrize("pen", PENS)
@pytest.mark.parametrize("where", [(140, 140), (40, 230)], ids=["centre", "corner"])
def test_a_tap_is_too_little_ink(recognizer, pen, where):
    x, y = where
    tap = render([[(x, y), (x + pen * 0.3, y + pen * 0.2)]], width=pen)   # a finger wobbles a little
    prediction = recognizer.predict(rgba(tap))
    assert_rejected(prediction, "too_little_ink")
    assert prediction.input.shape == (28, 28)     # what the model would have seen, for the page


@pytest.mark.parametrize("strokes", [[[(100, 100), (104, 108)]], [[(200, 60), (190, 64), (196, 70)]],
                                     [[(60, 200)], [(220, 90)], [(150, 240)]]],
                         ids=["dot", "tiny mark", "three specks"])
def test_a_dot_or_a_tiny_mark_is_too_little_ink(recognizer, strokes):
    assert_rejected(recognizer.predict(render(strokes, width=5)), "too_little_ink")


@pytest.mark.parametrize("level", [255, 128])
def test_a_full_canvas_is_not_a_digit(recognizer, level):
    assert_rejected(recognizer.predict(rgba(np.full((280, 280), level, np.uint8))), "not_a_digit")


@pytest.mark.parametrize("density", [1.0, 0.3, 0.03])
def test_random_noise_is_not_a_digit(recognizer, density):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (280, 280), dtype=np.uint8) * (rng.random((280, 280)) < density)
    assert_rejected(recognizer.predict(rgba(noise.astype(np.uint8))), "not_a_digit")


def crossing_strokes(n: int, size: float, seed: int) -> list:
    """One stroke back and forth between n random points of a size x size square."""
    rng = np.random.default_rng(seed)
    return [[tuple(p) for p in 140 + rng.uniform(-size / 2, size / 2, (n, 2))]]


def hatching(size: float, step: float) -> list:
    """A square coloured in: back and forth one way, then across."""
    lo, hi = 140 - size / 2, 140 + size / 2
    ticks = np.arange(lo, hi + 1, step)
    return [[(lo if i % 2 else hi, t) for i, t in enumerate(ticks)],
            [(t, lo if i % 2 else hi) for i, t in enumerate(ticks)]]


def yarn(loops: int, radius: float) -> list:
    """Loop after loop around a wandering centre, like a ball of yarn."""
    t = np.linspace(0, 2 * math.pi * loops, 24 * loops)
    wander = 30 * np.stack([np.sin(t / 5), np.cos(t / 7)], 1)
    return [[tuple(p) for p in 140 + wander + radius * np.stack([np.cos(t), np.sin(1.1 * t)], 1)]]


@pytest.mark.parametrize("strokes, pen", [(crossing_strokes(30, 200, 0), 5), (crossing_strokes(30, 200, 1), 8),
                                          (hatching(180, 12), 10), (hatching(200, 20), 20),
                                          (yarn(8, 60), 40), (crossing_strokes(25, 200, 2), 40)],
                         ids=["crossing-5px", "crossing-8px", "hatched-10px", "hatched-20px", "yarn-40px",
                              "crossing-40px"])
def test_a_dense_scribble_is_not_a_digit(recognizer, strokes, pen):
    assert_rejected(recognizer.predict(rgba(render(strokes, width=pen))), "not_a_digit")


MEDIUM_PEN_SCRIBBLES = ([(crossing_strokes(n, 160, seed), pen) for seed, n in enumerate((12, 16, 20, 24), start=10)
                         for pen in (15, 20)] + [(yarn(loops, 45), pen) for loops in (4, 6) for pen in (15, 20)])


def test_most_scribbles_with_the_default_pen_get_no_guess(recognizer):
    """With a medium pen (the page's default is 20 px) a scribble can measure like a bold
    digit; busy ink is then guessed only when the model is sure (ink.BUSY_CONFIDENCE). Without
    that rule 1 of these 12 was refused; with it 6 were, and 5 are with the softmax retrained on
    the cursive 9s too (one ball of yarn now reads as a 3 at 93 %; bench/rejection.py: 190 of
    its 200 non-digits refused, 191 before)."""
    refused = [recognizer.predict(rgba(render(strokes, width=pen))).rejected for strokes, pen in MEDIUM_PEN_SCRIBBLES]
    assert refused.count("not_a_digit") >= 5, refused


def test_guessing_anyway_when_the_check_is_off(recognizer):
    """The switch bench/rejection.py compares with: the same model names a digit for a tap."""
    unchecked = dataclasses.replace(recognizer, check_ink=False)
    assert_guessed(unchecked.predict(render([[(140, 140)]], width=20)))


# -- real drawings keep their guess ---------------------------------------------------------------
@pytest.mark.parametrize("pen", PENS)
@pytest.mark.parametrize("digit", sorted(STROKES))
def test_drawn_digits_of_every_pen_width_are_guessed(recognizer, digit, pen):
    prediction = recognizer.predict(rgba(render(STROKES[digit], width=pen)))
    assert_guessed(prediction)
    assert prediction.digit == digit


@pytest.mark.parametrize("pen", [5, 10, 20])
@pytest.mark.parametrize("digit", sorted(STROKES))
def test_small_digits_are_guessed(recognizer, digit, pen):
    """A digit 30 % of the canvas's height, off-centre."""
    small = scaled(STROKES[digit], 0.3 * 280 / (180 + pen), centre=(90, 190))
    assert_guessed(recognizer.predict(rgba(render(small, width=pen))))


@pytest.mark.parametrize("pen", PENS)
@pytest.mark.parametrize("height", [0.3, 0.6, 0.9])
def test_a_one_drawn_as_a_single_line_is_guessed(recognizer, pen, height):
    half = (height * 280 - pen) / 2
    prediction = recognizer.predict(rgba(render([[(140, 140 - half), (140, 140 + half)]], width=pen)))
    assert_guessed(prediction)


@pytest.mark.skipif(not DRAWN_DEV.is_file(), reason=f"no drawings at {DRAWN_DEV}")
def test_real_drawings_are_not_rejected(recognizer):
    images, labels = next(canvas_chunks(DRAWN_DEV, chunk=200))
    rejected = [(i, p.rejected) for i, im in enumerate(images) if (p := recognizer.predict(im)).rejected]
    assert rejected == []


def test_rejected_drawings_count_as_wrong_in_the_scores(recognizer, draw):
    canvases = np.stack([draw(7), render([[(140, 140)]], width=20), np.full((280, 280), 255, np.uint8)])
    assert guess_canvases(recognizer, canvases).tolist() == [7, -1, -1]


# -- the measurements themselves ------------------------------------------------------------------
def test_measurements_do_not_depend_on_the_canvas_size(draw):
    small, large = draw(4, width=20), np.kron(draw(4, width=20), np.ones((2, 2), np.uint8))
    a, b = ink.measure(small), ink.measure(large)
    for name in ("extent", "width", "elongation", "density", "length"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=0.1), name
    assert a.euler == b.euler
