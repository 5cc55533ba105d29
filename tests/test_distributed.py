"""The Dask engine on a real LocalCluster with worker processes, on 127.0.0.1 only."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402

from steepest import losses, nn  # noqa: E402
from steepest.distributed import ClusterLostError, DaskData, DaskObjective, is_dask  # noqa: E402
from steepest.optim.lbfgs import lbfgs  # noqa: E402
from steepest.train import Penalty  # noqa: E402


def _cluster(n_workers: int) -> LocalCluster:
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0")


@pytest.fixture(scope="module")
def client():
    with _cluster(2) as cluster, Client(cluster) as client:
        yield client


def _classification(n=2400, d=5, classes=2, seed=0):
    X, y = make_classification(n_samples=n, n_features=d, n_informative=d - 1, n_redundant=0,
                               n_classes=classes, random_state=seed)
    return X * np.arange(1, d + 1) + 3.0, y


def _in_memory(network, loss, penalty, X, y):
    def objective(theta):
        network.theta[...] = theta
        value, dY = loss.value_and_grad(y, network.forward(X, training=True))
        network.backward(dY)
        penalty.add_gradient()
        return value + penalty.value(), network.grad.copy()
    return objective


def _standardise(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def test_is_dask_does_not_need_dask_for_other_inputs():
    assert is_dask(da.zeros(3)) and not is_dask(np.zeros(3)) and not is_dask([1.0])


def test_without_a_client_the_local_scheduler_runs_the_same_objective():
    X, y, network, loss, penalty = _logistic_problem()
    data = DaskData(da.from_array(X, chunks=500), da.from_array(y, chunks=500))
    if data.client is not None:  # runs before this module's cluster starts
        pytest.skip("a default client is registered in this process")
    objective = DaskObjective(data, network, loss, penalty=penalty, classes=np.unique(y))
    theta = np.linspace(-1, 1, network.n_params)
    value, grad = objective(theta)
    want_value, want_grad = _in_memory(network, loss, penalty, X, y.astype(float))(theta)
    assert value == pytest.approx(want_value, rel=1e-13)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-11)


def test_the_summary_equals_the_in_memory_statistics(client):
    X, y = _classification(classes=3)
    data = DaskData(da.from_array(X, chunks=(350, 2)), da.from_array(y, chunks=500))
    summary = data.summary()
    assert summary.n_rows == len(X) and sum(summary.sizes) == len(X) and len(data.parts) == 7
    np.testing.assert_allclose(summary.mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(summary.std, X.std(axis=0), rtol=1e-13)
    assert summary.labels.tolist() == [0, 1, 2]


def test_a_dataframe_keeps_its_column_names(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _classification()
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    data = DaskData(dd.from_pandas(frame, npartitions=4),
                    dd.from_pandas(pd.Series(y), npartitions=4))
    assert data.feature_names.tolist() == list(frame.columns)
    np.testing.assert_allclose(data.summary().mean, X.mean(axis=0), rtol=1e-14)


@pytest.mark.parametrize("case", ["binary", "multinomial", "regression", "mlp"])
def test_one_evaluation_equals_the_in_memory_objective(client, case):
    if case == "regression":
        X, y = make_regression(n_samples=1800, n_features=4, noise=1.0, random_state=1)
        classes, loss, outputs = None, losses.get("mse"), 1
    else:
        X, y = _classification(classes=3 if case == "multinomial" else 2)
        classes = np.unique(y)
        loss = losses.get("categorical_crossentropy" if classes.size > 2
                          else "binary_crossentropy")
        outputs = 1 if classes.size == 2 else classes.size
    layers = ([nn.Dense(8), nn.Tanh(), nn.Dense(outputs)] if case == "mlp"
              else [nn.Dense(outputs)])
    network = nn.Network(layers, X.shape[1], random_state=0)
    penalty = Penalty(network, 1e-2, "l2", 0.15)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    data = DaskData(da.from_array(X, chunks=400), da.from_array(y, chunks=400))
    objective = DaskObjective(data, network, loss, penalty=penalty, mean=mean, scale=scale,
                              classes=classes)
    y_local = np.searchsorted(classes, y).astype(np.float64 if outputs == 1 else np.intp) \
        if classes is not None else y
    expected = _in_memory(network, loss, penalty, _standardise(X), y_local)
    theta = np.random.default_rng(2).normal(size=network.n_params)
    value, grad = objective(theta)
    want_value, want_grad = expected(theta)
    assert value == pytest.approx(want_value, rel=1e-13)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-11, atol=1e-14)
    assert objective.round_trips == 1


def _logistic_problem(client_data_chunks=300):
    X, y = _classification(n=3000, d=6)
    network = nn.Network([nn.Dense(1, weight_init="zeros", bias_init="zeros")], X.shape[1])
    loss = losses.get("binary_crossentropy")
    penalty = Penalty(network, 1e-3, "l2", 0.15)
    return X, y, network, loss, penalty


def test_lbfgs_on_the_cluster_equals_the_in_memory_fit_with_one_round_trip_each(client):
    X, y, network, loss, penalty = _logistic_problem()
    data = DaskData(da.from_array(X, chunks=300), da.from_array(y, chunks=300))
    objective = DaskObjective(data, network, loss, penalty=penalty, mean=X.mean(axis=0),
                              scale=X.std(axis=0), classes=np.unique(y))
    start = np.zeros(network.n_params)
    remote = lbfgs(objective, start, tol=1e-10, max_iter=200)
    local = lbfgs(_in_memory(network, loss, penalty, _standardise(X), y.astype(float)), start,
                  tol=1e-10, max_iter=200)
    assert remote.success and local.success
    np.testing.assert_allclose(remote.x, local.x, rtol=0, atol=1e-8)
    assert objective.round_trips == remote.nfev


def test_a_worker_killed_mid_fit_changes_nothing_but_the_time():
    X, y, network, loss, penalty = _logistic_problem()
    with _cluster(2) as cluster, Client(cluster) as client:
        def fit(kill_at=None):
            data = DaskData(da.from_array(X, chunks=300), da.from_array(y, chunks=300))
            objective = DaskObjective(data, network, loss, penalty=penalty,
                                      mean=X.mean(axis=0), scale=X.std(axis=0),
                                      classes=np.unique(y))
            killed, iterations = [], []

            def callback(x):
                iterations.append(1)
                if len(iterations) == kill_at:
                    pid = next(iter(client.run(os.getpid).values()))
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            result = lbfgs(objective, np.zeros(network.n_params), tol=1e-10, max_iter=200,
                           callback=callback)
            return result, killed

        undisturbed, _ = fit()
        disturbed, killed = fit(kill_at=3)
        assert killed, "the fit ended before the kill"
        deadline = time.monotonic() + 60
        while killed[0] in client.run(os.getpid).values() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert killed[0] not in client.run(os.getpid).values()
    np.testing.assert_allclose(disturbed.x, undisturbed.x, rtol=0, atol=1e-10)
    assert disturbed.nit == undisturbed.nit


def test_a_cluster_without_workers_gives_a_clear_error_in_bounded_time():
    X, y, network, loss, penalty = _logistic_problem()
    with _cluster(1) as cluster, Client(cluster) as client:
        data = DaskData(da.from_array(X, chunks=1000), da.from_array(y, chunks=1000))
        objective = DaskObjective(data, network, loss, penalty=penalty, classes=np.unique(y),
                                  lost_timeout=1.0)
        objective(np.zeros(network.n_params))
        cluster.scale(0)
        deadline = time.monotonic() + 30
        while client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.1)
        began = time.monotonic()
        with pytest.raises(ClusterLostError, match="has had no worker for 1 s"):
            objective(np.ones(network.n_params))
        assert time.monotonic() - began < 20


def test_newton_on_the_cluster_equals_the_in_memory_newton(client):
    from steepest.optim.newton import newton

    # binary: the multinomial intercepts can all shift by one constant (a flat direction
    # of the objective, which Newton's shifted Hessian resolves differently on any rounding)
    X, y = _classification(n=2000, d=4)
    network = nn.Network([nn.Dense(1, weight_init="zeros", bias_init="zeros")], X.shape[1])
    loss = losses.get("binary_crossentropy")
    penalty = Penalty(network, 1e-2, "l2", 0.15)
    data = DaskData(da.from_array(X, chunks=400), da.from_array(y, chunks=400))
    objective = DaskObjective(data, network, loss, penalty=penalty, mean=X.mean(axis=0),
                              scale=X.std(axis=0), classes=np.unique(y))
    start = np.zeros(network.n_params)
    remote = newton(objective, objective.hessian, start, tol=1e-10)
    local = newton(_in_memory(network, loss, penalty, _standardise(X), y.astype(float)), None,
                   start,
                   tol=1e-10)
    assert remote.success and local.success
    np.testing.assert_allclose(remote.x, local.x, rtol=0, atol=1e-8)
    # one round trip per evaluation and one per Hessian: never 2d of them per iteration
    assert objective.round_trips == remote.nfev + remote.nit
