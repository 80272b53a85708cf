"""The page in a real browser: digits drawn with the mouse are recognized, and retraining
from the sidebar changes the model in use.

    python -m pytest -q -s tests/test_browser.py      # -s shows the accuracy and confusions

Needs Playwright and Debian's chromium; without them the tests skip and say why, except
with CI=true, where a missing browser is a failure. The server is `streamlit run` in a
subprocess (see tests/browser.py), with its own DIGITS_DATA_DIR.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections import Counter

import pytest

from browser import (browser_unavailable, STROKES, VIEWPORT, DigitPage, browser_missing, launch_chromium, load_samples,
                     recognize_all, streamlit_server)

# Issue 4's bar. The shipped model gets 93.5 % of these 200 digits offline (drawn_dev's own
# renderings); the replayed strokes are rendered by the canvas itself.
TARGET_ACCURACY = 0.90
TRAINING_TIMEOUT = 240.0    # TensorFlow's import (~10 s) and one epoch, on a busy machine
TABS = 2                    # browsers drawing at once: two cores, and a server to share them with




@pytest.fixture(scope="module")
def can_browse():
    reason = browser_missing()
    if reason:
        browser_unavailable(reason)


@pytest.fixture(scope="module")
def browser(can_browse):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(can_browse):
    with tempfile.TemporaryDirectory(prefix="digits-data-") as data_dir, \
            streamlit_server(data_dir=data_dir) as server:
        yield server


@pytest.fixture
def page(browser, server):
    """A fresh tab, so a fresh Streamlit session with the shipped model."""
    context = browser.new_context(viewport=VIEWPORT)
    yield DigitPage(context.new_page(), server.url).open()
    context.close()


@pytest.fixture(scope="module")
def samples():
    if not STROKES.is_file():
        browser_unavailable(f"the drawn digits are not at {STROKES}")
    return load_samples()


def reference_accuracy(samples) -> str:
    """The shipped model's accuracy on the same digits as drawn_dev.npz renders them (no
    browser): tells a page that loses accuracy from a model that lacks it."""
    from classroom.paths import drawn_dev_path
    from model.evaluate import guess_canvases, read_canvases
    from model.recognizer import load_recognizer
    path = drawn_dev_path()
    if path is None:
        return "no drawn_dev.npz to compare with"
    images, labels = read_canvases(path)
    index = [s["index"] for s in samples]
    right = (guess_canvases(load_recognizer(), images[index]) == labels[index]).mean()
    return f"{right:.1%} without a browser (drawn_dev.npz's renders of the same digits)"


def test_drawn_digits_are_recognized(server, samples):
    started = time.perf_counter()
    guesses = recognize_all(server.url, samples, tabs=TABS)
    seconds = time.perf_counter() - started
    labels = [str(s["label"]) for s in samples]
    right = sum(g == label for g, label in zip(guesses, labels))
    accuracy = right / len(samples)
    confusions = Counter((label, g) for g, label in zip(guesses, labels) if g != label)
    print(f"\nbrowser accuracy on {len(samples)} drawn digits: {accuracy:.1%} ({right} right) "
          f"in {seconds:.0f} s ({TABS} browsers; load average {os.getloadavg()[0]:.1f})")
    print("confusions (drawn -> guessed: count):",
          ", ".join(f"{t}->{g}: {n}" for (t, g), n in confusions.most_common()) or "none")
    print("the same model:", reference_accuracy(samples))
    assert accuracy >= TARGET_ACCURACY, (
        f"{accuracy:.1%} of the drawn digits recognized, target {TARGET_ACCURACY:.0%}; "
        f"confusions {dict(confusions.most_common())}")


def test_retraining_from_the_sidebar_changes_the_model(page, samples):
    assert "the shipped model" in page.model_in_use()
    epochs = page.page.locator(".st-key-epochs input")
    epochs.fill("1")
    epochs.press("Enter")
    page.page.locator(".st-key-train button").click()

    result = page.page.locator(".st-key-training_result")
    result.wait_for(timeout=TRAINING_TIMEOUT * 1000)
    assert "Trained: test accuracy" in result.inner_text()
    in_use = page.model_in_use()
    assert "your model" in in_use and "1 epoch," in in_use, in_use

    # The new model answers drawings too.
    page.draw(samples[0]["strokes"])
    assert page.guess() in "0123456789"
