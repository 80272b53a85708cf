"""NumPy inference (model.forward, through the recognizer) against Keras itself, for each
architecture at small and default sizes: the same probabilities within 1e-5 on random inputs,
MNIST test digits and real drawings; conv1's maps as Keras computes them; and the pieces
(convolution, pooling, the split product) against plain loops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model import forward, store
from model.config import TrainConfig
from model.preprocess import prepare_mnist, to_mnist_format
from model.recognizer import Recognizer, load_recognizer

DRAWN_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "drawn_dev.npz"

CONFIGS = {
    "softmax": TrainConfig(),
    "mlp-16": TrainConfig(architecture="mlp", hidden_units=16),
    "mlp": TrainConfig(architecture="mlp"),
    "cnn-4": TrainConfig(architecture="cnn", filters=4),
    "cnn": TrainConfig(architecture="cnn"),
}
CNNS = [name for name, config in CONFIGS.items() if config.architecture == "cnn"]


def randomize(model, seed: int) -> None:
    """Weights with no pattern, biases included (Keras starts them at zero), at about Keras's
    initial scale so that the probabilities are neither uniform nor all 0 and 1."""
    rng = np.random.default_rng(seed)
    shapes = [w.shape for w in model.get_weights()]
    model.set_weights([rng.normal(0, 1.5 / np.sqrt(np.prod(s[:-1]) if len(s) > 1 else 10), s).astype(np.float32)
                       for s in shapes])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, tuple[object, Recognizer]]:
    """name -> (the Keras model, a recognizer loaded from its saved file): built once."""
    from model.network import build_model
    from model.training import TrainResult

    folder = tmp_path_factory.mktemp("architectures")
    built = {}
    for seed, (name, config) in enumerate(CONFIGS.items()):
        model = build_model(config)
        randomize(model, seed)
        path = store.save(TrainResult(model=model, config=config), folder / f"{name}.keras")
        built[name] = model, load_recognizer(path)
    return built


def keras_probabilities(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x.reshape(len(x), -1), training=False))


@pytest.mark.parametrize("n", [1, 7, forward.CNN_CHUNK + 44], ids=["one", "a few", "over a chunk"])
@pytest.mark.parametrize("name", CONFIGS)
def test_numpy_matches_keras_on_random_inputs(models, name, n):
    model, recognizer = models[name]
    x = np.random.default_rng(n).random((n, 784), dtype=np.float32)
    ours = recognizer.probabilities(x)
    assert ours.shape == (n, 10) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, keras_probabilities(model, x), atol=1e-5)


@pytest.mark.parametrize("name", CONFIGS)
def test_numpy_matches_keras_on_mnist_test_digits(models, mnist, name):
    model, recognizer = models[name]
    x = prepare_mnist(mnist.x_test[:300], recognizer.pipeline)
    np.testing.assert_allclose(recognizer.probabilities(x), keras_probabilities(model, x), atol=1e-5)


@pytest.fixture(scope="module")
def drawings() -> np.ndarray:
    if not DRAWN_DEV.is_file():
        pytest.skip(f"no drawings at {DRAWN_DEV}")
    with np.load(DRAWN_DEV) as f:
        return f["images"][::250]  # 30 drawings, from all over the file


@pytest.mark.parametrize("name", CONFIGS)
def test_numpy_matches_keras_on_drawings(models, drawings, name):
    model, recognizer = models[name]
    x = np.stack([x for x in (to_mnist_format(d, recognizer.pipeline) for d in drawings) if x is not None])
    assert len(x) > 20
    np.testing.assert_allclose(recognizer.probabilities(x), keras_probabilities(model, x), atol=1e-5)


@pytest.mark.parametrize("name", CONFIGS)
def test_predict_runs_the_files_architecture(models, draw, name):
    model, recognizer = models[name]
    assert recognizer.architecture == CONFIGS[name].architecture
    prediction = Recognizer(recognizer.weights, recognizer.metadata, check_ink=False).predict(draw(7))
    expected = keras_probabilities(model, prediction.input[None])[0]
    np.testing.assert_allclose(prediction.probabilities, expected, atol=1e-5)
    assert prediction.digit == int(expected.argmax())


@pytest.mark.parametrize("name", CNNS)
def test_first_layer_maps_are_conv1s_output(models, mnist, name):
    model, recognizer = models[name]
    x28 = prepare_mnist(mnist.x_test[:1], recognizer.pipeline)[0]
    maps = forward.first_layer_maps(recognizer.weights, x28)
    assert maps.shape == (CONFIGS[name].filters, 26, 26)
    h = x28.reshape(1, 784)
    for layer in model.layers:  # Keras's own layers up to conv1: Reshape, then conv1
        h = layer(h)
        if layer.name == "conv1":
            break
    expected = np.asarray(h)[0].transpose(2, 0, 1)
    np.testing.assert_allclose(maps, expected, atol=1e-5)
    assert (maps >= 0).all() and maps.any()


def test_each_model_has_its_own_fingerprint(models, tmp_path):
    fingerprints = {recognizer.fingerprint for _, recognizer in models.values()}
    assert len(fingerprints) == len(models)
    _, cnn = models["cnn-4"]
    assert load_recognizer(cnn.path).fingerprint == cnn.fingerprint  # the same file again
    changed = dict(cnn.weights, **{"conv2.bias": cnn.weights["conv2.bias"] + 1e-3})
    assert Recognizer(changed, cnn.metadata).fingerprint != cnn.fingerprint


# -- the pieces, against plain loops (no Keras) ------------------------------------------------

@pytest.mark.parametrize("channels, out", [(1, 4), (3, 5)])
def test_conv3x3_is_a_valid_stride_1_convolution_with_relu(channels, out):
    rng = np.random.default_rng(channels)
    maps = rng.normal(size=(2, 7, 6, channels)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, channels, out)).astype(np.float32)
    bias = rng.normal(size=out).astype(np.float32)
    expected = np.zeros((2, 5, 4, out))
    for n, i, j, o in np.ndindex(expected.shape):
        expected[n, i, j, o] = max(0.0, (maps[n, i:i + 3, j:j + 3, :] * kernel[..., o]).sum() + bias[o])
    np.testing.assert_allclose(forward.conv3x3(maps, kernel, bias), expected, rtol=1e-5, atol=1e-5)


def test_max_pool2_drops_an_odd_last_row_and_column():
    maps = np.random.default_rng(0).normal(size=(2, 5, 7, 3)).astype(np.float32)
    expected = np.zeros((2, 2, 3, 3), np.float32)
    for n, i, j, c in np.ndindex(expected.shape):
        expected[n, i, j, c] = maps[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c].max()
    np.testing.assert_array_equal(forward.max_pool2(maps), expected)


@pytest.mark.parametrize("rows", [1, 14, 15, 121, 500])
def test_the_split_product_is_the_product(rows):
    rng = np.random.default_rng(rows)
    a, b = rng.random((rows, 288), dtype=np.float32), rng.random((288, 64), dtype=np.float32)
    np.testing.assert_allclose(forward.matmul(a, b), a @ b, rtol=1e-5)


@pytest.mark.parametrize("architecture, hidden, filters", [("softmax", 128, 32), ("mlp", 16, 32), ("cnn", 128, 4)])
def test_every_weight_is_used(architecture, hidden, filters):
    """A change in any weight changes the output: no layer is skipped or left at its bias."""
    rng = np.random.default_rng(0)
    shapes = forward.weight_shapes(architecture, hidden, filters)
    weights = {name: rng.normal(0, 0.3, shape).astype(np.float32) for name, shape in shapes.items()}
    x = rng.random((2, 784), dtype=np.float32)
    before = forward.probabilities(weights, architecture, x)
    for name in shapes:
        # Random, not uniform: the same shift to every digit's score cancels in the softmax.
        changed = dict(weights, **{name: weights[name] + rng.normal(0, 0.5, shapes[name]).astype(np.float32)})
        assert not np.allclose(forward.probabilities(changed, architecture, x), before), name
