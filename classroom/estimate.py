"""How long a training takes on this server, learnt from the trainings it has run.

An epoch costs some time per image (the arithmetic) and some per gradient step (each
step's fixed overhead, and the optimizer's update of every weight), so small batches cost
far more than their arithmetic:

    epoch seconds = per_image * images + per_step * steps,   steps = ceil(images / batch size)

Each architecture has its own two rates (a CNN's image costs about forty softmax ones), at its
default size; a smaller or larger hidden layer or CNN scales them (`image_cost`, `step_cost`).
The rates are fitted (least squares on relative errors, never negative) to what was measured
with the same architecture: the runs database's recorded trainings when the server starts,
then every epoch the training process reports; an architecture not run here yet starts from
the rates measured on this machine (`PRIORS`). The queue uses them for places and waits, and
for the per-student budget: a training whose estimate exceeds it is refused with what would fit.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Iterable

from model.config import TrainConfig, fields

MNIST_TRAIN_IMAGES = 60_000
STYLED_SHARE = 0.366        # the styled 1s, 7s and 9s add about this share of MNIST's training set
KEEP_SAMPLES = 64           # per architecture


@dataclass(frozen=True)
class Rates:
    per_image: float        # seconds per training image, at the architecture's default size
    per_step: float         # seconds per gradient step, at the architecture's default size


# Before anything was measured: rates measured on this 2-core machine with model.training.fit on
# full MNIST (2 epochs each, the first one's tracing included, while other work shared the cores).
PRIORS = {
    # The lesson: about 0.25 s for an epoch at batch size 100, 2.5 s at batch size 1.
    "softmax": Rates(per_image=4e-6, per_step=3.5e-5),
    # 128 hidden units, Adam: 0.4-1.1 s an epoch at batch size 128, 2.0-2.6 s at 16, 29-31 s at 1
    # (each step updates all 100,000 weights).
    "mlp": Rates(per_image=5e-6, per_step=5e-4),
    # 32 filters, Adam: 8.4-12.8 s an epoch at batch size 128 or 32, 19-28 s at 8.
    "cnn": Rates(per_image=1.6e-4, per_step=1.2e-3),
}


def image_cost(config: TrainConfig) -> float:
    """An image's cost relative to the architecture's default size. Measured at batch size 128:
    a hidden layer's epoch grows about linearly with its units (16: 0.1 s, 128: 0.4-0.5 s,
    512: 0.9-1.3 s); a CNN's has a fixed part and one growing with filters² (its second
    convolution has filters x 2 filters kernels): 4: 1.9 s, 8: 2.1 s, 16: 3.2 s, 32: 8.4 s."""
    if config.architecture == "mlp":
        return (32 + config.hidden_units) / (32 + 128)
    if config.architecture == "cnn":
        return (283 + config.filters ** 2) / (283 + 32 ** 2)
    return 1.0


def step_cost(config: TrainConfig) -> float:
    """A step's cost relative to the architecture's default size: a hidden layer's grows with its
    weights, which the optimizer updates at every step; a CNN's is mostly its many small
    operations' overhead (at batch size 8, 4 filters cost 1.1 ms a step, 32 filters 1.5 ms)."""
    return image_cost(config) if config.architecture == "mlp" else 1.0


def images_per_epoch(config: TrainConfig, base: int = MNIST_TRAIN_IMAGES) -> int:
    """How many images one epoch of `config` goes through, for a training set of `base` images:
    the augmented copies are made of the styled copies too."""
    return int(base * (1 + config.augment) * (1 + (STYLED_SHARE if config.styles else 0)))


@dataclass(frozen=True)
class Sample:
    """A measured training: `epochs` epochs of `images` images at `batch_size` took `seconds`,
    with `architecture` at a size whose images and steps cost `image_scale` and `step_scale`
    times its default size's (`image_cost`, `step_cost`)."""
    images: int
    batch_size: int
    epochs: int
    seconds: float
    architecture: str = "softmax"
    image_scale: float = 1.0
    step_scale: float = 1.0

    @classmethod
    def of(cls, config: TrainConfig, images: int, epochs: int, seconds: float) -> "Sample":
        """A measured training of `config`."""
        return cls(images, config.batch_size, epochs, seconds, config.architecture,
                   image_cost(config), step_cost(config))

    @property
    def steps(self) -> int:
        return self.epochs * math.ceil(self.images / self.batch_size)


class Speed:
    """This server's training speed, per architecture, refitted as samples arrive."""

    def __init__(self, samples: Iterable[Sample] = ()):
        self._samples: dict[str, deque[Sample]] = {name: deque(maxlen=KEEP_SAMPLES) for name in PRIORS}
        self.rates: dict[str, Rates] = dict(PRIORS)
        self.base_images = MNIST_TRAIN_IMAGES
        for sample in samples:
            self._samples[sample.architecture].append(sample)
        for name in PRIORS:
            self._fit(name)

    @classmethod
    def from_runs(cls, recorded: Iterable) -> "Speed":
        """Learnt from recorded trainings (`runs.Run`: their config and fit seconds), on full MNIST."""
        return cls(Sample.of(r.config, images_per_epoch(r.config), r.config.epochs, r.fit_seconds)
                   for r in recorded if r.fit_seconds)

    def add(self, sample: Sample) -> None:
        self._samples[sample.architecture].append(sample)
        self._fit(sample.architecture)

    def costs(self, config: TrainConfig) -> tuple[float, float]:
        """(seconds per image, seconds per step) of `config` on this server."""
        rates = self.rates[config.architecture]
        return rates.per_image * image_cost(config), rates.per_step * step_cost(config)

    def epoch_seconds(self, config: TrainConfig) -> float:
        images = images_per_epoch(config, self.base_images)
        per_image, per_step = self.costs(config)
        return per_image * images + per_step * math.ceil(images / config.batch_size)

    def training_seconds(self, config: TrainConfig) -> float:
        return config.epochs * self.epoch_seconds(config)

    def most_epochs(self, config: TrainConfig, budget: float) -> int:
        """How many epochs of `config` fit in `budget` seconds (0: not even one)."""
        return int(budget // self.epoch_seconds(config))

    def smallest_batch(self, config: TrainConfig, budget: float) -> int | None:
        """The smallest batch size with which `config.epochs` epochs fit in `budget` seconds."""
        images = images_per_epoch(config, self.base_images)
        per_image, per_step = self.costs(config)
        room = budget / config.epochs - per_image * images
        if room <= per_step:
            return None
        batch = max(1, math.ceil(per_step * images / room))
        while batch <= images and config.epochs * (per_image * images
                                                   + per_step * math.ceil(images / batch)) > budget:
            batch += 1
        return batch if batch <= images else None

    def most_filters(self, config: TrainConfig, budget: float) -> int | None:
        """For a CNN, the most filters (fewer than its own) with which `config.epochs` epochs fit
        in `budget` seconds: a CNN's batch size hardly changes its time, its filters do."""
        if config.architecture != "cnn":
            return None
        low = next(f for f in fields() if f.name == "filters").metadata["low"]
        return next((n for n in range(config.filters - 1, low - 1, -1)
                     if self.training_seconds(config.replace(filters=n)) <= budget), None)

    def _fit(self, architecture: str) -> None:
        """Least squares on relative errors: each sample counts alike, whatever its length."""
        rows = [(s.images * s.image_scale * s.epochs / s.seconds, s.steps * s.step_scale / s.seconds)
                for s in self._samples[architecture] if s.seconds > 0 and s.epochs > 0]
        if not rows:
            return
        current = self.rates[architecture]
        saa = sum(a * a for a, _ in rows)
        sbb = sum(b * b for _, b in rows)
        sab = sum(a * b for a, b in rows)
        sa = sum(a for a, _ in rows)
        sb = sum(b for _, b in rows)
        det = saa * sbb - sab * sab
        per_image = per_step = -1.0
        if len(rows) >= 2 and det > 1e-12 * saa * sbb:
            per_image = (sa * sbb - sb * sab) / det
            per_step = (sb * saa - sa * sab) / det
        if per_image < 0 or per_step < 0:
            # Samples that cannot tell the two rates apart (all one batch size): keep their
            # ratio as it was and scale both to fit.
            ratio = current.per_step / current.per_image
            denominator = sum((a + ratio * b) ** 2 for a, b in rows)
            per_image = sum(a + ratio * b for a, b in rows) / denominator
            per_step = ratio * per_image
        self.rates[architecture] = Rates(per_image, per_step)
