"""Model files: a Keras `.keras` archive with our metadata (config, scores, history, date,
data checksum) stored inside it as `digits.json`, so a model file says how it was made.

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

SHIPPED = Path(__file__).parent / "trained" / "digits.keras"
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
    return read_model(path)[2]


def read_weights(path: str | os.PathLike) -> tuple[Any, Any]:
    """(kernel 784x10, bias 10) of the model file at `path`."""
    kernel, bias, _ = read_model(path)
    return kernel, bias


def read_model(path: str | os.PathLike) -> tuple[Any, Any, dict[str, Any]]:
    """(kernel 784x10, bias 10, metadata) straight from the archive's HDF5, without importing
    Keras, so that recognizing a drawing never waits for TensorFlow to load. The file is read
    once, so weights and metadata come from the same model even if it is replaced meanwhile
    (a publish); metadata that does not describe a valid training raises ModelFileError."""
    path = Path(path)
    return parse_model(read_bytes(path), path)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"No model file at {path}.") from None
    except OSError as e:
        raise ModelFileError(f"{path} is not a readable model file ({e}).") from None


def parse_model(raw: bytes, path: Path) -> tuple[Any, Any, dict[str, Any]]:
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
    kernel, bias = _weights(weights, path)
    return kernel, bias, _metadata(meta_bytes, path)


def _metadata(raw: bytes, path: Path) -> dict[str, Any]:
    from .config import ConfigError, TrainConfig
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path} has damaged metadata ({e}).") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config", {}), dict):
        raise ModelFileError(f"{path} has damaged metadata (not a record of a training).")
    try:
        TrainConfig.from_dict(meta.get("config", {}))
    except (ConfigError, TypeError) as e:
        raise ModelFileError(f"{path} has metadata with an invalid training configuration ({e}).") from None
    return meta


def _weights(raw: bytes, path: Path) -> tuple[Any, Any]:
    import h5py
    import numpy as np

    arrays: list[np.ndarray] = []
    try:
        with h5py.File(io.BytesIO(raw), "r") as h5:
            h5.visititems(lambda name, obj: arrays.append(np.asarray(obj, np.float32))
                          if isinstance(obj, h5py.Dataset) and "/vars/" in f"/{name}" else None)
    except (OSError, ValueError) as e:  # h5py reports a damaged file as OSError
        raise ModelFileError(f"{path} has damaged weights ({e}).") from None
    kernels = [a for a in arrays if a.shape == (784, 10)]
    biases = [a for a in arrays if a.shape == (10,)]
    if len(kernels) != 1 or len(biases) != 1:
        raise ModelFileError(f"{path} is not a 784 -> 10 softmax model.")
    if not (np.isfinite(kernels[0]).all() and np.isfinite(biases[0]).all()):
        raise ModelFileError(f"{path} has weights that are not finite numbers.")
    return kernels[0], biases[0]


def load_keras_model(path: str | os.PathLike):
    """The full Keras model (imports TensorFlow); safe mode refuses arbitrary code in the file."""
    import keras
    return keras.saving.load_model(Path(path), safe_mode=True)
