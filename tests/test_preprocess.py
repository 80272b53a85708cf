"""Canvas -> MNIST's 28x28, through the public functions only: the output's format, MNIST's
recipe (centre of mass, 20 px box), the optional steps, and property-based robustness."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from PIL import Image, ImageDraw

from model.preprocess import Pipeline, conversion_steps, prepare_mnist, to_mnist_format

# Hypothesis caches what it learns in ./.hypothesis, already while collecting: not in the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "digit-canvas-hypothesis")

PIPELINES = {"default": Pipeline(), "deskew": Pipeline(deskew=True), "stroke": Pipeline(stroke_width=2.0),
             "both": Pipeline(deskew=True, stroke_width=3.0)}
pipelines = pytest.mark.parametrize("pipeline", PIPELINES.values(), ids=PIPELINES.keys())


def assert_mnist_format(x):
    assert x is not None
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0


def centre_of_mass(x):
    ys, xs = np.mgrid[:x.shape[0], :x.shape[1]]
    return (ys * x).sum() / x.sum(), (xs * x).sum() / x.sum()


def ink_size(x):
    """(height, width) of the box around every non-zero pixel."""
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def rgba(gray, transparent: bool):
    """The canvas as the browser gives it: white ink in the colour on an opaque black
    background, or white everywhere with the ink only in the alpha channel."""
    ones = np.full_like(gray, 255)
    if transparent:
        return np.stack([ones, ones, ones, gray], axis=-1)
    return np.stack([gray, gray, gray, ones], axis=-1)


def upscaled(digit, factor=10):
    """An MNIST digit drawn ten times bigger and off-centre on a larger canvas."""
    big = np.kron(digit, np.ones((factor, factor), np.uint8))
    return np.pad(big, ((70, 10), (5, 95)))


@pytest.fixture(params=[0, 1, 4, 7])
def drawing(request, draw):
    return draw(request.param)


@pipelines
def test_a_drawing_becomes_28x28_float32_in_0_1(drawing, pipeline):
    x = to_mnist_format(drawing, pipeline)
    assert_mnist_format(x)
    assert x.max() > 0.5


@pipelines
@pytest.mark.parametrize("canvas", [
    np.zeros((280, 280), np.uint8),
    np.zeros((280, 280, 4), np.uint8),
    rgba(np.zeros((280, 280), np.uint8), transparent=False),  # opaque black, nothing drawn
    rgba(np.zeros((280, 280), np.uint8), transparent=True),   # white but fully transparent
    np.full((280, 280), 5, np.uint8),                         # faint noise, no stroke
], ids=["gray", "rgba zeros", "rgba opaque black", "rgba transparent", "faint"])
def test_an_empty_canvas_gives_none(canvas, pipeline):
    assert to_mnist_format(canvas, pipeline) is None
    assert conversion_steps(canvas, pipeline) == []


def test_centre_of_mass_is_where_mnist_puts_it(drawing, mnist):
    """MNIST's own digits have their centre of mass within half a pixel of (14, 14)."""
    for canvas in (drawing, *(upscaled(d) for d in mnist.x_test[:20])):
        cy, cx = centre_of_mass(to_mnist_format(canvas))
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_the_longer_side_of_the_ink_is_about_20_px(drawing, mnist):
    for canvas in (drawing, *(upscaled(d) for d in mnist.x_test[:20])):
        assert abs(max(ink_size(to_mnist_format(canvas))) - 20) <= 1


def test_mnist_digits_come_back_almost_unchanged(mnist):
    """MNIST's digits already follow the recipe: converting them again changes almost nothing,
    at their own size or drawn ten times bigger elsewhere on a canvas."""
    digits = mnist.x_test[:100]
    same_size = [np.abs(to_mnist_format(d) - d / 255).mean() for d in digits]
    bigger = [np.abs(to_mnist_format(upscaled(d)) - d / 255).mean() for d in digits[:30]]
    assert np.mean(same_size) < 0.01
    assert np.mean(bigger) < 0.05


@pipelines
def test_where_and_how_big_the_digit_is_drawn_does_not_matter(draw, pipeline):
    """The page's users draw anywhere on the canvas, big or small."""
    centred = to_mnist_format(draw(7), pipeline)
    moved = to_mnist_format(draw(7, offset=(-50, 30)), pipeline)
    np.testing.assert_array_equal(moved, centred)
    small = np.asarray(Image.fromarray(draw(7, width=40)).resize((140, 140), Image.Resampling.LANCZOS))
    bigger_stroke = to_mnist_format(draw(7, width=40), pipeline)
    assert np.abs(to_mnist_format(small, pipeline) - bigger_stroke).mean() < 0.03


@pipelines
def test_grayscale_and_both_kinds_of_rgba_canvas_agree(drawing, pipeline):
    gray = to_mnist_format(drawing, pipeline)
    for transparent in (False, True):
        np.testing.assert_allclose(to_mnist_format(rgba(drawing, transparent), pipeline), gray, atol=1e-4)
    np.testing.assert_allclose(to_mnist_format(rgba(drawing, False)[..., :3], pipeline), gray, atol=1e-4)


@pipelines
def test_conversion_steps_end_with_what_the_model_sees(drawing, pipeline):
    steps = conversion_steps(drawing, pipeline)
    assert steps[0].image.shape == drawing.shape
    assert all(step.name for step in steps)
    np.testing.assert_array_equal(np.clip(steps[-1].image, 0, 1), to_mnist_format(drawing, pipeline))


@pipelines
def test_drawings_and_mnist_get_the_same_optional_steps(drawing, pipeline):
    """One conversion path: a model trained on prepare_mnist sees drawings prepared alike."""
    plain = to_mnist_format(drawing)
    np.testing.assert_allclose(to_mnist_format(drawing, pipeline), pipeline.finish(plain), atol=1e-6)
    digits = np.round(np.stack([plain, plain]) * 255).astype(np.uint8)
    prepared = prepare_mnist(digits, pipeline)
    assert prepared.shape == (2, 28, 28) and prepared.dtype == np.float32
    np.testing.assert_allclose(prepared[1], pipeline.finish(digits[1] / np.float32(255)), atol=1e-6)


def test_prepare_mnist_with_the_lesson_pipeline_is_just_scaling(mnist):
    images = mnist.x_test[:50]
    np.testing.assert_array_equal(prepare_mnist(images), images.astype(np.float32) / 255)


def test_deskew_stands_a_slanted_stroke_upright(draw):
    slanted = ImageDraw.Draw(image := Image.new("L", (280, 280)))
    slanted.line([(100, 40), (180, 240)], fill=255, width=20)
    canvas = np.asarray(image)

    def slant(x):  # how far x moves per row down: the regression of column on row
        ys, xs = np.mgrid[:28, :28]
        cy, cx = centre_of_mass(x)
        return ((ys - cy) * (xs - cx) * x).sum() / ((ys - cy) ** 2 * x).sum()

    assert slant(to_mnist_format(canvas)) > 0.3
    assert abs(slant(to_mnist_format(canvas, Pipeline(deskew=True)))) < 0.05


def test_stroke_width_brings_thin_and_thick_drawings_closer(draw):
    def area(width, pipeline):
        return (to_mnist_format(draw(7, width=width), pipeline) > 0.5).sum()

    def spread(pipeline):  # how many times more ink the thick drawing has than the thin one
        return area(40, pipeline) / area(5, pipeline)

    assert spread(Pipeline(stroke_width=2.0)) < spread(Pipeline()) / 2


EDGE_CASES = {
    "single dot": lambda: _canvas((280, 280), lambda d: d.point((50, 200), fill=255)),
    "full of ink": lambda: np.full((280, 280), 255, np.uint8),
    "horizontal line": lambda: _canvas((280, 280), lambda d: d.line([(20, 100), (260, 100)], fill=255)),
    "vertical line": lambda: _canvas((280, 280), lambda d: d.line([(100, 20), (100, 260)], fill=255)),
    "diagonal line": lambda: _canvas((280, 280), lambda d: d.line([(20, 20), (260, 260)], fill=255)),
    "1x1": lambda: np.full((1, 1), 255, np.uint8),
    "1xN": lambda: np.full((1, 300), 255, np.uint8),
    "Nx1": lambda: np.full((300, 1), 255, np.uint8),
    "1xN rgba": lambda: rgba(np.full((1, 57), 200, np.uint8), transparent=True),
}


def _canvas(size, paint):
    image = Image.new("L", size[::-1])
    paint(ImageDraw.Draw(image))
    return np.asarray(image)


@pipelines
@pytest.mark.parametrize("make", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_give_a_valid_input(make, pipeline):
    x = to_mnist_format(make(), pipeline)
    assert_mnist_format(x)
    assert x.max() > 0


@pytest.mark.parametrize("name, height, width", [
    ("horizontal line", range(1, 3), range(19, 22)), ("1xN", range(1, 3), range(19, 22)),
    ("vertical line", range(19, 22), range(1, 3)), ("Nx1", range(19, 22), range(1, 3)),
    ("diagonal line", range(19, 22), range(19, 22)), ("full of ink", range(19, 22), range(19, 22)),
])
def test_thin_shapes_keep_their_orientation(name, height, width):
    h, w = ink_size(to_mnist_format(EDGE_CASES[name]()))
    assert h in height and w in width


def test_an_image_that_is_not_a_canvas_is_a_value_error():
    with pytest.raises(ValueError, match="shape"):
        to_mnist_format(np.zeros((10, 10, 2), np.uint8))


# Property-based: random images of any size, aspect and content.

@st.composite
def canvases(draw):
    height, width = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    kind = draw(st.sampled_from(["gray", "rgba opaque", "rgba transparent", "rgba random"]))
    content = draw(st.sampled_from(["strokes", "noise", "blank"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if content == "strokes":
        image = Image.new("L", (width, height))
        pen = ImageDraw.Draw(image)
        for _ in range(draw(st.integers(1, 4))):
            xy = [tuple(rng.integers(-10, (width + 10, height + 10))) for _ in range(draw(st.integers(1, 4)))]
            pen.line([tuple(map(int, p)) for p in xy], fill=int(rng.integers(1, 256)),
                     width=draw(st.integers(1, 40)))
        gray = np.asarray(image)
    elif content == "noise":
        density = draw(st.sampled_from([0.001, 0.05, 0.5, 1.0]))
        gray = ((rng.random((height, width)) < density) * rng.integers(0, draw(st.integers(1, 255)) + 1,
                                                                         (height, width))).astype(np.uint8)
    else:
        gray = np.zeros((height, width), np.uint8)
    if kind == "gray":
        return gray
    if kind == "rgba random":
        return rng.integers(0, 256, (height, width, 4)).astype(np.uint8) * (gray[..., None] > 0)
    return rgba(gray, transparent=kind == "rgba transparent")


def clear_ink(image):
    """Some pixel is bright and opaque: at least a quarter of full white after compositing."""
    if image.ndim == 2:
        return (image >= 128).any()
    return ((image[..., :3].min(axis=-1) >= 128) & (image[..., 3] >= 128)).any()


def no_ink(image):
    if image.ndim == 2:
        return not image.any()
    return not (image[..., :3].any(axis=-1) & (image[..., 3] > 0)).any()


PROPERTY = settings(max_examples=100, deadline=None, database=None)


@pipelines
@PROPERTY
@given(image=canvases())
def test_any_image_gives_a_valid_input_or_none(pipeline, image):
    x = to_mnist_format(image, pipeline)
    if x is None:
        assert not clear_ink(image)
        assert conversion_steps(image, pipeline) == []
    else:
        assert not no_ink(image)
        assert_mnist_format(x)
        assert x.max() > 0


@pipelines
@PROPERTY
@given(image=canvases(), top=st.integers(0, 50), left=st.integers(0, 50))
def test_padding_a_canvas_changes_nothing(pipeline, image, top, left):
    pad = ((top, 50 - top), (left, 50 - left)) + (((0, 0),) if image.ndim == 3 else ())
    padded = np.pad(image, pad)
    x, y = to_mnist_format(image, pipeline), to_mnist_format(padded, pipeline)
    assert (x is None) == (y is None)
    if x is not None:
        # A centre of mass on a half pixel may round either way after a last-bit difference.
        assert any(np.allclose(np.roll(x, shift, axis=(0, 1)), y, atol=1e-4)
                   for shift in [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0)])


@pytest.mark.parametrize("aspect, narrow", [(1.0, True), (0.0, False)])
def test_aspect_says_how_much_a_tall_digit_keeps_its_shape(aspect, narrow):
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 120:160] = 255                        # a tall bar, five times higher than wide
    h, w = ink_size(to_mnist_format(canvas, Pipeline(normalization="moments", aspect=aspect)) > 0.1)
    assert (w < h / 2) == narrow


def test_aspect_matters_only_to_the_moments_normalization():
    from model.config import LESSON
    assert Pipeline.from_config(LESSON.replace(aspect=0.7)) == Pipeline()
    assert Pipeline.from_config(LESSON.replace(normalization="moments", aspect=0.7)).aspect == 0.7
