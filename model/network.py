"""The models (the lesson's softmax: 784 pixels -> one Dense layer -> 10 probabilities; and the
next lesson's hidden-layer network and small CNN) and the trainer that fits any of them a whole
epoch per compiled call. The only place layers are named."""
from __future__ import annotations

import keras
import tensorflow as tf

from .config import TrainConfig

PIXELS = 28 * 28
CLASSES = 10


# With averaging, the model is the weights' exponential moving average over about this many
# steps, or over the last quarter of the training if it is shorter: Keras's average starts
# from the initial weights, whose share after the training is then at most e^-4.
AVERAGE_OVER_STEPS = 1000


def make_optimizer(config: TrainConfig, steps: int = 0) -> keras.optimizers.Optimizer:
    """The config's optimizer, for a training of `steps` optimizer steps in all."""
    average = {}
    if config.average_weights:
        span = max(1.0, min(AVERAGE_OVER_STEPS, steps / 4))
        # `fit` writes the average into the weights when it ends (Keras's finalize_variable_values).
        average = dict(use_ema=True, ema_momentum=1 - 1 / span)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=config.learning_rate, **average)
    return keras.optimizers.SGD(learning_rate=config.learning_rate, **average)


def build_model(config: TrainConfig) -> keras.Sequential:
    """The config's model, from 784 pixels in [0, 1] to 10 probabilities:
    - softmax: the lesson, multinomial logistic regression on the 784 pixels;
    - mlp: one hidden layer of ReLU units before the softmax;
    - cnn: two 3x3 convolution + 2x2 max-pooling stages, then the softmax (Keras's
      mnist_convnet example, with its dropout against over-fitting)."""
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    layers: list[keras.layers.Layer] = [keras.Input(shape=(PIXELS,))]
    if config.architecture == "mlp":
        layers.append(keras.layers.Dense(config.hidden_units, activation="relu",
                                         kernel_regularizer=regularizer, name="hidden"))
    elif config.architecture == "cnn":
        layers += [
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(config.filters, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(2 * config.filters, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
        ]
    layers.append(keras.layers.Dense(CLASSES, activation="softmax", kernel_regularizer=regularizer,
                                     name="softmax"))
    return keras.Sequential(layers, name="digits")


class EpochTrainer(keras.Model):
    """Fits `network` with mini-batch steps exactly as `fit(batch_size=...)` would (a fresh
    shuffle per epoch, one optimizer step per batch, the epoch's mean loss and accuracy),
    but runs the whole epoch inside one compiled call. For a model this small, Keras's
    per-batch overhead costs more than the arithmetic: this is about 3x faster.

    Feed it `tf.data.Dataset.from_tensors((x_uint8, y_onehot)).repeat()` with
    `steps_per_epoch=1`; pixels are stored as uint8 to keep the training set small in memory.
    """

    def __init__(self, network: keras.Model, batch_size: int, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.batch_size = batch_size

    def call(self, x, training=False):
        return self.network(x, training=training)

    def train_step(self, data):
        x_all, y_all = data
        n = tf.shape(x_all)[0]
        order = tf.random.shuffle(tf.range(n))
        steps = (n + self.batch_size - 1) // self.batch_size

        def step(i, loss_sum, correct):
            batch = order[i * self.batch_size: tf.minimum((i + 1) * self.batch_size, n)]
            x = tf.cast(tf.gather(x_all, batch), tf.float32) / 255.0
            y = tf.gather(y_all, batch)
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply(grads, self.trainable_weights)
            size = tf.cast(tf.shape(x)[0], tf.float32)
            hits = tf.reduce_sum(tf.cast(tf.argmax(y_pred, 1) == tf.argmax(y, 1), tf.float32))
            return i + 1, loss_sum + loss * size, correct + hits

        _, loss_sum, correct = tf.while_loop(
            lambda i, *_: i < steps, step, (tf.constant(0), tf.constant(0.0), tf.constant(0.0)))
        total = tf.cast(n, tf.float32)
        return {"loss": loss_sum / total, "accuracy": correct / total}
