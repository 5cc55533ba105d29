"""steepest.nn image layers (Conv2D, MaxPool2D, AvgPool2D, Flatten): outputs against direct
loops written here, gradients against central finite differences in float64, image inputs
to Network and Trainer, initialisation fans, buffers, errors, and a small CNN that learns."""

from __future__ import annotations

import math
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from steepest import losses, nn, optim
from steepest.errors import ParameterError
from steepest.nn import init
from steepest.train import Trainer, fit

# -- direct loops: the definitions, one output value at a time ---------------------------------


def conv2d_loops(X, W, b, stride, padding):
    """Y[s, o, h, w] = b[o] + Σ_{c,i,j} W[o, c, i, j] · X[s, c, h·sh + i − ph, w·sw + j − pw]."""
    n, C, H, Wd = X.shape
    O, _, kh, kw = W.shape
    (sh, sw), (ph, pw) = stride, padding
    OH, OW = (H + 2 * ph - kh) // sh + 1, (Wd + 2 * pw - kw) // sw + 1
    Y = np.zeros((n, O, OH, OW))
    for s in range(n):
        for o in range(O):
            for h in range(OH):
                for w in range(OW):
                    total = 0.0 if b is None else b[o]
                    for c in range(C):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = h * sh + i - ph, w * sw + j - pw
                                if 0 <= r < H and 0 <= q < Wd:
                                    total += W[o, c, i, j] * X[s, c, r, q]
                    Y[s, o, h, w] = total
    return Y


def pool_loops(X, kernel, stride, reduce):
    """``reduce(window)`` for every window; the max pool's argmax as torch picks it: the
    first maximum in the window's row-major order, a NaN over any number."""
    n, C, H, W = X.shape
    (kh, kw), (sh, sw) = kernel, stride
    OH, OW = (H - kh) // sh + 1, (W - kw) // sw + 1
    Y, where = np.zeros((n, C, OH, OW)), np.zeros((n, C, OH, OW), int)
    for s in range(n):
        for c in range(C):
            for h in range(OH):
                for w in range(OW):
                    window = X[s, c, h * sh:h * sh + kh, w * sw:w * sw + kw]
                    Y[s, c, h, w] = reduce(window)
                    best, at = -np.inf, (0, 0)
                    for i in range(kh):
                        for j in range(kw):
                            if window[i, j] > best or np.isnan(window[i, j]):
                                best, at = window[i, j], (i, j)
                    where[s, c, h, w] = (h * sh + at[0]) * W + w * sw + at[1]
    return Y, where


def torch_max(window):
    nans = np.isnan(window)
    return np.nan if nans.any() else window.max()


# -- strategies -----------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    """A Conv2D and an input it fits: channels, non-square kernels, strides, paddings, images."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H, W = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    assume(H + 2 * ph >= kh and W + 2 * pw >= kw)
    n, C, O = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bias = draw(st.booleans())
    return dict(n=n, shape=(C, H, W), out_channels=O, kernel=(kh, kw), stride=(sh, sw),
                padding=(ph, pw), bias=bias)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    H, W = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    n, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(n=n, shape=(C, H, W), kernel=(kh, kw), stride=stride)


def distinct_values(rng, shape):
    """Values at least 0.1 apart (no ties, so max pooling is smooth within an FD step)."""
    size = math.prod(shape)
    return (rng.permutation(size).reshape(shape) - size / 2) * 0.1 + rng.uniform(-0.01, 0.01,
                                                                                   size=shape)


def check_gradients(net: nn.Network, X: np.ndarray, seed: int) -> None:
    """``net.grad`` and ``dX`` against central differences of ``J = Σ Y ∘ R``."""
    R = np.random.default_rng(seed).normal(size=(X.shape[0], *net.output_shape))

    def value() -> float:
        return float(np.sum(net.forward(X, training=True) * R))

    net.forward(X, training=True)
    dX = net.backward(R, return_dX=True).copy()
    grad = net.grad.copy()
    np.testing.assert_allclose(grad, numerical_grad(value, net.theta), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dX, numerical_grad(value, X), rtol=1e-5, atol=1e-7)


# -- Conv2D -----------------------------------------------------------------------------------


def conv_network(case, seed):
    layer = nn.Conv2D(case["out_channels"], case["kernel"], case["stride"], case["padding"],
                      bias=case["bias"])
    net = nn.Network([layer], case["shape"], random_state=seed)
    net.theta[...] = np.random.default_rng(seed).normal(size=net.n_params)
    return net, layer


@settings(deadline=None, max_examples=60)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_forward_matches_the_direct_loops(case, seed):
    net, layer = conv_network(case, seed)
    X = np.random.default_rng(seed + 1).normal(size=(case["n"], *case["shape"]))
    Y = net.forward(X)
    expected = conv2d_loops(X, layer.W, layer.b if case["bias"] else None, case["stride"],
                            case["padding"])
    assert Y.shape == expected.shape == (case["n"], *net.output_shape)
    np.testing.assert_allclose(Y, expected, rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=60)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_gradients_match_finite_differences(case, seed):
    net, _ = conv_network(case, seed)
    X = np.random.default_rng(seed + 1).normal(size=(case["n"], *case["shape"]))
    check_gradients(net, X, seed)


def test_conv2d_parameters_are_torch_layout_views_into_theta():
    net = nn.Network([nn.Conv2D(4, (3, 2)), nn.Flatten(), nn.Dense(2)], (3, 5, 6))
    conv = net.layers[0]
    assert list(net.parameters()) == ["0.W", "0.b", "2.W", "2.b"]
    assert conv.W.shape == conv.dW.shape == (4, 3, 3, 2) and conv.b.shape == (4,)
    assert conv.W.base is net.theta and conv.dW.base is net.grad
    assert net.layers[0].out_shape == (4, 3, 5) and net.layers[1].out_shape == (60,)
    assert net.n_params == 4 * 3 * 3 * 2 + 4 + 60 * 2 + 2
    net.theta[:72] = 0.5
    assert np.all(conv.W == 0.5)


def test_conv2d_without_bias_and_with_one_by_one_kernels():
    rng = np.random.default_rng(0)
    net = nn.Network([nn.Conv2D(2, 1, bias=False)], (3, 4, 5), random_state=0)
    assert list(net.parameters()) == ["0.W"]
    X = rng.normal(size=(2, 3, 4, 5))
    expected = np.einsum("oc,schw->sohw", net.layers[0].W[:, :, 0, 0], X)
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12)


# -- pooling and Flatten --------------------------------------------------------------------------


@settings(deadline=None, max_examples=60)
@given(case=pool_cases(), seed=st.integers(0, 2**32 - 1))
def test_max_pool_matches_the_direct_loops_with_torchs_ties(case, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(case["n"], *case["shape"])).astype(float)  # many ties
    X[rng.random(X.shape) < 0.05] = np.nan
    net = nn.Network([nn.MaxPool2D(case["kernel"], case["stride"])], case["shape"])
    stride = case["kernel"] if case["stride"] is None else case["stride"]
    expected, where = pool_loops(X, case["kernel"], stride, torch_max)
    np.testing.assert_array_equal(net.forward(X), expected)
    np.testing.assert_array_equal(net.layers[0].argmax, where)


@settings(deadline=None, max_examples=60)
@given(case=pool_cases(), seed=st.integers(0, 2**32 - 1))
def test_avg_pool_matches_the_direct_loops(case, seed):
    X = np.random.default_rng(seed).normal(size=(case["n"], *case["shape"]))
    net = nn.Network([nn.AvgPool2D(case["kernel"], case["stride"])], case["shape"])
    stride = case["kernel"] if case["stride"] is None else case["stride"]
    expected, _ = pool_loops(X, case["kernel"], stride, np.mean)
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("pool", [nn.MaxPool2D, nn.AvgPool2D])
@settings(deadline=None, max_examples=50)
@given(case=pool_cases(), seed=st.integers(0, 2**32 - 1))
def test_pool_gradients_match_finite_differences(pool, case, seed):
    # overlapping windows (stride < kernel) add up the gradients they share
    net = nn.Network([pool(case["kernel"], case["stride"])], case["shape"])
    X = distinct_values(np.random.default_rng(seed), (case["n"], *case["shape"]))
    check_gradients(net, X, seed)


def test_max_pool_sends_the_gradient_to_the_first_of_tied_maxima():
    X = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 5.0, 5.0]]]])
    net = nn.Network([nn.MaxPool2D(2)], (1, 2, 4))
    np.testing.assert_array_equal(net.forward(X), [[[[3.0, 5.0]]]])
    dX = net.backward(np.array([[[[10.0, 20.0]]]]), return_dX=True)
    np.testing.assert_array_equal(dX, [[[[0, 10, 0, 0], [0, 0, 20, 0]]]])


@settings(deadline=None, max_examples=40)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_a_small_cnn_gradient_matches_finite_differences(case, seed):
    """Conv2D, ReLU, MaxPool2D, Conv2D, AvgPool2D, Flatten, Dense, under a loss."""
    rng = np.random.default_rng(seed)
    C, H, W = case["shape"]
    net = nn.Network([nn.Conv2D(2, case["kernel"], 1, case["padding"]), nn.Tanh(),
                      nn.MaxPool2D((1, 2), (1, 1)), nn.Conv2D(3, 1, case["stride"]),
                      nn.AvgPool2D(1), nn.Flatten(), nn.Dense(2)], (C, H, W + 1),
                     random_state=seed)
    net.theta[...] = rng.normal(size=net.n_params)
    X = rng.normal(size=(case["n"], C, H, W + 1))
    pooled = net.layers[1].forward(net.layers[0].forward(X))
    pairs = np.stack([pooled[..., :-1], pooled[..., 1:]])
    assume(np.min(np.abs(pairs[0] - pairs[1])) > 1e-4)     # keep off the max pool's kinks
    y = rng.integers(0, 2, size=case["n"])
    loss = losses.get("categorical_crossentropy")
    _, dY = loss.value_and_grad(y, net.forward(X, training=True))
    dX = net.backward(dY, return_dX=True).copy()
    grad = net.grad.copy()

    def value() -> float:
        return loss.value(y, net.forward(X, training=True))

    np.testing.assert_allclose(grad, numerical_grad(value, net.theta), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dX, numerical_grad(value, X), rtol=1e-5, atol=1e-7)


def test_elementwise_layers_keep_the_image_shape():
    net = nn.Network([nn.Conv2D(3, 2), nn.LeakyReLU(0.1), nn.Dropout(0.5, random_state=0),
                      nn.ELU(), nn.Sigmoid(), nn.Flatten(), nn.Dense(2)], (2, 4, 5),
                     random_state=0)
    assert [layer.out_shape for layer in net.layers[:5]] == [(3, 3, 4)] * 5
    X = np.random.default_rng(0).normal(size=(2, 2, 4, 5))
    Z = net.layers[0].forward(X).copy()
    np.testing.assert_array_equal(net.layers[1].forward(Z), np.where(Z > 0, Z, 0.1 * Z))
    net.forward(X, training=True)
    assert net.backward(np.ones((2, 2)), return_dX=True).shape == X.shape
    assert net.layers[2].mask.shape == (2, 3, 3, 4)


def test_flatten_is_a_c_order_view_both_ways():
    net = nn.Network([nn.Flatten()], (2, 3, 4))
    X = np.arange(48.0).reshape(2, 2, 3, 4)
    Y = net.forward(X)
    assert Y.shape == (2, 24) and np.shares_memory(Y, X)
    np.testing.assert_array_equal(Y, X.reshape(2, -1))
    dY = np.arange(48.0).reshape(2, 24)
    dX = net.backward(dY, return_dX=True)
    assert dX.shape == (2, 2, 3, 4) and np.shares_memory(dX, dY)


# -- initialisation --------------------------------------------------------------------------


def test_kernel_fans_are_torchs():
    # torch.nn.init._calculate_fan_in_and_fan_out on a (16, 3, 5, 2) kernel: (30, 160)
    assert init.fans((16, 3, 5, 2)) == (3 * 5 * 2, 16 * 5 * 2)
    assert init.fans((4, 7)) == (4, 7)                      # Dense's (fan_in, fan_out)
    with pytest.raises(ParameterError, match="2-D weight array .* or a convolution kernel"):
        init.fans((5,))


@pytest.mark.parametrize("weight_init, bound", [
    ("glorot_uniform", math.sqrt(6 / (3 * 9 + 64 * 9))),
    ("he_uniform", math.sqrt(6 / (3 * 9))),
])
def test_conv2d_initialises_from_its_fans(weight_init, bound):
    net = nn.Network([nn.Conv2D(64, 3, weight_init=weight_init)], (3, 8, 8), random_state=1)
    W, b = net.layers[0].W, net.layers[0].b
    assert np.max(np.abs(W)) <= bound and np.max(np.abs(W)) > 0.99 * bound
    assert abs(np.std(W) - bound / math.sqrt(3)) < 0.05 * bound   # U(-b, b) has std b/√3
    np.testing.assert_array_equal(b, 0.0)


# -- Network and Trainer on images -----------------------------------------------------------


def small_cnn(dtype="float64", random_state=0):
    return nn.Network([nn.Conv2D(4, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                       nn.Dense(3)], (1, 8, 8), dtype=dtype, random_state=random_state)


def test_network_takes_images_or_their_rows_of_pixels():
    rng = np.random.default_rng(0)
    net = small_cnn()
    assert net.input_shape == (1, 8, 8) and net.n_features == 64 and net.output_shape == (3,)
    X = rng.normal(size=(5, 1, 8, 8))
    Y = net.forward(X, training=True).copy()
    dX = net.backward(np.ones((5, 3)), return_dX=True).copy()
    assert dX.shape == X.shape
    rows = X.reshape(5, 64)
    np.testing.assert_array_equal(net.forward(rows, training=True), Y)
    flat_dX = net.backward(np.ones((5, 3)), return_dX=True)
    assert flat_dX.shape == (5, 64)
    np.testing.assert_array_equal(flat_dX, dX.reshape(5, 64))
    assert repr(net).endswith("n_features=(1, 8, 8), dtype='float64', random_state=0)")


def test_image_outputs_take_image_gradients():
    net = nn.Network([nn.Conv2D(2, 2)], (1, 3, 3))
    net.forward(np.ones((4, 1, 3, 3)))
    assert net.output_shape == (2, 2, 2) and net.n_outputs == 8
    with pytest.raises(ParameterError, match=r"dY of shape \(4, 2, 2, 2\)"):
        net.backward(np.ones((4, 8)))
    net.backward(np.ones((4, 2, 2, 2)))


def test_float32_stays_float32_in_the_image_layers():
    net32, net64 = small_cnn("float32"), small_cnn("float64")
    X = np.random.default_rng(0).normal(size=(6, 1, 8, 8))
    Y32 = net32.forward(X.astype(np.float32), training=True)
    dX32 = net32.backward(np.ones((6, 3), np.float32), return_dX=True)
    assert Y32.dtype == dX32.dtype == net32.grad.dtype == np.float32
    np.testing.assert_allclose(Y32, net64.forward(X, training=True), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dX32, net64.backward(np.ones((6, 3)), return_dX=True),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net32.grad, net64.grad, rtol=1e-4, atol=1e-4)


def test_a_repeated_training_step_of_a_cnn_allocates_nothing_of_the_batchs_size():
    rng = np.random.default_rng(0)
    net = nn.Network([nn.Conv2D(8, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(8, 3, padding=1),
                      nn.AvgPool2D(2), nn.Flatten(), nn.Dense(10)], (2, 14, 14),
                     dtype="float32", random_state=0)
    X, y = rng.normal(size=(256, 2, 14, 14)).astype(np.float32), rng.integers(0, 10, size=256)
    loss, dY = losses.get("categorical_crossentropy"), np.empty((256, 10), np.float32)

    def step():
        loss.value_and_grad(y, net.forward(X, training=True), out=dY)
        net.backward(dY, return_dX=True)

    one_buffer = 256 * 8 * 12 * 12 * 4                      # the first Conv2D's output
    tracemalloc.start()
    step()
    first = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    step()
    again = tracemalloc.get_traced_memory()[1] - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert first > 10 * one_buffer
    assert again < one_buffer / 4


def test_a_cnn_survives_pickling_with_its_parameters_views_into_theta():
    net, X = small_cnn(), np.random.default_rng(0).normal(size=(3, 1, 8, 8))
    Y = net.forward(X).copy()
    again = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(again.forward(X), Y)
    assert again.layers[0].W.base is again.theta and again.layers[0].dW.base is again.grad
    assert again.input_shape == (1, 8, 8)


def test_buffers_are_kept_per_batch_size():
    net, rng = small_cnn(), np.random.default_rng(0)
    Y = net.forward(rng.normal(size=(4, 1, 8, 8)), training=True)
    dX = net.backward(np.ones((4, 3)), return_dX=True)
    other = net.forward(rng.normal(size=(2, 1, 8, 8)))
    assert other is not Y and other.shape == (2, 3)
    assert net.forward(rng.normal(size=(4, 1, 8, 8)), training=True) is Y
    assert net.backward(np.ones((4, 3)), return_dX=True) is dX


def bars(n, rng):
    """8×8 images of a horizontal bar (class 0), a vertical bar (1) or a 3×3 square outline
    (2), each drawn at a random place, plus noise."""
    X = rng.normal(scale=0.3, size=(n, 1, 8, 8))
    y = rng.integers(0, 3, size=n)
    for k in range(n):
        r, c = rng.integers(0, 6, size=2)
        if y[k] == 0:
            X[k, 0, r, c:c + 3] += 1.5
        elif y[k] == 1:
            X[k, 0, r:r + 3, c] += 1.5
        else:
            X[k, 0, r:r + 3, c:c + 3] += 1.5
            X[k, 0, r + 1, c + 1] -= 1.5
    return X, y


def test_fit_trains_a_small_cnn_on_generated_images():
    """Bars and squares anywhere in the image: a convolution finds them wherever they are.
    Test accuracy >= 0.95 on new images (chance: 1/3; an untrained net: about 1/3)."""
    rng = np.random.default_rng(0)
    X, y = bars(600, rng)
    X_test, y_test = bars(300, rng)
    net = nn.Network([nn.Conv2D(8, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                      nn.Dense(3)], (1, 8, 8), dtype="float32", random_state=0)
    before = np.mean(np.argmax(net.forward(X_test), axis=1) == y_test)
    history = fit(net, "categorical_crossentropy", optim.Adam(lr=0.01), X, y, epochs=10,
                  batch_size=32, random_state=0).history
    accuracy = np.mean(np.argmax(net.forward(X_test), axis=1) == y_test)
    assert before < 0.6 and accuracy >= 0.95, (before, accuracy)
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def test_trainer_takes_rows_of_pixels_as_well_as_images():
    rng = np.random.default_rng(1)
    X, y = bars(64, rng)
    runs = []
    for data in (X, X.reshape(64, 64)):
        net = small_cnn(random_state=0)
        Trainer(net, "categorical_crossentropy", optim.SGD(lr=0.1), batch_size=16,
                random_state=0).fit(data, y, epochs=2, validation_data=(data[:8], y[:8]))
        runs.append(net.theta.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    with pytest.raises(ParameterError, match="2-D numeric array"):
        Trainer(small_cnn(), "categorical_crossentropy", "sgd").fit(X[:, :, :4], y, epochs=1)


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv2D(0, 3), "The 'out_channels' parameter of Conv2D must be an int in the "
                              "range [1, inf). Got 0 instead."),
    (lambda: nn.Conv2D(4, (3, 0)), "The 'kernel_size' parameter of Conv2D must be an int >= 1 "
                                   "or a pair of them (rows, columns). Got (3, 0) instead."),
    (lambda: nn.Conv2D(4, 3, stride=2.0), "The 'stride' parameter of Conv2D must be an int >= 1"),
    (lambda: nn.Conv2D(4, 3, padding=-1), "The 'padding' parameter of Conv2D must be an int >= 0"),
    (lambda: nn.Conv2D(4, (1, 2, 3)), "The 'kernel_size' parameter of Conv2D"),
    (lambda: nn.MaxPool2D(True), "The 'kernel_size' parameter of MaxPool2D"),
    (lambda: nn.AvgPool2D(2, stride=(1, 0)), "The 'stride' parameter of AvgPool2D must be"),
    (lambda: nn.Conv2D(4, 3, weight_init="nope"), "Unknown initialiser"),
])
def test_bad_layer_arguments_are_reported_in_one_sentence(make, message):
    with pytest.raises(ParameterError) as error:
        make()
    assert str(error.value).startswith(message), str(error.value)


@pytest.mark.parametrize("layers, n_features, message", [
    (lambda: [nn.Conv2D(2, 3), nn.Dense(2)], (1, 5, 5),
     "Dense takes flat samples, but the layer before it gives samples of shape (2, 3, 3); put "
     "a Flatten() before the Dense."),
    (lambda: [nn.Conv2D(2, 3), nn.BatchNorm()], (1, 5, 5), "BatchNorm takes flat samples"),
    (lambda: [nn.Conv2D(2, 3)], 25,
     "Conv2D takes images of shape (channels, height, width), but its input samples have shape "
     "(25,); give the Network n_features=(C, H, W) for images"),
    (lambda: [nn.Conv2D(2, (3, 6))], (1, 5, 5),
     "Conv2D's kernel of 6 columns does not fit its input of 5 columns (samples of shape (1, 5, "
     "5)); use a smaller kernel or more padding."),
    (lambda: [nn.MaxPool2D(2), nn.MaxPool2D(3)], (1, 5, 5),
     "MaxPool2D's kernel of 3 rows does not fit its input of 2 rows"),
    (lambda: [nn.Flatten(), nn.AvgPool2D(2)], (1, 5, 5), "AvgPool2D takes images"),
])
def test_layers_that_do_not_fit_their_input_are_refused_and_left_free(layers, n_features,
                                                                        message):
    made = layers()
    with pytest.raises(ParameterError) as error:
        nn.Network(made, n_features)
    assert str(error.value).startswith(message), str(error.value)
    assert all(layer.n_in is None for layer in made)       # free for another network


@pytest.mark.parametrize("n_features", [(1, 0, 3), (), [1, 4, 4], (2, 2.0), (True, 3)])
def test_bad_input_shapes_are_refused(n_features):
    with pytest.raises(ParameterError, match="The 'n_features' parameter of Network must be an "
                                             "int >= 1 or a tuple of ints >= 1"):
        nn.Network([nn.Flatten()], n_features)


def test_images_of_the_wrong_shape_are_refused():
    net = small_cnn()
    with pytest.raises(ParameterError, match=r"X of shape \(n_samples, 1, 8, 8\), or rows of "
                                             r"64 values.*got shape \(2, 1, 8, 9\)"):
        net.forward(np.zeros((2, 1, 8, 9)))
    with pytest.raises(ParameterError, match="Network expects 64 input features, got 63."):
        net.forward(np.zeros((2, 63)))
    with pytest.raises(ParameterError, match="at least one sample"):
        net.forward(np.zeros((0, 1, 8, 8)))


# -- torch's own outputs (tests/data/conv_references.npz, scripts/make_conv_references.py) --------

REFERENCES = np.load(Path(__file__).parent / "data" / "conv_references.npz")


def reference_cases(kind):
    return sorted({key.split(".")[0] for key in REFERENCES.files if key.startswith(kind)})


@pytest.mark.parametrize("case", reference_cases("conv"))
def test_conv2d_matches_torchs_stored_outputs_and_gradients(case):
    ref = {key.split(".")[1]: REFERENCES[key] for key in REFERENCES.files
           if key.startswith(case + ".")}
    n, c, h, w, out, kh, kw, sh, sw, ph, pw = (int(v) for v in ref["config"])
    net = nn.Network([nn.Conv2D(out, (kh, kw), (sh, sw), (ph, pw))], (c, h, w))
    net.layers[0].W[...], net.layers[0].b[...] = ref["W"], ref["b"]
    np.testing.assert_allclose(net.forward(ref["X"], training=True), ref["Y"], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(net.backward(ref["dY"], return_dX=True), ref["dX"], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(net.layers[0].dW, ref["dW"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.layers[0].db, ref["db"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", reference_cases("max") + reference_cases("avg"))
def test_pools_match_torchs_stored_outputs_and_gradients_ties_included(case):
    ref = {key.split(".")[1]: REFERENCES[key] for key in REFERENCES.files
           if key.startswith(case + ".")}
    n, c, h, w, kh, kw, sh, sw = (int(v) for v in ref["config"])
    pool = nn.MaxPool2D if case.startswith("max") else nn.AvgPool2D
    net = nn.Network([pool((kh, kw), (sh, sw))], (c, h, w))
    np.testing.assert_allclose(net.forward(ref["X"], training=True), ref["Y"], rtol=1e-12)
    np.testing.assert_allclose(net.backward(ref["dY"], return_dX=True), ref["dX"], rtol=1e-12)


def test_kernel_fans_match_torchs_stored_ones():
    for shape, expected in zip(REFERENCES["fans.shapes"], REFERENCES["fans.values"],
                               strict=True):
        assert init.fans(tuple(int(v) for v in shape)) == tuple(int(v) for v in expected)
