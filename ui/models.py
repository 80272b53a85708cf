"""Which model a page draws with: the session's own, else the class model (the shipped one
until the instructor publishes another); loaded once per server and version."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

from classroom import class_model
from model import store
from model.recognizer import Prediction, Recognizer, load_recognizer
from ui.i18n import settings_text, t

@st.cache_resource(show_spinner=False, max_entries=64)
def recognizer_for(path: str, version: str = "") -> Recognizer:
    """One recognizer per model file (and version of it) for the whole server: the class
    model loads once, however many students draw with it."""
    return load_recognizer(path)


def shipped_model(architecture: str) -> Recognizer:
    """The shipped model of `architecture`; ModelFileError if it is missing or unreadable (not
    cached: a file put in place later is found at the next run)."""
    return recognizer_for(str(store.SHIPPED_FILES[architecture]), "shipped")


def softmax_for(recognizer: Recognizer, image, prediction: Prediction) -> tuple[Recognizer, Prediction]:
    """What a softmax-only view (weights as pictures, pixel x weight) explains: the model in
    use if it is a softmax; else, said so, the shipped softmax and its own guess for this
    drawing, since a hidden layer's or a CNN's guess is no sum of pixel x weight."""
    if recognizer.architecture == "softmax":
        return recognizer, prediction
    st.info(t("compare.softmax_only", model=t(f"compare.name_{recognizer.architecture}")))
    shipped = shipped_model("softmax")
    return shipped, shipped.predict(image) if image is not None else Prediction(None, None, None)


def model_label(recognizer: Recognizer, which: str) -> str:
    meta, c = recognizer.metadata, recognizer.config
    return t("model.label", which=which, settings=settings_text(c),
             accuracy=f"{meta.get('test_accuracy', float('nan')):.1%}")


def model_in_use() -> tuple[Recognizer, str]:
    """The session's own model if it has one, else the class model; and how to call it."""
    current = class_model.class_model()
    if st.session_state.class_version != current.version:
        st.session_state.class_version = current.version
        if st.session_state.model_path is None:
            st.toast(t("model.published_toast"))
    own = st.session_state.model_path
    if own is not None:
        try:
            recognizer = recognizer_for(own)
            return recognizer, t("model.yours", time=local_time(recognizer.metadata.get("trained_at", "")))
        except store.ModelFileError as e:
            st.warning(t("model.own_unreadable", detail=str(e)))
            st.session_state.model_path = None
    try:
        recognizer = recognizer_for(str(current.path), current.version)
    except store.ModelFileError as e:
        if current.published:  # the class goes on with the shipped model; the file is the instructor's to fix
            st.warning(t("model.class_unreadable", detail=str(e)))
            return recognizer_for(str(store.SHIPPED), "shipped"), t("model.shipped")
        st.error(t("model.shipped_unreadable", detail=str(e)))
        st.stop()
    return recognizer, t("model.class") if current.published else t("model.shipped")


def local_time(iso: str) -> str:
    """A model's UTC time stamp as the viewer's clock shows it (HH:MM)."""
    try:
        stamp = dt.datetime.fromisoformat(iso)
        zone = st.context.timezone
        return stamp.astimezone(ZoneInfo(zone) if zone else None).strftime("%H:%M")
    except (ValueError, TypeError, KeyError, OSError):
        return iso[11:16]
