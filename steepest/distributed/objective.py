r"""The full-batch objective over a cluster's partitions, one round trip per evaluation.

For row partitions :math:`P_1, \dots, P_K` of :math:`n` rows in all, the objective of
DESIGN.md (the mean loss plus the penalty) and its gradient are

.. math::

    J(\theta) = \frac{1}{n}\sum_{k=1}^{K} S_k(\theta) + P(\theta),\qquad
    \nabla J(\theta) = \frac{1}{n}\sum_{k=1}^{K} \nabla S_k(\theta) + \nabla P(\theta),

where :math:`S_k` is the *sum* of the losses over partition :math:`k`. Each
evaluation sends :math:`\theta` with one task per partition (the network itself was
sent once, as a persisted object the tasks refer to by key), each task returns
:math:`(S_k, \nabla S_k)`, and the driver adds them in partition order and adds the
penalty: one round trip, and a rerun gives the same bits whatever worker computed what
(a worker lost mid-fit only costs the time to recompute its partitions).
"""

from __future__ import annotations

import pickle
import threading
import time

import numpy as np

from steepest.errors import SteepestError

__all__ = ["ClusterLostError", "DaskObjective", "compute"]


class ClusterLostError(SteepestError, RuntimeError):
    """The Dask cluster lost all its workers (or a task kept killing them)."""


def compute(tasks: list, client, *, lost_timeout: float = 30.0) -> list:
    """The results of Dask delayed ``tasks``, in order.

    On a ``distributed.Client`` the tasks go in one graph and come back together (one
    round trip); while waiting, a cluster with no worker for ``lost_timeout`` seconds
    raises :class:`ClusterLostError` instead of waiting for ever. Without a client,
    Dask's local threaded scheduler runs them here.
    """
    import dask

    if client is None:
        return list(dask.compute(*tasks, scheduler="threads"))
    from distributed import wait
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    futures = client.compute(tasks)
    alone_since = None
    try:
        while True:
            try:
                wait(futures, timeout=0.5)
                break
            except TimeoutError:
                if client.scheduler_info().get("workers"):
                    alone_since = None
                    continue
                alone_since = alone_since or time.monotonic()
                if time.monotonic() - alone_since > lost_timeout:
                    raise ClusterLostError(
                        f"The Dask cluster at {client.scheduler.address} has had no worker for "
                        f"{lost_timeout:g} s, so the fit cannot go on. Start workers (or a "
                        "new cluster) and fit again."
                    ) from None
        return client.gather(futures)
    except (KilledWorker, FutureCancelledError) as error:
        raise ClusterLostError(
            f"The Dask cluster could not finish a task ({type(error).__name__}: {error}); its "
            "workers died while computing it. Check their memory limits and logs, then fit "
            "again."
        ) from None
    finally:
        client.cancel([f for f in futures if not f.done()])


_LOCAL = threading.local()


def _network(blob: bytes):
    """The network pickled in ``blob``, unpickled once per worker thread (tasks of one
    thread run one at a time, so each may overwrite its theta and grad)."""
    cache = getattr(_LOCAL, "networks", None)
    if cache is None:
        cache = _LOCAL.networks = {}
    entry = cache.get(id(blob))
    if entry is None or entry[0] is not blob:
        cache.clear()
        entry = cache[id(blob)] = (blob, pickle.loads(blob))
    return entry[1]


def prepare_part(X, y, mean, scale, classes, dtype):
    """A partition as the network and loss take it: features as ``dtype``, standardised
    when ``mean``/``scale`` are given; labels mapped to class indices (floats for two
    classes) when ``classes`` are."""
    X = np.asarray(X)
    X = (X - mean) / scale if mean is not None else X
    X = np.ascontiguousarray(X, dtype=dtype)
    y = np.asarray(y)
    if classes is not None:
        y = np.searchsorted(classes, y)
        if classes.size == 2:
            y = y.astype(dtype)
    return X, y


def _loss_and_grad_sums(blob, X, y, theta, mean, scale, classes):
    """A partition's :math:`(S_k, \\nabla S_k)`: the loss summed over its rows and the
    gradient of that sum, at ``theta``."""
    network, loss = _network(blob)
    X, y = prepare_part(X, y, mean, scale, classes, network.dtype)
    if X.shape[0] == 0:
        return 0.0, np.zeros(network.n_params)
    network.theta[...] = theta
    value, dY = loss.value_and_grad(y, network.forward(X, training=True))
    network.backward(dY)
    return value * X.shape[0], network.grad.astype(np.float64) * X.shape[0]


def _hessian_sum(blob, X, y, theta, mean, scale, classes):
    """A partition's Hessian of :math:`S_k` at ``theta``: central differences of its own
    gradient sum (``2d`` local evaluations, no traffic), as the in-memory Newton does."""
    from steepest._finite_diff import hessian_from_gradient

    return hessian_from_gradient(
        lambda point: _loss_and_grad_sums(blob, X, y, point, mean, scale, classes)[1],
        np.asarray(theta, dtype=np.float64))


class DaskObjective:
    """``theta -> (J(theta), grad J(theta))`` over the partitions of a :class:`DaskData`.

    Parameters
    ----------
    data : DaskData
    network : Network
        Its architecture (and dtype) is sent to the workers once; its ``theta`` and
        ``grad`` are the driver's scratch for the penalty.
    loss : Loss
    penalty : Penalty or None
        On ``network``'s weights; added on the driver, once.
    mean, scale : ndarray of shape (n_features,), optional
        Standardisation applied inside each partition's task.
    classes : ndarray, optional
        The sorted labels, mapped to indices inside each task (classifiers).
    lost_timeout : float, default=30.0
        Seconds without any worker after which an evaluation raises
        :class:`ClusterLostError`.

    Attributes
    ----------
    round_trips : int
        Evaluations sent to the cluster so far (one each).
    """

    def __init__(self, data, network, loss, *, penalty=None, mean=None, scale=None,
                 classes=None, lost_timeout: float = 30.0) -> None:
        from dask import delayed

        self.data, self.network, self.loss, self.penalty = data, network, loss, penalty
        self.mean, self.scale, self.classes = mean, scale, classes
        self.lost_timeout = lost_timeout
        self.n_rows = data.summary().n_rows
        blob = pickle.dumps((network, loss), protocol=pickle.HIGHEST_PROTOCOL)
        shipped = delayed(blob, pure=True)  # sent once, then named by key
        self._blob = data.client.persist(shipped) if data.client is not None else shipped
        self.round_trips = 0

    def _map(self, function, theta: np.ndarray) -> list:
        """``function`` on every partition at ``theta``: one round trip."""
        from dask import delayed

        task = delayed(function, pure=True)
        results = self.data.run(
            [task(self._blob, X, y, np.asarray(theta, dtype=np.float64), self.mean, self.scale,
                  self.classes) for X, y in self.data.parts], lost_timeout=self.lost_timeout)
        self.round_trips += 1
        return results

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=np.float64)
        results = self._map(_loss_and_grad_sums, theta)
        value = sum(r[0] for r in results) / self.n_rows
        grad = np.sum([r[1] for r in results], axis=0) / self.n_rows
        if self.penalty is not None and self.penalty.active:
            network = self.network
            network.theta[...] = theta
            network.grad[...] = grad
            self.penalty.add_gradient()
            value += self.penalty.value()
            grad = network.grad.astype(np.float64)
        return float(value), grad

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """The Hessian of :math:`J` at ``theta`` (for Newton's method): each partition's by
        central differences of its gradient sum, added here, plus the L2 penalty's
        :math:`\alpha(1-\rho)` on the weights' diagonal. One round trip."""
        hessian = np.sum(self._map(_hessian_sum, theta), axis=0) / self.n_rows
        if self.penalty is not None and self.penalty.active:
            from steepest.train import weight_mask

            weights = weight_mask(self.network)
            hessian[weights, weights] += self.penalty.alpha * (1.0 - self.penalty.l1_ratio)
        return hessian
