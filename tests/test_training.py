"""training.fit on small slices of MNIST: it learns, reports every epoch through Keras
callbacks, flags divergence, and trains exactly as plain Keras `model.fit` would."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from model import training
from model.augment import augment, world_styles
from model.config import LESSON, SHIPPED, TrainConfig, fields
from model.network import build_model
from model.preprocess import Pipeline


class Recorder(keras.callbacks.Callback):
    """What a progress panel sees: every epoch's number and scores."""

    def __init__(self, stop_after: int | None = None):
        super().__init__()
        self.epochs, self.logs, self.stop_after = [], [], stop_after

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.logs.append(dict(logs or {}))
        if self.stop_after is not None and len(self.epochs) >= self.stop_after:
            self.model.stop_training = True  # how the page cancels a training


def test_one_epoch_of_the_lesson_learns_digits(mnist):
    """The lesson's small step needs a few hundred batches: one epoch over 20,000 images."""
    data = mnist.head(20000, 2000)
    result = training.fit(LESSON.replace(epochs=1), data)
    assert result.test_accuracy > 0.6 and result.train_accuracy > 0.6
    assert len(result.history["loss"]) == 1 and not result.stopped_early and not result.diverged
    assert result.config == LESSON.replace(epochs=1)
    assert result.data_checksum == data.checksum() and result.fit_seconds > 0


def test_progress_callbacks_get_every_epochs_scores(mnist):
    recorder = Recorder()
    result = training.fit(TrainConfig(epochs=3, learning_rate=0.1), mnist.head(1000, 300), callbacks=[recorder])
    assert recorder.epochs == [0, 1, 2]
    for logs in recorder.logs:
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(logs)
        assert all(math.isfinite(logs[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy"))
    assert [logs["loss"] for logs in recorder.logs] == pytest.approx(result.history["loss"])
    assert [logs["val_accuracy"] for logs in recorder.logs] == pytest.approx(result.history["val_accuracy"])
    # The last epoch's test score is the result's: the panel and the saved model agree.
    assert recorder.logs[-1]["val_accuracy"] == pytest.approx(result.test_accuracy)
    assert recorder.logs[-1]["loss"] > 0 and recorder.logs[-1]["loss"] < recorder.logs[0]["loss"]


def test_a_callback_can_stop_training(mnist):
    recorder = Recorder(stop_after=2)
    result = training.fit(TrainConfig(epochs=5), mnist.head(500, 100), callbacks=[recorder])
    assert recorder.epochs == [0, 1]
    assert result.stopped_early and len(result.history["loss"]) == 2


def _high(name):
    return next(f for f in fields() if f.name == name).metadata["high"]


def test_the_largest_step_and_penalty_diverge(mnist):
    """With the largest L2 penalty each step multiplies the weights by 1 - 2 * l2 * rate,
    which overflows within a few batches."""
    config = TrainConfig(epochs=3, learning_rate=_high("learning_rate"), l2=_high("l2"))
    result = training.fit(config, mnist.head(2000, 200))
    assert result.diverged
    assert result.stopped_early  # TerminateOnNaN: no point in finishing the epochs


@pytest.mark.parametrize("learning_rate", [100.0, _high("learning_rate")])
def test_too_large_a_learning_rate_alone_diverges_with_sgd(mnist, learning_rate):
    """The lesson's SGD with a rate far too large: the loss ends far above chance (ln 10),
    though the softmax never overflows. A reachable setting, so a class can see it."""
    result = training.fit(TrainConfig(epochs=2, learning_rate=learning_rate), mnist.head(5000, 500))
    assert result.diverged and result.train_loss > training.CHANCE_LOSS


@pytest.mark.parametrize("config", [TrainConfig(epochs=2), TrainConfig(epochs=2, learning_rate=0.5)],
                         ids=["lesson", "best rate"])
def test_a_sound_training_does_not_count_as_diverged(mnist, config):
    assert not training.fit(config, mnist.head(5000, 500)).diverged


def plain_keras_fit(config: TrainConfig, data) -> tuple[float, list[float]]:
    """The textbook loop: compile and `model.fit(x, y, batch_size)` on the same network."""
    keras.utils.set_random_seed(config.seed)
    network = build_model(config)
    optimizer = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}[config.optimizer]
    network.compile(optimizer=optimizer(learning_rate=config.learning_rate), loss="categorical_crossentropy")
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float32) / 255
    history = network.fit(x, keras.utils.to_categorical(data.y_train, 10), batch_size=config.batch_size,
                          epochs=config.epochs, shuffle=True, verbose=0)
    x_test = data.x_test.reshape(len(data.x_test), -1).astype(np.float32) / 255
    accuracy = float((np.asarray(network(x_test)).argmax(axis=1) == data.y_test).mean())
    return accuracy, history.history["loss"]


@pytest.mark.parametrize("config", [
    TrainConfig(epochs=2, learning_rate=0.1),
    TrainConfig(epochs=2, learning_rate=0.1, batch_size=64),     # a short last batch
    TrainConfig(epochs=2, learning_rate=0.1, batch_size=3000),   # one batch per epoch
    TrainConfig(epochs=2, learning_rate=0.01, optimizer="adam", l2=0.001, seed=3),
], ids=["batch 100", "batch 64", "full batch", "adam with l2"])
def test_the_epoch_trainer_matches_plain_keras_fit(mnist, config):
    data = mnist.head(3000, 1000)
    result = training.fit(config, data)
    accuracy, losses = plain_keras_fit(config, data)
    assert result.test_accuracy == pytest.approx(accuracy, abs=0.01)
    assert result.history["loss"] == pytest.approx(losses, abs=0.02)


def _changed(f):
    """A value other than the lesson's, within the field's bounds."""
    meta = f.metadata
    if meta["choices"]:
        return next(c for c in meta["choices"] if c != f.default)
    if isinstance(f.default, bool):
        return not f.default
    if isinstance(f.default, int):
        return f.default + 1 if meta["high"] is None or f.default < meta["high"] else f.default - 1
    return (f.default + meta["high"]) / 2


# Settings that act only together with another one.
NEEDS = {"aspect": {"normalization": "moments"}, "hidden_units": {"architecture": "mlp"},
         "filters": {"architecture": "cnn"}}


@pytest.mark.parametrize("f", fields(), ids=lambda f: f.name)
def test_every_setting_changes_the_trained_model(mnist, f):
    """No setting in the sidebar is ignored by the training: the two models answer differently
    (compared by their answers, since an architecture's weights differ in shape)."""
    data = mnist.head(600, 100)
    base = TrainConfig(epochs=1, **NEEDS.get(f.name, {}))
    changed = base.replace(**{f.name: _changed(f)})
    x = data.x_test[:50].reshape(50, -1).astype(np.float32) / 255.0
    answers = [np.asarray(training.fit(config, data).model(x, training=False)) for config in (base, changed)]
    assert not np.allclose(answers[0], answers[1], atol=1e-6)


@pytest.mark.parametrize("options", [{"deskew": True}, {"stroke_width": 2.0}], ids=["deskew", "stroke width"])
def test_training_with_preprocessing_options_still_learns(mnist, options):
    result = training.fit(TrainConfig(epochs=1, learning_rate=0.5, **options), mnist.head(2000, 300))
    assert result.test_accuracy > 0.6


@pytest.mark.parametrize("epochs, images", [(1, 2000), (3, 3000)])
def test_averaged_weights_learn_even_from_a_short_training(mnist, epochs, images):
    """The average must not stay near the random initial weights when there are few steps."""
    config = TrainConfig(epochs=epochs, learning_rate=0.5, average_weights=True)
    averaged = training.fit(config, mnist.head(images, 500))
    last = training.fit(config.replace(average_weights=False), mnist.head(images, 500))
    assert averaged.test_accuracy > 0.75
    assert averaged.test_accuracy > last.test_accuracy - 0.03
    assert not np.allclose(averaged.model.get_weights()[0], last.model.get_weights()[0])


def test_styled_copies_are_learned_but_not_scored_as_training_images(mnist):
    data = mnist.head(1000, 300)
    result = training.fit(TrainConfig(epochs=1, learning_rate=0.5, styles=True), data)
    plain = training.fit(TrainConfig(epochs=1, learning_rate=0.5), data)
    assert result.test_accuracy > 0.6
    assert not np.allclose(result.model.get_weights()[0], plain.model.get_weights()[0])


def test_augmented_copies_still_differ_from_their_originals_after_the_pipeline(mnist):
    """The pipeline re-centres, re-sizes and re-strokes each digit, which undid most of what the
    augmentation had moved (a copy came out about a third as far from its original as it went
    in); the copies are moved again after it, so that the model sees digits a little off."""
    config = SHIPPED["cnn"].replace(augment=1)
    pipeline = Pipeline.from_config(config)
    images, labels = mnist.x_train[:300], mnist.y_train[:300]
    copies, copy_labels = training.augmented_pixels(images, labels, config, pipeline)
    assert copies.shape == (300, 784) and np.array_equal(copy_labels, labels)
    raw_copies = augment(images, labels, 1, seed=config.seed)[0][300:]
    went_in = np.abs(raw_copies.astype(int) - images).mean()
    came_out = np.abs(copies.astype(int) - training.to_pixels(images, pipeline)).mean()
    assert came_out > 0.6 * went_in


def test_the_styled_copies_get_augmented_copies_too(mnist, monkeypatch):
    data = mnist.head(1000, 300)
    seen = []

    def watched_augment(images, labels, *args, **kwargs):
        seen.append(labels)
        return augment(images, labels, *args, **kwargs)

    monkeypatch.setattr(training, "augment", watched_augment)
    training.fit(TrainConfig(epochs=1, styles=True, augment=1), data)
    styled = len(world_styles(data.x_train, data.y_train)[1])
    assert styled > 300 and len(seen) == 1 and len(seen[0]) == 1000 + styled
