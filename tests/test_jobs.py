"""The training queue a class shares: one job at a time, in order; places in the queue with
an estimate; cancelling, whether queued or running; jobs of closed sessions dropped; the
config re-checked on the server; a diverging training reported, never saved; fine-tuning
with the class's drawings. Trainings are small slices of MNIST, a second or two each."""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from model.config import BEST, LESSON, ConfigError, TrainConfig, fields
from model.data import DataError
from model.jobs import JobState, JobStatus, TrainingQueue
from model.recognizer import load_recognizer

QUICK = TrainConfig(epochs=2, learning_rate=BEST.learning_rate)
# Many small steps: seconds for the whole training, a fraction of a second per epoch, so the
# test sees it running and can stop it long before it would end.
LONG = TrainConfig(epochs=100, batch_size=1, learning_rate=0.05)
TIMEOUT = 120.0  # for anything that trains: generous, two shared cores and TensorFlow's first start


class Sessions:
    """The page's `is_alive(owner)`: every session is open until closed."""

    def __init__(self):
        self.closed: set[str] = set()

    def __call__(self, owner: str) -> bool:
        return owner not in self.closed


class Loader:
    """The queue's data loader, called once for each job that really starts. It can hold
    that job in STARTING until released, and can look at the queue when it is called."""

    def __init__(self, data, hold: bool = False):
        self.data = data
        self.calls = 0
        self.released = threading.Event()
        self.look: Callable[[], None] | None = None
        self.error: Exception | None = None
        if not hold:
            self.released.set()

    def __call__(self):
        self.calls += 1
        if not self.released.wait(TIMEOUT):
            raise DataError("the test never released the loader")
        if self.look is not None:
            self.look()
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.data


@dataclass
class Harness:
    queue: TrainingQueue
    loader: Loader
    sessions: Sessions
    models: Path
    finished: list[tuple[JobStatus, object]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def submit(self, config=QUICK, owner="alice", drawings=None) -> str:
        job_id = self.queue.submit(config, owner, drawings=drawings)
        self.ids.append(job_id)
        return job_id

    def wait(self, job_id: str, until: Callable[[JobStatus], bool] = lambda s: s.state.finished,
             what: str = "finish", timeout: float = TIMEOUT) -> JobStatus:
        deadline = time.monotonic() + timeout
        while True:
            status = self.queue.status(job_id)
            if until(status):
                return status
            if time.monotonic() > deadline:
                pytest.fail(f"job {job_id} did not {what} within {timeout:.0f} s; last seen: "
                            f"{status.state.value}, epoch {status.epoch}, {status.message!r}")
            time.sleep(0.005)

    def model_files(self) -> list[str]:
        """Everything in the models folder, temporary files included."""
        return sorted(p.name for p in self.models.iterdir()) if self.models.exists() else []


@pytest.fixture
def harness_for(mnist, tmp_path):
    """harness_for(hold=False) -> a queue training on 2,000 MNIST images, saving into tmp_path."""
    made: list[Harness] = []

    def make(hold: bool = False) -> Harness:
        models = tmp_path / f"models-{len(made)}"
        counter = itertools.count()
        loader, sessions = Loader(mnist.head(2000, 500), hold), Sessions()
        finished: list = []
        queue = TrainingQueue(loader, lambda: models / f"job-{next(counter)}.keras",
                              on_finished=lambda status, result: finished.append((status, result)),
                              is_alive=sessions)
        made.append(Harness(queue, loader, sessions, models, finished))
        return made[-1]

    yield make
    for h in made:  # leave no training running into the next test
        h.loader.released.set()
        for job_id in h.ids:
            h.queue.cancel(job_id)
        for job_id in h.ids:
            h.wait(job_id, what="stop after the test")


def starting(status: JobStatus) -> bool:
    return status.state == JobState.STARTING


def training_for_an_epoch(status: JobStatus) -> bool:
    return status.state == JobState.TRAINING and status.epoch >= 1


def test_queued_jobs_report_their_place_and_an_eta(harness_for):
    h = harness_for(hold=True)
    first = h.submit()
    h.wait(first, starting, "start")
    second, third = h.submit(), h.submit(QUICK.replace(epochs=4))
    running, s2, s3 = (h.queue.status(j) for j in (first, second, third))
    assert running.position == 0 and running.eta_seconds > 0
    assert (s2.state, s2.position) == (JobState.QUEUED, 1)
    assert (s3.state, s3.position) == (JobState.QUEUED, 2)
    assert running.eta_seconds < s2.eta_seconds < s3.eta_seconds
    assert h.queue.queue_length() == 3
    h.loader.released.set()
    assert [h.wait(j).state for j in h.ids] == [JobState.DONE] * 3
    assert h.queue.status(third).position == 0 and h.queue.queue_length() == 0


def test_jobs_run_one_at_a_time_in_submission_order(harness_for):
    h = harness_for(hold=True)
    seen: list[list[JobState]] = []  # every job's state at the moment each job starts
    h.loader.look = lambda: seen.append([h.queue.status(j).state for j in h.ids])
    for owner in ("alice", "bob", "carol"):
        h.submit(owner=owner)
    h.loader.released.set()
    assert [h.wait(j).state for j in h.ids] == [JobState.DONE] * 3
    assert len(seen) == 3
    for k, states in enumerate(seen):
        assert states[:k] == [JobState.DONE] * k, "an earlier job had not finished"
        assert states[k] == JobState.STARTING
        assert states[k + 1:] == [JobState.QUEUED] * (2 - k), "a later job had started"
    assert [status.id for status, _ in h.finished] == h.ids


def test_cancelling_a_queued_job_ends_it_at_once_and_it_never_runs(harness_for):
    h = harness_for(hold=True)
    first = h.submit()
    h.wait(first, starting, "start")
    queued = h.submit(owner="bob")
    assert h.queue.cancel(queued)
    status = h.queue.status(queued)
    assert status.state == JobState.CANCELLED and status.position == 0 and "before it started" in status.message
    assert not h.queue.cancel(queued)  # already over
    h.loader.released.set()
    assert h.wait(first).state == JobState.DONE
    assert h.loader.calls == 1 and [s.id for s, _ in h.finished] == [first]
    assert h.queue.status(queued).epoch == 0 and len(h.model_files()) == 1


def test_cancelling_a_running_job_stops_it_without_a_model(harness_for):
    h = harness_for()
    job = h.submit(LONG)
    h.wait(job, training_for_an_epoch, "train an epoch")
    assert h.queue.cancel(job)
    status = h.wait(job, timeout=30)
    assert status.state == JobState.CANCELLED and "Cancelled" in status.message
    assert 1 <= status.epoch < LONG.epochs
    assert status.model_path is None and h.model_files() == [] and h.finished == []


def test_a_closed_sessions_queued_job_is_dropped_before_it_starts(harness_for):
    h = harness_for(hold=True)
    first = h.submit(owner="alice")
    h.wait(first, starting, "start")
    orphan = h.submit(owner="bob")
    h.sessions.closed.add("bob")  # bob closed the tab while waiting
    h.loader.released.set()
    assert h.wait(first).state == JobState.DONE
    status = h.wait(orphan)
    assert status.state == JobState.CANCELLED and "closed" in status.message
    assert h.loader.calls == 1 and len(h.model_files()) == 1


def test_a_closed_sessions_running_job_stops(harness_for):
    h = harness_for()
    job = h.submit(LONG, owner="carol")
    h.wait(job, training_for_an_epoch, "train an epoch")
    h.sessions.closed.add("carol")
    status = h.wait(job, timeout=30)
    assert status.state == JobState.CANCELLED
    assert 1 <= status.epoch < LONG.epochs
    assert h.model_files() == [] and h.finished == []


def _out_of_bounds():
    """For every bounded setting, a value just outside each end, from the config's own bounds."""
    cases = [("epochs", 0), ("batch_size", 10**9), ("optimizer", "rmsprop"), ("epochs", 2.5), ("deskew", "yes")]
    for f in fields():
        low, high = f.metadata["low"], f.metadata["high"]
        if low is None:
            continue
        step = 1 if f.type in ("int", int) else max(abs(low), abs(high)) / 10
        cases += [(f.name, low - step), (f.name, high + step)]
    return cases


@pytest.mark.parametrize("name,value", _out_of_bounds(), ids=lambda v: str(v))
def test_the_queue_refuses_a_config_out_of_bounds(harness_for, name, value):
    h = harness_for()
    with pytest.raises(ConfigError, match=name):
        h.queue.submit({**LESSON.to_dict(), name: value}, "mallory")
    assert h.queue.queue_length() == 0 and h.loader.calls == 0


def test_the_queue_rechecks_a_config_object_tampered_with(harness_for):
    forged = LESSON.replace()
    object.__setattr__(forged, "epochs", 10**6)  # past the frozen dataclass's check
    h = harness_for()
    with pytest.raises(ConfigError, match="epochs"):
        h.queue.submit(forged, "mallory")
    assert h.queue.queue_length() == 0


def _high(name):
    return next(f for f in fields() if f.name == name).metadata["high"]


def test_a_diverging_training_ends_diverged_with_no_model(harness_for):
    """The largest rate with the largest L2 penalty overflows the weights (see test_training)."""
    h = harness_for()
    config = QUICK.replace(learning_rate=_high("learning_rate"), l2=_high("l2"))
    status = h.wait(h.submit(config))
    assert status.state == JobState.DIVERGED
    assert "diverged" in status.message and f"{config.learning_rate:g}" in status.message
    assert status.model_path is None and h.model_files() == [] and h.finished == []


def test_a_done_job_is_saved_and_handed_to_on_finished(harness_for):
    h = harness_for()
    config = QUICK.replace(epochs=3)
    status = h.wait(h.submit(config))
    assert status.state == JobState.DONE and status.epoch == config.epochs and status.fraction == 1.0
    assert len(status.history["loss"]) == config.epochs == len(status.history["val_accuracy"])
    [(reported, result)] = h.finished
    assert reported == status
    assert status.model_path.is_file() and h.model_files() == [status.model_path.name]
    assert status.scores["test_accuracy"] == result.test_accuracy > 0.5
    assert f"{result.test_accuracy:.2%}" in status.message
    assert load_recognizer(status.model_path).config == config


def test_a_failing_data_loader_fails_that_job_only(harness_for):
    h = harness_for()
    h.loader.error = DataError("MNIST is not on this machine.")
    failed = h.wait(h.submit())
    assert failed.state == JobState.FAILED and "MNIST is not on this machine" in failed.message
    assert h.wait(h.submit()).state == JobState.DONE  # the worker is still alive


def test_fine_tuning_on_drawings_learns_them(harness_for, draw):
    digits = [0, 1, 4, 7]
    drawings = ([draw(d) for d in digits], np.array(digits, np.uint8))
    h = harness_for()
    status = h.wait(h.submit(QUICK.replace(epochs=5), drawings=drawings))
    assert status.state == JobState.DONE
    recognizer = load_recognizer(status.model_path)
    assert [recognizer.predict(canvas).digit for canvas in drawings[0]] == digits
