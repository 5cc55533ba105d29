r"""Newton's Hessian, exact, for the models that are one Dense layer (linear models).

For :math:`Y = X W + b` (``W`` of shape (d, k), θ laid out as ``W`` row-major then
``b``, so parameter :math:`(j, a)` — input :math:`j`, output :math:`a`, with the bias as
input :math:`j = d` of value 1 — sits at index :math:`jk + a`) and a loss summed over
the samples, :math:`S = \sum_i \ell(y_i, Y_i)`,

.. math::

    \frac{\partial^2 S}{\partial \theta_{ja}\,\partial \theta_{lb}}
      = \sum_i \tilde x_{ij}\,\tilde x_{il}\; C_i[a, b],\qquad
    C_i = \frac{\partial^2 \ell_i}{\partial Y_i^2},

with :math:`C_i = \sigma(z_i)(1-\sigma(z_i))` for the binary cross-entropy from logits
and :math:`\frac{2}{k} I` for the mean squared error (averaged over the :math:`k`
outputs): one matrix product, instead of the :math:`2\,\dim\theta` gradient evaluations
of central differences. The L2 penalty adds :math:`\alpha(1-\rho)` on the diagonal of
the weights.

The softmax model keeps central differences: its exact Hessian
(:math:`C_i = \operatorname{diag}(p_i) - p_i p_i^\top`) is singular along the common shift
of the unpenalised intercepts, and Newton's added-identity search then turns on rounding
(a sparse and a dense fit of the same data parted by 1e-5 within 10 iterations), where
the differences' own error keeps the matrix definite.
"""

from __future__ import annotations

import numpy as np

from steepest import losses
from steepest.nn import Dense, Network
from steepest.train.regularization import Penalty, weight_mask

__all__ = ["add_penalty_hessian", "has_linear_hessian", "linear_hessian_sum"]

_LOSSES = (losses.MeanSquaredError, losses.BinaryCrossEntropy)


def has_linear_hessian(network: Network, loss) -> bool:
    """Whether :func:`linear_hessian_sum` applies: one Dense layer, and mse or the binary
    cross-entropy."""
    return len(network.layers) == 1 and isinstance(network.layers[0], Dense) \
        and isinstance(losses.get(loss), _LOSSES)


def _gram(A, weights: np.ndarray) -> np.ndarray:
    """:math:`A^\\top \\operatorname{diag}(w) A`, dense, for a dense or SciPy sparse ``A``."""
    if isinstance(A, np.ndarray):
        return (A * weights[:, None]).T @ A
    return np.asarray((A.T @ A.multiply(weights[:, None]).tocsr()).todense())


def linear_hessian_sum(network: Network, loss, X, y) -> np.ndarray | None:
    """The Hessian of the loss *summed* over the rows of ``(X, y)`` at ``network.theta``,
    shape (n_params, n_params), float64; None when the network is not one Dense layer
    or the loss is neither mse nor the binary cross-entropy (use central differences
    then). ``X`` (dense, or SciPy sparse: kept sparse, only the Hessian is dense) and
    ``y`` as the loss takes them (prepared)."""
    if not has_linear_hessian(network, loss):
        return None
    loss = losses.get(loss)
    layer = network.layers[0]
    bias = "b" in layer._parameter_shapes()
    if isinstance(X, np.ndarray):
        A = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        if bias:
            A = np.column_stack((A, np.ones(len(A))))
    else:
        from scipy import sparse

        A = sparse.csr_matrix(X, dtype=np.float64)
        if bias:
            A = sparse.hstack((A, np.ones((A.shape[0], 1)))).tocsr()
    Z = np.asarray(network.forward(X, training=False), dtype=np.float64)
    k = Z.shape[1]
    hessian = np.zeros((A.shape[1] * k, A.shape[1] * k))
    if isinstance(loss, losses.BinaryCrossEntropy):
        s = 0.5 * (1.0 + np.tanh(0.5 * Z[:, 0]))  # σ(z), stably
        weights = s * (1.0 - s)
    else:
        weights = np.full(A.shape[0], 2.0 / k)
    block = _gram(A, weights)
    for a in range(k):
        hessian[a::k, a::k] = block
    return hessian


def add_penalty_hessian(hessian: np.ndarray, penalty: Penalty | None,
                        network: Network) -> np.ndarray:
    """``hessian`` plus the L2 part of the penalty, :math:`\\alpha(1-\\rho)` on the
    weights' diagonal (the L1 part has none), in place; returned."""
    if penalty is not None and penalty.active:
        weights = np.flatnonzero(weight_mask(network))
        hessian[weights, weights] += penalty.alpha * (1.0 - penalty.l1_ratio)
    return hessian
