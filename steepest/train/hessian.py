r"""Newton's Hessian, exact, for the models that are one Dense layer (linear models).

For :math:`Y = X W + b` (``W`` of shape (d, k), θ laid out as ``W`` row-major then
``b``, so parameter :math:`(j, a)` — input :math:`j`, output :math:`a`, with the bias as
input :math:`j = d` of value 1 — sits at index :math:`jk + a`) and a loss summed over
the samples, :math:`S = \sum_i \ell(y_i, Y_i)`,

.. math::

    \frac{\partial^2 S}{\partial \theta_{ja}\,\partial \theta_{lb}}
      = \sum_i \tilde x_{ij}\,\tilde x_{il}\; C_i[a, b],\qquad
    C_i = \frac{\partial^2 \ell_i}{\partial Y_i^2},

with :math:`C_i = \sigma(z_i)(1-\sigma(z_i))` for the binary cross-entropy from logits,
:math:`\operatorname{diag}(p_i) - p_i p_i^\top` (:math:`p_i` the softmax) for the
categorical one, and :math:`\frac{2}{k} I` for the mean squared error (averaged over
the :math:`k` outputs). Each is one or :math:`k` matrix products, instead of the
:math:`2\,\dim\theta` gradient evaluations of central differences. The L2 penalty adds
:math:`\alpha(1-\rho)` on the diagonal of the weights.
"""

from __future__ import annotations

import numpy as np

from steepest import losses
from steepest.nn import Dense, Network
from steepest.train.regularization import Penalty, weight_mask

__all__ = ["add_penalty_hessian", "has_linear_hessian", "linear_hessian_sum"]

_LOSSES = (losses.MeanSquaredError, losses.BinaryCrossEntropy, losses.CategoricalCrossEntropy)


def has_linear_hessian(network: Network, loss) -> bool:
    """Whether :func:`linear_hessian_sum` applies: one Dense layer and mse, binary or
    categorical cross-entropy."""
    return len(network.layers) == 1 and isinstance(network.layers[0], Dense) \
        and isinstance(losses.get(loss), _LOSSES)


def linear_hessian_sum(network: Network, loss, X: np.ndarray, y: np.ndarray
                       ) -> np.ndarray | None:
    """The Hessian of the loss *summed* over the rows of ``(X, y)`` at ``network.theta``,
    shape (n_params, n_params), float64; None when the network is not one Dense layer
    or the loss is not one of mse, binary or categorical cross-entropy, or ``X`` is a SciPy
    sparse matrix (use central differences of the gradient then, which keep ``X`` sparse).
    ``X`` and ``y`` as the loss takes them (prepared)."""
    if not has_linear_hessian(network, loss) or not isinstance(X, np.ndarray):
        return None
    loss = losses.get(loss)
    layer = network.layers[0]
    A = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if "b" in layer._parameter_shapes():
        A = np.column_stack((A, np.ones(len(A))))
    Z = network.forward(X, training=False).astype(np.float64)
    k = Z.shape[1]
    hessian = np.zeros((A.shape[1] * k, A.shape[1] * k))
    if isinstance(loss, losses.CategoricalCrossEntropy):
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        G = (A[:, :, None] * P[:, None, :]).reshape(len(A), -1)  # x̃_ij p_ia at jk + a
        hessian -= G.T @ G
        for a in range(k):
            hessian[a::k, a::k] += (A * P[:, [a]]).T @ A
        return hessian
    if isinstance(loss, losses.BinaryCrossEntropy):
        s = 0.5 * (1.0 + np.tanh(0.5 * Z[:, 0]))  # σ(z), stably
        weights = s * (1.0 - s)
    else:
        weights = np.full(len(A), 2.0 / k)
    block = (A * weights[:, None]).T @ A
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
