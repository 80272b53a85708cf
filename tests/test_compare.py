"""'Compare models' (ui/compare.py, classroom/compare.py): with the switch on and a digit on the
canvas, the three models' guesses side by side with their names, a sentence saying where they
disagree, a missing model file said in its column, the model in use in its architecture's place,
and the class's drawings scored by each model, best first.

The models that disagree are tiny model files whose output layer reads every drawing as one
digit (zero kernel, a bias for that digit), made once per module with Keras and `store.save`,
exactly as a trained model is saved; the softmax is the shipped model, which reads a drawn 1 as 1.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from classroom import compare, feedback
from conftest import STROKES, render
from model import store
from model.config import TrainConfig
from model.recognizer import Recognizer
from test_page import APP, RUN_TIMEOUT, block, draw_on_canvas, guess
from ui.i18n import t


def save_constant_model(architecture: str, digit: int, path) -> str:
    """A model file of `architecture` (tiny sizes) that reads every drawing as `digit`."""
    from model.network import build_model
    config = TrainConfig(architecture=architecture, hidden_units=16, filters=4)
    network = build_model(config)
    output = network.get_layer("softmax")
    kernel, _ = output.get_weights()
    output.set_weights([np.zeros_like(kernel), 12.0 * np.eye(10, dtype=np.float32)[digit]])
    result = SimpleNamespace(model=network, config=config, history={}, data_checksum="",
                             scores=lambda: {"test_accuracy": 0.5})
    return str(store.save(result, path))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("compared")
    return {name: save_constant_model(architecture, digit, folder / f"{name}.keras")
            for name, (architecture, digit) in {"mlp_4": ("mlp", 4), "cnn_4": ("cnn", 4), "mlp_1": ("mlp", 1),
                                                 "cnn_1": ("cnn", 1)}.items()}


@pytest.fixture
def shipped(monkeypatch, files):
    """shipped(mlp=..., cnn=...): the page's shipped hidden-layer and CNN models for this test."""
    def use(**paths):
        for architecture, path in paths.items():
            monkeypatch.setitem(store.SHIPPED_FILES, architecture, Path(path))
    return use


def one() -> Image.Image:
    canvas = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill="white", width=20)
    return canvas


def page(drawing: Image.Image | None = None, compare_on: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    if drawing is not None:
        draw_on_canvas(at, drawing)
    if compare_on:
        at.toggle(key="compare_models").set_value(True)
    at.run()
    assert not at.exception
    return at


def names(at: AppTest) -> list[str]:
    side = block(at, "compare_side")
    return [m.value.strip("*") for m in side.markdown] if side is not None else []


def guesses(at: AppTest) -> dict[str, str]:
    found = {a: block(at, f"compare_guess_{a}") for a in ("softmax", "mlp", "cnn")}
    return {a: b.title[0].value for a, b in found.items() if b is not None}


def said(at: AppTest) -> list[str]:
    return [e.value for kind in (at.markdown, at.caption, at.info) for e in kind]


# -- the page -------------------------------------------------------------------------------------
def test_the_switch_is_off_by_default_and_the_lessons_page_is_unchanged(shipped, files):
    shipped(mlp=files["mlp_4"], cnn=files["cnn_4"])
    at = page(one(), compare_on=False)
    assert at.toggle(key="compare_models").value is False
    assert guess(at) == "1"
    assert block(at, "compare_side") is None and not guesses(at)


def test_three_guesses_side_by_side_and_where_they_disagree(shipped, files):
    shipped(mlp=files["mlp_4"], cnn=files["cnn_4"])
    at = page(one())
    assert names(at) == ["Softmax — the lesson", "Hidden layer", "CNN"]
    assert guesses(at) == {"softmax": "1", "mlp": "4", "cnn": "4"}
    assert len(block(at, "compare_side").get("vega_lite_chart")) == 3     # ten bars each
    assert "They disagree: the softmax reads 1; the hidden layer and the CNN read 4." in said(at)


def test_all_agree(shipped, files):
    shipped(mlp=files["mlp_1"], cnn=files["cnn_1"])
    at = page(one())
    assert guesses(at) == {"softmax": "1", "mlp": "1", "cnn": "1"}
    assert "They agree: all read 1." in said(at)


def test_a_missing_model_file_is_said_in_its_column(shipped, files, tmp_path):
    shipped(mlp=files["mlp_4"], cnn=str(tmp_path / "not-trained-yet.keras"))
    at = page(one())
    assert not at.exception
    assert names(at) == ["Softmax — the lesson", "Hidden layer", "CNN"]
    assert guesses(at) == {"softmax": "1", "mlp": "4"}
    assert "This model is not on this server yet." in [c.value for c in block(at, "compare_side").caption]
    assert "They disagree: the softmax reads 1; the hidden layer reads 4." in said(at)


def test_the_model_in_use_takes_its_architectures_place(shipped, files):
    shipped(mlp=files["mlp_4"], cnn=files["cnn_4"])
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    at.session_state["model_path"] = files["cnn_1"]     # as after this session's own training
    draw_on_canvas(at, one())
    at.toggle(key="compare_models").set_value(True)
    at.run()
    assert not at.exception
    assert names(at) == ["Softmax — the lesson", "Hidden layer", "CNN — your model"]
    assert guesses(at) == {"softmax": "1", "mlp": "4", "cnn": "1"}
    assert "They disagree: the softmax and your CNN read 1; the hidden layer reads 4." in said(at)


def test_a_drawing_that_is_no_digit_says_so_once(shipped, files):
    shipped(mlp=files["mlp_4"], cnn=files["cnn_4"])
    tap = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(tap).ellipse((130, 130, 150, 150), fill="white")
    at = page(tap)
    assert block(at, "compare_side") is None
    assert [i.value for i in at.info if i.value.startswith("No guesses to compare.")] == [
        "No guesses to compare. Too little ink to read: draw the whole digit, larger."]


def test_the_class_table_ranks_the_models_and_follows_new_drawings(shipped, files):
    shipped(mlp=files["mlp_4"], cnn=files["cnn_1"])
    for digit in (4, 4, 4, 1):
        feedback.add(render(STROKES[digit]), np.zeros((28, 28), np.float32), digit, digit, "the shipped model")
    at = page()                                         # nothing drawn: the class's table all the same
    assert "Draw a digit to see the three models' guesses side by side." in said(at)
    table = block(at, "compare_class").table[0].value
    assert table.to_dict("list") == {"Model": ["Softmax — the lesson", "Hidden layer", "CNN"],
                                     "Right": ["4 of 4", "3 of 4", "1 of 4"],
                                     "Accuracy": ["100%", "75%", "25%"]}
    feedback.add(render(STROKES[1]), np.zeros((28, 28), np.float32), 1, 1, "the shipped model")
    at.run()
    table = block(at, "compare_class").table[0].value
    assert table["Right"].tolist() == ["5 of 5", "3 of 5", "2 of 5"]


def test_no_class_table_without_drawings(shipped, files):
    shipped(mlp=files["mlp_4"], cnn=files["cnn_4"])
    assert block(page(one()), "compare_class") is None


def test_the_comparison_says_what_it_teaches_even_before_the_class_has_drawings(shipped, files):
    """The sentence from bench/architectures.py's table, for students, with no drawings stored."""
    shipped(mlp=files["mlp_4"], cnn=files["cnn_4"])
    at = page(one())
    assert t("compare.lesson_learned", lang="en") in [c.value for c in at.caption]


# -- the scoring, without a page ------------------------------------------------------------------
def constant(digit: int) -> Recognizer:
    """A softmax that reads every drawing as `digit`, sure of it (so the ink check lets it guess)."""
    return Recognizer.from_softmax(np.zeros((784, 10), np.float32), 12.0 * np.eye(10, dtype=np.float32)[digit])


def drawing(i: int, true_digit: int, canvas: np.ndarray | None = None) -> feedback.Drawing:
    canvas = render(STROKES[true_digit]) if canvas is None else canvas
    return feedback.Drawing(i, "2026-01-01T00:00:00+00:00", true_digit, None, "m", canvas,
                            np.zeros((28, 28), np.float32))


def test_score_counts_each_models_right_answers_best_first():
    drawings = [drawing(1, 4), drawing(2, 4), drawing(3, 7), drawing(4, 1)]
    scores = compare.score({"sevens": constant(7), "fours": constant(4), "ones": constant(1)}, drawings)
    assert [(s.model, s.right, s.total) for s in scores] == [("fours", 2, 4), ("sevens", 1, 4), ("ones", 1, 4)]
    assert scores[0].accuracy == 0.5


def test_a_drawing_a_model_does_not_read_as_a_digit_counts_as_wrong():
    blank = np.zeros((280, 280), np.uint8)
    scores = compare.score({"fours": constant(4)}, [drawing(1, 4), drawing(2, 4, canvas=blank)])
    assert (scores[0].right, scores[0].total) == (1, 2)


def test_score_of_no_drawings():
    assert [(s.right, s.total, s.accuracy) for s in compare.score({"fours": constant(4)}, [])] == [(0, 0, 0.0)]


def test_readings_reuse_what_the_same_model_already_read():
    known = {1: 9}                      # drawing 1 was read before (as 9): not read again
    read = compare.readings(constant(4), [drawing(1, 4), drawing(2, 7)], known)
    assert read == {1: 9, 2: 4}
    assert known == {1: 9, 2: 4}        # drawing 2's guess is kept for the next time


@pytest.mark.parametrize("guesses,expected", [
    ({"softmax": 7, "mlp": 4, "cnn": 4}, [(7, ["softmax"]), (4, ["mlp", "cnn"])]),
    ({"softmax": 4, "mlp": 7, "cnn": 4}, [(4, ["softmax", "cnn"]), (7, ["mlp"])]),
    ({"softmax": 1, "mlp": 2, "cnn": 3}, [(1, ["softmax"]), (2, ["mlp"]), (3, ["cnn"])]),
    ({"softmax": 5, "mlp": 5, "cnn": 5}, [(5, ["softmax", "mlp", "cnn"])]),
    ({"softmax": 5}, [(5, ["softmax"])]),
])
def test_groups_say_who_reads_what(guesses, expected):
    assert compare.groups(guesses) == expected
