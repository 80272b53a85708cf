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


# -- the three architectures: every weight read from the file, checked against the metadata ----

def _save(model, config, path, nan_in: str | None = None):
    """`model` saved as a model file whose metadata says `config` (a shape mismatch on purpose,
    if they differ), with a NaN in the weights of layer `nan_in`."""
    from model.training import TrainResult
    if nan_in is not None:
        layer = model.get_layer(nan_in)
        kernel, bias = layer.get_weights()
        kernel.flat[5] = np.nan
        layer.set_weights([kernel, bias])
    return store.save(TrainResult(model=model, config=config), path)


@pytest.fixture(scope="module")
def networks():
    """One small Keras model per architecture, built once."""
    from model.network import build_model
    configs = [TrainConfig(), TrainConfig(architecture="mlp", hidden_units=16),
               TrainConfig(architecture="cnn", filters=4)]
    return {c.architecture: (build_model(c), c) for c in configs}


LAYERS = {"softmax": ["softmax"], "mlp": ["hidden", "softmax"], "cnn": ["conv1", "conv2", "softmax"]}


@pytest.mark.parametrize("architecture", LAYERS)
def test_every_layers_weights_come_back_by_name(networks, tmp_path, architecture):
    model, config = networks[architecture]
    weights, meta = store.read_model(_save(model, config, tmp_path / "m.keras"))
    assert TrainConfig.from_dict(meta["config"]) == config
    assert sorted(weights) == sorted(f"{layer}.{part}" for layer in LAYERS[architecture]
                                     for part in ("kernel", "bias"))
    for layer in LAYERS[architecture]:
        kernel, bias = model.get_layer(layer).get_weights()
        np.testing.assert_array_equal(weights[f"{layer}.kernel"], kernel)
        np.testing.assert_array_equal(weights[f"{layer}.bias"], bias)
        assert weights[f"{layer}.kernel"].dtype == np.float32


def test_a_compiled_models_optimizer_state_is_not_taken_for_weights(tmp_path):
    """Adam keeps two arrays shaped like each weight; a trained Keras model saves them too."""
    from model.network import build_model
    from model.training import TrainResult
    model = build_model(TrainConfig())
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(np.ones((4, 784), np.float32), np.eye(10, dtype=np.float32)[:4], verbose=0)
    path = store.save(TrainResult(model=model, config=TrainConfig()), tmp_path / "m.keras")
    kernel = model.get_layer("softmax").get_weights()[0]
    np.testing.assert_array_equal(store.read_weights(path)["softmax.kernel"], kernel)


MISMATCHES = {
    "cnn with fewer filters": ("cnn", TrainConfig(architecture="cnn", filters=8),
                               r"not a cnn model with 8 and 16 filters.*conv1\.kernel is \(3, 3, 1, 4\)"),
    "mlp with fewer units": ("mlp", TrainConfig(architecture="mlp", hidden_units=32),
                             r"not a 784 -> 32 -> 10 mlp model.*hidden\.kernel is \(784, 16\), not \(784, 32\)"),
    "an mlp said to be a softmax": ("mlp", TrainConfig(),
                                    r"is not a 784 -> 10 softmax model.*\(784, 16\), not \(784, 10\)"),
    "a softmax said to be an mlp": ("softmax", TrainConfig(architecture="mlp", hidden_units=16),
                                    r"not a 784 -> 16 -> 10 mlp model.*softmax\.kernel is missing"),
    "a cnn said to be a softmax": ("cnn", TrainConfig(),
                                   r"softmax model.*layers its metadata does not describe: conv2d, conv2d_1"),
}


@pytest.mark.parametrize("built, said, message", MISMATCHES.values(), ids=MISMATCHES.keys())
def test_weights_that_do_not_fit_the_metadata_are_refused(networks, tmp_path, built, said, message):
    path = _save(networks[built][0], said, tmp_path / "m.keras")
    with pytest.raises(ModelFileError, match=message) as e:
        load_recognizer(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("architecture, layer", [("softmax", "softmax"), ("mlp", "hidden"), ("cnn", "conv2")])
def test_weights_that_are_not_finite_numbers_are_refused(tmp_path, architecture, layer):
    from model.network import build_model
    config = TrainConfig(architecture=architecture, hidden_units=16, filters=4)
    path = _save(build_model(config), config, tmp_path / "m.keras", nan_in=layer)
    with pytest.raises(ModelFileError, match="not finite"):
        store.read_model(path)
