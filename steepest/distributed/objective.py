r"""The full-batch objective over a cluster's partitions, one round trip per evaluation.

For row partitions :math:`P_1, \dots, P_K` of :math:`n` rows in all, the objective of
DESIGN.md (the mean loss plus the penalty) and its gradient are

.. math::

    J(\theta) = \frac{1}{n}\sum_{k=1}^{K} S_k(\theta) + P(\theta),\qquad
    \nabla J(\theta) = \frac{1}{n}\sum_{k=1}^{K} \nabla S_k(\theta) + \nabla P(\theta),

where :math:`S_k` is the *sum* of the losses over partition :math:`k`. The partitions are
prepared (scaled, labels indexed) once and grouped by the worker that holds them
(:class:`~steepest.distributed.data.Blocks`); each evaluation sends :math:`\theta`
with one task per group (the network itself was sent once, as a persisted object the
tasks refer to by key), each task returns its partitions' :math:`(S_k, \nabla S_k)`,
and the driver adds them in partition order and adds the penalty: one round trip, and
a rerun gives the same bits whatever worker computed what (a worker lost mid-fit only
costs the time to recompute its partitions).
"""

from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass

import numpy as np

from steepest._finite_diff import hessian_from_gradient
from steepest.train import Penalty, StepLoop, add_penalty_hessian, linear_hessian_sum

__all__ = ["DaskObjective", "Recipe", "ship", "step_loop"]


@dataclass(frozen=True)
class Recipe:
    """What a worker needs to train or evaluate: sent once (pickled), unpickled once per
    worker thread into a :class:`~steepest.train.StepLoop`.

    ``optimizer`` is None for evaluations; the penalty (``alpha``, ``penalty``,
    ``l1_ratio``) and ``clip_norm`` are applied by local training steps only (the
    full-batch objective adds its penalty once, on the driver)."""

    network: object
    loss: object
    optimizer: object = None
    alpha: float = 0.0
    penalty: str | None = None
    l1_ratio: float = 0.15
    clip_norm: float | None = None


def ship(recipe: Recipe, client):
    """``recipe`` pickled once and persisted on the cluster (with lineage, so a worker
    that joins later or replaces a lost one gets it too); tasks name it by key."""
    import cloudpickle
    from dask import delayed

    shipped = delayed(cloudpickle.dumps(recipe), pure=True)
    return client.persist(shipped) if client is not None else shipped


_LOCAL = threading.local()


def step_loop(blob: bytes) -> StepLoop:
    """The step loop of the recipe pickled in ``blob``, unpickled once per worker thread
    (tasks of one thread run one at a time, so each may overwrite its theta and grad)."""
    cache = getattr(_LOCAL, "loops", None)
    if cache is None:
        cache = _LOCAL.loops = {}
    entry = cache.get(id(blob))
    if entry is None or entry[0] is not blob:
        cache.clear()
        recipe = pickle.loads(blob)
        network = recipe.network
        penalty = Penalty(network, recipe.alpha, recipe.penalty, recipe.l1_ratio)
        entry = cache[id(blob)] = (blob, StepLoop(network, recipe.loss, recipe.optimizer,
                                                  penalty=penalty, clip_norm=recipe.clip_norm))
    return entry[1]


def _loss_and_grad_sums(X, y, blob, theta):
    """A prepared partition's :math:`(S_k, \\nabla S_k)`: the loss summed over its rows and
    the gradient of that sum, at ``theta``."""
    steps = step_loop(blob)
    network = steps.network
    if X.shape[0] == 0:
        return 0.0, np.zeros(network.n_params)
    network.theta[...] = theta
    value, grad = steps.value_and_grad(X, y)
    return value * X.shape[0], grad.astype(np.float64) * X.shape[0]


def _hessian_sum(X, y, blob, theta):
    """A prepared partition's Hessian of :math:`S_k` at ``theta``: exact for a linear model
    (:func:`steepest.train.linear_hessian_sum`), else central differences of its own
    gradient sum (``2d`` local evaluations); no traffic either way."""
    steps = step_loop(blob)
    network = steps.network
    network.theta[...] = theta
    exact = linear_hessian_sum(network, steps.loss, X, y)
    if exact is not None:
        return exact
    return hessian_from_gradient(lambda point: _loss_and_grad_sums(X, y, blob, point)[1],
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
        Standardisation, applied to each partition once (:class:`~steepest.distributed.data.Blocks`
        holds the prepared copies on the workers while the objective lives).
    classes : ndarray or TargetScale, optional
        The sorted labels, mapped to indices once (classifiers); or the target's scaling.
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
        self.data, self.network, self.loss, self.penalty = data, network, loss, penalty
        self.lost_timeout = lost_timeout
        self.n_rows = data.summary().n_rows
        self.blocks = data.blocks(mean, scale, classes, network.dtype)
        self._blob = ship(Recipe(network, loss), data.client)
        if data.client is not None:
            from distributed import futures_of

            self._blob = futures_of(self._blob)[0]
        self.round_trips = 0

    def _map(self, function, theta: np.ndarray) -> list:
        """``function`` on every prepared partition at ``theta``: one round trip."""
        results = self.blocks.map(function, self._blob, np.asarray(theta, dtype=np.float64),
                                  lost_timeout=self.lost_timeout)
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
        return add_penalty_hessian(hessian, self.penalty, self.network)
