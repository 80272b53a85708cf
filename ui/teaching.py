"""The teaching views under the canvas: the conversion step by step, the weights as
pictures, why this guess, where the model fails, the runs to compare, learning curves."""
from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st

from classroom import paths, runs
from model import insight
from model.data import DataError, load_mnist
from model.pictures import enlarge
from model.recognizer import Prediction, Recognizer
from ui.charts import history_frames

TABS = ["How it converts", "What it learned", "Why this guess", "Where it fails", "Compare runs",
        "Learning curves"]


@st.cache_resource(show_spinner=False)
def mnist_test():
    """MNIST's test set, loaded once per server; None (with the reason) when it is missing."""
    path = paths.mnist_path()
    if path is None:  # never Keras's download: it would import TensorFlow into the server
        return None, ("Set MNIST_PATH to Keras's mnist.npz (or copy it to ~/.keras/datasets/mnist.npz) "
                      "and restart the server.")
    try:
        data = load_mnist(path)
    except DataError as e:
        return None, str(e)
    return (data.x_test, data.y_test), ""


@st.cache_resource(show_spinner="Scoring the model on MNIST's 10,000 test digits…", max_entries=16)
def test_report_for(model_key: str, _recognizer: Recognizer):
    """Computed once per model (`weights_key`: its weights, not its file, which a publish
    overwrites), shared by every session."""
    test, _ = mnist_test()
    return insight.test_report(_recognizer, *test) if test is not None else None


def conversion_ui(recognizer: Recognizer, image) -> None:
    if image is None:
        st.info("Draw a digit to see each step that turns it into the model's 28 × 28 input.")
        return
    steps = insight.guesses_along(recognizer, image)
    if not steps:  # a canvas emptied by the toolbar's undo, an upload with no ink
        st.info("There is no ink to convert: draw a digit to see each step.")
        return
    st.caption("Each step of the conversion, and what the model would guess if it were fed the image "
               "at that step (squashed to 28 × 28 where it is not 28 × 28 yet, as naive demos do).")
    for column, (name, picture, digit, p) in zip(st.columns(len(steps)), steps):
        column.image(enlarge(picture, 140), caption=f"{name} → guess {digit} ({p:.0%})")


def weights_ui(recognizer: Recognizer) -> None:
    weights = insight.weight_images(recognizer)
    limit = float(abs(weights).max())
    st.caption("Each digit's 784 weights, one per pixel. A red pixel with ink pushes the score for that "
               "digit up, a blue one pushes it down; white is zero. All ten share one colour scale.")
    for row in (range(0, 5), range(5, 10)):
        for column, d in zip(st.columns(5), row):
            column.image(insight.diverging(weights[d], limit), caption=f"digit {d}")
    st.image(insight.legend(limit), caption=f"−{limit:.2f}   ←   0   →   +{limit:.2f}")


def evidence_ui(recognizer: Recognizer, prediction: Prediction) -> None:
    if prediction.digit is None:
        st.info("Draw a digit to see which strokes pushed the model toward its guess.")
        return
    first, second = prediction.ranked()[:2]
    maps = [insight.evidence(recognizer, prediction.input, d) for d in (first, second)]
    limit = max(float(abs(m.pixels).max()) for m in maps) or 1.0
    st.caption("Input × weights: each inked pixel's push toward the digit (red for, blue against). "
               "The score is their sum plus the digit's bias; the highest score wins.")
    for column, m, role in zip(st.columns(2), maps, ("guess", "runner-up")):
        column.image(insight.diverging(m.pixels, limit, size=224),
                     caption=f"{role}: {m.digit} — score {m.score:.2f} (bias {m.bias:+.2f})")
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
    report = test_report_for(weights_key(recognizer), recognizer)
    if report is None:
        st.warning(f"MNIST is not available on this server, so the test-set views are off. {mnist_test()[1]}")
        return
    st.markdown(f"MNIST test accuracy: **{report.accuracy:.2%}** "
                f"({int(report.confusion.trace())} of {int(report.confusion.sum())} right)")
    cells = pd.DataFrame([(str(t), str(g), int(report.confusion[t, g])) for t in range(10) for g in range(10)],
                         columns=["true", "guessed", "count"])
    cell = alt.selection_point(fields=["true", "guessed"], name="cell")
    base = alt.Chart(cells).encode(x=alt.X("guessed:O", title="guessed"), y=alt.Y("true:O", title="true digit"))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues")),
                                   tooltip=["true", "guessed", "count"]).add_params(cell)
    text = base.mark_text(fontSize=11).encode(text="count:Q", color=alt.condition(
        alt.datum.count > report.confusion.max() / 4, alt.value("white"), alt.value("black")))
    st.caption("Click a cell to see those mistakes below.")
    st.altair_chart((heat + text).properties(width=440, height=440), width="content",
                    on_select=pick_cell, key="confusion")
    digits = ["any"] + [str(d) for d in range(10)]
    left, right = st.columns(2)
    true = left.selectbox("True digit", digits, key="gallery_true")
    guessed = right.selectbox("Guessed as", digits, key="gallery_guessed")
    picks = report.mistakes(None if true == "any" else int(true), None if guessed == "any" else int(guessed))
    if len(picks) == 0:
        st.info("No mistakes of that kind on the test set.")
        return
    test, _ = mnist_test()
    st.caption(f"The most confident mistakes of that kind ({len(picks)} shown).")
    for start in range(0, len(picks), 8):
        for column, i in zip(st.columns(8), picks[start:start + 8]):
            column.image(enlarge(test[0][i] / 255.0, 84),
                         caption=f"{report.labels[i]} → {report.guesses[i]} ({report.confidences[i]:.0%})")


def runs_ui() -> str | None:
    """The recorded runs; returns the model file of a run the student chose to draw with."""
    try:
        recorded = runs.list_runs()
    except runs.RunsError as e:
        st.warning(str(e))
        return None
    if not recorded:
        st.info("No trainings recorded yet: train from the sidebar (or with train.py) and they appear here.")
        return None
    table = pd.DataFrame([r.row() for r in recorded])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("train_accuracy", "test_accuracy", "drawn_accuracy")})
    chart = alt.Chart(table).mark_circle(size=90).encode(
        x=alt.X("epochs:Q"), y=alt.Y("test_accuracy:Q", scale=alt.Scale(zero=False), title="test accuracy"),
        color=alt.Color("batch_size:N", title="batch size"),
        tooltip=["run", "epochs", "batch_size", "learning_rate", "optimizer", "test_accuracy"])
    st.altair_chart(chart, width="stretch")
    usable = [r for r in recorded if r.model_path]
    choice = st.selectbox("Draw with the model of run", [r.id for r in usable], key="run_choice",
                          format_func=lambda i: f"run {i}")
    if st.button("Use this run's model", key="use_run"):
        return next(r.model_path for r in usable if r.id == choice)
    return None


def curves_ui(recognizer: Recognizer) -> None:
    history = recognizer.metadata.get("history") or {}
    if not history.get("loss"):
        st.info("This model's training history is not recorded.")
        return
    loss, acc = history_frames(history)
    left, right = st.columns(2)
    left.caption("Loss per epoch")
    left.line_chart(loss, height=220)
    right.caption("Accuracy per epoch")
    right.line_chart(acc, height=220)


def teaching_ui(recognizer: Recognizer, image, prediction: Prediction) -> str | None:
    """The tabs; only the open tab is computed. Returns a run's model path if one was chosen."""
    tabs = st.tabs(TABS, key="teaching_tab", on_change="rerun")
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
