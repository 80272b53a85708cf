"""How long a training takes on this server, learnt from the trainings it has run.

An epoch costs some time per image (the arithmetic) and some per gradient step (each
step's fixed overhead), so small batches cost far more than their arithmetic:

    epoch seconds = per_image * images + per_step * steps,   steps = ceil(images / batch size)

The two rates are fitted (least squares on relative errors, never negative) to what was
measured: the runs database's recorded trainings when the server starts, then every epoch
the training process reports. The queue uses it for places and waits, and for the
per-student budget: a training whose estimate exceeds it is refused with what would fit.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Iterable

from model.config import TrainConfig

MNIST_TRAIN_IMAGES = 60_000
STYLED_SHARE = 0.316        # the styled 1s, 7s and 9s add about this share of MNIST's training set
# Before anything was measured: rates measured on this 2-core machine with the lesson's model
# (about 0.25 s for an epoch at batch size 100, 2.5 s at batch size 1).
PER_IMAGE_SECONDS = 4e-6
PER_STEP_SECONDS = 3.5e-5
KEEP_SAMPLES = 64


def images_per_epoch(config: TrainConfig, base: int = MNIST_TRAIN_IMAGES) -> int:
    """How many images one epoch of `config` goes through, for a training set of `base` images."""
    return int(base * (1 + config.augment) + (STYLED_SHARE * base if config.styles else 0))


@dataclass(frozen=True)
class Sample:
    """A measured training: `epochs` epochs of `images` images at `batch_size` took `seconds`."""
    images: int
    batch_size: int
    epochs: int
    seconds: float

    @property
    def steps(self) -> int:
        return self.epochs * math.ceil(self.images / self.batch_size)


class Speed:
    """This server's training speed, refitted as samples arrive."""

    def __init__(self, samples: Iterable[Sample] = ()):
        self._samples: deque[Sample] = deque(maxlen=KEEP_SAMPLES)
        self.per_image, self.per_step = PER_IMAGE_SECONDS, PER_STEP_SECONDS
        self.base_images = MNIST_TRAIN_IMAGES
        for sample in samples:
            self._samples.append(sample)
        self._fit()

    @classmethod
    def from_runs(cls, recorded: Iterable) -> "Speed":
        """Learnt from recorded trainings (`runs.Run`: their config and fit seconds), on full MNIST."""
        return cls(Sample(images_per_epoch(r.config), r.config.batch_size, r.config.epochs, r.fit_seconds)
                   for r in recorded if r.fit_seconds)

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)
        self._fit()

    def epoch_seconds(self, config: TrainConfig) -> float:
        images = images_per_epoch(config, self.base_images)
        return self.per_image * images + self.per_step * math.ceil(images / config.batch_size)

    def training_seconds(self, config: TrainConfig) -> float:
        return config.epochs * self.epoch_seconds(config)

    def most_epochs(self, config: TrainConfig, budget: float) -> int:
        """How many epochs of `config` fit in `budget` seconds (0: not even one)."""
        return int(budget // self.epoch_seconds(config))

    def smallest_batch(self, config: TrainConfig, budget: float) -> int | None:
        """The smallest batch size with which `config.epochs` epochs fit in `budget` seconds."""
        images = images_per_epoch(config, self.base_images)
        room = budget / config.epochs - self.per_image * images
        if room <= self.per_step:
            return None
        batch = max(1, math.ceil(self.per_step * images / room))
        while batch <= images and config.epochs * (self.per_image * images
                                                   + self.per_step * math.ceil(images / batch)) > budget:
            batch += 1
        return batch if batch <= images else None

    def _fit(self) -> None:
        """Least squares on relative errors: each sample counts alike, whatever its length."""
        rows = [(s.images * s.epochs / s.seconds, s.steps / s.seconds)
                for s in self._samples if s.seconds > 0 and s.epochs > 0]
        if not rows:
            return
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
            ratio = self.per_step / self.per_image
            denominator = sum((a + ratio * b) ** 2 for a, b in rows)
            per_image = sum(a + ratio * b for a, b in rows) / denominator
            per_step = ratio * per_image
        self.per_image, self.per_step = per_image, per_step
