"""Small shared pieces for charts."""
from __future__ import annotations

import pandas as pd


def history_frames(history: dict[str, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keras history -> (loss, accuracy) frames indexed by epoch, with train and test columns."""
    epochs = pd.RangeIndex(1, len(history.get("loss", [])) + 1, name="epoch")
    loss = pd.DataFrame({"train": history.get("loss", []), "test": history.get("val_loss", [])}, index=epochs)
    acc = pd.DataFrame({"train": history.get("accuracy", []), "test": history.get("val_accuracy", [])},
                       index=epochs)
    return loss, acc
