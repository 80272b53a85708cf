"""The page in Korean and English: one catalog per language with the same keys and the
same placeholders; every key the code looks up exists; the language comes from the address,
the page's switch or the browser; and the page rendered in Korean, in every state a class
sees, contains no English sentence of the English catalog."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import numpy as np
import pytest
from google.protobuf.json_format import MessageToDict
from PIL import Image, ImageDraw

import classroom.job
from classroom import feedback
from model import config as cfg
from test_instructor_page import PASSWORD, instructor, press_train, server, session  # noqa: F401 (fixture)
from test_page import draw_on_canvas, guess
from ui.i18n import LANGUAGES, catalog, from_locale, settings_text, t
from ui.teaching import TABS

REPO = Path(__file__).resolve().parents[1]
SOURCES = [REPO / "streamlit_app.py", *sorted((REPO / "ui").glob("*.py"))]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_catalogs_have_the_same_keys_and_placeholders():
    english, korean = catalog("en"), catalog("ko")
    assert set(english) == set(korean), (set(english) ^ set(korean))
    for key, text in english.items():
        assert placeholders(text) == placeholders(korean[key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_string_has_two_tildes_that_markdown_would_strike_through(language):
    """Korean writes ranges with '~' ("97~99%"); Streamlit's markdown strikes out the text
    between two of them, as the comparison's sentence did on the page."""
    struck = [key for key, text in catalog(language).items() if text.count("~") >= 2]
    assert not struck


def test_no_korean_string_is_left_in_english():
    """A Korean string with no Hangul at all is one nobody translated (names like SGD aside)."""
    untranslated = [k for k, v in catalog("ko").items()
                    if not re.search("[가-힣]", v) and v != catalog("en")[k] and len(v.split()) > 2]
    assert not untranslated
    same = [k for k, v in catalog("ko").items() if v == catalog("en")[k] and len(v.split()) > 1]
    assert not same, same


def _looked_up_keys() -> set[str]:
    """Every catalog key written out in the page's code: t("a.b") and Note("a.b")."""
    keys = set()
    for path in [*SOURCES, *sorted((REPO / "classroom").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                    in ("t", "Note") and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                keys.add(node.args[0].value)
    return keys


def _composed_keys() -> set[str]:
    """The keys the code composes from names: settings, their errors, tabs, states, reasons."""
    keys = set()
    for f in cfg.fields():
        keys |= {f"config.{f.name}.label", f"config.{f.name}.help"}
        keys |= {f"config.{f.name}.{choice}" for choice in f.metadata["choices"] or ()}
    keys |= {f"config_error.{kind}" for kind in ("whole", "number", "bool", "choice", "low", "high")}
    keys |= {f"preset.{name.replace(' ', '_')}" for name in cfg.PRESETS}
    keys |= {f"tabs.{tab}" for tab in TABS}
    keys |= {f"state.{state.value}" for state in classroom.job.JobState}
    keys |= {f"gate.{reason}" for reason in ("unlocked", "wrong", "wait")}
    keys |= {f"guess.{reason}" for reason in ("empty", "too_little_ink", "not_a_digit")}
    keys |= {f"upload.{kind}" for kind in ("too_big_file", "too_many_pixels", "bomb", "unreadable")}
    keys |= {f"input.{source}" for source in ("draw", "upload")}
    keys |= {f"drawings.{which}" for which in ("all", "right", "wrong")}
    keys |= {f"why.{role}" for role in ("guess", "runner_up")}
    keys |= {f"model.architecture.{name}" for name in ("with", *cfg.ARCHITECTURES[1:])}   # settings_text
    keys |= {f"teach.set_architecture_{name}" for name in cfg.ARCHITECTURES}
    return keys


def test_every_key_the_code_looks_up_is_in_the_catalog():
    missing = (_looked_up_keys() | _composed_keys()) - set(catalog("en")) - {"area.name"}
    assert not missing, sorted(missing)


@pytest.mark.parametrize("config, en, ko", [
    (cfg.LESSON, "5 epochs, batch 100, sgd 0.01", "에포크 5번, 배치 크기 100, sgd 학습률 0.01"),
    (cfg.TrainConfig(architecture="mlp", hidden_units=64, epochs=1),
     "hidden layer of 64 units, 1 epoch, batch 100, sgd 0.01", "은닉층(유닛 64개) 모델, 에포크 1번, 배치 크기 100, sgd 학습률 0.01"),
    (cfg.TrainConfig(architecture="cnn", optimizer="adam", learning_rate=0.001, epochs=3, batch_size=128),
     "CNN with 32 filters, 3 epochs, batch 128, adam 0.001", "CNN(필터 32개) 모델, 에포크 3번, 배치 크기 128, adam 학습률 0.001"),
], ids=["the lesson", "mlp", "cnn"])
def test_a_models_settings_name_its_architecture_and_the_lesson_reads_as_before(config, en, ko):
    """As the model line, the instructor's queue and the wall say them."""
    assert (settings_text(config, "en"), settings_text(config, "ko")) == (en, ko)


@pytest.mark.parametrize("locale,language", [("ko-KR", "ko"), ("ko", "ko"), ("en-US", "en"), ("en-GB", "en"),
                                             ("fr-FR", "en"), (None, "en"), ("", "en")])
def test_the_browsers_locale_chooses_the_language(locale, language):
    assert from_locale(locale) == language


def test_the_address_chooses_the_language_and_the_switch_changes_it():
    at = session(lang="ko")
    assert at.title[0].value == catalog("ko")["page.title"]
    at.radio(key="language").set_value("en").run()
    assert at.title[0].value == catalog("en")["page.title"]
    assert at.query_params["lang"] in ("en", ["en"])    # kept in the address: a reload keeps it
    assert set(LANGUAGES) == {"ko", "en"}


# -- the page in Korean, in every state a class sees ------------------------------------------------
def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def page_text(at) -> str:
    """Every string the page's elements carry: bodies, labels, help, options, chart titles."""
    out = []
    for node in at:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out += _strings(MessageToDict(proto))
    return "\n".join(out)


def english_sentences() -> list[str]:
    """The English catalog's sentences: the pieces between placeholders with three words or more,
    except those the Korean catalog uses as they are (a command, a file name)."""
    korean = "\n".join(catalog("ko").values())
    pieces = set()
    for text in catalog("en").values():
        for piece in re.split(r"\{[^}]*\}|\*\*|`[^`]*`", text):
            piece = piece.strip(" .,:;()—-")
            if len(piece.split()) >= 3 and piece not in korean:
                pieces.add(piece)
    return sorted(pieces)


def canvas_with(lines, width=20) -> Image.Image:
    canvas = Image.new("RGBA", (280, 280), "black")
    for line in lines:
        ImageDraw.Draw(canvas).line(line, fill="white", width=width)
    return canvas


def korean_pages(monkeypatch) -> list[tuple[str, object]]:
    """The page in Korean as a student and as the teacher see it, in turn."""
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    feedback.add(np.asarray(canvas_with([[(140, 40), (140, 240)]]).convert("L")), np.zeros((28, 28), np.float32),
                 1, 7, "the shipped model")
    pages = []
    student = session(lang="ko")
    pages.append(("opened", page_text(student)))
    draw_on_canvas(student, canvas_with([[(140, 40), (140, 240)]]))
    student.run()
    assert guess(student) == "1"
    for tab in TABS:
        student.session_state["teaching_tab"] = t(f"tabs.{tab}", lang="ko")
        student.run()
        assert not student.exception
        pages.append((f"tab {tab}", page_text(student)))
    draw_on_canvas(student, canvas_with([[(140, 140), (141, 141)]]))        # a tap: no guess
    student.run()
    pages.append(("a tap", page_text(student)))
    student.number_input(key="learning_rate").set_value(5000).run()         # out of range
    pages.append(("out of range", page_text(student)))
    student.number_input(key="learning_rate").set_value(0.01)
    student.number_input(key="epochs").set_value(100)
    student.number_input(key="batch_size").set_value(1).run()               # over the budget
    pages.append(("over the budget", page_text(student)))
    student.number_input(key="batch_size").set_value(100)
    student.number_input(key="epochs").set_value(10)
    student.selectbox(key="architecture").set_value("cnn").run()           # a CNN: fewer filters would fit
    assert re.search(r"필터 \d+개 이하", page_text(student))                 # said in Korean
    pages.append(("a CNN", page_text(student)))
    other = session(lang="ko")
    press_train(other, epochs=3)
    pages.append(("waiting in the queue", page_text(other)))
    teacher = instructor()
    teacher.radio(key="language").set_value("ko").run()
    pages.append(("the teacher's panel", page_text(teacher)))
    teacher.toggle(key="pause_training").set_value(True).run()
    pages.append(("paused, the student's page", page_text(session(lang="ko"))))
    teacher.button(key="show_join").click().run()
    pages.append(("the join screen", page_text(teacher)))
    return pages


def test_the_korean_page_has_no_english_sentence(monkeypatch):
    sentences = english_sentences()
    assert len(sentences) > 100          # the check has something to look for
    for state, text in korean_pages(monkeypatch):
        assert re.search("[가-힣]", text), state
        found = [s for s in sentences if s in text]
        assert not found, f"{state}: {found}"
