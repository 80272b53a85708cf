"""The class model: the model every student draws with until they train their own,
published by the instructor.

The class model is a file in the data folder; publishing copies a model there
atomically (temporary file, then rename), so no session ever loads half a model.
Sessions notice a new class model by its version (the file's modification stamp and
size), a cheap `stat` per rerun.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from model import store

from . import paths


@dataclass(frozen=True)
class ClassModel:
    path: Path
    version: str        # changes whenever a model is published
    published: bool     # False: nothing published yet, the shipped model serves the class


def class_model() -> ClassModel:
    path = paths.class_model_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ClassModel(store.SHIPPED, "shipped", False)
    return ClassModel(path, f"{stat.st_mtime_ns}-{stat.st_size}", True)


def publish(source: str | os.PathLike) -> ClassModel:
    """Make the model at `source` the class model, atomically; raises ModelFileError if it is
    not a readable model with valid metadata (checked on the very bytes that are published)."""
    source = Path(source)
    raw = store.read_bytes(source)
    store.parse_model(raw, source)  # refuse anything the class could not draw with
    with store.atomic_file(paths.class_model_path()) as tmp:
        Path(tmp).write_bytes(raw)
    return class_model()


def unpublish() -> ClassModel:
    """Back to the shipped model for the whole class."""
    try:
        paths.class_model_path().unlink()
    except FileNotFoundError:
        pass
    return class_model()
