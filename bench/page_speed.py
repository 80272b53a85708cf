"""Page speed in a real browser, against a bare page that holds only the canvas.

    python bench/page_speed.py [--runs 3] [--digits 30] [--bare-digits 10]

(a) Start-up: from launching `streamlit run` to the first drawing's guess on screen. The
    server starts, the page opens as soon as /_stcore/health answers, one digit is drawn
    with the mouse as soon as the canvas appears, and the clock stops when its guess shows.
    The same for a bare page (a temporary app file, outside the repository, with only
    `st_canvas` and `st.write` of whether image data exists; the clock stops when it says
    True). The two alternate, `--runs` times each, each run on a new server.
(b) Later drawings: on the page after start-up, Clear, draw a digit, and time from the
    last mouse-up to its guess on screen, over `--digits` digits; the bare page likewise
    (reloaded between digits: it has no Clear), over `--bare-digits` digits.
Targets: (a) within 6 s; (b) median at most 0.5 s.

Chromium (Debian's, through Playwright; tests/browser.py) runs with its ordinary frame
pacing, as a person's browser would, and is launched before any clock starts. Nothing
is trained; each server gets a temporary DIGITS_DATA_DIR. Other work on the machine slows
every figure: the load average is printed with them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import (CANVAS, VIEWPORT, DigitPage, browser_missing, launch_chromium,  # noqa: E402
                     load_samples, pen_moves, start_server, stop_server, wait_healthy)

STARTUP_TARGET = 6.0
LATER_TARGET = 0.5
BARE_APP = """import streamlit as st
from streamlit_drawable_canvas import st_canvas

result = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000",
                   width=280, height=280, drawing_mode="freedraw", return_image_data=True,
                   update_streamlit=True, key="canvas")
st.write(f"image data: {result.image_data is not None}")
"""
# Conditions checked at every frame (Playwright's selector waits back off to 0.5 s polls).
CANVAS_SHOWN = """() => {
    const find = root => root.querySelector('canvas.upper-canvas') ||
        [...root.querySelectorAll('*')].map(e => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    return !!find(document);
}"""
GUESS_SHOWN = "() => document.querySelector('.st-key-guess') !== null"
BARE_EMPTY = "() => document.body.innerText.includes('image data: False')"
BARE_DONE = "() => document.body.innerText.includes('image data: True')"


def wait(page, condition: str) -> float:
    """perf_counter() once `condition` holds, checked at every frame."""
    page.wait_for_function(condition, polling="raf", timeout=60_000)
    return time.perf_counter()


def draw_one(page, moves) -> float:
    """One stroke with the mouse on the canvas; perf_counter() at mouse-up."""
    box = page.locator(CANVAS).bounding_box()
    page.mouse.move(box["x"] + moves[0][0], box["y"] + moves[0][1])
    page.mouse.down()
    for x, y in moves[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.up()
    return time.perf_counter()


def startup(browser, app: Path, moves, done: str) -> dict[str, float]:
    """Seconds from `streamlit run` to: healthy, canvas shown, mouse-up, result shown."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    server = start_server(app)
    try:
        wait_healthy(server)
        healthy = time.perf_counter()
        page.goto(server.url)
        canvas = wait(page, CANVAS_SHOWN)
        released = draw_one(page, moves)
        shown = wait(page, done)
    finally:
        context.close()
        stop_server(server)
    t0 = server.launched
    return {"healthy": healthy - t0, "canvas": canvas - t0, "mouse-up": released - t0, "shown": shown - t0}


def later_on_page(browser, app: Path, samples: list[dict]) -> list[float]:
    server = start_server(app)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        wait_healthy(server)
        page = DigitPage(context.new_page(), server.url).open()
        times = []
        for sample in samples:
            page.set_pen_width(round(sample["line_width"]))
            page.clear()
            released = page.draw(sample["strokes"])
            page.guess()
            times.append(time.perf_counter() - released)
        return times
    finally:
        context.close()
        stop_server(server)


def later_on_bare(browser, app: Path, samples: list[dict]) -> list[float]:
    server = start_server(app)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        wait_healthy(server)
        page = context.new_page()
        times = []
        for sample in samples:
            page.goto(server.url)
            wait(page, BARE_EMPTY)
            released = draw_one(page, pen_moves(sample["strokes"][0]))
            times.append(wait(page, BARE_DONE) - released)
        return times
    finally:
        context.close()
        stop_server(server)


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="start-ups of each page (default 3)")
    parser.add_argument("--digits", type=int, default=30, help="later drawings on the page (default 30)")
    parser.add_argument("--bare-digits", type=int, default=10, help="later drawings on the bare page")
    args = parser.parse_args()
    reason = browser_missing()
    if reason:
        sys.exit(reason)
    from playwright.sync_api import sync_playwright

    samples = load_samples()
    single = [s for s in samples if len(s["strokes"]) == 1]
    first = pen_moves(single[0]["strokes"][0])     # a one-stroke digit, drawn with the default pen

    with tempfile.TemporaryDirectory(prefix="bare-canvas-") as tmp, sync_playwright() as p:
        bare_app = Path(tmp) / "bare_canvas.py"
        bare_app.write_text(BARE_APP)
        page_app = ROOT / "streamlit_app.py"
        browser = launch_chromium(p)
        try:
            # Warm the disk cache once for both, so neither pays for the first read of the libraries.
            startup(browser, bare_app, first, BARE_DONE)
            page_runs, bare_runs = [], []
            for _ in range(args.runs):
                page_runs.append(startup(browser, page_app, first, GUESS_SHOWN))
                bare_runs.append(startup(browser, bare_app, first, BARE_DONE))
            page_later = later_on_page(browser, page_app, samples[: args.digits])
            bare_later = later_on_bare(browser, bare_app, single[: args.bare_digits])
        finally:
            browser.close()

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work on the machine slows every figure)\n")
    print(f"(a) start-up, seconds from `streamlit run` (median of {args.runs} runs each)")
    print("| page | server healthy | canvas shown | mouse-up | guess shown |")
    print("|---|---|---|---|---|")
    for name, runs in (("Digit Canvas", page_runs), ("bare canvas", bare_runs)):
        print(f"| {name} | " + " | ".join(f"{median(runs, k):.2f}" for k in
                                         ("healthy", "canvas", "mouse-up", "shown")) + " |")
    page_start, bare_start = median(page_runs, "shown"), median(bare_runs, "shown")
    every = {name: ", ".join(f"{r['shown']:.2f}" for r in runs)
             for name, runs in (("page", page_runs), ("bare", bare_runs))}
    print(f"every run, result shown: page {every['page']}; bare {every['bare']}")
    print(f"ratio page / bare: {page_start / bare_start:.2f}; page / target {STARTUP_TARGET:g} s: "
          f"{page_start / STARTUP_TARGET:.2f} ({'within' if page_start <= STARTUP_TARGET else 'OVER'} target)")

    print(f"\n(b) later drawings, seconds from the last mouse-up to the result on screen")
    print("| page | n | median | p95 | min | max |")
    print("|---|---|---|---|---|---|")
    for name, xs in (("Digit Canvas (after Clear)", page_later), ("bare canvas (after reload)", bare_later)):
        print(f"| {name} | {len(xs)} | {statistics.median(xs):.3f} | {p95(xs):.3f} | {min(xs):.3f} | {max(xs):.3f} |")
    page_median = statistics.median(page_later)
    print(f"ratio page / bare (median): {page_median / statistics.median(bare_later):.2f}; "
          f"page / target {LATER_TARGET:g} s: {page_median / LATER_TARGET:.2f} "
          f"({'within' if page_median <= LATER_TARGET else 'OVER'} target)")
    print("(the canvas component itself waits 200 ms after a stroke before sending it)")


if __name__ == "__main__":
    main()
