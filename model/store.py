"""Model files: a Keras `.keras` archive with our metadata (config, scores, history, date,
data checksum) stored inside it as `digits.json`, so a model file says how it was made.

Reading one needs neither Keras nor TensorFlow: `read_model` takes the weights of any of
the three architectures straight from the archive's HDF5 with h5py, checked against the
shapes its metadata's config implies, for `model.forward` to run.

Saves are atomic: written to a temporary file in the same folder, flushed to disk, then
renamed over the target, so a crash mid-save leaves the previous model loadable.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import forward
from .config import ConfigError, TrainConfig

SHIPPED = Path(__file__).parent / "trained" / "digits.keras"
# The shipped model of each architecture: the lesson's softmax, and the next lesson's two.
SHIPPED_FILES = {"softmax": SHIPPED, "mlp": SHIPPED.with_name("mlp.keras"), "cnn": SHIPPED.with_name("cnn.keras")}
METADATA = "digits.json"
FORMAT = 1


class ModelFileError(Exception):
    """A model file that is missing, not a model, or not one of ours; the message says which."""


def metadata_for(result) -> dict[str, Any]:
    """What a model file records about how it was made."""
    return {
        "format": FORMAT,
        "config": result.config.to_dict(),
        **result.scores(),
        "history": result.history,
        "data_checksum": result.data_checksum,
        "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def save(result, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Write `result.model` and its metadata to `path` (a .keras file) atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"A model file name must end in .keras, got {path.name}")
    meta = {**metadata_for(result), **(extra or {})}
    with atomic_file(path) as tmp:
        result.model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as z:
            z.writestr(METADATA, json.dumps(meta, indent=1))
    return path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[str]:
    """Yield a temporary file beside `path` to write; when the block ends without an error
    it is flushed to disk and renamed over `path`, else removed. Readers of `path` see the
    old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of the model file at `path` (checked as `read_model` checks it)."""
    return read_model(path)[1]


def read_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The weights of the model file at `path`, as `read_model` gives them."""
    return read_model(path)[0]


def read_model(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(weights, metadata) straight from the archive's HDF5, without importing Keras, so that
    recognizing a drawing never waits for TensorFlow to load. `weights` maps
    "<layer>.kernel" / "<layer>.bias" to float32 arrays for the layers `model.network`
    names (see `model.forward`). The file is read once, so weights and metadata come from the
    same model even if it is replaced meanwhile (a publish); metadata that does not describe a
    valid training, or weights that do not fit it, raise ModelFileError."""
    path = Path(path)
    return parse_model(read_bytes(path), path)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"No model file at {path}.") from None
    except OSError as e:
        raise ModelFileError(f"{path} is not a readable model file ({e}).") from None


def parse_model(raw: bytes, path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """`read_model` on a model file's bytes (`path` names it in messages)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = set(z.namelist())
            if METADATA not in names:
                raise ModelFileError(f"{path} is a Keras file without Digit Canvas metadata.")
            meta_bytes, weights = z.read(METADATA), z.read("model.weights.h5")
    except KeyError as e:
        raise ModelFileError(f"{path} is not a readable model file ({e}).") from None
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ModelFileError(f"{path} is not a readable model file ({e}).") from None
    meta, config = _metadata(meta_bytes, path)
    return _weights(weights, config, path), meta


def _metadata(raw: bytes, path: Path) -> tuple[dict[str, Any], TrainConfig]:
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path} has damaged metadata ({e}).") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config", {}), dict):
        raise ModelFileError(f"{path} has damaged metadata (not a record of a training).")
    try:
        config = TrainConfig.from_dict(meta.get("config", {}))
    except (ConfigError, TypeError) as e:
        raise ModelFileError(f"{path} has metadata with an invalid training configuration ({e}).") from None
    return meta, config


# Keras 3 stores a Sequential's weights by layer class, not by layer name: the n-th Dense
# layer's kernel and bias are layers/dense_<n-1>/vars/0 and vars/1 ("dense" for the first),
# Conv2D's likewise under conv2d, conv2d_1 (keras saving_lib's _save_container_state).
# So the architecture, from the metadata, says which group holds which of our layers.
H5_GROUPS = {
    "softmax": {"dense": "softmax"},
    "mlp": {"dense": "hidden", "dense_1": "softmax"},
    "cnn": {"conv2d": "conv1", "conv2d_1": "conv2", "dense": "softmax"},
}


def describe(config: TrainConfig) -> str:
    """The model a config makes, in the words of an error message."""
    if config.architecture == "mlp":
        return f"a 784 -> {config.hidden_units} -> 10 mlp model"
    if config.architecture == "cnn":
        return f"a cnn model with {config.filters} and {2 * config.filters} filters"
    return "a 784 -> 10 softmax model"


def _weights(raw: bytes, config: TrainConfig, path: Path) -> dict[str, np.ndarray]:
    import h5py

    groups = H5_GROUPS[config.architecture]
    weights: dict[str, np.ndarray] = {}
    try:
        with h5py.File(io.BytesIO(raw), "r") as h5:
            layers = h5.get("layers")
            # Layers without weights (Reshape, pooling, Flatten, Dropout) have empty vars.
            stored = {name for name, group in (layers.items() if layers is not None else ())
                      if isinstance(group, h5py.Group) and len(group.get("vars", ())) > 0}
            for group, layer in groups.items():
                arrays = h5.get(f"layers/{group}/vars")
                for i, part in enumerate(("kernel", "bias")):
                    if arrays is not None and str(i) in arrays:
                        weights[f"{layer}.{part}"] = np.asarray(arrays[str(i)], np.float32)
    except (OSError, ValueError, TypeError) as e:  # h5py reports a damaged file as OSError
        raise ModelFileError(f"{path} has damaged weights ({e}).") from None
    expected = forward.weight_shapes(config.architecture, config.hidden_units, config.filters)
    wrong = [f"{name} is missing" if name not in weights else f"{name} is {weights[name].shape}, not {shape}"
             for name, shape in expected.items() if name not in weights or weights[name].shape != shape]
    if extra := sorted(stored - set(groups)):
        wrong.append(f"it has layers its metadata does not describe: {', '.join(extra)}")
    if wrong:
        raise ModelFileError(f"{path} is not {describe(config)}, as its metadata says it is "
                             f"({'; '.join(wrong)}).")
    if not all(np.isfinite(w).all() for w in weights.values()):
        raise ModelFileError(f"{path} has weights that are not finite numbers.")
    return weights


def load_keras_model(path: str | os.PathLike):
    """The full Keras model (imports TensorFlow); safe mode refuses arbitrary code in the file."""
    import keras
    return keras.saving.load_model(Path(path), safe_mode=True)
