"""Small shared pieces for charts.

The chart under every guess is drawn on each drawing of every student, so it is a plain
Vega-Lite spec with its ten values inline: Streamlit passes it through as it is, where
`st.bar_chart` builds an Altair chart and validates it against Vega-Lite's JSON schema
(about 15 ms of the server's CPU per guess, more than everything else the guess costs)."""
from __future__ import annotations

import pandas as pd


def history_frames(history: dict[str, list[float]], train: str = "train", test: str = "test",
                   epoch: str = "epoch") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keras history -> (loss, accuracy) frames indexed by epoch, with train and test columns
    (named in the page's language)."""
    epochs = pd.RangeIndex(1, len(history.get("loss", [])) + 1, name=epoch)
    loss = pd.DataFrame({train: history.get("loss", []), test: history.get("val_loss", [])}, index=epochs)
    acc = pd.DataFrame({train: history.get("accuracy", []), test: history.get("val_accuracy", [])},
                       index=epochs)
    return loss, acc


def probability_spec(probabilities, digit: str = "digit", probability: str = "probability") -> dict:
    """Ten bars, one per digit, on a fixed 0-1 axis (so bars compare across drawings); the
    axes' titles in the page's language."""
    values = [{"digit": str(d), "probability": float(p)} for d, p in enumerate(probabilities)]
    return {
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "digit", "type": "ordinal", "title": digit, "axis": {"labelAngle": 0}},
            "y": {"field": "probability", "type": "quantitative", "title": probability,
                  "scale": {"domain": [0, 1]}, "axis": {"format": "%"}},
        },
    }
