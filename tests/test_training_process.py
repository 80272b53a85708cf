"""The training process starts whatever the server's `__main__` is at that moment.

Under Streamlit, `__main__` is the page, replaced on every script run by another thread;
a child that imported the server's `__main__` (multiprocessing's spawn does) re-ran the
page and died when it was swapped in at the wrong moment. The process is a plain
`python -m classroom.training_process`: here `__main__` is a script that kills any
interpreter that runs it, and a job still trains."""
from __future__ import annotations

import functools
import sys
import types

import numpy as np
import pytest

from classroom.job import Finished, Job, JobState, Ready
from classroom.training_process import TrainingProcess
from model.config import TrainConfig
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
