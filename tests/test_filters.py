"""The 'CNN filters' tab (ui/filters.py): the CNN's first-layer filters and where each lights up
in the drawing; the shipped CNN beside another model in use, the model in use if it is a CNN,
a message (not a traceback) when there is no CNN; and the softmax-only tabs, beside a CNN in
use, saying that they explain the shipped softmax instead."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model import forward, store
from model.recognizer import Recognizer
from test_compare import one, save_constant_model
from test_page import APP, RUN_TIMEOUT, draw_on_canvas
from ui import filters
from ui.i18n import t

RED, WHITE = (178, 24, 43), (247, 247, 247)   # model.insight's diverging scale: the top, and zero


@pytest.fixture(scope="module")
def cnn_file(tmp_path_factory) -> Path:
    return Path(save_constant_model("cnn", 1, tmp_path_factory.mktemp("cnn") / "cnn.keras"))


def tab_page(monkeypatch, shipped_cnn: Path, drawn: bool = True, own: Path | None = None,
             tab: str = "filters") -> AppTest:
    monkeypatch.setitem(store.SHIPPED_FILES, "cnn", shipped_cnn)
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    if own is not None:
        at.session_state["model_path"] = str(own)
    if drawn:
        draw_on_canvas(at, one())
    at.session_state["teaching_tab"] = t(f"tabs.{tab}", lang="en")
    at.run()
    assert not at.exception
    return at


def said(at: AppTest) -> list[str]:
    return [e.value for kind in (at.markdown, at.caption, at.info) for e in kind]


def images(at: AppTest) -> list:
    """Every picture on the page (an st.image of several pictures counts each)."""
    return [img for node in at if getattr(node, "type", None) == "image" for img in node.proto.imgs]


def test_the_shipped_cnns_filters_and_what_they_respond_to(monkeypatch, cnn_file):
    at = tab_page(monkeypatch, cnn_file)
    text = said(at)
    assert "The model in use is not a CNN, so this shows the first layer of the shipped CNN." in text
    assert any(s.startswith("The CNN's first layer has 4 filters") for s in text)
    assert any(s.startswith("Where each filter lights up in your drawing") for s in text)
    captions = [img.caption for img in images(at)]
    assert captions.count("1") >= 2 and captions.count("4") >= 2     # 4 filters, then their 4 maps


def test_without_a_drawing_the_filters_alone(monkeypatch, cnn_file):
    at = tab_page(monkeypatch, cnn_file, drawn=False)
    text = said(at)
    assert any(s.startswith("The CNN's first layer has 4 filters") for s in text)
    assert "Draw a digit to see where each filter lights up in it." in text
    assert not any(s.startswith("Where each filter lights up") for s in text)


def test_no_cnn_on_the_server_is_a_message(monkeypatch, tmp_path):
    at = tab_page(monkeypatch, tmp_path / "no-cnn-yet.keras")
    assert any(s.startswith("There is no CNN on this server yet.") for s in said(at))


def test_a_cnn_in_use_is_the_one_shown(monkeypatch, cnn_file, tmp_path):
    at = tab_page(monkeypatch, tmp_path / "no-cnn-yet.keras", own=cnn_file)
    assert "The first layer of the CNN you are drawing with." in said(at)


@pytest.mark.parametrize("tab,shows", [("learned", "Each digit's picture is what makes the model say"), ("why", "Input × weights")])
def test_softmax_views_beside_a_cnn_explain_the_shipped_softmax(monkeypatch, cnn_file, tab, shows):
    at = tab_page(monkeypatch, cnn_file, own=cnn_file, tab=tab)
    text = said(at)
    assert any(s.startswith("This view explains the lesson's softmax") and "(CNN)" in s for s in text)
    assert any(shows in s for s in text)


# -- the pictures, without a page -----------------------------------------------------------------
def hand_made_cnn() -> Recognizer:
    """A CNN whose filter 1 sums the ink under it (all +1) and filter 2 its negative (all -1)."""
    shapes = forward.weight_shapes("cnn", 16, 4)
    weights = {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
    weights["conv1.kernel"][..., 0, 0] = 1.0
    weights["conv1.kernel"][..., 0, 1] = -1.0
    return Recognizer(weights, {"config": {"architecture": "cnn", "filters": 4}})


def test_filter_pictures_are_on_one_diverging_scale():
    pictures = filters.filter_pictures(hand_made_cnn())
    assert len(pictures) == 4 and pictures[0].size == (50, 50)         # 48 px and a 1 px frame
    assert pictures[3].getpixel((0, 0)) == filters.FRAME                # every filter in a visible square, a faint one too
    assert pictures[0].getpixel((24, 24)) == RED                        # +1, the largest weight
    assert pictures[1].getpixel((24, 24)) == (33, 102, 172)             # -1: full blue
    assert pictures[2].getpixel((24, 24)) == WHITE                      # 0


def test_a_filter_lights_up_where_its_pattern_is_in_the_drawing():
    x28 = np.zeros((28, 28), np.float32)
    x28[4:24, 13:15] = 1.0                                              # a vertical stroke: a 1
    maps = filters.response_pictures(hand_made_cnn(), x28)
    assert len(maps) == 4 and maps[0].size == (80, 80)                  # 78 px and a 1 px frame
    scale = 78 / 26
    on_stroke, beside = (1 + int(13 * scale), 1 + int(12 * scale)), (1 + int(3 * scale), 1 + int(12 * scale))
    assert maps[0].getpixel(on_stroke) == RED and maps[0].getpixel(beside) == WHITE
    assert maps[1].getpixel(on_stroke) == WHITE                         # the opposite pattern: no response
