"""What a softmax model learned, and where it fails: the computations behind the page's
teaching views. Each digit's score is a sum of pixel x weight (+ a bias), so the weights
can be shown as pictures and every guess explained pixel by pixel. NumPy and Pillow only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .config import LESSON, TrainConfig
from .evaluate import summarize
from .preprocess import prepare_mnist
from .recognizer import Recognizer

# A diverging scale: blue for negative, white for zero, red for positive.
_NEG = np.array([33, 102, 172], np.float32)
_MID = np.array([247, 247, 247], np.float32)
_POS = np.array([178, 24, 43], np.float32)


def weight_images(recognizer: Recognizer) -> np.ndarray:
    """(10, 28, 28): digit d's 784 weights laid out as the pixels they multiply."""
    return recognizer.kernel.T.reshape(10, 28, 28)


def weight_patterns(recognizer: Recognizer, inputs: np.ndarray) -> np.ndarray:
    """(10, 28, 28): what each digit's weights respond to in real digits: for each pixel, the
    covariance over `inputs` (prepared 28x28 digits) between its ink and the model's probability
    for the digit (Haufe et al., 2014, "On the interpretation of weight vectors of linear models":
    the activation pattern, taken at the model's output). Red: ink there makes the model say d;
    blue: ink there makes it say something else.

    The weights themselves look like noise: neighbouring pixels carry nearly the same ink, so a
    model may put +1 on one and -1 on the next and lose nothing. Seen through the digits those
    ups and downs cancel. Taken at the probabilities rather than the raw scores, each digit's
    pattern is what tells it from the other nine, and it reads as the digit: the scores also
    rise and fall together with the amount of ink, which drew every pattern as the same ring.
    Any architecture: only the model's probabilities are used."""
    x = np.asarray(inputs, np.float32).reshape(len(inputs), -1)
    probabilities = recognizer.probabilities(x)
    probabilities -= probabilities.mean(axis=0)
    return (x.T @ probabilities / len(x)).T.reshape(10, 28, 28)


def diverging(values: np.ndarray, limit: float, size: int = 112, smooth: bool = False) -> Image.Image:
    """Values in [-limit, limit] -> an RGB picture on the shared blue-white-red scale, enlarged
    with each pixel a visible square, or `smooth`ly (for patterns, not single pixels' values)."""
    t = np.clip(np.asarray(values, np.float32) / (limit or 1.0), -1.0, 1.0)[..., None]
    rgb = np.where(t < 0, _MID + (_NEG - _MID) * -t, _MID + (_POS - _MID) * t)
    image = Image.fromarray(rgb.astype(np.uint8), mode="RGB")
    h, w = t.shape[:2]
    scale = max(1, size // max(h, w))
    return image.resize((w * scale, h * scale),
                        Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST)


def square(image: np.ndarray) -> np.ndarray:
    """The picture centred on a black square, so that every step of the conversion shows at one
    size with its own shape (a thin 1 cropped to its ink is 10 times taller than wide)."""
    image = np.asarray(image)
    h, w = image.shape[:2]
    n = max(h, w)
    out = np.zeros((n, n) + image.shape[2:], image.dtype)
    top, left = (n - h) // 2, (n - w) // 2
    out[top:top + h, left:left + w] = image
    return out


def legend(limit: float, width: int = 280, height: int = 14) -> Image.Image:
    """The colour bar for `diverging`: -limit on the left, 0 in the middle, +limit on the right."""
    ramp = np.tile(np.linspace(-limit, limit, width, dtype=np.float32), (height, 1))
    return diverging(ramp, limit, size=width)


@dataclass(frozen=True)
class Evidence:
    digit: int
    pixels: np.ndarray   # (28, 28): input x weight, each pixel's push toward `digit`
    bias: float
    score: float         # pixels.sum() + bias: the logit the softmax turns into a probability


def evidence(recognizer: Recognizer, input28: np.ndarray, digit: int) -> Evidence:
    pixels = np.asarray(input28, np.float32) * weight_images(recognizer)[digit]
    bias = float(recognizer.bias[digit])
    return Evidence(digit, pixels, bias, float(pixels.sum(dtype=np.float64) + bias))


@dataclass(frozen=True)
class TestReport:
    """The model on MNIST's test set: accuracy, confusion, and each image's guess."""
    accuracy: float
    confusion: np.ndarray    # (10, 10) counts, [true][guessed]
    labels: np.ndarray       # (N,)
    guesses: np.ndarray      # (N,)
    confidences: np.ndarray  # (N,) probability of the guess

    def mistakes(self, true: int | None = None, guessed: int | None = None, limit: int = 24) -> np.ndarray:
        """Indices of misclassified test images, most confident mistakes first."""
        wrong = self.labels != self.guesses
        if true is not None:
            wrong &= self.labels == true
        if guessed is not None:
            wrong &= self.guesses == guessed
        idx = np.flatnonzero(wrong)
        return idx[np.argsort(-self.confidences[idx], kind="stable")][:limit]


def test_report(recognizer: Recognizer, images: np.ndarray, labels: np.ndarray,
                inputs: np.ndarray | None = None) -> TestReport:
    """`inputs`: the images already prepared for the recognizer's pipeline, when the caller has them."""
    probs = recognizer.probabilities(prepare_mnist(images, recognizer.pipeline) if inputs is None else inputs)
    guesses = probs.argmax(axis=1)
    labels = np.asarray(labels, int)
    summary = summarize(labels, guesses)
    return TestReport(summary.accuracy, np.array(summary.confusion), labels, guesses,
                      probs[np.arange(len(probs)), guesses])


def stretch_to_28(image: np.ndarray) -> np.ndarray:
    """The naive conversion most demos use (squash the whole image to 28x28), for comparison only."""
    pil = Image.fromarray(np.asarray(image, np.float32), mode="F").resize((28, 28), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(pil, np.float32), 0.0, 1.0)


def guesses_along(recognizer: Recognizer, image: np.ndarray) -> list[tuple[str, np.ndarray, int, float]]:
    """For each step of the conversion: (name, picture, the model's guess, its probability).
    A step that is not yet 28x28 is squashed to 28x28 to ask the model, as naive demos do."""
    from .preprocess import conversion_steps
    out = []
    for step in conversion_steps(image, recognizer.pipeline):
        x = step.image if step.image.shape == (28, 28) else stretch_to_28(step.image)
        p = recognizer.probabilities(x[None])[0]
        out.append((step.name, step.image, int(p.argmax()), float(p.max())))
    return out


def changes(config: TrainConfig, base: TrainConfig = LESSON) -> dict[str, Any]:
    """The settings where `config` differs from `base` (the lesson), in the config's order: what a
    run changed. The kept aspect ratio counts only with the "moments" normalization, which uses it."""
    lesson = base.to_dict()
    changed = {name: value for name, value in config.to_dict().items() if value != lesson[name]}
    if config.normalization != "moments":
        changed.pop("aspect", None)
    return changed
