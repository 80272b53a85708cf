"""Shared fixtures: MNIST from ../shared (never downloaded), a small trained model file,
and a private DIGITS_DATA_DIR so no test writes into the user's home or the repository."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch) -> Path:
    """Models saved without an explicit path land here, not in ~/.local/share."""
    path = tmp_path_factory.mktemp("digits-data")
    monkeypatch.setenv("DIGITS_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = Path(os.environ.get("MNIST_PATH") or REPO.parent / "shared" / "data" / "mnist.npz")
    if not path.is_file():
        reason = f"MNIST is not at {path}: set MNIST_PATH to Keras's mnist.npz (tests never download it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from model.data import load_mnist
    return load_mnist(mnist_path)


@pytest.fixture(scope="session")
def small_result(mnist):
    """One epoch on 2,000 images: seconds to train. A large step (the lesson's 0.01 would
    need far more batches) so that it already tells digits apart."""
    from model.config import TrainConfig
    from model import training
    return training.fit(TrainConfig(epochs=1, learning_rate=0.5), mnist.head(2000))


@pytest.fixture(scope="session")
def small_model_file(small_result, tmp_path_factory) -> Path:
    from model import store
    return store.save(small_result, tmp_path_factory.mktemp("models") / "small.keras")


# A few digits as polylines on a 280x280 canvas (x right, y down), like a person draws them.
STROKES = {
    1: [[(140, 50), (140, 230)]],
    7: [[(80, 60), (200, 60), (120, 230)]],
    0: [[(140 + 60 * math.sin(t / 8 * math.pi), 140 - 90 * math.cos(t / 8 * math.pi)) for t in range(17)]],
    4: [[(170, 230), (170, 50), (70, 170), (210, 170)]],
}


def render(strokes, size=(280, 280), width: int = 20, offset=(0, 0)) -> np.ndarray:
    """White strokes on black, as the page's canvas gives them (uint8 grayscale)."""
    image = Image.new("L", size[::-1], 0)
    pen = ImageDraw.Draw(image)
    for line in strokes:
        points = [(x + offset[0], y + offset[1]) for x, y in line]
        pen.line(points, fill=255, width=width, joint="curve")
        for x, y in points:  # round caps, as a browser's canvas draws them
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(image)


@pytest.fixture
def draw():
    """draw(digit, **render_options) -> a 280x280 uint8 canvas with that digit."""
    return lambda digit, **options: render(STROKES[digit], **options)
