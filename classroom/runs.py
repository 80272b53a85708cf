"""The runs database: every training, from the page or from train.py, recorded in SQLite
so a class can compare settings. Lives at `classroom.paths.runs_db()`; created on first use.

Any database trouble (a corrupt file, a lock held too long, a folder we cannot write)
is a `RunsError` with a message for people: the page shows it and keeps working.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.config import TrainConfig

from . import paths
from .sqlite import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    config TEXT NOT NULL,
    train_accuracy REAL, test_accuracy REAL, train_loss REAL, test_loss REAL,
    history TEXT NOT NULL,
    fit_seconds REAL,
    drawn_accuracy REAL,
    model_path TEXT
)"""
# How long a writer waits for another's lock (and opening a new file is retried, see
# model/sqlite.py). Writes take milliseconds, but on two saturated cores (a class's browsers,
# a training, train.py runs) a lock holder can be descheduled for seconds. Only train.py and
# the training process write here; in WAL mode the page's reads do not wait for writers.
TIMEOUT_SECONDS = 30.0


class RunsError(Exception):
    """The runs database cannot be used right now; the message says why."""


@dataclass(frozen=True)
class Run:
    id: int
    created_at: str
    source: str
    config: TrainConfig
    train_accuracy: float | None
    test_accuracy: float | None
    train_loss: float | None
    test_loss: float | None
    history: dict[str, list[float]]
    fit_seconds: float | None
    drawn_accuracy: float | None
    model_path: str | None

    def row(self) -> dict[str, Any]:
        """A flat dict for tables: the config's fields beside the scores."""
        return {"run": self.id, "time": self.created_at, "source": self.source, **self.config.to_dict(),
                "train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
                "drawn_accuracy": self.drawn_accuracy, "fit_seconds": self.fit_seconds}


def db_path() -> Path:
    return paths.runs_db()


def connect(path: str | os.PathLike | None = None) -> sqlite3.Connection:
    path = Path(path) if path is not None else db_path()
    try:
        return open_db(path, SCHEMA, TIMEOUT_SECONDS)
    except (sqlite3.DatabaseError, OSError) as e:
        raise RunsError(_explain(e, path)) from None


def _explain(e: Exception, path: Path) -> str:
    text = str(e)
    if "locked" in text or "busy" in text:
        return f"The runs database {path} is busy (locked by another program); try again in a moment."
    if "not a database" in text or "malformed" in text:
        return f"The runs database {path} is damaged; move it aside and a new one will be started."
    return f"The runs database {path} cannot be used: {text}"


def record(result, source: str, model_path: str | os.PathLike | None = None,
           drawn_accuracy: float | None = None, path: str | os.PathLike | None = None) -> int:
    """Add one finished training (a `TrainResult`) and return its run id."""
    values = (_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), source,
              json.dumps(result.config.to_dict()), result.train_accuracy, result.test_accuracy,
              result.train_loss, result.test_loss, json.dumps(result.history), result.fit_seconds,
              drawn_accuracy, str(model_path) if model_path else None)
    try:
        with closing(connect(path)) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO runs (created_at, source, config, train_accuracy, test_accuracy, train_loss, "
                "test_loss, history, fit_seconds, drawn_accuracy, model_path) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                values)
            return int(cursor.lastrowid)
    except sqlite3.DatabaseError as e:
        raise RunsError(_explain(e, Path(path) if path else db_path())) from None


def record_training(result, source: str, model_path: str | os.PathLike) -> int:
    """Record a saved training, scored on the configured drawings too (`paths.drawn_dev_path`)
    when the page's recognizer can read its model; otherwise recorded without that score: the
    training happened, and its MNIST scores are worth comparing."""
    from model.evaluate import drawn_accuracy
    from model.recognizer import load_recognizer
    from model.store import ModelFileError
    try:
        drawn = drawn_accuracy(load_recognizer(model_path), paths.drawn_dev_path())
    except ModelFileError:
        drawn = None
    return record(result, source, model_path, drawn)


def list_runs(path: str | os.PathLike | None = None) -> list[Run]:
    """Every recorded run, newest first. A config is stored as JSON and read with
    `TrainConfig.from_dict`: a row from before a setting existed gets its default (so a run
    recorded before the architecture was a setting reads as the lesson's softmax)."""
    try:
        with closing(connect(path)) as conn:
            rows = conn.execute("SELECT id, created_at, source, config, train_accuracy, test_accuracy, "
                                "train_loss, test_loss, history, fit_seconds, drawn_accuracy, model_path "
                                "FROM runs ORDER BY id DESC").fetchall()
    except sqlite3.DatabaseError as e:
        raise RunsError(_explain(e, Path(path) if path else db_path())) from None
    return [Run(r[0], r[1], r[2], TrainConfig.from_dict(json.loads(r[3])), *r[4:8], json.loads(r[8]), *r[9:])
            for r in rows]


def newest_id(path: str | os.PathLike | None = None) -> int:
    """The newest run's id (0: none yet), without reading the runs."""
    try:
        with closing(connect(path)) as conn:
            return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0])
    except sqlite3.DatabaseError as e:
        raise RunsError(_explain(e, Path(path) if path else db_path())) from None


def model_name(config: TrainConfig) -> str:
    """The architecture in one word, with its size: 'softmax', 'mlp-128', 'cnn-32'."""
    size = {"mlp": config.hidden_units, "cnn": config.filters}.get(config.architecture)
    return config.architecture if size is None else f"{config.architecture}-{size}"


def format_table(runs: list[Run]) -> str:
    """The runs as a plain-text table for the terminal."""
    head = f"{'run':>4}  {'time (UTC)':19}  {'source':8}  {'model':8}  {'epochs':>6}  {'batch':>5}  {'opt':4}  " \
           f"{'lr':>7}  {'test acc':>8}  {'drawn acc':>9}  {'fit s':>6}"
    lines = [head, "-" * len(head)]
    for r in runs:
        c = r.config
        drawn = f"{r.drawn_accuracy:.2%}" if r.drawn_accuracy is not None else "-"
        lines.append(f"{r.id:>4}  {r.created_at[:19]:19}  {r.source:8}  {model_name(c):8}  {c.epochs:>6}  "
                     f"{c.batch_size:>5}  {c.optimizer:4}  {c.learning_rate:>7g}  {r.test_accuracy or 0:>8.2%}  "
                     f"{drawn:>9}  {r.fit_seconds or 0:>6.2f}")
    return "\n".join(lines) if runs else "No runs recorded yet."
