"""The instructor's side of the page: the unlock form, then (for the instructor only) the
class model, the training queue with its controls, and the class's drawings.

A student's page holds none of the instructor's widgets: only the unlock form. The gate is
one per server (`st.cache_resource`); each session keeps its own wrong attempts.
"""
from __future__ import annotations

import sys
from typing import Callable

import pandas as pd
import streamlit as st

from classroom import class_model, feedback, paths, runs
from classroom.serve import class_url
from classroom.instructor import Attempts, GateAnswer, InstructorGate, announcement
from classroom.queue import TrainingQueue
from model.pictures import enlarge
from ui.i18n import settings_text, t, words
from ui.join import join_ui
from model.store import ModelFileError


def configured_password() -> str | None:
    """Streamlit's secret `instructor_password`, else $DIGITS_INSTRUCTOR_PASSWORD."""
    try:
        secret = st.secrets.get("instructor_password")
    except Exception:  # no secrets file at all: Streamlit raises rather than returning None
        secret = None
    return secret or paths.instructor_password()


def server_url() -> str:
    """The address students and the teacher reach this server at."""
    return class_url(st.get_option("server.address"), st.get_option("server.port"))


@st.cache_resource(show_spinner=False)
def instructor_gate() -> InstructorGate:
    """One gate per server. Without a configured password it holds a code: the one
    `python -m classroom.serve` printed when it started the server, or, when the page was
    started with plain `streamlit run`, one made now and printed in the server's terminal."""
    password = configured_password()
    if password:
        return InstructorGate(password=password)
    launched = paths.instructor_code()
    gate = InstructorGate(code=launched)
    if not launched:
        print(announcement(gate.code, server_url()), file=sys.stderr, flush=True)
    return gate


def is_instructor() -> bool:
    return bool(st.session_state.get("instructor"))


def unlock_from_link() -> None:
    """The terminal's ready link carries the code (`?instructor=…`): unlock, then take it out of
    the address bar so it is not left on the projector or in a shared link."""
    gate = instructor_gate()   # made (and announced, if it made a code) at the first page load
    code = st.query_params.get("instructor")
    if code is None:
        return
    del st.query_params["instructor"]
    answer = gate.check(code, _attempts())
    if answer.ok:
        st.session_state.instructor = True
    else:
        st.session_state.unlock_message = gate_message(answer)


def gate_message(answer: GateAnswer) -> str:
    return t(f"gate.{answer.reason}", seconds=f"{answer.wait_seconds:.0f}")


def _attempts() -> Attempts:
    if "unlock_attempts" not in st.session_state:
        st.session_state.unlock_attempts = Attempts()
    return st.session_state.unlock_attempts


def unlock_ui() -> None:
    """The one thing a student sees of the instructor's panel."""
    st.caption(t("gate.hint"))
    with st.form("unlock", clear_on_submit=True, border=False):
        attempt = st.text_input(t("gate.field"), type="password", key="instructor_password")
        submitted = st.form_submit_button(t("gate.unlock"), key="instructor_unlock")
    if submitted:
        answer = instructor_gate().check(attempt or "", _attempts())
        if answer.ok:
            st.session_state.instructor = True
            st.rerun()
        st.session_state.unlock_message = gate_message(answer)
    message = st.session_state.pop("unlock_message", None)
    if message:
        st.error(message)


def publish_ui(own_model: str | None) -> None:
    current = class_model.class_model()
    st.caption(t("publish.class_model_published") if current.published else t("publish.class_model_shipped"))
    choices: dict[str, str] = {}
    if own_model:
        choices[t("publish.my_model")] = own_model
    try:
        for r in runs.list_runs()[:50]:
            if r.model_path:
                choices[t("publish.run", run=r.id, settings=settings_text(r.config),
                          accuracy=f"{r.test_accuracy:.1%}")] = r.model_path
    except runs.RunsError as e:
        st.warning(t("runs.unavailable", detail=str(e)))
    if choices:
        pick = st.selectbox(t("publish.choose"), list(choices), key="publish_choice")
        if st.button(t("publish.publish"), key="publish", type="primary"):
            try:
                class_model.publish(choices[pick])
                st.success(t("publish.done"))
            except (ModelFileError, OSError) as e:
                st.error(t("publish.failed", detail=str(e)))
    else:
        st.info(t("publish.nothing"))
    if current.published and st.button(t("publish.unpublish"), key="unpublish"):
        class_model.unpublish()
        st.success(t("publish.unpublished"))


def queue_ui(queue: TrainingQueue, me: str) -> None:
    """Every training on the server, its owner and estimate, each cancellable; pause; budget."""
    st.markdown(t("queue.heading"))
    # The queue holds the settings, not the widgets: every instructor page (a laptop and the
    # projector) shows the queue's, and only a change made on a page is written back.
    st.session_state.pause_training = queue.paused
    st.session_state.training_budget = int(queue.budget_seconds)
    st.toggle(t("queue.pause"), key="pause_training", help=t("queue.pause_help"),
              on_change=lambda: queue.pause(st.session_state.pause_training))
    st.number_input(t("queue.budget"), min_value=5, max_value=3600, step=5, key="training_budget",
                    help=t("queue.budget_help"),
                    on_change=lambda: queue.set_budget(st.session_state.training_budget))
    jobs = queue.jobs()
    if not jobs:
        st.caption(t("queue.empty"))
        return
    table = pd.DataFrame([{
        t("queue.place"): t("queue.running") if j.position == 0 else str(j.position),
        t("queue.who"): t("queue.you") if j.owner == me else t("queue.student", session=j.owner[:6]),
        t("queue.settings"): settings_text(j.config),
        t("queue.state"): t(f"state.{j.state.value}"),
        t("queue.eta"): t("queue.seconds", seconds=f"{j.eta_seconds:.0f}") if j.eta_seconds is not None else "",
    } for j in jobs])
    st.dataframe(table, hide_index=True, key="queue_table")
    for j in jobs:
        label = (t("queue.cancel_running", settings=settings_text(j.config)) if j.position == 0
                 else t("queue.cancel_place", place=j.position, settings=settings_text(j.config)))
        if st.button(label, key=f"cancel_job_{j.id}"):
            queue.cancel(j.id)
            st.rerun()


def drawings_ui(submit_finetune: Callable[[tuple], None]) -> None:
    try:
        total = feedback.count()
    except feedback.FeedbackError as e:
        st.warning(t("drawings.unavailable", detail=str(e)))
        return
    st.markdown(t("drawings.heading", count=total))
    if total == 0:
        st.caption(t("drawings.none"))
        return
    left, right = st.columns(2)
    digit = left.selectbox(t("drawings.digit"), ["all", *range(10)], key="drawings_digit",
                           format_func=words("drawings.digit_{option}"))
    which = right.selectbox(t("drawings.guesses"), ["all", "right", "wrong"], key="drawings_right",
                            format_func=words("drawings.{option}"))
    try:
        shown = feedback.find(None if digit == "all" else int(digit),
                              None if which == "all" else which == "right", limit=40)
    except feedback.FeedbackError as e:
        st.warning(t("drawings.unavailable", detail=str(e)))
        return
    picked = []
    for start in range(0, len(shown), 4):
        for column, d in zip(st.columns(4), shown[start:start + 4]):
            column.image(enlarge(d.canvas / 255.0, 64),
                         caption=t("drawings.caption", true=d.true_digit, guessed=d.guessed_digit))
            if column.checkbox(t("drawings.delete_box"), key=f"del_{d.id}", label_visibility="collapsed"):
                picked.append(d.id)
    if picked and st.button(t("drawings.delete", count=len(picked)), key="delete_drawings"):
        feedback.delete(picked)
        st.rerun()
    st.download_button(t("drawings.export"), data=lambda: feedback.export_npz(),
                       file_name="class_drawings.npz", mime="application/octet-stream", key="export_drawings")
    if st.button(t("drawings.finetune"), key="finetune", help=t("drawings.finetune_help")):
        drawings = feedback.find()
        submit_finetune(([d.canvas for d in drawings], [d.true_digit for d in drawings]))


def instructor_ui(own_model: str | None, queue: TrainingQueue, me: str,
                  submit_finetune: Callable[[tuple], None]) -> None:
    with st.sidebar.expander(t("gate.expander"), icon=":material/school:", expanded=is_instructor()):
        if not is_instructor():
            unlock_ui()
            return
        with st.container(key="instructor_panel"):
            join_ui(server_url())
            publish_ui(own_model)
            st.divider()
            queue_ui(queue, me)
            st.divider()
            drawings_ui(submit_finetune)
