"""steepest.nn: layer and network gradients against central finite differences, the flat
theta and its views, dtypes, buffers, BatchNorm and Dropout semantics, initialisers, errors."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steepest import losses, nn, optim
from steepest.errors import ParameterError, StateError
from steepest.nn import init


def check_network_gradients(net: nn.Network, X: np.ndarray, objective, training: bool):
    """Compare ``net.grad`` and ``dX`` from backward with finite differences of ``objective``.

    ``objective(Y) -> (value, dY)``. Every forward starts from the same untrained state
    (running statistics, dropout generators), so Dropout draws the same mask each time.
    """
    saved = [(layer, layer.state_dict()) for layer in net.layers]

    def forward() -> np.ndarray:
        for layer, state in saved:
            layer.load_state_dict(state)
        return net.forward(X, training=training)

    def value() -> float:
        return objective(forward())[0]

    _, dY = objective(forward())
    dX = net.backward(dY, return_dX=True).copy()
    grad = net.grad.copy()
    np.testing.assert_allclose(grad, numerical_grad(value, net.theta), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dX, numerical_grad(value, X), rtol=1e-5, atol=1e-7)


def weighted_sum(weights):
    """The objective ``J = Σ Y ∘ R``: its gradient dY = R probes every output."""
    return lambda Y: (float(np.sum(Y * weights)), weights)


# -- strategies ---------------------------------------------------------------------------

away_from_zero = st.one_of(st.floats(0.05, 3.0), st.floats(-3.0, -0.05))


@st.composite
def batches(draw, elements=away_from_zero, min_rows=1):
    n, width = draw(st.integers(min_rows, 6)), draw(st.integers(1, 4))
    return draw(hnp.arrays(np.float64, (n, width), elements=elements))


@st.composite
def spread_batches(draw):
    """Batches whose rows are well apart in every feature (batch statistics stay tame)."""
    noise = draw(batches(elements=st.floats(-0.2, 0.2), min_rows=2))
    return noise + np.linspace(-1.0, 1.0, noise.shape[0])[:, None]


LAYERS = {
    "Dense": lambda: nn.Dense(3),
    "Dense-no-bias": lambda: nn.Dense(2, bias=False),
    "ReLU": nn.ReLU,
    "LeakyReLU": lambda: nn.LeakyReLU(0.1),
    "LeakyReLU-negative-slope": lambda: nn.LeakyReLU(-0.5),
    "ELU": lambda: nn.ELU(1.3),
    "Tanh": nn.Tanh,
    "Sigmoid": nn.Sigmoid,
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS)
@settings(deadline=None, max_examples=50)
@given(X=batches(), seed=st.integers(0, 2**32 - 1))
def test_layer_gradients_match_finite_differences(make, X, seed):
    net = nn.Network([make()], X.shape[1], random_state=seed)
    R = np.random.default_rng(seed).normal(size=(X.shape[0], net.n_outputs))
    check_network_gradients(net, X, weighted_sum(R), training=True)


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@settings(deadline=None, max_examples=50)
@given(X=spread_batches(), seed=st.integers(0, 2**32 - 1))
def test_batchnorm_gradients_match_finite_differences(training, X, seed):
    rng = np.random.default_rng(seed)
    net = nn.Network([nn.BatchNorm()], X.shape[1])
    net.theta[...] = rng.normal(size=net.n_params)         # γ and β away from 1 and 0
    width = X.shape[1]
    net.layers[0].load_state_dict({"running_mean": rng.normal(size=width),
                                   "running_var": rng.uniform(0.5, 2.0, size=width)})
    R = rng.normal(size=X.shape)
    check_network_gradients(net, X, weighted_sum(R), training=training)


@settings(deadline=None, max_examples=50)
@given(X=batches(elements=st.floats(-3, 3)), p=st.floats(0.0, 0.9), seed=st.integers(0, 2**32 - 1))
def test_dropout_gradients_match_finite_differences_with_a_fixed_mask(X, p, seed):
    net = nn.Network([nn.Dropout(p, random_state=seed)], X.shape[1])
    R = np.random.default_rng(seed).normal(size=X.shape)
    check_network_gradients(net, X, weighted_sum(R), training=True)
    mask = net.layers[0].mask
    np.testing.assert_array_equal(net.forward(X, training=False), X)
    assert set(np.unique(mask)) <= {0.0, 1 / (1 - p)}


@settings(deadline=None, max_examples=40)
@given(X=spread_batches(), n_outputs=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_network_loss_gradient_wrt_theta_matches_finite_differences(X, n_outputs, seed):
    net = nn.Network([nn.Dense(4), nn.BatchNorm(), nn.ReLU(), nn.Dense(3), nn.Tanh(),
                      nn.Dense(n_outputs)], X.shape[1], random_state=seed)
    rng = np.random.default_rng(seed)
    net.theta[...] = rng.normal(scale=0.8, size=net.n_params)
    net.forward(X, training=True)
    pre_relu = net.layers[1].forward(net.layers[0].forward(X), training=True)
    assume(np.min(np.abs(pre_relu)) > 1e-3)                 # keep off the ReLU's kink
    y = rng.normal(size=(X.shape[0], n_outputs))
    loss = losses.get("mse")
    check_network_gradients(net, X, lambda Y: loss.value_and_grad(y, Y), training=True)


def test_classifier_network_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 4, size=8)
    net = nn.Network([nn.Dense(6), nn.ELU(), nn.Dropout(0.3), nn.Dense(5), nn.Sigmoid(),
                      nn.Dense(4)], 5, random_state=3)
    loss = losses.get("categorical_crossentropy")
    check_network_gradients(net, X, lambda Y: loss.value_and_grad(y, Y), training=True)


# -- theta, grad and the views into them ------------------------------------------------------


def make_network(dtype="float64", n_features=5, random_state=0):
    return nn.Network([nn.Dense(4), nn.BatchNorm(), nn.ReLU(), nn.Dropout(0.2), nn.Dense(3),
                       nn.Tanh(), nn.Dense(2, bias=False)], n_features, dtype=dtype,
                      random_state=random_state)


def test_parameter_count_and_names():
    net = make_network()
    assert net.n_params == (5 * 4 + 4) + (4 + 4) + (4 * 3 + 3) + 3 * 2 == 53
    assert net.theta.shape == net.grad.shape == (53,)
    assert list(net.parameters()) == ["0.W", "0.b", "1.gamma", "1.beta", "4.W", "4.b", "6.W"]
    assert list(net.gradients()) == list(net.parameters())
    assert [layer.n_params for layer in net.layers] == [24, 8, 0, 0, 15, 0, 6]
    assert net.n_outputs == 2 and net.layers[4].W.shape == (4, 3)


def test_parameters_are_views_into_theta_in_order():
    net = make_network()
    assert net.theta.ndim == 1 and net.theta.flags.c_contiguous and net.grad.flags.c_contiguous
    params, grads = net.parameters(), net.gradients()
    for key in params:
        assert np.shares_memory(params[key], net.theta) and params[key].base is net.theta
        assert np.shares_memory(grads[key], net.grad) and grads[key].base is net.grad
    np.testing.assert_array_equal(np.concatenate([p.ravel() for p in params.values()]), net.theta)
    dense, bn = net.layers[0], net.layers[1]
    assert dense.W is params["0.W"] and dense.dW is grads["0.W"] and bn.gamma is params["1.gamma"]
    net.theta[:20] = 7.0                                    # writes reach the layer ...
    assert np.all(dense.W == 7.0)
    bn.beta[:] = -1.0                                       # ... and the other way round
    np.testing.assert_array_equal(net.theta[28:32], -1.0)


def test_backward_writes_into_grad_and_overwrites_it():
    net, rng = make_network(), np.random.default_rng(1)
    X, dY = rng.normal(size=(6, 5)), rng.normal(size=(6, 2))
    grad = net.grad
    state = net.state_dict()
    net.forward(X, training=True)
    net.backward(dY)
    first = net.grad.copy()
    assert net.grad is grad and np.any(first != 0)
    for layer_key, view in net.gradients().items():
        assert np.shares_memory(view, grad), layer_key
    net.load_state_dict(state)                              # same dropout mask again
    net.forward(X, training=True)
    net.backward(dY)
    np.testing.assert_array_equal(net.grad, first)          # not 2 × first


def test_an_optimizer_trains_the_network_through_theta():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = np.sin(X @ np.array([1.0, -2.0, 0.5]))[:, None]
    net = nn.Network([nn.Dense(16), nn.Tanh(), nn.Dense(1)], 3, random_state=0)
    loss, opt = losses.get("mse"), optim.Adam(lr=0.02)
    first = loss(y, net.forward(X))
    for _ in range(300):
        _, dY = loss.value_and_grad(y, net.forward(X, training=True))
        net.backward(dY)
        opt.step(net.theta, net.grad)
    assert loss(y, net.forward(X)) < 0.1 * first


# -- dtypes ---------------------------------------------------------------------------------


def test_float32_stays_float32_through_forward_and_backward():
    net32, net64 = make_network("float32"), make_network("float64")
    for net in (net32, net64):          # the masks come from draws in each dtype: align them
        net.layers[3].p = 0.0
    assert net32.theta.dtype == net32.grad.dtype == np.float32
    assert all(v.dtype == np.float32 for v in net32.parameters().values())
    np.testing.assert_allclose(net32.theta, net64.theta, rtol=1e-6)   # the same draws, rounded
    rng = np.random.default_rng(2)
    X, dY = rng.normal(size=(7, 5)), rng.normal(size=(7, 2))
    Y32 = net32.forward(X.astype(np.float32), training=True)
    dX32 = net32.backward(dY.astype(np.float32), return_dX=True)
    assert Y32.dtype == dX32.dtype == net32.grad.dtype == np.float32
    assert net32.layers[1].running_mean.dtype == np.float32
    Y64 = net64.forward(X, training=True)
    dX64 = net64.backward(dY, return_dX=True)
    np.testing.assert_allclose(Y32, Y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dX32, dX64, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(net32.grad, net64.grad, rtol=1e-3, atol=1e-5)
    # Inputs of another dtype are converted on the way in.
    assert net32.forward(X).dtype == np.float32 and net64.forward(X.astype(np.float32)).dtype \
        == np.float64


@pytest.mark.parametrize("dtype", ["float16", "int64", np.complex128, "nonsense", None])
def test_network_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(ParameterError, match="The 'dtype' parameter of Network must be one of "
                                             "'float32', 'float64'"):
        nn.Network([nn.Dense(1)], 2, dtype=dtype)


# -- buffers ---------------------------------------------------------------------------------


def test_buffers_are_reused_per_batch_size():
    net, rng = make_network(), np.random.default_rng(0)
    Y = net.forward(rng.normal(size=(8, 5)), training=True)
    dX = net.backward(np.ones((8, 2)), return_dX=True)
    Y2 = net.forward(rng.normal(size=(8, 5)), training=True)
    assert Y2 is Y
    assert net.backward(np.ones((8, 2)), return_dX=True) is dX
    other = net.forward(rng.normal(size=(3, 5)))
    assert other is not Y and other.shape == (3, 2)
    assert net.forward(rng.normal(size=(8, 5))) is Y       # the size-8 buffers are still kept


def test_a_repeated_training_step_allocates_nothing_of_the_batchs_size():
    rng = np.random.default_rng(0)
    net = nn.Network([nn.Dense(64), nn.BatchNorm(), nn.ReLU(), nn.Dropout(0.2), nn.Dense(64),
                      nn.ELU(), nn.Dense(10)], 32, random_state=0)
    X, y = rng.normal(size=(2048, 32)), rng.integers(0, 10, size=2048)
    loss, dY = losses.get("categorical_crossentropy"), np.empty((2048, 10))

    def step():
        loss.value_and_grad(y, net.forward(X, training=True), out=dY)
        net.backward(dY)

    one_buffer = 2048 * 64 * 8
    tracemalloc.start()
    step()
    first = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    step()
    again = tracemalloc.get_traced_memory()[1] - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert first > 5 * one_buffer
    # NumPy's fixed-size iterator buffer (8192 entries) and arrays of n_samples entries
    # in the cross-entropy may appear; no (n_samples, width) array does.
    assert again < one_buffer / 4


# -- BatchNorm --------------------------------------------------------------------------------


def test_batchnorm_training_uses_batch_statistics_and_updates_running_ones():
    rng = np.random.default_rng(0)
    net = nn.Network([nn.BatchNorm(momentum=0.2, eps=1e-3)], 3)
    bn = net.layers[0]
    bn.gamma[:], bn.beta[:] = [1.0, 2.0, 0.5], [0.0, -1.0, 3.0]
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(4):
        X = rng.normal(loc=[1, -2, 5], scale=[1, 3, 0.5], size=(10, 3))
        Y = net.forward(X, training=True)
        expected = (X - X.mean(0)) / np.sqrt(X.var(0) + 1e-3) * bn.gamma + bn.beta
        np.testing.assert_allclose(Y, expected, rtol=1e-12)
        mean = 0.8 * mean + 0.2 * X.mean(0)
        var = 0.8 * var + 0.2 * X.var(0, ddof=1)             # unbiased, as torch
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)


def test_batchnorm_inference_uses_running_statistics_and_leaves_them_alone():
    rng = np.random.default_rng(1)
    net = nn.Network([nn.BatchNorm()], 2)
    bn = net.layers[0]
    for _ in range(3):
        net.forward(rng.normal(size=(16, 2)), training=True)
    before = bn.state_dict()
    X = rng.normal(size=(5, 2))
    Y = net.forward(X, training=False)
    expected = (X - before["running_mean"]) / np.sqrt(before["running_var"] + 1e-5)
    np.testing.assert_allclose(Y, expected * bn.gamma + bn.beta, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, before["running_mean"])
    np.testing.assert_array_equal(bn.running_var, before["running_var"])
    # One sample is fine in inference and refused in training (its variance is undefined).
    net.forward(X[:1])
    with pytest.raises(ParameterError, match="BatchNorm needs at least 2 samples per batch"):
        net.forward(X[:1], training=True)


def test_network_state_round_trips_running_statistics_and_dropout_generators():
    rng = np.random.default_rng(0)
    net = make_network(random_state=1)
    for _ in range(3):
        net.forward(rng.normal(size=(6, 5)), training=True)
    state = net.state_dict()
    assert set(state) == {"theta", "1.running_mean", "1.running_var", "3.rng"}
    assert all(isinstance(v, np.ndarray) for v in state.values())
    X = rng.normal(size=(6, 5))
    expected_inference = net.forward(X).copy()
    expected_training = net.forward(X, training=True).copy()

    other = make_network(random_state=2)
    theta = other.theta
    other.load_state_dict(state)
    assert other.theta is theta and np.shares_memory(other.layers[0].W, theta)
    np.testing.assert_array_equal(other.forward(X), expected_inference)
    np.testing.assert_array_equal(other.forward(X, training=True), expected_training)


def test_network_state_of_another_architecture_is_refused():
    net = make_network()
    state = net.state_dict()
    with pytest.raises(StateError, match="another architecture"):
        nn.Network([nn.Dense(2)], 5).load_state_dict(state)
    bad = dict(state, theta=np.zeros(3))
    with pytest.raises(StateError, match="has shape"):
        net.load_state_dict(bad)
    bad = dict(state, **{"1.running_mean": np.zeros(7)})
    with pytest.raises(StateError, match="'running_mean'"):
        net.load_state_dict(bad)
    np.testing.assert_array_equal(net.layers[1].running_mean, state["1.running_mean"])


# -- Dropout ------------------------------------------------------------------------------------


def test_dropout_is_inverted_and_the_identity_in_inference():
    net = nn.Network([nn.Dropout(0.3, random_state=0)], 100)
    X = np.ones((200, 100))
    assert net.forward(X) is X                              # no copy in inference
    dY = np.ones_like(X)
    assert net.backward(dY, return_dX=True) is dY
    Y = net.forward(X, training=True)
    assert np.mean(Y == 0) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(Y[Y != 0], 1 / 0.7)
    assert np.mean(Y) == pytest.approx(1.0, abs=0.02)     # expectation kept
    np.testing.assert_array_equal(net.backward(2 * dY, return_dX=True), 2 * Y)


def test_dropout_masks_are_reproducible_and_fresh_each_step():
    X = np.ones((50, 10))
    a = nn.Network([nn.Dropout(0.5, random_state=7)], 10)
    b = nn.Network([nn.Dropout(0.5, random_state=7)], 10)
    first = a.forward(X, training=True).copy()
    np.testing.assert_array_equal(b.forward(X, training=True), first)
    assert np.any(a.forward(X, training=True) != first)
    # Without its own seed, a Dropout layer's generator comes from the network's.
    c = nn.Network([nn.Dense(10), nn.Dropout(0.5)], 10, random_state=3)
    d = nn.Network([nn.Dense(10), nn.Dropout(0.5)], 10, random_state=3)
    np.testing.assert_array_equal(c.forward(X, training=True), d.forward(X, training=True))


@pytest.mark.parametrize(("p", "expected"), [(0.0, 1.0), (1.0, 0.0)])
def test_dropout_extremes(p, expected):
    net = nn.Network([nn.Dropout(p)], 4)
    np.testing.assert_array_equal(net.forward(np.ones((3, 4)), training=True), expected)


# -- initialisers ------------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 300
INITIALISERS = [
    # name, kwargs, "uniform" (bound) or "normal" (std)
    ("glorot_uniform", {}, "uniform", np.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("glorot_uniform", {"gain": 5 / 3}, "uniform", 5 / 3 * np.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("glorot_normal", {}, "normal", np.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("he_uniform", {}, "uniform", np.sqrt(6 / FAN_IN)),
    ("he_uniform", {"mode": "fan_out"}, "uniform", np.sqrt(6 / FAN_OUT)),
    ("he_normal", {}, "normal", np.sqrt(2 / FAN_IN)),
    ("he_normal", {"negative_slope": 0.5}, "normal", np.sqrt(2 / 1.25 / FAN_IN)),
    ("lecun_uniform", {}, "uniform", np.sqrt(3 / FAN_IN)),
    ("lecun_normal", {}, "normal", np.sqrt(1 / FAN_IN)),
]


@pytest.mark.parametrize(("name", "kwargs", "kind", "scale"), INITIALISERS,
                         ids=[f"{n}{k or ''}" for n, k, _, _ in INITIALISERS])
def test_initialiser_draws_follow_their_formula(name, kwargs, kind, scale):
    W = np.empty((FAN_IN, FAN_OUT))
    assert init.get(name)(W, np.random.default_rng(0), **kwargs) is W
    assert abs(W.mean()) < 0.01 * scale
    if kind == "uniform":
        assert np.abs(W).max() <= scale and np.abs(W).max() > 0.999 * scale
        assert W.std() == pytest.approx(scale / np.sqrt(3), rel=0.01)
    else:
        assert W.std() == pytest.approx(scale, rel=0.01)
        assert np.mean(np.abs(W) < scale) == pytest.approx(0.6827, abs=0.01)


@pytest.mark.parametrize("name", [n for n in init.names() if n not in ("zeros", "ones")])
def test_initialisers_are_reproducible_and_dtype_preserving(name):
    fill = init.get(name)
    a, b, c = (np.empty((30, 20)) for _ in range(3))
    fill(a, np.random.default_rng(5))
    fill(b, np.random.default_rng(5))
    fill(c, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)
    single = fill(np.empty((30, 20), np.float32), 5)        # a seed works as well
    assert single.dtype == np.float32
    np.testing.assert_array_equal(single, a.astype(np.float32))


def test_initialiser_names_and_aliases():
    assert init.get("xavier_uniform") is init.glorot_uniform
    assert init.get("kaiming_normal") is init.he_normal
    assert init.get(init.lecun_normal) is init.lecun_normal
    np.testing.assert_array_equal(init.zeros(np.ones(3)), 0)
    np.testing.assert_array_equal(init.ones(np.zeros(3)), 1)
    with pytest.raises(ParameterError, match="Did you mean 'he_uniform'"):
        init.get("he_unifrom")
    with pytest.raises(ParameterError, match=r"2-D weight array of shape \(fan_in, fan_out\)"):
        init.glorot_uniform(np.empty(4), 0)
    assert init.fans((7, 3)) == (7, 3)


def test_calculate_gain_is_torchs():
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(np.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))
    assert init.calculate_gain("sigmoid") == 1.0
    with pytest.raises(ParameterError, match="'nonlinearity' parameter of calculate_gain"):
        init.calculate_gain("softmax")


def test_dense_initialises_its_views_with_its_initialisers():
    net = nn.Network([nn.Dense(500, weight_init="he_normal", bias_init="ones")], 800,
                     random_state=0)
    dense = net.layers[0]
    assert dense.W.std() == pytest.approx(np.sqrt(2 / 800), rel=0.01)
    np.testing.assert_array_equal(dense.b, 1.0)
    again = nn.Network([nn.Dense(500, weight_init="he_normal", bias_init="ones")], 800,
                       random_state=0)
    np.testing.assert_array_equal(again.theta, net.theta)

    def constant(array, rng):
        array[...] = 0.25
        return array

    net = nn.Network([nn.Dense(2, weight_init=constant)], 3)
    np.testing.assert_array_equal(net.layers[0].W, 0.25)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "message"), [
    (lambda: nn.Dense(0), "The 'units' parameter of Dense must be an int in the range [1, inf). "
                          "Got 0 instead."),
    (lambda: nn.Dense(2.5), "The 'units' parameter of Dense must be an int in the range [1, inf). "
                            "Got 2.5 of type float instead."),
    (lambda: nn.Dense(3, weight_init="glorot"), "Unknown initialiser 'glorot'. Valid names are: "),
    (lambda: nn.LeakyReLU("a"), "The 'negative_slope' parameter of LeakyReLU must be a float"),
    (lambda: nn.ELU(None), "The 'alpha' parameter of ELU must be a float"),
    (lambda: nn.Dropout(1.5), "The 'p' parameter of Dropout must be a float in the range "
                              "[0.0, 1.0]. Got 1.5 instead."),
    (lambda: nn.Dropout(0.1, random_state=-1), "The 'random_state' parameter of Dropout"),
    (lambda: nn.BatchNorm(momentum=2.0), "The 'momentum' parameter of BatchNorm must be a float "
                                         "in the range [0.0, 1.0]. Got 2.0 instead."),
    (lambda: nn.BatchNorm(eps=0.0), "The 'eps' parameter of BatchNorm must be a float in the "
                                    "range (0.0, inf). Got 0.0 instead."),
])
def test_bad_layer_arguments_are_reported_in_one_sentence(make, message):
    with pytest.raises(ParameterError) as error:
        make()
    assert str(error.value).startswith(message)


def test_wrong_input_width_is_reported_plainly():
    net = nn.Network([nn.Dense(3)], 64)
    with pytest.raises(ParameterError) as error:
        net.forward(np.zeros((5, 10)))
    assert str(error.value) == "Network expects 64 input features, got 10."
    with pytest.raises(ParameterError, match=r"X of shape \(n_samples, 64\).*X.reshape\(1, -1\)"):
        net.forward(np.zeros(64))
    with pytest.raises(ParameterError, match="at least one sample"):
        net.forward(np.zeros((0, 64)))
    with pytest.raises(ParameterError, match="numeric input"):
        net.forward(np.full((2, 64), "a"))


def test_bad_network_arguments_are_refused():
    with pytest.raises(ParameterError, match="non-empty list of layers"):
        nn.Network([], 3)
    with pytest.raises(ParameterError, match="non-empty list of layers"):
        nn.Network(nn.Dense(2), 3)
    with pytest.raises(ParameterError, match="entry at position 1 is 'relu'"):
        nn.Network([nn.Dense(2), "relu"], 3)
    with pytest.raises(ParameterError, match="The 'n_features' parameter of Network"):
        nn.Network([nn.Dense(2)], 0)
    with pytest.raises(ParameterError, match="The 'random_state' parameter of Network"):
        nn.Network([nn.Dense(2)], 3, random_state=-1)


def test_a_layer_belongs_to_one_network():
    dense = nn.Dense(2)
    with pytest.raises(ParameterError, match="Dense at position 1 of 'layers' already belongs"):
        nn.Network([dense, dense], 3)
    nn.Network([dense], 3)
    with pytest.raises(ParameterError, match="already belongs to a network"):
        nn.Network([dense], 3)
    # A network that fails to build leaves its layers free.
    relu = nn.ReLU()
    with pytest.raises(ParameterError, match="2-D weight array"):
        nn.Network([relu, nn.Dense(2, bias_init="glorot_uniform")], 3)
    nn.Network([relu], 3)


def test_backward_checks_its_input():
    net = nn.Network([nn.Dense(2), nn.ReLU(), nn.Dense(1)], 3)
    with pytest.raises(ParameterError, match="call forward first"):
        net.backward(np.zeros((4, 1)))
    net.forward(np.ones((4, 3)), training=True)
    with pytest.raises(ParameterError, match=r"dY of shape \(4, 1\).*got shape \(5, 1\)"):
        net.backward(np.zeros((5, 1)))
    assert net.backward(np.zeros(4)) is None                # (n,) is fine for one output
    assert net.backward(np.zeros((4, 1)), return_dX=True).shape == (4, 3)


def test_repr_reads_like_the_call():
    net = nn.Network([nn.Dense(2, bias=False), nn.LeakyReLU(0.2)], 3, dtype="float32")
    assert repr(net) == (
        "Network([Dense(units=2, bias=False, weight_init='glorot_uniform', bias_init='zeros'), "
        "LeakyReLU(negative_slope=0.2)], n_features=3, dtype='float32', random_state=None)"
    )
