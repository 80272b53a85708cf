"""Model files: a Keras `.keras` archive with our metadata (config, scores, history, date,
data checksum) stored inside it as `digits.json`, so a model file says how it was made.

Saves are atomic: written to a temporary file in the same folder, flushed to disk, then
renamed over the target, so a crash mid-save leaves the previous model loadable.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
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
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read(METADATA))
    except FileNotFoundError:
        raise ModelFileError(f"No model file at {path}.") from None
    except KeyError:
        raise ModelFileError(f"{path} is a Keras file without Digit Canvas metadata.") from None
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ModelFileError(f"{path} is not a readable model file ({e}).") from None


def read_weights(path: str | os.PathLike) -> tuple[Any, Any]:
    """(kernel 784x10, bias 10) straight from the archive's HDF5, without importing Keras,
    so that recognizing a drawing never waits for TensorFlow to load."""
    import io

    import h5py
    import numpy as np

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            raw = z.read("model.weights.h5")
    except (KeyError, zipfile.BadZipFile, OSError) as e:
        raise ModelFileError(f"{path} is not a readable model file ({e}).") from None
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
    return kernels[0], biases[0]


def load_keras_model(path: str | os.PathLike):
    """The full Keras model (imports TensorFlow); safe mode refuses arbitrary code in the file."""
    import keras
    return keras.saving.load_model(Path(path), safe_mode=True)


def data_dir() -> Path:
    """Where trained models and the runs database live: `$DIGITS_DATA_DIR`, else a
    per-user folder outside the repository."""
    return Path(os.environ.get("DIGITS_DATA_DIR") or "~/.local/share/digit-canvas").expanduser()


def new_model_path() -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return data_dir() / "models" / f"run-{stamp}.keras"
