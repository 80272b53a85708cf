"""The one inference path, load_recognizer(path).predict(canvas): the shipped model scores
what its file says, NumPy inference matches Keras, and canvases of every kind are read alike."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from model import store
from model.evaluate import guess_mnist, summarize
from model.preprocess import prepare_mnist
from model.recognizer import Recognizer, load_recognizer

needs_shipped = pytest.mark.skipif(not store.SHIPPED.is_file(),
                                   reason=f"the shipped model {store.SHIPPED} is not there yet")


@pytest.fixture(params=[pytest.param("shipped", marks=needs_shipped), "small"])
def model_file(request, small_model_file):
    return store.SHIPPED if request.param == "shipped" else small_model_file


def canvas_of(digit):
    """An MNIST digit drawn ten times bigger, off-centre, on a 360x360 canvas."""
    return np.pad(np.kron(digit, np.ones((10, 10), np.uint8)), ((70, 10), (5, 95)))


def rgba(gray, transparent: bool):
    ones = np.full_like(gray, 255)
    return np.stack([ones, ones, ones, gray] if transparent else [gray, gray, gray, ones], axis=-1)


@needs_shipped
def test_the_shipped_model_scores_what_its_file_records(mnist):
    recognizer = load_recognizer()
    assert recognizer.path == store.SHIPPED
    meta = recognizer.metadata
    assert meta["data_checksum"] == mnist.checksum(), "the shipped model was trained on another MNIST"
    evaluation = summarize(mnist.y_test, guess_mnist(recognizer, mnist.x_test))
    assert evaluation.n == len(mnist.y_test)
    # Keras scored it in float32 too; a few near-ties may fall the other way.
    assert evaluation.accuracy == pytest.approx(meta["test_accuracy"], abs=0.0005)


@needs_shipped
def test_the_shipped_model_reads_digits_drawn_on_a_canvas(mnist, draw):
    recognizer = load_recognizer()
    for digit in (0, 1, 4, 7):
        assert recognizer.predict(draw(digit)).digit == digit
    guesses = [recognizer.predict(canvas_of(d)).digit for d in mnist.x_test[:200]]
    accuracy = np.mean(np.array(guesses) == mnist.y_test[:200])
    assert accuracy >= recognizer.metadata["test_accuracy"] - 0.05


def test_numpy_inference_matches_keras(model_file, mnist):
    recognizer = load_recognizer(model_file)
    x = prepare_mnist(mnist.x_test[:100], recognizer.pipeline).reshape(100, -1)
    expected = np.asarray(store.load_keras_model(model_file)(x))
    np.testing.assert_allclose(recognizer.probabilities(x), expected, atol=1e-5)


@pytest.mark.parametrize("canvas", [np.zeros((280, 280), np.uint8), np.zeros((280, 280, 4), np.uint8)],
                         ids=["grayscale", "rgba"])
def test_an_empty_canvas_gives_no_digit(model_file, canvas):
    prediction = load_recognizer(model_file).predict(canvas)
    assert prediction.digit is None and prediction.input is None
    assert prediction.confidence == 0.0
    assert not prediction.probabilities.any()


@pytest.mark.parametrize("digit", [0, 1, 4, 7])
def test_opaque_and_transparent_rgba_canvases_give_the_same_prediction(model_file, draw, digit):
    recognizer = load_recognizer(model_file)
    gray = draw(digit)
    opaque, transparent = (recognizer.predict(rgba(gray, t)) for t in (False, True))
    assert opaque.digit == transparent.digit == recognizer.predict(gray).digit
    np.testing.assert_allclose(opaque.probabilities, transparent.probabilities, atol=1e-5)


def test_probabilities_sum_to_one_and_rank_the_guess_first(model_file, mnist, draw):
    # The probabilities themselves: a weak model's unsure guess at bold ink would be refused
    # as not a digit (tests/test_ink.py), which is not what this checks.
    recognizer = dataclasses.replace(load_recognizer(model_file), check_ink=False)
    for canvas in [draw(d) for d in (0, 1, 4, 7)] + [canvas_of(d) for d in mnist.x_test[:10]]:
        prediction = recognizer.predict(canvas)
        assert prediction.probabilities.shape == (10,)
        assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-6)
        assert (prediction.probabilities >= 0).all()
        assert prediction.ranked()[0] == prediction.digit
        assert prediction.confidence == prediction.probabilities.max()
        assert prediction.input.shape == (28, 28)


def test_the_recognizer_feeds_the_model_as_it_was_trained(mnist, tmp_path, draw):
    """A model trained with deskewing deskews drawings too: the options come from its file."""
    from model import training
    from model.config import TrainConfig
    from model.preprocess import Pipeline, to_mnist_format

    config = TrainConfig(epochs=1, learning_rate=0.5, deskew=True)
    path = store.save(training.fit(config, mnist.head(500, 100)), tmp_path / "deskew.keras")
    recognizer = load_recognizer(path)
    assert recognizer.pipeline == Pipeline.from_config(config)
    np.testing.assert_allclose(recognizer.predict(draw(7)).input, to_mnist_format(draw(7), Pipeline(deskew=True)))


def test_a_softmax_recognizer_from_its_kernel_and_bias_is_softmax_of_x_w_plus_b():
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(784, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32)
    recognizer = Recognizer.from_softmax(kernel, bias)
    assert recognizer.architecture == "softmax"
    assert recognizer.kernel is recognizer.weights["softmax.kernel"]
    assert recognizer.bias is recognizer.weights["softmax.bias"]
    x = rng.random((5, 784), dtype=np.float32)
    logits = x.astype(np.float64) @ kernel + bias
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(recognizer.probabilities(x), expected / expected.sum(1, keepdims=True), atol=1e-6)


def test_the_fingerprint_is_the_weights_not_the_file(small_model_file, tmp_path):
    import shutil
    copy = tmp_path / "copy.keras"
    shutil.copy(small_model_file, copy)
    recognizer = load_recognizer(small_model_file)
    assert load_recognizer(copy).fingerprint == recognizer.fingerprint
    other = Recognizer.from_softmax(recognizer.kernel, recognizer.bias + 1e-4, recognizer.metadata)
    assert other.fingerprint != recognizer.fingerprint
