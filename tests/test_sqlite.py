"""Opening the SQLite files: a new file opened by several processes at once can fail at once
with "database is locked" (SQLite does not wait when waiting cannot help); opening is tried
again until the timeout, and any other error is not. The real race is in test_runs and
test_feedback (processes writing at once to a new file); here it is forced."""
from __future__ import annotations

import sqlite3
import time

import pytest

import classroom.sqlite
from classroom.sqlite import open_db

SCHEMA = "CREATE TABLE IF NOT EXISTS t (x INTEGER)"


class Flaky:
    """A connection whose statements all fail with `error` (None: a working one)."""

    def __init__(self, conn: sqlite3.Connection, error: str | None):
        self.conn, self.error = conn, error

    def execute(self, sql, *args):
        if self.error:
            raise sqlite3.OperationalError(self.error)
        return self.conn.execute(sql, *args)

    def commit(self):
        self.conn.commit()

    def close(self):
        self.conn.close()


@pytest.fixture
def failing(monkeypatch):
    """failing(error, times) -> the list of connections opened; the first `times` fail."""
    real = sqlite3.connect
    opened = []

    def make(error: str, times: int) -> list:
        def connect(path, timeout):
            conn = Flaky(real(path, timeout=timeout), error if len(opened) < times else None)
            opened.append(conn)
            return conn
        monkeypatch.setattr(classroom.sqlite.sqlite3, "connect", connect)
        return opened
    return make


def test_a_busy_new_file_is_opened_again_until_it_works(tmp_path, failing):
    opened = failing("database is locked", times=3)
    conn = open_db(tmp_path / "new" / "a.sqlite", SCHEMA, timeout=5.0)
    assert len(opened) == 4
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_busy_for_longer_than_the_timeout_is_an_error(tmp_path, failing):
    opened = failing("database is locked", times=10**6)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        open_db(tmp_path / "a.sqlite", SCHEMA, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3.0 and len(opened) > 1


def test_other_errors_are_not_tried_again(tmp_path, failing):
    opened = failing("database disk image is malformed", times=10**6)
    with pytest.raises(sqlite3.OperationalError, match="malformed"):
        open_db(tmp_path / "a.sqlite", SCHEMA, timeout=5.0)
    assert len(opened) == 1
