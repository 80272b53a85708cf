"""The join screen: the page's address as a large QR code and as short text, for the
instructor to put on the projector so that students join from their phones in seconds."""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import segno
import streamlit as st

from ui.i18n import t

QR_SCALE = 16          # pixels per QR module: about 500 px for a short address, sharp on a projector


def qr_png(text: str, scale: int = QR_SCALE) -> bytes:
    """`text` as a QR code, a black-on-white PNG with the standard quiet zone around it."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def short_address(url: str) -> str:
    """What students type when they cannot scan: the address without its scheme or a bare '/'."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return f"{parts.netloc}{path}"


def join_dialog(url: str) -> None:
    st.dialog(t("join.title"), width="large")(join_screen)(url)


def join_screen(url: str) -> None:
    st.image(qr_png(url), width=520)
    st.markdown(f"<p class='join-address'>{short_address(url)}</p>", unsafe_allow_html=True)
    st.caption(t("join.how"))
    st.markdown("<style>.join-address { font-size: 3rem; font-weight: 700; text-align: center; }</style>",
                unsafe_allow_html=True)


def join_ui(url: str) -> None:
    """A button that opens the join screen."""
    if st.button(t("join.show"), key="show_join", icon=":material/qr_code_2:"):
        join_dialog(url)
