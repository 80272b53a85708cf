"""The one inference path: `load_recognizer(path).predict(canvas)` -> `Prediction`.

The recognizer runs the saved weights of any of the three models (softmax, mlp, cnn) with
NumPy (`model.forward`), so a drawing is recognized in a millisecond or two and without
TensorFlow, which takes seconds to import. It feeds the model exactly as it was trained:
the preprocessing options and the architecture come from the model file's own metadata.
Before guessing, it looks at the ink (`model.ink`): a tap, a scribble or a full canvas gets
a reason instead of a digit.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .config import TrainConfig
from .preprocess import Pipeline, to_mnist_format
from . import forward, ink, store
from .forward import softmax  # noqa: F401  (part of this module's interface)


@dataclass(frozen=True)
class Prediction:
    digit: int | None                 # None: nothing drawn, or not a digit (see `rejected`)
    probabilities: np.ndarray         # (10,) float, sums to 1 (all zeros when there is no guess)
    input: np.ndarray | None          # the 28x28 float32 the model saw (or would have seen)
    rejected: str | None = None       # why there is no guess: "empty", "too_little_ink" or
                                      # "not_a_digit" (model.ink); None for a real guess

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max()) if self.digit is not None else 0.0

    def ranked(self) -> list[int]:
        return [int(d) for d in np.argsort(-self.probabilities)]


@dataclass(frozen=True)
class Recognizer:
    weights: dict[str, np.ndarray]    # "<layer>.kernel"/"<layer>.bias", float32 (model.forward)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    check_ink: bool = True            # False: guess whatever is drawn (bench/rejection.py compares)

    @classmethod
    def from_softmax(cls, kernel: np.ndarray, bias: np.ndarray, metadata: dict[str, Any] | None = None,
                     path: Path | None = None) -> "Recognizer":
        """A softmax model from its (784, 10) kernel and (10,) bias (the metadata's config,
        if any, should say architecture "softmax", its default)."""
        weights = {"softmax.kernel": np.asarray(kernel, np.float32), "softmax.bias": np.asarray(bias, np.float32)}
        return cls(weights, metadata or {}, path)

    # Read from the metadata once: every drawing would otherwise re-validate the whole config.
    @cached_property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.metadata.get("config", {}))

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline.from_config(self.config)

    @property
    def architecture(self) -> str:
        return self.config.architecture

    # The output layer, which every architecture has: for the softmax model these are all its
    # weights, which the teaching views draw and explain.
    @property
    def kernel(self) -> np.ndarray:
        return self.weights["softmax.kernel"]

    @property
    def bias(self) -> np.ndarray:
        return self.weights["softmax.bias"]

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the architecture and all the weights: equal for the same model, for
        caching what is computed from it (e.g. its test-set report)."""
        digest = hashlib.sha256(self.architecture.encode())
        for name in sorted(self.weights):
            w = np.ascontiguousarray(self.weights[name], np.float32)
            digest.update(f"{name}{w.shape}".encode())
            digest.update(w.tobytes())
        return digest.hexdigest()

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 28, 28) or (N, 784) prepared inputs -> (N, 10) probabilities."""
        return forward.probabilities(self.weights, self.architecture, inputs)

    def predict(self, image: np.ndarray) -> Prediction:
        """A canvas (H x W x 4 RGBA, or H x W grayscale, white on black) -> Prediction."""
        gray = ink.canvas_gray(image)
        # A uint8 canvas's gray is exactly what the conversion reads: convert it only once.
        # Other arrays keep their own float conversion, unrounded.
        x = to_mnist_format(gray if np.asarray(image).dtype == np.uint8 else image, self.pipeline)
        if x is None:
            return Prediction(None, np.zeros(10), None, ink.EMPTY)
        p = self.probabilities(x[None])[0].astype(np.float64)
        rejected = ink.rejection(gray, float(p.max())) if self.check_ink else None
        if rejected is not None:
            return Prediction(None, np.zeros(10), x, rejected)
        return Prediction(int(p.argmax()), p, x)


def load_recognizer(path: str | os.PathLike | None = None) -> Recognizer:
    """The model at `path` (None: the shipped model), ready to recognize drawings."""
    path = Path(path) if path is not None else store.SHIPPED
    weights, metadata = store.read_model(path)
    return Recognizer(weights, metadata, path)
