"""Network.hvp and Loss.hvp: exact Hessian-vector products against central finite
differences of gradients, float64, for every layer and every loss with a gradient."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from steepest import losses, nn
from steepest.errors import ParameterError

STEP = 1e-5
"""The finite-difference step along a unit direction: truncation O(h²) ~ 1e-10 against
rounding O(eps/h) ~ 2e-11 relative, both well under the 1e-7 tolerance. (A batch norm
over three rows of one feature curves enough for O(h²) to reach 2e-7: the networks'
differences are Richardson-extrapolated from h and h/2, truncation O(h⁴).)"""

TOLERANCE = 1e-7


def relative_error(a, b) -> float:
    scale = max(np.linalg.norm(a), np.linalg.norm(b), 1e-12)
    return float(np.linalg.norm(a - b)) / scale


# -- the losses' own Hessian-vector products ---------------------------------------------------

def targets(name, rng, n, k):
    if name == "categorical_crossentropy":
        return rng.integers(0, k, n)
    if name in ("binary_crossentropy", "hinge"):
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


LOSSES = ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy", "hinge"]


@pytest.mark.parametrize("name", LOSSES)
@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 6), k=st.integers(2, 4), seed=st.integers(0, 2**32 - 1))
def test_loss_hvp_matches_finite_differences_of_its_gradient(name, n, k, seed):
    rng = np.random.default_rng(seed)
    loss = losses.get(name)
    y, z = targets(name, rng, n, k), 2 * rng.normal(size=(n, k))
    d = rng.normal(size=(n, k))
    d /= np.linalg.norm(d)
    if name in ("mae", "huber", "hinge"):       # no kink between z - h d and z + h d
        margin = {"mae": np.abs(z - y), "huber": np.abs(np.abs(z - y) - 1.0),
                  "hinge": np.abs(1 - (2 * y - 1) * z)}[name]
        assume(margin.min() > 10 * STEP)
    fd = (loss.grad(y, z + STEP * d) - loss.grad(y, z - STEP * d)) / (2 * STEP)
    hv = loss.hvp(y, z, d)
    assert hv.shape == z.shape
    assert relative_error(hv, fd) < TOLERANCE or np.abs(hv - fd).max() < 1e-9


def test_loss_hvp_rejects_a_direction_of_another_size():
    with pytest.raises(ParameterError, match="direction"):
        losses.get("mse").hvp(np.zeros(3), np.zeros(3), np.zeros(4))


# -- the network: every layer type, every loss ------------------------------------------------

def stack(kind: str, width: int, n_outputs: int) -> list:
    """A small network around one layer type (tanh around the linear ones, for curvature)."""
    hidden = {
        "dense": [nn.Dense(width), nn.Tanh()],
        "relu": [nn.Dense(width), nn.ReLU()],
        "leaky_relu": [nn.Dense(width), nn.LeakyReLU(0.1)],
        "elu": [nn.Dense(width), nn.ELU(0.7)],
        "tanh": [nn.Dense(width), nn.Tanh()],
        "sigmoid": [nn.Dense(width), nn.Sigmoid()],
        "dropout": [nn.Dense(width), nn.Tanh(), nn.Dropout(0.3)],
        "batch_norm": [nn.Dense(width), nn.BatchNorm(), nn.Tanh()],
        "activation_first": [nn.Sigmoid(), nn.Dense(width), nn.ELU()],
        "no_bias": [nn.Dense(width, bias=False), nn.Sigmoid()],
    }[kind]
    return hidden + [nn.Dense(width), nn.Tanh(), nn.Dense(n_outputs)]


def kinks(network) -> list:
    """What decides the branch of each piecewise layer (equal at θ ± h v: no kink crossed)."""
    patterns = []
    for layer in network.layers:
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU, nn.ELU)):
            patterns.append(np.asarray(layer._Y > 0) if isinstance(layer, nn.ReLU)
                            else layer._mask.copy())
    return patterns


def gradient_at(network, theta, states, X, y, loss, training):
    """∇J at ``theta`` with the layers' state (Dropout's generator) as in ``states``."""
    network.theta[...] = theta
    for layer, state in zip(network.layers, states, strict=True):
        layer.load_state_dict(state)
    Y = network.forward(X, training)
    network.backward(loss.grad(y, Y))
    return network.grad.copy(), kinks(network), Y.copy()


KINDS = ["dense", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "dropout", "batch_norm",
         "activation_first", "no_bias"]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None, max_examples=15)
@given(n=st.integers(3, 7), n_features=st.integers(1, 4), width=st.integers(1, 5),
       loss_name=st.sampled_from(LOSSES), seed=st.integers(0, 2**32 - 1))
def test_network_hvp_matches_finite_differences_of_the_gradient(kind, training, n, n_features,
                                                                width, loss_name, seed):
    rng = np.random.default_rng(seed)
    k = 3 if loss_name == "categorical_crossentropy" else 2
    network = nn.Network(stack(kind, width, k), n_features, random_state=seed)
    network.theta[...] = rng.normal(size=network.n_params)
    X = 2 * rng.normal(size=(n, n_features))
    y, loss = targets(loss_name, rng, n, k), losses.get(loss_name)
    v = rng.normal(size=network.n_params)
    v /= np.linalg.norm(v)
    theta, states = network.theta.copy(), [layer.state_dict() for layer in network.layers]
    network.grad[...] = rng.normal(size=network.n_params)
    grad_before = network.grad.copy()

    hv = network.hvp(X, y, loss, v, training=training).copy()

    assert np.array_equal(network.theta, theta) and np.array_equal(network.grad, grad_before)
    for layer, state in zip(network.layers, states, strict=True):     # state put back
        for key, value in layer.state_dict().items():
            assert np.array_equal(value, state[key])
    differences = []
    for step in (STEP, STEP / 2):
        up, kinks_up, Y_up = gradient_at(network, theta + step * v, states, X, y, loss, training)
        down, kinks_down, Y_down = gradient_at(network, theta - step * v, states, X, y, loss,
                                               training)
        assume(all(np.array_equal(a, b) for a, b in zip(kinks_up, kinks_down, strict=True)))
        if loss_name in ("mae", "huber", "hinge"):   # the loss's own kink not crossed either
            margins = {"mae": lambda Y: Y - y, "huber": lambda Y: np.abs(Y - y) - 1.0,
                       "hinge": lambda Y: 1 - (2 * y - 1) * Y}[loss_name]
            assume(np.array_equal(margins(Y_up) > 0, margins(Y_down) > 0))
        differences.append((up - down) / (2 * step))
    fd = (4 * differences[1] - differences[0]) / 3       # Richardson: the h² term cancels
    assert relative_error(hv, fd) < TOLERANCE or np.abs(hv - fd).max() < 1e-9


def test_hvp_is_linear_in_the_direction_and_symmetric():
    rng = np.random.default_rng(3)
    network = nn.Network([nn.Dense(4), nn.BatchNorm(), nn.ELU(), nn.Dense(2)], 3, random_state=0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    u, w = rng.normal(size=network.n_params), rng.normal(size=network.n_params)
    Hu = network.hvp(X, y, "categorical_crossentropy", u).copy()
    Hw = network.hvp(X, y, "categorical_crossentropy", w, out=np.empty(network.n_params))
    H_sum = network.hvp(X, y, "categorical_crossentropy", 2 * u + w)
    np.testing.assert_allclose(H_sum, 2 * Hu + Hw, rtol=1e-10, atol=1e-12)
    assert abs(u @ Hw - w @ Hu) <= 1e-10 * max(abs(u @ Hw), 1.0)


def test_hvp_rejects_a_direction_of_the_wrong_length():
    network = nn.Network([nn.Dense(2)], 3, random_state=0)
    with pytest.raises(ParameterError, match="direction v of shape"):
        network.hvp(np.zeros((2, 3)), np.zeros(2), "mse", np.zeros(5))


def test_hvp_through_a_layer_without_an_r_operator_names_it():
    class Square(nn.Layer):
        def forward(self, X, training=False):
            self._X = X
            return X * X

        def backward(self, dY, need_dX=True):
            return 2 * self._X * dY if need_dX else None

    network = nn.Network([nn.Dense(2), Square(), nn.Dense(1)], 2, random_state=0)
    with pytest.raises(ParameterError, match="Square has no R-operator"):
        network.hvp(np.ones((2, 2)), np.zeros(2), "mse", np.zeros(network.n_params))


def test_hvp_survives_a_deepcopy_of_the_network():
    import copy

    rng = np.random.default_rng(0)
    network = nn.Network([nn.Dense(3), nn.Tanh(), nn.Dense(1)], 2, random_state=0)
    X, y, v = rng.normal(size=(4, 2)), rng.normal(size=4), rng.normal(size=network.n_params)
    before = network.hvp(X, y, "mse", v).copy()
    twin = copy.deepcopy(network)
    twin.theta[0] += 1.0                       # the copy's views follow its own theta
    assert not np.allclose(twin.hvp(X, y, "mse", v), before)
    twin.theta[0] -= 1.0
    np.testing.assert_allclose(twin.hvp(X, y, "mse", v), before, rtol=1e-14)


CONV_STACKS = {
    "conv": lambda k: [nn.Conv2D(2, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Dense(k)],
    "conv_strided_no_bias": lambda k: [nn.Conv2D(3, (2, 3), stride=(2, 1), bias=False),
                                       nn.Flatten(), nn.Dense(k)],
    "two_convs": lambda k: [nn.Conv2D(2, 3, padding=1), nn.Tanh(), nn.Conv2D(2, 2, stride=2),
                            nn.Flatten(), nn.Dense(k)],
    "conv_maxpool": lambda k: [nn.Conv2D(2, 2), nn.MaxPool2D(2), nn.Flatten(), nn.Dense(k)],
    "conv_avgpool": lambda k: [nn.Conv2D(2, 3, padding=1), nn.AvgPool2D(2, stride=1),
                               nn.Sigmoid(), nn.Flatten(), nn.Dense(k)],
}


def max_positions(network) -> list:
    return [layer.argmax.copy() for layer in network.layers if isinstance(layer, nn.MaxPool2D)]


@pytest.mark.parametrize("kind", sorted(CONV_STACKS))
@settings(deadline=None, max_examples=10)
@given(n=st.integers(2, 4), channels=st.integers(1, 2), height=st.integers(4, 6),
       width=st.integers(4, 6), loss_name=st.sampled_from(["mse", "categorical_crossentropy"]),
       seed=st.integers(0, 2**32 - 1))
def test_hvp_through_convolutions_and_pools_matches_finite_differences(kind, n, channels,
                                                                       height, width, loss_name,
                                                                       seed):
    rng = np.random.default_rng(seed)
    k = 3 if loss_name == "categorical_crossentropy" else 2
    network = nn.Network(CONV_STACKS[kind](k), (channels, height, width), random_state=seed)
    network.theta[...] = rng.normal(size=network.n_params) * 0.5
    X = rng.normal(size=(n, channels, height, width))
    y, loss = targets(loss_name, rng, n, k), losses.get(loss_name)
    v = rng.normal(size=network.n_params)
    v /= np.linalg.norm(v)
    theta = network.theta.copy()
    hv = network.hvp(X, y, loss, v).copy()
    np.testing.assert_array_equal(network.theta, theta)

    def gradient(point):
        network.theta[...] = point
        network.backward(loss.grad(y, network.forward(X, True)))
        return network.grad.copy(), max_positions(network)

    (up, max_up), (down, max_down) = gradient(theta + STEP * v), gradient(theta - STEP * v)
    assume(all(np.array_equal(a, b) for a, b in zip(max_up, max_down, strict=True)))
    fd = (up - down) / (2 * STEP)
    assert relative_error(hv, fd) < TOLERANCE or np.abs(hv - fd).max() < 1e-9
