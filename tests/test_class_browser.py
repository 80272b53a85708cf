"""Two students on one server, in one real browser: a student's retrained model is theirs
alone until the instructor publishes it, and then every session switches to it.

    python -m pytest -q tests/test_class_browser.py

Student A retrains one epoch of the lesson from the sidebar; A's guesses come from that
model, B's still from the shipped one. A unlocks the Instructor panel with the server's
password (B's page still has no panel) and publishes A's model; B's next rerun shows the
class model, with a toast, and gives A's guess for the same drawing. Which model made a
guess is checked, not assumed: the 28x28 "what the model sees" picture is read back and
both models' answers for it are computed here, with the same NumPy recognizer the page uses.

Needs Playwright and Debian's chromium; without them the test skips and says why,
except with CI=true, where that is a failure. The server is `streamlit run` in a
subprocess (tests/browser.py) with this test's own DIGITS_DATA_DIR.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

from ui.i18n import t
from browser import (chromium_browser, browser_unavailable, STROKES, DigitPage, expect, load_samples,
                     streamlit_server)

TRAINING_TIMEOUT = 240.0    # TensorFlow's import and one epoch, on a busy machine
SHORT = 30_000              # ms: anything but training
# drawn_dev samples on which the lesson's 1-epoch model (seed 0, deterministic) and the
# shipped model disagree by a clear margin, drawn in Chromium: 11 is a "2" the one-epoch
# model calls a 6; 6 is a "7" it calls a 2. The test checks the disagreement again itself.
CANDIDATES = (11, 6, 34, 21)
PUBLISHED_TOAST = t("model.published_toast", lang="en")      # the page's words, from its catalog
PASSWORD = "class-browser-test"




@pytest.fixture
def browser():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def server(browser, data_dir, monkeypatch):
    """A server whose instructor password is PASSWORD (its environment's)."""
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    with streamlit_server(data_dir=data_dir) as server:
        yield server


@pytest.fixture
def samples():
    if not STROKES.is_file():
        browser_unavailable(f"the drawn digits are not at {STROKES}")
    return load_samples()


def student(browser, server) -> DigitPage:
    """A browser context of its own: its own cookies, so its own Streamlit session."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    return DigitPage(context.new_page(), server.url).open()


def model_line(page: DigitPage):
    return page.page.get_by_text("Model in use:")


def seen_input(page: DigitPage) -> np.ndarray:
    """The 28x28 input behind the current guess, read back from the enlarged picture the
    page shows (each input pixel is a 7x7 square of a quality-100 JPEG)."""
    from PIL import Image
    body = page.page.request.get(page.seen()).body()
    pixels = np.asarray(Image.open(io.BytesIO(body)).convert("L"), np.float32)
    scale = pixels.shape[0] // 28
    return pixels.reshape(28, scale, 28, scale).mean(axis=(1, 3)) / 255.0


def answer(recognizer, x: np.ndarray) -> str:
    return str(int(recognizer.probabilities(x[None])[0].argmax()))


def draw_and_guess(page: DigitPage, sample: dict) -> str:
    page.clear()
    page.draw(sample["strokes"])
    return page.guess()


def test_published_model_reaches_the_other_student(browser, server, samples, data_dir):
    from model.recognizer import load_recognizer
    shipped = load_recognizer()
    a, b = student(browser, server), student(browser, server)
    for page in (a, b):
        expect(model_line(page)).to_contain_text("the shipped model")

    # A retrains one epoch of the lesson from the sidebar.
    epochs = a.page.locator(".st-key-epochs input")
    epochs.fill("1")
    epochs.press("Enter")
    expect(epochs).to_have_value("1")
    a.page.locator(".st-key-train button").click()
    a.page.locator(".st-key-training_result").wait_for(timeout=TRAINING_TIMEOUT * 1000)
    expect(model_line(a)).to_contain_text("your model trained")
    expect(model_line(a)).to_contain_text("1 epoch,")
    [model_file] = (data_dir / "models").glob("*.keras")
    one_epoch = load_recognizer(model_file)

    # A draws until a drawing on which the two models disagree (normally the first).
    for index in CANDIDATES:
        chosen = samples[index]
        a.set_pen_width(round(chosen["line_width"]))
        guess_a = draw_and_guess(a, chosen)
        x = seen_input(a)
        assert guess_a == answer(one_epoch, x), "A's guess does not come from A's model"
        disagree = answer(one_epoch, x) != answer(shipped, x)
        if disagree:
            break   # else (not expected) the last candidate, without asserting a difference

    # B draws the same: its guess comes from the shipped model, its label says so.
    b.set_pen_width(round(chosen["line_width"]))
    guess_b = draw_and_guess(b, chosen)
    expect(model_line(b)).to_contain_text("the shipped model")
    assert guess_b == answer(shipped, seen_input(b)), "B's guess does not come from the shipped model"
    if disagree:
        assert guess_a != guess_b, "the two students' models disagree here, their guesses must too"
    b.clear()

    # A unlocks the Instructor panel with the password, and publishes A's model to the class.
    a.page.locator("[data-testid=stSidebar]").get_by_text("Instructor", exact=True).click()
    a.page.locator(".st-key-instructor_password input").fill(PASSWORD)
    a.page.locator(".st-key-instructor_unlock button").click()
    expect(a.page.locator(".st-key-instructor_panel")).to_be_visible(timeout=SHORT)
    expect(b.page.locator(".st-key-instructor_panel")).to_have_count(0)
    choice = a.page.locator(".st-key-publish_choice input")    # a combo box: the choice is its value
    if choice.input_value() != t("publish.my_model", lang="en"):
        a.page.locator(".st-key-publish_choice button").click()
        a.page.get_by_role("option", name=t("publish.my_model", lang="en")).click()
    expect(choice).to_have_value(t("publish.my_model", lang="en"))
    a.page.locator(".st-key-publish button").click()
    expect(a.page.get_by_text(t("publish.done", lang="en"))).to_be_visible(timeout=SHORT)

    # B's next rerun (drawing again) switches B to the class model: A's model.
    guess_b = draw_and_guess(b, chosen)
    expect(b.page.get_by_text(PUBLISHED_TOAST)).to_be_visible(timeout=SHORT)
    expect(model_line(b)).to_contain_text(t("model.class", lang="en"))
    assert guess_b == guess_a, "B draws what A drew and now has A's model: same guess"
    assert guess_b == answer(one_epoch, seen_input(b))

    # A leaves A's own model for the class model, which is now the same model.
    a.page.locator(".st-key-use_shipped button").click()
    expect(model_line(a)).to_contain_text(t("model.class", lang="en"))
    expect(a.page.locator(".st-key-use_shipped button:enabled")).to_have_count(0)  # gone, or disabled
    expect(a.page.locator(".st-key-guess")).to_have_text(guess_a)
