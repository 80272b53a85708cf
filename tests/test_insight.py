"""The teaching views' arithmetic: weights as pictures, evidence maps that add up to the
scores behind the shown probabilities, the blue-white-red scale, and the test-set report
(confusion matrix and mistakes gallery)."""
from __future__ import annotations

import numpy as np
import pytest

from model import insight  # the module, not its names: `test_report` would be collected as a test
from model.evaluate import guess_mnist
from model.recognizer import Recognizer, load_recognizer, softmax


@pytest.fixture(scope="module")
def recognizer(small_model_file) -> Recognizer:
    return load_recognizer(small_model_file)


@pytest.fixture
def random_recognizer() -> Recognizer:
    """Weights with no pattern in them, so a transposed or flipped layout cannot pass by chance."""
    rng = np.random.default_rng(7)
    return Recognizer.from_softmax(rng.normal(size=(784, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32))


@pytest.fixture(scope="module")
def report(recognizer, mnist):
    return insight.test_report(recognizer, mnist.x_test[:1500], mnist.y_test[:1500])


# -- weights as pictures -----------------------------------------------------------------

def test_weight_images_are_one_28x28_picture_per_digit(random_recognizer):
    assert insight.weight_images(random_recognizer).shape == (10, 28, 28)


@pytest.mark.parametrize("digit", range(10))
def test_weight_image_d_is_kernel_column_d_laid_out_row_by_row(random_recognizer, digit):
    picture = insight.weight_images(random_recognizer)[digit]
    column = random_recognizer.kernel[:, digit]
    for row, col in [(0, 0), (0, 27), (27, 0), (5, 17), (14, 14)]:
        assert picture[row, col] == column[row * 28 + col]
    np.testing.assert_array_equal(picture.ravel(), column)


# -- evidence maps -----------------------------------------------------------------------

def _evidence_scores(recognizer, x28):
    return np.array([insight.evidence(recognizer, x28, d).score for d in range(10)])


@pytest.mark.parametrize("digit", [0, 1, 4, 7])
def test_evidence_adds_up_to_the_logits_behind_the_shown_probabilities(recognizer, draw, digit):
    prediction = recognizer.predict(draw(digit))
    x = prediction.input.astype(np.float64).ravel()
    logits = x @ recognizer.kernel.astype(np.float64) + recognizer.bias  # the reference: x W + b
    for d in range(10):
        ev = insight.evidence(recognizer, prediction.input, d)
        assert ev.digit == d and ev.pixels.shape == (28, 28)
        assert ev.pixels.sum(dtype=np.float64) + ev.bias == pytest.approx(ev.score, abs=1e-5)
        assert ev.score == pytest.approx(logits[d], rel=1e-4, abs=1e-4)
    # What the page shows: the softmax of the ten evidence totals is the guess's probabilities.
    np.testing.assert_allclose(softmax(_evidence_scores(recognizer, prediction.input)),
                               prediction.probabilities, atol=1e-5)


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_evidence_matches_the_recognizer_on_mnist_digits(recognizer, mnist, index):
    x28 = mnist.x_test[index].astype(np.float32) / 255.0
    scores = _evidence_scores(recognizer, x28)
    probabilities = recognizer.probabilities(x28[None])[0]
    # Log-probabilities differ from the logits by one constant (the log of the softmax's sum).
    shift = scores - np.log(probabilities)
    assert np.ptp(shift) == pytest.approx(0.0, abs=1e-3)
    assert int(scores.argmax()) == int(probabilities.argmax())


def test_blank_pixels_give_no_evidence(random_recognizer):
    blank = np.zeros((28, 28), np.float32)
    ev = insight.evidence(random_recognizer, blank, 3)
    assert not ev.pixels.any()
    assert ev.score == pytest.approx(float(random_recognizer.bias[3]))


# -- the diverging colour scale --------------------------------------------------------------

def _colour_of(value: float, limit: float) -> np.ndarray:
    picture = np.asarray(insight.diverging(np.array([[value]]), limit))
    assert picture.ndim == 3 and picture.shape[2] == 3
    return picture[picture.shape[0] // 2, picture.shape[1] // 2].astype(int)


@pytest.mark.parametrize("limit", [1.0, 0.05, 30.0])
@pytest.mark.parametrize("fraction", [-1.0, -0.5])
def test_negative_evidence_is_blue(limit, fraction):
    r, g, b = _colour_of(fraction * limit, limit)
    assert b > r + 50 and b > g


@pytest.mark.parametrize("limit", [1.0, 0.05, 30.0])
@pytest.mark.parametrize("fraction", [1.0, 0.5])
def test_positive_evidence_is_red(limit, fraction):
    r, g, b = _colour_of(fraction * limit, limit)
    assert r > b + 50 and r > g


@pytest.mark.parametrize("limit", [1.0, 0.05, 30.0, 0.0])
def test_zero_is_white(limit):
    assert (_colour_of(0.0, limit) >= 240).all()


def test_stronger_evidence_is_a_deeper_colour():
    weak, strong = _colour_of(0.2, 1.0), _colour_of(1.0, 1.0)
    assert strong.sum() < weak.sum()          # further from white
    assert (_colour_of(5.0, 1.0) == strong).all()  # beyond the limit: clipped, not wrapped


def test_diverging_keeps_the_layout_and_enlarges_it():
    values = np.zeros((28, 28))
    values[0, 0], values[27, 27] = -1.0, 1.0
    picture = np.asarray(insight.diverging(values, 1.0, size=112))
    assert picture.shape == (112, 112, 3)
    top_left, bottom_right = picture[1, 1].astype(int), picture[-2, -2].astype(int)
    assert top_left[2] > top_left[0] and bottom_right[0] > bottom_right[2]


def test_legend_runs_blue_white_red():
    bar = np.asarray(insight.legend(1.0)).astype(int)
    left, middle, right = bar[bar.shape[0] // 2, [2, bar.shape[1] // 2, -3]]
    assert left[2] > left[0] and right[0] > right[2] and (middle >= 235).all()


# -- the test-set report ------------------------------------------------------------------

def test_confusion_counts_every_test_image_once(report):
    assert report.confusion.shape == (10, 10)
    assert report.confusion.sum() == len(report.labels)


def test_confusion_rows_are_the_true_digits(report):
    np.testing.assert_array_equal(report.confusion.sum(axis=1), np.bincount(report.labels, minlength=10))
    np.testing.assert_array_equal(report.confusion.sum(axis=0), np.bincount(report.guesses, minlength=10))


def test_the_diagonal_is_the_accuracy(report):
    assert np.trace(report.confusion) / len(report.labels) == pytest.approx(report.accuracy)
    assert report.accuracy == pytest.approx(float((report.labels == report.guesses).mean()))


def test_the_report_guesses_as_the_evaluator_does(report, recognizer, mnist):
    np.testing.assert_array_equal(report.guesses, guess_mnist(recognizer, mnist.x_test[:1500]))
    assert ((report.confidences > 0.1) & (report.confidences <= 1.0)).all()


def _most_common_confusion(report) -> tuple[int, int]:
    off_diagonal = report.confusion * (1 - np.eye(10, dtype=int))
    true, guessed = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
    assert off_diagonal[true, guessed] > 1, "the small model should make some repeated mistake"
    return int(true), int(guessed)


@pytest.mark.parametrize("by", ["true and guessed", "true only", "guessed only", "any"])
def test_mistakes_filtered_are_only_such_mistakes_most_confident_first(report, by):
    true, guessed = _most_common_confusion(report)
    true = true if by in ("true and guessed", "true only") else None
    guessed = guessed if by in ("true and guessed", "guessed only") else None
    idx = report.mistakes(true=true, guessed=guessed, limit=10_000)
    assert len(idx) > 0
    assert (report.labels[idx] != report.guesses[idx]).all()
    if true is not None:
        assert (report.labels[idx] == true).all()
    if guessed is not None:
        assert (report.guesses[idx] == guessed).all()
    confidences = report.confidences[idx]
    assert (np.diff(confidences) <= 0).all()
    # Nothing left out: as many as the confusion matrix counts.
    rows = slice(None) if true is None else true
    cols = slice(None) if guessed is None else guessed
    off_diagonal = report.confusion * (1 - np.eye(10, dtype=int))
    assert len(idx) == off_diagonal[rows, cols].sum()


def test_mistakes_limit_keeps_the_most_confident(report):
    everything = report.mistakes(limit=10_000)
    top = report.mistakes(limit=5)
    np.testing.assert_array_equal(top, everything[:5])
    assert report.confidences[top].min() >= report.confidences[everything[5:]].max()


@pytest.mark.parametrize("digit", range(10))
def test_no_mistakes_listed_on_the_diagonal(report, digit):
    assert len(report.mistakes(true=digit, guessed=digit)) == 0


# -- the weights as patterns (the "What it learned" pictures) ---------------------------------------

@pytest.fixture
def digits_28(mnist) -> np.ndarray:
    return mnist.x_test[:400].astype(np.float32) / 255.0


def test_patterns_are_one_28x28_picture_per_digit(random_recognizer, digits_28):
    assert insight.weight_patterns(random_recognizer, digits_28).shape == (10, 28, 28)


def test_patterns_are_those_of_the_models_probabilities(random_recognizer, digits_28):
    """Pixel p of picture d is cov(ink at p, probability of d), checked in float64 with NumPy's own
    covariance, for a softmax and for a model with a hidden layer alike."""
    rng = np.random.default_rng(3)
    mlp = Recognizer({"hidden.kernel": rng.normal(0, .1, (784, 16)).astype(np.float32),
                      "hidden.bias": np.zeros(16, np.float32),
                      "softmax.kernel": rng.normal(0, 1, (16, 10)).astype(np.float32),
                      "softmax.bias": np.zeros(10, np.float32)},
                     {"config": {"architecture": "mlp", "hidden_units": 16}})
    for model in (random_recognizer, mlp):
        x = digits_28.reshape(len(digits_28), -1).astype(np.float64)
        p = model.probabilities(digits_28).astype(np.float64)
        expected = np.cov(x.T, p.T, bias=True)[:784, 784:].T.reshape(10, 28, 28)
        np.testing.assert_allclose(insight.weight_patterns(model, digits_28), expected, rtol=1e-3,
                                   atol=1e-4 * np.abs(expected).max())


def test_a_pixel_nobody_inks_has_no_pattern(random_recognizer, digits_28):
    """MNIST's corners are always blank: whatever their weights, they go with no score."""
    patterns = insight.weight_patterns(random_recognizer, digits_28)
    assert np.abs(patterns[:, 0, 0]).max() == 0.0


def test_the_report_takes_prepared_inputs_alike(recognizer, mnist):
    from model.preprocess import prepare_mnist
    images, labels = mnist.x_test[:300], mnist.y_test[:300]
    given = insight.test_report(recognizer, images, labels, inputs=prepare_mnist(images, recognizer.pipeline))
    np.testing.assert_array_equal(given.guesses, insight.test_report(recognizer, images, labels).guesses)


@pytest.mark.parametrize("shape", [(200, 20), (20, 200), (28, 28), (5, 9, 3)])
def test_square_centres_a_picture_on_black(shape):
    picture = np.ones(shape, np.float32)
    out = insight.square(picture)
    side = max(shape[:2])
    assert out.shape == (side, side) + shape[2:]
    assert out.sum() == picture.sum()                 # nothing cut off, nothing added
    ink = out.reshape(side, side, -1).any(axis=2)
    for lines in (np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))):   # rows, columns
        assert abs((lines[0] + lines[-1]) / 2 - (side - 1) / 2) <= 0.5             # centred


def test_smooth_enlarging_keeps_the_colours_and_the_size():
    values = np.zeros((28, 28))
    values[:, :14], values[:, 14:] = -1.0, 1.0
    sharp, smooth = (np.asarray(insight.diverging(values, 1.0, 112, smooth=s)).astype(int) for s in (False, True))
    assert sharp.shape == smooth.shape == (112, 112, 3)
    assert smooth[50, 5, 2] > smooth[50, 5, 0] and smooth[50, -5, 0] > smooth[50, -5, 2]
