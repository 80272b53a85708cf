"""Training jobs, run one at a time in a background thread, with progress anyone can poll.

The page submits a `TrainConfig`; a single worker thread trains queued jobs in order,
so thirty students pressing Train at once cannot overload a small server. Each job's
progress (epoch, per-epoch scores, state) is read through `status()`, a consistent
snapshot taken under a lock: the worker never touches the page, and the page never
touches the worker's objects. No Streamlit here.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from .config import TrainConfig
from .data import DataError, Mnist


class JobState(str, Enum):
    QUEUED = "queued"
    STARTING = "starting"
    TRAINING = "training"
    DONE = "done"
    DIVERGED = "diverged"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.DIVERGED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobStatus:
    id: str
    owner: str
    config: TrainConfig
    state: JobState = JobState.QUEUED
    epoch: int = 0                                  # epochs finished
    history: dict[str, list[float]] = field(default_factory=dict)
    message: str = ""
    model_path: Path | None = None
    scores: dict[str, float] = field(default_factory=dict)
    position: int = 0                               # 0: running or finished; n: n-th in the queue
    eta_seconds: float | None = None                # until this job finishes

    @property
    def fraction(self) -> float:
        return self.epoch / self.config.epochs


# Before any job has run, a guess at the cost of training; replaced by measurements.
FIRST_START_SECONDS = 12.0      # importing TensorFlow and preparing the data
EPOCH_SECONDS = 0.5


class TrainingQueue:
    """A first-in, first-out queue of training jobs with one worker thread."""

    def __init__(self, load_data: Callable[[], Mnist], model_path: Callable[[], Path],
                 on_finished: Callable[[JobStatus, Any], None] | None = None,
                 is_alive: Callable[[str], bool] = lambda owner: True):
        """`is_alive(owner)` says whether the session that queued a job is still open; a job
        whose session has closed is dropped from the queue, or stopped after its epoch."""
        self._load_data = load_data
        self._is_alive = is_alive
        self._drawings: dict[str, Any] = {}
        self._model_path = model_path
        self._on_finished = on_finished
        self._lock = threading.Condition()
        self._jobs: dict[str, JobStatus] = {}
        self._waiting: deque[str] = deque()
        self._running: str | None = None
        self._cancel: set[str] = set()
        self._worker: threading.Thread | None = None
        self._start_seconds = FIRST_START_SECONDS
        self._epoch_seconds = EPOCH_SECONDS

    # -- the page's side -------------------------------------------------------------
    def submit(self, config: TrainConfig | dict, owner: str, drawings=None) -> str:
        """Queue a training; the config is re-validated here, whatever the widgets allowed.
        `drawings` (canvases, labels) are added to MNIST for this training (fine-tuning)."""
        if not isinstance(config, TrainConfig):
            config = TrainConfig.from_dict(dict(config))
        else:
            config = TrainConfig.from_dict(config.to_dict())
        job_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._jobs[job_id] = JobStatus(job_id, owner, config)
            if drawings is not None:
                self._drawings[job_id] = drawings
            self._waiting.append(job_id)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="training-worker", daemon=True)
                self._worker.start()
            self._lock.notify_all()
        return job_id

    def status(self, job_id: str) -> JobStatus | None:
        with self._lock:
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
        """Cancel a queued job at once, or a running one at the end of its current epoch."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.finished:
                return False
            if job_id in self._waiting:
                self._waiting.remove(job_id)
                self._jobs[job_id] = replace(job, state=JobState.CANCELLED, message="Cancelled before it started.")
                self._drawings.pop(job_id, None)
            else:
                self._cancel.add(job_id)
            return True

    def cancel_owner(self, owner: str) -> int:
        """Cancel every unfinished job of `owner` (a session that has closed)."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.owner == owner and not j.state.finished]
        return sum(self.cancel(i) for i in ids)

    def queue_length(self) -> int:
        with self._lock:
            return len(self._waiting) + (self._running is not None)

    # -- estimates ---------------------------------------------------------------------
    def _remaining(self, job: JobStatus) -> float:
        start = self._start_seconds if job.state in (JobState.QUEUED, JobState.STARTING) else 0.0
        return start + (job.config.epochs - job.epoch) * self._epoch_seconds * self._scale(job.config)

    def _eta(self, ahead: int, config: TrainConfig) -> float:
        total = self._remaining(self._jobs[self._running]) if self._running else 0.0
        for job_id in list(self._waiting)[:ahead]:
            total += self._remaining(self._jobs[job_id])
        return total + self._remaining(JobStatus("", "", config))

    @staticmethod
    def _scale(config: TrainConfig) -> float:
        """Epoch cost relative to the lesson's: more copies of the data cost more, smaller batches too."""
        return (1 + config.augment) * max(1.0, (100 / config.batch_size) ** 0.5)

    # -- the worker's side ---------------------------------------------------------------
    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    self._lock.wait()
                job_id = self._waiting.popleft()
                job = self._jobs[job_id]
                drawings = self._drawings.pop(job_id, None)
                if not self._alive(job.owner):
                    self._jobs[job_id] = replace(job, state=JobState.CANCELLED,
                                                 message="Dropped: the session that asked for it has closed.")
                    continue
                self._running = job_id
                self._jobs[job_id] = replace(job, state=JobState.STARTING, message="Loading TensorFlow and MNIST…")
            result = None
            try:
                result = self._train(job, drawings)
            except Exception as e:  # a worker that dies would leave every later job waiting forever
                self._update(job_id, state=JobState.FAILED, message=f"Training failed: {e}")
            finally:
                with self._lock:
                    self._running = None
                    self._cancel.discard(job_id)
                    final = self._jobs[job_id]
            if self._on_finished is not None and final.state == JobState.DONE:
                try:
                    self._on_finished(final, result)
                except Exception:
                    pass

    def _alive(self, owner: str) -> bool:
        try:
            return bool(self._is_alive(owner))
        except Exception:
            return True  # when in doubt, keep the student's training

    def _train(self, job: JobStatus, drawings=None):
        started = time.perf_counter()
        try:
            data = self._load_data()
        except DataError as e:
            self._update(job.id, state=JobState.FAILED, message=str(e))
            return None
        import keras  # TensorFlow loads here, in the worker, never on the page's thread

        from . import store, training

        queue = self

        class Report(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                queue._update(job.id, state=JobState.TRAINING, message="Training…")
                queue._start_seconds = time.perf_counter() - started
                self.epoch_started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                with queue._lock:
                    current = queue._jobs[job.id]
                    history = {k: [*current.history.get(k, []), float(v)] for k, v in logs.items()}
                    queue._jobs[job.id] = replace(current, epoch=epoch + 1, history=history)
                    cancelled = job.id in queue._cancel
                if not queue._alive(job.owner):
                    cancelled = True
                    queue._cancel.add(job.id)
                now = time.perf_counter()
                queue._epoch_seconds = (now - self.epoch_started) / queue._scale(job.config)
                self.epoch_started = now
                if cancelled:
                    self.model.stop_training = True

        result = training.fit(job.config, data, callbacks=[Report()], drawings=drawings)
        with self._lock:
            cancelled = job.id in self._cancel
        if cancelled:
            self._update(job.id, state=JobState.CANCELLED, message="Cancelled; the model in use did not change.")
            return None
        if result.diverged:
            self._update(job.id, state=JobState.DIVERGED, message=(
                f"Training diverged: the loss became NaN with learning rate {job.config.learning_rate:g} "
                f"({job.config.optimizer}). Try a smaller learning rate; the previous model stays in use."))
            return None
        path = store.save(result, self._model_path())
        self._update(job.id, state=JobState.DONE, model_path=path, scores=result.scores(),
                     message=f"Test accuracy {result.test_accuracy:.2%} in {result.fit_seconds:.1f} s.")
        return result
