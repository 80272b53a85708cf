"""train.py: flags generated from TrainConfig, errors as messages (never tracebacks), and
one real run of the lesson on the full MNIST."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import train
from classroom import runs
from model import store
from model.config import BEST, LESSON, PRESETS, TrainConfig, fields
from model.recognizer import load_recognizer

REPO = Path(__file__).resolve().parents[1]
NUMERIC = [f for f in fields() if f.metadata["low"] is not None]


def flag(f) -> str:
    return "--" + f.name.replace("_", "-")


def argv_for(config: TrainConfig) -> list[str]:
    """Every field of `config` as train.py's flags."""
    argv = []
    for f in fields():
        value = getattr(config, f.name)
        if isinstance(value, bool):
            argv.append(flag(f) if value else "--no-" + flag(f)[2:])
        else:
            argv.append(f"{flag(f)}={value}")
    return argv


def parse(argv: list[str]) -> TrainConfig:
    return train.config_from_args(train.build_parser().parse_args(argv))


def _changed(f):
    meta = f.metadata
    if meta["choices"]:
        return next(c for c in meta["choices"] if c != f.default)
    if isinstance(f.default, bool):
        return not f.default
    return meta["high"] if f.default != meta["high"] else meta["low"]


def _at(side):
    return TrainConfig(**{f.name: f.metadata[side] for f in NUMERIC})


CONFIGS = {"lesson": LESSON, "best": BEST, "low": _at("low"), "high": _at("high"),
           **{f.name: LESSON.replace(**{f.name: _changed(f)}) for f in fields()}}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_flags_round_trip_to_the_config(config):
    assert parse(argv_for(config)) == config


def test_no_flags_is_the_lesson():
    assert parse([]) == LESSON and parse([]).architecture == "softmax"


@pytest.mark.parametrize("name", [name for name in PRESETS if name.startswith("next lesson")])
def test_the_next_lessons_presets_are_flags_and_the_help_shows_how(name, monkeypatch):
    assert parse(["--preset", name]) == PRESETS[name]
    assert parse(["--preset", name, "--filters", "8"]) == PRESETS[name].replace(filters=8)
    monkeypatch.setenv("COLUMNS", "1000")
    assert f'python train.py --preset "{name}"' in train.build_parser().format_help()


def test_preset_best_gives_best_and_flags_override_it():
    assert parse(["--preset", "best"]) == BEST
    assert parse(["--preset", "best", "--epochs", "3"]) == BEST.replace(epochs=3)


def test_help_lists_every_setting_with_its_bounds(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one line per flag
    text = train.build_parser().format_help()
    for f in fields():
        assert flag(f) in text
        assert " ".join(f.metadata["help"].split()) in text
    for f in NUMERIC:
        assert f"{f.metadata['low']:g} .. {f.metadata['high']:g}" in text


def _outside(f, side):
    bound = f.metadata[side]
    step = 1 if isinstance(f.default, int) else max(abs(bound), 1.0) / 2
    return bound - step if side == "low" else bound + step


@pytest.mark.parametrize("f", NUMERIC, ids=lambda f: f.name)
@pytest.mark.parametrize("side", ["low", "high"])
def test_an_out_of_bounds_flag_is_a_usage_error_naming_the_bound(f, side, capsys):
    with pytest.raises(SystemExit) as e:
        train.main([f"{flag(f)}={_outside(f, side)}", "--data", "/nonexistent/never-read.npz"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f.name in err and f"{f.metadata[side]:g}" in err


@pytest.mark.parametrize("argv, words", [
    (["--epochs", "2.5"], ["--epochs", "2.5"]),
    (["--optimizer", "rmsprop"], ["--optimizer", "rmsprop"]),
    (["--learning-rate", "nan"], ["learning_rate", "number"]),
], ids=["not a whole number", "unknown optimizer", "nan"])
def test_a_malformed_flag_is_a_usage_error(argv, words, capsys):
    with pytest.raises(SystemExit) as e:
        train.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words)


def run_train(*args, timeout=60):
    return subprocess.run([sys.executable, "train.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_the_cli_rejects_zero_epochs_without_a_traceback():
    low = next(f for f in fields() if f.name == "epochs").metadata["low"]
    done = run_train("--epochs", "0")
    assert done.returncode == 2
    assert f"at least {low:g}" in done.stderr and "epochs" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_data_file_says_where_to_put_it(tmp_path):
    missing = tmp_path / "mnist.npz"
    done = run_train("--data", str(missing), "--out", str(tmp_path / "m.keras"))
    assert done.returncode == 1
    assert str(missing) in done.stderr and "MNIST_PATH" in done.stderr and "--data" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "m.keras").exists()


def test_the_lesson_on_full_mnist_reaches_its_accuracy(mnist_path, tmp_path, monkeypatch):
    """The classic lesson's figure: about 89-90 % after 5 epochs of SGD at 0.01."""
    monkeypatch.setenv("MNIST_PATH", str(mnist_path))
    # No scoring on the 7,500 drawings here: that is the runs database's business, and slow.
    monkeypatch.setenv("DIGITS_DRAWN_PATH", str(tmp_path / "no-drawings.npz"))
    out = tmp_path / "m.keras"
    done = run_train("--json", "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    assert scores["test_accuracy"] >= 0.885
    assert scores["config"] == LESSON.to_dict() and Path(scores["model"]) == out
    recognizer = load_recognizer(out)
    assert recognizer.metadata["test_accuracy"] == scores["test_accuracy"]
    assert recognizer.config == LESSON


def test_a_diverging_training_says_so_and_saves_nothing(mnist, tmp_path, capsys):
    small = mnist.head(2000, 200)
    data = tmp_path / "small.npz"
    np.savez(data, x_train=small.x_train, y_train=small.y_train, x_test=small.x_test, y_test=small.y_test)
    high = {f.name: f.metadata["high"] for f in NUMERIC}
    out = tmp_path / "m.keras"
    code = train.main([f"--learning-rate={high['learning_rate']}", f"--l2={high['l2']}", "--epochs=1",
                       "--data", str(data), "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "--learning-rate" in err
    assert not out.exists()


@pytest.mark.parametrize("name,words", [("x.h5", ".keras"), ("folder", "folder")])
def test_a_bad_out_is_refused_before_any_training(tmp_path, name, words):
    """Said at once, not after the whole run: the data is not even looked at (here it does
    not exist, and the message is about --out, not MNIST)."""
    (tmp_path / "folder").mkdir()
    done = run_train("--out", str(tmp_path / name), "--data", str(tmp_path / "never-read.npz"))
    assert done.returncode == 2 and words in done.stderr and "--out" in done.stderr
    assert "MNIST" not in done.stderr and "Traceback" not in done.stderr


def test_architecture_mlp_trains_and_the_file_and_the_run_say_so(mnist, tmp_path, monkeypatch, capsys):
    """The next lesson from the command line: a hidden layer, one epoch on 2,000 images."""
    small = mnist.head(2000, 500)
    data = tmp_path / "small.npz"
    np.savez(data, x_train=small.x_train, y_train=small.y_train, x_test=small.x_test, y_test=small.y_test)
    monkeypatch.setenv("DIGITS_DRAWN_PATH", str(tmp_path / "no-drawings.npz"))
    out = tmp_path / "mlp.keras"
    code = train.main(["--architecture", "mlp", "--hidden-units", "32", "--epochs", "1", "--optimizer", "adam",
                       "--learning-rate", "0.003", "--json", "--data", str(data), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["config"]["architecture"] == "mlp" and scores["test_accuracy"] > 0.7
    # The model file's own record (model.store's digits.json, read from the archive as it is
    # written, whichever architectures the page's recognizer reads).
    with zipfile.ZipFile(out) as archive:
        meta = json.loads(archive.read(store.METADATA))
    assert TrainConfig.from_dict(meta["config"]) == TrainConfig(architecture="mlp", hidden_units=32, epochs=1,
                                                                optimizer="adam", learning_rate=0.003)
    [run] = runs.list_runs()
    assert run.config.architecture == "mlp" and run.model_path == str(out)
