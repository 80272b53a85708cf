"""Opening the project's SQLite files (the runs, the class's drawings): WAL mode, so readers
never wait for a writer, and the table created on first use.

Several processes may open a new file at the same moment (two servers, train.py). Then
switching it to WAL, or creating the table, can fail at once with "database is locked":
SQLite does not wait through the busy timeout when waiting could not help (the
connection's view of the file is already stale). Opening is simply tried again until
`timeout` has passed; every other error is raised as it comes.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def open_db(path: Path, schema: str, timeout: float) -> sqlite3.Connection:
    """A connection to `path` (created with its folder if missing), in WAL mode, with `schema`
    (a CREATE TABLE IF NOT EXISTS) applied; sqlite3 errors and OSError are raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(path, timeout=timeout)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(schema)
            conn.commit()
            return conn
        except sqlite3.OperationalError as e:
            conn.close()
            if not busy(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
        except BaseException:
            conn.close()
            raise


def busy(error: Exception) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text
