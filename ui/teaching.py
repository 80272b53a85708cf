"""The teaching views under the canvas: the conversion step by step, the weights as
pictures, why this guess, where the model fails, the runs to compare, learning curves."""
from __future__ import annotations

import hashlib

import re

import altair as alt
import pandas as pd
import streamlit as st

from classroom import paths, runs
from model import insight
from model.data import DataError, load_mnist
from model.pictures import enlarge
from model.recognizer import Prediction, Recognizer
from ui.charts import history_frames
from ui.i18n import catalog, t, words

TABS = ["converts", "learned", "why", "fails", "runs", "curves"]     # tab ids; their names are in the catalog

# The conversion's step names (model.preprocess) -> catalog keys, with the numbers they carry.
STEP_NAMES = [
    (r"canvas", "steps.canvas"), (r"cropped to the ink", "steps.cropped"),
    (r"scaled to fit (?P<box>\d+)x\d+", "steps.scaled"), (r"centred by mass", "steps.centred"),
    (r"strokes redrawn (?P<width>[\d.]+) px wide.*", "steps.strokes"), (r"deskewed.*", "steps.deskewed"),
    (r"normalized by moments", "steps.moments"), (r"scaled and centred again", "steps.recentred"),
]


def step_name(name: str) -> str:
    for pattern, key in STEP_NAMES:
        found = re.fullmatch(pattern, name)
        if found:
            return t(key, **found.groupdict())
    return name


@st.cache_resource(show_spinner=False)
def mnist_test():
    """MNIST's test set, loaded once per server; None (with the reason) when it is missing."""
    path = paths.mnist_path()
    if path is None:  # never Keras's download: it would import TensorFlow into the server
        return None, t("fails.set_mnist_path")
    try:
        data = load_mnist(path)
    except DataError as e:
        return None, str(e)
    return (data.x_test, data.y_test), ""


@st.cache_resource(show_spinner=False, max_entries=16)
def test_report_for(model_key: str, _recognizer: Recognizer):
    """Computed once per model (`weights_key`: its weights, not its file, which a publish
    overwrites), shared by every session."""
    test, _ = mnist_test()
    return insight.test_report(_recognizer, *test) if test is not None else None


def conversion_ui(recognizer: Recognizer, image) -> None:
    if image is None:
        st.info(t("converts.draw"))
        return
    steps = insight.guesses_along(recognizer, image)
    if not steps:  # a canvas emptied by undo, an upload with no ink
        st.info(t("converts.no_ink"))
        return
    st.caption(t("converts.caption"))
    for column, (name, picture, digit, p) in zip(st.columns(len(steps)), steps):
        column.image(enlarge(picture, 140), caption=t("converts.step", step=step_name(name), digit=digit,
                                                      confidence=f"{p:.0%}"))


def weights_ui(recognizer: Recognizer) -> None:
    weights = insight.weight_images(recognizer)
    limit = float(abs(weights).max())
    st.caption(t("learned.caption"))
    for row in (range(0, 5), range(5, 10)):
        for column, d in zip(st.columns(5), row):
            column.image(insight.diverging(weights[d], limit), caption=t("learned.digit", digit=d))
    st.image(insight.legend(limit), caption=f"−{limit:.2f}   ←   0   →   +{limit:.2f}")


def evidence_ui(recognizer: Recognizer, prediction: Prediction) -> None:
    if prediction.digit is None:
        st.info(t("why.draw"))
        return
    first, second = prediction.ranked()[:2]
    maps = [insight.evidence(recognizer, prediction.input, d) for d in (first, second)]
    limit = max(float(abs(m.pixels).max()) for m in maps) or 1.0
    st.caption(t("why.caption"))
    for column, m, role in zip(st.columns(2), maps, ("guess", "runner_up")):
        column.image(insight.diverging(m.pixels, limit, size=224),
                     caption=t(f"why.{role}", digit=m.digit, score=f"{m.score:.2f}", bias=f"{m.bias:+.2f}"))
    st.image(insight.legend(limit), caption=f"−{limit:.2f}   ←   0   →   +{limit:.2f}")


def pick_cell() -> None:
    """A click on the confusion matrix sets the gallery's filters to that cell."""
    chosen = st.session_state.confusion.selection.get("cell") or []
    if chosen:
        st.session_state.gallery_true = str(chosen[0]["true"])
        st.session_state.gallery_guessed = str(chosen[0]["guessed"])


def weights_key(recognizer: Recognizer) -> str:
    return hashlib.sha256(recognizer.kernel.tobytes() + recognizer.bias.tobytes()).hexdigest()


def failures_ui(recognizer: Recognizer) -> None:
    with st.spinner(t("fails.scoring")):
        report = test_report_for(weights_key(recognizer), recognizer)
    if report is None:
        st.warning(t("fails.no_mnist", detail=mnist_test()[1]))
        return
    st.markdown(t("fails.accuracy", accuracy=f"{report.accuracy:.2%}", right=int(report.confusion.trace()),
                  total=int(report.confusion.sum())))
    cells = pd.DataFrame([(str(a), str(g), int(report.confusion[a, g])) for a in range(10) for g in range(10)],
                         columns=["true", "guessed", "count"])
    cell = alt.selection_point(fields=["true", "guessed"], name="cell")
    base = alt.Chart(cells).encode(x=alt.X("guessed:O", title=t("fails.guessed_axis")),
                                   y=alt.Y("true:O", title=t("fails.true_axis")))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues")),
                                   tooltip=["true", "guessed", "count"]).add_params(cell)
    text = base.mark_text(fontSize=11).encode(text="count:Q", color=alt.condition(
        alt.datum.count > report.confusion.max() / 4, alt.value("white"), alt.value("black")))
    st.caption(t("fails.click"))
    st.altair_chart((heat + text).properties(width=440, height=440), width="content",
                    on_select=pick_cell, key="confusion")
    digits = ["any"] + [str(d) for d in range(10)]
    left, right = st.columns(2)
    any_digit = words("fails.digit_{option}")
    true = left.selectbox(t("fails.true"), digits, key="gallery_true", format_func=any_digit)
    guessed = right.selectbox(t("fails.guessed"), digits, key="gallery_guessed", format_func=any_digit)
    picks = report.mistakes(None if true == "any" else int(true), None if guessed == "any" else int(guessed))
    if len(picks) == 0:
        st.info(t("fails.none"))
        return
    test, _ = mnist_test()
    st.caption(t("fails.shown", count=len(picks)))
    for start in range(0, len(picks), 8):
        for column, i in zip(st.columns(8), picks[start:start + 8]):
            column.image(enlarge(test[0][i] / 255.0, 84),
                         caption=f"{report.labels[i]} → {report.guesses[i]} ({report.confidences[i]:.0%})")


def runs_ui() -> str | None:
    """The recorded runs; returns the model file of a run the student chose to draw with."""
    try:
        recorded = runs.list_runs()
    except runs.RunsError as e:
        st.warning(t("runs.unavailable", detail=str(e)))
        return None
    if not recorded:
        st.info(t("runs.none"))
        return None
    table = pd.DataFrame([r.row() for r in recorded])
    names = {c: t(f"config.{c}.label") if f"config.{c}.label" in catalog("en") else t(f"runs.col.{c}")
             for c in table.columns}
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: (st.column_config.NumberColumn(names[c], format="percent")
                                    if c.endswith("accuracy") else st.column_config.Column(names[c]))
                                for c in table.columns})
    chart = alt.Chart(table).mark_circle(size=90).encode(
        x=alt.X("epochs:Q", title=t("config.epochs.label")),
        y=alt.Y("test_accuracy:Q", scale=alt.Scale(zero=False), title=t("runs.test_accuracy")),
        color=alt.Color("batch_size:N", title=t("config.batch_size.label")),
        tooltip=["run", "epochs", "batch_size", "learning_rate", "optimizer", "test_accuracy"])
    st.altair_chart(chart, width="stretch")
    usable = [r for r in recorded if r.model_path]
    choice = st.selectbox(t("runs.choose"), [r.id for r in usable], key="run_choice",
                          format_func=words("runs.run"))
    if st.button(t("runs.use"), key="use_run"):
        return next(r.model_path for r in usable if r.id == choice)
    return None


def curves_ui(recognizer: Recognizer) -> None:
    history = recognizer.metadata.get("history") or {}
    if not history.get("loss"):
        st.info(t("curves.none"))
        return
    loss, acc = history_frames(history, t("chart.train"), t("chart.test"), t("chart.epoch"))
    left, right = st.columns(2)
    left.caption(t("chart.loss_per_epoch"))
    left.line_chart(loss, height=220)
    right.caption(t("chart.accuracy_per_epoch"))
    right.line_chart(acc, height=220)


def teaching_ui(recognizer: Recognizer, image, prediction: Prediction) -> str | None:
    """The tabs; only the open tab is computed. Returns a run's model path if one was chosen."""
    tabs = st.tabs([t(f"tabs.{tab}") for tab in TABS], key="teaching_tab", on_change="rerun")
    chosen = None
    views = [lambda: conversion_ui(recognizer, image), lambda: weights_ui(recognizer),
             lambda: evidence_ui(recognizer, prediction), lambda: failures_ui(recognizer),
             None, lambda: curves_ui(recognizer)]
    for tab, view in zip(tabs, views):
        if not tab.open:
            continue
        with tab:
            if view is None:
                chosen = runs_ui()
            else:
                view()
    return chosen
