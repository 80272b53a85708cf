"""The class's training queue: jobs run one at a time in a separate process, with progress
anyone can poll, under the instructor's control.

The page submits a `TrainConfig`; a single worker thread hands queued jobs in order to
the training process (`classroom.training_process`: TensorFlow is imported there, once,
never in the server), so thirty students pressing Train at once cannot overload a small
server. The worker reads the process's per-epoch reports and keeps each job's status; the
page reads it through `status()` (one job) or `jobs()` (the instructor's view), consistent
snapshots taken under a lock. Cancelling tells the process, which checks at the end of
every epoch. The instructor can pause students' trainings and sets a per-student budget:
a student's training whose estimated time (`classroom.estimate`, from the measured speed of
its own architecture) exceeds it is refused.
No Streamlit here, and no TensorFlow.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Callable

from model.config import TrainConfig
from model.data import Mnist, load_mnist

from .estimate import Sample, Speed
from .job import CANCELLED, Began, Epoch, Finished, Job, JobState, JobStatus, Note, Progress, Ready
from .training_process import ProcessGone, TrainingProcess


class TrainingRefused(Exception):
    """The queue will not take this training now (paused, over the budget); `note` says why."""

    def __init__(self, note: Note):
        super().__init__(note.key)
        self.note = note


FIRST_START_SECONDS = 12.0      # before it was measured: starting the process, TensorFlow, preparing the data
POLL_SECONDS = 0.5              # how often the worker looks at cancellations and closed sessions
CANCEL_GRACE_SECONDS = 60.0     # a cancelled job still running after this (stuck preparing its data,
                                # or hung): its process is stopped, and the next job starts another
BUDGET_SECONDS = 60.0           # a student's training may take this long, unless the instructor changes it
PAUSED = Note("queue.paused")


def load_configured_mnist() -> Mnist:
    """MNIST where the project's paths say (`$MNIST_PATH`, Keras's cache), in the training process."""
    from . import paths
    return load_mnist(paths.mnist_path())


class TrainingQueue:
    """A first-in, first-out queue of training jobs: one worker thread, one training process."""

    def __init__(self, load_data: Callable[[], Mnist] = load_configured_mnist,
                 model_path: Callable[[], Path] | None = None,
                 on_finished: Callable[[JobStatus], None] | None = None,
                 is_alive: Callable[[str], bool] = lambda owner: True,
                 record_as: str | None = None, speed: Speed | None = None):
        """`load_data` runs in the training process, so it must be picklable (a module-level
        function, a functools.partial of one). `model_path()` names each new model file.
        `on_finished(status)` is called (in the worker thread) for each job that ends DONE,
        once its run is recorded in the runs database as `record_as` (None: not recorded).
        `is_alive(owner)` says whether the session that queued a job is still open; a job
        whose session has closed is dropped from the queue, or stopped after its epoch.
        `speed` estimates trainings (default: the rates measured on this machine), and learns
        from every epoch run here."""
        if model_path is None:
            from .paths import new_model_path as model_path
        self._model_path = model_path
        self._on_finished = on_finished
        self._is_alive = is_alive
        self._process = TrainingProcess(load_data, record_as)
        self._lock = threading.Condition()
        self._jobs: dict[str, JobStatus] = {}
        self._drawings: dict[str, object] = {}
        self._waiting: deque[str] = deque()
        self._running: str | None = None
        self._cancel: set[str] = set()
        self._closed = False
        self._worker: threading.Thread | None = None
        self._start_seconds = FIRST_START_SECONDS
        self._images = 0                        # images per epoch of the job being trained
        self.speed = speed or Speed()
        self.paused = False                     # students' trainings wait (the instructor's do not)
        self.budget_seconds = BUDGET_SECONDS    # a student's training may take at most this long

    # -- the page's side -------------------------------------------------------------
    def submit(self, config: TrainConfig | dict, owner: str, drawings=None, instructor: bool = False) -> str:
        """Queue a training; the config is re-validated here, whatever the widgets allowed.
        `drawings` (canvases, labels) are added to MNIST for this training (fine-tuning). A
        student's training is refused (TrainingRefused) while trainings are paused, or when its
        estimate exceeds the budget; the instructor's never is."""
        if not isinstance(config, TrainConfig):
            config = TrainConfig.from_dict(dict(config))
        else:
            config = TrainConfig.from_dict(config.to_dict())
        with self._lock:
            estimate = self.speed.training_seconds(config)
            if not instructor:
                self._check_allowed(config, estimate)
            if self._closed:
                raise RuntimeError("this training queue is closed")
            job_id = uuid.uuid4().hex[:12]
            self._jobs[job_id] = JobStatus(job_id, owner, config, instructor=instructor,
                                           estimate_seconds=estimate)
            if drawings is not None:
                self._drawings[job_id] = drawings
            self._waiting.append(job_id)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="training-worker", daemon=True)
                self._worker.start()
            self._lock.notify_all()
        return job_id

    def refusal(self, config: TrainConfig) -> Note | None:
        """Why a student's training with `config` would be refused now, or None."""
        try:
            with self._lock:
                self._check_allowed(config, self.speed.training_seconds(config))
        except TrainingRefused as e:
            return e.note
        return None

    def _check_allowed(self, config: TrainConfig, estimate: float) -> None:
        if self.paused:
            raise TrainingRefused(PAUSED)
        if estimate > self.budget_seconds:
            raise TrainingRefused(Note("queue.over_budget", {
                "estimate": estimate, "budget": self.budget_seconds,
                "fewer_epochs": self.speed.most_epochs(config, self.budget_seconds),
                "larger_batch": self.speed.smallest_batch(config, self.budget_seconds),
                "fewer_filters": self.speed.most_filters(config, self.budget_seconds),
                "epochs": config.epochs, "batch_size": config.batch_size}))

    def status(self, job_id: str) -> JobStatus | None:
        with self._lock:
            return self._snapshot(job_id)

    def jobs(self) -> list[JobStatus]:
        """Every unfinished job, the running one first, then the queue in order (for the instructor)."""
        with self._lock:
            ids = ([self._running] if self._running else []) + list(self._waiting)
            return [self._snapshot(i) for i in ids if not self._jobs[i].state.finished]

    def _snapshot(self, job_id: str) -> JobStatus | None:
        job = self._jobs.get(job_id)
        if job is None:
            return None
        if job.state == JobState.QUEUED and job_id in self._waiting:
            ahead = list(self._waiting).index(job_id)
            return replace(job, position=ahead + 1, eta_seconds=self._eta(ahead, job.config))
        if not job.state.finished:
            return replace(job, eta_seconds=self._remaining(job))
        return job

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job at once, or a running one at the end of its current epoch (one
        that has not stopped CANCEL_GRACE_SECONDS later loses its training process)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.finished:
                return False
            if job_id in self._waiting:
                self._waiting.remove(job_id)
                self._jobs[job_id] = replace(job, state=JobState.CANCELLED, note=Note("job.cancelled_before_start"))
                self._drawings.pop(job_id, None)
                self._lock.notify_all()
                return True
            self._cancel.add(job_id)
            self._jobs[job_id] = replace(job, note=Note("job.cancelling"))
        self._process.cancel(job_id)  # the worker says it again if the process was not there yet
        return True

    def cancel_owner(self, owner: str) -> int:
        """Cancel every unfinished job of `owner` (a session that has closed)."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.owner == owner and not j.state.finished]
        return sum(self.cancel(i) for i in ids)

    def pause(self, paused: bool) -> None:
        """Pause (or resume) students' trainings: new ones are refused, queued ones wait."""
        with self._lock:
            self.paused = paused
            self._lock.notify_all()

    def set_budget(self, seconds: float) -> None:
        with self._lock:
            self.budget_seconds = float(seconds)

    def queue_length(self) -> int:
        with self._lock:
            return len(self._waiting) + (self._running is not None)

    @property
    def trainer_pid(self) -> int | None:
        """The training process's id while it runs (None before the first job)."""
        return self._process.pid

    def close(self) -> None:
        """Cancel the queued jobs and stop the training process (a running job is lost)."""
        with self._lock:
            self._closed = True
            for job_id in self._waiting:
                self._jobs[job_id] = replace(self._jobs[job_id], state=JobState.CANCELLED,
                                             note=Note("job.server_stopping"))
            self._waiting.clear()
            self._lock.notify_all()
        self._process.close()

    # -- estimates ---------------------------------------------------------------------
    def _remaining(self, job: JobStatus) -> float:
        start = self._start_seconds if job.state in (JobState.QUEUED, JobState.STARTING) else 0.0
        return start + (job.config.epochs - job.epoch) * self.speed.epoch_seconds(job.config)

    def _eta(self, ahead: int, config: TrainConfig) -> float:
        total = self._remaining(self._jobs[self._running]) if self._running else 0.0
        for job_id in list(self._waiting)[:ahead]:
            total += self._remaining(self._jobs[job_id])
        return total + self._remaining(JobStatus("", "", config))

    # -- the worker's side ---------------------------------------------------------------
    def _next(self) -> str | None:
        """The first waiting job that may start now (students' wait while paused)."""
        for job_id in self._waiting:
            if self._jobs[job_id].instructor or not self.paused:
                return job_id
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                while (job_id := self._next()) is None and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                self._waiting.remove(job_id)
                job = self._jobs[job_id]
                drawings = self._drawings.pop(job_id, None)
                if not self._alive(job.owner):
                    self._jobs[job_id] = replace(job, state=JobState.CANCELLED,
                                                 note=Note("job.dropped"))
                    continue
                self._running = job_id
                self._jobs[job_id] = replace(job, state=JobState.STARTING, note=Note("job.loading"))
            try:
                self._train(job, drawings)
            except Exception as e:  # a worker that dies would leave every later job waiting forever
                self._fail(job_id, Note("job.failed", {"detail": str(e)}))
            with self._lock:
                self._running = None
                self._cancel.discard(job_id)
                final = self._jobs[job_id]
            if self._on_finished is not None and final.state == JobState.DONE:
                try:
                    self._on_finished(final)
                except Exception:
                    pass

    def _alive(self, owner: str) -> bool:
        try:
            return bool(self._is_alive(owner))
        except Exception:
            return True  # when in doubt, keep the student's training

    def _fail(self, job_id: str, note: Note) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if not job.state.finished:   # a saved model stays DONE whatever happens after
                stopping = self._closed or job_id in self._cancel
                self._jobs[job_id] = replace(job, state=JobState.CANCELLED if stopping else JobState.FAILED,
                                             note=CANCELLED if stopping else note)

    def _train(self, job: JobStatus, drawings) -> None:
        """Hand the job to the training process and follow its reports until it is ready again."""
        sent = time.perf_counter()
        stop_asked = None
        try:
            self._process.send(Job(job.id, job.config, self._model_path(), drawings))
            while True:
                message = self._process.receive(timeout=POLL_SECONDS)
                with self._lock:
                    stop = job.id in self._cancel
                if not stop and not self._alive(job.owner):
                    with self._lock:
                        self._cancel.add(job.id)
                    stop = True
                if stop and stop_asked is None:
                    self._process.cancel(job.id)
                    stop_asked = time.monotonic()
                if stop:
                    if time.monotonic() - stop_asked > CANCEL_GRACE_SECONDS:
                        self._process.close()  # the next receive reports it gone: CANCELLED
                if isinstance(message, Ready):
                    return
                if message is not None:
                    self._report(job, message, sent)
        except ProcessGone as e:
            self._fail(job.id, e.note)

    def _report(self, job: JobStatus, message, sent: float) -> None:
        """One report from the training process, into the job's status."""
        with self._lock:
            current = self._jobs[job.id]
            if current.state.finished:
                return
            if isinstance(message, Progress):
                current = replace(current, note=message.note)
            elif isinstance(message, Began):
                current = replace(current, state=JobState.TRAINING, note=Note("job.training"))
                self._start_seconds = time.perf_counter() - sent
                self._images = message.images
                self.speed.base_images = message.base_images
            elif isinstance(message, Epoch):
                history = {k: [*current.history.get(k, []), v] for k, v in message.logs.items()}
                current = replace(current, epoch=message.epoch, history=history)
                self.speed.add(Sample.of(job.config, self._images, 1, message.seconds))
            elif isinstance(message, Finished):
                current = replace(current, state=message.state, note=message.note,
                                  model_path=message.model_path, scores=dict(message.scores))
            self._jobs[job.id] = current
