"""The page on a phone: whether this browser is one, and the CSS that keeps the canvas and its
guess on one phone screen.

A class draws mostly from phones (390 x 844 CSS pixels is a common size), the teacher from a
laptop or a projector. Two things differ on a phone, each decided where it can be:
- the layout of the content, by the screen's width, in CSS (`NARROW_STYLE`): a narrow
  desktop window gets the same compact page;
- where training lives, by the user agent, on the server (`is_phone`): a phone's sidebar
  starts closed, so its training settings, Train and the training's progress go in the main
  area instead. Streamlit cannot ask a browser its width before rendering, and a widget must be
  rendered in one place only (one copy of each key).
"""
from __future__ import annotations

import streamlit as st

# MDN: "we recommend looking for the string 'Mobi' anywhere in the User Agent to detect a
# mobile device" (Android phones and iPhones send "Mobile"; Android tablets do not).
PHONE_MARK = "Mobi"

# Streamlit stacks columns at 640 px and less, where a phone held upright falls. Under the
# header (3.75rem) an 844 px screen must hold the model line, the pen slider, the canvas
# (280 px), Undo/Clear and the guess under them. So: the title goes into the header's empty
# bar (not over the open sidebar; it lets touches through), less padding above, a smaller model
# line, the disabled "Back to the class model" hidden (it is disabled whenever the class model
# is in use), and tighter gaps, also between the stacked columns.
NARROW_STYLE = """<style>
@media (max-width: 640px) {
  .stMain .stMainBlockContainer { padding-top: 0.25rem; padding-left: 1rem; padding-right: 1rem; }
  .stMain [data-testid="stVerticalBlock"] { gap: 0.6rem; }
  .stMain [data-testid="stHorizontalBlock"] { row-gap: 1rem; }
  .st-key-page_title { position: fixed; top: 0; left: 3.75rem; right: 3.75rem; width: auto; height: 3.75rem;
                       z-index: 999991; justify-content: center; pointer-events: none; }
  .stApp:has([data-testid="stSidebar"][data-collapsed="false"]) .st-key-page_title { display: none; }
  .st-key-page_title h1 { font-size: 1.25rem; padding: 0; line-height: 1.2; white-space: nowrap;
                          overflow: hidden; text-overflow: ellipsis; }
  .st-key-page_title [data-testid="stMarkdownContainer"] { margin-bottom: 0; }
  .st-key-model_line p { font-size: 0.8rem; line-height: 1.35; }
  .st-key-model_line [data-testid="stColumn"]:has(.st-key-use_shipped button:disabled) { display: none; }
}
</style>"""


def user_agent() -> str:
    """The browser's User-Agent header ("" without a browser: bare mode, AppTest)."""
    try:
        return st.context.headers.get("User-Agent") or ""
    except Exception:  # no session behind this run
        return ""


def is_phone() -> bool:
    """Whether this session's browser is a phone (MDN's advice: "Mobi" in its user agent)."""
    return PHONE_MARK in user_agent()
