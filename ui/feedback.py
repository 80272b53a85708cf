"""'Right' / 'Wrong — it was …' under each guess: the class's drawings are collected here."""
from __future__ import annotations

import streamlit as st

from classroom import feedback
from model.recognizer import Prediction
from ui.i18n import t


def feedback_ui(image, prediction: Prediction, model_name: str) -> None:
    """'Right' / 'Wrong — it was: [digit]' under the guess; each answer is stored for the class."""
    if prediction.digit is None:
        return
    right, digit, wrong = st.columns([1, 1.2, 1.4], vertical_alignment="bottom")
    answer = None
    if right.button(t("feedback.right"), key="feedback_right", icon=":material/check:"):
        answer = prediction.digit
    true = digit.selectbox(t("feedback.it_was"), list(range(10)), index=None, key="feedback_digit",
                           placeholder=t("feedback.digit"))
    if wrong.button(t("feedback.wrong"), key="feedback_wrong", disabled=true is None):
        answer = true
    if answer is not None:
        try:
            feedback.add(image, prediction.input, answer, prediction.digit, model_name)
            st.toast(t("feedback.thanks"))
        except feedback.FeedbackError as e:
            st.warning(t("feedback.not_saved", detail=str(e)))
