"""The class's drawings: every "Right" / "Wrong — it was …" answer, kept in SQLite
(WAL mode, in the data folder beside the runs) with the drawing, the 28x28 the model saw,
the true and guessed digits, the model and the time. No personal data.

The instructor browses, deletes, exports them as an .npz shaped like drawn_dev.npz,
and fine-tunes with them (see `training_set`).
"""
from __future__ import annotations

import datetime as _dt
import io
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import paths
from .sqlite import open_db

CANVAS = 280
# How long an answer waits for another writer's lock: longer than a saturated machine may
# hold one, short enough for a page that waits on it.
TIMEOUT_SECONDS = 15.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    true_digit INTEGER NOT NULL CHECK (true_digit BETWEEN 0 AND 9),
    guessed_digit INTEGER CHECK (guessed_digit BETWEEN 0 AND 9),
    model TEXT NOT NULL,
    canvas BLOB NOT NULL,
    input BLOB NOT NULL
)"""


class FeedbackError(Exception):
    """The drawings database cannot be used right now; the message says why."""


@dataclass(frozen=True)
class Drawing:
    id: int
    created_at: str
    true_digit: int
    guessed_digit: int | None
    model: str
    canvas: np.ndarray     # (280, 280) uint8, white ink on black
    input: np.ndarray      # (28, 28) float32

    @property
    def right(self) -> bool:
        return self.true_digit == self.guessed_digit


def db_path() -> Path:
    return paths.drawings_db()


def _connect(path: str | os.PathLike | None) -> sqlite3.Connection:
    path = Path(path) if path is not None else db_path()
    try:
        return open_db(path, SCHEMA, TIMEOUT_SECONDS)
    except (sqlite3.DatabaseError, OSError) as e:
        raise FeedbackError(f"The class's drawings ({path}) cannot be used: {e}") from None


def to_canvas(ink: np.ndarray) -> np.ndarray:
    """Any ink image -> 280x280 uint8 like drawn_dev.npz: scaled to fit, centred, white on black."""
    from model.preprocess import to_ink
    pil = Image.fromarray(np.round(to_ink(ink) * 255).astype(np.uint8), mode="L")
    if pil.size != (CANVAS, CANVAS):
        scale = CANVAS / max(pil.size)
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))),
                         Image.Resampling.BILINEAR)
        board = Image.new("L", (CANVAS, CANVAS), 0)
        board.paste(pil, ((CANVAS - pil.width) // 2, (CANVAS - pil.height) // 2))
        pil = board
    return np.asarray(pil)


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a, mode="L").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def add(image: np.ndarray, input28: np.ndarray, true_digit: int, guessed_digit: int | None, model: str,
        path: str | os.PathLike | None = None) -> int:
    """Store one answer; returns its id."""
    if not 0 <= int(true_digit) <= 9:
        raise ValueError("the true digit must be 0..9")
    row = (_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), int(true_digit),
           None if guessed_digit is None else int(guessed_digit), str(model), _png(to_canvas(image)),
           np.asarray(input28, np.float32).tobytes())
    try:
        with closing(_connect(path)) as conn, conn:
            return int(conn.execute("INSERT INTO drawings (created_at, true_digit, guessed_digit, model, canvas, "
                                    "input) VALUES (?,?,?,?,?,?)", row).lastrowid)
    except sqlite3.DatabaseError as e:
        raise FeedbackError(f"Your answer could not be saved: {e}") from None


def find(digit: int | None = None, right: bool | None = None, limit: int | None = None,
         path: str | os.PathLike | None = None) -> list[Drawing]:
    """Drawings, newest first, optionally of one true digit and/or only right or wrong guesses."""
    where, args = [], []
    if digit is not None:
        where.append("true_digit = ?")
        args.append(int(digit))
    if right is not None:
        where.append("guessed_digit IS true_digit" if right else "guessed_digit IS NOT true_digit")
    sql = "SELECT id, created_at, true_digit, guessed_digit, model, canvas, input FROM drawings"
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    try:
        with closing(_connect(path)) as conn:
            rows = conn.execute(sql, args).fetchall()
    except sqlite3.DatabaseError as e:
        raise FeedbackError(f"The class's drawings cannot be read: {e}") from None
    return [d for d in map(_drawing, rows) if d is not None]


def _drawing(row) -> Drawing | None:
    """A stored row as a Drawing; None for a damaged one (a canvas that is not a 280x280 PNG,
    a 28x28 of the wrong size), which is passed over rather than failing every page."""
    try:
        with Image.open(io.BytesIO(row[5])) as png:
            canvas = np.asarray(png.convert("L"))
        input28 = np.frombuffer(row[6], np.float32).reshape(28, 28)
    except (OSError, ValueError, TypeError, SyntaxError, Image.DecompressionBombError):
        return None
    if canvas.shape != (CANVAS, CANVAS):
        return None
    return Drawing(row[0], row[1], row[2], row[3], row[4], canvas, input28)


def count(path: str | os.PathLike | None = None) -> int:
    try:
        with closing(_connect(path)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM drawings").fetchone()[0])
    except sqlite3.DatabaseError as e:
        raise FeedbackError(f"The class's drawings cannot be read: {e}") from None


def tally(path: str | os.PathLike | None = None) -> tuple[int, int, int]:
    """(answered, right, the newest drawing's id) in one read, no picture decoded: what a wall
    of the class's drawings checks every few seconds."""
    try:
        with closing(_connect(path)) as conn:
            n, right, newest = conn.execute("SELECT COUNT(*), COALESCE(SUM(guessed_digit IS true_digit), 0), "
                                            "COALESCE(MAX(id), 0) FROM drawings").fetchone()
    except sqlite3.DatabaseError as e:
        raise FeedbackError(f"The class's drawings cannot be read: {e}") from None
    return int(n), int(right), int(newest)


def delete(ids: list[int], path: str | os.PathLike | None = None) -> int:
    try:
        with closing(_connect(path)) as conn, conn:
            return conn.executemany("DELETE FROM drawings WHERE id = ?", [(int(i),) for i in ids]).rowcount
    except sqlite3.DatabaseError as e:
        raise FeedbackError(f"The drawings could not be deleted: {e}") from None


def export_npz(path: str | os.PathLike | None = None) -> bytes:
    """All drawings as an .npz in drawn_dev.npz's format: images (N,280,280) uint8, labels, writers."""
    drawings = find(path=path)
    images = np.stack([d.canvas for d in drawings]) if drawings else np.zeros((0, CANVAS, CANVAS), np.uint8)
    buf = io.BytesIO()
    # No personal data is kept, so every drawing's writer is "unknown" (0).
    np.savez_compressed(buf, images=images, labels=np.array([d.true_digit for d in drawings], np.uint8),
                        writers=np.zeros(len(drawings), np.int16))
    return buf.getvalue()
