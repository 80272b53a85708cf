"""The training process starts whatever the server's `__main__` is at that moment.

Under Streamlit, `__main__` is the page, replaced on every script run by another thread;
a child that imported the server's `__main__` (multiprocessing's spawn does) re-ran the
page and died when it was swapped in at the wrong moment. The process is a plain
`python -m classroom.training_process`: here `__main__` is a script that kills any
interpreter that runs it, and a job still trains."""
from __future__ import annotations

import functools
import json
import sys
import types
import zipfile

import numpy as np
import pytest

from classroom.job import Epoch, Finished, Job, JobState, Ready
from classroom.training_process import TrainingProcess
from model.config import TrainConfig
from model import store
from model.data import read_npz


@pytest.fixture
def small_npz(mnist, tmp_path):
    path = tmp_path / "small.npz"
    small = mnist.head(1000, 200)
    np.savez(path, x_train=small.x_train, y_train=small.y_train, x_test=small.x_test, y_test=small.y_test)
    return path


@pytest.fixture
def hostile_main(tmp_path, monkeypatch):
    """A `__main__` like Streamlit's page module: a file that must never run outside the server."""
    page = tmp_path / "page.py"
    page.write_text("import os\nos._exit(3)  # run outside the server: the child dies here\n")
    main = Swapped("__main__")
    main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", main)
    return page


class Swapped(types.ModuleType):
    """A `__main__` that Streamlit swaps for a fresh one right after anyone patches it: whatever
    is set on its `__spec__` is gone by the time a child process is started."""

    @property
    def __spec__(self):
        return None

    @__spec__.setter
    def __spec__(self, value):
        pass


def test_a_job_trains_whatever_the_servers_main_module_is(hostile_main, small_npz, tmp_path):
    process = TrainingProcess(functools.partial(read_npz, small_npz))
    try:
        out = tmp_path / "model.keras"
        process.send(Job("job-1", TrainConfig(epochs=1, learning_rate=0.5), out))
        messages = []
        while not messages or not isinstance(messages[-1], Ready):
            message = process.receive(timeout=120)
            assert message is not None, f"no answer from the training process; got {messages}"
            messages.append(message)
        [finished] = [m for m in messages if isinstance(m, Finished)]
        assert finished.state is JobState.DONE          # the enum itself crosses the process boundary
        assert out.is_file()
    finally:
        process.close()
    assert process.pid is None


def run_job(process: TrainingProcess, job: Job) -> list:
    """Every message about `job`, up to the process's Ready."""
    process.send(job)
    messages = []
    while not messages or not isinstance(messages[-1], Ready):
        message = process.receive(timeout=120)
        assert message is not None, f"no answer from the training process; got {messages}"
        messages.append(message)
    return messages


def test_the_next_lessons_models_train_in_the_process_and_their_files_say_which(small_npz, tmp_path):
    """A hidden layer and a CNN, one after the other in one process, each epoch reported."""
    process = TrainingProcess(functools.partial(read_npz, small_npz))
    configs = {"mlp": TrainConfig(architecture="mlp", hidden_units=32, epochs=2, optimizer="adam",
                                  learning_rate=0.003),
               "cnn": TrainConfig(architecture="cnn", filters=4, epochs=1, optimizer="adam", learning_rate=0.003)}
    try:
        for name, config in configs.items():
            out = tmp_path / f"{name}.keras"
            messages = run_job(process, Job(f"job-{name}", config, out))
            [finished] = [m for m in messages if isinstance(m, Finished)]
            assert finished.state is JobState.DONE, finished.note
            assert [m.epoch for m in messages if isinstance(m, Epoch)] == list(range(1, config.epochs + 1))
            with zipfile.ZipFile(out) as archive:
                assert TrainConfig.from_dict(json.loads(archive.read(store.METADATA))["config"]) == config
    finally:
        process.close()
