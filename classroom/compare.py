"""Models side by side: where their guesses for one drawing agree, and which of them reads the
class's collected drawings best (each drawing with the digit its student confirmed).

A drawing is read exactly as the page reads it, through `Recognizer.predict` (the same
conversion and ink check), so a model's score here is what the class would have seen from it.
No Streamlit: the page caches what it shows of these.
"""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from classroom.feedback import Drawing
from model.recognizer import Recognizer


@dataclass(frozen=True)
class Score:
    model: str        # the name the caller gave the model, e.g. its architecture
    right: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def readings(recognizer: Recognizer, drawings: Sequence[Drawing],
             known: MutableMapping[int, int | None] | None = None) -> dict[int, int | None]:
    """Each drawing's guess by `recognizer` (None: not read as a digit), by drawing id.
    `known` holds guesses this same model already made, by id; it is filled in as it goes,
    so that a class's new drawing costs one guess per model, not all of them again."""
    known = {} if known is None else known
    for d in drawings:
        if d.id not in known:
            known[d.id] = recognizer.predict(d.canvas).digit
    return {d.id: known[d.id] for d in drawings}


def score(recognizers: Mapping[str, Recognizer], drawings: Sequence[Drawing],
          known: Mapping[str, MutableMapping[int, int | None]] | None = None) -> list[Score]:
    """How many of `drawings` each model reads as the digit its student confirmed, best first
    (ties keep the order of `recognizers`). A drawing a model does not read as a digit counts
    as wrong: the student said it was one. `known`: `readings`' memory, per model name."""
    scores = []
    for name, recognizer in recognizers.items():
        guesses = readings(recognizer, drawings, None if known is None else known[name])
        right = sum(guesses[d.id] == d.true_digit for d in drawings)
        scores.append(Score(name, right, len(drawings)))
    return sorted(scores, key=lambda s: -s.accuracy)


def groups(guesses: Mapping[str, int]) -> list[tuple[int, list[str]]]:
    """The models grouped by the digit they read, in the order the models come:
    {"softmax": 7, "mlp": 4, "cnn": 4} -> [(7, ["softmax"]), (4, ["mlp", "cnn"])].
    One group: they all agree."""
    by_digit: dict[int, list[str]] = {}
    for name, digit in guesses.items():
        by_digit.setdefault(digit, []).append(name)
    return list(by_digit.items())
