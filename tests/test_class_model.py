"""The class model: publishing swaps the whole file or nothing, refuses what is not a model
(metadata included), is noticed through the version; a model is read from one read of its
file, so a publish in between never pairs one model's weights with another's metadata."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from classroom import class_model as classroom
from classroom import paths
from model import store
from model.recognizer import load_recognizer
from model.store import ModelFileError


@pytest.fixture(scope="module")
def second_model_file(small_result, tmp_path_factory):
    """Another valid model file, different bytes (its metadata differs), no second training."""
    return store.save(small_result, tmp_path_factory.mktemp("second") / "second.keras",
                      extra={"note": "the other model"})


def leftovers():
    """Anything in the class folder besides the class model itself (temporary files)."""
    folder = paths.class_model_path().parent
    return sorted(p.name for p in folder.iterdir() if p.name != paths.class_model_path().name)


def test_with_nothing_published_the_class_uses_the_shipped_model():
    current = classroom.class_model()
    assert current.published is False and current.version == "shipped" and current.path == store.SHIPPED


def test_publish_serves_the_model_to_the_class(small_model_file):
    current = classroom.publish(small_model_file)
    assert current.published and current.path == paths.class_model_path()
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

    def half_then_crash(path, data):
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError("No space left on device")

    with monkeypatch.context() as patched, pytest.raises(OSError, match="No space"):
        patched.setattr(Path, "write_bytes", half_then_crash)
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
    elif kind in BAD_METADATA:
        with zipfile.ZipFile(store.SHIPPED) as shipped, zipfile.ZipFile(path, "w") as z:
            for name in shipped.namelist():
                z.writestr(name, BAD_METADATA[kind] if name == store.METADATA else shipped.read(name))
    return path  # "missing": never written


# Valid weights, metadata that does not describe a training.
BAD_METADATA = {
    "metadata not JSON": b"{not json",
    "metadata a list": b"[1, 2]",
    "config out of bounds": b'{"config": {"epochs": -3}}',
    "config of the wrong type": b'{"config": {"learning_rate": "fast"}}',
}


@pytest.mark.parametrize("kind", ["text", "empty", "zip without weights", "truncated model", "missing",
                                  *BAD_METADATA])
@pytest.mark.parametrize("published", [True, False], ids=["over a published model", "over the shipped one"])
def test_publish_refuses_a_file_that_is_not_a_model(kind, published, small_model_file, tmp_path):
    before = classroom.publish(small_model_file) if published else classroom.class_model()
    with pytest.raises(ModelFileError):
        classroom.publish(_not_a_model(kind, tmp_path))
    assert classroom.class_model() == before
    if published:
        assert before.path.read_bytes() == small_model_file.read_bytes()
        assert leftovers() == []


@pytest.mark.parametrize("kind", list(BAD_METADATA))
def test_a_model_with_bad_metadata_is_a_clear_error_not_a_traceback(kind, tmp_path):
    with pytest.raises(ModelFileError, match="metadata"):
        load_recognizer(_not_a_model(kind, tmp_path))


def test_weights_and_metadata_come_from_one_read_of_the_file(small_model_file, second_model_file, monkeypatch):
    """Loading while a publish replaces the file: whatever the timing, the recognizer's
    weights and metadata are one model's. Here the file is replaced right after its first
    read; the model loaded is still the first one, whole."""
    current = classroom.publish(small_model_file)
    real_read = store.read_bytes
    reads = []

    def read_then_publish(path):
        data = real_read(path)
        if path == current.path:
            reads.append(path)
            if len(reads) == 1:
                classroom.publish(second_model_file)
        return data

    monkeypatch.setattr(store, "read_bytes", read_then_publish)
    recognizer = load_recognizer(current.path)
    assert reads == [current.path]
    assert "note" not in recognizer.metadata           # the first model's metadata...
    first = load_recognizer(small_model_file)
    assert np.array_equal(recognizer.kernel, first.kernel)  # ...with the first model's weights
