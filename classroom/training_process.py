"""The training process: where TensorFlow runs, so that the server never imports it.

The server's queue (`classroom.queue`) owns one `TrainingProcess`: a child started with the
first job and kept for the next ones, so TensorFlow is imported once. It is a plain
`python -m classroom.training_process` started with `subprocess`, talking over a socket
pair with pickled messages (`multiprocessing.connection`): it never imports the server's
`__main__` (under Streamlit, the page, which each script run replaces), so starting it
does not depend on what the server's threads are doing at that moment. For each job it

1. loads MNIST itself (the queue's `load_data`),
2. prepares the pixels through the job's pipeline, cached (`PreparedCache`),
3. fits with a Keras callback that sends every epoch's scores back and stops at the end of
   an epoch once the server has cancelled that job,
4. saves the model (`store.save`, atomic), answers `Finished`, then records the run in the
   runs database (scoring the drawings there, not in the server) and answers `Ready`.

It runs at a lower CPU priority than the server: students' guesses come before training.
No Streamlit here, and no TensorFlow at import time.
"""
from __future__ import annotations

import os
import pickle
import queue as queues
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from model.data import DataError, Mnist, load_mnist
from model.preprocess import Pipeline

from . import paths
from .estimate import images_per_epoch
from .job import CANCELLED, Began, Cancel, Epoch, Finished, Hello, Job, JobState, Note, Progress, Ready
from .prepared import PreparedCache

NICE = 10                   # added to the training process's niceness: the server's threads come first


class ProcessGone(Exception):
    """The training process stopped while the server waited for it; `note` says how."""

    def __init__(self, note: Note):
        super().__init__(note.key, note.values)
        self.note = note


# -- the server's side -----------------------------------------------------------------------
class TrainingProcess:
    """The server's handle on the training process: started on the first `send`, started
    again on the next one after it died. One thread sends jobs and receives; `cancel` and
    `close` may come from any thread."""

    def __init__(self, load_data: Callable[[], Mnist] = load_mnist, record_as: str | None = None):
        """`load_data` runs in the process, so it must be picklable: a function of an importable
        module, or a functools.partial of one; `record_as` is the runs database's source for
        each saved model ("page"), or None not to record."""
        self._load_data = load_data
        self._record_as = record_as
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._send_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def send(self, job: Job) -> None:
        if self.pid is None:
            self._start()
        self._send(job)

    def receive(self, timeout: float):
        """The process's next message, or None if there is none within `timeout` seconds."""
        conn = self._connection()
        try:
            return conn.recv() if conn.poll(timeout) else None
        except (EOFError, OSError, pickle.UnpicklingError):
            raise ProcessGone(self._gone()) from None

    def cancel(self, job_id: str) -> None:
        """That job stops at the end of its current epoch (a job already over is not affected)."""
        try:
            self._send(Cancel(job_id))
        except ProcessGone:
            pass

    def close(self) -> None:
        """Stop the process (an idle one exits as its socket closes; a busy one is terminated)."""
        with self._send_lock:
            process, conn, self._process, self._conn = self._process, self._conn, None, None
        if conn is not None:
            conn.close()
        if process is not None:
            for stop in (None, process.terminate, process.kill):
                if stop is not None:
                    stop()
                try:
                    process.wait(2.0 if stop is None else 5.0)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def _send(self, message) -> None:
        with self._send_lock:
            try:
                self._connection().send(message)
            except OSError:
                raise ProcessGone(self._gone()) from None

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is None:
            raise ProcessGone(Note("job.process_stopped"))
        return conn

    def _start(self) -> None:
        self.close()
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "classroom.training_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), cwd=paths.REPO, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()          # the process has its own copy: the socket ends when the process does
        conn = Connection(ours.detach())
        self._process, self._conn = process, conn
        self._send(Hello(list(sys.path), pickle.dumps(self._load_data), self._record_as))

    def _gone(self) -> Note:
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(2.0)
            except subprocess.TimeoutExpired:
                code = None
        self._process, conn, self._conn = None, self._conn, None
        if conn is not None:
            conn.close()
        if process is not None and code is None:
            process.kill()
            process.wait()
        if code is not None and code < 0:
            how = signal.Signals(-code).name
        else:
            how = f"exit code {code}" if code is not None else "no answer"
        return Note("job.process_gone", {"how": how})


# -- the process's side ------------------------------------------------------------------------
class Inbox:
    """What the server sends, read by a thread of its own so that a cancel arrives while the
    main thread trains: jobs wait in order; `cancelled(job_id)` says whether that job is off."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._jobs: queues.Queue = queues.Queue()
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="inbox", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                self._jobs.put(None)        # the server closed the socket, or has gone
                return
            if isinstance(message, Cancel):
                with self._lock:
                    self._cancelled.add(message.job_id)
            else:
                self._jobs.put(message)

    def next_job(self) -> Job | None:
        return self._jobs.get()

    def cancelled(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._cancelled


def serve(conn: Connection) -> None:
    """The training process's loop: one job at a time, until the server closes the socket."""
    os.nice(NICE)
    hello = conn.recv()
    sys.path[:] = hello.sys_path
    load_data, record_as = pickle.loads(hello.load_data), hello.record_as
    cache = PreparedCache(paths.prepared_dir())
    inbox = Inbox(conn)

    def send(message) -> None:
        try:
            conn.send(message)
        except OSError:
            raise ServerGone from None

    while (job := inbox.next_job()) is not None:
        try:
            result = train(job, send, lambda: inbox.cancelled(job.id), load_data, cache)
            if result is not None and record_as:
                record(result, record_as, job.model_path)
            send(Ready(job.id))
        except ServerGone:
            return
        except Exception as e:      # reported; the process stays for the next job
            try:
                send(Finished(job.id, JobState.FAILED, Note("job.failed", {"detail": str(e)})))
                send(Ready(job.id))
            except ServerGone:
                return


class ServerGone(Exception):
    """The server's end of the socket is closed: nobody is waiting for this process."""


def train(job: Job, send: Callable[[Any], None], cancelled: Callable[[], bool],
          load_data: Callable[[], Mnist], cache: PreparedCache):
    """One job, reported through `send`; returns the TrainResult if the model was saved."""
    try:
        data = load_data()
    except DataError as e:
        send(Finished(job.id, JobState.FAILED, Note("job.failed", {"detail": str(e)})))
        return None
    import keras  # TensorFlow loads here, once per process

    from model import store, training

    pipeline = Pipeline.from_config(job.config)
    prepared = cache.get(data, pipeline, lambda: send(Progress(
        job.id, Note("job.preparing", {"images": len(data.x_train) + len(data.x_test)}))))
    if cancelled():
        send(Finished(job.id, JobState.CANCELLED, CANCELLED))
        return None
    images = images_per_epoch(job.config, len(data.x_train)) + (len(job.drawings[1]) if job.drawings else 0)

    class Report(keras.callbacks.Callback):
        """Every epoch's scores to the server; stops after the epoch once it is cancelled."""

        def on_train_begin(self, logs=None):
            send(Began(job.id, images, len(data.x_train)))
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            send(Epoch(job.id, epoch + 1, {k: float(v) for k, v in (logs or {}).items()}, now - self.started))
            self.started = now
            if cancelled():
                self.model.stop_training = True

    result = training.fit(job.config, data, callbacks=[Report()], drawings=job.drawings, prepared=prepared)
    if cancelled():
        send(Finished(job.id, JobState.CANCELLED, CANCELLED))
        return None
    if result.diverged:
        c = job.config
        send(Finished(job.id, JobState.DIVERGED, Note("job.diverged", {
            "learning_rate": c.learning_rate, "optimizer": c.optimizer, "loss": result.train_loss})))
        return None
    path = store.save(result, job.model_path)
    send(Finished(job.id, JobState.DONE, Note("job.done", {"accuracy": result.test_accuracy,
                                                            "seconds": result.fit_seconds}), path, result.scores()))
    return result


def record(result, source: str, model_path: Path) -> None:
    """Into the runs database, scored on the drawings (`runs.record_training`)."""
    from . import runs
    try:
        runs.record_training(result, source, model_path)
    except Exception:  # a RunsError, or drawings that cannot be scored
        pass  # the model is saved and in use; only the comparison table misses this run


if __name__ == "__main__":
    # Run as the module itself, not as __main__, so that the messages it unpickles and the
    # ones it defines are the same classes.
    from classroom.training_process import serve as serve_in_module
    serve_in_module(Connection(int(sys.argv[1])))
