"""The training configuration: every hyperparameter's default, bounds and help, in one place.

`TrainConfig()` is the classic lesson (SGD at Keras's default rate 0.01, batch 100,
5 epochs, raw MNIST pixels). `train.py`'s flags and the page's sidebar are generated
from the fields' metadata, so a default or a bound is written only here.
No TensorFlow here: the page imports this before TensorFlow is loaded.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value outside its bounds; the message names the bound. `field`, `kind`
    ("whole", "number", "bool", "choice", "low" or "high") and `bound` say the same for a
    page that words it in its own language."""

    def __init__(self, message: str, field: str = "", kind: str = "", bound: Any = None):
        super().__init__(message)
        self.field, self.kind, self.bound = field, kind, bound


# The lesson's softmax, then "the next lesson": a hidden layer, and a small convolutional network.
ARCHITECTURES = ("softmax", "mlp", "cnn")


def _param(default, help: str, *, low=None, high=None, choices=None, label: str = ""):
    return field(default=default, metadata={
        "help": help, "low": low, "high": high, "choices": choices,
        "label": label,
    })


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = _param("softmax", "The model: 'softmax' is the lesson's one layer (each digit's score a "
                                          "weighted sum of the pixels); 'mlp' adds a hidden layer of ReLU units; "
                                          "'cnn' is a small convolutional network that looks at 3x3 patches.",
                               choices=ARCHITECTURES, label="Model")
    hidden_units: int = _param(128, "With 'mlp': units in the hidden layer.", low=16, high=512,
                               label="Hidden units")
    filters: int = _param(32, "With 'cnn': filters in the first convolution (the second has twice as many). "
                              "Bounded so that an epoch of MNIST fits the class's training time.",
                          low=4, high=32, label="Filters")
    epochs: int = _param(5, "Passes over the 60,000 training images.", low=1, high=100,
                         label="Epochs")
    batch_size: int = _param(100, "Images per gradient step.", low=1, high=60000,
                             label="Batch size")
    learning_rate: float = _param(0.01, "Step size of the optimizer (SGD's Keras default is 0.01). "
                                        "Too large a step makes the loss grow instead of fall: try 100.",
                                  low=1e-5, high=1000.0, label="Learning rate")
    optimizer: str = _param("sgd", "How the weights are updated from the gradient.",
                            choices=("sgd", "adam"), label="Optimizer")
    average_weights: bool = _param(False, "Keep a running average of the weights over the last thousand "
                                          "or so steps and use it as the model (Keras's EMA): a large "
                                          "learning rate's last steps then matter less.",
                                   label="Average the weights")
    l2: float = _param(0.0, "L2 penalty on the weights (0 = none).", low=0.0, high=1.0,
                       label="L2 regularization")
    seed: int = _param(0, "Random seed for the initial weights and the shuffling.",
                       low=0, high=2**31 - 1, label="Seed")
    normalization: str = _param("box", "How a digit is scaled and centred in 28x28: 'box' is MNIST's own "
                                        "recipe (longer side 20 px, centre of mass in the middle); "
                                        "'moments' centres it on its ink and scales each side by the "
                                        "ink's spread, evening out tall and wide digits.",
                                choices=("box", "moments"), label="Size normalization")
    aspect: float = _param(0.1, "With 'moments': how much of a digit's own width-to-height ratio it "
                                "keeps (1 = as written, 0 = every digit fills a square).",
                           low=0.0, high=1.0, label="Kept aspect ratio")
    deskew: bool = _param(False, "Straighten slanted digits by their image moments, "
                                 "in training and at inference alike.", label="Deskew")
    stroke_width: float = _param(0.0, "Thin or thicken every digit's strokes to this width, in 28x28 "
                                      "pixels (0 = keep the strokes as they are).",
                                 low=0.0, high=6.0, label="Normalized stroke width")
    augment: int = _param(0, "Extra randomly shifted, rotated, scaled and thickened copies of each "
                             "training image, the styled ones too, moved a little again after the "
                             "conversion to 28 x 28 (0 = none).",
                          low=0, high=10, label="Augmented copies")
    styles: bool = _param(False, "Also learn from copies of MNIST's 1s, 7s and 9s written as much of the "
                                 "world writes them: 1 with a flag, 7 with a crossbar, 9 with a hooked tail.",
                          label="Flagged 1s, crossed 7s, hooked 9s")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if f.type in ("int", int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{f.name} must be a whole number, got {value!r}", f.name, "whole")
            if f.type in ("float", float):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                    raise ConfigError(f"{f.name} must be a number, got {value!r}", f.name, "number")
                object.__setattr__(self, f.name, float(value))
            if f.type in ("bool", bool) and not isinstance(value, bool):
                raise ConfigError(f"{f.name} must be true or false, got {value!r}", f.name, "bool")
            if meta["choices"] is not None and value not in meta["choices"]:
                raise ConfigError(f"{f.name} must be one of {', '.join(meta['choices'])}, got {value!r}",
                                  f.name, "choice", meta["choices"])
            if meta["low"] is not None and value < meta["low"]:
                raise ConfigError(f"{f.name} must be at least {meta['low']:g}, got {value:g}", f.name, "low",
                                  meta["low"])
            if meta["high"] is not None and value > meta["high"]:
                raise ConfigError(f"{f.name} must be at most {meta['high']:g}, got {value:g}", f.name, "high",
                                  meta["high"])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Rebuild from saved metadata; unknown keys (from newer files) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def fields() -> tuple[dataclasses.Field, ...]:
    """The config's fields, in order, for generating flags and widgets."""
    return dataclasses.fields(TrainConfig)


LESSON = TrainConfig()
# The shipped model's settings; chosen by bench/preprocessing.py and bench/train_speed.py.
BEST = TrainConfig(epochs=20, learning_rate=0.5, average_weights=True, normalization="moments", aspect=0.1,
                   deskew=True, stroke_width=3.0, styles=True)

# The next lesson: the same data and preprocessing as BEST, with a hidden layer or a small CNN,
# trained the way Keras's examples train them (Adam at its default 0.001, batch 128). The CNN's
# epochs fit a student's default 60 s budget (classroom/estimate.py: about 11 s per epoch of
# MNIST on 2 cores, 14 s with the styled copies); the hidden layer's take under a second each.
_NEXT_LESSON = BEST.replace(optimizer="adam", learning_rate=0.001, batch_size=128, average_weights=False)
HIDDEN_LAYER = _NEXT_LESSON.replace(architecture="mlp", epochs=10)
CNN = _NEXT_LESSON.replace(architecture="cnn", epochs=3)

PRESETS: dict[str, TrainConfig] = {"the lesson": LESSON, "best": BEST,
                                   "next lesson: hidden layer": HIDDEN_LAYER, "next lesson: CNN": CNN}

# The recipes of the shipped model files (model/trained/: digits.keras, mlp.keras, cnn.keras):
# the next-lesson presets trained longer on more copies, which takes minutes, not a class's
# budget. bench/architectures.py trains the same recipes; the README has the commands.
SHIPPED: dict[str, TrainConfig] = {
    "softmax": BEST,
    "mlp": HIDDEN_LAYER.replace(augment=2),
    # aspect 0.5: a CNN reads shapes, and a flagged 1 kept narrower than a 7 is one fewer 1 read as 7.
    # Strokes 2 px wide (MNIST's median is 2.5) keep a small loop open; the weights' average
    # evens out how the last steps swing the 1/7 and 9/3 borders from one seed to the next.
    "cnn": CNN.replace(epochs=8, augment=2, aspect=0.5, stroke_width=2.0, average_weights=True),
}
