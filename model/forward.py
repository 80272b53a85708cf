"""The models' forward passes in plain NumPy: what Keras computes at inference, without
TensorFlow, so that the page recognizes a drawing before TensorFlow has even loaded.

Weights come as a dict `"<layer>.kernel"` / `"<layer>.bias"` for the layers that
`model.network.build_model` names ("hidden", "conv1", "conv2", "softmax"), in Keras's own
shapes: a Dense kernel is (in, out), a Conv2D kernel (3, 3, in, out). Inputs are (N, 784)
float32 pixels in [0, 1], as the models are trained on.

    probabilities(weights, "cnn", x)   # (N, 10), equal to Keras's model(x) within 1e-5
    first_layer_maps(weights, x28)     # (F, 26, 26): what conv1's filters respond to

Convolutions are im2col: a strided view of every 3x3 patch (no copy), then one matrix
product with the kernel, which is where NumPy is fast.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SIDE = 28
PIXELS = SIDE * SIDE
CLASSES = 10
KERNEL = 3
# Images per step of a CNN batch: a chunk's largest intermediate (conv1's maps, 26x26xF
# floats per image) stays around 20 MB, however many images are scored at once.
CNN_CHUNK = 256
# NumPy's BLAS (OpenBLAS) spreads a matrix product over threads above 2^18 multiply-adds
# (its GEMM_MULTITHREAD_THRESHOLD). For one image's convolution that costs more than it
# saves, and on a busy server (the class's trainings run beside the page) waiting for the
# other thread took 1-10 ms instead of 0.1 ms. Products smaller than SPLIT_BELOW therefore go
# in row blocks that each stay on the calling thread; batches keep one threaded product.
SINGLE_THREAD_WORK = 2**18
SPLIT_BELOW = 2**23


def layer_names(architecture: str) -> tuple[str, ...]:
    """The layers with weights, in the order the input goes through them."""
    return {"softmax": ("softmax",), "mlp": ("hidden", "softmax"),
            "cnn": ("conv1", "conv2", "softmax")}[architecture]


def weight_shapes(architecture: str, hidden_units: int, filters: int) -> dict[str, tuple[int, ...]]:
    """The shape of every weight array of the model `build_model` makes for these settings."""
    if architecture == "softmax":
        return {"softmax.kernel": (PIXELS, CLASSES), "softmax.bias": (CLASSES,)}
    if architecture == "mlp":
        return {"hidden.kernel": (PIXELS, hidden_units), "hidden.bias": (hidden_units,),
                "softmax.kernel": (hidden_units, CLASSES), "softmax.bias": (CLASSES,)}
    side = cnn_output_side()
    return {"conv1.kernel": (KERNEL, KERNEL, 1, filters), "conv1.bias": (filters,),
            "conv2.kernel": (KERNEL, KERNEL, filters, 2 * filters), "conv2.bias": (2 * filters,),
            "softmax.kernel": (side * side * 2 * filters, CLASSES), "softmax.bias": (CLASSES,)}


def cnn_output_side() -> int:
    """28 -> conv 26 -> pool 13 -> conv 11 -> pool 5: the side of the CNN's last maps."""
    return ((SIDE - KERNEL + 1) // 2 - KERNEL + 1) // 2


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities along the last axis; the maximum is subtracted first, as Keras does,
    so that large logits cannot overflow."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)  # in place: x is always a fresh intermediate here


def conv3x3(maps: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, H-2, W-2, out) ReLU responses: Keras's Conv2D(out, 3) with valid
    padding and stride 1. The view holds each 3x3 patch as (C, 3, 3); the kernel is laid out
    the same way, so that a single copy (the reshape) makes the patches a contiguous matrix."""
    n, h, w, c = maps.shape
    patches = sliding_window_view(maps, (KERNEL, KERNEL), axis=(1, 2))  # (N, H-2, W-2, C, 3, 3)
    columns = patches.reshape(n * (h - 2) * (w - 2), c * KERNEL * KERNEL)
    flat_kernel = kernel.transpose(2, 0, 1, 3).reshape(c * KERNEL * KERNEL, -1)
    out = matmul(columns, flat_kernel)
    out += bias
    return relu(out).reshape(n, h - 2, w - 2, -1)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b, in row blocks that each run on one thread when the product is small."""
    rows, per_row = a.shape[0], a.shape[1] * b.shape[1]
    if rows * per_row <= SINGLE_THREAD_WORK or rows * per_row >= SPLIT_BELOW:
        return a @ b
    out = np.empty((rows, b.shape[1]), np.result_type(a, b))
    block = max(1, SINGLE_THREAD_WORK // per_row)
    for start in range(0, rows, block):
        np.matmul(a[start:start + block], b, out=out[start:start + block])
    return out


def max_pool2(maps: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, H//2, W//2, C): Keras's MaxPooling2D(2), which drops an odd last
    row and column."""
    h, w = maps.shape[1] // 2 * 2, maps.shape[2] // 2 * 2
    # The larger of each window's two top pixels, of its two bottom ones, then of both: three
    # element-wise maximums on strided views run 2-5x faster than a max over reshaped axes.
    top = np.maximum(maps[:, 0:h:2, 0:w:2], maps[:, 0:h:2, 1:w:2])
    bottom = np.maximum(maps[:, 1:h:2, 0:w:2], maps[:, 1:h:2, 1:w:2])
    return np.maximum(top, bottom, out=top)


def _as_inputs(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x.reshape(len(x), PIXELS)


def _dense(x: np.ndarray, weights: dict[str, np.ndarray], layer: str) -> np.ndarray:
    out = x @ weights[f"{layer}.kernel"]
    out += weights[f"{layer}.bias"]
    return out


def _cnn_logits(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    maps = x.reshape(len(x), SIDE, SIDE, 1)
    maps = max_pool2(conv3x3(maps, weights["conv1.kernel"], weights["conv1.bias"]))
    maps = max_pool2(conv3x3(maps, weights["conv2.kernel"], weights["conv2.bias"]))
    # Keras flattens (N, 5, 5, C) row by row, channels last: the same order as this reshape.
    # Dropout is off at inference.
    return _dense(maps.reshape(len(x), -1), weights, "softmax")


def logits(weights: dict[str, np.ndarray], architecture: str, x: np.ndarray) -> np.ndarray:
    """(N, 784) inputs -> (N, 10) scores before the softmax."""
    x = _as_inputs(x)
    if architecture == "softmax":
        return _dense(x, weights, "softmax")
    if architecture == "mlp":
        return _dense(relu(_dense(x, weights, "hidden")), weights, "softmax")
    if architecture == "cnn":
        if len(x) <= CNN_CHUNK:
            return _cnn_logits(weights, x)
        return np.concatenate([_cnn_logits(weights, x[i:i + CNN_CHUNK])
                               for i in range(0, len(x), CNN_CHUNK)])
    raise ValueError(f"unknown architecture {architecture!r}")


def probabilities(weights: dict[str, np.ndarray], architecture: str, x: np.ndarray) -> np.ndarray:
    """(N, 784) (or (N, 28, 28)) float32 inputs in [0, 1] -> (N, 10) probabilities."""
    return softmax(logits(weights, architecture, x))


def first_layer_maps(weights: dict[str, np.ndarray], x28: np.ndarray) -> np.ndarray:
    """(F, 26, 26): each of conv1's F filters' ReLU responses to one prepared 28x28 input,
    one map per filter (channels first, to show as pictures)."""
    maps = np.asarray(x28, np.float32).reshape(1, SIDE, SIDE, 1)
    return conv3x3(maps, weights["conv1.kernel"], weights["conv1.bias"])[0].transpose(2, 0, 1)
