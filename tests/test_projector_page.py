"""The projector view (ui/projector.py) in AppTest: only an unlocked instructor's navigation has
it; it shows the class's latest drawings with their guesses, Right / Wrong and the accuracy so
far, the best runs, and the teacher's own drawing's guess; and its refresh rebuilds the wall
only when a drawing or a run was added.

    python -m pytest -q tests/test_projector_page.py

`AppTest.switch_page` opens only pages that are files; the wall is a function given to
`st.navigation` at url path "wall", so a session opens it the way a browser's `/wall` does: by
asking for that page's hash (Streamlit hashes a page's url path). A refresh of the wall is a
run of its fragment; AppTest runs the whole script, which runs the fragment too, so what a
whole run does not rebuild, a fragment run does not either.
"""
from __future__ import annotations

import base64
import io
import re
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from classroom import feedback, runs
from conftest import STROKES, render
from model.config import TrainConfig
from test_i18n import english_sentences, page_text
from test_instructor_page import PASSWORD, instructor, keys, server, session  # noqa: F401 (fixture)
from ui.i18n import catalog, settings_text

WALL = "wall"
WALL_KEYS = {"wall_accuracy", "wall_tiles", "wall_runs", "wall_guess", "wall_clear"}
# One stored figure: <figure class='right|wrong'> ... guess ... verdict [... it was N]
TILE = re.compile(r"<figure class='(right|wrong)'>.*?<span class='guess'>(.*?)</span>.*?"
                  r"<span class='verdict'>(.*?)</span>(?:<br><span class='truth'>(.*?)</span>)?</figcaption>")


@pytest.fixture(autouse=True)
def password(server, monkeypatch):
    """A password configured (set after `server` took any away)."""
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)


@pytest.fixture
def projector():
    """ui/projector.py, once the page has imported it: the canvas component it imports
    registers itself only inside a Streamlit run."""
    session()
    import ui.projector
    return ui.projector


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Open `/<url_path>` in this session, as the browser asks for it."""
    at._page_hash = calc_hash(url_path)
    at.run()
    assert not at.exception, at.exception
    return at


def wall() -> AppTest:
    return open_page(instructor(), WALL)


def a_drawing(true_digit: int, guessed_digit: int | None) -> int:
    canvas = render(STROKES[1]) if true_digit == 1 else render(STROKES[7])
    return feedback.add(canvas, np.zeros((28, 28), np.float32), true_digit, guessed_digit, "the shipped model")


def a_run(test_accuracy: float, **settings) -> int:
    """A finished training as `runs.record` reads it."""
    result = SimpleNamespace(config=TrainConfig(**settings), train_accuracy=test_accuracy, test_accuracy=test_accuracy,
                             train_loss=0.3, test_loss=0.3, history={}, fit_seconds=1.0)
    return runs.record(result, "page")


def html_of(at: AppTest, key: str) -> str:
    """The HTML the container `key` holds."""
    container = next(node for node in at.main if getattr(node, "key", None) == key)
    return "".join(h.proto.body for h in container.get("html"))


def markdown_of(at: AppTest, key: str) -> list[str]:
    container = next(node for node in at.main if getattr(node, "key", None) == key)
    return [m.value for m in container.markdown]


def tiles(at: AppTest) -> list[tuple[str, str, str, str]]:
    """(right|wrong, guess, verdict, truth) of each drawing on the wall, newest first."""
    return TILE.findall(html_of(at, "wall_tiles"))


def canvas_url(picture: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(picture).convert("RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# -- who has the page ------------------------------------------------------------------------
def test_a_students_navigation_has_only_the_class_page_and_wall_shows_no_wall():
    a_drawing(7, 7)
    student = session()
    assert [p["url_pathname"] for p in student._registered_pages.values()] == [""]
    open_page(student, WALL)
    assert student.title[0].value == catalog("en")["page.title"]      # the class page, not the wall
    assert not keys(student) & WALL_KEYS
    assert not any("wall-tiles" in h.proto.body for h in student.get("html"))
    assert not any(m.value.startswith("Class accuracy so far") for m in student.markdown)


def test_the_instructors_navigation_has_the_wall_with_a_link_back():
    at = wall()
    assert sorted(p["url_pathname"] for p in at._registered_pages.values()) == ["", WALL]
    assert at.title[0].value == catalog("en")["projector.title"]
    [back] = at.get("page_link")
    home = next(h for h, p in at._registered_pages.items() if p["url_pathname"] == "")
    assert back.proto.page_script_hash == home and back.proto.label == "Back to the class page"
    assert "show_join" in keys(at)


# -- what the wall shows ---------------------------------------------------------------------
def test_the_wall_shows_the_latest_drawings_their_guesses_right_wrong_and_the_accuracy():
    a_drawing(7, 7)
    a_drawing(1, 7)         # wrong: a 1 read as a 7
    a_drawing(1, 1)         # the newest
    at = wall()
    assert tiles(at) == [("right", "1", "Right", ""), ("wrong", "7", "Wrong", "it was 1"), ("right", "7", "Right", "")]
    assert markdown_of(at, "wall_accuracy") == ["Class accuracy so far: **67%** (2 of 3 right)"]


def test_the_wall_holds_the_latest_drawings_only(projector):
    for i in range(projector.WALL_SIZE + 3):
        a_drawing(7, 7 if i % 2 else 1)
    at = wall()
    assert len(tiles(at)) == projector.WALL_SIZE
    answered = projector.WALL_SIZE + 3
    right = answered // 2
    assert markdown_of(at, "wall_accuracy") == [
        f"Class accuracy so far: **{right / answered:.0%}** ({right} of {answered} right)"]


def test_the_wall_shows_the_best_runs_with_their_settings(projector):
    a_run(0.8903)                                               # the lesson
    best = a_run(0.9250, epochs=20, learning_rate=0.5)
    a_run(0.9243, epochs=10, batch_size=32, learning_rate=0.1)
    a_run(0.8807, epochs=5, batch_size=10, learning_rate=0.05, optimizer="adam")
    at = wall()
    shown = re.findall(r"<li>(.*?)</li>", html_of(at, "wall_runs"))
    assert len(shown) == projector.BEST_RUNS
    assert shown[0] == f"Run {best}: 92.5% — {settings_text(TrainConfig(epochs=20, learning_rate=0.5))}"
    assert [re.search(r": ([\d.]+)%", s).group(1) for s in shown] == ["92.5", "92.4", "89.0"]


def test_an_empty_class_shows_what_to_do():
    at = wall()
    assert markdown_of(at, "wall_accuracy") == [catalog("en")["drawings.none"]]
    assert not keys(at) & {"wall_tiles", "wall_runs"}


def test_the_teacher_draws_on_the_big_canvas_and_sees_the_guess_and_ten_probabilities(projector):
    at = wall()
    assert "wall_guess" not in keys(at)
    side = projector.BOARD
    scale = side / 280
    picture = render([[(x * scale, y * scale) for x, y in line] for line in STROKES[1]], size=(side, side),
                     width=projector.PEN)
    # What the canvas component sends after a stroke (see tests/test_page.py's draw_on_canvas).
    at.session_state["canvas-wall-0"] = {"drawing": {"raw": {"objects": [{"type": "Path"}]},
                                                     "data": canvas_url(picture)}}
    at.run()
    assert not at.exception, at.exception
    guess = next(node for node in at.main if getattr(node, "key", None) == "wall_guess")
    assert guess.title[0].value == "1"
    bars = next(h.proto.body for h in at.get("html") if "wall-probs" in h.proto.body)
    assert len(re.findall(r"<span class='d'>\d</span>", bars)) == 10
    assert re.search(r"<div class='p top'><span class='pct'>\d+%</span>.*?<span class='d'>1</span>", bars)
    at.button(key="wall_clear").click().run()
    assert "wall_guess" not in keys(at)


def test_the_wall_in_korean_has_no_english_sentence():
    a_drawing(7, 7)
    a_drawing(1, 7)
    a_run(0.9250, epochs=20, learning_rate=0.5)
    at = instructor()
    at.radio(key="language").set_value("ko").run()
    open_page(at, WALL)
    text = page_text(at)
    assert "지금까지 반 정확도" in text and "틀렸어요" in text
    assert not [s for s in english_sentences() if s in text]


# -- the refresh -----------------------------------------------------------------------------
@pytest.fixture
def builds(monkeypatch, projector) -> dict[str, int]:
    """How often the wall's pictures and the best runs were built (counted where they are)."""
    counts = {"pictures": 0, "runs": 0}
    thumbnail, list_runs = projector.thumbnail, runs.list_runs

    def counted_thumbnail(canvas):
        counts["pictures"] += 1
        return thumbnail(canvas)

    def counted_list_runs(*args, **kwargs):
        counts["runs"] += 1
        return list_runs(*args, **kwargs)

    monkeypatch.setattr(projector, "thumbnail", counted_thumbnail)
    monkeypatch.setattr(runs, "list_runs", counted_list_runs)
    return counts


def test_the_refresh_rebuilds_nothing_when_nothing_changed(builds):
    a_drawing(7, 7)
    a_drawing(1, 1)
    a_run(0.9, epochs=3)
    at = wall()
    first = dict(builds)
    assert first["pictures"] == 2
    for _ in range(3):
        at.run()
        assert not at.exception
    assert builds["pictures"] == first["pictures"]               # no picture made again
    assert builds["runs"] == first["runs"]                       # the stamp is a cheaper read than the runs
    assert len(tiles(at)) == 2


def test_the_refresh_rebuilds_the_wall_when_a_drawing_is_added_and_the_runs_when_a_run_is(builds):
    a_drawing(7, 7)
    at = wall()
    before = dict(builds)
    a_drawing(1, 7)
    at.run()
    assert builds["pictures"] == before["pictures"] + 2         # the wall's pictures, the new one included
    assert builds["runs"] == before["runs"]                     # no new run: the runs are not read
    assert tiles(at)[0] == ("wrong", "7", "Wrong", "it was 1")
    assert markdown_of(at, "wall_accuracy") == ["Class accuracy so far: **50%** (1 of 2 right)"]

    before = dict(builds)
    a_run(0.93, epochs=7)
    at.run()
    assert builds["pictures"] == before["pictures"]             # the drawings did not change
    assert builds["runs"] == before["runs"] + 1                 # the best runs rebuilt, once
    assert "Run 1: 93.0%" in html_of(at, "wall_runs")


def test_deleting_a_drawing_changes_the_wall():
    a_drawing(7, 7)
    newest = a_drawing(1, 7)
    at = wall()
    assert len(tiles(at)) == 2
    feedback.delete([newest])
    at.run()
    assert tiles(at) == [("right", "7", "Right", "")]
    assert markdown_of(at, "wall_accuracy") == ["Class accuracy so far: **100%** (1 of 1 right)"]
