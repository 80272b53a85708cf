"""The projector view: a second page (the instructor's), made to be left on the wall."""
from __future__ import annotations

import streamlit as st

from ui.i18n import t


def projector_page() -> None:
    st.title(t("projector.title"), anchor=False)
