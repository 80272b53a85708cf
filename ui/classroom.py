"""The class's side of the page: feedback buttons under the guess, and the instructor's
panel (publish a class model, browse, delete, export and learn from the class's drawings)."""
from __future__ import annotations

import os

import streamlit as st

from model import classroom, feedback, runs
from model.pictures import enlarge
from model.recognizer import Prediction
from model.store import ModelFileError


def instructor_password() -> str | None:
    """From Streamlit's secrets (`instructor_password`) or $DIGITS_INSTRUCTOR_PASSWORD."""
    try:
        secret = st.secrets.get("instructor_password")
    except Exception:  # no secrets file at all: Streamlit raises rather than returning None
        secret = None
    return secret or os.environ.get("DIGITS_INSTRUCTOR_PASSWORD") or None


@st.cache_resource(show_spinner=False)
def instructor_gate() -> classroom.InstructorGate:
    """One gate per server, so wrong attempts from every tab count together."""
    return classroom.InstructorGate(instructor_password())


def feedback_ui(image, prediction: Prediction, model_name: str) -> None:
    """'Right' / 'Wrong — it was: [digit]' under the guess; each answer is stored for the class."""
    if prediction.digit is None:
        return
    right, digit, wrong = st.columns([1, 1.2, 1.4], vertical_alignment="bottom")
    answer = None
    if right.button("Right", key="feedback_right", icon=":material/check:"):
        answer = prediction.digit
    true = digit.selectbox("It was", list(range(10)), index=None, key="feedback_digit", placeholder="digit")
    if wrong.button("Wrong — it was this", key="feedback_wrong", disabled=true is None):
        answer = true
    if answer is not None:
        try:
            feedback.add(image, prediction.input, answer, prediction.digit, model_name)
            st.toast("Thanks: your drawing was saved for the class.")
        except feedback.FeedbackError as e:
            st.warning(str(e))


def unlock_ui() -> bool:
    gate = instructor_gate()
    if gate.open:
        st.caption("No instructor password is set (Streamlit secret `instructor_password` or "
                   "DIGITS_INSTRUCTOR_PASSWORD): anyone can publish.")
        return True
    if st.session_state.get("instructor"):
        return True
    with st.form("unlock", clear_on_submit=True, border=False):
        attempt = st.text_input("Instructor password", type="password", key="instructor_password")
        if st.form_submit_button("Unlock"):
            answer = gate.check(attempt or "")
            if answer.ok:
                st.session_state.instructor = True
                st.rerun()
            st.error(answer.message)
    return False


def publish_ui(own_model: str | None) -> None:
    current = classroom.class_model()
    st.caption("Class model: " + ("a published model" if current.published else "the shipped model"))
    choices: dict[str, str] = {}
    if own_model:
        choices["my current model"] = own_model
    try:
        for r in runs.list_runs()[:50]:
            if r.model_path:
                choices[f"run {r.id}: {r.config.epochs} epochs, batch {r.config.batch_size}, "
                        f"{r.config.optimizer} {r.config.learning_rate:g} — test {r.test_accuracy:.1%}"] = r.model_path
    except runs.RunsError as e:
        st.warning(str(e))
    if choices:
        pick = st.selectbox("Model to publish", list(choices), key="publish_choice")
        if st.button("Publish to the class", key="publish", type="primary"):
            try:
                classroom.publish(choices[pick])
                st.success("Published: every student's next guess uses it.")
            except (ModelFileError, OSError) as e:
                st.error(f"Not published: {e}")
    else:
        st.info("Train a model first (sidebar), then publish it here.")
    if current.published and st.button("Class back to the shipped model", key="unpublish"):
        classroom.unpublish()
        st.success("The class uses the shipped model again.")


def drawings_ui(submit_finetune) -> None:
    try:
        total = feedback.count()
    except feedback.FeedbackError as e:
        st.warning(str(e))
        return
    st.markdown(f"**The class's drawings** ({total})")
    if total == 0:
        st.caption("None yet: students answer Right / Wrong under each guess.")
        return
    left, right = st.columns(2)
    digit = left.selectbox("Digit", ["all", *range(10)], key="drawings_digit")
    which = right.selectbox("Guesses", ["all", "right", "wrong"], key="drawings_right")
    shown = feedback.find(None if digit == "all" else int(digit),
                          None if which == "all" else which == "right", limit=40)
    picked = []
    for start in range(0, len(shown), 4):
        for column, d in zip(st.columns(4), shown[start:start + 4]):
            column.image(enlarge(d.canvas / 255.0, 64),
                         caption=f"{d.true_digit} (guessed {d.guessed_digit})")
            if column.checkbox("delete", key=f"del_{d.id}", label_visibility="collapsed"):
                picked.append(d.id)
    if picked and st.button(f"Delete {len(picked)} selected", key="delete_drawings"):
        feedback.delete(picked)
        st.rerun()
    st.download_button("Export as .npz (drawn_dev format)", data=lambda: feedback.export_npz(),
                       file_name="class_drawings.npz", mime="application/octet-stream", key="export_drawings")
    if st.button("Fine-tune with the class's drawings", key="finetune",
                 help="Retrain with these drawings added to MNIST, using the sidebar's settings."):
        drawings = feedback.find()
        submit_finetune(([d.canvas for d in drawings], [d.true_digit for d in drawings]))


def instructor_ui(own_model: str | None, submit_finetune) -> None:
    with st.sidebar.expander("Instructor", icon=":material/school:"):
        if not unlock_ui():
            return
        publish_ui(own_model)
        st.divider()
        drawings_ui(submit_finetune)
