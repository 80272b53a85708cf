"""The runs database: what a class compares. Every training recorded comes back with its
settings and scores, newest first; many writers at once lose nothing; a damaged or busy
database is a RunsError with a message for people; `train.py --list-runs` prints the table."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from classroom import runs
from model.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]


@dataclass
class FakeResult:
    """What `runs.record` reads from a TrainResult, without training anything."""
    config: TrainConfig = field(default_factory=TrainConfig)
    train_accuracy: float = 0.91
    test_accuracy: float = 0.9
    train_loss: float = 0.31
    test_loss: float = 0.33
    history: dict = field(default_factory=lambda: {"loss": [0.6, 0.4, 0.31], "val_accuracy": [0.85, 0.88, 0.9]})
    fit_seconds: float = 1.25


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "runs.sqlite"


@pytest.mark.parametrize("result", [
    FakeResult(),
    FakeResult(TrainConfig(epochs=7, batch_size=32, optimizer="adam", learning_rate=0.003, l2=0.001,
                           deskew=True, stroke_width=2.5, seed=11),
               0.97, 0.95, 0.1, 0.2, {"loss": [0.3, 0.1]}, 12.5),
    FakeResult(history={}, fit_seconds=0.0),
    FakeResult(TrainConfig(architecture="cnn", filters=16, optimizer="adam", learning_rate=0.001)),
    FakeResult(TrainConfig(architecture="mlp", hidden_units=256)),
], ids=["lesson", "every setting changed", "no history", "cnn", "mlp"])
def test_a_recorded_run_comes_back_as_it_was(db, result):
    run_id = runs.record(result, "page", model_path="/models/a.keras", drawn_accuracy=0.625, path=db)
    [run] = runs.list_runs(db)
    assert run.id == run_id and run.source == "page"
    assert run.config == result.config
    assert (run.train_accuracy, run.test_accuracy, run.train_loss, run.test_loss) == \
        (result.train_accuracy, result.test_accuracy, result.train_loss, result.test_loss)
    assert run.history == result.history and run.fit_seconds == result.fit_seconds
    assert run.drawn_accuracy == 0.625 and run.model_path == "/models/a.keras"
    row = run.row()
    assert row["run"] == run_id and row["epochs"] == result.config.epochs and row["test_accuracy"] == result.test_accuracy


def test_a_run_without_drawings_or_model_file_has_none(db):
    runs.record(FakeResult(), "train.py", path=db)
    [run] = runs.list_runs(db)
    assert run.drawn_accuracy is None and run.model_path is None


def test_runs_are_listed_newest_first(db):
    epochs = [3, 1, 4, 1, 5]
    ids = [runs.record(FakeResult(TrainConfig(epochs=e)), f"run {i}", path=db) for i, e in enumerate(epochs)]
    listed = runs.list_runs(db)
    assert [r.id for r in listed] == ids[::-1]
    assert [r.config.epochs for r in listed] == epochs[::-1]
    assert [r.source for r in listed] == [f"run {i}" for i in reversed(range(len(epochs)))]


def test_a_run_recorded_before_the_architecture_existed_reads_as_the_softmax(db):
    runs.record(FakeResult(), "page", path=db)           # the schema, then a row as an older version wrote it
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO runs (created_at, source, config, history) VALUES (?, ?, ?, ?)",
                     ("2026-01-05T10:00:00+00:00", "page", '{"epochs": 3, "batch_size": 32}', "{}"))
    old, _ = runs.list_runs(db)
    assert old.config == TrainConfig(epochs=3, batch_size=32) and old.config.architecture == "softmax"
    assert "softmax" in runs.format_table([old]).splitlines()[2]


def test_an_empty_database_lists_nothing(db):
    assert runs.list_runs(db) == []
    assert runs.format_table([]) == "No runs recorded yet."


@pytest.mark.parametrize("where", ["DIGITS_RUNS_DB", "data folder"])
def test_the_database_is_created_on_first_use_where_configured(where, tmp_path, data_dir, monkeypatch):
    if where == "DIGITS_RUNS_DB":
        expected = tmp_path / "not yet" / "class runs.sqlite"
        monkeypatch.setenv("DIGITS_RUNS_DB", str(expected))
    else:
        monkeypatch.delenv("DIGITS_RUNS_DB", raising=False)
        expected = data_dir / "runs.sqlite"
    assert runs.db_path() == expected and not expected.exists()
    run_id = runs.record(FakeResult(), "page")
    assert expected.is_file()
    assert [r.id for r in runs.list_runs()] == [run_id]
    assert [r.id for r in runs.list_runs(expected)] == [run_id]


def test_threads_recording_at_once_lose_nothing(db):
    runs.list_runs(db)  # the schema exists, so the writers race on rows, not on creating it
    start = threading.Barrier(8)

    def writer(k):
        start.wait()
        return [runs.record(FakeResult(TrainConfig(seed=k * 100 + i)), f"thread {k}", path=db) for i in range(10)]

    with ThreadPoolExecutor(8) as pool:
        ids = [i for batch in pool.map(writer, range(8)) for i in batch]
    listed = runs.list_runs(db)
    assert len(ids) == len(set(ids)) == 80
    assert sorted(r.id for r in listed) == sorted(ids)
    assert sorted(r.config.seed for r in listed) == sorted(k * 100 + i for k in range(8) for i in range(10))


WRITER = """
import sys, time, types
from classroom import runs
from model.config import TrainConfig
start, name, n = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
for i in range(n):
    result = types.SimpleNamespace(config=TrainConfig(epochs=i + 1), train_accuracy=0.5, test_accuracy=0.5,
                                   train_loss=1.0, test_loss=1.0, history={"loss": [1.0]}, fit_seconds=0.1)
    print(runs.record(result, name))
"""


def test_processes_recording_at_once_lose_nothing(tmp_path, monkeypatch):
    """Several servers or train.py runs sharing one database (a fresh file: they race on creating it too)."""
    db = tmp_path / "shared" / "runs.sqlite"
    monkeypatch.setenv("DIGITS_RUNS_DB", str(db))
    start = time.time() + 1.5  # every process waits for the same moment, then writes
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(start), f"proc {k}", "15"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    ids = [int(line) for out, _ in outputs for line in out.split()]
    assert len(ids) == len(set(ids)) == 60
    listed = runs.list_runs(db)
    assert sorted(r.id for r in listed) == sorted(ids)
    assert {r.source for r in listed} == {f"proc {k}" for k in range(4)}


@pytest.mark.parametrize("action", ["record", "list"])
def test_a_damaged_database_is_a_runs_error_saying_so(db, action):
    db.write_bytes(np.random.default_rng(3).bytes(8192))
    with pytest.raises(runs.RunsError, match="damaged") as info:
        runs.record(FakeResult(), "page", path=db) if action == "record" else runs.list_runs(db)
    assert str(db) in str(info.value)


@pytest.fixture
def locked_db(db, monkeypatch):
    """Another program holds the write lock on the database."""
    monkeypatch.setattr(runs, "TIMEOUT_SECONDS", 0.3)
    runs.record(FakeResult(), "before", path=db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield db
    holder.execute("ROLLBACK")
    holder.close()


def test_a_locked_database_is_a_runs_error_within_the_timeout(locked_db):
    started = time.perf_counter()
    with pytest.raises(runs.RunsError, match="busy|locked"):
        runs.record(FakeResult(), "page", path=locked_db)
    assert time.perf_counter() - started < 3.0


def test_the_table_stays_readable_while_another_program_writes(locked_db):
    assert [r.source for r in runs.list_runs(locked_db)] == ["before"]


def test_recording_works_again_once_the_lock_is_released(db, monkeypatch):
    monkeypatch.setattr(runs, "TIMEOUT_SECONDS", 5.0)
    runs.list_runs(db)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.3, lambda: holder.execute("ROLLBACK")).start()  # released while we wait
    try:
        run_id = runs.record(FakeResult(), "page", path=db)
    finally:
        time.sleep(0.05)
        holder.close()
    assert [r.id for r in runs.list_runs(db)] == [run_id]


def list_runs_cli(env_overrides=None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_overrides or {})}
    env.pop("DIGITS_RUNS_DB", None)
    return subprocess.run([sys.executable, "train.py", "--list-runs"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_list_runs_prints_the_table_newest_first(monkeypatch, data_dir):
    monkeypatch.delenv("DIGITS_RUNS_DB", raising=False)
    first = runs.record(FakeResult(), "page")
    second = runs.record(FakeResult(TrainConfig(epochs=7, batch_size=32, optimizer="adam", learning_rate=0.003),
                                    test_accuracy=0.9531), "train.py", drawn_accuracy=0.8125)
    third = runs.record(FakeResult(TrainConfig(architecture="cnn", filters=16)), "page")
    fourth = runs.record(FakeResult(TrainConfig(architecture="mlp", hidden_units=256)), "page")
    done = list_runs_cli()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert all(word in lines[0] for word in ("run", "model", "epochs", "batch", "opt", "lr", "test acc", "drawn acc"))
    rows = [line.split() for line in lines[2:]]
    assert [int(r[0]) for r in rows] == [fourth, third, second, first]
    assert [r[3] for r in rows] == ["mlp-256", "cnn-16", "softmax", "softmax"]     # the model, after the source
    newest = lines[4]
    for shown in ("train.py", "adam", "0.003", "95.31%", "81.25%", " 7 ", " 32 "):
        assert shown in newest
    assert "sgd" in lines[5] and "90.00%" in lines[5]


def test_list_runs_with_no_runs_says_so(monkeypatch, data_dir):
    monkeypatch.delenv("DIGITS_RUNS_DB", raising=False)
    done = list_runs_cli()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "No runs recorded yet."


def test_list_runs_on_a_damaged_database_is_an_error_message(monkeypatch, data_dir):
    monkeypatch.delenv("DIGITS_RUNS_DB", raising=False)
    (data_dir / "runs.sqlite").write_bytes(np.random.default_rng(4).bytes(4096))
    done = list_runs_cli()
    assert done.returncode == 1
    assert "damaged" in done.stderr and "Traceback" not in done.stderr
