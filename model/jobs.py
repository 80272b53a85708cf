"""Training jobs, run one at a time in a separate process, with progress anyone can poll.

The page submits a `TrainConfig`; a single worker thread hands queued jobs in order to
the training process (`model.trainer`: TensorFlow is imported there, once, never in the
server), so thirty students pressing Train at once cannot overload a small server. The
worker reads the process's per-epoch reports and keeps each job's status; the page reads
it through `status()`, a consistent snapshot taken under a lock. Cancelling sets an event
the process checks at the end of every epoch. No Streamlit here, and no TensorFlow.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Callable

from .config import TrainConfig
from .data import Mnist, load_mnist
from .trainer import CANCELLED, Began, Epoch, Finished, Job, Progress, Ready, Trainer, TrainerGone


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
FIRST_START_SECONDS = 12.0      # starting the training process, importing TensorFlow, preparing the data
EPOCH_SECONDS = 0.5
POLL_SECONDS = 0.5              # how often the worker looks at cancellations and closed sessions
CANCEL_GRACE_SECONDS = 60.0     # a cancelled job still running after this (stuck preparing its data,
                                # or hung): its process is stopped, and the next job starts another


class TrainingQueue:
    """A first-in, first-out queue of training jobs: one worker thread, one training process."""

    def __init__(self, load_data: Callable[[], Mnist] = load_mnist,
                 model_path: Callable[[], Path] | None = None,
                 on_finished: Callable[[JobStatus], None] | None = None,
                 is_alive: Callable[[str], bool] = lambda owner: True,
                 record_as: str | None = None):
        """`load_data` runs in the training process, so it must be picklable (a module-level
        function, a functools.partial of one). `model_path()` names each new model file.
        `on_finished(status)` is called (in the worker thread) for each job that ends DONE,
        once its run is recorded in the runs database as `record_as` (None: not recorded).
        `is_alive(owner)` says whether the session that queued a job is still open; a job
        whose session has closed is dropped from the queue, or stopped after its epoch."""
        if model_path is None:
            from .store import new_model_path as model_path
        self._model_path = model_path
        self._on_finished = on_finished
        self._is_alive = is_alive
        self._trainer = Trainer(load_data, record_as)
        self._lock = threading.Condition()
        self._jobs: dict[str, JobStatus] = {}
        self._drawings: dict[str, object] = {}
        self._waiting: deque[str] = deque()
        self._running: str | None = None
        self._cancel: set[str] = set()
        self._closed = False
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
            if self._closed:
                raise RuntimeError("this training queue is closed")
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
        """Cancel a queued job at once, or a running one at the end of its current epoch (one
        that has not stopped CANCEL_GRACE_SECONDS later loses its training process)."""
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
                self._trainer.cancel()
            return True

    def cancel_owner(self, owner: str) -> int:
        """Cancel every unfinished job of `owner` (a session that has closed)."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.owner == owner and not j.state.finished]
        return sum(self.cancel(i) for i in ids)

    def queue_length(self) -> int:
        with self._lock:
            return len(self._waiting) + (self._running is not None)

    @property
    def trainer_pid(self) -> int | None:
        """The training process's id while it runs (None before the first job)."""
        return self._trainer.pid

    def close(self) -> None:
        """Cancel the queued jobs and stop the training process (a running job is lost)."""
        with self._lock:
            self._closed = True
            for job_id in self._waiting:
                self._jobs[job_id] = replace(self._jobs[job_id], state=JobState.CANCELLED,
                                             message="Cancelled: the server is stopping.")
            self._waiting.clear()
            self._lock.notify_all()
        self._trainer.close()

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
        # The styled copies add about a third of the training set (MNIST's 1s, 7s and 9s).
        return (1 + config.augment + 0.3 * config.styles) * max(1.0, (100 / config.batch_size) ** 0.5)

    # -- the worker's side ---------------------------------------------------------------
    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job_id = self._waiting.popleft()
                job = self._jobs[job_id]
                drawings = self._drawings.pop(job_id, None)
                if not self._alive(job.owner):
                    self._jobs[job_id] = replace(job, state=JobState.CANCELLED,
                                                 message="Dropped: the session that asked for it has closed.")
                    continue
                self._running = job_id
                self._jobs[job_id] = replace(job, state=JobState.STARTING, message="Loading TensorFlow and MNIST…")
            try:
                self._train(job, drawings)
            except Exception as e:  # a worker that dies would leave every later job waiting forever
                self._fail(job_id, f"Training failed: {e}")
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

    def _fail(self, job_id: str, message: str) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if not job.state.finished:   # a saved model stays DONE whatever happens after
                stopping = self._closed or job_id in self._cancel
                self._jobs[job_id] = replace(job, state=JobState.CANCELLED if stopping else JobState.FAILED,
                                             message=CANCELLED if stopping else message)

    def _train(self, job: JobStatus, drawings) -> None:
        """Hand the job to the training process and follow its reports until it is ready again."""
        sent = time.perf_counter()
        stop_asked = None
        try:
            self._trainer.send(Job(job.id, job.config, self._model_path(), drawings))
            while True:
                message = self._trainer.receive(timeout=POLL_SECONDS)
                with self._lock:
                    stop = job.id in self._cancel
                if not stop and not self._alive(job.owner):
                    with self._lock:
                        self._cancel.add(job.id)
                    stop = True
                if stop:
                    self._trainer.cancel()
                    stop_asked = stop_asked or time.monotonic()
                    if time.monotonic() - stop_asked > CANCEL_GRACE_SECONDS:
                        self._trainer.close()  # the next receive reports it gone: CANCELLED
                if isinstance(message, Ready):
                    return
                if message is not None:
                    self._report(job, message, sent)
        except TrainerGone as e:
            self._fail(job.id, str(e))

    def _report(self, job: JobStatus, message, sent: float) -> None:
        """One report from the training process, into the job's status."""
        with self._lock:
            current = self._jobs[job.id]
            if current.state.finished:
                return
            if isinstance(message, Progress):
                current = replace(current, message=message.message)
            elif isinstance(message, Began):
                current = replace(current, state=JobState.TRAINING, message="Training…")
                self._start_seconds = time.perf_counter() - sent
            elif isinstance(message, Epoch):
                history = {k: [*current.history.get(k, []), v] for k, v in message.logs.items()}
                current = replace(current, epoch=message.epoch, history=history)
                self._epoch_seconds = message.seconds / self._scale(job.config)
            elif isinstance(message, Finished):
                current = replace(current, state=JobState(message.state), message=message.message,
                                  model_path=message.model_path, scores=dict(message.scores))
            self._jobs[job.id] = current
