"""MNIST, loaded from one place: an explicit .npz in Keras's format, else Keras's own loader.

`load_mnist(path)` reads `path`; without one it falls back to
`keras.datasets.mnist.load_data()` (its cache `~/.keras/datasets/mnist.npz`, then a
download). Where the file is found (`$MNIST_PATH`, ...) is the caller's business
(`classroom.paths.mnist_path`). Every failure is a `DataError` whose message says what to do.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KEYS = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
WHERE_TO_PUT_IT = (
    "Put Keras's mnist.npz somewhere and pass it with --data PATH or the environment "
    "variable MNIST_PATH, or copy it to ~/.keras/datasets/mnist.npz.")


class DataError(Exception):
    """MNIST could not be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (N, 28, 28) uint8
    y_train: np.ndarray  # (N,) uint8 digits
    x_test: np.ndarray
    y_test: np.ndarray

    def checksum(self) -> str:
        """A short fingerprint of the arrays, recorded with every model trained on them."""
        h = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    def head(self, n_train: int, n_test: int | None = None) -> "Mnist":
        """A smaller slice, for quick trainings and tests."""
        n_test = n_train if n_test is None else n_test
        return Mnist(self.x_train[:n_train], self.y_train[:n_train],
                     self.x_test[:n_test], self.y_test[:n_test])


def _check(arrays: dict[str, np.ndarray], source: str) -> Mnist:
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        raise DataError(f"{source} is not Keras's mnist.npz: it lacks {', '.join(missing)} "
                        f"(it has {', '.join(sorted(arrays)) or 'nothing'}).")
    for key, shape in KEYS.items():
        a = arrays[key]
        if a.dtype != np.uint8:
            raise DataError(f"{source}: {key} should be uint8, it is {a.dtype}.")
        if a.ndim != len(shape) or a.shape[1:] != shape[1:] or a.shape[0] == 0:
            want = " x ".join(["N", *map(str, shape[1:])])
            raise DataError(f"{source}: {key} should have shape {want}, it has {a.shape}.")
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise DataError(f"{source}: x_{split} and y_{split} have different lengths.")
        if arrays[f"y_{split}"].max() > 9:
            raise DataError(f"{source}: y_{split} has labels above 9.")
    return Mnist(*(arrays[k] for k in KEYS))


def read_npz(path: str | os.PathLike) -> Mnist:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"No MNIST file at {path}. {WHERE_TO_PUT_IT}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}). {WHERE_TO_PUT_IT}") from None
    return _check(arrays, str(path))


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """MNIST from `path`, else Keras's own loader (its cache, then a download)."""
    if path:
        return read_npz(path)
    try:
        from keras.datasets import mnist  # imports TensorFlow: only when no file was given
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as e:  # a download failure comes as many exception types
        raise DataError(f"MNIST is not on this machine and could not be downloaded ({type(e).__name__}). "
                        f"{WHERE_TO_PUT_IT}") from None
    return _check({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test},
                  "Keras's download")
