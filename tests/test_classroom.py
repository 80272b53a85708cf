"""The class model and the instructor's gate: publishing swaps the whole file or nothing,
refuses what is not a model, is noticed through the version; wrong passwords are refused
and each one doubles the wait before the next attempt."""
from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from model import classroom, store
from model.recognizer import load_recognizer
from model.store import ModelFileError


@pytest.fixture(scope="module")
def second_model_file(small_result, tmp_path_factory):
    """Another valid model file, different bytes (its metadata differs), no second training."""
    return store.save(small_result, tmp_path_factory.mktemp("second") / "second.keras",
                      extra={"note": "the other model"})


def leftovers():
    """Anything in the class folder besides the class model itself (temporary files)."""
    folder = classroom.class_model_path().parent
    return sorted(p.name for p in folder.iterdir() if p.name != classroom.class_model_path().name)


def test_with_nothing_published_the_class_uses_the_shipped_model():
    current = classroom.class_model()
    assert current.published is False and current.version == "shipped" and current.path == store.SHIPPED


def test_publish_serves_the_model_to_the_class(small_model_file):
    current = classroom.publish(small_model_file)
    assert current.published and current.path == classroom.class_model_path()
    assert current == classroom.class_model()
    assert current.path.read_bytes() == small_model_file.read_bytes()
    np.testing.assert_array_equal(load_recognizer(current.path).kernel, load_recognizer(small_model_file).kernel)
    assert leftovers() == []


def test_the_version_changes_with_every_publish_and_unpublish(small_model_file, second_model_file):
    versions = [classroom.class_model().version]
    versions.append(classroom.publish(small_model_file).version)
    versions.append(classroom.publish(second_model_file).version)
    versions.append(classroom.unpublish().version)
    assert versions[0] == versions[-1] == "shipped"
    assert len(set(versions[:3])) == 3
    assert classroom.class_model().published is False


def test_unpublish_with_nothing_published_is_harmless():
    assert classroom.unpublish() == classroom.class_model()
    assert classroom.class_model().version == "shipped"


def test_a_crash_while_copying_leaves_the_old_class_model(small_model_file, second_model_file, monkeypatch):
    before = classroom.publish(small_model_file)

    def half_then_crash(src, dst, *args, **kwargs):
        data = open(src, "rb").read()
        with open(dst, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError("No space left on device")

    with monkeypatch.context() as patched, pytest.raises(OSError, match="No space"):
        patched.setattr(shutil, "copyfile", half_then_crash)
        classroom.publish(second_model_file)

    after = classroom.class_model()
    assert after.version == before.version
    assert after.path.read_bytes() == small_model_file.read_bytes()
    load_recognizer(after.path)  # still a whole, loadable model
    assert leftovers() == []


def _not_a_model(kind, folder):
    path = folder / f"{kind}.keras"
    if kind == "text":
        path.write_text("my homework")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zip without weights":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", "{}")
    elif kind == "truncated model":
        data = store.SHIPPED.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    return path  # "missing": never written


@pytest.mark.parametrize("kind", ["text", "empty", "zip without weights", "truncated model", "missing"])
@pytest.mark.parametrize("published", [True, False], ids=["over a published model", "over the shipped one"])
def test_publish_refuses_a_file_that_is_not_a_model(kind, published, small_model_file, tmp_path):
    before = classroom.publish(small_model_file) if published else classroom.class_model()
    with pytest.raises(ModelFileError):
        classroom.publish(_not_a_model(kind, tmp_path))
    assert classroom.class_model() == before
    if published:
        assert before.path.read_bytes() == small_model_file.read_bytes()
        assert leftovers() == []


# -- the instructor's gate ---------------------------------------------------------------------

class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("password", [None, ""])
@pytest.mark.parametrize("attempt", ["", "anything"])
def test_without_a_password_the_gate_is_open(password, attempt):
    gate = classroom.InstructorGate(password)
    assert gate.open
    assert gate.check(attempt).ok


@pytest.mark.parametrize("attempt", ["", "Secret", "secret ", "secre", "secret2", "sécret"])
def test_wrong_passwords_are_refused(attempt):
    gate = classroom.InstructorGate("secret", clock=FakeClock())
    assert not gate.open
    answer = gate.check(attempt)
    assert not answer.ok and "Wrong password" in answer.message


def test_the_right_password_unlocks():
    assert classroom.InstructorGate("secret", clock=FakeClock()).check("secret").ok


def test_after_a_wrong_attempt_even_the_right_password_waits():
    clock = FakeClock()
    gate = classroom.InstructorGate("secret", clock=clock)
    assert not gate.check("guess").ok
    clock.now += 0.5
    answer = gate.check("secret")
    assert not answer.ok and "wait" in answer.message
    clock.now += 0.5
    assert gate.check("secret").ok


def test_each_wrong_attempt_doubles_the_wait():
    clock = FakeClock()
    gate = classroom.InstructorGate("secret", clock=clock)
    for wait in [1.0, 2.0, 4.0, 8.0, 16.0]:
        assert not gate.check("guess").ok           # wrong, as soon as it is allowed
        clock.now += wait * 0.99
        assert not gate.check("secret").ok          # too early, even when right
        clock.now += wait * 0.01
    assert gate.check("secret").ok                  # right, once the last wait is over


def test_the_wait_stops_growing_at_a_minute():
    clock = FakeClock()
    gate = classroom.InstructorGate("secret", clock=clock)
    for _ in range(12):
        gate.check("guess")
        clock.now += gate.MAX_WAIT
    gate.check("guess")
    clock.now += gate.MAX_WAIT - 0.5
    assert not gate.check("secret").ok
    clock.now += 0.5
    assert gate.check("secret").ok


def test_the_right_password_resets_the_wait():
    clock = FakeClock()
    gate = classroom.InstructorGate("secret", clock=clock)
    for wait in [1.0, 2.0, 4.0]:
        gate.check("guess")
        clock.now += wait
    assert gate.check("secret").ok
    assert not gate.check("guess").ok
    clock.now += 1.0                                # back to the first wait, not the fourth
    assert gate.check("secret").ok


def test_attempts_during_the_wait_do_not_lengthen_it():
    clock = FakeClock()
    gate = classroom.InstructorGate("secret", clock=clock)
    gate.check("guess")
    for _ in range(5):
        clock.now += 0.1
        assert not gate.check("guess").ok
    clock.now += 0.5
    assert gate.check("secret").ok
