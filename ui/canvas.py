"""The page's inputs: the drawing canvas (with its Undo and Clear buttons) and the photo
upload, each returning a canvas-like image (or None) for the one conversion in
`model.preprocess`."""
from __future__ import annotations

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from model.upload import UploadError, read_upload
from ui.i18n import t

CANVAS_SIZE = 280

# The canvas component's floating toolbar (send, undo, redo, edit, reset) rests, invisible
# until the mouse hovers the canvas, over the canvas's top right: 141 x 46 px from 16 px above
# it, so canvas x >= 139, y < 30 (still y < 4 once hovered). A stroke begun there went to the
# toolbar, not the canvas, and was lost; on a touch screen, which never hovers, always. The
# component has no option to hide it and keeps its styles in a shadow root, out of reach of
# the page's CSS: this script puts one rule there, in each canvas as it appears (Clear makes a
# new one; its shadow root comes a frame after it). The Undo and Clear buttons replace it.
HIDE_TOOLBAR = """<script>
(() => {
  const hosts = '[class*="st-key-canvas-"] [data-testid="stBidiComponentIsolated"]';
  const hide = (frames = 0) => {
    let waiting = false;
    for (const host of document.querySelectorAll(hosts)) {
      const root = host.shadowRoot;
      if (!root) { waiting = true; continue; }
      if (root.querySelector('style[data-hide-toolbar]')) continue;
      const style = document.createElement('style');
      style.dataset.hideToolbar = '';
      style.textContent = '.dc-toolbar { display: none !important; }';
      root.append(style);
    }
    if (waiting && frames < 120) requestAnimationFrame(() => hide(frames + 1));
  };
  if (!window.digitCanvasToolbar) {  // one watcher per tab, however often this script runs
    window.digitCanvasToolbar = new MutationObserver(() => hide());
    window.digitCanvasToolbar.observe(document.body, {childList: true, subtree: true});
  }
  hide();
})();
</script>"""

# Streamlit's header (3.75rem) lies over the top of the scrolling main area and covers what
# scrolls under it: on a phone, the canvas's top. As a border of the main area instead, the
# page scrolls out of sight below the header, never under it; the block's top padding gives
# the same height back, so nothing moves until the page scrolls.
PAGE_STYLE = """<style>
.stMain { border-top: 3.75rem solid transparent; }
.stMainBlockContainer { padding-top: 2.25rem; }
</style>"""


def undo_stroke(key: str) -> None:
    """Start the canvas again from its drawing without the last stroke. The component redraws
    when the drawing it starts from changes, then sends its pixels; the count makes each Undo
    a change, even back to a drawing it started from before (fabric keeps it as an unused
    attribute of its canvas)."""
    drawing = (st.session_state.get(key) or {}).get("drawing") or {}
    objects = (drawing.get("raw") or {}).get("objects") or []
    undos = (st.session_state.get("canvas_start") or {}).get("undos", 0) + 1
    st.session_state.canvas_start = {"objects": objects[:-1], "undos": undos}


def clear_canvas() -> None:
    """A new, empty canvas (a new key): the drawing area's rerun draws it; nothing else changes."""
    st.session_state.canvas_id += 1
    st.session_state.canvas_start = None


def canvas_ui() -> object:
    """The drawing canvas, with Undo and Clear under it; returns its RGBA pixels, or None
    before anything is drawn."""
    st.html(PAGE_STYLE)
    pen = st.slider(t("canvas.pen_width"), 5, 40, 20, key="pen_width")
    key = f"canvas-{st.session_state.canvas_id}"
    result = st_canvas(stroke_width=pen, stroke_color="#FFFFFF", background_color="#000000",
                       width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
                       initial_drawing=st.session_state.get("canvas_start"),
                       return_image_data=True, update_streamlit=True, key=key)
    strokes = (result.json_data or {}).get("objects") or []
    with st.container(horizontal=True, key="drawing_buttons"):
        st.button(t("canvas.undo"), key="undo", on_click=undo_stroke, args=(key,), disabled=not strokes)
        st.button(t("canvas.clear"), key="clear", on_click=clear_canvas)
        st.html(HIDE_TOOLBAR, width="content", unsafe_allow_javascript=True)  # no size: last in the row
    return result.image_data


def upload_ui() -> object:
    """A photo or scan of a digit, as a canvas-like image; None if none or unreadable."""
    st.session_state.canvas_start = None  # the canvas comes back empty (a new mount), not as last undone
    file = st.file_uploader(t("upload.label"), type=["png", "jpg", "jpeg"],
                            key="upload")
    if file is None:
        return None
    try:
        image = read_upload(file.getvalue())
    except UploadError as e:
        st.error(t(f"upload.{e.kind}", **e.values))
        return None
    st.image(image, caption=t("upload.caption"), width=CANVAS_SIZE)
    return image
