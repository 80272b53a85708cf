"""MNIST prepared for a preprocessing pipeline, kept for the next trainings: the training
process (`classroom.training_process`) asks `PreparedCache.get` instead of preparing 70,000 images
again for every job. No TensorFlow at import time."""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np

from model.data import Mnist
from model.preprocess import Pipeline


class PreparedCache:
    """MNIST through a preprocessing pipeline, as `training.fit` takes it (training pixels,
    test inputs), kept for the next trainings: the moments pipeline takes minutes for
    70,000 images. In memory, the last `keep` pipelines; on disk under `folder`, the last
    `keep_files`, each written atomically and named by the pipeline, the data's checksum and
    the preprocessing code's, so a change to any of them prepares again. The lesson's
    pipeline costs nothing and is not kept."""

    def __init__(self, folder: Path | None, keep: int = 2, keep_files: int = 4,
                 prepare: Callable[[Mnist, Pipeline], tuple[np.ndarray, np.ndarray]] | None = None):
        self.folder, self.keep, self.keep_files = folder, keep, keep_files
        self._prepare = prepare or _prepare
        self._memory: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def get(self, data: Mnist, pipeline: Pipeline, preparing: Callable[[], None] = lambda: None
            ) -> tuple[np.ndarray, np.ndarray]:
        """(N, 784) uint8 training pixels and (M, 784) float32 test inputs; `preparing()` is
        called first when they have to be computed."""
        if pipeline == Pipeline():
            return self._prepare(data, pipeline)
        key = f"{data.checksum()}-{_fingerprint(pipeline)}"
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        arrays = self._read(key, data)
        if arrays is None:
            preparing()
            arrays = self._prepare(data, pipeline)
            self._write(key, arrays)
        self._memory[key] = arrays
        while len(self._memory) > self.keep:
            self._memory.popitem(last=False)
        return arrays

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def _read(self, key: str, data: Mnist) -> tuple[np.ndarray, np.ndarray] | None:
        if self.folder is None or not self._file(key).is_file():
            return None
        try:
            with np.load(self._file(key), allow_pickle=False) as f:
                pixels, inputs = f["pixels"], f["inputs"]
            os.utime(self._file(key))           # recently used: pruned last
        except (OSError, ValueError, KeyError, EOFError):
            return None                         # unreadable: prepared again, and rewritten
        if pixels.shape != (len(data.x_train), 784) or inputs.shape != (len(data.x_test), 784):
            return None
        return pixels, inputs

    def _write(self, key: str, arrays: tuple[np.ndarray, np.ndarray]) -> None:
        if self.folder is None:
            return
        from model.store import atomic_file
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_file(self._file(key)) as tmp:
                np.savez(tmp, pixels=arrays[0], inputs=arrays[1])
            files = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[self.keep_files:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass                                # a disk cache that cannot be written is only slower


def _prepare(data: Mnist, pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray]:
    from model.training import prepare     # imports TensorFlow: only when something is prepared
    return prepare(data, pipeline)


def _fingerprint(pipeline: Pipeline) -> str:
    """The pipeline's settings and the code that applies them."""
    h = hashlib.sha256(repr(pipeline).encode())
    import model
    for code in ("preprocess.py", "training.py"):
        h.update((Path(model.__file__).parent / code).read_bytes())
    return h.hexdigest()[:16]
