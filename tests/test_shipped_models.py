"""The three shipped models (model/trained/): each was made by its recipe in model.config.SHIPPED
(the README's commands), and each reads people's drawings as well as issue 13 asks, through the
page's own recognizer (NumPy, conversion and ink check included):

    softmax  drawn_dev >= 92 %   MNIST test >= 95.5 %
    mlp      drawn_dev >= 95.5 %
    cnn      drawn_dev >= 97.5 %   MNIST test >= 99.3 %
"""
from __future__ import annotations

import pytest

from model.config import SHIPPED
from model.evaluate import drawn_accuracy, guess_mnist, summarize
from model.recognizer import load_recognizer
from model.store import SHIPPED_FILES as FILES
from classroom.paths import drawn_dev_path

DRAWN_TARGET = {"softmax": 0.92, "mlp": 0.955, "cnn": 0.975}
MNIST_TARGET = {"softmax": 0.955, "mlp": 0.98, "cnn": 0.993}


@pytest.fixture(scope="module", params=list(SHIPPED))
def shipped(request):
    architecture = request.param
    return architecture, load_recognizer(FILES[architecture])


def test_each_shipped_model_is_its_recipe(shipped):
    """The README's command for each file reproduces what is in it: same settings, same model."""
    architecture, recognizer = shipped
    assert recognizer.architecture == architecture
    assert recognizer.config == SHIPPED[architecture]


def test_each_shipped_model_meets_its_mnist_target(shipped, mnist):
    architecture, recognizer = shipped
    accuracy = summarize(mnist.y_test, guess_mnist(recognizer, mnist.x_test)).accuracy
    assert accuracy >= MNIST_TARGET[architecture], f"{architecture}: {accuracy:.2%}"


@pytest.mark.skipif(drawn_dev_path() is None, reason="no drawn_dev.npz beside the project")
def test_each_shipped_model_meets_its_target_on_peoples_drawings(shipped):
    architecture, recognizer = shipped
    accuracy = drawn_accuracy(recognizer, drawn_dev_path())
    assert accuracy >= DRAWN_TARGET[architecture], f"{architecture}: {accuracy:.2%}"
