"""A training job: its state, the status the page reads, and the messages about it that
cross between the server's queue and the training process (pickled over their socket).
No TensorFlow, no Streamlit."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from model.config import TrainConfig



@dataclass(frozen=True)
class Note:
    """Something the page says to a person, in that person's language: a key of the page's
    catalogs (`ui/locales/*.toml`, section `job`, `queue` or `gate`) and the values it shows."""
    key: str
    values: dict[str, Any] = field(default_factory=dict)


CANCELLED = Note("job.cancelled")


class JobState(str, Enum):
    """Where a training job is; also how the process says how a job ended."""
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


# -- messages between the server and the training process ----------------------------------
@dataclass(frozen=True)
class Hello:
    """The server -> the process, first: where to import from, how to load data, how to record."""
    sys_path: list[str]
    load_data: bytes                # pickled: unpickled only once sys_path is in place
    record_as: str | None


@dataclass(frozen=True)
class Cancel:
    """The server -> the process: stop this job at the end of its epoch (or before it fits)."""
    job_id: str


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
    note: Note


@dataclass(frozen=True)
class Began:
    """Data and TensorFlow are ready; the first epoch starts."""
    job_id: str
    images: int                     # images in each epoch
    base_images: int                # of which MNIST's training set


@dataclass(frozen=True)
class Epoch:
    job_id: str
    epoch: int                      # epochs finished
    logs: dict[str, float]
    seconds: float                  # this epoch's wall time


@dataclass(frozen=True)
class Finished:
    job_id: str
    state: JobState                 # DONE, DIVERGED, FAILED or CANCELLED
    note: Note
    model_path: Path | None = None
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Ready:
    """The job is over (its run recorded): the process waits for the next one."""
    job_id: str


# -- what the page reads ---------------------------------------------------------------------
@dataclass(frozen=True)
class JobStatus:
    id: str
    owner: str                                      # the session that asked for it
    config: TrainConfig
    state: JobState = JobState.QUEUED
    epoch: int = 0                                  # epochs finished
    history: dict[str, list[float]] = field(default_factory=dict)
    note: Note = Note("job.queued")
    model_path: Path | None = None
    scores: dict[str, float] = field(default_factory=dict)
    position: int = 0                               # 0: running or finished; n: n-th in the queue
    eta_seconds: float | None = None                # until this job finishes
    instructor: bool = False                        # the instructor's: neither paused nor budgeted
    estimate_seconds: float = 0.0                   # its training's estimated length when it was queued

    @property
    def fraction(self) -> float:
        return self.epoch / self.config.epochs
