"""The teaching views under the canvas: the conversion step by step, the weights as
pictures, why this guess, the CNN's filters, where the model fails, the runs to compare,
learning curves. The weights and "why" explain a softmax: beside another model, the shipped one."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from classroom import paths, runs
from model import insight
from model.data import DataError, load_mnist
from model.pictures import enlarge
from model.preprocess import prepare_mnist
from model.recognizer import Prediction, Recognizer
from ui.charts import history_specs, runs_spec
from ui.filters import filters_ui
from ui.i18n import t, words
from ui.models import softmax_for

# The tabs' captions and the leaderboard's cells break between words only. Streamlit's own
# style breaks Korean between any two syllables ("자르|기"); `keep-all` keeps every word whole.
CAPTION_STYLE = """<style>
.st-key-teaching_tab [data-testid="stCaptionContainer"],
.st-key-teaching_tab [data-testid="stCaptionContainer"] *,
.st-key-teaching_tab td [data-testid],
.st-key-teaching_tab td [data-testid] * { word-break: keep-all; overflow-wrap: normal; }
</style>"""

TABS = ["converts", "learned", "why", "filters", "fails", "runs", "curves"]     # tab ids; their names are in the catalog

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


@st.cache_resource(show_spinner=False, max_entries=4)
def prepared_test(pipeline_key: str, _pipeline):
    """MNIST's test digits prepared for a pipeline (`repr` of it): once per server and pipeline."""
    test, _ = mnist_test()
    return prepare_mnist(test[0], _pipeline) if test is not None else None


@st.cache_resource(show_spinner=False, max_entries=16)
def test_report_for(model_key: str, _recognizer: Recognizer):
    """Computed once per model (`fingerprint`: its weights, not its file, which a publish
    overwrites), shared by every session."""
    test, _ = mnist_test()
    if test is None:
        return None
    return insight.test_report(_recognizer, *test, inputs=prepared_test(repr(_recognizer.pipeline),
                                                                         _recognizer.pipeline))


@st.cache_resource(show_spinner=False, max_entries=16)
def patterns_for(model_key: str, _recognizer: Recognizer):
    """The weights as the patterns they respond to in MNIST's test digits; None without MNIST."""
    inputs = prepared_test(repr(_recognizer.pipeline), _recognizer.pipeline)
    return insight.weight_patterns(_recognizer, inputs) if inputs is not None else None


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
        caption = t("converts.step", step=step_name(name), digit=digit, confidence=f"{p:.0%}")
        column.image(enlarge(insight.square(picture), 140), caption=caption)   # square: one size for all


def weights_ui(recognizer: Recognizer) -> None:
    """Each digit's weights as a picture: by default as the pattern they respond to in real
    digits (legible), or as they are (noisy: what "Why this guess" multiplies the ink by)."""
    view = st.radio(t("teach.weights_view"), ["patterns", "weights"], key="weights_view", horizontal=True,
                    format_func=words("teach.weights_{option}"), label_visibility="collapsed")
    pictures = None
    if view == "patterns":
        with st.spinner(t("teach.weights_preparing")):
            pictures = patterns_for(recognizer.fingerprint, recognizer)
        if pictures is None:
            st.info(t("teach.weights_no_mnist"))
    if pictures is not None:    # each on its own scale: the patterns' units mean nothing to a student
        st.caption(t("learned.caption"))
        limits = [float(abs(p).max()) for p in pictures]
        legend = t("teach.patterns_legend")
    else:
        pictures = insight.weight_images(recognizer)
        limits = [float(abs(pictures).max())] * 10
        st.caption(t("teach.weights_caption"))
        legend = f"−{limits[0]:.2f}   ←   0   →   +{limits[0]:.2f}"
    for row in (range(0, 5), range(5, 10)):
        for column, d in zip(st.columns(5), row):
            column.image(insight.diverging(pictures[d], limits[d], size=140, smooth=view == "patterns"),
                         caption=t("learned.digit", digit=d))
    st.image(insight.legend(1.0), caption=legend)


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


def failures_ui(recognizer: Recognizer) -> None:
    with st.spinner(t("fails.scoring")):
        report = test_report_for(recognizer.fingerprint, recognizer)
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


def plural(key: str, count) -> str:
    """'1 epoch', '2 epochs': the catalog's `key_one` for exactly one, `key` otherwise."""
    return t(f"{key}_one" if count == 1 else key, value=count)


def setting_words(name: str, value) -> str:
    """One changed setting in words: '20 epochs', 'learning rate 0.5', 'deskewed'."""
    if name in ("epochs", "augment"):
        return plural(f"teach.set_{name}", value)
    if isinstance(value, bool):
        return t(f"teach.set_{name}") if value else t("teach.set_off", label=t(f"config.{name}.label"))
    if name in ("optimizer", "normalization", "architecture"):
        return t(f"teach.set_{name}_{value}")
    return t(f"teach.set_{name}", value=f"{value:g}" if isinstance(value, float) else value)


def changes_text(config) -> str:
    """What a run changed from the lesson, in words; the lesson itself says so."""
    changed = [setting_words(name, value) for name, value in insight.changes(config).items()]
    return ", ".join(changed) if changed else t("teach.lesson")


def viewer_zone() -> str | None:
    try:
        return st.context.timezone
    except Exception:  # no browser behind this run
        return None


def local_when(iso: str, zone: str | None, now: dt.datetime | None = None) -> str:
    """A run's UTC time stamp on the viewer's clock: '14:05' today, '2026-11-28 14:05' before."""
    try:
        tz = ZoneInfo(zone) if zone else None
        stamp = dt.datetime.fromisoformat(iso).astimezone(tz)
        today = (now or dt.datetime.now(dt.timezone.utc)).astimezone(tz).date()
    except (ValueError, TypeError, KeyError, OSError):
        return iso[:16].replace("T", " ")
    return stamp.strftime("%H:%M" if stamp.date() == today else "%Y-%m-%d %H:%M")


def ranked(recorded: list) -> list:
    """Best first: by accuracy on people's drawings where it was measured, then on MNIST's test set."""
    return sorted(recorded, key=lambda r: (r.drawn_accuracy is None, -(r.drawn_accuracy or 0.0),
                                           -(r.test_accuracy or 0.0), -r.id))


def leaderboard(recorded: list, zone: str | None = None) -> pd.DataFrame:
    """The runs as a leaderboard: place, run, what it changed from the lesson, its scores, when.
    The drawings' column only when some run was scored on drawings."""
    rows = [{"place": place, "run": r.id, "changes": changes_text(r.config), "drawn_accuracy": r.drawn_accuracy,
             "test_accuracy": r.test_accuracy, "time": local_when(r.created_at, zone)}
            for place, r in enumerate(ranked(recorded), start=1)]
    table = pd.DataFrame(rows, columns=["place", "run", "changes", "drawn_accuracy", "test_accuracy", "time"])
    return table if table["drawn_accuracy"].notna().any() else table.drop(columns="drawn_accuracy")


LEADERBOARD_COLUMNS = {"place": "teach.col_place", "run": "runs.col.run", "changes": "teach.col_changes",
                       "drawn_accuracy": "runs.col.drawn_accuracy", "test_accuracy": "runs.col.test_accuracy",
                       "time": "runs.col.time"}


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
    table = leaderboard(recorded, viewer_zone())
    st.caption(t("teach.leaderboard"))
    # A table, not a dataframe: the changed settings wrap onto more lines instead of being cut off.
    names = {c: t(LEADERBOARD_COLUMNS[c]) for c in table.columns}
    percent = {names[c]: "{:.2%}" for c in ("drawn_accuracy", "test_accuracy") if c in table.columns}
    st.table(table.rename(columns=names).style.format(percent, na_rep="–"), hide_index=True, border="horizontal")
    points = [{"run": str(r.id), "learning_rate": r.config.learning_rate, "test_accuracy": r.test_accuracy,
               "batch_size": r.config.batch_size, "optimizer": t(f"config.optimizer.{r.config.optimizer}"),
               "changes": changes_text(r.config)} for r in recorded if r.test_accuracy is not None]
    st.caption(t("teach.runs_chart"))
    titles = {"run": t("runs.col.run"), "learning_rate": t("config.learning_rate.label"),
              "test_accuracy": t("runs.test_accuracy"), "batch_size": t("config.batch_size.label"),
              "optimizer": t("config.optimizer.label"), "changes": t("teach.col_changes")}
    st.vega_lite_chart(runs_spec(points, titles), height=300, width="stretch")
    usable = [r for r in ranked(recorded) if r.model_path]
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
    loss, acc = history_specs(history, t("chart.train"), t("chart.test"), t("chart.epoch"), t("teach.loss"),
                              t("teach.accuracy"), t("teach.data"))
    left, right = st.columns(2)
    left.caption(t("chart.loss_per_epoch"))
    left.vega_lite_chart(loss, height=220, width="stretch")
    right.caption(t("chart.accuracy_per_epoch"))
    right.vega_lite_chart(acc, height=220, width="stretch")


def teaching_ui(recognizer: Recognizer, image, prediction: Prediction) -> str | None:
    """The tabs; only the open tab is computed. Returns a run's model path if one was chosen."""
    st.html(CAPTION_STYLE)
    tabs = st.tabs([t(f"tabs.{tab}") for tab in TABS], key="teaching_tab", on_change="rerun")
    chosen = None
    views = [lambda: conversion_ui(recognizer, image), lambda: weights_ui(softmax_for(recognizer, None, None)[0]),
             lambda: evidence_ui(*softmax_for(recognizer, image, prediction)), lambda: filters_ui(recognizer, image),
             lambda: failures_ui(recognizer), None, lambda: curves_ui(recognizer)]
    for tab, view in zip(tabs, views):
        if not tab.open:
            continue
        with tab:
            if view is None:
                chosen = runs_ui()
            else:
                view()
    return chosen
