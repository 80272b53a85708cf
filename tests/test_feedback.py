"""The class's drawings: every answer comes back as it was given, can be filtered, deleted
and counted, exports as an .npz shaped like drawn_dev.npz that the evaluator reads, and
many students answering at once lose nothing."""
from __future__ import annotations

import datetime
import io
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from classroom import feedback
from classroom.paths import drawn_dev_path
from model.evaluate import read_canvases
from model.preprocess import ink_box, to_mnist_format

REPO = Path(__file__).resolve().parents[1]

# (true digit, guessed digit) of a small class session; None: the page had no guess.
ANSWERS = [(1, 1), (7, 1), (7, 7), (0, 0), (4, 9), (1, 7), (4, 4), (0, None), (7, 7)]


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "drawings.sqlite"


def _input28(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28), dtype=np.float32)


@pytest.fixture
def session(db, draw):
    """The ANSWERS stored in order; returns their ids."""
    shapes = {d: draw(d) for d in (0, 1, 4, 7)}
    return [feedback.add(shapes[true], _input28(i), true, guessed, f"model {i}", path=db)
            for i, (true, guessed) in enumerate(ANSWERS)]


@pytest.mark.parametrize("digit,guessed", [(7, 7), (7, 1), (0, None)])
def test_an_answer_comes_back_as_it_was_given(db, draw, digit, guessed):
    canvas = draw(digit)
    x28 = to_mnist_format(canvas)
    drawing_id = feedback.add(canvas, x28, digit, guessed, "class model v3", path=db)
    [stored] = feedback.find(path=db)
    assert stored.id == drawing_id
    assert stored.canvas.dtype == np.uint8 and stored.canvas.shape == (280, 280)
    np.testing.assert_array_equal(stored.canvas, canvas)
    assert stored.input.dtype == np.float32 and stored.input.shape == (28, 28)
    np.testing.assert_array_equal(stored.input, x28)
    assert (stored.true_digit, stored.guessed_digit, stored.model) == (digit, guessed, "class model v3")
    assert stored.right == (digit == guessed)
    stamp = datetime.datetime.fromisoformat(stored.created_at)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - stamp).total_seconds()) < 120


def test_drawings_come_newest_first(db, session):
    assert [d.id for d in feedback.find(path=db)] == session[::-1]
    assert [d.id for d in feedback.find(limit=3, path=db)] == session[::-1][:3]


@pytest.mark.parametrize("digit", [None, 0, 1, 4, 7, 9])
@pytest.mark.parametrize("right", [None, True, False])
def test_filters_by_digit_and_right_or_wrong(db, session, digit, right):
    expected = [i for i, (true, guessed) in zip(session, ANSWERS)
                if (digit is None or true == digit) and (right is None or (true == guessed) == right)]
    found = feedback.find(digit=digit, right=right, path=db)
    assert [d.id for d in found] == expected[::-1]
    assert all(d.true_digit == digit for d in found if digit is not None)
    assert all(d.right == right for d in found if right is not None)


def test_delete_removes_exactly_those(db, session):
    gone = [session[1], session[4]]
    assert feedback.delete(gone, path=db) == 2
    assert feedback.count(path=db) == len(ANSWERS) - 2
    assert [d.id for d in feedback.find(path=db)] == [i for i in session[::-1] if i not in gone]
    assert feedback.delete(gone, path=db) == 0  # already gone: nothing else is touched
    assert feedback.count(path=db) == len(ANSWERS) - 2


def test_count_counts_every_answer(db, draw):
    assert feedback.count(path=db) == 0
    for n in range(1, 4):
        feedback.add(draw(1), _input28(n), 1, 1, "m", path=db)
        assert feedback.count(path=db) == n


def test_the_default_database_is_in_the_data_folder(draw, data_dir, monkeypatch):
    monkeypatch.delenv("DIGITS_FEEDBACK_DB", raising=False)
    feedback.add(draw(4), _input28(0), 4, 4, "m")
    assert (data_dir / "drawings.sqlite").is_file()
    assert feedback.count() == 1


@pytest.mark.parametrize("true_digit", [-1, 10, 42])
def test_a_true_digit_outside_0_to_9_is_refused(db, draw, true_digit):
    with pytest.raises(ValueError, match="0..9"):
        feedback.add(draw(1), _input28(0), true_digit, 1, "m", path=db)
    assert feedback.count(path=db) == 0


def _framed_upload(shape) -> np.ndarray:
    """An upload whose ink touches all four edges (a frame), with a stroke inside."""
    h, w = shape
    image = np.zeros(shape, np.uint8)
    edge = max(2, min(h, w) // 40)
    image[:edge], image[-edge:], image[:, :edge], image[:, -edge:] = 255, 255, 255, 255
    image[h // 4: 3 * h // 4, w // 2 - edge: w // 2 + edge] = 255
    return image


@pytest.mark.parametrize("shape", [(600, 400), (120, 900), (1000, 1000), (300, 280), (281, 280),
                                   (140, 100), (28, 28)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_an_upload_is_fitted_into_280x280_centred_in_proportion(db, shape):
    feedback.add(_framed_upload(shape), _input28(0), 1, 1, "m", path=db)
    [stored] = feedback.find(path=db)
    assert stored.canvas.shape == (280, 280) and stored.canvas.dtype == np.uint8
    top, bottom, left, right = ink_box(stored.canvas / 255.0)
    h, w = shape
    scale = 280 / max(h, w)
    assert (bottom - top, right - left) == (pytest.approx(h * scale, abs=2), pytest.approx(w * scale, abs=2))
    assert top == pytest.approx(280 - bottom, abs=1) and left == pytest.approx(280 - right, abs=1)


def test_an_rgba_canvas_is_stored_as_its_white_on_black_ink(db, draw):
    ink = draw(4)
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, ink  # white paint, transparent where nothing is drawn
    feedback.add(rgba, _input28(0), 4, 4, "m", path=db)
    [stored] = feedback.find(path=db)
    np.testing.assert_allclose(stored.canvas, ink, atol=1)


@pytest.mark.parametrize("n", [0, 1, 4])
def test_export_is_shaped_like_drawn_dev(db, draw, n):
    digits = [7, 0, 4, 1][:n]
    for d in digits:
        feedback.add(draw(d), _input28(d), d, None, "m", path=db)
    with np.load(io.BytesIO(feedback.export_npz(path=db)), allow_pickle=False) as f:
        images, labels, writers = f["images"], f["labels"], f["writers"]
    assert images.shape == (n, 280, 280) and images.dtype == np.uint8
    assert labels.shape == (n,) and writers.shape == (n,)
    assert sorted(labels.tolist()) == sorted(digits)
    assert sorted(labels.tolist()) == sorted(d.true_digit for d in feedback.find(path=db))
    for image, label in zip(images, labels):
        np.testing.assert_array_equal(image, draw(int(label)))


def _npz_layout(source) -> dict[str, tuple[int, np.dtype]]:
    """Each array's (ndim, dtype) from the .npy headers, without reading the data."""
    layout = {}
    with zipfile.ZipFile(source) as z:
        for name in z.namelist():
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
            layout[name.removesuffix(".npy")] = (len(shape), dtype)
    return layout


def test_export_has_drawn_devs_arrays_and_types(db, draw):
    reference = drawn_dev_path()
    if reference is None:
        pytest.skip("drawn_dev.npz is not available to compare with")
    feedback.add(draw(7), _input28(0), 7, 1, "m", path=db)
    exported = _npz_layout(io.BytesIO(feedback.export_npz(path=db)))
    assert exported == _npz_layout(reference)


def test_the_evaluator_reads_the_export(db, session, tmp_path):
    path = tmp_path / "class drawings.npz"
    path.write_bytes(feedback.export_npz(path=db))
    images, labels = read_canvases(path)
    assert images.shape == (len(ANSWERS), 280, 280)
    assert sorted(labels.tolist()) == sorted(true for true, _ in ANSWERS)


def test_threads_answering_at_once_lose_nothing(db, draw):
    feedback.count(path=db)
    canvas = draw(7)
    start = threading.Barrier(6)

    def student(k):
        start.wait()
        return [feedback.add(canvas, _input28(k), k, (k + i) % 10, f"student {k}", path=db) for i in range(8)]

    with ThreadPoolExecutor(6) as pool:
        ids = [i for batch in pool.map(student, range(6)) for i in batch]
    assert len(ids) == len(set(ids)) == 48
    assert feedback.count(path=db) == 48
    assert sorted(d.id for d in feedback.find(path=db)) == sorted(ids)
    for k in range(6):
        assert len(feedback.find(digit=k, path=db)) == 8


STUDENT = """
import sys, time
import numpy as np
from classroom import feedback
start, digit, n = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
canvas = np.zeros((280, 280), np.uint8)
canvas[60:220, 130:150] = 255
time.sleep(max(0.0, start - time.time()))
for i in range(n):
    print(feedback.add(canvas, np.zeros((28, 28), np.float32), digit, digit, "proc"))
"""


def test_processes_answering_at_once_lose_nothing(tmp_path, monkeypatch):
    """Several server processes sharing one drawings database, created by whichever comes first."""
    db = tmp_path / "shared" / "drawings.sqlite"
    monkeypatch.setenv("DIGITS_FEEDBACK_DB", str(db))
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", STUDENT, str(start), str(k), "10"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    ids = [int(line) for out, _ in outputs for line in out.split()]
    assert len(ids) == len(set(ids)) == 40
    assert feedback.count(path=db) == 40
    assert sorted(d.true_digit for d in feedback.find(path=db)) == sorted(k for k in range(4) for _ in range(10))


@pytest.mark.parametrize("action", ["add", "find", "count"])
def test_a_damaged_database_is_a_feedback_error(db, draw, action):
    db.write_bytes(np.random.default_rng(5).bytes(8192))
    calls = {"add": lambda: feedback.add(draw(1), _input28(0), 1, 1, "m", path=db),
             "find": lambda: feedback.find(path=db), "count": lambda: feedback.count(path=db)}
    with pytest.raises(feedback.FeedbackError):
        calls[action]()


def test_a_damaged_row_is_passed_over_not_an_error_for_everyone(db, session):
    """One drawing whose canvas is not a PNG (a bad write, a hand edit): the others still show."""
    import sqlite3
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE drawings SET canvas = ? WHERE id = ?", (b"not a png", session[2]))
        conn.execute("UPDATE drawings SET input = ? WHERE id = ?", (b"short", session[4]))
    shown = feedback.find(path=db)
    assert [d.id for d in shown] == [i for i in reversed(session) if i not in (session[2], session[4])]
    assert len(np.load(io.BytesIO(feedback.export_npz(path=db)))["images"]) == len(session) - 2
