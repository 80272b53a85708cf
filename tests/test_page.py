"""The page, run in-process by Streamlit's AppTest: what it shows, its widgets' defaults and
presets, drawing, uploads, and a retraining that changes the model in use.

How the inputs are driven, and why:
- The canvas (streamlit-drawable-canvas 0.13) is a components-v2 custom component, which
  AppTest shows as an `UnknownElement` without a `set_value`. Its value is widget state
  under its key, so the test sets `at.session_state["canvas-0"]` to what the browser
  would send: `{"drawing": {"raw": <fabric JSON>, "data": <PNG data URL>}}`. The page then
  decodes it through the component's own `CanvasResult.image_data`, as in a browser.
- The file uploader is driven with AppTest's own `file_uploader(...).set_value(...)`.
- Training uses the real queue and TensorFlow, on 2,000 MNIST images: `model.data.load_mnist`
  is patched at the library boundary (the page imports it on every run), and
  `st.cache_resource` is cleared so the cached queue is rebuilt with the patched loader.
"""
from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from model import config as cfg
from model.upload import MAX_PIXELS

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
RUN_TIMEOUT = 60            # seconds for one script run (the first imports pandas and friends)
TRAINING_TIMEOUT = 180      # TensorFlow's import (~10 s) and one epoch on 2,000 images


@pytest.fixture
def at() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    assert not at.exception
    return at


def widget(at: AppTest, key: str):
    """The sidebar widget with this key, whatever its kind."""
    found = [e for e in at.sidebar if getattr(e, "key", None) == key]
    assert found, f"no sidebar widget with key {key!r}"
    return found[0]


def block(at: AppTest, key: str):
    """The container with this key, or None."""
    return next((e for e in at.main if getattr(e, "key", None) == key), None)


def guess(at: AppTest) -> str | None:
    container = block(at, "guess")
    return container.title[0].value if container is not None else None


def model_in_use(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Model in use:"))


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only a header: it claims width x height pixels and holds none."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


def one_on_paper() -> bytes:
    """A photo-like '1': a dark stroke on white paper."""
    paper = Image.new("RGB", (200, 240), "white")
    ImageDraw.Draw(paper).line([(100, 30), (100, 210)], fill=(30, 30, 40), width=18)
    return png(paper)


def draw_on_canvas(at: AppTest, picture: Image.Image) -> None:
    """What the canvas component sends after a stroke: its fabric JSON and its PNG."""
    url = "data:image/png;base64," + base64.b64encode(png(picture)).decode()
    at.session_state[f"canvas-{at.session_state.canvas_id}"] = {"drawing": {"raw": {"objects": [{"type": "Path"}]}, "data": url}}


# -- tests -----------------------------------------------------------------------------------
def test_page_loads_with_the_hint_and_no_guess(at):
    assert guess(at) is None
    assert any(i.value.startswith("Draw a digit on the black square") for i in at.info)
    assert "the shipped model" in model_in_use(at)


def test_sidebar_defaults_are_the_config_defaults(at):
    defaults = cfg.TrainConfig()
    for f in cfg.fields():
        assert widget(at, f.name).value == getattr(defaults, f.name), f.name


def test_best_preset_sets_every_widget(at):
    best = next(name for name, preset in cfg.PRESETS.items() if preset == cfg.BEST)
    at.radio(key="preset").set_value(best).run()
    assert not at.exception
    for f in cfg.fields():
        assert widget(at, f.name).value == getattr(cfg.BEST, f.name), f.name


def test_a_drawn_one_is_recognized(at):
    canvas = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill="white", width=20)
    draw_on_canvas(at, canvas)
    at.run()
    assert not at.exception
    assert guess(at) == "1"
    assert block(at, "prediction") is not None


def test_a_photo_of_a_one_is_recognized(at):
    at.radio(key="source").set_value("Upload a photo").run()
    at.file_uploader(key="upload").set_value(("one.png", one_on_paper(), "image/png")).run()
    assert not at.exception
    assert not at.error
    assert guess(at) == "1"


@pytest.mark.parametrize("name, data, says", [
    ("noise.png", np.random.default_rng(0).bytes(5000), "not an image"),
    ("bomb.png", png_header(100_000, 100_000), "enormous"),
    ("just-too-big.png", png_header(MAX_PIXELS // 4000 + 1, 4000), "too large"),
], ids=["random-bytes", "decompression-bomb", "over-max-pixels"])
def test_a_bad_upload_shows_an_error_and_no_guess(at, name, data, says):
    at.radio(key="source").set_value("Upload a photo").run()
    at.file_uploader(key="upload").set_value((name, data, "image/png")).run()
    assert not at.exception
    assert [e.value for e in at.error if says in e.value], [e.value for e in at.error]
    assert guess(at) is None


def test_one_epoch_of_retraining_changes_the_model_in_use(at, monkeypatch, mnist):
    import model.data
    monkeypatch.setattr(model.data, "load_mnist", lambda path=None: mnist.head(2000))
    monkeypatch.setenv("DIGITS_DRAWN_PATH", "/nonexistent")  # skip scoring the run on 7,494 drawings
    st.cache_resource.clear()   # the queue is rebuilt with the patched loader...
    try:
        before = model_in_use(at)
        widget(at, "epochs").set_value(1)
        at.button(key="train").click().run()
        assert not at.exception
        deadline = time.monotonic() + TRAINING_TIMEOUT
        while block(at, "training_result") is None:
            assert time.monotonic() < deadline, "no training result within the timeout"
            assert not at.error, [e.value for e in at.error]
            time.sleep(0.5)
            at.run()
        assert not at.exception
        after = model_in_use(at)
        assert "your model" in after and "1 epochs" in after, after
        assert after != before
    finally:
        st.cache_resource.clear()   # ...and dropped, so no later test sees it
