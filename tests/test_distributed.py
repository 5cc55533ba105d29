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
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402

from steepest import losses, nn  # noqa: E402
from steepest.distributed import ClusterLostError, DaskData, DaskObjective, is_dask  # noqa: E402
from steepest.distributed.data import balanced_groups, prepare_group  # noqa: E402
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


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_is_named_by_its_row_and_column(client, value):
    from steepest.errors import ParameterError

    X, y = _classification()
    X[1234, 3] = value
    data = DaskData(da.from_array(X, chunks=500), da.from_array(y, chunks=500))
    with pytest.raises(ParameterError, match=f"holds {value} in column 3 at row 1234;"):
        data.summary()


def test_a_dataframe_keeps_its_column_names(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _classification()
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    data = DaskData(dd.from_pandas(frame, npartitions=4),
                    dd.from_pandas(pd.Series(y), npartitions=4))
    assert data.feature_names.tolist() == list(frame.columns)
    np.testing.assert_allclose(data.summary().mean, X.mean(axis=0), rtol=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5).flatmap(lambda w: st.tuples(
    st.just(w), st.lists(st.lists(st.integers(0, w), max_size=2), min_size=1, max_size=12))))
def test_balanced_groups_share_the_partitions_evenly_keeping_them_where_they_are(case):
    n_workers, holders = case
    workers = [f"w{i}" for i in range(n_workers)]
    # worker index n_workers stands for a worker that is gone
    where = [tuple(f"w{i}" for i in held) for held in holders]
    groups = balanced_groups(where, workers)
    assert sorted(k for ks in groups.values() for k in ks) == list(range(len(holders)))
    quota = -(-len(holders) // n_workers)
    assert all(set(groups) <= set(workers) and ks == sorted(ks) and 0 < len(ks) <= quota
               for ks in groups.values())
    for worker, ks in groups.items():  # a partition moved only when its holders were full
        for k in ks:
            if worker not in where[k]:
                assert all(len(groups[h]) == quota for h in where[k] if h in workers)
    if all(len(held) == 1 and held[0] < n_workers for held in holders) and \
            max(np.bincount([h[0] for h in holders])) <= quota:
        assert all(where[k] == (worker,) for worker, ks in groups.items() for k in ks)
    assert balanced_groups(where, []) == {None: list(range(len(holders)))}


def test_prepare_group_aligns_an_unaligned_partition_and_copies_nothing_else():
    values = np.arange(60, dtype=np.float64).reshape(20, 3)
    raw = np.zeros(values.nbytes + 1, dtype=np.uint8)
    unaligned = raw[1:].view(np.float64).reshape(20, 3)  # as received at an odd offset
    unaligned[...] = values
    assert not unaligned.flags.aligned
    target = np.arange(20.0)
    (X, y), (X2, y2) = prepare_group([unaligned, values], [unaligned[:, 0], target])
    assert X.flags.aligned and X.flags.c_contiguous and y.flags.aligned
    np.testing.assert_array_equal(X, values)
    np.testing.assert_array_equal(y, values[:, 0])
    assert X2 is values and y2 is target


def test_the_blocks_are_prepared_once_in_one_group_per_worker_in_partition_order(client):
    from steepest.data import prepare_block

    X, y = _classification(n=2100, classes=3)
    mean, scale, classes = X.mean(axis=0), X.std(axis=0), np.unique(y)
    data = DaskData(da.from_array(X, chunks=300), da.from_array(y, chunks=300))
    blocks = data.blocks(mean, scale, classes)
    assert len(blocks.groups) <= len(client.scheduler_info()["workers"]) < len(data.parts)
    assert sorted(k for ks in blocks.indices for k in ks) == list(range(len(data.parts)))
    # prepare_block without statistics hands a prepared partition back as it is
    prepared = blocks.map(prepare_block)
    for k, (X_k, y_k) in enumerate(prepared):
        want_X, want_y = prepare_block(X[300 * k:300 * (k + 1)], y[300 * k:300 * (k + 1)],
                                       mean, scale, classes)
        np.testing.assert_array_equal(X_k, want_X)
        np.testing.assert_array_equal(y_k, want_y)


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


# -- the estimators on Dask input -------------------------------------------------------------


@pytest.mark.parametrize("classes, method", [(2, "lbfgs"), (3, "lbfgs"), (2, "newton")])
def test_logistic_regression_on_dask_equals_the_in_memory_fit(client, classes, method):
    from steepest import LogisticRegression

    X, y = _classification(n=2400, d=5, classes=classes)
    settings = dict(optimizer=method, alpha=1e-3, scale=True, tol=1e-10, epochs=300)
    local = LogisticRegression(**settings).fit(X, y)
    remote = LogisticRegression(**settings).fit(da.from_array(X, chunks=500),
                                                da.from_array(y, chunks=500))
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=0, atol=1e-8)
    if classes == 2:  # the multinomial intercepts are only fixed up to a common shift
        np.testing.assert_allclose(remote.intercept_, local.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
    assert remote.n_iter_ == local.n_iter_ and "Dask cluster" in remote.fitted_on_


def test_linear_regression_on_a_dask_dataframe_keeps_the_names(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    from steepest import LinearRegression

    X, y = make_regression(n_samples=1500, n_features=4, noise=2.0, random_state=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    local = LinearRegression(optimizer="lbfgs", tol=1e-12).fit(X, y)
    remote = LinearRegression(optimizer="lbfgs", tol=1e-12).fit(
        dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(y), npartitions=3))
    assert remote.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-9)


def test_full_batch_adam_on_dask_equals_the_in_memory_epochs(client):
    from steepest import MLPRegressor

    X, y = make_regression(n_samples=800, n_features=3, noise=1.0, random_state=4)
    settings = dict(hidden_layer_sizes=(8,), optimizer="adam", lr=0.01, batch_size=None,
                    epochs=25, tol=None, scale=True, random_state=0)
    local = MLPRegressor(**settings).fit(X, y / 100)
    remote = MLPRegressor(**settings).fit(da.from_array(X, chunks=200),
                                          da.from_array(y / 100, chunks=200))
    np.testing.assert_allclose(remote._network.theta, local._network.theta, rtol=0,
                               atol=1e-10)
    np.testing.assert_allclose(remote.history_["loss"], local.history_["loss"], rtol=1e-10)


def test_mini_batch_on_dask_is_local_sgd_deterministic_and_learns(client):
    from steepest import LogisticRegression

    X, y = _classification(n=3000, d=5)
    Xd, yd = da.from_array(X, chunks=750), da.from_array(y, chunks=750)
    settings = dict(optimizer="sgd", lr=0.1, batch_size=32, epochs=3, tol=None, scale=True,
                    random_state=0)
    first = LogisticRegression(**settings).fit(Xd, yd, sync_every=8)
    second = LogisticRegression(**settings).fit(Xd, yd, sync_every=8)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    local = LogisticRegression(**settings).fit(X, y)
    assert first.score(X, y) > local.score(X, y) - 0.02
    # 4 partitions of 750 rows: 24 batches an epoch each, averaged every 8 steps
    assert first.history_["updates"] == [24, 48, 72]


def test_unsupported_options_on_dask_are_refused_in_one_sentence(client):
    from steepest import LogisticRegression
    from steepest.errors import ParameterError

    X, y = _classification(n=300)
    with pytest.raises(ParameterError, match="does not support early_stopping yet"):
        LogisticRegression(early_stopping=True).fit(da.from_array(X), da.from_array(y))
