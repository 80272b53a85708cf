"""The instructor's side of the page, in AppTest: what a student's page holds (the unlock form
and nothing else of the instructor's, not even hidden in the collapsed expander), how the
password, a typed code and the terminal's link unlock the panel, and what the instructor's
queue controls do to another session's page.

    python -m pytest -q tests/test_instructor_page.py

Several `AppTest`s in one test are several sessions of one server: they share the page's
`st.cache_resource` objects (the instructor gate, the training queue), which each test
starts afresh. The queue's training process is replaced at the library boundary by one that
takes jobs and never trains (a cancel ends the job as the real process does), so nothing
heavy runs and a training stays in the queue as long as the test needs it.
"""
from __future__ import annotations

import queue as queues
import re
import time
import uuid

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import classroom.queue
from classroom import feedback
from classroom.job import CANCELLED, Finished, JobState, Note, Ready
from classroom.training_process import ProcessGone
from model import config as cfg
from test_page import APP, RUN_TIMEOUT
from ui.i18n import say
from ui.instructor import instructor_gate

PASSWORD = "tulip-and-42-owls"
SERVE_CODE = "K7QF-M2XR-9HTD"      # as `python -m classroom.serve` hands it to the server
# Every key of the instructor's panel, and the key prefixes of its per-item widgets.
INSTRUCTOR_KEYS = {"instructor_panel", "publish", "publish_choice", "unpublish", "pause_training",
                   "training_budget", "queue_table", "drawings_digit", "drawings_right", "delete_drawings",
                   "export_drawings", "finetune", "show_join"}
INSTRUCTOR_PREFIXES = ("cancel_job_", "del_")
UNLOCK_SECONDS = 1.1        # a session's wait after its first wrong attempt is 1 s
SETTLE_SECONDS = 10.0       # for the queue's worker thread to take a job or a cancel


class NeverTrains:
    """Stands in for `classroom.training_process.TrainingProcess`: takes each job and never
    trains it; a cancel ends that job the way the real process answers (Finished, Ready), and
    once closed it is gone, as the real one (so the queue's worker thread ends)."""

    def __init__(self, load_data=None, record_as=None):
        self._answers: queues.Queue = queues.Queue()
        self.sent: list[str] = []
        self._cancelled: set[str] = set()
        self._closed = False

    pid = None

    def send(self, job) -> None:
        self.sent.append(job.id)

    def receive(self, timeout: float):
        if self._closed:
            raise ProcessGone(Note("job.process_stopped"))
        try:
            return self._answers.get(timeout=timeout)
        except queues.Empty:
            return None

    def cancel(self, job_id: str) -> None:
        if job_id in self.sent and job_id not in self._cancelled:
            self._cancelled.add(job_id)
            self._answers.put(Finished(job_id, JobState.CANCELLED, CANCELLED))
            self._answers.put(Ready(job_id))

    def close(self) -> None:
        self._closed = True


@pytest.fixture(autouse=True)
def server(monkeypatch):
    """A new server for each test: no password, no code from `classroom.serve`, no cached gate
    or queue, and a training process that never trains."""
    monkeypatch.delenv("DIGITS_INSTRUCTOR_PASSWORD", raising=False)
    monkeypatch.delenv("DIGITS_INSTRUCTOR_CODE", raising=False)
    monkeypatch.setattr(classroom.queue, "TrainingProcess", NeverTrains)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()   # closes the queue: its worker thread ends


@pytest.fixture
def a_drawing():
    """One drawing in the class's collection, so that the instructor's drawings view has
    its pictures, delete boxes, export and fine-tune buttons."""
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 130:150] = 255
    feedback.add(canvas, np.zeros((28, 28), np.float32), 1, 1, "the shipped model")


def session(**query_params) -> AppTest:
    """A new browser session opening the page (with these query parameters in its address)."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.query_params.update(query_params)
    at.run()
    assert not at.exception, at.exception
    # Every AppTest runs as "test session id"; a server gives each browser session its own.
    at.session_state.session_id = uuid.uuid4().hex
    return at


def keys(at: AppTest) -> set[str]:
    """The key of every element and container on the page: main area, sidebar, and the
    inside of every expander, open or not."""
    return {node.key for node in at if getattr(node, "key", None)}


def instructor_widgets(at: AppTest) -> set[str]:
    return {k for k in keys(at) if k in INSTRUCTOR_KEYS or k.startswith(INSTRUCTOR_PREFIXES)}


def instructor_expander(at: AppTest):
    [expander] = [e for e in at.sidebar.expander if e.label == "Instructor"]
    return expander


def has_panel(at: AppTest) -> bool:
    return "instructor_panel" in keys(at)


def unlock(at: AppTest, attempt: str) -> AppTest:
    """Type into the Instructor expander's form and press Unlock."""
    at.text_input(key="instructor_password").input(attempt)
    at.button(key="instructor_unlock").click().run()
    assert not at.exception, at.exception
    return at


def instructor() -> AppTest:
    at = unlock(session(), PASSWORD)
    assert has_panel(at)
    return at


def train_button(at: AppTest):
    return at.button(key="train")


def sidebar_texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at.sidebar, kind)]


def press_train(at: AppTest, **settings) -> str:
    """A student's sidebar settings, then Train; the id of the training it queued."""
    for name, value in settings.items():
        at.number_input(key=name).set_value(value)
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert not at.sidebar.error, sidebar_texts(at, "error")
    job_id = at.session_state.job_id
    assert job_id
    return job_id


def rerun_until(at: AppTest, done, timeout: float = SETTLE_SECONDS) -> AppTest:
    deadline = time.monotonic() + timeout
    while not done(at.run()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not at.exception, at.exception
    return at


def start_server_as(how: str, monkeypatch) -> str:
    """Configure the server as started `how`; the secret that unlocks it."""
    if how == "password configured":
        monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
        return PASSWORD
    if how == "python -m classroom.serve":
        monkeypatch.setenv("DIGITS_INSTRUCTOR_CODE", SERVE_CODE)
        return SERVE_CODE
    assert how == "plain streamlit run"
    return instructor_gate().code   # the one the page's gate made (and prints in the terminal)


HOW = ["plain streamlit run", "python -m classroom.serve", "password configured"]


def one_letter_off(code: str) -> str:
    return code[:-1] + ("A" if code[-1] != "A" else "B")


def the_announcement(stderr: str) -> tuple[str, str]:
    """The code and the link the server printed in its terminal."""
    found = re.search(r"Instructor code: (\S+).*?(https?://\S+/\?instructor=(\S+))", stderr, re.S)
    assert found, f"no instructor code announced on the server's stderr:\n{stderr}"
    code, link, in_link = found.groups()
    assert in_link == code
    return code, link


# -- a student's page -----------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOW)
def test_a_students_page_holds_only_the_unlock_form(how, monkeypatch, a_drawing):
    secret = start_server_as(how, monkeypatch)
    student = session()
    press_train(student, epochs=2)          # a training in the queue: the instructor would see its cancel button
    other = session()
    for at in (student, other):
        assert instructor_widgets(at) == set()
        assert {"instructor_password", "instructor_unlock"} <= keys(at)
        assert {"instructor_password", "instructor_unlock"} <= keys(instructor_expander(at))
    # What the same page holds once unlocked, on the same server: the keys checked above exist.
    teacher = unlock(session(), secret)
    assert {"instructor_panel", "pause_training", "training_budget", "export_drawings", "finetune",
            f"cancel_job_{student.session_state.job_id}"} <= instructor_widgets(teacher)


def test_plain_streamlit_run_announces_a_code_at_the_first_page_load(capsys):
    student = session()
    assert instructor_widgets(student) == set()
    code, link = the_announcement(capsys.readouterr().err)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    for attempt in ["", "admin", "password"]:
        assert not has_panel(unlock(session(), attempt))
    assert has_panel(unlock(session(), code.lower()))   # read off a screen: case does not matter


# -- unlocking ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOW)
def test_a_wrong_secret_shows_an_error_and_the_right_one_shows_the_panel(how, monkeypatch):
    right = start_server_as(how, monkeypatch)
    at = unlock(session(), PASSWORD.upper() if how == "password configured" else one_letter_off(right))
    assert any("not the instructor code or password" in e for e in sidebar_texts(at, "error")), sidebar_texts(at, "error")
    assert instructor_widgets(at) == set()
    time.sleep(UNLOCK_SECONDS)
    unlock(at, right)
    assert not at.sidebar.error, sidebar_texts(at, "error")
    assert has_panel(at)
    assert {"pause_training", "training_budget"} <= instructor_widgets(at)
    assert instructor_expander(at).proto.expanded, "the Instructor expander opens once unlocked"
    at.run()    # stays unlocked for the session
    assert has_panel(at)


@pytest.mark.parametrize("how", HOW[:2])
def test_the_terminals_link_unlocks_and_leaves_the_address_bar(how, monkeypatch):
    code = start_server_as(how, monkeypatch)
    teacher = session(instructor=code)
    assert has_panel(teacher)
    assert "instructor" not in teacher.query_params, teacher.query_params
    teacher.run()
    assert has_panel(teacher)
    assert instructor_widgets(session()) == set(), "the link unlocked its own session only"


@pytest.mark.parametrize("how", HOW[:2])
def test_a_wrong_code_in_the_link_does_not_unlock(how, monkeypatch):
    code = start_server_as(how, monkeypatch)
    at = session(instructor=one_letter_off(code))
    assert instructor_widgets(at) == set()
    assert any("not the instructor code or password" in e for e in sidebar_texts(at, "error")), sidebar_texts(at, "error")
    assert "instructor" not in at.query_params
    at.run()
    assert instructor_widgets(at) == set()


def test_with_a_password_configured_a_code_does_not_unlock(monkeypatch):
    monkeypatch.setenv("DIGITS_INSTRUCTOR_CODE", SERVE_CODE)
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    assert not has_panel(session(instructor=SERVE_CODE))
    assert has_panel(session(instructor=PASSWORD))


# -- the instructor's queue controls -------------------------------------------------------------------
def test_the_instructor_sees_another_sessions_training_and_cancels_it(monkeypatch):
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    student = session()
    job_id = press_train(student, epochs=3, batch_size=50, learning_rate=0.1)
    teacher = instructor()
    [table] = [t.value for t in teacher.get_by_key("instructor_panel").dataframe]   # the queue's table
    mine = f"student {student.session_state.session_id[:6]}"
    row = table[table["who"] == mine]
    assert len(row) == 1, table
    assert row["settings"].iloc[0] == "3 epochs, batch 50, sgd 0.1"
    cancel = teacher.button(key=f"cancel_job_{job_id}")
    assert "3 epochs, batch 50, sgd 0.1" in cancel.label
    cancel.click().run()
    assert not teacher.exception, teacher.exception
    # A running training stops at the end of its epoch (here: at the fake process's answer).
    rerun_until(teacher, lambda at: f"cancel_job_{job_id}" not in keys(at))
    assert f"cancel_job_{job_id}" not in keys(teacher)
    assert "No training is running or waiting." in [c.value for c in teacher.caption]
    # The student's page says so at its next run, and Train is there again.
    rerun_until(student, lambda at: any("Cancelled" in w for w in sidebar_texts(at, "warning")))
    assert any(w in (say(CANCELLED, "en"), "Cancelled before it started.") for w in sidebar_texts(student, "warning")), \
        sidebar_texts(student, "warning")
    assert "cancel_training" not in keys(student)
    assert not train_button(student).disabled


def test_paused_trainings_disable_a_students_train_button(monkeypatch):
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    student = session()
    assert not train_button(student).disabled
    teacher = instructor()
    teacher.toggle(key="pause_training").set_value(True).run()
    assert not teacher.exception
    student.run()
    assert train_button(student).disabled
    assert any("teacher has paused" in w for w in sidebar_texts(student, "warning")), sidebar_texts(student, "warning")
    assert not train_button(teacher).disabled, "the instructor's own trainings are not paused"
    teacher.toggle(key="pause_training").set_value(False).run()
    student.run()
    assert not train_button(student).disabled
    assert not student.sidebar.warning


def test_a_training_over_the_budget_is_refused_with_what_would_fit(monkeypatch):
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    teacher = instructor()
    teacher.number_input(key="training_budget").set_value(5).run()
    assert not teacher.exception
    student = session()
    assert not train_button(student).disabled, "the lesson fits in 5 s"
    student.number_input(key="epochs").set_value(100)
    student.number_input(key="batch_size").set_value(1).run()
    assert train_button(student).disabled
    [refusal] = sidebar_texts(student, "warning")
    assert "each student may train for 5 s" in refusal, refusal
    fits = re.search(r"would fit: (\d+) epochs? at batch size (\d+)", refusal)
    assert fits, refusal
    # Following the advice makes Train available again.
    epochs, batch = map(int, fits.groups())
    assert 1 <= epochs < 100 and batch == 1
    student.number_input(key="epochs").set_value(epochs).run()
    assert not train_button(student).disabled, sidebar_texts(student, "warning")
    assert not student.sidebar.warning
    # The instructor's own trainings are not limited.
    teacher.number_input(key="epochs").set_value(100)
    teacher.number_input(key="batch_size").set_value(1).run()
    assert not train_button(teacher).disabled


def test_a_second_instructor_page_does_not_undo_the_pause_and_the_budget(monkeypatch):
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    laptop, projector = instructor(), instructor()     # the teacher's two unlocked pages
    laptop.toggle(key="pause_training").set_value(True)
    laptop.number_input(key="training_budget").set_value(5).run()
    projector.run()                                     # e.g. a drawing on the projector's canvas
    student = session()
    assert train_button(student).disabled
    assert any("teacher has paused" in w for w in sidebar_texts(student, "warning")), sidebar_texts(student, "warning")
    assert projector.toggle(key="pause_training").value is True
    assert projector.number_input(key="training_budget").value == 5


# -- the sidebar's numbers --------------------------------------------------------------------------
def test_an_out_of_range_learning_rate_disables_train_and_names_the_bound():
    high = cfg.TrainConfig.__dataclass_fields__["learning_rate"].metadata["high"]
    student = session()
    student.number_input(key="learning_rate").set_value(5 * high).run()
    assert train_button(student).disabled
    [message] = sidebar_texts(student, "error")
    assert f"{high:g}" in message and "Train is off" in message, message
    student.number_input(key="learning_rate").set_value(100).run()
    assert not student.sidebar.error, sidebar_texts(student, "error")
    assert not train_button(student).disabled
