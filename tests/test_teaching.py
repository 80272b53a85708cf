"""What a viewer gets from the teaching tabs (ui/teaching.py, ui/charts.py, model/insight.py):
weight pictures a person can read as digits, a plain 1 that the model sees as a thin stroke,
learning curves on axes fitted to them, and runs compared as a leaderboard that names only
what each run changed from the lesson, on the viewer's clock, in both languages."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from classroom import runs
from model import insight
from model.config import BEST, LESSON, TrainConfig, fields
from model.preprocess import prepare_mnist, to_mnist_format
from model.recognizer import load_recognizer
from test_page import APP, RUN_TIMEOUT
from ui import teaching
from ui.charts import history_specs, runs_spec
from ui.i18n import LANGUAGES, t


@pytest.fixture(scope="module")
def shipped():
    return load_recognizer()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- what it learned: the weight pictures of the model in use ------------------------------------

@pytest.fixture(scope="module")
def test_digits(shipped, mnist):
    """3,000 of MNIST's test digits prepared as the shipped model sees them, and their labels."""
    return prepare_mnist(mnist.x_test[:3000], shipped.pipeline), mnist.y_test[:3000]


@pytest.fixture(scope="module")
def digit_means(test_digits):
    """Each digit's template: its average, minus the average of all digits (what sets it apart)."""
    inputs, labels = test_digits
    means = np.stack([inputs[labels == d].mean(axis=0) for d in range(10)])
    return means - inputs.mean(axis=0)


@pytest.fixture(scope="module")
def similarity(shipped, test_digits, digit_means):
    """[picture d][template of digit e]: how much the picture shown for d looks like e's template."""
    pictures = insight.weight_patterns(shipped, test_digits[0])
    return np.array([[correlation(p, m) for m in digit_means] for p in pictures])


def test_each_weight_picture_looks_most_like_its_own_digit(similarity):
    """Legible: the picture shown for digit d is closer to the average d than to any other
    digit's average, for all ten digits."""
    assert list(similarity.argmax(axis=1)) == list(range(10)), similarity.round(2)


def test_each_weight_picture_is_clearly_its_digit(similarity):
    """Not only the nearest of ten pictures: each is its digit's template. (The shipped model's
    patterns taken at the scores, rings in which only 0, 1, 6 and 9 could be told, reached 0.79
    for their weakest digit, the 5.)"""
    assert similarity.diagonal().min() > 0.95, similarity.diagonal().round(2)


# -- how it converts: a plain 1 stays thin ---------------------------------------------------------

def ink_extent(x: np.ndarray, level: float = 0.5) -> tuple[int, int]:
    rows, cols = np.flatnonzero((x > level).any(axis=1)), np.flatnonzero((x > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("pen", [8, 20, 35])
def test_what_the_model_sees_of_a_plain_1_is_a_thin_stroke(shipped, pen):
    canvas = Image.new("L", (280, 280))
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill=255, width=pen)
    seen = to_mnist_format(np.asarray(canvas), shipped.pipeline)
    height, width = ink_extent(seen)
    assert height >= 16 and width <= height / 2.5, (height, width)
    assert shipped.predict(np.asarray(canvas)).digit == 1


def test_only_thin_digits_are_kept_from_stretching(shipped, mnist, monkeypatch):
    """The cap on stretching (model.preprocess.STRETCH) leaves nearly every other digit exactly
    as the uncapped moment normalization made it, and changes nearly every 1."""
    import functools
    from model import preprocess
    digits, labels = mnist.x_test[:600], mnist.y_test[:600]
    capped = prepare_mnist(digits, shipped.pipeline)
    monkeypatch.setattr(preprocess, "normalize_by_moments",
                        functools.partial(preprocess.normalize_by_moments, stretch=float("inf")))
    uncapped = prepare_mnist(digits, shipped.pipeline)
    changed = np.abs(capped - uncapped).max(axis=(1, 2)) > 1e-6
    assert changed[labels != 1].mean() < 0.05
    assert changed[labels == 1].mean() > 0.9


# -- learning curves: axes fitted to the curves ------------------------------------------------------

HISTORY = {"loss": [0.42, 0.31, 0.29, 0.28], "val_loss": [0.33, 0.30, 0.29, 0.285],
           "accuracy": [0.905, 0.921, 0.925, 0.927], "val_accuracy": [0.915, 0.92, 0.924, 0.926]}


def test_the_accuracy_axis_fits_the_curves_not_0_to_1():
    _, accuracy = history_specs(HISTORY)
    low, high = accuracy["encoding"]["y"]["scale"]["domain"]
    values = HISTORY["accuracy"] + HISTORY["val_accuracy"]
    assert low <= min(values) and high >= max(values)
    assert high - low < 3 * (max(values) - min(values))      # the curves fill the chart's height
    assert low > 0.8 and high <= 1.0


def test_the_loss_axis_fits_the_curves_not_from_zero():
    loss, _ = history_specs(HISTORY)
    low, high = loss["encoding"]["y"]["scale"]["domain"]
    values = HISTORY["loss"] + HISTORY["val_loss"]
    assert low <= min(values) and high >= max(values)
    assert low > 0.2 and high - low < 3 * (max(values) - min(values))


def test_the_curves_carry_every_epoch_of_both_series():
    loss, accuracy = history_specs(HISTORY, "train", "test", "epoch")
    for spec, keys in ((loss, ("loss", "val_loss")), (accuracy, ("accuracy", "val_accuracy"))):
        points = spec["data"]["values"]
        assert [p["value"] for p in points if p["series"] == "train"] == HISTORY[keys[0]]
        assert [p["value"] for p in points if p["series"] == "test"] == HISTORY[keys[1]]
        assert [p["epoch"] for p in points if p["series"] == "train"] == [1, 2, 3, 4]


def test_one_epoch_still_gives_an_axis_around_it():
    _, accuracy = history_specs({k: v[:1] for k, v in HISTORY.items()})
    low, high = accuracy["encoding"]["y"]["scale"]["domain"]
    assert low < 0.905 < high and high - low <= 0.05


def test_a_training_still_running_shows_the_epochs_it_has():
    """The sidebar draws a training's curves while it runs: a test score not in yet is left out."""
    loss, _ = history_specs({"loss": [0.5, 0.4], "val_loss": [0.45], "accuracy": [0.8, 0.85], "val_accuracy": [0.82]})
    assert [(p["series"], p["epoch"]) for p in loss["data"]["values"]] == [("train", 1), ("train", 2), ("test", 1)]


# -- compare runs: a leaderboard of what each run changed ---------------------------------------------

def run(id: int, config: TrainConfig, test: float, drawn: float | None = None,
        at: str = "2026-11-29T05:07:00+00:00") -> runs.Run:
    return runs.Run(id, at, "page", config, None, test, None, None, {}, 3.0, drawn, None)


RUNS = [run(1, LESSON, 0.89, 0.71), run(2, LESSON.replace(learning_rate=0.5), 0.92, 0.80),
        run(3, BEST, 0.975, 0.92), run(4, LESSON.replace(epochs=1, batch_size=32), 0.90, 0.74)]


@pytest.fixture
def english():
    import streamlit as st
    st.session_state["language"] = "en"
    yield
    st.session_state.pop("language", None)


def test_the_leaderboard_puts_the_best_run_on_drawings_first(english):
    table = teaching.leaderboard(RUNS)
    assert list(table["run"]) == [3, 2, 4, 1]
    assert list(table["place"]) == [1, 2, 3, 4]


def test_without_drawings_the_test_accuracy_ranks(english):
    table = teaching.leaderboard([run(r.id, r.config, r.test_accuracy) for r in RUNS])
    assert list(table["run"]) == [3, 2, 4, 1]
    assert "drawn_accuracy" not in table.columns


def test_the_leaderboard_names_only_what_changed_from_the_lesson(english):
    changes = dict(zip(teaching.leaderboard(RUNS)["run"], teaching.leaderboard(RUNS)["changes"]))
    assert changes[2] == "learning rate 0.5"
    assert changes[4] == "1 epoch, batch size 32"
    assert changes[1] == t("teach.lesson")
    assert changes[3] == ("20 epochs, learning rate 0.5, weights averaged, moment normalization, deskewed, "
                          "strokes 3 px wide, flagged 1s, crossed 7s, hooked 9s")


def test_the_leaderboard_has_a_few_columns_not_every_setting(english):
    table = teaching.leaderboard(RUNS)
    assert len(table.columns) <= 7
    assert not {f.name for f in fields()} & set(table.columns)


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("name, value", [(f.name, getattr(BEST.replace(optimizer="adam", l2=0.001, seed=3,
                                                                       batch_size=32, augment=2, aspect=0.3),
                                                          f.name)) for f in fields()])
def test_every_setting_has_words_in_both_languages(language, name, value):
    import streamlit as st
    st.session_state["language"] = language
    try:
        text = teaching.setting_words(name, value)
    finally:
        st.session_state.pop("language", None)
    assert text and "teach." not in text and "config." not in text


def test_the_korean_leaderboard_speaks_korean():
    import streamlit as st
    st.session_state["language"] = "ko"
    try:
        words = teaching.changes_text(BEST.replace(optimizer="adam", batch_size=32, augment=1))
    finally:
        st.session_state.pop("language", None)
    leftover = set(words.replace("Adam", "").replace("×", "")) & set("abcdefghijklmnopqrstuvwxyz")
    assert not leftover and "에포크 20번" in words, words


@pytest.mark.parametrize("count, english_words", [(1, "1 epoch"), (2, "2 epochs"), (20, "20 epochs")])
def test_epochs_are_counted_right(english, count, english_words):
    assert teaching.setting_words("epochs", count) == english_words


def test_korean_counts_epochs_without_english():
    for count in (1, 2):
        text = t("teach.set_epochs_one" if count == 1 else "teach.set_epochs", lang="ko", value=count)
        assert str(count) in text and "epoch" not in text and "에포크" in text


@pytest.mark.parametrize("zone, shown", [("Asia/Seoul", "14:07"), ("America/New_York", "00:07"),
                                         ("UTC", "05:07")])
def test_times_are_on_the_viewers_clock(zone, shown):
    now = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone.utc)
    assert teaching.local_when("2026-11-29T05:07:00+00:00", zone, now) == shown


def test_an_earlier_day_shows_its_date():
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    assert teaching.local_when("2026-11-28T23:30:00+00:00", "Asia/Seoul", now) == "2026-11-29 08:30"


def test_the_runs_chart_spreads_learning_rates_on_a_log_scale():
    points = [{"run": str(r.id), "learning_rate": r.config.learning_rate, "test_accuracy": r.test_accuracy,
               "batch_size": r.config.batch_size, "optimizer": r.config.optimizer, "changes": ""} for r in RUNS]
    spec = runs_spec(points)
    x, y = spec["layer"][0]["encoding"]["x"], spec["layer"][0]["encoding"]["y"]
    assert x["field"] == "learning_rate" and x["scale"]["type"] == "log"
    low, high = x["scale"]["domain"]
    assert low < 0.01 and high > 0.5
    assert y["scale"]["domain"][0] > 0.8         # fitted to the runs, not from zero
    assert {"color", "shape"} <= set(spec["layer"][0]["encoding"])


# -- the page ----------------------------------------------------------------------------------------

def test_the_runs_tab_shows_the_leaderboard(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_PATH", str(mnist_path))
    for r in (RUNS[0], RUNS[2], RUNS[1]):
        result = SimpleNamespace(config=r.config, train_accuracy=0.9, test_accuracy=r.test_accuracy, train_loss=0.3,
                                 test_loss=0.3, history={}, fit_seconds=2.0)
        runs.record(result, "page", drawn_accuracy=r.drawn_accuracy)
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    at.session_state["teaching_tab"] = t("tabs.runs", lang="en")
    at.run()
    assert not at.exception
    table = at.table[0].value
    assert list(table[t("teach.col_changes", lang="en")]) == [t("teach.set_epochs", lang="en", value=20) + ", learning rate 0.5, weights "
                                      "averaged, moment normalization, deskewed, strokes 3 px wide, flagged 1s, "
                                      "crossed 7s, hooked 9s", "learning rate 0.5", t("teach.lesson", lang="en")]
    assert len(at.get("vega_lite_chart")) == 1          # the runs chart


def test_captions_in_the_tabs_never_break_inside_a_word():
    """Streamlit's own caption style breaks Korean between syllables: the tabs' captions, and the
    paragraphs inside them (where that style sits), keep every word whole."""
    style = teaching.CAPTION_STYLE
    assert 'stCaptionContainer"] *' in style and "word-break: keep-all" in style
    assert "overflow-wrap: normal" in style and ".st-key-teaching_tab" in style
