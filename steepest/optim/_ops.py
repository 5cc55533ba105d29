"""In-place elementwise primitives, in the operation order of torch's CPU kernels.

The update rules are written with these so that each reads like torch.optim's
single-tensor implementation, and so that rounding follows the same order
(``a + (value·b)·c`` for addcmul, ``a + (value·b)/c`` for addcdiv). Every
function writes into arrays it is given; ``out`` is a scratch array the caller
owns. Python-float constants are rounded to the arrays' dtype, as torch does,
so float32 parameters are updated in float32 arithmetic.
"""

from __future__ import annotations

import numpy as np


def prepared_grad(theta: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool,
                  out: np.ndarray) -> np.ndarray:
    """``±grad + weight_decay·theta``: the gradient the rule sees, with L2 decay folded in.

    Returns ``grad`` itself when there is nothing to change, else ``out``; ``grad``
    is never modified.
    """
    if weight_decay == 0:
        return np.negative(grad, out=out) if maximize else grad
    np.multiply(theta, weight_decay, out=out)
    if maximize:
        out -= grad
    else:
        out += grad
    return out


def lerp_(target: np.ndarray, end: np.ndarray, weight: float, out: np.ndarray) -> None:
    """``target ← target + weight·(end − target)``, torch's two-branch form for accuracy."""
    np.subtract(end, target, out=out)
    if weight < 0.5:
        out *= weight
        target += out
    else:
        out *= 1.0 - weight
        np.subtract(end, out, out=target)


def addcmul_(target: np.ndarray, value: float, a: np.ndarray, b: np.ndarray,
             out: np.ndarray) -> None:
    """``target ← target + (value·a)·b``."""
    np.multiply(a, value, out=out)
    out *= b
    target += out


def addcdiv_(target: np.ndarray, value: float, a: np.ndarray, b: np.ndarray,
             out: np.ndarray) -> None:
    """``target ← target + (value·a)/b``."""
    np.multiply(a, value, out=out)
    out /= b
    target += out


def add_scaled_(target: np.ndarray, value: float, a: np.ndarray, out: np.ndarray) -> None:
    """``target ← target + value·a``."""
    np.multiply(a, value, out=out)
    target += out


def moments_(exp_avg: np.ndarray, exp_avg_sq: np.ndarray, g: np.ndarray, beta1: float,
             beta2: float, out: np.ndarray) -> None:
    """Adam's moment estimates in place: ``m ← β₁m + (1 − β₁)g``, ``v ← β₂v + (1 − β₂)g²``."""
    lerp_(exp_avg, g, 1 - beta1, out)
    exp_avg_sq *= beta2
    addcmul_(exp_avg_sq, 1 - beta2, g, g, out)


def decay_split(weight_decay: float, decoupled: bool, lr: float) -> tuple[float | None, float]:
    """``(shrink, coupled)`` for the Adam family's two kinds of weight decay: decoupled
    (AdamW), θ is first scaled by ``shrink = 1 − lr·λ`` (None when λ = 0); coupled, ``λ``
    is added to the gradient as ``λθ`` (``coupled = λ``, else 0)."""
    if decoupled:
        return (1 - lr * weight_decay if weight_decay != 0 else None), 0.0
    return None, weight_decay


def adam_moments_(theta: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
                  exp_avg_sq: np.ndarray, *, shrink: float | None, coupled: float,
                  maximize: bool, beta1: float, beta2: float, work: np.ndarray,
                  out: np.ndarray) -> np.ndarray:
    """The first half of an Adam-family step on NumPy arrays: the decoupled shrink of θ,
    the prepared gradient ``g`` (:func:`prepared_grad`) and the moments updated from it
    (:func:`moments_`); returns ``g`` (``grad`` itself or ``work``)."""
    if shrink is not None:
        theta *= shrink
    g = prepared_grad(theta, grad, coupled, maximize, work)
    moments_(exp_avg, exp_avg_sq, g, beta1, beta2, out)
    return g
