"""Model files: what is saved comes back, with how it was made; saves are atomic; anything
that is not one of our model files is a ModelFileError."""
from __future__ import annotations

import dataclasses
import os
import shutil
import zipfile

import keras
import numpy as np
import pytest

from classroom import paths
from model import store
from model.config import TrainConfig
from model.recognizer import load_recognizer
from model.store import ModelFileError


@pytest.fixture
def inputs(mnist):
    """100 test digits, as the model takes them."""
    return mnist.x_test[:100].reshape(100, -1).astype(np.float32) / 255


def test_a_saved_model_predicts_as_the_trained_one(small_result, small_model_file, inputs):
    expected = np.asarray(small_result.model(inputs))
    np.testing.assert_allclose(load_recognizer(small_model_file).probabilities(inputs), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(store.load_keras_model(small_model_file)(inputs)), expected, atol=1e-5)


def test_the_metadata_says_how_the_model_was_made(small_result, small_model_file):
    meta = store.read_metadata(small_model_file)
    assert TrainConfig.from_dict(meta["config"]) == small_result.config
    assert load_recognizer(small_model_file).config == small_result.config
    for name, value in small_result.scores().items():
        assert meta[name] == value, name
    assert meta["history"] == small_result.history
    assert meta["data_checksum"] == small_result.data_checksum
    assert meta["trained_at"]


def test_extra_metadata_is_kept(small_result, tmp_path):
    path = store.save(small_result, tmp_path / "m.keras", extra={"note": "for class 3B"})
    assert store.read_metadata(path)["note"] == "for class 3B"


def test_saving_creates_the_folder_and_overwrites_a_previous_file(small_result, tmp_path):
    path = tmp_path / "new" / "folder" / "m.keras"
    assert store.save(small_result, path) == path
    store.save(small_result, path, extra={"second": True})
    assert store.read_metadata(path)["second"] is True
    assert sorted(os.listdir(path.parent)) == ["m.keras"]


def test_new_model_paths_go_to_the_data_folder(small_result, data_dir):
    path = store.save(small_result, paths.new_model_path())
    assert path.parent == data_dir / "models" and path.suffix == ".keras"
    assert load_recognizer(path).config == small_result.config


class HalfWritten:
    """A model whose save dies half-way through writing the file."""

    def save(self, path):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a model")
        raise OSError("No space left on device")


def _model_save_fails(monkeypatch, result):
    return dataclasses.replace(result, model=HalfWritten())


def _interrupted(monkeypatch, result):
    class Interrupted:
        def save(self, path):
            open(path, "wb").write(b"PK")
            raise KeyboardInterrupt  # Ctrl-C in train.py
    return dataclasses.replace(result, model=Interrupted())


def _metadata_fails(monkeypatch, result):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    return result


def _fsync_fails(monkeypatch, result):
    def broken(fd):
        raise OSError("Input/output error")
    monkeypatch.setattr(os, "fsync", broken)
    return result


def _rename_fails(monkeypatch, result):
    def broken(src, dst):
        raise PermissionError(f"cannot replace {dst}")
    monkeypatch.setattr(os, "replace", broken)
    return result


FAILURES = {"model save": (_model_save_fails, OSError), "metadata": (_metadata_fails, OSError),
            "fsync": (_fsync_fails, OSError), "rename": (_rename_fails, PermissionError),
            "ctrl-c": (_interrupted, KeyboardInterrupt)}


@pytest.mark.parametrize("break_save, error", FAILURES.values(), ids=FAILURES.keys())
def test_a_failed_save_keeps_the_previous_model_and_leaves_no_temp_files(
        small_result, small_model_file, tmp_path, monkeypatch, break_save, error):
    path = tmp_path / "m.keras"
    shutil.copy(small_model_file, path)
    before = path.read_bytes()
    with monkeypatch.context() as patch:
        result = break_save(patch, small_result)
        with pytest.raises(error):
            store.save(result, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]
    assert load_recognizer(path).config == small_result.config


@pytest.mark.parametrize("name", ["m.h5", "m", "m.keras.bak", "m.KERAS", "keras"])
def test_a_model_file_name_must_end_in_keras(small_result, tmp_path, name):
    with pytest.raises(ModelFileError, match=r"\.keras"):
        store.save(small_result, tmp_path / name)
    assert os.listdir(tmp_path) == []


def _keras_file_without_our_metadata(path):
    keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")]).save(path)


def _other_keras_model(path):
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).save(path)


def _zip(**members):
    def write(path):
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members.items():
                z.writestr(name.replace("_", "."), data)
    return write


def _half_of(source):
    return lambda path: path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])


def _bytes(data):
    return lambda path: path.write_bytes(data)


CORRUPT = {
    "random bytes": lambda _: _bytes(np.random.default_rng(0).bytes(5000)),
    "empty": lambda _: _bytes(b""),
    "half a model": _half_of,
    "a zip of something else": lambda _: _zip(readme_txt="hello"),
    "Keras file without our metadata": lambda _: _keras_file_without_our_metadata,
    "another Keras model": lambda _: _other_keras_model,
    "broken weights": lambda _: _zip(model_weights_h5=b"\x89HDF garbage" * 50, digits_json="{}"),
}


@pytest.mark.parametrize("make", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_file_that_is_not_our_model_is_a_model_file_error(small_model_file, tmp_path, make):
    path = tmp_path / "m.keras"
    make(small_model_file)(path)
    with pytest.raises(ModelFileError) as e:
        load_recognizer(path)
    assert str(path) in str(e.value)


def test_a_missing_model_file_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError):
        load_recognizer(tmp_path / "nothing.keras")


def test_read_metadata_names_a_keras_file_without_our_metadata(tmp_path):
    path = tmp_path / "plain.keras"
    _keras_file_without_our_metadata(path)
    with pytest.raises(ModelFileError, match="metadata"):
        store.read_metadata(path)
