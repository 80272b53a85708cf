"""Small shared pieces for charts.

The chart under every guess is drawn on each drawing of every student, so it is a plain
Vega-Lite spec with its ten values inline: Streamlit passes it through as it is, where
`st.bar_chart` builds an Altair chart and validates it against Vega-Lite's JSON schema
(about 15 ms of the server's CPU per guess, more than everything else the guess costs).
The learning curves and the runs' chart are plain specs too, with axes fitted to their data:
Streamlit's own `st.line_chart` starts every axis at zero, where 95 % and 97 % look alike."""
from __future__ import annotations

import math

import pandas as pd


def history_frames(history: dict[str, list[float]], train: str = "train", test: str = "test",
                   epoch: str = "epoch") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keras history -> (loss, accuracy) frames indexed by epoch, with train and test columns
    (named in the page's language)."""
    epochs = pd.RangeIndex(1, len(history.get("loss", [])) + 1, name=epoch)

    def frame(train_key: str, test_key: str) -> pd.DataFrame:   # a missing test score is left empty
        return pd.DataFrame({name: pd.Series(history.get(key, [])[:len(epochs)], dtype=float,
                                             index=epochs[:len(history.get(key, []))])
                             for name, key in ((train, train_key), (test, test_key))}, index=epochs)

    return frame("loss", "val_loss"), frame("accuracy", "val_accuracy")


def fitted_domain(values, low: float | None = None, high: float | None = None, margin: float = 0.15,
                  least: float = 0.01) -> list[float]:
    """A y-axis domain around `values` with `margin` of their range either side (at least
    `least`), kept within [low, high]: a change from 0.95 to 0.97 fills the chart instead of
    sitting flat at the top of a 0-1 axis."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return [low if low is not None else 0.0, high if high is not None else 1.0]
    lo, hi = min(finite), max(finite)
    pad = max((hi - lo) * margin, least)
    lo, hi = lo - pad, hi + pad
    return [max(lo, low) if low is not None else lo, min(hi, high) if high is not None else hi]


def curve_spec(frame: pd.DataFrame, percent: bool = False, value: str = "value", series: str = "data") -> dict:
    """One `history_frames` frame (epochs down, train and test across) as a line chart whose
    y-axis is fitted to the curves, not started at zero; accuracies (`percent`) in %. `value` and
    `series` title the tooltip. A plain Vega-Lite spec, for
    `st.vega_lite_chart(spec, height=..., width="stretch")`."""
    epoch = frame.index.name or "epoch"
    values = [{"epoch": int(e), "series": str(name), "value": float(v)}
              for name in frame.columns for e, v in frame[name].items() if v is not None and math.isfinite(v)]
    domain = fitted_domain([v["value"] for v in values], *((0.0, 1.0) if percent else (0.0, None)))
    number = ".1%" if percent else ".3f"
    return {
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "title": epoch,
                  "axis": {"format": "d", "tickMinStep": 1}, "scale": {"domain": [1, max(len(frame), 2)]}},
            "y": {"field": "value", "type": "quantitative", "title": None,
                  "scale": {"domain": domain, "zero": False}, "axis": {"format": number}},
            "color": {"field": "series", "type": "nominal", "title": None, "sort": [str(c) for c in frame.columns],
                      "legend": {"orient": "right"}},
            "tooltip": [{"field": "series", "type": "nominal", "title": series},
                        {"field": "epoch", "type": "quantitative", "title": epoch},
                        {"field": "value", "type": "quantitative", "title": value, "format": number}],
        },
    }


def history_specs(history: dict[str, list[float]], train: str = "train", test: str = "test",
                  epoch: str = "epoch", loss: str = "loss", accuracy: str = "accuracy",
                  series: str = "data") -> tuple[dict, dict]:
    """Keras history -> (loss chart, accuracy chart), each on a y-axis fitted to its curves; the
    words (series, axis and tooltip titles) in the page's language."""
    losses, accuracies = history_frames(history, train, test, epoch)
    return (curve_spec(losses, value=loss, series=series),
            curve_spec(accuracies, percent=True, value=accuracy, series=series))


def runs_spec(points: list[dict], titles: dict[str, str] | None = None) -> dict:
    """Recorded runs as points, each labelled with its run number: test accuracy (on an axis
    fitted to the runs) against the learning rate on a log scale, the knob that moves it most;
    colour is the batch size, shape the optimizer. `points` are dicts with the keys run,
    learning_rate, test_accuracy, batch_size, optimizer and changes (the tooltip's words);
    `titles` names those keys in the page's language."""
    title = {key: key.replace("_", " ") for key in RUN_FIELDS} | (titles or {})
    rates = [p["learning_rate"] for p in points] or [0.01]
    encoding = {
        "x": {"field": "learning_rate", "type": "quantitative", "title": title["learning_rate"],
              "scale": {"type": "log", "domain": [min(rates) / 2, max(rates) * 2]}, "axis": {"format": "~g"}},
        "y": {"field": "test_accuracy", "type": "quantitative", "title": title["test_accuracy"],
              "axis": {"format": ".1%"},
              "scale": {"domain": fitted_domain([p["test_accuracy"] for p in points], 0.0, 1.0), "zero": False}},
    }
    return {
        "data": {"values": points},
        "layer": [
            {"mark": {"type": "point", "filled": True, "size": 110, "opacity": 0.85},
             "encoding": {**encoding,
                          "color": {"field": "batch_size", "type": "ordinal", "title": title["batch_size"],
                                    "scale": {"scheme": "viridis"}},
                          "shape": {"field": "optimizer", "type": "nominal", "title": title["optimizer"]},
                          "tooltip": [{"field": "run", "type": "nominal", "title": title["run"]},
                                      {"field": "changes", "type": "nominal", "title": title["changes"]},
                                      {"field": "test_accuracy", "type": "quantitative",
                                       "title": title["test_accuracy"], "format": ".2%"}]}},
            {"mark": {"type": "text", "align": "left", "dx": 8, "fontSize": 11},
             "encoding": {**encoding, "text": {"field": "run", "type": "nominal"}}},
        ],
    }


RUN_FIELDS = ("run", "learning_rate", "test_accuracy", "batch_size", "optimizer", "changes")


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
