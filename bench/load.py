"""Classroom load: how many students one server holds, while one of them trains.

    MNIST_PATH=../shared/data/mnist.npz python bench/load.py --clients 30 [--seconds 60] [--json]
        [--browsers 2] [--gap 5] [--no-training] [--profile]
    MNIST_PATH=../shared/data/mnist.npz python bench/load.py [--sessions 20] [--seconds 60]
        [--browser-nice 10] [--no-training]                 # the browser mode: every student a Chromium

Starts `streamlit run` on a free port with a private DIGITS_DATA_DIR (tests/browser.py),
through a small wrapper (written to a temporary folder) that runs streamlit_app.py as
Streamlit would and logs each script run's wall and CPU time (of the page, or of a fragment).
Here: the command line and what is measured (/proc, the script runs, the report); the
Chromium students are in bench/load_browsers.py, the protocol ones in bench/protocol_client.py.

`--clients N`: N protocol clients (`student` in bench/protocol_client.py: Streamlit's websocket
protocol, no browser, so the bench's own CPU stays small) each open a session and, for `--seconds`,
draw a digit of ../shared/data/drawn_dev_strokes.json on average every `--gap` s
(exponential gaps, seeded; each a different digit): Clear (except before the first), then
one message per stroke as the canvas sends it (a 280x280 PNG of the strokes so far, its
fabric JSON), a person's 0.3-0.8 s between strokes. A drawing's latency is from sending its
last stroke to receiving the guess (the heading in the container with key `guess`); the
guess must equal what `load_recognizer(shipped model).predict` says offline for the same
canvas. A drawing the page answers with a message instead of a guess is "rejected"; no
answer within 30 s is "no_answer". One more protocol session (the trainer) asks for the
lesson with 20 epochs and presses Train at the start, then polls its training panel as a
browser does (its `run_every` fragment). `--browsers` real Chromium sessions (bench/
load_browsers.py, reniced) draw beside them and report their own mouse-up -> guess.

The last line printed with `--json` is one JSON object: clients, drawings, guessed, correct,
p50_s, p95_s (send -> guess of the drawings' last strokes), server_cpu_ms_per_guess (the
server process's own CPU from /proc over the drawing, divided by every guess it gave in that
time: each stroke of the clients and of the browsers, rejections included, so Clear's
reruns, the trainer's polling and the image requests are part of a guess's cost),
rss_peak_mb (the server and its training process, summed VmRSS every 0.2 s), then rejected,
no_answer, every stroke's p95, Clear's p50, the browsers' drawings and mouse-up -> guess, the
training's instants (s after the start), the images fetched, and the load average at the start
and at the end. Before the clock starts, every session has opened and one drawing has warmed
the server up (not counted).

`--profile` looks at every thread of the server every 5 ms and charges the CPU each used
since (its own CPU clock) to the functions on its stack: where the server's CPU goes.

Targets on this 2-core machine: p95 mouse-up -> guess under 1 s; server memory under 1.5 GB.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from browser import APP, load_samples, start_server, stop_server, wait_healthy  # noqa: E402
import load_browsers as chromium  # noqa: E402
from load_browsers import GB, TARGET_MEMORY_GB, Training, percentiles  # noqa: E402

# The protocol run's trainer asks for the lesson with this many epochs (within a student's
# 60 s budget) and trains again whenever one ends, so a training runs through the whole drawing.
TRAINING_EPOCHS = 100
from protocol_client import (Drawing, ProtocolLog, Sent, Session, clear, draw, orders, prepare,  # noqa: E402
                             student, trainer)

OPEN_TIMEOUT = 120.0        # s: opening a session (the first run imports pandas and friends)

# The page, each script run timed: Streamlit runs this file, which runs streamlit_app.py's
# code exactly as Streamlit would (with "magic", as `__main__`). On its first run it wraps
# Streamlit's ScriptRunner._run_script, so that every later run, of the page or of a
# fragment alone, logs its wall and thread CPU time (Streamlit's own work around the page's
# code included: widget states, deltas, their hashes). With --profile, it also starts a
# thread that samples the server's threads (`start_sampler`).
TIMED_APP = """import sys, threading, time
with sys.__dict__.setdefault("_timed_app_lock", threading.Lock()):   # sessions open at once
    if not hasattr(sys, "_timed_app_code"):
        from streamlit.runtime.scriptrunner import magic, script_runner
        sys.path.insert(0, {repo!r})

        def _timed_run(self, rerun_data, _run=script_runner.ScriptRunner._run_script):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return _run(self, rerun_data)
            finally:
                kind = "fragment" if rerun_data.fragment_id_queue else "page"
                with open({log!r}, "a") as f:
                    f.write(f"{{time.time():.3f}} {{time.perf_counter() - wall:.4f}} {{time.thread_time() - cpu:.4f}} {{kind}}\\n")
        script_runner.ScriptRunner._run_script = _timed_run
        if {profile!r}:
            sys.path.insert(0, {bench!r})
            import load
            load.start_sampler({profile!r})
        sys._timed_app_code = compile(magic.add_magic(open({app!r}).read(), {app!r}), {app!r}, "exec")
exec(sys._timed_app_code, {{"__name__": "__main__", "__file__": {app!r}}})
"""


def timed_app(folder: Path, profile: str = "") -> tuple[Path, Path]:
    """Writes the timing wrapper into `folder`; returns it and the log it writes."""
    app, log = folder / "timed_app.py", folder / "script_runs.log"
    app.write_text(TIMED_APP.format(repo=str(APP.parent), app=str(APP), log=str(log), profile=profile,
                                    bench=str(Path(__file__).parent)))
    return app, log


@dataclass
class ScriptRun:
    ended: float        # time.time()
    wall: float         # s
    cpu: float          # s of its thread's CPU
    kind: str           # "page" or "fragment"


def read_runs(log: Path) -> list[ScriptRun]:
    try:
        lines = log.read_text().splitlines()
    except OSError:
        return []
    return [ScriptRun(float(a), float(b), float(c), d) for a, b, c, d in (line.split() for line in lines)]


# -- inside the server (--profile): where its CPU goes ------------------------------------------
def start_sampler(out: str, every: float = 0.005) -> None:
    """In the server: a thread that, every `every` s, charges each thread's CPU time since the
    last look (its own CPU clock) to the thread, its innermost frame and each function on its
    stack; written to `out` as JSON every second."""
    import collections

    def where(code) -> str:
        return f"{Path(code.co_filename).name}:{code.co_name}"

    def sample() -> None:
        me, last, names = threading.get_ident(), {}, {}
        own, inclusive, threads = collections.Counter(), collections.Counter(), collections.Counter()
        written = time.monotonic()
        while True:
            time.sleep(every)
            for ident, frame in sys._current_frames().items():
                try:
                    cpu = time.clock_gettime(time.pthread_getcpuclockid(ident))
                except OSError:
                    continue
                spent, last[ident] = cpu - last.get(ident, cpu), cpu
                if ident == me or spent <= 0:
                    continue
                if ident not in names:
                    names.update({t.ident: t.name.split("(")[0].split("-")[0] for t in threading.enumerate()})
                threads[names.get(ident, "?")] += spent
                own[where(frame.f_code)] += spent
                stack = set()
                while frame is not None:
                    stack.add(where(frame.f_code))
                    frame = frame.f_back
                inclusive.update(dict.fromkeys(stack, spent))
            if time.monotonic() - written > 1:
                written = time.monotonic()
                Path(out).write_text(json.dumps({"threads": threads, "own": own.most_common(40),
                                                 "inclusive": inclusive.most_common(80)}))
    threading.Thread(target=sample, name="bench-sampler", daemon=True).start()


# -- the server's memory and CPU, from /proc ------------------------------------------------
def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return tree


def status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int | str]) -> float:
    """User + system CPU seconds of processes (or "pid/task/tid" threads)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            pass
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class MemorySampler(threading.Thread):
    """The server's process tree's summed VmRSS every `every` s: (perf_counter(), bytes)."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            rss = sum(status_kb(p, "VmRSS") for p in process_tree(self.pid)) * 1024
            self.samples.append((time.perf_counter(), rss))
            self.done.wait(self.every)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


@dataclass
class Cpu:
    """CPU used over the drawing, in cores: the server's process tree, this driver with its
    Chromium, and the whole machine's busy fraction (other people's processes included)."""
    server: float = 0.0
    server_loop: float = 0.0    # the server's main thread: the event loop (websockets, media files)
    browser: float = 0.0
    machine: float = 0.0
    server_own: float = 0.0     # the server process alone (not its training process)


def cpu_snapshot(server_pid: int) -> tuple[float, ...]:
    server = cpu_seconds(process_tree(server_pid))
    loop = cpu_seconds([f"{server_pid}/task/{server_pid}"])
    mine = cpu_seconds(process_tree(os.getpid())) - server     # the server is our child too
    busy, total = machine_busy()
    return time.perf_counter(), server, loop, mine, busy, total, cpu_seconds([server_pid])


def cpu_between(before: tuple, after: tuple) -> tuple[Cpu, float]:
    """The CPU used between two snapshots, in cores, and the seconds between them."""
    wall = after[0] - before[0]
    d = [(a - b) / wall for a, b in zip(after[1:], before[1:])]
    return Cpu(d[0], d[1], d[2], (after[4] - before[4]) / max(1, after[5] - before[5]), d[5]), wall


def other_pids(server_pid: int):
    """This process's tree without the server's: where Chromium is, for renicing."""
    return lambda: sorted(set(process_tree(os.getpid())) - set(process_tree(server_pid)))


async def run_clients(args, url: str, server_pid: int, samples: list[dict], ready: dict[int, Drawing],
                      plan: list[list[int]]):
    """The protocol clients, the trainer and the Chromium students at once; returns their logs and
    the CPU over the drawing."""
    log, blog, training = ProtocolLog(), chromium.Log(), Training()
    sessions = [Session(url) for _ in range(args.clients + 1)]
    await asyncio.gather(*(s.open(OPEN_TIMEOUT) for s in sessions))
    if sessions[0].last.widget("canvas-") is None:      # the page is broken: say how, not where it fails
        shown = [e.proto.message for e in sessions[0].last.of_kind("exception")]
        raise RuntimeError(f"the page shows no canvas; its exceptions: {shown}")
    log.sessions = sessions[1:]
    # One drawing before the clock starts, not counted: a server's first guess imports the
    # chart and picture code (once per server; a class's server is warm after a minute).
    canvas, warm = sessions[0].last.widget("canvas-"), ProtocolLog()
    await draw(sessions[0], canvas, next(iter(ready.values())), random.Random(0), Sent(-1, -1, None), warm)
    await clear(sessions[0], canvas, warm)
    async with (chromium.chromium_pages(url, args.browsers, args.browser_nice, other_pids(server_pid))
                if args.browsers else contextlib.nullcontext([])) as pages:
        before, start, log.load_at_start = cpu_snapshot(server_pid), time.time(), os.getloadavg()
        t0, stop = before[0], asyncio.Event()
        deadline = t0 + args.seconds
        watching = asyncio.create_task(trainer(sessions[0], training, TRAINING_EPOCHS, t0, stop)) \
            if not args.no_training else None
        await asyncio.gather(
            *(student(n, s, plan[n], ready, args.gap, args.seed, t0, deadline, log)
              for n, s in enumerate(log.sessions)),
            *(chromium.student(page, url, 100 + n, samples, t0, deadline, blog) for n, page in enumerate(pages)))
        after, end = cpu_snapshot(server_pid), time.time()
        stop.set()
        if watching is not None:
            await watching
    cpu, wall = cpu_between(before, after)
    await asyncio.gather(*(s.close() for s in sessions))
    return log, blog, training, cpu, wall, (start, end)


def summary(args, log: ProtocolLog, blog: chromium.Log, training: Training, cpu: Cpu, wall: float,
            peak: int) -> dict:
    guessed = [s for s in log.sent if s.guess is not None]
    rejected = [s for s in log.sent if s.guess is None and s.rejected and not s.error]
    latencies = [s.latency for s in guessed]
    bdone = [d for d in blog.drawings if d.guess is not None and not d.error]
    answers = log.answers + len(blog.strokes)
    p = lambda values, q: round(float(np.percentile(values, q)), 3) if values else None  # noqa: E731
    return {
        "clients": args.clients, "drawings": len(log.sent), "guessed": len(guessed),
        "correct": sum(s.guess == str(s.expected) for s in guessed),
        "p50_s": p(latencies, 50), "p95_s": p(latencies, 95),
        "server_cpu_ms_per_guess": round(cpu.server_own * wall * 1000 / answers, 1) if answers else None,
        "rss_peak_mb": round(peak / 2 ** 20),
        "rejected": len(rejected), "no_answer": sum(bool(s.error) for s in log.sent),
        "seconds": round(wall, 1), "guesses_served": answers,
        "server_cores": round(cpu.server_own, 2), "strokes_p95_s": p(log.strokes, 95),
        "clear_p50_s": p(log.clears, 50),
        "browsers": {"sessions": args.browsers, "drawings": len(blog.drawings), "guessed": len(bdone),
                     "p50_s": p([d.in_page for d in bdone if d.in_page is not None], 50),
                     "p95_s": p([d.in_page for d in bdone if d.in_page is not None], 95)},
        "training": {"clicked_s": _r(training.clicked), "fitting_s": _r(training.started),
                     "finished_s": _r(training.finished), "trainings": training.count, "error": training.error},
        "ref_misses": sum(s.ref_misses for s in log.sessions),
        "media_fetched": sum(s.media.fetched for s in log.sessions if s.media),
        "media_failed": sum(s.media.failed for s in log.sessions if s.media),
        "load_average_start": [round(x, 2) for x in log.load_at_start],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def report_clients(out: dict, log: ProtocolLog, blog: chromium.Log, training: Training, cpu: Cpu) -> None:
    print(f"\n{out['clients']} protocol clients and {out['browsers']['sessions']} Chromium students drawing "
          f"for {out['seconds']:.0f} s; " + ("nobody trains" if training.clicked is None and not training.error
                                             else f"one training of {TRAINING_EPOCHS} epochs"))
    print(f"protocol drawings: {out['drawings']}; guessed {out['guessed']}, of which equal to the offline "
          f"recognizer's {out['correct']}; rejected {out['rejected']}; no answer {out['no_answer']}")
    for s in [s for s in log.sent if s.error or s.rejected or (s.guess is not None and s.guess != str(s.expected))][:8]:
        print(f"  client {s.client}, sample {s.sample}: expected {s.expected}, guess {s.guess}"
              + (f", shown instead: {s.rejected}" if s.rejected else "") + (f", {s.error}" if s.error else ""))
    print(f"  last stroke sent -> guess: {percentiles([s.latency for s in log.sent if s.guess is not None])}")
    print(f"  every stroke sent -> answer: {percentiles(log.strokes)}")
    print(f"  Clear -> new canvas: {percentiles(log.clears)}")
    done = [d for d in blog.drawings if d.guess is not None and not d.error]
    print(f"Chromium students: {len(blog.drawings)} drawings, {len(done)} guessed; mouse-up -> guess "
          f"{percentiles([d.in_page for d in done if d.in_page is not None])}")
    for line in blog.stuck[:4]:
        print(f"  stuck: {line}")
    print(f"training: Train at {out['training']['clicked_s']} s, fitting from {out['training']['fitting_s']} s, "
          f"finished at {out['training']['finished_s']} s {training.result[:80]}"
          + (f"; {training.error}" if training.error else ""))
    print(f"server: {cpu.server_own:.2f} cores (its event loop thread {cpu.server_loop:.2f}; with the training "
          f"process {cpu.server:.2f}), {out['server_cpu_ms_per_guess']} ms of CPU per guess "
          f"({out['guesses_served']} guesses); this bench with Chromium {cpu.browser:.2f} cores; machine "
          f"{cpu.machine:.0%} busy; load average {os.getloadavg()[0]:.1f}")
    print(f"memory: peak {out['rss_peak_mb']} MB (server and training process) "
          f"[target < {TARGET_MEMORY_GB:g} GB: {'met' if out['rss_peak_mb'] * 2 ** 20 < TARGET_MEMORY_GB * GB else 'NOT met'}]")


def report_runs(runs: list[ScriptRun], window: tuple[float, float], cpu: Cpu) -> None:
    """The script runs during the drawing (of the page, of a fragment): how many, how long,
    how much CPU, and how much of the server's CPU they were."""
    start, end = window
    length = end - start
    inside = [r for r in runs if start <= r.ended - r.wall and r.ended <= end]
    if not inside:
        print("script runs: none logged")
        return
    for kind in ("page", "fragment"):
        these = [r for r in inside if r.kind == kind]
        if these:
            print(f"script runs of the {kind}{' alone' if kind == 'fragment' else ''}: {len(these)} "
                  f"({len(these) / length:.1f}/s); wall {percentiles([r.wall for r in these])}; "
                  f"CPU {percentiles([r.cpu for r in these])}")
    overlap = sum(min(r.ended, end) - max(r.ended - r.wall, start) for r in runs
                  if r.ended > start and r.ended - r.wall < end)
    script = sum(r.cpu for r in inside) / length
    print(f"  runs in progress at once, on average: {overlap / length:.1f}; the runs' threads: {script:.2f} cores "
          f"of the server's {cpu.server_own:.2f} (its event loop thread {cpu.server_loop:.2f})")


def report_profile(path: Path, top: int = 20) -> None:
    try:
        seen = json.loads(path.read_text())
    except (OSError, ValueError):
        print("profile: none written")
        return
    total = sum(seen["threads"].values()) or 1
    print(f"where the server's CPU went ({total:.1f} s of CPU, charged to the stack every 5 ms), by thread: "
          + ", ".join(f"{name} {n / total:.0%}" for name, n in sorted(seen["threads"].items(), key=lambda x: -x[1])))
    print("  innermost function:  " + "; ".join(f"{w} {n / total:.1%}" for w, n in seen["own"][:top]))
    print("  on the stack:        " + "; ".join(f"{w} {n / total:.0%}" for w, n in seen["inclusive"][:top * 3]))


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=0, help="protocol clients (no browser); 0: the browser mode")
    parser.add_argument("--sessions", type=int, default=20, help="browser mode: students, each a browser context")
    parser.add_argument("--browsers", type=int, default=2, help="with --clients: Chromium students beside them")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they draw")
    parser.add_argument("--gap", type=float, default=5.0, help="with --clients: mean seconds between drawings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="with --clients: a JSON object as the last line")
    parser.add_argument("--profile", action="store_true", help="sample the server's threads every 5 ms")
    parser.add_argument("--browser-nice", type=int, default=10,
                        help="nice value for Chromium, so the simulated students' browsers yield "
                             "the CPU to the server (0: same priority)")
    parser.add_argument("--no-training", action="store_true",
                        help="nobody trains: the drawing's cost alone, for comparison")
    args = parser.parse_args(argv)

    samples = ready = plan = None
    if args.clients:
        from model import store
        from model.recognizer import load_recognizer
        samples = load_samples()
        plan = orders(args.clients, args.seconds, args.gap, args.seed, len(samples))
        ready = prepare(samples, [i for order in plan for i in order], load_recognizer(store.SHIPPED))
    with tempfile.TemporaryDirectory(prefix="digits-load-") as data_dir, \
            tempfile.TemporaryDirectory(prefix="digits-load-app-") as app_dir:
        profile = Path(app_dir) / "profile.json" if args.profile else None
        app, runs_log = timed_app(Path(app_dir), str(profile or ""))
        server = start_server(app, data_dir=data_dir)
        pid = server.process.pid
        sampler = MemorySampler(pid)
        sampler.start()
        try:
            wait_healthy(server)
            if args.clients:
                log, blog, training, cpu, wall, window = asyncio.run(
                    run_clients(args, server.url, pid, samples, ready, plan))
            else:
                blog = chromium.Log()
                t0, wall, cpu = asyncio.run(chromium.run(args, server.url, blog, lambda: cpu_snapshot(pid),
                                                         cpu_between, other_pids(pid)))
                window = blog.window
                hwm = sum(status_kb(p, "VmHWM") for p in process_tree(pid)) * 1024
                trainings = chromium.recorded_trainings(data_dir, 30 if blog.training.finished is not None else 0)
            runs = read_runs(runs_log)
            if profile is not None:
                time.sleep(1.2)         # its last write
                report_profile(profile)
        finally:
            sampler.done.set()
            sampler.join()
            leftovers = process_tree(pid)[1:]
            stop_server(server)
            for child in leftovers:     # a training process still fitting when the server stopped
                try:
                    os.kill(child, 9)
                except OSError:
                    pass
    if not args.clients:
        chromium.report(blog, args.seconds, t0, wall, cpu, sampler, hwm)
        report_runs(runs, window, cpu)
        print(f"trainings in the server's runs database at the end: {trainings}")
        return None
    out = summary(args, log, blog, training, cpu, wall, sampler.peak())
    report_clients(out, log, blog, training, cpu)
    report_runs(runs, window, cpu)
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
