r"""Per-sample SGD on a linear model: an epoch of updates in one compiled loop.

With ``batch_size=1`` the trainer's loop (:mod:`steepest.train.loop`) makes about
fifteen NumPy calls per update, each costing more than the arithmetic of a
linear model's update (a few hundred flops for 100 features). This module runs
the same epoch in a Numba loop: the same samples in the same order, and per
sample the same operations as the loop::

    z  = x W + b                                   # Dense
    J, dz = loss(y, z)                             # MSE, binary or categorical CE
    grad = [xᵀ dz, dz] + ∂P/∂w                      # backward, then the penalty
    theta ← SGD step (torch's rule, steepest.optim._kernels._sgd)

The loss, its gradient, the penalty and the step round exactly as the loop's
NumPy calls do (in the parameters' dtype, no fused multiply-adds); only the sum
in ``x W`` runs in another order than BLAS's, and denormals are flushed to zero
as in the optimizers' kernels, so the two paths agree to rounding, not to the
bit. A non-finite loss or gradient stops the epoch before that update, as in
the loop, and the trainer rolls back.

:func:`run_epoch` is taken when the model is one :class:`~steepest.nn.Dense`
layer, the loss is :class:`~steepest.losses.MeanSquaredError`,
:class:`~steepest.losses.BinaryCrossEntropy` or
:class:`~steepest.losses.CategoricalCrossEntropy`, the optimizer is
:class:`~steepest.optim.SGD` (any options) with compiled steps enabled
(``fused_min_size`` not None), there is no gradient clipping, and the data are
float32 or float64 (dense, C-contiguous, or SciPy CSR) with valid targets, and the run
is long enough to be worth
loading Numba for (``MIN_UPDATES``); otherwise the trainer's loop runs (and raises its
errors on invalid targets). The epoch is cut into chunks of
``CHUNK_WORK`` multiply-adds, so that Ctrl-C is honoured within a fraction of a
second. The samples are read in the epoch's shuffled order straight from the
data (gathered 64 rows at a time), with no shuffled copy of the data set.
Numba is imported on the first such epoch, not with steepest.

A sparse ``X`` (CSR) takes :func:`~steepest.train._per_sample_kernel.sparse_epoch`:
the forward pass and the data gradient over each row's non-zeros and, for plain SGD
(no momentum, no L1 penalty), the L2 decay kept in a scale of the weights (``w = s·v``,
scikit-learn's trick), so an update costs O(non-zeros) however wide ``X`` is; with
momentum or an L1 share every weight is touched per update, as in the dense loop.
The results equal the dense loop's on the same data to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from steepest import losses
from steepest.nn import Dense
from steepest.sparse import is_sparse
from steepest.train.divergence import BAD_GRADIENT, bad_loss_reason

CHUNK_WORK = 2**24
"""Multiply-adds per compiled call, about 10-50 ms: Ctrl-C is seen between calls."""

MIN_UPDATES = 2**14
"""A run of fewer updates (samples × the epochs it trains up to) takes the NumPy loop:
importing Numba and loading the compiled loop cost 0.5-1 s, what the loop spends on
15,000-20,000 updates. The choice depends on the run alone, never on what the
process has loaded, so the same run always takes the same path (and a resumed run
the path of the uninterrupted one)."""

MIN_SPARSE_UPDATES = 2**11
"""``MIN_UPDATES`` for a sparse ``X``: the NumPy loop then gathers a CSR row per update
(about 0.3 ms each), so the compiled loop pays for its loading after about 2,000."""

_MSE, _LOGISTIC, _SOFTMAX = 0, 1, 2
_LOSSES = {losses.MeanSquaredError: _MSE, losses.BinaryCrossEntropy: _LOGISTIC,
           losses.CategoricalCrossEntropy: _SOFTMAX}
_BAD_LOSS, _BAD_GRADIENT = 1, 2  # the kernel's status (0: every sample used)


def run_epoch(trainer, batcher) -> tuple[float, int, int, tuple[float, str] | None] | None:
    """One epoch of ``trainer`` compiled, or None when it does not apply.

    Returns ``(sum of the losses, samples, updates, failure)``: ``failure`` is
    None for a complete epoch, else ``(the loss, why)`` for the sample whose
    non-finite loss or gradient stopped it before its update.
    """
    from steepest.optim import SGD

    network, optimizer, loss = trainer.network, trainer.optimizer, trainer.loss
    kind = _LOSSES.get(type(loss))
    if (kind is None or batcher.full or batcher.batch_size != 1 or trainer.clip_norm is not None
            or batcher.sample_weight is not None
            or type(optimizer) is not SGD or optimizer.fused_min_size is None
            or len(network.layers) != 1 or type(network.layers[0]) is not Dense
            or network.dtype not in (np.float32, np.float64)):
        return None
    layer = network.layers[0]
    X, n = batcher.X, batcher.n_samples
    sparse = is_sparse(X)
    if n * max(trainer.target_epochs, 1) < (MIN_SPARSE_UPDATES if sparse else MIN_UPDATES):
        return None
    targets = _targets(kind, batcher.y, n, layer.units, network.dtype)
    rates = _rates(trainer, n) if targets is not None else None
    if rates is None or not (sparse or X.flags.c_contiguous):
        return None
    order = batcher.epoch_order()
    if order is None:
        order = np.arange(n)
    from steepest.optim._kernels import _Scalars, denormals_flushed
    from steepest.train import _per_sample_kernel as kernel

    theta, grad = network.theta, network.grad
    c = _Scalars(theta)  # Python floats rounded to the dtype, as the SGD kernel's caller does
    if optimizer._state is None:
        optimizer._state = optimizer._init_state(theta)
    buffer = optimizer._state.get("momentum_buffer", theta[:0])
    penalty = trainer.penalty
    l1, l2 = (penalty._l1, penalty._l2) if penalty.active else (0.0, 0.0)
    if kind == _SOFTMAX:
        labels, values = targets, np.zeros((0, 0), network.dtype)
    else:
        labels, values = np.zeros(0, np.intp), targets
    settings = (kind, layer.units, layer.n_in * layer.units, layer.bias, c(l1), c(l2),
                *c.grad(optimizer.weight_decay, optimizer.maximize), optimizer.momentum != 0,
                c(optimizer.momentum), c(1 - optimizer.dampening), bool(optimizer.nesterov),
                c(1), c(2.0 / layer.units), c(1.0 / layer.units))
    total, done = 0.0, 0
    if sparse:
        lazy = not optimizer.momentum and l1 == 0 and not optimizer.maximize
        per_row = (X.nnz / n + 1) * layer.units if lazy else layer.n_in * layer.units
        chunk = max(1, int(CHUNK_WORK // per_row))

        def run(total, rows, rates):
            return kernel.sparse_epoch(total, X.data, X.indices, X.indptr, rows, values,
                                       labels, rates, theta, grad, buffer,
                                       optimizer.steps == 0, *settings, lazy)
    else:
        chunk = max(1, CHUNK_WORK // (layer.n_in * layer.units))

        def run(total, rows, rates):
            return kernel.epoch(total, X, rows, values, labels, rates, theta, grad, buffer,
                                optimizer.steps == 0, *settings)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        with denormals_flushed():
            total, count, status, bad = run(total, order[start:stop], rates[start:stop])
        done += count
        optimizer._steps += count
        if status == _BAD_LOSS:
            return total, done, done, (bad, bad_loss_reason(bad))
        if status == _BAD_GRADIENT:
            return total, done, done, (math.nan, BAD_GRADIENT)
    return total, done, done, None


def _targets(kind: int, y: np.ndarray, n: int, units: int, dtype):
    """The targets as the kernel reads them, or None when the loop must judge them."""
    if kind == _SOFTMAX:
        labels = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
        if (labels.shape != (n,) or labels.dtype.kind not in "iu" or labels.min() < 0
                or labels.max() >= units):
            return None
        return np.ascontiguousarray(labels, dtype=np.intp)
    if y.size != n * units or y.shape[0] != n or y.dtype != dtype:
        return None
    values = np.ascontiguousarray(y.reshape(n, units))
    if kind == _LOGISTIC and (values.min() < 0 or values.max() > 1):
        return None
    return values


def _rates(trainer, n: int) -> np.ndarray | None:
    """``-lr`` of each of the next ``n`` updates, rounded to the parameters' dtype as
    the SGD kernel's caller rounds it; None for a schedule giving a bad rate (the
    loop then stops at that update with the schedule's error)."""
    try:
        lrs = trainer._rate.rates(trainer.optimizer.steps, n)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(lrs).all() and (lrs >= 0).all()):
        return None
    return (-lrs).astype(trainer.network.dtype)
