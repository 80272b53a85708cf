"""The training process: where TensorFlow runs, so that the server never imports it.

The server's queue (`model.jobs`) owns one `Trainer`: a child process started with
multiprocessing's "spawn" on the first job and kept for the next ones, so TensorFlow is
imported once. Jobs go one at a time through a pipe; for each, the process

1. loads MNIST itself (`load_mnist`'s usual places: $MNIST_PATH, Keras's cache, ...),
2. prepares the pixels through the job's pipeline, cached (`PreparedCache`),
3. fits with a Keras callback that sends every epoch's scores back and stops at the end of
   an epoch once the server sets the cancel event,
4. saves the model (`store.save`, atomic), answers `Finished`, then records the run in the
   runs database (scoring the drawings there, not in the server) and answers `Ready`.

It runs at a lower CPU priority than the server: students' guesses come before training.
No Streamlit here, and no TensorFlow at import time.
"""
from __future__ import annotations

import contextlib
import importlib.machinery
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import TrainConfig
from .data import DataError, Mnist, load_mnist
from .prepared import PreparedCache
from .preprocess import Pipeline

NICE = 10                   # added to the training process's niceness: the server's threads come first
CANCELLED = "Cancelled; the model in use did not change."


# -- messages ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """The server -> the process: train this, save it there."""
    id: str
    config: TrainConfig
    model_path: Path
    drawings: Any = None            # (canvases, labels) to learn from as well, or None


@dataclass(frozen=True)
class Progress:
    """Still getting ready: what the process is doing."""
    job_id: str
    message: str


@dataclass(frozen=True)
class Began:
    """Data and TensorFlow are ready; the first epoch starts."""
    job_id: str


@dataclass(frozen=True)
class Epoch:
    job_id: str
    epoch: int                      # epochs finished
    logs: dict[str, float]
    seconds: float                  # this epoch's wall time


@dataclass(frozen=True)
class Finished:
    job_id: str
    state: str                      # a model.jobs.JobState value: done, diverged, failed, cancelled
    message: str
    model_path: Path | None = None
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Ready:
    """The job is over (its run recorded): the process waits for the next one."""
    job_id: str


class TrainerGone(Exception):
    """The training process stopped while the server waited for it; the message says how."""


# -- the server's side -----------------------------------------------------------------------
class Trainer:
    """The server's handle on the training process: started on the first `send`, started
    again on the next one after it died. Only one thread sends and receives; `cancel` and
    `close` may come from any thread."""

    def __init__(self, load_data: Callable[[], Mnist] = load_mnist, record_as: str | None = None):
        """`load_data` runs in the process, so it must be picklable: a function of an importable
        module (not `__main__`), or a functools.partial of one; `record_as` is the runs database's source for each
        saved model ("page"), or None not to record."""
        self._load_data = load_data
        self._record_as = record_as
        self._process = None
        self._conn = None
        self._cancel = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def send(self, job: Job) -> None:
        if self.pid is None:
            self._start()
        self._cancel.clear()        # the process is idle: no job of its own can be cancelled now
        try:
            self._connection().send(job)
        except OSError:
            raise TrainerGone(self._gone()) from None

    def receive(self, timeout: float):
        """The process's next message, or None if there is none within `timeout` seconds."""
        conn = self._connection()
        try:
            return conn.recv() if conn.poll(timeout) else None
        except (EOFError, OSError):
            raise TrainerGone(self._gone()) from None

    def _connection(self):
        conn = self._conn
        if conn is None:
            raise TrainerGone("The training process was stopped; the model in use did not change.")
        return conn

    def cancel(self) -> None:
        """The job being trained stops at the end of its current epoch."""
        if self._cancel is not None:
            self._cancel.set()

    def close(self) -> None:
        """Stop the process (an idle one exits as its pipe closes; a busy one is terminated)."""
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if conn is not None:
            conn.close()
        if process is not None:
            process.join(2.0)
            if process.is_alive():
                process.terminate()
                process.join(5.0)
            if process.is_alive():
                process.kill()
                process.join()

    def _start(self) -> None:
        self.close()
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no server state, no forked threads
        here, there = spawn.Pipe()
        cancel = spawn.Event()
        process = spawn.Process(target=serve, args=(there, cancel, self._load_data, self._record_as),
                                name="digits-training", daemon=True)
        try:
            with _main_not_imported():
                process.start()
        finally:
            there.close()           # the process has its own copy: the pipe ends when the process does
        self._process, self._conn, self._cancel = process, here, cancel

    def _gone(self) -> str:
        process = self._process
        code = None
        if process is not None:
            process.join(2.0)
            code = process.exitcode
        self.close()
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit code {code}" if code is not None else "it no longer answers"
        return (f"The training process stopped unexpectedly ({how}); the model in use did not change. "
                "Train again to start a new one.")


@contextlib.contextmanager
def _main_not_imported():
    """While a process is spawned, the `__main__` module names itself `__main__`, which spawn
    does not import again in the child. Under Streamlit, `__main__` is the page (each script
    run installs it with the page's file), and importing it outside a server fails (the
    canvas component refuses); the training process needs nothing from it, as its code and
    its `load_data` live in importable modules."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    spec = main.__dict__.get("__spec__")
    main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = spec


# -- the process's side ------------------------------------------------------------------------
def serve(conn, cancel, load_data: Callable[[], Mnist], record_as: str | None) -> None:
    """The training process's loop: one job at a time, until the server closes the pipe."""
    os.nice(NICE)
    from .store import data_dir
    cache = PreparedCache(data_dir() / "prepared")

    def send(message) -> None:
        try:
            conn.send(message)
        except OSError:
            raise ServerGone from None

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return                  # the server closed the pipe, or has gone
        try:
            result = train(job, send, cancel, load_data, cache)
            if result is not None and record_as:
                record(result, record_as, job.model_path)
            send(Ready(job.id))
        except ServerGone:
            return
        except Exception as e:      # reported; the process stays for the next job
            try:
                send(Finished(job.id, "failed", f"Training failed: {e}"))
                send(Ready(job.id))
            except ServerGone:
                return


class ServerGone(Exception):
    """The server's end of the pipe is closed: nobody is waiting for this process."""


def train(job: Job, send: Callable[[Any], None], cancel, load_data: Callable[[], Mnist],
          cache: PreparedCache):
    """One job, reported through `send`; returns the TrainResult if the model was saved."""
    try:
        data = load_data()
    except DataError as e:
        send(Finished(job.id, "failed", str(e)))
        return None
    import keras  # TensorFlow loads here, once per process

    from . import store, training

    pipeline = Pipeline.from_config(job.config)
    prepared = cache.get(data, pipeline, lambda: send(Progress(
        job.id, f"Preparing {len(data.x_train) + len(data.x_test):,} images for this preprocessing "
                "(once; kept for the next trainings)…")))
    if cancel.is_set():
        send(Finished(job.id, "cancelled", CANCELLED))
        return None

    class Report(keras.callbacks.Callback):
        """Every epoch's scores to the server; stops after the epoch once it is cancelled."""

        def on_train_begin(self, logs=None):
            send(Began(job.id))
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            send(Epoch(job.id, epoch + 1, {k: float(v) for k, v in (logs or {}).items()}, now - self.started))
            self.started = now
            if cancel.is_set():
                self.model.stop_training = True

    result = training.fit(job.config, data, callbacks=[Report()], drawings=job.drawings, prepared=prepared)
    if cancel.is_set():
        send(Finished(job.id, "cancelled", CANCELLED))
        return None
    if result.diverged:
        c = job.config
        send(Finished(job.id, "diverged", (
            f"Training diverged: the loss became NaN with learning rate {c.learning_rate:g} "
            f"({c.optimizer}). Try a smaller learning rate; the previous model stays in use.")))
        return None
    path = store.save(result, job.model_path)
    send(Finished(job.id, "done", f"Test accuracy {result.test_accuracy:.2%} in {result.fit_seconds:.1f} s.",
                  path, result.scores()))
    return result


def record(result, source: str, model_path: Path) -> None:
    """Into the runs database, scored on the drawings (`runs.record_training`)."""
    from . import runs
    try:
        runs.record_training(result, source, model_path)
    except Exception:  # a RunsError, or drawings that cannot be scored
        pass  # the model is saved and in use; only the comparison table misses this run
