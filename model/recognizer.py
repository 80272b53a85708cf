"""The one inference path: `load_recognizer(path).predict(canvas)` -> `Prediction`.

The recognizer runs the saved softmax weights with NumPy (one 784x10 product), so a
drawing is recognized in well under a millisecond and without TensorFlow, which takes
seconds to import. It feeds the model exactly as it was trained: the preprocessing
options come from the model file's own metadata. Before guessing, it looks at the ink
(`model.ink`): a tap, a scribble or a full canvas gets a reason instead of a digit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .config import TrainConfig
from .preprocess import Pipeline, to_mnist_format
from . import ink, store


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


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Recognizer:
    kernel: np.ndarray                # (784, 10) float32
    bias: np.ndarray                  # (10,) float32
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    check_ink: bool = True            # False: guess whatever is drawn (bench/rejection.py compares)

    # Read from the metadata once: every drawing would otherwise re-validate the whole config.
    @cached_property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.metadata.get("config", {}))

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline.from_config(self.config)

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 28, 28) or (N, 784) prepared inputs -> (N, 10) probabilities."""
        x = np.asarray(inputs, np.float32).reshape(len(inputs), -1)
        return softmax(x @ self.kernel + self.bias)

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
    kernel, bias, metadata = store.read_model(path)
    return Recognizer(kernel, bias, metadata, path)
