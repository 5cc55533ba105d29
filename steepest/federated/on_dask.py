"""Clients on Dask workers: each worker holds its clients' data, only θ travels per round.

::

    from distributed import Client
    from steepest.federated import FedAvg, partition
    from steepest.federated.on_dask import DaskClients

    with Client("tcp://scheduler:8786") as dask_client:
        pool = DaskClients(partition(X, y, 100, random_state=0), client=dask_client)
        FedAvg(model, fraction=0.1, random_state=0).fit(pool, rounds=50)

The clients' data are scattered to the workers once (``start`` then checks each
client's data on its worker, once, and keeps the prepared arrays there); each round
sends θ (and BatchNorm's running statistics) to the workers once and one task per
drawn client, and gets back :math:`\\theta_k` and :math:`n_k`. A client's batches are
seeded by the strategy's seed, its index and the round, so the model equals the
in-process run's to the bit. A task that raises is dropped from its round, as is
one still running after ``client_timeout`` seconds (it is cancelled).
"""

from __future__ import annotations

import copy

import numpy as np

from steepest.distributed.data import current_client
from steepest.errors import ParameterError
from steepest.federated.client import LocalTraining, client_generator
from steepest.federated.runners import InProcessClients, failure_reason

__all__ = ["DaskClients"]


def _prepare(training: LocalTraining, data):
    return training.prepare(*data)


def _train(training: LocalTraining, prepared, theta, state, seed, k, round_, mu, epochs):
    """One client's round on its worker, on a private copy of the model (tasks of a
    worker's threads may run at once)."""
    return copy.deepcopy(training).run(theta, *prepared, client_generator(seed, k, round_),
                                       state=state, mu=mu, epochs=epochs)


class DaskClients:
    """The clients' data on the workers of a Dask cluster.

    Parameters
    ----------
    clients : sequence of (X_k, y_k)
        Each client's data, scattered to the workers once here.
    client : distributed.Client, optional
        Default: the current Dask client.
    client_timeout : float or None, default=None
        Seconds a round waits for its tasks; later ones are cancelled and dropped.

    Attributes
    ----------
    sizes : list of int
    futures : list of distributed.Future
        Each client's data on its worker.
    """

    def __init__(self, clients, *, client=None, client_timeout: float | None = None) -> None:
        local = InProcessClients(clients)
        self.client = client if client is not None else current_client()
        if self.client is None:
            raise ParameterError(
                "DaskClients needs a Dask cluster: pass client=distributed.Client(...) or "
                "create one first (or pass the clients' data as a list to run in-process)."
            )
        self.client_timeout = client_timeout
        self.sizes = local.sizes
        self._labels, self._template = local.labels(), local.template()
        self.futures = self.client.scatter([tuple(pair) for pair in local.clients], hash=False)
        self._training = None
        self._prepared: list = []

    def labels(self) -> np.ndarray:
        return self._labels

    def template(self):
        return self._template

    def start(self, training: LocalTraining) -> None:
        client = self.client
        self._training = client.scatter(training, broadcast=True, hash=False)
        self._prepared = [client.submit(_prepare, self._training, data, pure=False)
                          for data in self.futures]

    def train(self, theta, state, selected, round_: int, seed: int, mu, epochs: dict):
        from distributed import wait

        client = self.client
        theta_f = client.scatter(theta, broadcast=True, hash=False)  # once per round
        futures = {k: client.submit(_train, self._training, self._prepared[k], theta_f,
                                    state, seed, k, round_, mu, epochs[k], pure=False)
                   for k in selected}
        try:
            wait(list(futures.values()), timeout=self.client_timeout)
        except TimeoutError:
            pass  # the late tasks are cancelled and dropped below
        updates, dropped = {}, {}
        for k, future in futures.items():
            if future.status == "finished":
                updates[k] = future.result()
            elif future.status == "error":
                dropped[k] = failure_reason(future.exception())
            else:
                future.cancel()
                dropped[k] = (f"TimeoutError: no answer within client_timeout="
                              f"{self.client_timeout} s")
        return updates, dropped

