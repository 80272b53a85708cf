"""The Chromium students of bench/load.py: real browser sessions drawing with the mouse.

Each student is one browser context (its own Streamlit session) of one Chromium, all driven
at once from one asyncio loop. For as long as it is told, a student presses Clear and waits
for the guess to go and a new canvas to come, picks up the pen (0.3-0.8 s), draws a digit
of ../shared/data/drawn_dev_strokes.json with the mouse (waiting for the guess between
strokes, as a person pauses), looks at the guess for 1-3 s, and starts again. A trainer
(`press_train`) first asks for 20 epochs of the lesson and presses Train; `watch_training`
reads when the fitting started and finished from its training panel.

A drawing's latency is from the mouse-up of its last stroke to its new guess on the
page; both instants are taken inside Chromium (a mouseup listener; a MutationObserver
noting when a picture of what the model sees that was not on the page before the pen
lift sits beside the guess), so the driver's delays do not count; the driver-side time
is kept too. The first websocket message after the mouse-up splits it into the canvas
component's part and the rest. No guess within 10 s is a failure (then the student watches
20 s more to tell "late" from "never"). A stroke that leaves no ink (the canvas was still
being set up) is drawn again and counted.

`run` is bench/load.py's browser mode (every student a Chromium context, student 0 the
trainer) and `report` prints what it measured; with --clients, bench/load.py runs a few of
these students beside its protocol clients.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import (CANVAS, HITS_CANVAS, INK, INK_PIXELS, SEEN_SRC, launch_chromium,  # noqa: E402
                     load_samples, pen_moves)

GUESS_TIMEOUT = 10.0        # s: a drawing whose guess takes longer is a failure
STEP_TIMEOUT = 30.0         # s: opening the page, Clear
POLL_MS = 100               # the driver's polls (in-page instants do not depend on them)
STROKE_TRIES = 3            # a stroke that left no ink (the canvas was not ready) is drawn again
LATE_WAIT = 20.0            # s: after a failure, how long to watch for a late guess
TRAINING_GRACE = 240.0      # s: how long to wait after the drawing for the training to finish
TARGET_P95 = 1.0
TARGET_MEMORY_GB = 1.5
GB = 1024 ** 3

# In the page (the canvas component is in a shadow root, not a frame): a mouseup notes the
# pen lift, the first websocket message after it (the canvas sending its drawing, which
# asks for a rerun) is noted, and so is every new picture of what the model sees, once the
# guess is beside it, with the instant it appeared.
TIMING_JS = """(() => {
  if (window.top !== window) return;
  const now = () => performance.timeOrigin + performance.now();
  window.__seenAt = {};
  document.addEventListener('mouseup', () => { window.__penUp = now(); window.__sentAfterUp = null; }, true);
  document.addEventListener('mousedown', (e) => {     // for failures: what the pen landed on
    const el = e.composedPath()[0];
    window.__downOn = `${el.tagName.toLowerCase()}.${String(el.className).split(' ')[0]} (scrollY ${scrollY})`;
  }, true);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (window.__penUp && !window.__sentAfterUp) window.__sentAfterUp = now();
    return send.call(this, data);
  };
  const seen = %s;
  new MutationObserver(() => {
    if (!document.querySelector('.st-key-guess')) return;
    const src = seen();
    if (src && !(src in window.__seenAt)) window.__seenAt[src] = now();
  }).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
})();""" % SEEN_SRC

# Polled by the driver: the new guess (a picture other than `previous`, with the guess beside it).
NEW_GUESS_JS = """previous => {
  const src = (%s)();
  const guess = document.querySelector('.st-key-guess');
  if (!guess || !src || src === previous) return null;
  const at = window.__seenAt[src];      // a picture shown before the pen lift is an old guess
  if (at != null && window.__penUp != null && at < window.__penUp) return null;
  return {src, text: guess.innerText.trim(), shown: window.__seenAt[src] ?? null, up: window.__penUp ?? null,
          sent: window.__sentAfterUp ?? null};
}""" % SEEN_SRC


# The canvas component lives in a shadow root: these look inside.
ALL_CANVASES = """() => {
  const all = (root, out) => {
    root.querySelectorAll('canvas.upper-canvas').forEach(c => out.push(c));
    root.querySelectorAll('*').forEach(e => e.shadowRoot && all(e.shadowRoot, out));
    return out;
  };
  return all(document, []);
}"""
# After Clear: the guess gone, and one canvas, not the one drawn on (marked `used`).
CLEARED = """() => document.querySelector('.st-key-guess') === null &&
  (c => c.length === 1 && !c[0].dataset.used)((%s)())""" % ALL_CANVASES
MORE_INK = """(c, before) => new Promise((done, fail) => {
  const t0 = performance.now(), count = %s;
  const check = () => count(c) > before ? done() : performance.now() - t0 > 2000 ? fail('no ink') :
    setTimeout(check, 50);
  check();
})""" % INK_PIXELS


@dataclass
class Drawing:
    student: int
    label: int
    released: float                     # perf_counter() at the last mouse-up
    driver: float | None = None         # s, mouse-up -> guess, seen from the driver
    in_page: float | None = None        # s, the same inside Chromium
    sent: float | None = None           # s, mouse-up -> the canvas sends the drawing to the server
    detail: str = ""                    # for a failure: what the page showed
    guess: str | None = None
    error: str = ""


@dataclass
class Training:
    clicked: float | None = None
    started: float | None = None        # the progress bar says "Training…": TensorFlow loaded, fitting
    finished: float | None = None
    result: str = ""
    error: str = ""
    count: int = 0                      # trainings started (the protocol run's trainer starts them again)


@dataclass
class Log:
    drawings: list[Drawing] = field(default_factory=list)
    strokes: list[float] = field(default_factory=list)      # in-page latency of every pen lift
    clears: list[float] = field(default_factory=list)       # s, Clear pressed -> new empty canvas
    stuck: list[str] = field(default_factory=list)          # steps that got stuck (then a reload)
    lost_strokes: int = 0                                   # strokes that left no ink, drawn again
    training: Training = field(default_factory=Training)
    window: tuple[float, float] = (0.0, 0.0)                # the drawing, in time.time()
    pages_open: float = 0.0                                 # perf_counter() once every page was open


def renice(nice: int, pids: list[int]) -> None:
    """Lower Chromium's priority (its zygotes too, so renderers started later inherit it): in a
    classroom the students' browsers run on their own machines, not on the server's cores.
    `pids`: this process's tree without the server's."""
    if nice <= 0:
        return
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().startswith("chrom"):
                os.setpriority(os.PRIO_PROCESS, pid, nice)
        except OSError:
            pass


@asynccontextmanager
async def chromium_pages(url: str, sessions: int, nice: int = 0, others=lambda: []):
    """One Chromium with one context (one Streamlit session) per student, each page open with
    its canvas shown; reniced to `nice` (`others()`: the pids that may be Chromium's)."""
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            renice(nice, others())
            pages = await asyncio.gather(*(open_page(browser, url) for _ in range(sessions)))
            renice(nice, others())
            yield pages
        finally:
            await browser.close()


# -- one student ---------------------------------------------------------------------------------
class NoInk(Exception):
    """Strokes left no ink: the canvas under the pen was not ready."""


async def canvas_box(page) -> dict:
    """The canvas's place on the screen once it has stopped moving and the pen would reach it."""
    canvas = page.locator(CANVAS)
    box = await canvas.bounding_box(timeout=STEP_TIMEOUT * 1000)
    deadline = time.perf_counter() + STEP_TIMEOUT
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        again = await canvas.bounding_box(timeout=STEP_TIMEOUT * 1000)
        centre = [again["x"] + again["width"] / 2, again["y"] + again["height"] / 2]
        if again == box and await page.evaluate(HITS_CANVAS, centre):
            return box
        box = again
    raise TimeoutError("the canvas keeps moving or is covered")


async def clear(page, log: Log) -> None:
    """Clear, and wait until the guess is gone and a new empty canvas is in place."""
    start = time.perf_counter()
    await page.locator(CANVAS).evaluate("el => el.dataset.used = '1'")
    await page.locator(".st-key-clear button").click(timeout=STEP_TIMEOUT * 1000)
    await page.wait_for_function(CLEARED, polling=POLL_MS, timeout=STEP_TIMEOUT * 1000)
    log.clears.append(time.perf_counter() - start)


async def stroke(page, polyline, log: Log) -> float:
    """One pen stroke; returns perf_counter() at its mouse-up. A stroke that left no ink is
    drawn again, as a student would (and counted)."""
    moves = pen_moves(polyline)
    ink = page.locator(INK)
    for _ in range(STROKE_TRIES):
        before = await ink.evaluate(INK_PIXELS)
        box = await canvas_box(page)
        await page.mouse.move(box["x"] + moves[0][0], box["y"] + moves[0][1])
        await page.mouse.down()
        for x, y in moves[1:]:
            await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.mouse.up()
        released = time.perf_counter()
        try:
            await ink.evaluate(MORE_INK, before)
            return released
        except Exception:  # noqa: BLE001 - no ink: the canvas was being replaced
            log.lost_strokes += 1
    raise NoInk(f"{STROKE_TRIES} strokes in a row left no ink")


async def draw(page, student: int, sample: dict, log: Log) -> Drawing:
    """Each stroke, then its guess (a person pauses between strokes); the drawing's latency
    is its last stroke's."""
    previous = await page.evaluate(SEEN_SRC)
    drawing = Drawing(student, sample["label"], 0.0)
    strokes = sample["strokes"]
    for i, polyline in enumerate(strokes):
        try:
            drawing.released = await stroke(page, polyline, log)
        except NoInk as e:
            drawing.error = str(e)
            return drawing
        try:
            handle = await page.wait_for_function(NEW_GUESS_JS, arg=previous, polling=POLL_MS,
                                                  timeout=GUESS_TIMEOUT * 1000)
        except Exception as e:  # noqa: BLE001 - a timeout, or the page went away
            if "Timeout" not in str(e):
                drawing.error = str(e).splitlines()[0][:200]
                return drawing
            drawing.error = f"no guess within {GUESS_TIMEOUT:.0f} s"
            drawing.detail = await late_guess(page, previous, drawing.released, f"stroke {i + 1} of {len(strokes)}")
            return drawing
        drawing.driver = time.perf_counter() - drawing.released
        shown = await handle.json_value()
        previous, drawing.guess = shown["src"], shown["text"]
        if shown["shown"] is not None and shown["up"] is not None:
            drawing.in_page = (shown["shown"] - shown["up"]) / 1000
            if shown["sent"] is not None and shown["sent"] <= shown["shown"]:
                drawing.sent = (shown["sent"] - shown["up"]) / 1000
            log.strokes.append(drawing.in_page)
    return drawing


async def late_guess(page, previous: str | None, released: float, stroke: str) -> str:
    """After a timeout: whether the drawing was sent, and whether its guess comes late or never."""
    state = await page.evaluate("""() => {
      const src = (%s)(), at = src && window.__seenAt[src];
      return {sent: window.__sentAfterUp != null, down: window.__downOn,
              older: at != null && at < window.__penUp ? (window.__penUp - at) / 1000 : null};
    }""" % SEEN_SRC)
    try:
        await page.wait_for_function(NEW_GUESS_JS, arg=previous, polling=200, timeout=LATE_WAIT * 1000)
        late = f"the guess came {time.perf_counter() - released:.1f} s after the mouse-up"
    except Exception:  # noqa: BLE001
        late = f"still no new guess {time.perf_counter() - released:.0f} s after the mouse-up"
    return (f"{stroke}; the pen went down on {state['down']}; "
            f"drawing sent to the server: {'yes' if state['sent'] else 'no'}; "
            + (f"the page shows the guess of a drawing first shown {state['older']:.1f} s before this "
               "pen lift; " if state["older"] is not None else "")
            + late)


async def open_page(browser, url: str):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(TIMING_JS)
    page = await context.new_page()
    await page.goto(url, timeout=120_000)
    await page.wait_for_selector(CANVAS, timeout=120_000)
    return page


async def student(page, url: str, n: int, samples: list[dict], t0: float, deadline: float, log: Log,
                  reload: bool = True) -> None:
    """Draws until `deadline`; a stuck step reloads the page (not with `reload=False`: the
    trainer's reload would close its session, and the queue would drop its job)."""
    rng = random.Random(n)
    await asyncio.sleep(rng.uniform(0, 3))          # a class does not start in step
    order = rng.sample(range(len(samples)), len(samples))
    drawn = 0
    while time.perf_counter() < deadline:
        try:
            if drawn:
                await clear(page, log)
                await asyncio.sleep(rng.uniform(0.3, 0.8))  # picks up the pen
            sample = samples[order[drawn % len(order)]]
            drawn += 1
            log.drawings.append(await draw(page, n, sample, log))
            await asyncio.sleep(rng.uniform(1, 3))      # looks at the guess
        except Exception as e:  # noqa: BLE001 - Clear or the canvas stuck: this student reloads
            log.stuck.append(f"student {n} at {time.perf_counter() - t0:.0f} s: "
                             + str(e).splitlines()[0][:160])
            if not reload:
                continue
            try:
                await page.goto(url, timeout=STEP_TIMEOUT * 1000)
                await page.wait_for_selector(CANVAS, timeout=STEP_TIMEOUT * 1000)
            except Exception as e2:  # noqa: BLE001
                log.stuck.append(f"student {n}: reload failed: " + str(e2).splitlines()[0][:160])
            drawn = 0


TRAINING_EPOCHS = 20


async def press_train(page, training: Training, t0: float) -> None:
    """Student 0 asks for 20 epochs of the lesson and presses Train (before drawing, so the
    panel that appears does not move the canvas under the pen)."""
    epochs = page.locator(".st-key-epochs input")
    await epochs.fill(str(TRAINING_EPOCHS))
    await epochs.press("Enter")
    await page.wait_for_function(f"() => document.querySelector('.st-key-epochs input')?.value === "
                                 f"'{TRAINING_EPOCHS}'", timeout=STEP_TIMEOUT * 1000)
    await page.locator(".st-key-train button").click()
    training.clicked = time.perf_counter() - t0
    await page.locator("[data-testid=stProgress]").first.wait_for(timeout=STEP_TIMEOUT * 1000)


async def watch_training(page, training: Training, t0: float) -> None:
    """When the fitting starts (the progress bar says "Training…", TensorFlow and the data
    are loaded) and when the panel shows the result, or the reason there is none."""
    result = page.locator(".st-key-training_result")
    ended = result.or_(page.get_by_text("Training failed")).or_(page.get_by_text("Training diverged")) \
                  .or_(page.get_by_text("Cancelled"))
    fitting = page.locator("[data-testid=stProgress]").filter(has_text="Training")
    try:
        await fitting.or_(ended).first.wait_for(timeout=0)
        if not await ended.count():
            training.started = time.perf_counter() - t0
            await ended.first.wait_for(timeout=0)
        if await result.count():
            training.finished = time.perf_counter() - t0
            training.result = (await result.inner_text()).strip()
        else:
            training.error = (await ended.first.inner_text()).strip()[:200]
    except Exception as e:  # noqa: BLE001 - the page went away
        training.error = str(e).splitlines()[0][:200]


def recorded_trainings(data_dir: str, wait: float) -> str:
    """The server's runs database, read directly: the training's outcome even if the page
    that asked for it could not show it. A run is recorded a little after the page shows
    its result (it is scored on the drawn digits first): waits up to `wait` s for one."""
    from classroom import runs
    path = Path(os.environ.get("DIGITS_RUNS_DB") or Path(data_dir) / "runs.sqlite")
    deadline = time.perf_counter() + wait
    while True:
        try:
            recorded = runs.list_runs(path) if path.exists() else []
        except runs.RunsError as e:
            return str(e)
        if recorded or time.perf_counter() > deadline:
            break
        time.sleep(1)
    return "; ".join(f"{r.config.epochs} epochs, test accuracy {r.test_accuracy:.2%}" for r in recorded) or "none"


async def run(args, url: str, log: Log, snapshot, between, others):
    """The browser mode of bench/load.py: every student a Chromium context, student 0 the
    trainer. `snapshot()`, `between(a, b)`: the CPU used; `others()`: where Chromium may be."""
    samples = load_samples()
    async with chromium_pages(url, args.sessions, args.browser_nice, others) as pages:
        log.pages_open = time.perf_counter()
        before = snapshot()
        t0, start = before[0], time.time()
        if not args.no_training:
            await press_train(pages[0], log.training, t0)
        trainer = asyncio.create_task(watch_training(pages[0], log.training, t0)
                                      if not args.no_training else asyncio.sleep(0))
        await asyncio.gather(*(student(page, url, n, samples, t0, t0 + args.seconds, log, reload=n > 0)
                               for n, page in enumerate(pages)))
        cpu, wall = between(before, snapshot())
        log.window = (start, time.time())
        try:
            await asyncio.wait_for(trainer, TRAINING_GRACE)
        except asyncio.TimeoutError:
            log.training.error = f"not finished {TRAINING_GRACE:.0f} s after the drawing ended"
    return t0, wall, cpu


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    p50, p95 = np.percentile(values, [50, 95])
    return f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(values) * 1000:.0f} ms (n={len(values)})"


def report(log: Log, seconds: float, t0: float, drawing_ended: float, cpu, memory,
           hwm: int) -> None:
    done = [d for d in log.drawings if d.guess is not None and not d.error]
    failed = [d for d in log.drawings if d.error]
    t = log.training
    timed = [d for d in done if d.in_page is not None]

    def during(d: Drawing, start, end) -> bool:     # its last mouse-up in [start, end) s after t0
        end = end if end is not None else float("inf")
        return start is not None and start <= d.released - t0 < end

    def phase(start, end) -> list[float]:
        return [d.in_page for d in timed if during(d, start, end)]
    in_page = [d.in_page for d in timed]
    # The target counts a drawing with no guess as slower than any guess.
    p95 = np.percentile(in_page + [1e9] * len(failed), 95) if in_page or failed else float("nan")
    print(f"\n{len({d.student for d in log.drawings})} students drawing for {drawing_ended:.0f} s "
          f"(asked {seconds:.0f} s), one Chromium, one context each")
    print(f"drawings: {len(log.drawings)}; got their guess: {len(done)}; no guess within "
          f"{GUESS_TIMEOUT:.0f} s or no ink: {len(failed)}; stuck steps (page reloaded): {len(log.stuck)}")
    for line in log.stuck[:8]:
        print(f"  stuck: {line}")
    print(f"strokes that left no ink (the canvas was not ready yet) and were drawn again: {log.lost_strokes}")
    for d in failed[:10]:
        print(f"  failure, student {d.student}: {d.error}" + (f" ({d.detail})" if d.detail else ""))
    print(f"mouse-up -> new guess, in the page:  {percentiles(in_page)}  "
          f"[target p95 < {TARGET_P95:g} s, failures counted as slowest: {'met' if p95 < TARGET_P95 else 'NOT met'}]")
    print(f"mouse-up -> new guess, driver-side:  {percentiles([d.driver for d in done])}")
    print(f"  mouse-up -> drawing sent (the canvas component waits 200 ms, then a PNG): "
          f"{percentiles([d.sent for d in timed if d.sent is not None])}")
    print(f"  drawing sent -> guess shown (server, transfer, rendering): "
          f"{percentiles([d.in_page - d.sent for d in timed if d.sent is not None])}")
    if t.clicked is not None:
        print(f"  while TensorFlow and MNIST load:   {percentiles(phase(t.clicked, t.started or t.finished))}")
        print(f"  while the model is fitted:         {percentiles(phase(t.started, t.finished))}")
        print(f"  with no training:                  "
              f"{percentiles([d.in_page for d in timed if not during(d, t.clicked, t.finished)])}")
    print(f"every pen lift (multi-stroke digits too): {percentiles(log.strokes)}")
    print(f"Clear -> empty canvas (a rerun):     {percentiles(log.clears)}")
    right = sum(d.guess == str(d.label) for d in done)
    print(f"guesses equal to the drawn label:    {right / max(1, len(done)):.0%} of {len(done)}")
    when = lambda s: "-" if s is None else f"{s:.1f} s"  # noqa: E731
    accuracy = re.search(r"test accuracy\s*\**([\d.]+%)", t.result)
    if t.clicked is None:
        print("training: none (--no-training)")
    else:
        print(f"training ({TRAINING_EPOCHS} epochs of the lesson): Train pressed at {when(t.clicked)}, fitting from "
              f"{when(t.started)}, finished at {when(t.finished)} (drawing ended at {drawing_ended:.1f} s); "
              f"finished: {'yes' if t.finished is not None else 'no'}; test accuracy "
              f"{accuracy.group(1) if accuracy else '-'}" + (f"; error: {t.error}" if t.error else ""))
    peak = memory.peak()
    print(f"server memory: peak RSS {peak / GB:.2f} GB (process tree, every 0.2 s, until it stopped), "
          f"VmHWM {hwm / GB:.2f} GB [target < {TARGET_MEMORY_GB:g} GB: "
          f"{'met' if max(peak, hwm) < TARGET_MEMORY_GB * GB else 'NOT met'}]")
    fitting = t0 + t.started if t.started is not None else float("inf")
    print(f"  every page open, before Train: {memory.peak(0, t0) / GB:.2f} GB; "
          f"until the fitting began (TensorFlow and MNIST loaded): {memory.peak(0, fitting) / GB:.2f} GB; "
          f"during the drawing: {memory.peak(t0, t0 + drawing_ended) / GB:.2f} GB")
    print(f"CPU over the drawing: server {cpu.server:.2f} cores (its event loop thread {cpu.server_loop:.2f}), "
          f"this driver + Chromium "
          f"{cpu.browser:.2f} cores, whole machine {cpu.machine:.0%} busy of {os.cpu_count()} cores "
          f"(other people's processes included); load average at the end {os.getloadavg()[0]:.1f}")
