"""The page's inputs: the drawing canvas and the photo upload, each returning a canvas-like
image (or None) for the one conversion in `model.preprocess`."""
from __future__ import annotations

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from model.upload import UploadError, read_upload

CANVAS_SIZE = 280


def canvas_ui() -> object:
    """The drawing canvas; returns its RGBA pixels, or None before anything is drawn."""
    pen = st.slider("Pen width", 5, 40, 20, key="pen_width")
    result = st_canvas(stroke_width=pen, stroke_color="#FFFFFF", background_color="#000000",
                       width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
                       return_image_data=True, update_streamlit=True,
                       key=f"canvas-{st.session_state.canvas_id}")
    if st.button("Clear", key="clear"):
        st.session_state.canvas_id += 1
        st.rerun(scope="fragment")  # a new, empty canvas; nothing outside the drawing area changes
    return result.image_data


def upload_ui() -> object:
    """A photo or scan of a digit, as a canvas-like image; None if none or unreadable."""
    file = st.file_uploader("A photo or scan of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                            key="upload")
    if file is None:
        return None
    try:
        image = read_upload(file.getvalue())
    except UploadError as e:
        st.error(str(e))
        return None
    st.image(image, caption="Your image, as ink on black", width=CANVAS_SIZE)
    return image


