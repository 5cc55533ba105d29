"""Where the clients train: in this process, one after another (the fast simulation).

A strategy talks to its clients through one small interface, so the same
strategy object runs in one process (:class:`InProcessClients`, what a list of
``(X_k, y_k)`` becomes) or on a Dask cluster
(:class:`steepest.federated.on_dask.DaskClients`):

* ``sizes``: :math:`n_k` of every client;
* ``labels()``: the sorted union of the clients' labels (classifiers);
* ``template()``: a few rows of one client, to start the global model's shapes;
* ``start(training)``: hand each client the :class:`~steepest.federated.client.LocalTraining`
  and let it check its data (once);
* ``train(theta, state, selected, round_, seed, mu, epochs)``: the selected clients'
  :class:`~steepest.federated.client.LocalUpdate` by index (``epochs``: each one's
  local epochs), and the reason for each one that failed (raised, diverged or timed
  out) and so is dropped from the round.
"""

from __future__ import annotations

import time

import numpy as np

from steepest.errors import ParameterError
from steepest.federated.client import LocalTraining, LocalUpdate, client_generator

__all__ = ["InProcessClients", "failure_reason"]

_TEMPLATE_ROWS = 2


def failure_reason(error: BaseException) -> str:
    """How a client's failure is recorded in ``history_["dropped"]``: ``"Type: message"``."""
    return f"{type(error).__name__}: {error}"


class InProcessClients:
    """Clients held in this process, trained one after another.

    Parameters
    ----------
    clients : sequence of (X_k, y_k)
        Each client's data (arrays or DataFrames), such as
        :func:`~steepest.federated.partition` returns.
    client_timeout : float or None, default=None
        An update that took longer than this many seconds of local training is
        dropped from its round (as a real server drops a client that answers late).
    """

    def __init__(self, clients, *, client_timeout: float | None = None) -> None:
        clients = list(clients)
        if not clients or not all(isinstance(c, (tuple, list)) and len(c) == 2 for c in clients):
            raise ParameterError(
                "The clients must be a non-empty sequence of (X, y) pairs, one per client, "
                "such as steepest.federated.partition returns."
            )
        self.clients = clients
        self.client_timeout = client_timeout
        self.sizes = [len(y) for _, y in clients]
        self._prepared: list = []
        self._training: LocalTraining | None = None

    def labels(self) -> np.ndarray:
        return np.unique(np.concatenate([np.unique(np.asarray(y)) for _, y in self.clients]))

    def template(self):
        X, y = self.clients[0]
        rows = slice(0, _TEMPLATE_ROWS)
        return (X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows],
                y.iloc[rows] if hasattr(y, "iloc") else np.asarray(y)[rows])

    def start(self, training: LocalTraining) -> None:
        self._training = training
        self._prepared = []
        for X, y in self.clients:
            try:
                self._prepared.append(training.prepare(X, y))
            except Exception as error:  # a client whose data the model refuses is dropped
                self._prepared.append(error)

    def train(self, theta, state, selected, round_: int, seed: int, mu, epochs: dict):
        updates: dict[int, LocalUpdate] = {}
        dropped: dict[int, str] = {}
        for k in selected:
            data = self._prepared[k]
            if isinstance(data, BaseException):
                dropped[k] = failure_reason(data)
                continue
            start = time.perf_counter()
            try:
                update = self._training.run(theta, *data, client_generator(seed, k, round_),
                                            state=state, mu=mu, epochs=epochs[k])
            except Exception as error:  # one client's failure never stops the round
                dropped[k] = failure_reason(error)
                continue
            took = time.perf_counter() - start
            if self.client_timeout is not None and took > self.client_timeout:
                dropped[k] = f"TimeoutError: answered after {took:.3g} s > {self.client_timeout} s"
                continue
            updates[k] = update
        return updates, dropped
