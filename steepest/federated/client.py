r"""One client's local training: E epochs of batch B by the one step loop, from the global θ.

Every way of running a strategy (in one process, on Dask workers, through Flower)
calls :meth:`LocalTraining.run` on the client's data, so a client trains the same
way wherever it runs::

    training = LocalTraining(model, local_epochs=5, local_batch_size=10)
    X_k, y_k = training.prepare(X_raw, y_raw)               # checked as fit checks data
    update = training.run(theta_global, X_k, y_k, rng, mu=0.01)

For client :math:`k` with :math:`n_k` samples, ``run`` starts from
:math:`\theta \leftarrow \theta_g` (and the global untrained state, BatchNorm's
running statistics), takes a fresh copy of the model's optimizer and steps
through ``local_epochs`` epochs of ``local_batch_size`` batches (``None``: the
whole local set, one update per epoch, which is FedSGD at one epoch) on

.. math::

    F_k(\theta) = \frac{1}{n_k}\sum_{j} \ell(y_j, f_\theta(x_j)) + P(\theta)
                  + \frac{\mu}{2}\lVert\theta - \theta_g\rVert_2^2,

the model's own objective (loss and penalty) plus FedProx's proximal term
(:class:`ProximalTerm`, over all of θ; :math:`\mu = 0` adds exactly zero).
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import numpy as np

from steepest.data import Batcher
from steepest.errors import NonFiniteError, ParameterError
from steepest.train import Penalty, StepLoop

__all__ = ["LocalTraining", "LocalUpdate", "ProximalTerm", "client_generator", "model_state",
           "set_model_state"]


class ProximalTerm:
    r"""FedProx's :math:`T(\theta) = \frac{\mu}{2}\lVert\theta - \theta_g\rVert_2^2` on a network.

    A :class:`~steepest.train.step.GradientTerm`: :meth:`add_gradient` does
    ``network.grad += μ (θ − θ_g)`` (the exact gradient of the squared norm, over
    every entry of θ, weights, biases and BatchNorm's scale and shift alike).

    Parameters
    ----------
    network : Network
    mu : float
        :math:`\mu \ge 0`.
    anchor : ndarray of shape (n_params,)
        :math:`\theta_g`, the global parameters this round started from (kept as given).
    """

    def __init__(self, network, mu: float, anchor: np.ndarray) -> None:
        self.network, self.mu, self.anchor = network, float(mu), anchor
        self._difference = np.empty_like(network.theta)

    def value(self) -> float:
        r""":math:`\frac{\mu}{2}\lVert\theta - \theta_g\rVert^2` at the network's ``theta``."""
        difference = np.subtract(self.network.theta, self.anchor, out=self._difference)
        return 0.5 * self.mu * float(difference @ difference)

    def add_gradient(self) -> None:
        r"""``network.grad += μ (θ − θ_g)``."""
        difference = np.subtract(self.network.theta, self.anchor, out=self._difference)
        difference *= self.mu
        self.network.grad += difference


class LocalUpdate(NamedTuple):
    """What a client sends back after a round.

    Attributes
    ----------
    theta : ndarray of shape (n_params,)
        Its parameters after local training.
    state : dict of str to ndarray
        Its untrained state after training (BatchNorm's running statistics), possibly
        empty; averaged like θ.
    n_samples : int
        :math:`n_k`, its weight in the average.
    loss : float
        The mean data loss over the samples of its local steps (all epochs).
    updates : int
        Local optimizer steps taken.
    """

    theta: np.ndarray
    state: dict
    n_samples: int
    loss: float
    updates: int


def client_generator(seed: int, client: int, round_: int) -> np.random.Generator:
    """The generator of client ``client``'s batch orders in round ``round_`` (from 0).

    Derived from the strategy's ``seed`` alone, so a client draws the same batches in
    one process, on a Dask worker or in a Flower client process.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, client, round_)))


def model_state(network) -> dict[str, np.ndarray]:
    """The network's untrained float state (BatchNorm's running statistics), copies."""
    return {key: value for key, value in network.state_dict().items()
            if key != "theta" and not key.endswith(".rng")}


def set_model_state(network, state: dict[str, np.ndarray]) -> None:
    """Load untrained float state made by :func:`model_state` into ``network``."""
    for key, value in state.items():
        index, name = key.split(".", 1)
        getattr(network.layers[int(index)], name)[...] = value


class LocalTraining:
    """How a client trains a copy of the global model on its own data.

    Parameters
    ----------
    model : fitted-or-started steepest estimator
        Its network (architecture, dtype), loss, optimizer, penalty and clipping
        are used; a deep copy is taken, so training never touches ``model``.
    local_epochs : int, default=1
        :math:`E`, passes over the local data per round.
    local_batch_size : int or None, default=10
        :math:`B`; ``None`` is the whole local set (FedSGD with ``local_epochs=1``).
    """

    def __init__(self, model, local_epochs: int = 1, local_batch_size: int | None = 10) -> None:
        self.model = copy.deepcopy(model)
        self.local_epochs = local_epochs
        self.local_batch_size = local_batch_size

    @property
    def network(self):
        """The client's working copy of the network."""
        return self.model._network

    def prepare(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """A client's data checked and converted as the model's ``fit`` does its own
        (dtype, feature count, labels as class indices of the global ``classes_``).

        Raises
        ------
        ParameterError
            For data the model cannot take (another feature count, an unknown label,
            NaN), with the model's own sentence.
        """
        model = self.model
        X, y = model._check_data(X, y, reset=False)
        return X, model._targets(y, first=False)[0]

    def run(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray, rng: np.random.Generator,
            *, state: dict | None = None, mu: float | None = None,
            epochs: int | None = None) -> LocalUpdate:
        """Train from the global ``theta`` (and ``state``) on prepared ``(X, y)``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            :math:`\\theta_g`; not modified.
        X, y : ndarrays
            From :meth:`prepare`.
        rng : numpy.random.Generator
            The batch orders (see :func:`client_generator`).
        state : dict, optional
            The global untrained state to start from.
        mu : float or None
            FedProx's :math:`\\mu`; None adds no proximal term.
        epochs : int, optional
            This client's epochs this round, instead of ``local_epochs`` (a slower
            device doing less work).

        Returns
        -------
        LocalUpdate

        Raises
        ------
        NonFiniteError
            When local training diverged (a non-finite loss or gradient).
        """
        model, network = self.model, self.network
        if theta.shape != network.theta.shape:
            raise ParameterError(
                f"The global parameters have {theta.size} entries but the client's model has "
                f"{network.n_params}; every client must hold the same model."
            )
        network.theta[...] = theta
        if state:
            set_model_state(network, state)
        terms = () if mu is None else (ProximalTerm(network, mu, np.array(theta, copy=True)),)
        steps = StepLoop(network, model._loss, model._make_optimizer(),
                         penalty=Penalty(network, model.alpha, model.penalty, model.l1_ratio),
                         terms=terms, clip_norm=model.clip_norm)
        X, y = steps.inputs(X, y)
        batches = Batcher(X, y, self.local_batch_size,
                          drop_single=getattr(model, "batch_norm", False), random_state=rng)
        total, count, updates = 0.0, 0, 0
        for _ in range(self.local_epochs if epochs is None else epochs):
            done = steps.run(batches.epoch())
            total, count, updates = total + done.total, count + done.count, updates + done.updates
            if done.failure is not None:
                raise NonFiniteError(
                    f"Local training diverged after {updates} updates ({done.failure[1]}); "
                    "lower the model's learning rate or clip its gradients (clip_norm)."
                )
        return LocalUpdate(network.theta.copy(), model_state(network), X.shape[0],
                           total / count if count else math.nan, updates)
