"""The page, run in-process by Streamlit's AppTest: what it shows, its widgets' defaults and
presets, drawing, uploads, and a retraining that changes the model in use.

How the inputs are driven, and why:
- The canvas (streamlit-drawable-canvas 0.13) is a components-v2 custom component, which
  AppTest shows as an `UnknownElement` without a `set_value`. Its value is widget state
  under its key, so the test sets `at.session_state["canvas-0"]` to what the browser
  would send: `{"drawing": {"raw": <fabric JSON>, "data": <PNG data URL>}}`. The page then
  decodes it through the component's own `CanvasResult.image_data`, as in a browser.
- The file uploader is driven with AppTest's own `file_uploader(...).set_value(...)`.
- Training uses the real queue, training process and TensorFlow, on 2,000 MNIST images: the
  training process loads `$MNIST_PATH` itself, so the test points it at a small copy. The
  page runs in a subprocess there, to check that its own process never imports TensorFlow.
"""
from __future__ import annotations

import base64
import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from model import config as cfg
from classroom import runs
from model.upload import MAX_PIXELS

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
RUN_TIMEOUT = 60            # seconds for one script run (the first imports pandas and friends)
TRAINING_TIMEOUT = 180      # TensorFlow's import (~10 s) and one epoch on 2,000 images


@pytest.fixture
def small_mnist_npz(mnist, tmp_path) -> Path:
    """2,000 training and test images of MNIST, in Keras's format."""
    path, small = tmp_path / "mnist-small.npz", mnist.head(2000)
    np.savez(path, x_train=small.x_train, y_train=small.y_train, x_test=small.x_test, y_test=small.y_test)
    return path


@pytest.fixture
def at() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    assert not at.exception
    return at


def widget(at: AppTest, key: str):
    """The sidebar widget with this key, whatever its kind."""
    found = [e for e in at.sidebar if getattr(e, "key", None) == key]
    assert found, f"no sidebar widget with key {key!r}"
    return found[0]


def block(at: AppTest, key: str):
    """The container with this key, or None."""
    return next((e for e in at.main if getattr(e, "key", None) == key), None)


def guess(at: AppTest) -> str | None:
    container = block(at, "guess")
    return container.title[0].value if container is not None else None


def model_in_use(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Model in use:"))


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only a header: it claims width x height pixels and holds none."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


def one_on_paper() -> bytes:
    """A photo-like '1': a dark stroke on white paper."""
    paper = Image.new("RGB", (200, 240), "white")
    ImageDraw.Draw(paper).line([(100, 30), (100, 210)], fill=(30, 30, 40), width=18)
    return png(paper)


def draw_on_canvas(at: AppTest, picture: Image.Image) -> None:
    """What the canvas component sends after a stroke: its fabric JSON and its PNG."""
    url = "data:image/png;base64," + base64.b64encode(png(picture)).decode()
    at.session_state[f"canvas-{at.session_state.canvas_id}"] = {"drawing": {"raw": {"objects": [{"type": "Path"}]}, "data": url}}


# -- tests -----------------------------------------------------------------------------------
def test_page_loads_with_the_hint_and_no_guess(at):
    assert guess(at) is None
    assert any(i.value.startswith("Draw a digit on the black square") for i in at.info)
    assert "the shipped model" in model_in_use(at)


# A size that belongs to one architecture has a widget only while that architecture is chosen.
ONLY_WITH = {"hidden_units": "mlp", "filters": "cnn"}


def shown_fields(config: cfg.TrainConfig) -> list[str]:
    return [f.name for f in cfg.fields() if ONLY_WITH.get(f.name, config.architecture) == config.architecture]


def test_sidebar_defaults_are_the_config_defaults(at):
    defaults = cfg.TrainConfig()
    for name in shown_fields(defaults):
        assert widget(at, name).value == getattr(defaults, name), name
    assert not [e for e in at.sidebar if getattr(e, "key", None) in ONLY_WITH]   # the lesson: no sizes


@pytest.mark.parametrize("preset", list(cfg.PRESETS)[1:])
def test_a_preset_sets_every_widget(at, preset):
    at.radio(key="preset").set_value(preset).run()
    assert not at.exception
    for name in shown_fields(cfg.PRESETS[preset]):
        assert widget(at, name).value == getattr(cfg.PRESETS[preset], name), name


def test_a_drawn_one_is_recognized(at):
    canvas = Image.new("RGBA", (280, 280), "black")
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill="white", width=20)
    draw_on_canvas(at, canvas)
    at.run()
    assert not at.exception
    assert guess(at) == "1"
    assert block(at, "prediction") is not None


def test_a_photo_of_a_one_is_recognized(at):
    at.radio(key="source").set_value("upload").run()
    at.file_uploader(key="upload").set_value(("one.png", one_on_paper(), "image/png")).run()
    assert not at.exception
    assert not at.error
    assert guess(at) == "1"


@pytest.mark.parametrize("name, data, says", [
    ("noise.png", np.random.default_rng(0).bytes(5000), "not an image"),
    ("bomb.png", png_header(100_000, 100_000), "enormous"),
    ("just-too-big.png", png_header(MAX_PIXELS // 4000 + 1, 4000), "too large"),
], ids=["random-bytes", "decompression-bomb", "over-max-pixels"])
def test_a_bad_upload_shows_an_error_and_no_guess(at, name, data, says):
    at.radio(key="source").set_value("upload").run()
    at.file_uploader(key="upload").set_value((name, data, "image/png")).run()
    assert not at.exception
    assert [e.value for e in at.error if says in e.value], [e.value for e in at.error]
    assert guess(at) is None


# The page in a process of its own (the test process has imported TensorFlow for other tests):
# one epoch of retraining from the sidebar, then what the page shows and which modules the
# server's process holds, as JSON on the last line.
RETRAIN = """
import json, sys, time
from streamlit.testing.v1 import AppTest

def shown(at):
    return {"model_in_use": next(m.value for m in at.markdown if m.value.startswith("Model in use:")),
            "exception": [str(e.value) for e in at.exception], "errors": [e.value for e in at.error],
            "result": any(getattr(e, "key", None) == "training_result" for e in at.sidebar)}

at = AppTest.from_file(sys.argv[1], default_timeout=float(sys.argv[2]))
at.run()
before = shown(at)
next(w for w in at.sidebar if getattr(w, "key", None) == "epochs").set_value(1)
at.button(key="train").click().run()
deadline = time.monotonic() + float(sys.argv[3])
while not (now := shown(at))["result"] and not now["exception"] and not now["errors"] \\
        and time.monotonic() < deadline:
    time.sleep(0.5)
    at.run()
server = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print(json.dumps({"before": before, "after": shown(at), "server_modules": server[:5]}))
"""


def test_one_epoch_of_retraining_changes_the_model_in_use_and_tensorflow_stays_out_of_the_server(
        small_mnist_npz, data_dir):
    """The training runs in the training process, which loads $MNIST_PATH itself: the page's
    process never imports TensorFlow or Keras, and the run is recorded as the page's."""
    env = {**os.environ, "MNIST_PATH": str(small_mnist_npz), "DIGITS_DATA_DIR": str(data_dir),
           "DIGITS_DRAWN_PATH": "/nonexistent"}   # skip scoring the run on 7,494 drawings
    done = subprocess.run([sys.executable, "-c", RETRAIN, APP, str(RUN_TIMEOUT), str(TRAINING_TIMEOUT)],
                          cwd=Path(APP).parent, env=env, capture_output=True, text=True,
                          timeout=TRAINING_TIMEOUT + 2 * RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = seen["before"], seen["after"]
    assert not before["exception"] and not after["exception"], after["exception"]
    assert not after["errors"], after["errors"]
    assert after["result"], "no training result within the timeout"
    assert "your model" in after["model_in_use"] and "1 epoch," in after["model_in_use"], after
    assert after["model_in_use"] != before["model_in_use"]
    assert seen["server_modules"] == [], "the page's process imported TensorFlow"
    [model_file] = (data_dir / "models").glob("*.keras")
    deadline = time.monotonic() + 30   # the run is recorded just after the result is shown
    while not (recorded := runs.list_runs()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(r.source, r.model_path, r.config.epochs) for r in recorded] == [("page", str(model_file), 1)]
