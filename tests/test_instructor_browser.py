"""The instructor's side in a real browser: the server started for a class prints a link that
opens the page unlocked (and leaves no code in the address bar), while any other browser
gets only the unlock form; and a training that fails leaves the page quiet.

    python -m pytest -q tests/test_instructor_browser.py

Needs Playwright and Debian's chromium; without them the tests skip and say why, except
with CI=true, where that is a failure. The servers run in subprocesses with this test's own
DIGITS_DATA_DIR: `python -m classroom.serve`, as a teacher starts it, and `streamlit run`
(tests/browser.py) with MNIST_PATH pointing at a file that does not exist.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from browser import (chromium_browser, APP, MNIST, REPO, VIEWPORT, DigitPage, Server, expect,
                     free_port, stop_server, streamlit_server, wait_healthy)

SHORT = 30_000              # ms: a page load or a rerun on a busy machine
ANNOUNCED = 30.0            # s: `classroom.serve` prints its link before Streamlit starts
QUIET_SECONDS = 5.0         # nobody touches the page for this long after the failure is shown
SETTLE_MS = 1_000           # the end of the script run that showed it
MOST_FRAMES = 2             # the old page: a sidebar rerun every 0.5 s, about 10 in 5 s, several frames each
INSTRUCTOR_ONLY = ["instructor_panel", "publish", "unpublish", "publish_choice", "pause_training",
                   "training_budget", "export_drawings", "finetune", "drawings_digit"]




@pytest.fixture
def browser():
    with chromium_browser() as browser:
        yield browser


def new_page(browser):
    """A browser context of its own: its own cookies, so its own Streamlit session."""
    return browser.new_context(viewport=VIEWPORT).new_page()


# -- a server started for a class ------------------------------------------------------------------
def start_class_server(data_dir: Path) -> Server:
    """`python -m classroom.serve` on a free port, with no instructor password anywhere in its
    environment; its terminal (stdout and stderr) goes to the server's log."""
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MNIST_PATH": os.environ.get("MNIST_PATH") or str(MNIST),
           "DIGITS_DATA_DIR": str(data_dir)}
    for name in ("DIGITS_INSTRUCTOR_PASSWORD", "DIGITS_INSTRUCTOR_CODE", "DIGITS_PUBLIC_URL"):
        env.pop(name, None)
    fd, log = tempfile.mkstemp(prefix="classroom-serve-", suffix=".log")
    command = [sys.executable, "-m", "classroom.serve", "--server.port", str(port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    launched = time.perf_counter()
    with os.fdopen(fd, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, f"http://127.0.0.1:{port}", Path(log), launched)


def announced_link(server: Server) -> tuple[str, str]:
    """The code and the link the server printed in its terminal."""
    deadline = time.perf_counter() + ANNOUNCED
    while time.perf_counter() < deadline:
        text = server.log.read_text(errors="replace")
        found = re.search(r"Instructor code: (\S+).*?(https?://\S+/\?instructor=\S+)", text, re.S)
        if found:
            return found.group(1), found.group(2)
        if server.process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"classroom.serve printed no instructor link:\n{server.log_tail()}")


@pytest.fixture
def class_server(data_dir):
    """A class's server, with a recorded run to publish and one drawing of the class, so the
    instructor's panel has its publish button and its drawings' buttons."""
    from classroom import feedback, runs
    from model import store
    from model.config import TrainConfig
    result = SimpleNamespace(config=TrainConfig(), train_accuracy=0.9, test_accuracy=0.9, train_loss=0.3,
                             test_loss=0.3, history={}, fit_seconds=1.0)
    runs.record(result, "page", store.SHIPPED)
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 130:150] = 255
    feedback.add(canvas, np.zeros((28, 28), np.float32), 1, 1, "the shipped model")
    server = start_class_server(data_dir)
    try:
        code, link = announced_link(server)
        wait_healthy(server)
        yield server, code, link
    finally:
        stop_server(server)


def keyed(page) -> list[str]:
    """The keys (`st-key-…` classes) of every keyed element in the Instructor expander."""
    return page.locator("[data-testid=stSidebar] [data-testid=stExpander]").filter(has_text="Instructor") \
        .evaluate("""e => [...e.querySelectorAll('[class*="st-key-"]')]
                          .flatMap(n => [...n.classList].filter(c => c.startsWith('st-key-')))
                          .map(c => c.slice(7))""")


def test_the_printed_link_unlocks_and_any_other_browser_gets_only_the_unlock_form(browser, class_server):
    server, code, link = class_server
    teacher = new_page(browser)
    teacher.goto(re.sub(r"^https?://[^/]+", server.url, link))   # the machine's address, as 127.0.0.1
    panel = teacher.locator(".st-key-instructor_panel")
    expect(panel).to_be_visible(timeout=SHORT)
    for key in ("publish", "pause_training", "training_budget", "export_drawings", "finetune"):
        expect(panel.locator(f".st-key-{key}")).to_be_visible()
    expect(teacher.locator(".st-key-instructor_password")).to_have_count(0)
    # The code is taken out of the address bar (and so out of the history and the projector).
    expect(teacher).not_to_have_url(re.compile("instructor"), timeout=SHORT)
    assert code not in teacher.url, teacher.url

    student = new_page(browser)
    DigitPage(student, server.url).open()
    student.locator("[data-testid=stSidebar]").get_by_text("Instructor", exact=True).click()
    expect(student.locator(".st-key-instructor_password input")).to_be_visible(timeout=SHORT)
    expect(student.locator(".st-key-instructor_unlock button")).to_be_visible()
    assert set(keyed(student)) <= {"unlock", "instructor_password", "instructor_unlock"}, keyed(student)
    for key in INSTRUCTOR_ONLY:     # not hidden, not disabled: not on the page at all
        expect(student.locator(f".st-key-{key}")).to_have_count(0)
    assert code not in student.content()
    # Neither Streamlit's Deploy button nor its developer menu (rerun, clear cache, settings).
    expect(student.locator("[data-testid=stAppDeployButton]")).to_have_count(0)
    expect(student.locator("[data-testid=stMainMenu]")).to_have_count(0)

    # The code read off the terminal, typed into the form, unlocks that browser too.
    student.locator(".st-key-instructor_password input").fill(code.lower())
    student.locator(".st-key-instructor_unlock button").click()
    expect(student.locator(".st-key-instructor_panel .st-key-publish")).to_be_visible(timeout=SHORT)


# -- a training that fails ---------------------------------------------------------------------------
def frames_while_left_alone(browser, url: str) -> tuple[str, int]:
    """Press Train on a server whose MNIST is missing; once the failure is shown (and the run
    that showed it has ended), how many websocket frames the page receives in QUIET_SECONDS
    while nobody touches it. Returns the message shown and that count."""
    page = new_page(browser)
    frames: list[float] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(time.perf_counter())))
    DigitPage(page, url).open()
    page.locator(".st-key-train button").click()
    failure = page.locator("[data-testid=stSidebar] [data-testid=stAlertContentError]")
    expect(failure).to_be_visible(timeout=SHORT * 2)
    page.wait_for_timeout(SETTLE_MS)
    before = len(frames)
    page.wait_for_timeout(QUIET_SECONDS * 1000)     # Playwright delivers the frames' events meanwhile
    return failure.inner_text(), len(frames) - before


def test_after_a_failed_training_the_page_stops_polling(browser, data_dir, tmp_path, monkeypatch):
    missing = tmp_path / "no-mnist-here.npz"
    monkeypatch.setenv("MNIST_PATH", str(missing))      # the training process fails at once
    with streamlit_server(APP, data_dir=data_dir) as server:
        message, frames = frames_while_left_alone(browser, server.url)
    assert "No MNIST file" in message and str(missing) in message, message
    assert frames <= MOST_FRAMES, f"{frames} websocket frames in {QUIET_SECONDS:.0f} s after the failure"
