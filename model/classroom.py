"""A whole class on one server: the class model everyone draws with, published by the
instructor, and the password gate in front of publishing.

The class model is a file in the data folder; publishing copies a model there
atomically (temporary file, then rename), so no session ever loads half a model.
Sessions notice a new class model by its version (the file's modification stamp),
a cheap `stat` per rerun. No Streamlit here.
"""
from __future__ import annotations

import hmac
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import store


def class_model_path() -> Path:
    return store.data_dir() / "class" / "class_model.keras"


@dataclass(frozen=True)
class ClassModel:
    path: Path
    version: str        # changes whenever a model is published
    published: bool     # False: nothing published yet, the shipped model serves the class


def class_model() -> ClassModel:
    path = class_model_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ClassModel(store.SHIPPED, "shipped", False)
    return ClassModel(path, f"{stat.st_mtime_ns}-{stat.st_size}", True)


def publish(source: str | os.PathLike) -> ClassModel:
    """Make the model at `source` the class model, atomically; raises ModelFileError if it is not one."""
    source = Path(source)
    store.read_weights(source)  # refuse anything that is not a readable softmax model
    with store.atomic_file(class_model_path()) as tmp:
        shutil.copyfile(source, tmp)
    return class_model()


def unpublish() -> ClassModel:
    """Back to the shipped model for the whole class."""
    try:
        class_model_path().unlink()
    except FileNotFoundError:
        pass
    return class_model()


@dataclass(frozen=True)
class GateAnswer:
    ok: bool
    message: str


class InstructorGate:
    """Checks the instructor password; every wrong attempt doubles the wait before the next
    one is even considered (1 s, 2 s, 4 s … up to a minute), for everyone on the server, so
    guessing from many tabs is no faster. With no password configured the gate is open."""

    MAX_WAIT = 60.0

    def __init__(self, password: str | None, clock: Callable[[], float] = time.monotonic):
        self._password = password or None
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._next_allowed = 0.0

    @property
    def open(self) -> bool:
        return self._password is None

    def check(self, attempt: str) -> GateAnswer:
        if self._password is None:
            return GateAnswer(True, "No instructor password is set: publishing is open to everyone.")
        with self._lock:
            now = self._clock()
            if now < self._next_allowed:
                return GateAnswer(False, f"Too many wrong passwords: wait {self._next_allowed - now:.0f} s "
                                         "before trying again.")
            if hmac.compare_digest(attempt.encode(), self._password.encode()):
                self._failures = 0
                return GateAnswer(True, "Instructor controls unlocked.")
            self._failures += 1
            wait = min(2.0 ** (self._failures - 1), self.MAX_WAIT)
            self._next_allowed = now + wait
            return GateAnswer(False, f"Wrong password. The next attempt is possible in {wait:.0f} s.")
