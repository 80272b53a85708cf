"""The projector view: a second page, the instructor's only (it shows the class's drawings),
made to be left on the wall during the lesson and read from the back of the room.

Left, a large canvas for the teacher, the guess in very large type and its ten probabilities
as large numbers over bars, and the runs that did best. Right, the wall: the class's accuracy
so far and its latest drawings with their guesses and Right / Wrong. A link leads back to the
class page (the sidebar, with the page list, is hidden here), and the join QR code opens
from the header.

It refreshes itself: two fragments (the drawings, the best runs) rerun every REFRESH_SECONDS
and each first reads a cheap stamp of its source (the drawings' count and newest id; the
runs' newest id). What is built from a source is cached on its stamp, once for the whole
server: the wall's pictures and the class's accuracy on the drawings' stamp, the best runs on
the runs' stamp. A rerun where nothing changed only re-sends what is cached, and the browser
keeps the elements that did not change.

Every text is at least 24 px at 1920 x 1080: the page's CSS sets a larger root font size (the
style element lives on this page only) and the probabilities are HTML, not a chart.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from classroom import feedback, runs
from model.recognizer import Prediction
from ui.canvas import HIDE_TOOLBAR
from ui.i18n import settings_text, t
from ui.instructor import is_instructor, server_url
from ui.join import join_ui
from ui.models import model_in_use

REFRESH_SECONDS = 3     # how often the wall looks for new drawings and runs
WALL_SIZE = 18          # the class's latest drawings on the wall: three rows of six
BEST_RUNS = 3
BOARD = 480             # the teacher's canvas, in px (the recognizer takes any size)
PEN = 34                # the class page's default 20 px pen, at this canvas's scale
TILE = 136              # a drawing on the wall, in px
BESIDE_BOARD = 320      # the guess's room beside the canvas, in px
# st.navigation names a callable's page after the function: the class page is `class_page`
# (streamlit_app.py), its hash follows that name wherever the Page object is made.
CLASS_PAGE = "class_page"

# 16 px -> 28 px for every rem on this page, so Streamlit's smallest texts (captions, labels:
# 0.875rem) are 24.5 px; the paddings that grew with it are given back in px.
STYLE = """<style>
html { font-size: 28px !important; }
section[data-testid="stSidebar"] { display: none !important; }   /* the wall's width; the link goes back */
.stMainBlockContainer { padding: 8px 32px 16px !important; max-width: none !important; }
.stMain [data-testid="stVerticalBlock"] { gap: 10px; }
.stMain, .stMain [data-testid="stMarkdownContainer"] * { word-break: keep-all !important; }  /* Korean: between words */
.st-key-wall_accuracy p { font-size: 1.3rem; }
.st-key-wall_header h1 { font-size: 1.6rem; padding: 0; }
.st-key-wall_guess { text-align: center; }
.st-key-wall_guess h1 { font-size: 12rem; line-height: 1; padding: 0; font-weight: 800; }
.wall-probs { display: flex; gap: 6px; align-items: flex-end; height: 200px; width: 100%; }
.wall-probs .p { flex: 1; display: flex; flex-direction: column; justify-content: flex-end;
  align-items: center; height: 100%; }
.wall-probs .bar { width: 80%; background: #7aa7d6; border-radius: 4px 4px 0 0; min-height: 2px; }
.wall-probs .top .bar { background: #1f6fd1; }
.wall-probs .pct { font-size: 28px; line-height: 1.2; white-space: nowrap; }
.wall-probs .d { font-size: 40px; font-weight: 700; line-height: 1.2; }
.wall-probs .top .pct, .wall-probs .top .d { color: #1f6fd1; font-weight: 800; }
.wall-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(146px, 1fr)); gap: 10px 12px; }
.wall-tiles figure { margin: 0; text-align: center; }
.wall-tiles img { width: 136px; height: 136px; border-radius: 8px; display: block; margin: 0 auto; }
.wall-tiles figcaption { font-size: 24px; line-height: 1.2; margin-top: 4px; }
.wall-tiles .guess { font-size: 40px; font-weight: 800; }
.wall-tiles .right figcaption .verdict { color: #16833a; font-weight: 700; }
.wall-tiles .wrong figcaption .verdict { color: #c62828; font-weight: 700; }
.wall-tiles .truth { color: #c62828; }
.wall-tiles .wrong img { outline: 5px solid #c62828; }
.wall-tiles .right img { outline: 5px solid #16833a; }
.wall-runs { font-size: 24px; margin: 0; padding-left: 1.2em; }
.wall-runs li { margin: 4px 0; }
</style>"""


@dataclass(frozen=True)
class Tile:
    picture: str            # a data: URL of the drawing, TILE px
    true_digit: int
    guessed_digit: int | None

    @property
    def right(self) -> bool:
        return self.true_digit == self.guessed_digit


@dataclass(frozen=True)
class Wall:
    tiles: tuple[Tile, ...]     # newest first
    answered: int
    right: int


# -- the stamps: read every REFRESH_SECONDS, so they must stay cheap ---------------------------
def drawings_stamp() -> tuple[int, int, int]:
    """(answered, right, the newest drawing's id): changes when one is added or deleted. One
    small read, no picture decoded."""
    return feedback.tally()


def runs_stamp() -> int:
    """The newest run's id (0: none yet)."""
    return runs.newest_id()


# -- what is built from them, once per change for the whole server -----------------------------
def thumbnail(canvas: np.ndarray) -> str:
    """A stored 280x280 drawing as a small PNG data: URL for the wall."""
    picture = Image.fromarray(canvas, mode="L").resize((TILE, TILE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@st.cache_resource(show_spinner=False, max_entries=4)
def class_wall(stamp: tuple[int, int, int]) -> Wall:
    """The latest drawings' pictures and the class's accuracy, as they are at `stamp`."""
    answered, right, _ = stamp
    latest = feedback.find(limit=WALL_SIZE)
    tiles = tuple(Tile(thumbnail(d.canvas), d.true_digit, d.guessed_digit) for d in latest)
    return Wall(tiles, answered=answered, right=right)


@st.cache_resource(show_spinner=False, max_entries=4)
def best_runs(stamp: int) -> tuple[runs.Run, ...]:
    """The runs with the best test accuracy, best first, as they are at `stamp`."""
    scored = [r for r in runs.list_runs() if r.test_accuracy is not None]
    return tuple(sorted(scored, key=lambda r: (-r.test_accuracy, -r.id))[:BEST_RUNS])


# -- HTML: sizes in px, so that no text on the wall is under 24 px -----------------------------
def probabilities_html(prediction: Prediction) -> str:
    """Ten bars with the digit under each and its probability over it; the guess's stands out."""
    cells = []
    for digit, p in enumerate(prediction.probabilities):
        top = " top" if digit == prediction.digit else ""
        cells.append(f"<div class='p{top}'><span class='pct'>{p:.0%}</span>"
                     f"<div class='bar' style='height: {p * 140:.0f}px'></div><span class='d'>{digit}</span></div>")
    return f"<div class='wall-probs'>{''.join(cells)}</div>"


def tiles_html(wall: Wall) -> str:
    """Each drawing with its guess under it, Right in green or Wrong in red with the true digit."""
    figures = []
    for tile in wall.tiles:
        guessed = "?" if tile.guessed_digit is None else str(tile.guessed_digit)
        verdict = t("projector.wall.right") if tile.right else t("projector.wall.wrong")
        was = html.escape(t("projector.wall.was", digit=tile.true_digit))
        truth = "" if tile.right else f"<br><span class='truth'>{was}</span>"
        alt = t("projector.wall.drawing", digit=tile.true_digit)
        figures.append(f"<figure class='{'right' if tile.right else 'wrong'}'>"
                       f"<img src='{tile.picture}' alt='{html.escape(alt)}'>"
                       f"<figcaption><span class='guess'>{guessed}</span><br>"
                       f"<span class='verdict'>{html.escape(verdict)}</span>{truth}</figcaption></figure>")
    return f"<div class='wall-tiles'>{''.join(figures)}</div>"


def runs_html(best: tuple[runs.Run, ...]) -> str:
    """The best runs, best first: test accuracy and settings in a few words."""
    items = [html.escape(t("projector.wall.run", run=r.id, accuracy=f"{r.test_accuracy:.1%}",
                           settings=settings_text(r.config))) for r in best]
    return "<ol class='wall-runs'>" + "".join(f"<li>{item}</li>" for item in items) + "</ol>"


# -- the page ----------------------------------------------------------------------------------
def clear_board() -> None:
    st.session_state.wall_canvas_id = st.session_state.get("wall_canvas_id", 0) + 1


@st.fragment
def board_ui() -> None:
    """The teacher's canvas, its guess and probabilities: a stroke reruns only this part."""
    recognizer, which = model_in_use()
    with st.container(horizontal=True, gap="medium"):
        with st.container(width=BOARD):
            key = f"canvas-wall-{st.session_state.get('wall_canvas_id', 0)}"   # ui/canvas.py hides its toolbar
            result = st_canvas(stroke_width=PEN, stroke_color="#FFFFFF", background_color="#000000",
                               width=BOARD, height=BOARD, drawing_mode="freedraw", return_image_data=True,
                               update_streamlit=True, key=key)
        image = result.image_data
        prediction = recognizer.predict(image) if image is not None else Prediction(None, np.zeros(10), None)
        with st.container(width="stretch"):
            st.markdown(t("projector.wall.model", which=which))
            if prediction.digit is None:
                reason = prediction.rejected or "empty"
                st.markdown(t("projector.wall.draw") if reason == "empty" else t(f"guess.{reason}"))
            else:
                st.caption(t("guess.title"))
                with st.container(key="wall_guess"):
                    st.title(str(prediction.digit), anchor=False)
            st.button(t("canvas.clear"), key="wall_clear", on_click=clear_board, icon=":material/delete:")
            st.html(HIDE_TOOLBAR, width="content", unsafe_allow_javascript=True)
    if prediction.digit is not None:
        st.html(probabilities_html(prediction))


def wall_ui() -> None:
    """The class's accuracy so far and its latest drawings, rebuilt only when the drawings
    changed (see the module's docstring)."""
    try:
        wall = class_wall(drawings_stamp())
    except feedback.FeedbackError as e:
        st.warning(t("drawings.unavailable", detail=str(e)))
    else:
        with st.container(key="wall_accuracy"):
            if wall.answered:
                st.markdown(t("projector.wall.accuracy", accuracy=f"{wall.right / wall.answered:.0%}",
                              right=wall.right, answered=wall.answered))
            else:
                st.markdown(t("drawings.none"))
        if wall.tiles:
            with st.container(key="wall_tiles"):
                st.markdown(t("projector.wall.latest"))
                st.html(tiles_html(wall))


def runs_ui() -> None:
    """The runs with the best test accuracy, re-read only when a run was recorded."""
    try:
        best = best_runs(runs_stamp())
    except runs.RunsError as e:
        st.warning(t("runs.unavailable", detail=str(e)))
        return
    if best:
        with st.container(key="wall_runs"):
            st.markdown(t("projector.wall.best_runs"))
            st.html(runs_html(best))


def header_ui() -> None:
    with st.container(horizontal=True, vertical_alignment="center", key="wall_header"):
        st.title(t("projector.title"), anchor=False, width="stretch")
        st.page_link(st.Page(lambda: None, title=t("page.title"), url_path=CLASS_PAGE, default=True),
                     label=t("projector.wall.back"), icon=":material/arrow_back:")
        join_ui(server_url())


def projector_page() -> None:
    """The wall: for the instructor only (st.navigation lists it only for an unlocked session;
    checked again here, as it shows the class's drawings)."""
    if not is_instructor():
        st.stop()
    st.html(STYLE)
    header_ui()
    with st.container(horizontal=True, gap="large"):
        with st.container(width=BOARD + BESIDE_BOARD):
            board_ui()
            st.fragment(runs_ui, run_every=REFRESH_SECONDS)()
        with st.container(width="stretch"):
            st.fragment(wall_ui, run_every=REFRESH_SECONDS)()
