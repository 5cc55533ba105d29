r"""The step loop, written once: forward → loss → backward → gradient terms → clip → step.

Every way steepest trains a network goes through :class:`StepLoop`: the
:class:`~steepest.train.Trainer`'s epochs (and so ``fit`` and ``partial_fit`` of
the estimators), the full-batch objective that L-BFGS and Newton minimise, and
:func:`~steepest.lr_find.lr_find`'s ramp. It is the internal-API entry for any
other loop (data-parallel workers, federated clients, MAML's inner steps): it
knows a network, a loss, an optimizer, gradient terms and a clipping norm, and
nothing of estimators, epochs, callbacks or histories.

For a batch ``(X, y)`` of :math:`n` samples, in this order::

    Y     = network.forward(X, training=True)      # (n, n_outputs)
    J, dY = loss.value_and_grad(y, Y, buffer)      # J = (1/n) Σ_k ℓ(y_k, Y_k),  dY = ∂J/∂Y
    network.backward(dY)                           # grad = ∂J/∂θ
    for term in terms: term.add_gradient()         # grad += ∂T/∂θ  (the penalty first)
    ── value_and_grad stops here: F(θ) = J(θ) + Σ T(θ),  grad = ∇F(θ)
    n_g = ‖grad‖₂;  grad *= min(1, c / (n_g + 1e-6))    # only with clip_norm = c
    optimizer.step(theta, grad)                    # θ ← the optimizer's rule

:meth:`StepLoop.gradient` does the first four lines, :meth:`StepLoop.update`
the last two, :meth:`StepLoop.step` both, and :meth:`StepLoop.run` steps through
an epoch's batches. A loss that is NaN or infinite stops before the backward
pass (nothing of the batch reaches ``grad`` or ``theta``); a non-finite gradient
makes the optimizer raise :class:`~steepest.errors.NonFiniteError` before it
changes ``theta``.

Gradient terms are objects with ``value() -> float`` and ``add_gradient()``,
bound to the network (they read ``network.theta`` and add into
``network.grad``): :class:`~steepest.train.Penalty` is one. A FedProx client
adds its proximal term :math:`\frac{\mu}{2}\lVert\theta - \theta_g\rVert^2`
(``grad += μ (θ − θ_g)``) as a second term, without a change here.

The loop allocates nothing of a batch's size once it has seen each batch size
(the gradient of the loss goes into a buffer kept per output shape; the network
and the loss keep theirs) and does no Python work per sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from steepest import losses
from steepest.errors import NonFiniteError
from steepest.nn import Network
from steepest.optim import Optimizer
from steepest.sparse import is_sparse
from steepest.train.divergence import BAD_GRADIENT, bad_loss_reason
from steepest.train.regularization import Penalty
from steepest.transforms import clip_by_global_norm

__all__ = ["EpochSteps", "GradientTerm", "StepLoop"]

_KEEP_BUFFERS = 4
"""How many output shapes (batch sizes) the loop keeps a loss-gradient buffer for."""


class GradientTerm(Protocol):
    r"""A term :math:`T(\theta)` added to the objective, bound to the network it reads."""

    def value(self) -> float:
        r""":math:`T(\theta)` at the network's current ``theta``."""

    def add_gradient(self) -> None:
        r"""``network.grad += ∂T/∂θ``, in place."""


class EpochSteps(NamedTuple):
    """What :meth:`StepLoop.run` did over a sequence of batches.

    Attributes
    ----------
    total : float
        The sum of the batch losses :math:`J` weighted by the batch sizes (divide by
        ``count`` for the mean data loss over the samples).
    count : int
        Samples in the batches that were stepped on.
    updates : int
        Optimizer steps taken.
    failure : tuple (float, str) or None
        None when every batch was stepped on; else ``(the bad loss, why)`` for the
        batch that stopped the run before its update (NaN for a bad gradient).
    norm : float
        The gradient norm before clipping at the last update (NaN without clipping).
    """

    total: float
    count: int
    updates: int
    failure: tuple[float, str] | None
    norm: float


class StepLoop:
    r"""Forward, loss, backward, gradient terms, clip and step on one network.

    Parameters
    ----------
    network : Network
        Its ``theta`` is updated in place; its ``grad`` receives each gradient.
    loss : str or Loss
        A :mod:`steepest.losses` name or instance; ``y`` must be as it expects
        (class indices for the categorical cross-entropy).
    optimizer : Optimizer, optional
        Needed by :meth:`update`, :meth:`step` and :meth:`run` only (the
        full-batch objective has none). Its ``lr`` advances once per update.
    penalty : Penalty, optional
        The penalty on the weights; the first gradient term when it is active.
    terms : sequence of GradientTerm, default=()
        More terms of the objective, added after the penalty (a proximal term).
    clip_norm : float or None, default=None
        Rescale each gradient to at most this global L2 norm before the step.

    Attributes
    ----------
    terms : tuple of GradientTerm
        The active penalty, then ``terms``.
    norm : float
        The norm before clipping of the last clipped gradient (NaN before any, or
        without clipping).
    first_norm, max_norm : float
        Over the batches of the last :meth:`run`: the gradient norm (before
        clipping) of its first update and the largest one (NaN before any).
        One dot product per update (the clipping computes it anyway); they show
        a gradient that blew up within an epoch, which the epoch's last gradient
        (``grad_norm`` of the history) does not.
    """

    def __init__(self, network: Network, loss, optimizer: Optimizer | None = None, *,
                 penalty: Penalty | None = None, terms: Sequence[GradientTerm] = (),
                 clip_norm: float | None = None) -> None:
        self.network = network
        self.loss = losses.get(loss)
        self.optimizer = optimizer
        active = (penalty,) if penalty is not None and penalty.active else ()
        self.terms: tuple[GradientTerm, ...] = active + tuple(terms)
        self.clip_norm = clip_norm
        self.norm = math.nan
        self.first_norm = self.max_norm = math.nan
        self._buffers: dict[tuple[int, ...], np.ndarray] = {}

    def inputs(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """``X`` in the network's dtype, C-contiguous (a sparse ``X``: CSR); ``y`` as the
        loss wants it.

        Class indices (integer-valued) become ``intp`` for the categorical
        cross-entropy (other values are left for the loss to reject); other
        numeric targets take the network's dtype. No copy when they already are.
        """
        dtype = self.network.dtype
        if is_sparse(X):  # CSR in the dtype, for the first Dense layer's sparse products
            X = X if X.format == "csr" and X.dtype == dtype else X.tocsr().astype(dtype)
        else:
            X = np.ascontiguousarray(X, dtype=dtype)
        y = np.asarray(y)
        if isinstance(self.loss, losses.CategoricalCrossEntropy):
            if y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.all(y == np.round(y))):
                y = np.ascontiguousarray(y, dtype=np.intp)
        elif y.dtype.kind in "biuf":
            y = np.ascontiguousarray(y, dtype=dtype)
        return X, y

    def gradient(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
                 ) -> float:
        r"""``network.grad`` = :math:`\nabla_\theta (J + \sum T)` on the batch; returns :math:`J`.

        Parameters
        ----------
        X : ndarray of shape (n, ...)
            In the network's dtype (C-contiguous for speed).
        y : ndarray of shape (n,) or (n, n_outputs)
        weight : ndarray of shape (n,), optional
            Sample weights: :math:`J = \frac1n \sum_k w_k \ell_k` (weights of mean 1
            over the data set make the epoch's mean the weighted mean
            :math:`\sum w\ell / \sum w`).

        Returns
        -------
        float
            The batch's mean data loss :math:`J` (without the terms). When it is NaN
            or infinite the backward pass is skipped and ``grad`` is left as it was.
        """
        network = self.network
        Y = network.forward(X, True)
        buffers = self._buffers
        dY = buffers.get(Y.shape)
        if dY is None:
            if len(buffers) >= _KEEP_BUFFERS:
                buffers.clear()
            dY = buffers[Y.shape] = np.empty_like(Y)
        if weight is None:
            value, dY = self.loss.value_and_grad(y, Y, dY)
        else:
            value, dY = self.loss.value_and_grad(y, Y, dY, sample_weight=weight)
        if math.isfinite(value):
            network.backward(dY)
            for term in self.terms:
                term.add_gradient()
        return value

    def value_and_grad(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
                       ) -> tuple[float, np.ndarray]:
        r"""The objective :math:`F = J + \sum T` on ``(X, y)`` and its gradient.

        The full-batch objective for L-BFGS and Newton (with the whole set as the
        batch): :math:`F(\theta) = \frac1n\sum_k \ell(y_k, f_\theta(x_k)) + \sum_j
        T_j(\theta)` at the network's current ``theta``.

        Returns
        -------
        value : float
        grad : ndarray of shape (n_params,)
            ``network.grad`` itself (copy it to keep it); all NaN when the loss is
            not finite.
        """
        value = self.gradient(X, y) if weight is None else self.gradient(X, y, weight)
        grad = self.network.grad
        if not math.isfinite(value):
            grad.fill(math.nan)
        for term in self.terms:
            value += term.value()
        return value, grad

    def update(self) -> None:
        """Clip ``network.grad`` (when ``clip_norm`` is set) and take the optimizer's step.

        Raises
        ------
        NonFiniteError
            From the optimizer, for a gradient holding NaN or infinity (``theta``
            is unchanged).
        """
        network = self.network
        if self.clip_norm is not None:
            self.norm = clip_by_global_norm(network.grad, self.clip_norm)
        self.optimizer.step(network.theta, network.grad)

    def step(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> float:
        """:meth:`gradient` then, when the loss is finite, :meth:`update`; returns :math:`J`.

        Raises
        ------
        NonFiniteError
            As :meth:`update`.
        """
        value = self.gradient(X, y) if weight is None else self.gradient(X, y, weight)
        if math.isfinite(value):
            self.update()
        return value

    def run(self, batches: Iterable[tuple[np.ndarray, ...]]) -> EpochSteps:
        """:meth:`step` on each batch in turn, up to the first non-finite loss or gradient.

        Parameters
        ----------
        batches : iterable of (X_batch, y_batch) or (X_batch, y_batch, w_batch)
            Such as :meth:`steepest.data.Batcher.epoch` (with the batch's sample
            weights when it has them).

        Returns
        -------
        EpochSteps
        """
        gradient, update, grad = self.gradient, self.update, self.network.grad
        total, count, updates = 0.0, 0, 0
        self.norm = self.first_norm = self.max_norm = math.nan
        largest = -math.inf
        for batch in batches:
            X_batch = batch[0]
            value = gradient(*batch)
            if not math.isfinite(value):
                return EpochSteps(total, count, updates, (value, bad_loss_reason(value)),
                                  self.norm)
            try:
                update()
            except NonFiniteError:
                return EpochSteps(total, count, updates, (math.nan, BAD_GRADIENT), self.norm)
            # the norm before clipping (the clip computed it; else one dot product)
            norm = self.norm if self.clip_norm is not None else math.sqrt(float(
                np.dot(grad, grad)))
            if not updates:
                self.first_norm = norm
            if norm > largest:           # an overflow to inf counts; NaN does not
                largest = self.max_norm = norm
            n = X_batch.shape[0]
            total += value * n
            count += n
            updates += 1
        return EpochSteps(total, count, updates, None, self.norm)

    def __repr__(self) -> str:
        return (f"StepLoop(network={self.network!r}, loss={self.loss!r}, "
                f"optimizer={self.optimizer!r}, terms={self.terms!r}, "
                f"clip_norm={self.clip_norm!r})")
