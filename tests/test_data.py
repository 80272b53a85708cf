"""load_mnist: the real file loads; every wrong file is a DataError that says what is wrong."""
from __future__ import annotations

import numpy as np
import pytest

from classroom import paths
from model.data import DataError, Mnist, load_mnist


def test_the_real_file_has_mnist_shapes_and_dtypes(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.y_test.shape == (10000,)
    for a in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        assert a.dtype == np.uint8
    assert set(np.unique(mnist.y_train)) == set(range(10))


def test_head_is_a_slice(mnist):
    small = mnist.head(30, 20)
    assert isinstance(small, Mnist)
    assert small.x_train.shape == (30, 28, 28) and small.y_test.shape == (20,)
    np.testing.assert_array_equal(small.x_test, mnist.x_test[:20])


def tiny_arrays(n: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n, dtype=np.uint8)}


def write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def test_a_small_well_formed_file_loads_as_it_is(tmp_path):
    arrays = tiny_arrays()
    data = load_mnist(write_npz(tmp_path / "tiny.npz", arrays))
    for key, a in arrays.items():
        np.testing.assert_array_equal(getattr(data, key), a)


def _without(key):
    return lambda a: {k: v for k, v in a.items() if k != key}


def _set(key, value):
    return lambda a: {**a, key: value(a[key])}


WRONG_FILES = {
    "missing key": (_without("y_test"), ["lacks", "y_test"]),
    "wrong dtype": (_set("x_train", lambda v: v.astype(np.float32)), ["x_train", "uint8", "float32"]),
    "wrong image size": (_set("x_train", lambda v: v[:, :, :27]), ["x_train", "28 x 28", "27"]),
    "flat images": (_set("x_test", lambda v: v.reshape(len(v), -1)), ["x_test", "28 x 28", "784"]),
    "no images": (lambda a: {**a, "x_train": a["x_train"][:0], "y_train": a["y_train"][:0]}, ["x_train"]),
    "one label short": (_set("y_train", lambda v: v[:-1]), ["x_train", "y_train", "length"]),
    "label above 9": (_set("y_test", lambda v: v + 10), ["y_test", "9"]),
}


@pytest.mark.parametrize("change, words", WRONG_FILES.values(), ids=WRONG_FILES.keys())
def test_a_wrong_npz_names_the_problem(tmp_path, change, words):
    path = write_npz(tmp_path / "wrong.npz", change(tiny_arrays()))
    with pytest.raises(DataError) as e:
        load_mnist(path)
    for word in words:
        assert word in str(e.value)


def test_a_missing_file_says_where_to_put_it(tmp_path):
    path = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(DataError) as e:
        load_mnist(path)
    assert str(path) in str(e.value) and "MNIST_PATH" in str(e.value)


def _truncated(tmp_path):
    whole = write_npz(tmp_path / "whole.npz", tiny_arrays()).read_bytes()
    return whole[: len(whole) // 2]


NOT_NPZ = {
    "random bytes": lambda tmp_path: np.random.default_rng(1).bytes(4096),
    "empty": lambda tmp_path: b"",
    "text": lambda tmp_path: b"x_train,y_train\n1,2\n",
    "truncated npz": _truncated,
}


@pytest.mark.parametrize("content", NOT_NPZ.values(), ids=NOT_NPZ.keys())
def test_a_file_that_is_not_an_npz_is_a_data_error(tmp_path, content):
    path = tmp_path / "mnist.npz"
    path.write_bytes(content(tmp_path))
    with pytest.raises(DataError) as e:
        load_mnist(path)
    assert str(path) in str(e.value)


def test_pickled_arrays_are_refused(tmp_path):
    """An .npz can carry pickles, which run code when loaded: they are never unpickled."""
    arrays = {**tiny_arrays(), "x_train": np.array([object()] * 3, dtype=object)}
    path = write_npz(tmp_path / "pickled.npz", arrays)
    with pytest.raises(DataError):
        load_mnist(path)


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(DataError, match="No MNIST file"):
        load_mnist(tmp_path)


def test_mnist_path_is_honoured(tmp_path, monkeypatch):
    arrays = tiny_arrays(5)
    monkeypatch.setenv("MNIST_PATH", str(write_npz(tmp_path / "env.npz", arrays)))
    np.testing.assert_array_equal(load_mnist(paths.mnist_path()).y_train, arrays["y_train"])


def test_a_missing_mnist_path_is_an_error_not_a_download(tmp_path, monkeypatch):
    missing = tmp_path / "missing.npz"
    monkeypatch.setenv("MNIST_PATH", str(missing))
    with pytest.raises(DataError, match="MNIST_PATH"):
        load_mnist(paths.mnist_path())


def test_without_mnist_path_or_keras_cache_there_is_no_path(tmp_path, monkeypatch):
    """Then the server's test-set views say what to do instead of downloading."""
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setattr(paths, "KERAS_CACHE", tmp_path / "not-there" / "mnist.npz")
    assert paths.mnist_path() is None


def test_checksum_tells_data_sets_apart(mnist):
    assert mnist.head(100).checksum() == mnist.head(100).checksum()
    assert mnist.head(100).checksum() != mnist.head(101).checksum()
