"""The teaching tabs in AppTest: with a drawing on the canvas, each tab (chosen through its
key, as a click does) renders its own content and no exception."""
from __future__ import annotations

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from test_page import APP, RUN_TIMEOUT, draw_on_canvas, guess
from ui.i18n import t
from model.store import SHIPPED_FILES
from ui.teaching import TABS

# A phrase only that tab shows (a fresh data folder has no recorded runs yet).
SAYS = {
    "converts": "Each step of the conversion",
    "learned": "Each digit's picture is what makes the model say",
    "why": "Input × weights",
    "filters": "the shipped CNN" if SHIPPED_FILES["cnn"].is_file() else "There is no CNN on this server yet",
    "fails": "Click a cell",
    "runs": "No trainings recorded yet",
    "curves": "Loss per epoch",
}


@pytest.fixture(scope="module")
def at() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    canvas = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill="white", width=20)
    draw_on_canvas(at, canvas)
    at.run()
    assert guess(at) == "1"
    return at


def texts(at: AppTest) -> list[str]:
    return [e.value for kind in (at.caption, at.info, at.markdown) for e in kind]


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_shows_its_view(at, tab):
    at.session_state["teaching_tab"] = t(f"tabs.{tab}", lang="en")   # the tab's name, as a click sets it
    at.run()
    assert not at.exception
    assert any(SAYS[tab] in t for t in texts(at)), f"{tab}: {texts(at)}"
    others = [SAYS[t] for t in TABS if t != tab]
    assert not any(o in t for o in others for t in texts(at)), "only the open tab is computed"
