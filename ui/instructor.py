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
from classroom.instructor import Attempts, InstructorGate, announcement
from classroom.queue import JobStatus, TrainingQueue
from model.pictures import enlarge
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
    configured = paths.public_url()
    if configured:
        return configured
    from streamlit import net_util
    host = st.get_option("browser.serverAddress") if st.get_option("server.address") else None
    host = host or net_util.get_internal_ip() or "localhost"
    return f"http://{host}:{st.get_option('server.port')}"


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
        st.session_state.unlock_message = answer.message


def _attempts() -> Attempts:
    if "unlock_attempts" not in st.session_state:
        st.session_state.unlock_attempts = Attempts()
    return st.session_state.unlock_attempts


def unlock_ui() -> None:
    """The one thing a student sees of the instructor's panel."""
    st.caption("For the teacher: the code is in the server's terminal, or its link opens this page unlocked.")
    with st.form("unlock", clear_on_submit=True, border=False):
        attempt = st.text_input("Instructor code or password", type="password", key="instructor_password")
        submitted = st.form_submit_button("Unlock", key="instructor_unlock")
    if submitted:
        answer = instructor_gate().check(attempt or "", _attempts())
        if answer.ok:
            st.session_state.instructor = True
            st.rerun()
        st.session_state.unlock_message = answer.message
    message = st.session_state.pop("unlock_message", None)
    if message:
        st.error(message)


def publish_ui(own_model: str | None) -> None:
    current = class_model.class_model()
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
                class_model.publish(choices[pick])
                st.success("Published: every student's next guess uses it.")
            except (ModelFileError, OSError) as e:
                st.error(f"Not published: {e}")
    else:
        st.info("Train a model first (sidebar), then publish it here.")
    if current.published and st.button("Class back to the shipped model", key="unpublish"):
        class_model.unpublish()
        st.success("The class uses the shipped model again.")


def _settings(job: JobStatus) -> str:
    c = job.config
    return f"{c.epochs} epochs, batch {c.batch_size}, {c.optimizer} {c.learning_rate:g}"


def queue_ui(queue: TrainingQueue, me: str) -> None:
    """Every training on the server, its owner and estimate, each cancellable; pause; budget."""
    st.markdown("**Trainings**")
    # The queue holds the settings, not the widgets: every instructor page (a laptop and the
    # projector) shows the queue's, and only a change made on a page is written back.
    st.session_state.pause_training = queue.paused
    st.session_state.training_budget = int(queue.budget_seconds)
    st.toggle("Pause students' trainings", key="pause_training",
              on_change=lambda: queue.pause(st.session_state.pause_training),
              help="New trainings from students are refused and queued ones wait; yours still run.")
    st.number_input("Longest training a student may run (seconds)", min_value=5, max_value=3600, step=5,
                    key="training_budget", on_change=lambda: queue.set_budget(st.session_state.training_budget),
                    help="Estimated from this server's measured training speed. Yours are not limited.")
    jobs = queue.jobs()
    if not jobs:
        st.caption("No training is running or waiting.")
        return
    table = pd.DataFrame([{
        "place": "running" if j.position == 0 else j.position,
        "who": "you" if j.owner == me else f"student {j.owner[:6]}",
        "settings": _settings(j),
        "state": j.state.value,
        "done in about": f"{j.eta_seconds:.0f} s" if j.eta_seconds is not None else "",
    } for j in jobs])
    st.dataframe(table, hide_index=True, key="queue_table")
    for j in jobs:
        label = f"Cancel {'the running training' if j.position == 0 else f'place {j.position}'} ({_settings(j)})"
        if st.button(label, key=f"cancel_job_{j.id}"):
            queue.cancel(j.id)
            st.rerun()


def drawings_ui(submit_finetune: Callable[[tuple], None]) -> None:
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
    try:
        shown = feedback.find(None if digit == "all" else int(digit),
                              None if which == "all" else which == "right", limit=40)
    except feedback.FeedbackError as e:
        st.warning(str(e))
        return
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


def instructor_ui(own_model: str | None, queue: TrainingQueue, me: str,
                  submit_finetune: Callable[[tuple], None]) -> None:
    with st.sidebar.expander("Instructor", icon=":material/school:", expanded=is_instructor()):
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
