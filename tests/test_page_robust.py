"""The page keeps working for the whole class when something around it goes wrong: a
published class model that became unreadable, a second publish (the test-set views must
follow it), no MNIST on the server (no download, no TensorFlow), an undo that empties the
canvas."""
from __future__ import annotations

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

import ui.teaching
from ui.i18n import t
from classroom import class_model, paths
from model import store, training
from model.config import TrainConfig
from model.evaluate import guess_mnist, summarize
from model.recognizer import load_recognizer
from test_page import APP, RUN_TIMEOUT, draw_on_canvas, guess, model_in_use


def one(digit_line=((140, 40), (140, 240))) -> Image.Image:
    canvas = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(canvas).line(list(digit_line), fill="white", width=20)
    return canvas


@pytest.fixture
def fresh_caches():
    """The server-wide caches of the teaching tabs start empty, as on a new server."""
    ui.teaching.mnist_test.clear()
    ui.teaching.test_report_for.clear()
    yield
    ui.teaching.mnist_test.clear()
    ui.teaching.test_report_for.clear()


@pytest.fixture(scope="module")
def other_model_file(mnist, tmp_path_factory):
    """A model with other weights (and another accuracy) than conftest's small one."""
    result = training.fit(TrainConfig(epochs=1, learning_rate=0.02, seed=3), mnist.head(1000))
    return store.save(result, tmp_path_factory.mktemp("other") / "other.keras")


def started() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    assert not at.exception
    return at


def failures_heading(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("MNIST test accuracy"))


def test_an_unreadable_class_model_falls_back_to_the_shipped_one(small_model_file):
    class_model.publish(small_model_file)
    paths.class_model_path().write_bytes(b"half a model")      # damaged after it was published
    at = started()
    draw_on_canvas(at, one())
    at.run()
    assert not at.exception
    assert "the shipped model" in model_in_use(at)
    assert any("published class model cannot be read" in w.value for w in at.warning)
    assert guess(at) == "1"


def test_after_a_second_publish_where_it_fails_shows_the_new_model(small_model_file, other_model_file,
                                                                   fresh_caches, mnist, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_PATH", str(mnist_path))
    headings = []
    for model_file in (small_model_file, other_model_file):
        class_model.publish(model_file)       # the same class-model path each time
        at = started()
        at.session_state["teaching_tab"] = t("tabs.fails", lang="en")
        at.run()
        assert not at.exception
        headings.append(failures_heading(at))
    expected = [f"{summarize(mnist.y_test, guess_mnist(load_recognizer(m), mnist.x_test)).accuracy:.2%}"
                for m in (small_model_file, other_model_file)]
    assert expected[0] != expected[1]
    assert [e in h for e, h in zip(expected, headings)] == [True, True], headings


def test_without_mnist_where_it_fails_says_so_and_nothing_is_downloaded(fresh_caches, tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setattr(paths, "KERAS_CACHE", tmp_path / "no-keras-cache" / "mnist.npz")
    calls = []
    real = ui.teaching.load_mnist
    monkeypatch.setattr(ui.teaching, "load_mnist", lambda path=None: calls.append(path) or real(path))
    at = started()
    at.session_state["teaching_tab"] = t("tabs.fails", lang="en")
    at.run()
    assert not at.exception
    assert any("MNIST is not available on this server" in w.value and "MNIST_PATH" in w.value for w in at.warning)
    assert calls == []   # Keras's loader (a download, TensorFlow in the server) was never asked


def test_an_emptied_canvas_shows_a_hint_on_every_tab():
    """The canvas toolbar's undo after one stroke sends an empty drawing, not None."""
    at = started()
    draw_on_canvas(at, Image.new("RGBA", (280, 280), "black"))
    for tab in ui.teaching.TABS:
        at.session_state["teaching_tab"] = t(f"tabs.{tab}", lang="en")
        at.run()
        assert not at.exception, (tab, at.exception)
    assert guess(at) is None
