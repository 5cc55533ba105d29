"""FedAvg, FedProx and FedOpt in one process: the average, the proximal term, the
equivalences (FedProx(μ=0) ≡ FedAvg, FedOpt(SGD(1)) ≡ FedAvg, FedSGD ≡ full-batch GD),
the server Adam against torch's stored steps, and clients that fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import steepest
from steepest import LinearRegression, MLPClassifier, MLPRegressor, nn, optim
from steepest.errors import ParameterError
from steepest.federated import (
    FedAdagrad,
    FedAdam,
    FedAvg,
    FedOpt,
    FedProx,
    FedYogi,
    LocalTraining,
    LocalUpdate,
    ProximalTerm,
    partition,
    weighted_mean,
)
from steepest.federated.client import client_generator, model_state
from tests.gradcheck import numerical_grad

REFERENCE = Path(__file__).parent / "data" / "federated_adam_reference.npz"


def blobs(n=240, n_features=5, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(n_classes, n_features))
    y = rng.integers(n_classes, size=n)
    return centers[y] + rng.normal(size=(n, n_features)), y


def small_mlp(**kwargs):
    settings_ = {"optimizer": "sgd", "lr": 0.05, "random_state": 0, "alpha": 1e-4}
    return MLPClassifier((8,), **{**settings_, **kwargs})


# -- the pieces ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 20), st.data())
def test_weighted_mean_is_the_size_weighted_average(n_arrays, size, data):
    arrays = [data.draw(hnp.arrays(np.float64, size, elements=st.floats(-1e3, 1e3)))
              for _ in range(n_arrays)]
    weights = data.draw(st.lists(st.integers(1, 1000), min_size=n_arrays, max_size=n_arrays))
    expected = np.average(np.stack(arrays), axis=0, weights=weights)
    np.testing.assert_allclose(weighted_mean(arrays, weights), expected, rtol=1e-12,
                               atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.floats(0.0, 10.0), st.integers(0, 2**31))
def test_proximal_term_gradient_matches_finite_differences(width, mu, seed):
    network = nn.Network([nn.Dense(width), nn.Tanh(), nn.Dense(2)], 3, random_state=seed)
    anchor = np.random.default_rng(seed).normal(size=network.n_params)
    term = ProximalTerm(network, mu, anchor)
    network.grad[...] = 0.0
    term.add_gradient()
    np.testing.assert_allclose(network.grad, numerical_grad(term.value, network.theta),
                               rtol=1e-6, atol=1e-8)
    difference = network.theta - anchor
    assert term.value() == pytest.approx(0.5 * mu * difference @ difference, rel=1e-12)


def test_local_training_is_the_step_loop_from_the_global_theta():
    """One local epoch of full-batch SGD from θ_g is θ_g − lr ∇F_k(θ_g)."""
    X, y = blobs(40)
    model = small_mlp(alpha=0.0)
    model._prepare(X, y)
    training = LocalTraining(model, local_epochs=1, local_batch_size=None)
    Xk, yk = training.prepare(X, y)
    theta = model._network.theta.copy()
    update = training.run(theta, Xk, yk, client_generator(0, 0, 0))
    reference = small_mlp(alpha=0.0, batch_size=None, epochs=1, tol=None).fit(X, y)
    np.testing.assert_allclose(update.theta, reference._network.theta, rtol=1e-13, atol=1e-15)
    assert update.n_samples == 40 and update.updates == 1
    np.testing.assert_array_equal(theta, model._network.theta)  # the anchor is untouched


# -- the strategies --------------------------------------------------------------------


def test_fedsgd_with_every_client_is_full_batch_gradient_descent():
    X, y = blobs(150)
    clients = partition(X, y, 5, scheme="dirichlet", alpha=0.5, random_state=1)
    assert len({len(c[1]) for c in clients}) > 1  # unequal sizes
    fed = FedAvg(small_mlp(), fraction=1.0, local_epochs=1, local_batch_size=None,
                 random_state=0).fit(clients, rounds=3)
    reference = small_mlp(batch_size=None, epochs=3, tol=None).fit(X, y)
    np.testing.assert_allclose(fed.estimator_._network.theta, reference._network.theta,
                               rtol=1e-11, atol=1e-13)


def test_fedavg_round_is_the_weighted_mean_of_the_sampled_clients_updates():
    X, y = blobs(200)
    clients = partition(X, y, 10, scheme="shards", random_state=0)
    fed = FedAvg(small_mlp(), fraction=0.3, local_epochs=2, local_batch_size=7,
                 random_state=5).fit(clients, rounds=1)
    chosen = fed.history_["clients"][0]
    assert len(chosen) == 3 and chosen == sorted(set(chosen))
    start = small_mlp()
    start._prepare(*clients[0], classes=np.unique(y))
    training = LocalTraining(start, 2, 7)
    theta0 = start._network.theta.copy()
    updates = [training.run(theta0, *training.prepare(*clients[k]), client_generator(5, k, 0))
               for k in chosen]
    expected = weighted_mean([u.theta for u in updates], [u.n_samples for u in updates])
    np.testing.assert_array_equal(fed.estimator_._network.theta, expected)
    assert fed.history_["bytes"] == [2 * 3 * theta0.nbytes]


def test_sampling_is_reproducible_and_takes_at_least_one_client():
    X, y = blobs(120)
    clients = partition(X, y, 12, random_state=0)
    runs = [FedAvg(small_mlp(), fraction=0.01, random_state=3).fit(clients, 4) for _ in "ab"]
    assert [len(c) for c in runs[0].history_["clients"]] == [1, 1, 1, 1]
    assert runs[0].history_["clients"] == runs[1].history_["clients"]
    np.testing.assert_array_equal(runs[0].estimator_._network.theta,
                                  runs[1].estimator_._network.theta)


def test_fedprox_with_mu_zero_is_fedavg_bit_for_bit():
    X, y = blobs(200)
    clients = partition(X, y, 8, scheme="dirichlet", alpha=0.3, random_state=2)
    common = {"fraction": 0.5, "local_epochs": 3, "local_batch_size": 5, "random_state": 4}
    avg = FedAvg(small_mlp(), **common).fit(clients, 4)
    prox = FedProx(small_mlp(), mu=0.0, **common).fit(clients, 4)
    np.testing.assert_array_equal(avg.estimator_._network.theta, prox.estimator_._network.theta)
    assert avg.history_["loss"] == prox.history_["loss"]
    pulled = FedProx(small_mlp(), mu=1.0, **common).fit(clients, 4)
    assert not np.array_equal(pulled.estimator_._network.theta, avg.estimator_._network.theta)


def test_fedprox_keeps_a_client_near_the_global_model():
    """A client's distance from θ_g after local training falls as μ grows."""
    X, y = blobs(60)
    model = small_mlp(lr=0.1)
    model._prepare(X, y)
    training = LocalTraining(model, local_epochs=5, local_batch_size=5)
    data, theta = training.prepare(X, y), model._network.theta.copy()
    distances = [np.linalg.norm(training.run(theta, *data, client_generator(0, 0, 0),
                                             mu=mu).theta - theta) for mu in (0.0, 1.0, 5.0)]
    assert distances[0] > distances[1] > distances[2]


def test_fedopt_with_sgd_of_rate_one_is_fedavg():
    X, y = blobs(200)
    clients = partition(X, y, 8, random_state=0)
    common = {"fraction": 0.5, "local_epochs": 2, "local_batch_size": 10, "random_state": 1}
    avg = FedAvg(small_mlp(), **common).fit(clients, 5)
    opt = FedOpt(small_mlp(), optim.SGD(lr=1.0), **common).fit(clients, 5)
    np.testing.assert_allclose(opt.estimator_._network.theta, avg.estimator_._network.theta,
                               rtol=1e-12, atol=1e-14)
    assert opt.history_["clients"] == avg.history_["clients"]


class ScriptedClients:
    """Clients that answer θ_k = θ + s_k (a_k − θ) without training (for the server rule)."""

    def __init__(self, targets, shares, sizes):
        self.targets, self.shares, self.sizes = targets, shares, [int(n) for n in sizes]

    def labels(self):
        return np.array([0.0])

    def template(self):
        return np.zeros((2, self.targets.shape[1] - 1)), np.zeros(2)

    def start(self, training):
        pass

    def train(self, theta, state, selected, round_, seed, mu, epochs):
        return {k: LocalUpdate(theta + self.shares[k] * (self.targets[k] - theta), {},
                               self.sizes[k], 0.0, 1) for k in selected}, {}


def test_server_adam_matches_torch_on_the_same_pseudo_gradients():
    reference = np.load(REFERENCE)
    pool = ScriptedClients(reference["targets"], reference["shares"], reference["sizes"])
    thetas = []
    for rounds in range(1, len(reference["thetas"]) + 1):
        fed = FedAdam(LinearRegression(), fraction=1.0, random_state=0).fit(pool, rounds)
        thetas.append(fed.estimator_._network.theta.copy())
    np.testing.assert_allclose(np.stack(thetas), reference["thetas"], rtol=1e-12, atol=1e-14)


def test_server_rules_have_the_papers_settings():
    adam = FedAdam(LinearRegression())
    adam._start_server(10, 1)
    assert repr(adam.server_optimizer_) == "Adam(lr=0.1, betas=(0.9, 0.99), eps=0.001)"
    yogi = FedYogi(LinearRegression())
    yogi._start_server(10, 1)
    assert repr(yogi.server_optimizer_) == "Yogi(betas=(0.9, 0.99))"
    adagrad = FedAdagrad(LinearRegression())
    adagrad._start_server(10, 1)
    assert repr(adagrad.server_optimizer_) == "Adagrad(lr=0.1, eps=1e-09)"


def test_fedyogi_and_fedadagrad_train():
    X, y = blobs(200)
    clients = partition(X, y, 8, random_state=0)
    for strategy in (FedYogi, FedAdagrad):
        fed = strategy(small_mlp(), fraction=0.5, local_epochs=2, random_state=0).fit(
            clients, 6, validation_data=(X, y))
        assert fed.history_["val_score"][-1] > fed.history_["val_score"][0]


# -- failing clients -------------------------------------------------------------------


def test_a_client_that_raises_is_dropped_and_training_goes_on():
    X, y = blobs(160)
    good = partition(X, y, 4, random_state=0)
    bad_X = good[3][0].copy()
    bad_X[0, 0] = np.nan
    with_bad = good[:3] + [(bad_X, good[3][1]), (X[:10, :2], y[:10])]
    common = {"fraction": 1.0, "local_epochs": 1, "local_batch_size": 8, "random_state": 0}
    fed = FedAvg(small_mlp(), **common).fit(with_bad, 3)
    expected = FedAvg(small_mlp(), **common).fit(good[:3], 3)
    assert fed.history_["clients"] == [[0, 1, 2]] * 3
    dropped = fed.history_["dropped"][0]
    assert [k for k, _ in dropped] == [3, 4]
    assert "NaN" in dropped[0][1] and "features" in dropped[1][1]
    np.testing.assert_array_equal(fed.estimator_._network.theta,
                                  expected.estimator_._network.theta)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_diverging_client_is_dropped():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    clients = [(X[:20], X[:20].sum(axis=1)), (X[20:], 1e200 * np.ones(20))]
    fed = FedAvg(MLPRegressor((4,), optimizer="sgd", lr=0.01, random_state=0), fraction=1.0,
                 random_state=0).fit(clients, 2)
    assert fed.history_["clients"] == [[0], [0]]
    assert "diverged" in fed.history_["dropped"][0][0][1]


def test_clients_past_the_timeout_are_dropped_and_the_model_stays():
    X, y = blobs(80)
    clients = partition(X, y, 4, random_state=0)
    fed = FedAvg(small_mlp(), fraction=1.0, client_timeout=1e-12, random_state=0).fit(
        clients, 2)
    assert fed.history_["clients"] == [[], []]
    assert all("TimeoutError" in reason for _, reason in fed.history_["dropped"][0])
    assert np.isnan(fed.history_["loss"]).all()
    start = small_mlp()
    start._prepare(*clients[0], classes=np.unique(y))
    np.testing.assert_array_equal(fed.estimator_._network.theta, start._network.theta)


# -- the fitted model ------------------------------------------------------------------


def test_the_global_model_is_an_ordinary_fitted_estimator(tmp_path):
    X, y = blobs(200)
    clients = partition(X, y, 10, scheme="shards", random_state=0)
    fed = FedProx(small_mlp(), mu=0.1, fraction=0.5, local_epochs=2,
                  random_state=0).fit(clients, 5, validation_data=(X, y))
    history = fed.history_
    assert set(history) == {"round", "clients", "dropped", "loss", "val_loss", "val_score",
                            "bytes", "time"}
    assert history["round"] == [1, 2, 3, 4, 5] and all(len(v) == 5 for v in history.values())
    assert history["val_score"][-1] == pytest.approx(fed.score(X, y))
    assert fed.score(X, y) > 0.8
    np.testing.assert_array_equal(fed.predict(X), fed.estimator_.predict(X))
    path = fed.estimator_.save(tmp_path / "global.safetensors")
    np.testing.assert_array_equal(steepest.load(path).predict(X), fed.predict(X))


def test_batch_norm_running_statistics_are_averaged_like_theta():
    X, y = blobs(120)
    clients = partition(X, y, 3, random_state=0)
    fed = FedAvg(small_mlp(batch_norm=True), fraction=1.0, local_batch_size=10,
                 random_state=0).fit(clients, 1)
    start = small_mlp(batch_norm=True)
    start._prepare(*clients[0], classes=np.unique(y))
    training = LocalTraining(start, 1, 10)
    theta0, state0 = start._network.theta.copy(), model_state(start._network)
    assert set(state0) == {"1.running_mean", "1.running_var"}
    updates = [training.run(theta0, *training.prepare(*clients[k]), client_generator(0, k, 0),
                            state=state0) for k in range(3)]
    running = weighted_mean([u.state["1.running_mean"] for u in updates],
                            [u.n_samples for u in updates])
    np.testing.assert_array_equal(fed.estimator_._network.layers[1].running_mean, running)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: FedAvg(small_mlp(), fraction=0.0), "'fraction' parameter of FedAvg"),
    (lambda: FedAvg(small_mlp(), local_epochs=0), "'local_epochs'"),
    (lambda: FedProx(small_mlp(), mu=-1.0), "'mu' parameter of FedProx"),
    (lambda: FedAvg(small_mlp(scale=True)), "scale=True"),
    (lambda: FedAvg(small_mlp(dropout=0.2)), "dropout"),
    (lambda: FedAvg(LinearRegression(optimizer="lbfgs")), "first-order optimizer"),
    (lambda: FedOpt(small_mlp(), server_optimizer="adam"), "'server_optimizer'"),
])
def test_bad_settings_are_refused_in_one_sentence(make, message):
    X, y = blobs(40)
    with pytest.raises(ParameterError, match=message):
        make().fit(partition(X, y, 2, random_state=0), 1)


def test_unfitted_strategy_says_so():
    with pytest.raises(ParameterError, match="not fitted yet"):
        FedAvg(small_mlp()).predict(np.zeros((1, 5)))


def test_local_epochs_per_client():
    """Client k trains local_epochs[k] epochs: one round with all clients equals the
    weighted mean of their own runs of that many epochs."""
    X, y = blobs(120)
    clients = partition(X, y, 3, random_state=0)
    fed = FedProx(small_mlp(), mu=0.1, fraction=1.0, local_epochs=[1, 3, 2],
                  random_state=2).fit(clients, 1)
    start = small_mlp()
    start._prepare(*clients[0], classes=np.unique(y))
    theta0 = start._network.theta.copy()
    updates = [LocalTraining(start, epochs, 10).run(
        theta0, *LocalTraining(start).prepare(*clients[k]), client_generator(2, k, 0), mu=0.1)
        for k, epochs in enumerate([1, 3, 2])]
    assert [u.updates for u in updates] == [4, 12, 8]
    expected = weighted_mean([u.theta for u in updates], [u.n_samples for u in updates])
    np.testing.assert_array_equal(fed.estimator_._network.theta, expected)
    with pytest.raises(ParameterError, match="one int per client"):
        FedAvg(small_mlp(), local_epochs=[1, 2]).fit(clients, 1)
    with pytest.raises(ParameterError, match=r"local_epochs\[1\]"):
        FedAvg(small_mlp(), local_epochs=[1, 0, 2]).fit(clients, 1)
