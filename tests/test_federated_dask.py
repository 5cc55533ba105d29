"""The same strategy object with its clients on a 2-process Dask LocalCluster."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402

from steepest import MLPClassifier  # noqa: E402
from steepest.federated import FedAvg, FedProx, partition  # noqa: E402
from steepest.federated.on_dask import DaskClients  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.3)
    return X, y


def model():
    return MLPClassifier((8,), optimizer="sgd", lr=0.05, random_state=1)


@pytest.mark.parametrize("strategy", [FedAvg, FedProx])
def test_dask_run_equals_the_in_process_run_bit_for_bit(client, strategy):
    X, y = data()
    clients = partition(X, y, 12, scheme="dirichlet", alpha=0.5, random_state=0)
    common = {"fraction": 0.5, "local_epochs": 2, "local_batch_size": 6, "random_state": 7}
    pool = DaskClients(clients, client=client)
    on_dask = strategy(model(), **common).fit(pool, 3, validation_data=(X, y))
    in_process = strategy(model(), **common).fit(clients, 3, validation_data=(X, y))
    np.testing.assert_array_equal(on_dask.estimator_._network.theta,
                                  in_process.estimator_._network.theta)
    assert on_dask.history_["clients"] == in_process.history_["clients"]
    assert on_dask.history_["val_score"] == in_process.history_["val_score"]
    assert len(pool.futures) == 12 and all(f.status == "finished" for f in pool.futures)


def test_a_failing_client_on_a_worker_is_dropped(client):
    X, y = data()
    clients = partition(X, y, 4, random_state=0)
    bad = clients[2][0].copy()
    bad[1, 3] = np.inf
    clients[2] = (bad, clients[2][1])
    fed = FedAvg(model(), fraction=1.0, random_state=0).fit(DaskClients(clients, client=client),
                                                            2)
    assert fed.history_["clients"] == [[0, 1, 3]] * 2
    assert fed.history_["dropped"][0][0][0] == 2
    assert fed.history_["dropped"][0][0][1].startswith("ParameterError: X has an infinity")
