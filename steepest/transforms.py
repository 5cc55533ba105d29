"""Transforms of the flat gradient applied before the optimizer step.

Each works in place on ``grad`` (one flat array, see DESIGN.md) and costs one or
two passes over it.
"""

from __future__ import annotations

import math

import numpy as np

from steepest._validation import check_number
from steepest.errors import NonFiniteError


def clip_by_value(grad: np.ndarray, clip_value: float) -> np.ndarray:
    r"""Clamp every entry to :math:`[-c, c]` in place, as torch's ``clip_grad_value_``.

    Returns ``grad``.
    """
    check_number(clip_value, "clip_value", "clip_by_value", low=0.0)
    return np.clip(grad, -clip_value, clip_value, out=grad)


def global_norm(grad: np.ndarray, norm_type: float = 2.0) -> float:
    r""":math:`\lVert g \rVert_p` of the flat gradient (``norm_type=inf``: :math:`\max |g_i|`)."""
    if norm_type == math.inf:
        return float(np.max(np.abs(grad), initial=0.0))
    if norm_type == 2.0:
        return float(np.sqrt(np.dot(grad.ravel(), grad.ravel()))) if grad.size else 0.0
    return float(np.linalg.norm(grad.ravel(), ord=norm_type))


def clip_by_global_norm(grad: np.ndarray, max_norm: float, norm_type: float = 2.0,
                        error_if_nonfinite: bool = False) -> float:
    r"""Rescale ``grad`` in place so its norm is at most ``max_norm``; return the norm before.

    torch's ``clip_grad_norm_`` semantics:

    .. math::

        n = \lVert g \rVert_p, \qquad
        g \leftarrow g \cdot \min\!\Bigl(1, \frac{\text{max\_norm}}{n + 10^{-6}}\Bigr)

    Parameters
    ----------
    grad : ndarray
        The flat gradient, modified in place.
    max_norm : float
        The largest norm allowed, >= 0.
    norm_type : float, default=2.0
        The p of the p-norm; ``math.inf`` for the largest absolute entry.
    error_if_nonfinite : bool, default=False
        Raise :class:`~steepest.errors.NonFiniteError` when the norm is NaN or
        infinite instead of scaling by it.

    Notes
    -----
    As torch, a NaN norm scales by NaN (every entry becomes NaN) and an infinite
    norm scales by 0 (finite entries become 0, infinite ones NaN); the
    optimizers' ``step`` then refuses the gradient before changing anything.
    """
    check_number(max_norm, "max_norm", "clip_by_global_norm", low=0.0)
    check_number(norm_type, "norm_type", "clip_by_global_norm", low=0.0, closed="neither")
    norm = global_norm(grad, norm_type)
    if error_if_nonfinite and not math.isfinite(norm):
        raise NonFiniteError(
            f"The total gradient norm is {norm}, so it cannot be clipped. The loss has "
            "probably diverged: lower the learning rate or scale the inputs."
        )
    # torch multiplies by the clamped coefficient whatever it is: a NaN norm makes every
    # entry NaN and an infinite one makes the finite entries 0 (and the infinite ones NaN),
    # so a bad gradient stays visibly bad for the step's finite check to refuse
    coefficient = max_norm / (norm + 1e-6)
    if not coefficient >= 1.0:
        with np.errstate(invalid="ignore"):
            grad *= coefficient
    return norm


def check_finite(grad: np.ndarray, where: str = "gradient") -> np.ndarray:
    """Return ``grad`` if every entry is finite, else raise :class:`~steepest.errors.NonFiniteError`
    naming how many entries are bad and the first one, so nothing downstream is corrupted."""
    # A finite sum means finite entries, so one read in grad's own dtype (a float64
    # accumulator would cast and run at a quarter of the speed) settles the usual case;
    # only a non-finite or overflowing sum needs the full scan.
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(grad))):
            return grad
    bad = np.flatnonzero(~np.isfinite(grad))
    if bad.size:
        raise NonFiniteError(
            f"The {where} has {bad.size} non-finite entr{'y' if bad.size == 1 else 'ies'} "
            f"(first at index {bad[0]}: {grad.flat[bad[0]]}). The loss has probably diverged: "
            "lower the learning rate, clip the gradient or scale the inputs."
        )
    return grad
