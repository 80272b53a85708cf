"""The training settings (ui/settings.py) in AppTest: the Model choice first, each model's size
shown only with it, a CNN trained as chosen, the budget said for a CNN, the next lesson's
presets, and the instructor's queue naming a job's model.

The training process is replaced at the library boundary by one that takes jobs and never
trains (tests/test_instructor_page.py's), here also keeping each job it was sent, so what a
Train press asks for is what the process would have trained.
"""
from __future__ import annotations

import time

import pytest
import streamlit as st

import classroom.queue
from model import config as cfg
from test_instructor_page import PASSWORD, SETTLE_SECONDS, NeverTrains, instructor, session, sidebar_texts

SENT: list = []                 # every job the stand-in process was sent, in order


class KeepsJobs(NeverTrains):
    def send(self, job) -> None:
        SENT.append(job)
        super().send(job)


@pytest.fixture(autouse=True)
def server(monkeypatch):
    """A new server for each test, with a training process that keeps its jobs and never trains."""
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    monkeypatch.delenv("DIGITS_INSTRUCTOR_CODE", raising=False)
    monkeypatch.setattr(classroom.queue, "TrainingProcess", KeepsJobs)
    SENT.clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def setting_keys(at) -> list[str]:
    """The sidebar's training settings, in the order they are drawn."""
    names = {f.name for f in cfg.fields()}
    return [e.key for e in at.sidebar if getattr(e, "key", None) in names]


def labels(at) -> set[str]:
    return {e.label for e in at.sidebar if getattr(e, "label", None)}


def test_the_model_comes_first_and_each_size_only_with_its_model():
    at = session()
    assert setting_keys(at)[0] == "architecture"
    assert at.selectbox(key="architecture").options == ["softmax (the lesson)", "hidden layer", "CNN"]
    assert {"Hidden units", "Filters"}.isdisjoint(labels(at))

    at.selectbox(key="architecture").set_value("cnn").run()
    assert not at.exception
    assert setting_keys(at)[:2] == ["architecture", "filters"] and "hidden_units" not in setting_keys(at)
    assert "Filters" in labels(at) and "Hidden units" not in labels(at)
    assert at.number_input(key="filters").value == 32

    at.selectbox(key="architecture").set_value("mlp").run()
    assert setting_keys(at)[:2] == ["architecture", "hidden_units"] and "filters" not in setting_keys(at)
    assert "Hidden units" in labels(at) and "Filters" not in labels(at)
    assert at.number_input(key="hidden_units").value == 128


def test_train_sends_the_chosen_cnn_and_hidden_sizes_keep_their_defaults():
    at = session()
    at.selectbox(key="architecture").set_value("mlp").run()
    at.number_input(key="hidden_units").set_value(300).run()        # then a CNN instead
    at.selectbox(key="architecture").set_value("cnn").run()
    at.number_input(key="filters").set_value(16)
    at.number_input(key="epochs").set_value(2)
    at.button(key="train").click().run()
    assert not at.exception and not at.sidebar.error, sidebar_texts(at, "error")
    assert at.session_state.job_id
    deadline = time.monotonic() + SETTLE_SECONDS
    while not SENT and time.monotonic() < deadline:     # the queue's worker hands it to the process
        time.sleep(0.05)
    [job] = SENT
    assert job.config == cfg.TrainConfig(architecture="cnn", filters=16, epochs=2)


def test_a_cnn_over_the_budget_says_what_would_fit_and_cannot_be_trained():
    at = session()
    at.selectbox(key="architecture").set_value("cnn").run()
    at.number_input(key="epochs").set_value(20).run()
    [warning] = sidebar_texts(at, "warning")
    assert "each student may train for 60 s" in warning
    assert "filters or fewer" in warning and "epochs at batch size 100" in warning
    assert at.button(key="train").disabled
    at.number_input(key="epochs").set_value(2).run()
    assert not sidebar_texts(at, "warning") and not at.button(key="train").disabled


@pytest.mark.parametrize("preset, architecture", [("next lesson: hidden layer", "mlp"), ("next lesson: CNN", "cnn")])
def test_a_next_lesson_preset_chooses_its_model_and_fits_a_students_budget(preset, architecture):
    at = session()
    at.radio(key="preset").set_value(preset).run()
    assert not at.exception
    assert at.selectbox(key="architecture").value == architecture
    assert not sidebar_texts(at, "warning") and not at.button(key="train").disabled


def test_the_instructors_queue_names_each_jobs_model():
    teacher = instructor()
    student = session()
    student.selectbox(key="architecture").set_value("cnn").run()
    student.number_input(key="filters").set_value(16).run()
    student.button(key="train").click().run()        # it never ends: the stand-in never trains
    assert student.session_state.job_id
    teacher.run()
    cancels = [b.label for b in teacher.sidebar.button if (b.key or "").startswith("cancel_job_")]
    assert cancels and all("CNN with 16 filters" in label for label in cancels), cancels
