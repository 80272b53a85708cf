"""The training process's cache of MNIST prepared for a pipeline: computed once, then from
memory or from its file; another pipeline, other data or a damaged file prepare again; the
lesson's pipeline is not kept; and `fit` given the prepared arrays trains exactly as without."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.preprocess import Pipeline
from classroom.prepared import PreparedCache, _prepare

MOMENTS = Pipeline(deskew=True, stroke_width=3.0, normalization="moments")
DESKEW = Pipeline(deskew=True)


class Counting:
    """The cache's `prepare`, counting its calls."""

    def __init__(self):
        self.calls: list[Pipeline] = []

    def __call__(self, data, pipeline):
        self.calls.append(pipeline)
        return _prepare(data, pipeline)


@pytest.fixture(scope="module")
def tiny(mnist):
    return mnist.head(60, 20)


def cache_in(folder: Path | None, **options) -> tuple[PreparedCache, Counting]:
    counting = Counting()
    return PreparedCache(folder, prepare=counting, **options), counting


def test_prepared_once_then_from_memory_then_from_disk(tiny, tmp_path):
    cache, counting = cache_in(tmp_path)
    said = []
    pixels, inputs = cache.get(tiny, MOMENTS, lambda: said.append("preparing"))
    assert counting.calls == [MOMENTS] and said == ["preparing"]
    assert pixels.shape == (60, 784) and pixels.dtype == np.uint8
    assert inputs.shape == (20, 784) and inputs.dtype == np.float32
    again = cache.get(tiny, MOMENTS, lambda: said.append("preparing"))
    assert again[0] is pixels and counting.calls == [MOMENTS] and said == ["preparing"]

    restarted, counting = cache_in(tmp_path)  # a new training process: the file is read
    from_disk = restarted.get(tiny, MOMENTS)
    assert counting.calls == []
    np.testing.assert_array_equal(from_disk[0], pixels)
    np.testing.assert_array_equal(from_disk[1], inputs)


def test_the_prepared_arrays_are_the_training_modules_own(tiny, tmp_path):
    from model.training import to_inputs, to_pixels
    pixels, inputs = PreparedCache(tmp_path).get(tiny, MOMENTS)
    np.testing.assert_array_equal(pixels, to_pixels(tiny.x_train, MOMENTS))
    np.testing.assert_array_equal(inputs, to_inputs(tiny.x_test, MOMENTS))


def test_other_pipelines_or_data_are_prepared_again(tiny, mnist, tmp_path):
    cache, counting = cache_in(tmp_path)
    cache.get(tiny, MOMENTS)
    cache.get(tiny, DESKEW)
    other = mnist.head(40, 20)
    cache.get(other, MOMENTS)
    assert counting.calls == [MOMENTS, DESKEW, MOMENTS]
    assert len(list(tmp_path.glob("*.npz"))) == 3


def test_the_lessons_pipeline_is_neither_kept_nor_written(tiny, tmp_path):
    cache, counting = cache_in(tmp_path)
    pixels, _ = cache.get(tiny, Pipeline())
    cache.get(tiny, Pipeline())
    assert counting.calls == [Pipeline(), Pipeline()] and list(tmp_path.iterdir()) == []
    np.testing.assert_array_equal(pixels, tiny.x_train.reshape(60, 784))


def test_memory_and_disk_keep_only_the_last_ones(tiny, tmp_path):
    cache, counting = cache_in(tmp_path, keep=1, keep_files=2)
    pipelines = [DESKEW, MOMENTS, Pipeline(stroke_width=2.0)]
    for p in pipelines:
        cache.get(tiny, p)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    cache.get(tiny, pipelines[-1])          # in memory
    assert len(counting.calls) == 3
    cache.get(tiny, MOMENTS)                # on disk
    assert len(counting.calls) == 3
    cache.get(tiny, DESKEW)                 # dropped from both: prepared again
    assert counting.calls[3:] == [DESKEW]


@pytest.mark.parametrize("damage", [b"", b"not an npz at all", "wrong shapes"])
def test_a_damaged_file_is_prepared_again_and_rewritten(tiny, tmp_path, damage):
    PreparedCache(tmp_path).get(tiny, MOMENTS)
    [file] = tmp_path.glob("*.npz")
    if damage == "wrong shapes":
        np.savez(file, pixels=np.zeros((3, 784), np.uint8), inputs=np.zeros((3, 784), np.float32))
    else:
        file.write_bytes(damage)
    cache, counting = cache_in(tmp_path)
    pixels, _ = cache.get(tiny, MOMENTS)
    assert counting.calls == [MOMENTS] and pixels.shape == (60, 784)
    assert cache_in(tmp_path)[0].get(tiny, MOMENTS)[0].shape == (60, 784)  # rewritten whole


def test_no_folder_keeps_them_in_memory_only(tiny):
    cache, counting = cache_in(None)
    cache.get(tiny, MOMENTS)
    cache.get(tiny, MOMENTS)
    assert counting.calls == [MOMENTS]


def test_fit_with_the_prepared_arrays_trains_as_without(mnist, tmp_path):
    from model import training
    from model.config import TrainConfig
    config = TrainConfig(epochs=2, learning_rate=0.5, deskew=True)
    data = mnist.head(500, 200)
    plain = training.fit(config, data)
    cached = training.fit(config, data, prepared=PreparedCache(tmp_path).get(data, Pipeline.from_config(config)))
    assert cached.history == plain.history
    assert (cached.train_accuracy, cached.test_accuracy) == (plain.train_accuracy, plain.test_accuracy)
