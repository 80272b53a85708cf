"""The training queue a class shares: one job at a time, in order, in one training process
that outlives each job; places in the queue with an estimate; cancelling, whether queued or
running; jobs of closed sessions dropped; the config re-checked on the server; a diverging
training reported, never saved; a failing loader or a killed process failing only that job;
the run recorded by the training process; fine-tuning with the class's drawings.
Trainings are small slices of MNIST, a second or two each, after the process's start."""
from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from classroom import runs
from ui.i18n import say
from model.config import BEST, LESSON, ConfigError, TrainConfig, fields
from model.data import DataError, Mnist, read_npz
from classroom.queue import JobState, JobStatus, TrainingQueue
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


@dataclass(frozen=True)
class Loader:
    """The queue's data loader. It runs in the training process, so it talks to the test
    through files in `folder`: each call, once per job that really starts, writes `call-N`
    holding the process's id; with `hold`, call N then waits for `go-N` or `go-all`, which
    keeps job N in STARTING; a `fail` file makes the next call raise a DataError with its text."""
    npz: Path
    folder: Path
    hold: bool = False

    def __call__(self) -> Mnist:
        n = len(list(self.folder.glob("call-*")))
        (self.folder / f"call-{n}").write_text(str(os.getpid()))
        deadline = time.monotonic() + TIMEOUT
        while self.hold and not any((self.folder / go).exists() for go in (f"go-{n}", "go-all")):
            if time.monotonic() > deadline:
                raise DataError("the test never released the loader")
            time.sleep(0.01)
        fail = self.folder / "fail"
        if fail.exists():
            message = fail.read_text()
            fail.unlink()
            raise DataError(message)
        return read_npz(self.npz)

    # -- the test's side --
    def calls(self) -> list[int]:
        """The id of the process behind each call so far, in order."""
        return [int((self.folder / f"call-{n}").read_text() or 0)
                for n in range(len(list(self.folder.glob("call-*"))))]

    def wait_for_call(self, n: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not (self.folder / f"call-{n}").exists():
            if time.monotonic() > deadline:
                pytest.fail(f"the loader was not called a {n + 1}th time within {TIMEOUT:.0f} s")
            time.sleep(0.01)

    def release(self, n: int | None = None) -> None:
        (self.folder / ("go-all" if n is None else f"go-{n}")).touch()

    def fail_next(self, message: str) -> None:
        (self.folder / "fail").write_text(message)


@dataclass
class Harness:
    queue: TrainingQueue
    loader: Loader
    sessions: Sessions
    models: Path
    finished: list[JobStatus] = field(default_factory=list)
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
                            f"{status.state.value}, epoch {status.epoch}, {said(status.note)!r}")
            time.sleep(0.005)

    def reported(self, n: int) -> list[JobStatus]:
        """What on_finished was given, once it was given `n` jobs (it comes after the run is recorded)."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.finished) < n:
            if time.monotonic() > deadline:
                pytest.fail(f"on_finished got {len(self.finished)} jobs within {TIMEOUT:.0f} s, not {n}")
            time.sleep(0.005)
        return list(self.finished)

    def model_files(self) -> list[str]:
        """Everything in the models folder, temporary files included."""
        return sorted(p.name for p in self.models.iterdir()) if self.models.exists() else []


@pytest.fixture(scope="module")
def small_npz(mnist, tmp_path_factory) -> Path:
    """2,000 training and 500 test images of MNIST, in Keras's format."""
    path = tmp_path_factory.mktemp("mnist") / "small.npz"
    small = mnist.head(2000, 500)
    np.savez(path, x_train=small.x_train, y_train=small.y_train, x_test=small.x_test, y_test=small.y_test)
    return path


@pytest.fixture
def harness_for(small_npz, tmp_path):
    """harness_for(hold=False, record_as=None) -> a queue training on 2,000 MNIST images,
    saving into tmp_path; its training process is stopped after the test."""
    made: list[Harness] = []

    def make(hold: bool = False, record_as: str | None = None) -> Harness:
        models, talk = tmp_path / f"models-{len(made)}", tmp_path / f"loader-{len(made)}"
        talk.mkdir()
        counter = itertools.count()
        loader, sessions = Loader(small_npz, talk, hold), Sessions()
        finished: list = []
        queue = TrainingQueue(loader, lambda: models / f"job-{next(counter)}.keras",
                              on_finished=finished.append, is_alive=sessions, record_as=record_as)
        queue.set_budget(1e9)  # the budget is tested on its own (test_queue_controls.py)
        made.append(Harness(queue, loader, sessions, models, finished))
        return made[-1]

    yield make
    for h in made:  # leave no training and no process running into the next test
        h.loader.release()
        for job_id in h.ids:
            h.queue.cancel(job_id)
        for job_id in h.ids:
            h.wait(job_id, what="stop after the test")
        h.queue.close()
        assert h.queue.trainer_pid is None


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
    h.loader.release()
    assert [h.wait(j).state for j in h.ids] == [JobState.DONE] * 3
    assert h.queue.status(third).position == 0
    h.reported(3)
    assert h.queue.queue_length() == 0


def test_jobs_run_one_at_a_time_in_submission_order_in_one_process(harness_for):
    h = harness_for(hold=True)
    for owner in ("alice", "bob", "carol"):
        h.submit(owner=owner)
    for k in range(3):  # every job's state at the moment job k starts loading its data
        h.loader.wait_for_call(k)
        states = [h.queue.status(j).state for j in h.ids]
        assert states[:k] == [JobState.DONE] * k, "an earlier job had not finished"
        assert states[k] == JobState.STARTING
        assert states[k + 1:] == [JobState.QUEUED] * (2 - k), "a later job had started"
        h.loader.release(k)
    assert [h.wait(j).state for j in h.ids] == [JobState.DONE] * 3
    assert [status.id for status in h.reported(3)] == h.ids
    [trainer] = set(h.loader.calls())  # one process, so TensorFlow was imported once
    assert trainer == h.queue.trainer_pid and trainer != os.getpid()


def test_cancelling_a_queued_job_ends_it_at_once_and_it_never_runs(harness_for):
    h = harness_for(hold=True)
    first = h.submit()
    h.wait(first, starting, "start")
    queued = h.submit(owner="bob")
    assert h.queue.cancel(queued)
    status = h.queue.status(queued)
    assert status.state == JobState.CANCELLED and status.position == 0 and "before it started" in said(status.note)
    assert not h.queue.cancel(queued)  # already over
    h.loader.release()
    assert h.wait(first).state == JobState.DONE
    assert [s.id for s in h.reported(1)] == [first] and len(h.loader.calls()) == 1
    assert h.queue.status(queued).epoch == 0 and len(h.model_files()) == 1


def test_cancelling_a_running_job_stops_it_without_a_model(harness_for):
    h = harness_for()
    job = h.submit(LONG)
    h.wait(job, training_for_an_epoch, "train an epoch")
    assert h.queue.cancel(job)
    status = h.wait(job, timeout=30)
    assert status.state == JobState.CANCELLED and "Cancelled" in said(status.note)
    assert 1 <= status.epoch < LONG.epochs
    assert status.model_path is None and h.model_files() == [] and h.finished == []


def test_cancelling_a_starting_job_stops_it_before_it_fits(harness_for):
    h = harness_for(hold=True)
    job = h.submit()
    h.loader.wait_for_call(0)           # the training process is loading the data
    assert h.queue.cancel(job)
    h.loader.release()
    status = h.wait(job)
    assert status.state == JobState.CANCELLED and status.epoch == 0 and status.history == {}
    assert h.model_files() == [] and h.finished == []


def test_a_cancelled_job_that_does_not_stop_has_its_process_stopped(harness_for, monkeypatch):
    """A job stuck before its first epoch (here: its data never comes) cannot see the cancel
    event: after a grace period its process is stopped, and the next job starts another."""
    import classroom.queue
    monkeypatch.setattr(classroom.queue, "CANCEL_GRACE_SECONDS", 1.0)
    h = harness_for(hold=True)
    stuck = h.submit()
    h.loader.wait_for_call(0)
    held = h.queue.trainer_pid
    assert h.queue.cancel(stuck)
    status = h.wait(stuck, timeout=30)
    assert status.state == JobState.CANCELLED and status.epoch == 0 and h.finished == []
    h.loader.release()
    assert h.wait(h.submit()).state == JobState.DONE
    assert h.loader.calls() == [held, h.queue.trainer_pid] and h.queue.trainer_pid != held


def test_closing_the_queue_cancels_waiting_jobs_and_stops_the_process(harness_for):
    h = harness_for(hold=True)
    running, waiting = h.submit(), h.submit(owner="bob")
    h.loader.wait_for_call(0)
    trainer = h.queue.trainer_pid
    h.queue.close()
    assert h.wait(waiting).state == JobState.CANCELLED and "stopping" in said(h.queue.status(waiting).note)
    assert h.wait(running, timeout=30).state == JobState.CANCELLED
    assert h.queue.trainer_pid is None and not os.path.exists(f"/proc/{trainer}/status")
    with pytest.raises(RuntimeError, match="closed"):
        h.queue.submit(QUICK, "alice")


def test_a_closed_sessions_queued_job_is_dropped_before_it_starts(harness_for):
    h = harness_for(hold=True)
    first = h.submit(owner="alice")
    h.wait(first, starting, "start")
    orphan = h.submit(owner="bob")
    h.sessions.closed.add("bob")  # bob closed the tab while waiting
    h.loader.release()
    assert h.wait(first).state == JobState.DONE
    status = h.wait(orphan)
    assert status.state == JobState.CANCELLED and "closed" in said(status.note)
    assert len(h.loader.calls()) == 1 and len(h.model_files()) == 1


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
    assert h.queue.queue_length() == 0 and h.loader.calls() == [] and h.queue.trainer_pid is None


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
    assert "diverged" in said(status.note) and f"{config.learning_rate:g}" in said(status.note)
    assert status.model_path is None and h.model_files() == [] and h.finished == []


def test_a_done_job_is_saved_and_handed_to_on_finished(harness_for):
    h = harness_for()
    config = QUICK.replace(epochs=3)
    status = h.wait(h.submit(config))
    assert status.state == JobState.DONE and status.epoch == config.epochs and status.fraction == 1.0
    assert len(status.history["loss"]) == config.epochs == len(status.history["val_accuracy"])
    assert h.reported(1) == [status]
    assert status.model_path.is_file() and h.model_files() == [status.model_path.name]
    saved = load_recognizer(status.model_path)
    assert saved.config == config
    assert status.scores["test_accuracy"] == saved.metadata["test_accuracy"] > 0.5
    assert f"{status.scores['test_accuracy']:.2%}" in said(status.note)
    assert saved.metadata["history"] == status.history   # the live curves are the saved ones


def test_a_failing_data_loader_fails_that_job_only(harness_for):
    h = harness_for()
    h.loader.fail_next("MNIST is not on this machine.")
    failed = h.wait(h.submit())
    assert failed.state == JobState.FAILED and "MNIST is not on this machine" in said(failed.note)
    assert h.wait(h.submit()).state == JobState.DONE  # the worker is still alive...
    first, second = h.loader.calls()
    assert first == second == h.queue.trainer_pid    # ...and so is the training process


def test_a_killed_training_process_fails_that_job_and_the_next_starts_a_new_one(harness_for):
    h = harness_for()
    job = h.submit(LONG)
    h.wait(job, training_for_an_epoch, "train an epoch")
    killed = h.queue.trainer_pid
    os.kill(killed, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    status = h.wait(job, timeout=30)
    assert status.state == JobState.FAILED
    assert "training process stopped unexpectedly" in said(status.note) and "SIGKILL" in said(status.note)
    assert status.model_path is None and h.model_files() == [] and h.finished == []
    assert h.wait(h.submit()).state == JobState.DONE
    assert h.loader.calls()[-1] == h.queue.trainer_pid != killed


def test_the_training_process_records_the_run_scored_on_drawings(harness_for, draw, tmp_path, monkeypatch):
    """The run goes into the runs database, with its score on the configured drawings,
    before on_finished is told: the server's process does none of that work."""
    digits = [0, 1, 4, 7]
    drawn = tmp_path / "drawn.npz"
    np.savez(drawn, images=np.stack([draw(d) for d in digits]), labels=np.array(digits, np.uint8))
    monkeypatch.setenv("DIGITS_DRAWN_PATH", str(drawn))  # the training process inherits it
    h = harness_for(record_as="page")
    status = h.wait(h.submit())
    assert status.state == JobState.DONE
    assert h.reported(1) == [status]
    [run] = runs.list_runs()
    assert (run.source, run.model_path, run.config) == ("page", str(status.model_path), QUICK)
    assert run.test_accuracy == status.scores["test_accuracy"]
    assert run.drawn_accuracy in {k / len(digits) for k in range(len(digits) + 1)}


def test_fine_tuning_on_drawings_learns_them(harness_for, draw):
    digits = [0, 1, 4, 7]
    drawings = ([draw(d) for d in digits], np.array(digits, np.uint8))
    h = harness_for()
    status = h.wait(h.submit(QUICK.replace(epochs=5), drawings=drawings))
    assert status.state == JobState.DONE
    recognizer = load_recognizer(status.model_path)
    assert [recognizer.predict(canvas).digit for canvas in drawings[0]] == digits


def said(note) -> str:
    """What the page shows a student for this note, in English."""
    return say(note, "en")
