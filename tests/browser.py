"""Browser helpers for tests/test_browser.py and bench/page_speed.py (not a test file).

    with streamlit_server() as server, sync_playwright() as p:
        browser = launch_chromium(p)
        page = DigitPage(browser.new_page(), server.url).open()
        page.set_pen_width(20)
        page.draw(sample["strokes"])
        page.guess()                  # "7"

`streamlit_server` runs `streamlit run` on a free port in a subprocess with a private
DIGITS_DATA_DIR, waits for /_stcore/health and stops it on exit. `launch_chromium`
starts Debian's chromium through Playwright (`playwright install` cannot download
browsers here). `DigitPage` uses the page as a person does: the mouse draws on the
canvas, the keyboard moves the pen width slider, the Clear button empties the canvas,
and the guess is read from the `st-key-guess` container.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "streamlit_app.py"
SHARED_DATA = REPO.parent / "shared" / "data"
STROKES = SHARED_DATA / "drawn_dev_strokes.json"
MNIST = SHARED_DATA / "mnist.npz"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Headless chromium answers each mouse move at its next frame (~17 ms, so ~1 s a digit);
# unthrottled frames answer in ~5 ms on a still page. Frame pacing only: for the tests,
# not for the benchmark, which measures what a person's browser would do.
FAST_FRAMES = ["--disable-frame-rate-limit", "--disable-gpu-vsync"]
# Pen moves longer than this are split: fabric smooths a freehand path with curves through
# the midpoints of successive moves, which cut the corners of long ones. (Half the recorded
# moves are under 9 px; each move costs a browser frame.)
MAX_MOVE_PX = 24.0


# -- the server ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path
    launched: float     # time.perf_counter() just before `streamlit run` was started
    own_data_dir: tempfile.TemporaryDirectory | None = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_server(app: Path = APP, data_dir: str | os.PathLike | None = None,
                 port: int | None = None) -> Server:
    """`streamlit run app` in the background; returns at once (see `wait_healthy`).
    Without `data_dir`, models and databases go to a temporary folder removed on stop."""
    port = port or free_port()
    own = None if data_dir else tempfile.TemporaryDirectory(prefix="digits-data-")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "MNIST_PATH": os.environ.get("MNIST_PATH") or str(MNIST),
           "DIGITS_DATA_DIR": str(data_dir or own.name)}
    fd, log = tempfile.mkstemp(prefix="streamlit-", suffix=".log")
    command = [sys.executable, "-m", "streamlit", "run", str(app),
               "--server.headless", "true", "--server.port", str(port),
               "--browser.gatherUsageStats", "false",
               # Other people edit the repository while tests run: no reruns on their saves.
               "--server.fileWatcherType", "none"]
    launched = time.perf_counter()
    with os.fdopen(fd, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, f"http://localhost:{port}", Path(log), launched, own)


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.process.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"streamlit was not healthy within {timeout:.0f} s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    server.log.unlink(missing_ok=True)
    if server.own_data_dir is not None:
        server.own_data_dir.cleanup()


@contextmanager
def streamlit_server(app: Path = APP, data_dir: str | os.PathLike | None = None,
                     timeout: float = 60.0) -> Iterator[Server]:
    server = start_server(app, data_dir)
    try:
        wait_healthy(server, timeout)
        yield server
    finally:
        stop_server(server)


# -- the browser ---------------------------------------------------------------------------
def chromium_path() -> str | None:
    """Debian's chromium: $CHROMIUM_PATH, else `chromium` on the PATH, else None."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).is_file() else None


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -r requirements-dev.txt)"
    if chromium_path() is None:
        return "chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


def launch_chromium(playwright, fast_frames: bool = False):
    args = CHROMIUM_ARGS + (FAST_FRAMES if fast_frames else [])
    return playwright.chromium.launch(executable_path=chromium_path(), args=args, headless=True)


@contextmanager
def chromium_browser(fast_frames: bool = False) -> Iterator:
    """Debian's Chromium through Playwright, closed on exit; skips (fails in CI) without it."""
    reason = browser_missing()
    if reason:
        browser_unavailable(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch_chromium(p, fast_frames)
        try:
            yield browser
        finally:
            browser.close()


def recorded_samples() -> list[dict]:
    """drawn_dev_strokes.json's digits; skips (fails in CI) without a browser or the file."""
    reason = browser_missing() or (None if STROKES.is_file() else f"no drawn digits at {STROKES}")
    if reason:
        browser_unavailable(reason)
    return load_samples()


def wait_for_more_ink(canvas_ink, before: int) -> None:
    """Wait (up to 2 s, frame by frame) until the canvas has more ink pixels than `before`;
    raises Playwright's Error if it never does (the stroke left no ink)."""
    canvas_ink.evaluate(f"(c, before) => new Promise((done, fail) => {{"
                        f"  const t0 = performance.now();"
                        f"  const check = () => ({INK_PIXELS})(c) > before ? done() :"
                        f"    performance.now() - t0 > 2000 ? fail('no ink') : requestAnimationFrame(check);"
                        f"  check(); }})", before)


# -- the drawings ----------------------------------------------------------------------------
def load_samples(path: Path = STROKES) -> list[dict]:
    """The drawn digits as stroke polylines in canvas pixels, read from ../shared by path."""
    return json.loads(Path(path).read_text())["samples"]


def pen_moves(polyline: Sequence[Sequence[float]], max_step: float = MAX_MOVE_PX) -> list[tuple[float, float]]:
    """The polyline's points, with points added on segments longer than `max_step`."""
    points = [(float(x), float(y)) for x, y in polyline]
    moves = points[:1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / max_step))
        moves += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return moves


# -- the page ----------------------------------------------------------------------------------
VIEWPORT = {"width": 1280, "height": 900}   # the sidebar open, the canvas and guess side by side
CANVAS = "canvas.upper-canvas"          # fabric's top canvas, which takes the mouse
INK = "canvas.dc-canvas.lower-canvas"   # fabric's drawing, without the background
GUESS = ".st-key-guess"
# The "what the model sees" picture beside the guess: its URL names its content, so a new
# URL means the page has recognized a new drawing.
SEEN_SRC = """() => {
    const guess = document.querySelector('.st-key-guess');
    const row = guess && guess.closest('[data-testid="stHorizontalBlock"]');
    const img = row && row.querySelector('img');
    return img ? img.src : null;
}"""
INK_PIXELS = """c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 127) n++;
    return n;
}"""
# Whether the mouse at (x, y) would reach fabric's top canvas (inside the component's shadow root).
HITS_CANVAS = """([x, y]) => {
    let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) {
        const inner = el.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === el) break;
        el = inner;
    }
    return !!el && el.matches('canvas.upper-canvas');
}"""
# After Clear: the guess gone, the old canvas gone (for a moment the new one can sit below
# it), and a new canvas there. Checked at every frame, as are the other waits here:
# Playwright's selector waits back off to polls 0.5 s apart.
CLEARED = """() => {
    const all = (root, out = []) => {
        root.querySelectorAll('canvas.upper-canvas').forEach(c => out.push(c));
        root.querySelectorAll('*').forEach(e => e.shadowRoot && all(e.shadowRoot, out));
        return out;
    };
    const canvases = all(document);
    return document.querySelector('.st-key-guess') === null && canvases.length === 1 &&
        !canvases[0].dataset.used;
}"""
STROKE_TRIES = 3


def expect(locator):
    """Playwright's `expect`, imported only when used (this module imports without Playwright)."""
    from playwright.sync_api import expect as _expect
    return _expect(locator)


class DigitPage:
    """Digit Canvas in one browser tab: one Streamlit session."""

    def __init__(self, page, url: str, timeout: float = 30.0):
        self.page = page
        self.url = url
        self.timeout_ms = timeout * 1000
        self.drawn = False
        self._before_last_release: str | None = None

    def open(self) -> "DigitPage":
        self.page.goto(self.url)
        self.page.wait_for_selector(CANVAS, timeout=self.timeout_ms)
        return self

    # -- input
    def pen_width(self) -> int:
        """The pen width the slider is at."""
        return int(self.page.locator(".st-key-pen_width input[type=range]").input_value())

    def set_pen_width(self, width: int) -> None:
        """Move the slider with the arrow keys until it shows `width`, then Clear, so the
        canvas is drawn anew with that pen (the canvas only learns it on a rerun)."""
        slider = self.page.locator(".st-key-pen_width input[type=range]")
        current = self.pen_width()
        if current == width:
            return
        slider.focus()
        key = "ArrowRight" if width > current else "ArrowLeft"
        for _ in range(abs(width - current)):
            self.page.keyboard.press(key)
        self.page.wait_for_function(
            "w => document.querySelector('.st-key-pen_width [data-testid=stSliderThumbValue]')"
            ".innerText.trim() === String(w)", arg=width, polling="raf", timeout=self.timeout_ms)
        self.clear(force=True)

    def draw(self, strokes: Sequence[Sequence[Sequence[float]]]) -> float:
        """Draw each polyline as one pen stroke; returns perf_counter() at the last mouse-up.

        Before each stroke after the first, waits until the page has recognized the strokes
        so far, as a person's pause between strokes would: otherwise a guess for a half-drawn
        digit could be taken for the whole one's."""
        released = 0.0
        for i, polyline in enumerate(strokes):
            if i > 0:
                self.wait_for_new_guess(previous)
            previous = self.seen()
            released = self.stroke(pen_moves(polyline))
        self._before_last_release = previous
        return released

    def stroke(self, moves: Sequence[tuple[float, float]]) -> float:
        """One pen stroke through `moves` (canvas pixels); returns perf_counter() at mouse-up.
        A stroke that left no ink (the canvas was still being set up) is drawn again."""
        from playwright.sync_api import Error as PlaywrightError

        canvas_ink = self.page.locator(INK)
        mouse = self.page.mouse
        for _ in range(STROKE_TRIES):
            ink = canvas_ink.evaluate(INK_PIXELS)
            box = self.canvas_box()
            mouse.move(box["x"] + moves[0][0], box["y"] + moves[0][1])
            mouse.down()
            for x, y in moves[1:]:
                mouse.move(box["x"] + x, box["y"] + y)
            mouse.up()
            released = time.perf_counter()
            self.drawn = True
            try:
                wait_for_more_ink(canvas_ink, ink)
                return released
            except PlaywrightError:
                continue
        raise AssertionError(f"{STROKE_TRIES} strokes in a row left no ink on the canvas")

    def clear(self, force: bool = False) -> None:
        """Press Clear and wait until the guess is gone and a new, empty canvas is there."""
        if not self.drawn and not force:
            return
        self.page.locator(CANVAS).evaluate("el => el.dataset.used = '1'")
        self.page.locator(".st-key-clear button").click()
        self.page.wait_for_function(CLEARED, polling="raf", timeout=self.timeout_ms)
        self.drawn = False

    def canvas_box(self) -> dict:
        """Where the canvas is on the screen, once it has stopped moving and nothing covers it."""
        canvas = self.page.locator(CANVAS)
        box = canvas.bounding_box(timeout=self.timeout_ms)
        deadline = time.perf_counter() + self.timeout_ms / 1000
        while time.perf_counter() < deadline:
            self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            again = canvas.bounding_box(timeout=self.timeout_ms)
            centre = [again["x"] + again["width"] / 2, again["y"] + again["height"] / 2]
            if again == box and self.page.evaluate(HITS_CANVAS, centre):
                return box
            box = again
        raise TimeoutError(f"the canvas keeps moving or is covered ({box})")

    def recognize(self, sample: dict) -> str:
        """Draw one sample on an empty canvas with its pen width; the page's guess."""
        self.set_pen_width(round(sample["line_width"]))
        self.clear()
        self.draw(sample["strokes"])
        return self.guess()

    # -- output
    def seen(self) -> str | None:
        """The URL of the 28x28 picture the model saw, None while nothing is drawn."""
        return self.page.evaluate(SEEN_SRC)

    def wait_for_new_guess(self, previous: str | None, timeout: float | None = None) -> None:
        self.page.wait_for_function(f"prev => ({SEEN_SRC})() !== prev && "
                                    "document.querySelector('.st-key-guess') !== null",
                                    arg=previous, timeout=timeout * 1000 if timeout else self.timeout_ms,
                                    polling="raf")

    def guess(self, timeout: float | None = None) -> str:
        """The guess for everything drawn so far (waits for it after `draw`)."""
        self.wait_for_new_guess(self._before_last_release, timeout)
        return self.page.locator(GUESS).inner_text().strip()

    def model_in_use(self) -> str:
        return self.page.get_by_text("Model in use:").inner_text()



def recognize_all(url: str, samples: Sequence[dict], tabs: int = 2) -> list[str]:
    """The page's guess for each sample, drawn in `tabs` browsers at once (one Streamlit
    session each, as in a classroom): one alone takes 1.5-3 s a digit (Clear's two reruns,
    ~50 mouse moves, the guess's rerun). Each thread runs its own Playwright and chromium
    (Playwright is not thread-safe); each draws its share grouped by pen width, so the
    slider moves seldom."""
    from concurrent.futures import ThreadPoolExecutor

    from playwright.sync_api import sync_playwright

    def work(share: list[int]) -> dict[int, str]:
        guesses = {}
        with sync_playwright() as p:
            browser = launch_chromium(p, fast_frames=True)
            try:
                page = DigitPage(browser.new_page(viewport=VIEWPORT), url).open()
                for i in sorted(share, key=lambda i: round(samples[i]["line_width"])):
                    guesses[i] = page.recognize(samples[i])
            finally:
                browser.close()
        return guesses

    guesses: dict[int, str] = {}
    with ThreadPoolExecutor(tabs) as pool:
        for part in pool.map(work, [list(range(k, len(samples), tabs)) for k in range(tabs)]):
            guesses.update(part)
    return [guesses[i] for i in range(len(samples))]


# -- where a stroke lands (tests/test_canvas_edges_browser.py) ----------------------------------
# Ink pixels of the drawing within `r` px of a canvas point (x, y).
INK_NEAR = """(c, [x, y, r]) => {
    const x0 = Math.max(0, Math.floor(x - r)), y0 = Math.max(0, Math.floor(y - r));
    const x1 = Math.min(c.width, Math.ceil(x + r) + 1), y1 = Math.min(c.height, Math.ceil(y + r) + 1);
    const d = c.getContext('2d').getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 127) n++;
    return n;
}"""
# The innermost element at (x, y), through open shadow roots, as tag.class: what a pen there reaches.
ELEMENT_AT = """([x, y]) => {
    let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) {
        const inner = el.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === el) break;
        el = inner;
    }
    if (!el) return 'nothing';
    const cls = typeof el.className === 'string' ? el.className : el.getAttribute('class') || '';
    return [el.tagName.toLowerCase(), ...cls.split(/\\s+/).filter(Boolean)].join('.');
}"""


def covered_points(page: DigitPage, points: Sequence[Sequence[float]]) -> dict[tuple, str]:
    """The canvas points (canvas pixels) where a pen put down would not reach the canvas,
    each with the element it would reach instead: the hit test `canvas_box` does at the
    centre, at any points, in one round trip."""
    box = page.canvas_box()
    found = page.page.evaluate(f"""points => points.map(p => [({HITS_CANVAS})(p), ({ELEMENT_AT})(p)])""",
                               [[box["x"] + x, box["y"] + y] for x, y in points])
    return {tuple(point): element for point, (reaches, element) in zip(points, found) if not reaches}


def ink_near(page: DigitPage, point: Sequence[float], radius: float = 3) -> int:
    """Ink pixels on the canvas's drawing within `radius` px of a canvas point."""
    return page.page.locator(INK).evaluate(INK_NEAR, [point[0], point[1], radius])


def ink(page: DigitPage) -> int:
    """Ink pixels on the whole drawing."""
    return page.page.locator(INK).evaluate(INK_PIXELS)


# -- a phone (tests/test_phone_browser.py) ------------------------------------------------------
PHONE = {"width": 390, "height": 844}     # CSS pixels of a common phone held upright
# A phone's browser; the page tells a phone by "Mobi" in it (MDN's advice), as a server can.
PHONE_USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/139.0.0.0 Mobile Safari/537.36")
# Where the page has scrolled to: the window, and Streamlit's main area (which is what scrolls).
SCROLLED = "() => [window.scrollY, document.querySelector('[data-testid=stMain]').scrollTop]"


def phone_context(browser, **options):
    """A browser context that is a phone: its screen, a touch screen, its user agent."""
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                               user_agent=PHONE_USER_AGENT, **options)


class TouchPage(DigitPage):
    """`DigitPage` on a touch screen: each stroke is a finger's touchStart, touchMove... touchEnd,
    sent through Chrome's DevTools protocol (`Input.dispatchTouchEvent`, points in the
    viewport's CSS pixels), as a phone's screen sends them."""

    def __init__(self, page, url: str, timeout: float = 30.0):
        super().__init__(page, url, timeout)
        self.cdp = page.context.new_cdp_session(page)

    def touch(self, kind: str, points: Sequence[tuple[float, float]] = ()) -> None:
        self.cdp.send("Input.dispatchTouchEvent",
                      {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})

    def swipe(self, moves: Sequence[tuple[float, float]]) -> None:
        """One finger through `moves` (viewport pixels)."""
        self.touch("touchStart", moves[:1])
        for point in moves[1:]:
            self.touch("touchMove", [point])
        self.touch("touchEnd")

    def stroke(self, moves: Sequence[tuple[float, float]]) -> float:
        """One finger stroke through `moves` (canvas pixels); returns perf_counter() when the
        finger lifts. A stroke that left no ink (the canvas was still being set up) is drawn again."""
        from playwright.sync_api import Error as PlaywrightError

        canvas_ink = self.page.locator(INK)
        for _ in range(STROKE_TRIES):
            before = canvas_ink.evaluate(INK_PIXELS)
            box = self.canvas_box()
            self.swipe([(box["x"] + x, box["y"] + y) for x, y in moves])
            released = time.perf_counter()
            self.drawn = True
            try:
                wait_for_more_ink(canvas_ink, before)
                return released
            except PlaywrightError:
                continue
        raise AssertionError(f"{STROKE_TRIES} strokes in a row left no ink on the canvas")

    def scrolled(self) -> list[float]:
        """[window.scrollY, the main area's scrollTop]."""
        return self.page.evaluate(SCROLLED)


# -- when the browser tests cannot run -----------------------------------------------------------
def browser_unavailable(reason: str) -> None:
    """Skip with the reason; in CI, fail: CI must run the browser tests."""
    import pytest
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


@contextmanager
def page_with_a_digit(data_dir: str | os.PathLike, width: int = 1400, height: int = 1800) -> Iterator[DigitPage]:
    """A fresh server and one Chromium tab on it in which the first recorded digit has been
    drawn and guessed; skips (fails in CI) without a browser or the recorded digits."""
    first = recorded_samples()[0]
    with chromium_browser() as browser, streamlit_server(data_dir=data_dir) as server:
        digits = DigitPage(browser.new_page(viewport={"width": width, "height": height}), server.url).open()
        digits.recognize(first)
        yield digits
