"""Training: `fit(config, data, callbacks)` -> `TrainResult`. No printing and no Streamlit:
callers watch progress through Keras callbacks (`on_epoch_end` gets every epoch's scores)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import keras
import numpy as np

from .config import TrainConfig
from .data import Mnist
import tensorflow as tf

from .augment import augment, settle, world_styles
from .network import CLASSES, PIXELS, EpochTrainer, build_model, make_optimizer
from .preprocess import Pipeline, prepare_mnist


CHANCE_LOSS = math.log(CLASSES)    # the loss of a model that gives every digit 1/10


@dataclass
class TrainResult:
    model: keras.Model
    config: TrainConfig
    history: dict[str, list[float]] = field(default_factory=dict)
    train_loss: float = math.nan
    train_accuracy: float = math.nan
    test_loss: float = math.nan
    test_accuracy: float = math.nan
    fit_seconds: float = 0.0
    data_checksum: str = ""
    stopped_early: bool = False

    @property
    def diverged(self) -> bool:
        """The loss grew instead of falling: it became NaN or infinite, or the trained model
        ends worse than knowing nothing (a model that gives every digit 1/10 has loss ln 10).
        With SGD on the softmax a too large rate rarely overflows; its weights swing ever
        larger and the loss ends far above where it began, which is what this catches."""
        if not all(math.isfinite(v) for v in self.history.get("loss", [])) or not math.isfinite(self.train_loss):
            return True
        return self.train_loss > CHANCE_LOSS

    def scores(self) -> dict[str, float]:
        return {"train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
                "train_loss": self.train_loss, "test_loss": self.test_loss,
                "fit_seconds": self.fit_seconds}


def to_inputs(images: np.ndarray, pipeline: Pipeline) -> np.ndarray:
    """MNIST uint8 digits -> (N, 784) float32 model inputs, prepared as the model expects."""
    return prepare_mnist(images, pipeline).reshape(len(images), PIXELS)


def to_pixels(images: np.ndarray, pipeline: Pipeline) -> np.ndarray:
    """The same as `to_inputs`, kept as uint8 (0..255) for training: a quarter of the memory,
    and for the lesson's pipeline exactly MNIST's own pixels."""
    if pipeline == Pipeline():
        return images.reshape(len(images), PIXELS)
    return np.round(to_inputs(images, pipeline) * 255.0).astype(np.uint8)


def prepare(data: Mnist, pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray]:
    """MNIST as `fit` trains and tests on it: (training pixels as uint8, test inputs)."""
    return to_pixels(data.x_train, pipeline), to_inputs(data.x_test, pipeline)


def score(model: keras.Model, x: np.ndarray, y_onehot: np.ndarray, chunk: int = 10_000) -> tuple[float, float]:
    """(loss, accuracy) in one forward pass per `chunk` rows: far cheaper than `evaluate`'s
    batched loop. uint8 pixels (0..255) are scaled chunk by chunk, so the training set is
    never copied whole as floats (that copy was the training process's memory peak)."""
    loss_sum, hits = 0.0, 0
    for start in range(0, len(x), chunk):
        xs, ys = x[start:start + chunk], y_onehot[start:start + chunk]
        if xs.dtype == np.uint8:
            xs = xs.astype(np.float32) / 255.0
        p = np.asarray(model(xs, training=False), dtype=np.float64)
        loss_sum += float(keras.losses.categorical_crossentropy(ys, p).numpy().sum())
        hits += int((p.argmax(axis=1) == ys.argmax(axis=1)).sum())
    loss = loss_sum / len(x)
    if model.losses:
        loss += float(sum(np.asarray(l) for l in model.losses))
    return loss, hits / len(x)


class TestScores(keras.callbacks.Callback):
    """The lesson's `validation_data`, scored in one pass per epoch and added to the logs as
    `val_loss` and `val_accuracy`. Keras's own validation rebuilds a data pipeline every
    epoch, which costs more than this model's whole epoch."""

    def __init__(self, x: np.ndarray, y_onehot: np.ndarray):
        super().__init__()
        self.x, self.y = x, y_onehot

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_loss"], logs["val_accuracy"] = score(self.model, self.x, self.y)


def drawings_to_pixels(canvases: Sequence[np.ndarray], labels: np.ndarray, pipeline: Pipeline,
                       share: float = 0.1, max_repeats: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """People's drawings -> (N, 784) uint8 training pixels and labels, through the page's own
    conversion. A class's few hundred drawings would be drowned by MNIST's 60,000, so they
    are repeated until they make up about `share` of the training set."""
    from .preprocess import to_mnist_format
    inputs = [to_mnist_format(c, pipeline) for c in canvases]
    kept = [i for i, x in enumerate(inputs) if x is not None]
    if not kept:
        return np.zeros((0, PIXELS), np.uint8), np.zeros(0, np.uint8)
    pixels = np.round(np.stack([inputs[i] for i in kept]).reshape(len(kept), PIXELS) * 255).astype(np.uint8)
    labels = np.asarray(labels)[kept].astype(np.uint8)
    repeats = int(np.clip(round(share * 60000 / len(kept)), 1, max_repeats))
    return np.tile(pixels, (repeats, 1)), np.tile(labels, repeats)


def augmented_pixels(images: np.ndarray, labels: np.ndarray, config: TrainConfig, pipeline: Pipeline
                     ) -> tuple[np.ndarray, np.ndarray]:
    """`config.augment` distorted copies of each uint8 digit, as training pixels. Distorted before
    the pipeline (their shapes change), then moved a little after it (`augment.settle`): the
    pipeline re-centres, re-sizes and re-strokes each copy, undoing most of the first move."""
    n = len(images)
    copies, copy_labels = augment(images, labels, config.augment, seed=config.seed)
    return settle(to_pixels(copies[n:], pipeline), seed=config.seed), copy_labels[n:]


def fit(config: TrainConfig, data: Mnist, callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: int = 0, drawings: tuple[Sequence[np.ndarray], np.ndarray] | None = None,
        prepared: tuple[np.ndarray, np.ndarray] | None = None) -> TrainResult:
    """Train the softmax model on `data` as `config` says; the lesson when config is the default.
    `drawings` (canvases, labels) are people's drawings to learn from as well (fine-tuning).
    `prepared` is `prepare(data, pipeline)` for the config's pipeline, when the caller has
    it already (the training process keeps it)."""
    keras.utils.set_random_seed(config.seed)
    pipeline = Pipeline.from_config(config)
    pixels, x_test = prepare(data, pipeline) if prepared is None else prepared
    labels = data.y_train
    if drawings is not None and len(drawings[1]):
        extra, extra_labels = drawings_to_pixels(*drawings, pipeline)
        pixels, labels = np.concatenate([pixels, extra]), np.concatenate([labels, extra_labels])
    scored = len(pixels)  # the training scores are measured without the augmented copies
    originals, original_labels = data.x_train, data.y_train   # what the augmented copies are made of
    if config.styles:
        copies, copy_labels = world_styles(data.x_train, data.y_train, seed=config.seed)
        pixels = np.concatenate([pixels, to_pixels(copies, pipeline)])
        labels = np.concatenate([labels, copy_labels])
        originals = np.concatenate([originals, copies])
        original_labels = np.concatenate([original_labels, copy_labels])
    if config.augment:
        copies, copy_labels = augmented_pixels(originals, original_labels, config, pipeline)
        pixels, labels = np.concatenate([pixels, copies]), np.concatenate([labels, copy_labels])
    y = keras.utils.to_categorical(labels, CLASSES)
    y_test = keras.utils.to_categorical(data.y_test, CLASSES)

    model = build_model(config)
    trainer = EpochTrainer(model, config.batch_size)
    steps = config.epochs * -(-len(pixels) // config.batch_size)
    trainer.compile(optimizer=make_optimizer(config, steps), loss="categorical_crossentropy")
    epochs = tf.data.Dataset.from_tensors((pixels, y)).repeat()
    # TestScores first, so that every later callback (progress, history) sees the test scores.
    all_callbacks = [TestScores(x_test, y_test), keras.callbacks.TerminateOnNaN(), *callbacks]
    start = time.perf_counter()
    history = trainer.fit(epochs, epochs=config.epochs, steps_per_epoch=1,
                          callbacks=all_callbacks, verbose=verbose, shuffle=False)
    fit_seconds = time.perf_counter() - start

    result = TrainResult(model=model, config=config, fit_seconds=fit_seconds,
                         history={k: [float(v) for v in vs] for k, vs in history.history.items()},
                         data_checksum=data.checksum(),
                         stopped_early=len(history.epoch) < config.epochs)
    result.train_loss, result.train_accuracy = score(model, pixels[:scored], y[:scored])
    result.test_loss, result.test_accuracy = score(model, x_test, y_test)
    return result
