"""A Streamlit session without a browser: the server's own websocket protocol, for load tests;
and a Digit Canvas student built on it (bench/load.py --clients runs many).

    session = Session("http://127.0.0.1:8501")
    first = await session.open()                       # the first script run, finished
    canvas = first.widget("canvas-")                   # the canvas component's element
    png = png_data_url(canvas_rgba(strokes, 20))
    run = await session.rerun([json_state(canvas.id, drawing_value(png, strokes, 20))],
                              fragment_id=canvas.fragment_id)
    run.text_under("guess")                            # ["7"]: the digit in st.container(key="guess")

`Session` keeps what a browser keeps: every shown widget's value (sent with each rerun),
the cacheable messages, the `run_every` timers, and GETs each image URL as it arrives.
`student` draws, `clear` clears, `trainer` sets the epochs and presses Train.

What a real Chromium sends and receives, recorded with Playwright (`page.on("websocket")`,
every frame decoded with Streamlit 1.67's own protos) while the mouse drew one digit:

- The socket is `ws://HOST:PORT/_stcore/stream` with `Sec-WebSocket-Protocol: streamlit,
  <XSRF cookie or PLACEHOLDER_AUTH_TOKEN>[, <last session id>]`: the server selects the
  first entry; the second only unlocks auth cookies, the third reconnects to a session. Every
  frame is binary: `BackMsg` up, `ForwardMsg` down.
- First message: `BackMsg.rerun_script` with empty `widget_states` and `context_info`
  (timezone, locale, url). The server answers `new_session` (session id, config with
  `max_cached_message_age`, the page's script hash), `session_status_changed`, then one
  `delta` per element, `script_finished: FINISHED_SUCCESSFULLY`.
- A delta's place is `ForwardMsg.metadata.delta_path` ([0, ...] main area, [1, ...]
  sidebar); `delta.new_element` (markdown, heading, radio, bidi_component, imgs, ...) or
  `delta.add_block` (columns, containers, tabs). `st.container(key="guess")` is an
  `add_block` whose `block.id` is `$$ID-<hash>-guess`; the guess is the `heading` (h1,
  body "7") whose path lies under that block's path. A widget's element carries its id,
  `$$ID-<hash>-<key>` (the canvas: `bidi_component.id` ...`-canvas-0`). Deltas made inside
  an `st.fragment` carry its `delta.fragment_id`.
- One pen stroke = one `rerun_script` of ~17-20 KB with `page_script_hash`, the
  drawing's `fragment_id` (the canvas sits in `st.fragment drawing_ui`), `context_info`,
  and `widget_states` holding EVERY widget the page shows, sidebar included, with its
  current value (radio/selectbox `string_value`, number_input `int_value`/`double_value`,
  toggle `bool_value`, slider `double_array_value`, text_input `string_value`, a selectbox
  without a choice: an id and no value), and the canvas as
  `json_value = '{"drawing":{"raw":{"version":"7.4.0","objects":[<one fabric Path per
  stroke, ~40 keys, "path":[["M",x,y],["Q",x,y,x,y],...,["L",x,y]]>],"background":"#000000"},
  "data":"data:image/png;base64,<280x280 RGBA PNG, opaque black, white anti-aliased strokes>"}}'`.
  A multi-stroke digit sends one such message per stroke, each with all strokes so far.
- The server answers the fragment run: `new_session` again (its `metadata.run.fragment_ids`
  names the fragment), the fragment's deltas only (the model line, the canvas, the guess
  block and heading, the confidence, the chart, 8 images as `/media/<hash>.jpg` URLs that
  the browser then GETs), `script_finished: FINISHED_FRAGMENT_RUN_SUCCESSFULLY`.
- A button press is the widget's `trigger_value: true` in one message only (Clear: in the
  fragment's rerun, which the page ends with `st.rerun(scope="fragment")`, so a second run
  follows with the new canvas `canvas-1`; Train: a rerun of the whole page). A fragment
  with `run_every` sends `auto_rerun {interval, fragment_id}`; the browser then sends
  `rerun_script {fragment_id, is_auto_rerun: true}` at that interval until a full run or
  `stop_auto_rerun`.
- Messages of 10 KB or more that are `new_element` deltas are `metadata.cacheable`; the
  browser keeps them (for `max_cached_message_age` runs) and lists their hashes in
  `rerun_script.cached_message_hashes`, and the server may then send only `ref_hash`. This
  page sends none that large; the client handles them anyway, and counts a reference to a
  message it no longer has (`ref_misses`) instead of failing.

Where this client differs from Chromium: its PNG is about half the bytes (PIL at zlib
level 1; Chromium's encoder and anti-aliasing make ~12 KB), it GETs images over one
connection (Chromium opens up to six; an image a newer run already replaced is a 404,
counted in `Media.failed`), it renders nothing, and it takes the first run that starts
after a request as its answer (a run the server started on its own, e.g. the training
panel's `st.rerun()`, is not told apart: `student`s have none).
"""
from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

import numpy as np
from PIL import Image, ImageDraw
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

EARLY = "FINISHED_EARLY_FOR_RERUN"      # a run that a newer request replaced
ANSWER_TIMEOUT = 30.0       # s: a drawing with no answer by then is "no_answer"
STROKE_PAUSE = (0.3, 0.8)   # s between a multi-stroke digit's strokes


@dataclass
class Element:
    path: tuple[int, ...]
    kind: str               # the element's type ("heading", "bidi_component", ...) or "block"
    proto: Any              # the element's (or block's) own proto
    fragment_id: str
    at: float               # perf_counter() when it arrived

    @property
    def id(self) -> str:
        return getattr(self.proto, "id", "")

    @property
    def key(self) -> str:
        """The user's key from `$$ID-<hash>-<key>`, or ""."""
        return self.id.split("-", 2)[2] if self.id.startswith("$$ID-") else ""


@dataclass
class Run:
    """One script run as the client saw it: from `new_session` to `script_finished`."""
    index: int
    run_id: str
    fragment_ids: tuple[str, ...]           # () for a run of the whole page
    started: float
    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    finished: float | None = None
    status: str = ""
    ref_misses: int = 0

    def widget(self, key: str) -> Element | None:
        """The element whose key is `key` (or starts with it, if it ends with "-")."""
        return next((e for e in self.elements.values()
                     if e.key == key or (key.endswith("-") and e.key.startswith(key))), None)

    def under(self, key: str) -> list[Element] | None:
        """The elements inside the block with this key, in page order; None without that block."""
        block = self.widget(key)
        if block is None or block.kind != "block":
            return None
        n = len(block.path)
        return sorted((e for p, e in self.elements.items() if len(p) > n and p[:n] == block.path),
                      key=lambda e: e.path)

    def text_under(self, key: str) -> list[str] | None:
        inside = self.under(key)
        return None if inside is None else [e.proto.body for e in inside if hasattr(e.proto, "body")]

    def of_kind(self, kind: str) -> list[Element]:
        return sorted((e for e in self.elements.values() if e.kind == kind), key=lambda e: e.path)

    def media_urls(self) -> list[str]:
        return [url for e in self.of_kind("imgs") for url in self.media_urls_of(e)]

    @staticmethod
    def media_urls_of(element: Element) -> list[str]:
        return [i.url for i in element.proto.imgs if i.url.startswith("/media/")]


# -- widget states -------------------------------------------------------------------------------
def json_state(widget_id: str, value: Any) -> WidgetState:
    return WidgetState(id=widget_id, json_value=json.dumps(value, separators=(",", ":")))


def trigger(widget_id: str) -> WidgetState:
    """A button press: sent once, then forgotten (as the browser does)."""
    return WidgetState(id=widget_id, trigger_value=True)


def int_state(widget_id: str, value: int) -> WidgetState:
    return WidgetState(id=widget_id, int_value=value)


def shown_value(kind: str, p: Any) -> WidgetState | None:
    """The state the browser holds for a widget it has just been sent: the server's value if
    it set one, else the widget's default. None for widgets that hold no value (buttons,
    components before their first event)."""
    s = WidgetState(id=p.id) if hasattr(p, "id") else None
    server = getattr(p, "set_value", False)
    if kind in ("radio", "selectbox"):
        if server and p.raw_value:
            s.string_value = p.raw_value
        elif p.HasField("default") and p.options:
            s.string_value = p.options[p.default]
    elif kind == "number_input":
        value = p.value if p.HasField("value") else p.default
        if p.data_type == type(p).FLOAT:
            s.double_value = value
        else:
            s.int_value = int(value)
    elif kind == "checkbox":
        s.bool_value = p.value if server else p.default
    elif kind == "slider":
        s.double_array_value.data.extend(p.value if server else p.default)
    elif kind == "text_input":
        s.string_value = p.value if server and p.HasField("value") else p.default
    else:
        return None
    return s


# -- the canvas ---------------------------------------------------------------------------------
CANVAS = 280
SUPERSAMPLE = 4     # strokes drawn at 4x, then averaged down: anti-aliased edges, as a browser's


def canvas_rgba(strokes: Sequence[Sequence[Sequence[float]]], line_width: float,
                size: int = CANVAS) -> np.ndarray:
    """The 280x280 RGBA canvas the page would get: white round strokes on opaque black."""
    s = SUPERSAMPLE
    big = Image.new("L", (size * s, size * s), 0)
    pen, w = ImageDraw.Draw(big), line_width * s
    for line in strokes:
        points = [(x * s, y * s) for x, y in line]
        if len(points) > 1:
            pen.line(points, fill=255, width=round(w), joint="curve")
        for x, y in points:     # round caps and joints
            pen.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=255)
    gray = np.asarray(big.resize((size, size), Image.BOX))
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def png_data_url(rgba: np.ndarray) -> str:
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


FABRIC_PATH = {  # the keys of a fabric 7.4 freehand Path as the canvas serializes it
    "lockMovementX": False, "lockMovementY": False, "lockRotation": False, "lockScalingX": False,
    "lockScalingY": False, "lockSkewingX": False, "lockSkewingY": False, "lockScalingFlip": False,
    "type": "Path", "version": "7.4.0", "originX": "center", "originY": "center", "fill": None,
    "stroke": "#FFFFFF", "strokeDashArray": None, "strokeLineCap": "round", "strokeDashOffset": 0,
    "strokeLineJoin": "round", "strokeUniform": False, "strokeMiterLimit": 10, "scaleX": 1, "scaleY": 1,
    "angle": 0, "flipX": False, "flipY": False, "opacity": 1, "shadow": None, "visible": True,
    "backgroundColor": "", "fillRule": "nonzero", "paintFirst": "fill",
    "globalCompositeOperation": "source-over", "skewX": 0, "skewY": 0}


def fabric_path(line: Sequence[Sequence[float]], line_width: float) -> dict:
    """One stroke as fabric's pencil brush records it: M, quadratic curves through the
    midpoints of successive points, L."""
    pts = [(round(float(x), 2), round(float(y), 2)) for x, y in line]
    path = [["M", *pts[0]]]
    path += [["Q", *a, round((a[0] + b[0]) / 2, 2), round((a[1] + b[1]) / 2, 2)] for a, b in zip(pts, pts[1:])]
    path.append(["L", *pts[-1]])
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return {**FABRIC_PATH, "left": (min(xs) + max(xs)) / 2, "top": (min(ys) + max(ys)) / 2,
            "width": max(xs) - min(xs), "height": max(ys) - min(ys), "strokeWidth": line_width, "path": path}


def drawing_value(data_url: str, strokes: Sequence, line_width: float) -> dict:
    """The canvas component's widget value after a stroke (see the module docstring)."""
    return {"drawing": {"raw": {"version": "7.4.0", "objects": [fabric_path(s, line_width) for s in strokes],
                                "background": "#000000"}, "data": data_url}}


# -- media: the images a browser GETs after a run -----------------------------------------------
class Media:
    """One keep-alive HTTP/1.1 connection that GETs each /media/ URL as its element arrives,
    as a browser does (a browser opens up to six; one is enough for the server's cost)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.worker: asyncio.Task | None = None
        self.fetched = self.failed = self.bytes = 0

    def get(self, path: str) -> None:
        if self.worker is None:
            self.worker = asyncio.ensure_future(self._work())
        self.queue.put_nowait(path)

    async def _work(self) -> None:
        while True:
            path = await self.queue.get()
            try:
                self.bytes += await self._get(path)
                self.fetched += 1
            except (OSError, ValueError, asyncio.IncompleteReadError):
                self.failed += 1        # gone already (a newer run replaced it), or refused
                await self.close()

    async def _get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        if " 200 " not in head.split("\r\n", 1)[0] + " ":
            raise ValueError(head.split("\r\n", 1)[0])
        length = next((int(h.split(":", 1)[1]) for h in head.split("\r\n") if h.startswith("content-length:")), None)
        if length is None:
            raise ValueError("no content-length")
        await self.reader.readexactly(length)
        return length

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
        await self.close()


# -- the session ---------------------------------------------------------------------------------
class Session:
    """One Streamlit session over one websocket, holding widget states as a browser does."""

    def __init__(self, url: str, fetch_media: bool = True):
        parts = urlsplit(url)
        self.url = url
        self.ws_url = f"ws://{parts.hostname}:{parts.port}/_stcore/stream"
        self.media = Media(parts.hostname, parts.port) if fetch_media else None
        self.ws = None
        self.page_hash = ""
        self.runs_started = 0
        self.current: Run | None = None
        self.last: Run | None = None
        self.states: dict[str, WidgetState] = {}        # the value of every widget seen, by id
        self.active: dict[str, list[str]] = {}          # fragment id ("" = page) -> its widget ids now shown
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}   # hash -> (message, run count at last use)
        self.max_age = 2
        self.finished_runs = 0
        self.ref_hits = self.ref_misses = self.messages_in = self.bytes_in = self.bytes_out = 0
        self._waiters: list[tuple[Callable[[Run], bool], asyncio.Future]] = []
        self._auto: dict[str, tuple[float, asyncio.Task]] = {}
        self._reader: asyncio.Task | None = None
        self.error: BaseException | None = None

    async def open(self, timeout: float = 60.0) -> Run:
        """Connects, asks for the first run, and returns it once finished."""
        import websockets
        self.ws = await asyncio.wait_for(websockets.connect(
            self.ws_url, subprotocols=["streamlit", "PLACEHOLDER_AUTH_TOKEN"], max_size=None,
            open_timeout=timeout), timeout)    # offers permessage-deflate, as Chromium does
        self._reader = asyncio.create_task(self._read())
        return await self.rerun(timeout=timeout)

    def widget_id(self, key: str) -> str | None:
        """The id of the widget with this key that the page shows now."""
        return next((i for ids in self.active.values() for i in ids if i.split("-", 2)[-1] == key), None)

    async def close(self) -> None:
        for _, task in self._auto.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self.media is not None:
            await self.media.stop()

    # -- sending
    def _message(self, changes: Sequence[WidgetState], fragment_id: str | None, auto: bool) -> bytes:
        """A rerun_script with every shown widget's state, `changes` applied."""
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.page_script_hash = self.page_hash
        if fragment_id:
            rerun.fragment_id = fragment_id
        rerun.is_auto_rerun = auto
        rerun.cached_message_hashes.extend(self.cache)
        info = rerun.context_info
        info.timezone, info.timezone_offset, info.locale, info.url = "UTC", 0, "en-US", self.url + "/"
        info.is_embedded, info.color_scheme = False, "light"
        for s in changes:
            if not s.HasField("trigger_value"):
                self.states[s.id] = s
        changed = {s.id for s in changes}
        shown = [i for ids in self.active.values() for i in ids if i in self.states and i not in changed]
        rerun.widget_states.widgets.extend([self.states[i] for i in shown] + list(changes))
        data = msg.SerializeToString()
        self.bytes_out += len(data)
        return data

    async def rerun(self, changes: Sequence[WidgetState] = (), fragment_id: str | None = None,
                    timeout: float = 60.0, until: Callable[[Run], bool] | None = None) -> Run:
        """Sends the widget changes (a rerun of the fragment, or of the page) and returns the
        first run started after it that ran that fragment (or that `until` accepts)."""
        before = self.runs_started

        def answers(run: Run) -> bool:
            if run.index <= before or run.status == EARLY:
                return False
            if until is not None:
                return until(run)
            return (not run.fragment_ids) if fragment_id is None else \
                (not run.fragment_ids or fragment_id in run.fragment_ids)
        waiting = asyncio.ensure_future(self.next_run(answers, timeout))
        await asyncio.sleep(0)          # registered before anything can arrive
        await self.ws.send(self._message(changes, fragment_id, auto=False))
        return await waiting

    async def next_run(self, accept: Callable[[Run], bool], timeout: float) -> Run:
        """The next finished run that `accept`s (raises TimeoutError, or why the socket closed)."""
        if self.error is not None:
            raise ConnectionError(f"the session's socket closed: {self.error!r}")
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((accept, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters = [(a, f) for a, f in self._waiters if f is not future]

    # -- receiving
    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.messages_in += 1
                self.bytes_in += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except Exception as e:  # noqa: BLE001 - closed or broken: every waiter learns why
            self.error = e
        else:
            self.error = ConnectionError("closed by the server")
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(ConnectionError(f"the session's socket closed: {self.error!r}"))

    def _handle(self, msg: ForwardMsg) -> None:
        now = time.perf_counter()
        if msg.HasField("ref_hash"):
            cached = self.cache.get(msg.ref_hash)
            if cached is None:      # the browser would throw; a load client counts it and goes on
                self.ref_misses += 1
                if self.current is not None:
                    self.current.ref_misses += 1
                return
            self.ref_hits += 1
            self.cache[msg.ref_hash] = (cached[0], self.finished_runs)
            full = ForwardMsg()
            full.CopyFrom(cached[0])
            full.metadata.CopyFrom(msg.metadata)
            msg = full
        if msg.metadata.cacheable and msg.hash:
            self.cache[msg.hash] = (msg, self.finished_runs)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._start(msg, now)
        elif kind == "delta" and self.current is not None:
            delta = msg.delta
            path = tuple(msg.metadata.delta_path)
            if delta.WhichOneof("type") == "new_element":
                what = delta.new_element.WhichOneof("type")
                element = Element(path, what, getattr(delta.new_element, what), delta.fragment_id, now)
                self.current.elements[path] = element
                if what == "imgs" and self.media is not None:
                    for url in Run.media_urls_of(element):
                        self.media.get(url)
            elif delta.WhichOneof("type") == "add_block":
                self.current.elements[path] = Element(path, "block", delta.add_block, delta.fragment_id, now)
        elif kind == "script_finished":
            self._finish(ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished), now)
        elif kind == "auto_rerun":
            self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for f in msg.stop_auto_rerun.fragment_ids:
                self._stop_auto(f)

    def _start(self, msg: ForwardMsg, now: float) -> None:
        new = msg.new_session
        self.page_hash = new.page_script_hash or self.page_hash
        if new.config.max_cached_message_age:
            self.max_age = new.config.max_cached_message_age
        fragments = tuple(msg.metadata.run.fragment_ids)
        if not fragments:           # a run of the whole page: the browser drops its timers
            for f in list(self._auto):
                self._stop_auto(f)
        self.runs_started += 1
        self.current = Run(self.runs_started, msg.metadata.run.script_run_id, fragments, now)

    def _finish(self, status: str, now: float) -> None:
        run, self.current = self.current, None
        if run is None:
            return
        run.finished, run.status = now, status
        if status != EARLY:
            self.finished_runs += 1
            self._update_shown(run)
            self.cache = {h: (m, n) for h, (m, n) in self.cache.items() if self.finished_runs - n <= self.max_age}
            self.last = run
        for accept, future in list(self._waiters):
            if not future.done() and accept(run):
                future.set_result(run)

    def _update_shown(self, run: Run) -> None:
        """Which widgets the page now shows: a page run replaces all, a fragment run its own.
        New widgets start with the value the browser would hold (`shown_value`)."""
        shown: dict[str, list[str]] = {}
        for e in sorted(run.elements.values(), key=lambda e: e.path):
            if e.kind == "block" or not e.id:
                continue
            shown.setdefault(e.fragment_id, []).append(e.id)
            value = shown_value(e.kind, e.proto)
            if value is not None and (e.id not in self.states or getattr(e.proto, "set_value", False)):
                self.states[e.id] = value
        if run.fragment_ids:
            for f in run.fragment_ids:
                self.active[f] = shown.get(f, [])
        else:
            self.active = shown
        alive = {i for ids in self.active.values() for i in ids}
        self.states = {i: s for i, s in self.states.items() if i in alive}

    # -- run_every fragments
    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or (fragment_id in self._auto and self._auto[fragment_id][0] == interval):
            return
        self._stop_auto(fragment_id)

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                await self.ws.send(self._message((), fragment_id, auto=True))
        self._auto[fragment_id] = (interval, asyncio.create_task(tick()))

    def _stop_auto(self, fragment_id: str) -> None:
        entry = self._auto.pop(fragment_id, None)
        if entry is not None:
            entry[1].cancel()


# -- a Digit Canvas student over the protocol ----------------------------------------------------
@dataclass
class Drawing:
    """One sample of drawn_dev_strokes.json, ready to send: its canvas after each stroke."""
    index: int
    label: int
    states: list[str]               # the canvas's json_value after stroke 1, 2, ...
    expected: int | None            # the recognizer's digit for the whole canvas, offline


def prepare(samples: list[dict], indices, recognizer) -> dict[int, Drawing]:
    """The samples at `indices` rendered as the canvas would send them (before the clock
    starts), each with what `recognizer` says offline of the whole canvas."""
    ready = {}
    for i in sorted(set(indices)):
        s = samples[i]
        states, rgba = [], None
        for k in range(1, len(s["strokes"]) + 1):
            rgba = canvas_rgba(s["strokes"][:k], s["line_width"])
            states.append(json.dumps(drawing_value(png_data_url(rgba), s["strokes"][:k], s["line_width"]),
                                     separators=(",", ":")))
        ready[i] = Drawing(i, s["label"], states, recognizer.predict(rgba).digit)
    return ready


@dataclass
class Sent:
    """One protocol drawing (or, in `strokes`, each of its strokes)."""
    client: int
    sample: int
    expected: int | None
    latency: float | None = None    # s, last stroke sent -> guess received (or the rejection's run end)
    guess: str | None = None
    rejected: str = ""              # what the page showed instead of a guess
    error: str = ""


@dataclass
class ProtocolLog:
    sent: list[Sent] = field(default_factory=list)
    strokes: list[float] = field(default_factory=list)     # every stroke's send -> answer
    clears: list[float] = field(default_factory=list)
    answers: int = 0                                        # every answered stroke (guess or rejection)
    sessions: list[Session] = field(default_factory=list)
    load_at_start: tuple[float, float, float] = (0.0, 0.0, 0.0)     # os.getloadavg() when the clock started


def answer(run: Run) -> tuple[str | None, float, str]:
    """(the guess, when it arrived, the message instead of it) in a run of the drawing."""
    inside = run.under("guess")
    heading = next((e for e in inside or [] if e.kind == "heading"), None)
    if heading is not None:
        return heading.proto.body, heading.at, ""
    tabs = {e.path for e in run.under("teaching_tab") or []}
    shown = [e.proto.body for e in run.of_kind("alert") if e.path not in tabs]
    return None, run.finished, " / ".join(shown)[:160] or "(nothing)"


async def draw(session: Session, canvas, drawing: Drawing, rng: random.Random, sent: Sent,
               log: ProtocolLog) -> None:
    """Each stroke as the canvas sends it, waiting for its answer as a person pauses."""
    for k, state in enumerate(drawing.states):
        if k:
            await asyncio.sleep(rng.uniform(*STROKE_PAUSE))
        start = time.perf_counter()
        run = await session.rerun([WidgetState(id=canvas.id, json_value=state)], fragment_id=canvas.fragment_id,
                                  timeout=ANSWER_TIMEOUT)
        guess, at, message = answer(run)
        log.answers += 1
        log.strokes.append(at - start)
        sent.latency, sent.guess, sent.rejected = at - start, guess, "" if guess is not None else message


async def clear(session: Session, canvas, log: ProtocolLog):
    """Clear: a new, empty canvas (a new widget id) in the fragment's next run."""
    start = time.perf_counter()
    run = await session.rerun([trigger(session.widget_id("clear"))], fragment_id=canvas.fragment_id,
                              timeout=ANSWER_TIMEOUT,
                              until=lambda r: (c := r.widget("canvas-")) is not None and c.id != canvas.id)
    log.clears.append(time.perf_counter() - start)
    return run.widget("canvas-")


async def student(n: int, session: Session, order: list[int], ready: dict[int, Drawing], gap: float,
                  seed: int, t0: float, deadline: float, log: ProtocolLog) -> None:
    """Student `n` draws the samples of `order` on average every `gap` s (exponential gaps,
    seeded), each after a Clear (but the first), until `deadline`; the first within 2 s."""
    rng = random.Random(f"{seed}-{n}")
    canvas = session.last.widget("canvas-")
    start = t0 + rng.uniform(0, 2)          # a class does not start in step
    for k, i in enumerate(order):
        if start >= deadline:
            break
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        sent = Sent(n, i, ready[i].expected)
        log.sent.append(sent)
        try:
            if k:
                canvas = await clear(session, canvas, log)
            await draw(session, canvas, ready[i], rng, sent, log)
        except (asyncio.TimeoutError, TimeoutError):
            sent.error = f"no answer within {ANSWER_TIMEOUT:.0f} s"
        except Exception as e:  # noqa: BLE001 - the session broke: this client stops
            sent.error = f"{type(e).__name__}: {e}"[:200]
            return
        start = max(start + rng.expovariate(1 / gap), time.perf_counter())


def orders(clients: int, seconds: float, gap: float, seed: int, samples: int) -> list[list[int]]:
    """Each client's digits, a different one each time (as many as it could draw, and some)."""
    need = min(samples, math.ceil(seconds / gap * 2) + 4)
    return [random.Random(f"{seed}-order-{n}").sample(range(samples), need) for n in range(clients)]


async def trainer(session: Session, training, epochs: int, t0: float, stop: asyncio.Event) -> None:
    """The lesson with `epochs`, Train, then the training panel polled as a browser does; at each
    result, Train again, until `stop` (or a reason there is no result). Fills `training`'s
    clicked, started, finished (s after t0: the first training's), result and error
    (bench/load_browsers.py's Training), and `count`, the trainings started."""
    try:
        run = await session.rerun([int_state(session.widget_id("epochs"), epochs)])
        refusals = [e.proto.body for e in run.of_kind("alert") if e.path[0] == 1]
        if run.widget("train").proto.disabled:
            training.error = "Train is disabled: " + " / ".join(refusals)[:200]
            return
        run = await session.rerun([trigger(run.widget("train").id)])
        training.clicked, training.count = time.perf_counter() - t0, 1
        while not stop.is_set():
            for e in run.of_kind("progress"):
                if "Training" in e.proto.text and training.started is None:
                    training.started = time.perf_counter() - t0
            result = run.text_under("training_result")
            if result and training.finished is None:
                training.finished, training.result = time.perf_counter() - t0, " ".join(result)
            if result:  # Train again: a training runs through the whole drawing, as the worst case
                training.count += 1
                run = await session.rerun([trigger(run.widget("train").id)])
                continue
            ended = [e.proto.body for e in run.of_kind("alert") if e.path[0] == 1 and
                     any(w in e.proto.body for w in ("Training failed", "diverged", "Cancelled", "Dropped"))]
            if ended:
                training.error = ended[0][:200]
                return
            waiting = asyncio.ensure_future(session.next_run(lambda r: True, timeout=60))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait([waiting, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not waiting.done():
                waiting.cancel()
                return
            run = waiting.result()
    except Exception as e:  # noqa: BLE001 - the session broke or the page changed
        training.error = f"{type(e).__name__}: {e}"[:200]
