"""Digit Canvas's core: MNIST, the softmax model, training, model files and recognition.

Importing the package is cheap: TensorFlow loads only with `model.training`,
`model.network` or `model.store.load_keras_model`, which only training needs.
"""
from .config import BEST, LESSON, PRESETS, TrainConfig
from .recognizer import Prediction, Recognizer, load_recognizer

__all__ = ["BEST", "LESSON", "PRESETS", "Prediction", "Recognizer", "TrainConfig", "load_recognizer"]
