"""The page on a phone (390 x 844, a touch screen, a phone's user agent), in a real browser:
a drawing and its guess on one screen, strokes that draw and never scroll the page, training
in the main area, and a session that survives its connection dropping for a while (a phone
locking its screen mid-lesson).

    python -m pytest -q -s tests/test_phone_browser.py      # -s prints the guesses

Strokes are a finger's touches, sent through Chrome's DevTools protocol (`TouchPage` in
tests/browser.py). One test at the end drives the phone's page in AppTest instead, with the
user agent replaced where the page reads it (AppTest cannot send headers).
Skips, saying why, without Playwright or Debian's chromium, except with CI=true.
"""
from __future__ import annotations

import re
import types
import uuid
from collections import defaultdict

import pytest
import streamlit as st
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

import classroom.queue
import ui.layout
from browser import (chromium_browser, recorded_samples, PHONE, PHONE_USER_AGENT, TouchPage,
                     covered_points, expect, ink, ink_near, pen_moves, phone_context, streamlit_server)
from classroom import runs
from model import store
from model.config import TrainConfig
from test_instructor_page import NeverTrains
from test_page import APP, RUN_TIMEOUT, draw_on_canvas, guess
from ui.i18n import catalog

SIZE = 280                  # the canvas, in canvas pixels
PER_DIGIT = 2               # drawings of each digit replayed in one session
OFFLINE_SECONDS = 8         # how long the phone's connection stays down
SHORT = 15_000              # ms: for what the page shows after a rerun




@pytest.fixture(scope="module")
def samples():
    return recorded_samples()


@pytest.fixture(scope="module")
def chromium(samples):
    with chromium_browser(fast_frames=True) as browser:
        yield browser


@pytest.fixture(scope="module")
def server(samples, tmp_path_factory):
    with streamlit_server(data_dir=tmp_path_factory.mktemp("data")) as server:
        yield server


@pytest.fixture
def phone(chromium, server):
    """A phone opening the page: a new Streamlit session."""
    context = phone_context(chromium)
    yield TouchPage(context.new_page(), server.url).open()
    context.close()


def within_screen(box: dict) -> bool:
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            and box["y"] + box["height"] <= PHONE["height"])


# -- drawing ---------------------------------------------------------------------------------------
def test_each_drawing_and_its_guess_are_on_one_screen(phone, samples):
    """Two drawings of each digit in one session, Clear between them: each gets its guess, and
    the guess, the canvas and the drawing all stay on the phone's screen, the page unscrolled."""
    by_digit = defaultdict(list)
    for sample in samples:
        if len(by_digit[sample["label"]]) < PER_DIGIT:
            by_digit[sample["label"]].append(sample)
    chosen = sorted((s for twins in by_digit.values() for s in twins), key=lambda s: round(s["line_width"]))
    assert len(chosen) == 10 * PER_DIGIT

    guesses = []
    for sample in chosen:
        phone.set_pen_width(round(sample["line_width"]))
        phone.clear()
        scrolled = phone.scrolled()
        phone.draw(sample["strokes"])
        guess = phone.guess()
        guess_box = phone.page.locator(".st-key-guess").bounding_box()
        canvas_box = phone.canvas_box()
        assert phone.scrolled() == scrolled, f"the strokes of a {sample['label']} scrolled the page"
        assert within_screen(guess_box), f"the guess for a {sample['label']} is off the screen: {guess_box}"
        assert within_screen(canvas_box), f"the canvas is off the screen: {canvas_box}"
        assert guess in list("0123456789")
        guesses.append((sample["label"], guess))
    right = sum(str(label) == guess for label, guess in guesses)
    print(f"\n{right} of {len(guesses)} drawn with a finger guessed right: "
          + ", ".join(f"{label}->{guess}" for label, guess in guesses))
    assert right >= 0.8 * len(guesses)      # the shipped model gets ~93 % of these 200 digits


def test_a_finger_draws_anywhere_on_the_canvas_and_never_scrolls_the_page(phone):
    """The canvas takes touches as strokes (`touch-action: none`), up to its edges; a swipe
    beside it scrolls the page as usual, which shows the check would see a scroll."""
    assert phone.page.locator("canvas.upper-canvas").evaluate("c => getComputedStyle(c).touchAction") == "none"
    ring = ([(x, y) for x in range(3, SIZE - 2, 10) for y in (3, SIZE - 3)] +
            [(x, y) for y in range(3, SIZE - 2, 10) for x in (3, SIZE - 3)])
    assert not covered_points(phone, ring)

    box = phone.canvas_box()
    for start, end in [((4, 276), (4, 10)), ((276, 276), (276, 10)), ((140, 277), (140, 10)), ((4, 4), (270, 4))]:
        scrolled = phone.scrolled()
        phone.stroke(pen_moves([start, end]))       # upwards: what scrolls a page down
        assert ink_near(phone, start) > 0, f"no ink where a finger began, {start}"
        assert phone.scrolled() == scrolled, f"a stroke from {start} to {end} scrolled the page"
    assert ink(phone) > 0

    beside = box["x"] + SIZE + (PHONE["width"] - box["x"] - SIZE) / 2    # right of the canvas
    before = phone.scrolled()
    phone.swipe([(beside, box["y"] + SIZE - dy) for dy in range(0, 240, 20)])
    phone.page.wait_for_function("before => document.querySelector('[data-testid=stMain]').scrollTop > before",
                                 arg=before[1], timeout=5000)


# -- training --------------------------------------------------------------------------------------
def test_training_is_in_the_main_area_with_the_sidebar_closed(phone):
    """A phone's sidebar starts closed: Train and the settings are under the drawing area, in
    "Train your own model", and the sidebar stays closed."""
    page = phone.page
    expect(page.locator("[data-testid=stSidebar]")).to_have_attribute("data-collapsed", "true")
    expect(page.locator("[data-testid=stSidebar] .st-key-train")).to_have_count(0)
    page.locator(".st-key-phone_training summary").first.tap()     # (its "More settings" has one too)
    train = page.locator("[data-testid=stMain] .st-key-train button")
    expect(train).to_be_visible()
    expect(page.locator("[data-testid=stMain] .st-key-epochs input")).to_be_visible()
    # The expander's content may still be settling (its charts and images load and move the
    # button down): scroll to it again until it has stayed in view for three checks in a row.
    steady = 0
    for _ in range(30):
        train.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        in_view = page.evaluate("""b => { const r = b.getBoundingClientRect();
                return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; }""", train.element_handle())
        steady = steady + 1 if in_view else 0
        if steady == 3:
            break
    expect(train).to_be_in_viewport(ratio=1)
    expect(page.locator("[data-testid=stSidebar]")).to_have_attribute("data-collapsed", "true")


# -- a phone that locks its screen -----------------------------------------------------------------
class Network:
    """The phone's connection to the server, which the test can cut: every websocket goes
    through `route_web_socket`; `drop()` closes both ends of the open ones (the server sees
    its client go, as when a phone locks) and refuses new ones until `restore()`, with the
    browser offline for its HTTP requests (Streamlit's health checks) meanwhile."""

    def __init__(self, context):
        self.context, self.up, self.open, self.connections = context, True, [], 0
        context.route_web_socket(re.compile(r".*/_stcore/stream"), self._route)

    def _route(self, ws) -> None:
        if not self.up:
            ws.close()
            return
        self.open.append((ws, ws.connect_to_server()))
        self.connections += 1

    def drop(self) -> None:
        self.up = False
        self.context.set_offline(True)
        for page_side, server_side in self.open:
            server_side.close()
            page_side.close()
        self.open.clear()

    def restore(self) -> None:
        self.up = True
        self.context.set_offline(False)


def a_recorded_run(data_dir) -> None:
    """One training in the server's runs database, with a model file to draw with (the shipped one)."""
    result = types.SimpleNamespace(config=TrainConfig(), train_accuracy=0.9, test_accuracy=0.9, train_loss=0.3,
                                   test_loss=0.3, history={"loss": [0.3]}, fit_seconds=1.0)
    runs.record(result, "page", store.SHIPPED, path=data_dir / "runs.sqlite")


@pytest.mark.parametrize("ttl, kept", [(20, True), (2, False)], ids=["ttl-20s-kept", "ttl-2s-lost"])
def test_a_phone_offline_for_a_while_comes_back_to_its_session(chromium, samples, tmp_path, monkeypatch, ttl, kept):
    """A phone draws, chooses a recorded run's model to draw with, then loses its connection for
    8 s. With a server keeping disconnected sessions 20 s, it comes back to the same session
    (still "your model", its guess); with 2 s, to a new one (the class's model): the test tells
    the two apart. Either way the page answers strokes again: a page whose session expired
    after a full run used to drop every stroke (see IDLE_POLL_SECONDS in streamlit_app.py).
    (The page's own setting, .streamlit/config.toml, is 600 s.)"""
    a_recorded_run(tmp_path)
    monkeypatch.setenv("STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL", str(ttl))   # = --server.disconnectedSessionTTL
    with streamlit_server(data_dir=tmp_path) as server:
        context = phone_context(chromium)
        try:
            network = Network(context)
            phone = TouchPage(context.new_page(), server.url).open()
            phone.draw(samples[0]["strokes"])
            guess = phone.guess()
            # Its own model: a full run of the page, after which Streamlit's frontend asks for
            # no run when it reconnects, unless a fragment of the page reruns on a timer.
            phone.page.get_by_role("tab", name="Compare runs").tap()
            phone.page.locator(".st-key-use_run button").tap()
            label = phone.page.get_by_text("Model in use:")
            expect(label).to_contain_text("your model", timeout=SHORT)

            network.drop()
            phone.page.wait_for_timeout(OFFLINE_SECONDS * 1000)
            network.restore()
            waited = 0
            while network.connections < 2 and waited < SHORT:
                phone.page.wait_for_timeout(100)
                waited += 100
            assert network.connections >= 2, "the page did not reconnect"

            if kept:
                expect(label).to_contain_text("your model", timeout=SHORT)
                expect(phone.page.locator(".st-key-guess")).to_have_text(guess, timeout=SHORT)
            else:
                expect(label).to_contain_text("the shipped model", timeout=SHORT)
            phone.clear(force=True)
            phone.draw(samples[1]["strokes"])
            assert phone.guess() in list("0123456789")
            assert ("your model" in phone.model_in_use()) == kept
        finally:
            context.close()


# -- the phone's page in AppTest -------------------------------------------------------------------
@pytest.fixture
def phone_session(monkeypatch):
    """The page as a phone's session: its user agent, where the page reads it; a training queue
    whose training process never trains (tests/test_instructor_page.py), so trainings wait."""
    monkeypatch.setattr(ui.layout, "user_agent", lambda: PHONE_USER_AGENT)
    monkeypatch.delenv("DIGITS_INSTRUCTOR_PASSWORD", raising=False)
    monkeypatch.setattr(classroom.queue, "TrainingProcess", NeverTrains)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    at.session_state.session_id = uuid.uuid4().hex
    yield at
    st.cache_resource.clear()


def test_on_a_phone_training_is_under_the_drawing_and_opens_once_there_is_one(phone_session):
    at = phone_session
    training_keys = {"preset", "epochs", "batch_size", "learning_rate", "optimizer", "train"}
    assert not training_keys & {getattr(e, "key", None) for e in at.sidebar}
    assert "language" in {getattr(e, "key", None) for e in at.sidebar}     # the language switch stays there
    [expander] = [e for e in at.main.expander if e.label == "Train your own model"]
    assert not expander.proto.expanded
    assert training_keys <= {getattr(e, "key", None) for e in expander}

    at.number_input(key="epochs").set_value(1)
    at.button(key="train").click().run()
    assert not at.exception, at.exception
    assert at.session_state.job_id is not None
    [expander] = [e for e in at.main.expander if e.label == "Train your own model"]
    assert expander.proto.expanded
    assert expander.info or expander.get("progress"), "no place in the queue or progress under Train"
    assert not at.sidebar.info and not at.sidebar.get("progress")


def a_drawn_one() -> Image.Image:
    canvas = Image.new("RGBA", (SIZE, SIZE), "black")
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill="white", width=20)
    return canvas


def test_the_phones_page_speaks_korean(phone_session):
    at = phone_session
    at.query_params["lang"] = "ko"
    at.run()
    assert [e for e in at.main.expander if e.label == catalog("ko")["phone.train"]]
    draw_on_canvas(at, a_drawn_one())
    at.run()
    assert not at.exception, at.exception
    assert guess(at) == "1"
    assert catalog("ko")["phone.seen_and_guess"] in [c.value for c in at.caption]
    assert any(m.value.startswith("확신도") for m in at.markdown)
