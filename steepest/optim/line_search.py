"""Line searches: how far to go along a descent direction.

Given a point ``x``, a direction ``d`` with ``∇f(x)·d < 0`` and the function along it,
``φ(t) = f(x + t d)``, a line search picks a step ``t > 0``:

- :func:`strong_wolfe` finds ``t`` satisfying the strong Wolfe conditions
  (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Alg. 3.5 and 3.6)::

      φ(t) <= φ(0) + c1 t φ'(0)          (sufficient decrease, "Armijo")
      |φ'(t)| <= c2 |φ'(0)|              (curvature)

  which quasi-Newton methods need so that ``s·y > 0`` keeps their Hessian
  approximation positive definite. It evaluates the gradient at every trial.
- :func:`backtracking` only asks for sufficient decrease and evaluates values only
  (Alg. 3.1, with safeguarded quadratic interpolation); Newton's method, whose
  unit step is usually right, uses it.

Both work in float64 and treat a NaN or +inf value as "too far": they shrink the
step rather than fail. A value of -inf, the mark of a function unbounded below,
is returned as found, for the caller to report. :func:`strong_wolfe` also stops
growing its step, and says the function looks ``unbounded`` along the direction,
when the value keeps falling with a slope no flatter than at the start out to
:data:`FAR` times the scale of ``x`` (or for all its trials): on the saddle
``x² - y²`` it would otherwise extrapolate to steps of 1e17.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError

__all__ = ["FAR", "LineSearchResult", "backtracking", "strong_wolfe"]

FAR = 1e8
""":func:`strong_wolfe` calls the function unbounded below along the direction when a
trial ``x + t d`` with a falling value and a slope ``φ'(t) <= φ'(0)`` (no sign of the
curvature that would bring it back up) lies more than ``FAR * max(max |x_i|, 1)`` from
``x`` in the infinity norm."""


@dataclass(frozen=True)
class LineSearchResult:
    """The outcome of a line search.

    Attributes
    ----------
    step : float
        The step ``t`` taken; ``0.0`` when no point with a lower value was found.
    x : ndarray of shape (d,)
        The new point ``x + step * direction`` (float64); the start when ``step == 0``.
    fun : float
        The value at ``x``.
    jac : ndarray of shape (d,) or None
        The gradient at ``x`` (:func:`strong_wolfe` only).
    nfev : int
        The number of function evaluations the search made.
    success : bool
        Whether the conditions were met. When they were not, ``step`` is still the
        best step found that gives sufficient decrease, if any.
    unbounded : bool
        :func:`strong_wolfe` only: the value kept falling, the slope never flattening,
        out to :data:`FAR` times the scale of ``x`` or for every trial, so the function
        appears unbounded below along the direction. ``success`` is then False, and
        ``step``, ``x``, ``fun`` and ``jac`` describe the farthest trial: evidence to
        report, not a step to take.
    """

    step: float
    x: np.ndarray
    fun: float
    jac: np.ndarray | None
    nfev: int
    success: bool
    unbounded: bool = False


@dataclass(frozen=True)
class _Trial:
    """One evaluation along the line: the step, φ, φ' and the gradient there."""

    t: float
    x: np.ndarray
    phi: float
    dphi: float
    grad: np.ndarray | None

    @property
    def finite(self) -> bool:
        return math.isfinite(self.phi) and math.isfinite(self.dphi)


def _check_direction(slope: float, owner: str) -> None:
    if not slope < 0:
        raise ParameterError(
            f"{owner} needs a descent direction, one with gradient·direction < 0; got "
            f"gradient·direction = {slope!r}. Use the negative gradient, or a direction "
            "from a positive definite Hessian approximation."
        )


def _sufficient_decrease(f0: float, slope: float, c1: float) -> Callable[[float, float], bool]:
    """The Armijo test ``φ(t) <= φ(0) + c1 t φ'(0)``, made strict: ``φ(t) < φ(0)`` too.

    For steps so small that ``c1 t φ'(0)`` is below the rounding of ``φ(0)``, the
    plain test accepts a value equal to ``φ(0)``: no decrease at all. False for NaN.
    """
    return lambda t, value: value <= f0 + c1 * t * slope and value < f0


def _cubic_minimizer(a: _Trial, b: _Trial) -> float | None:
    """The minimiser of the cubic matching φ and φ' at ``a.t`` and ``b.t`` (N&W eq. 3.59).

    None when the cubic has no minimiser or the numbers are not finite.
    """
    with np.errstate(all="ignore"):
        d1 = a.dphi + b.dphi - 3 * (a.phi - b.phi) / (a.t - b.t)
        discriminant = d1 * d1 - a.dphi * b.dphi
        if not discriminant >= 0:
            return None
        d2 = math.copysign(math.sqrt(discriminant), b.t - a.t)
        denominator = b.dphi - a.dphi + 2 * d2
        t = b.t - (b.t - a.t) * (b.dphi + d2 - d1) / denominator if denominator else math.nan
    return t if math.isfinite(t) else None


def strong_wolfe(
    fun_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x: np.ndarray,
    direction: np.ndarray,
    f0: float,
    g0: np.ndarray,
    *,
    step: float = 1.0,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_iter: int = 25,
) -> LineSearchResult:
    """A step along ``direction`` that satisfies the strong Wolfe conditions.

    Nocedal & Wright's Alg. 3.5 brackets a step, growing the trial by cubic
    extrapolation (into ``[1.1 t, 10 t]``) while the value keeps falling; Alg. 3.6
    ("zoom") then shrinks the bracket by safeguarded cubic interpolation (a
    bisection when the cubic's minimiser lies in the outer tenths of the bracket
    or does not exist). A non-finite value counts as a value too high.

    Parameters
    ----------
    fun_and_grad : callable
        ``fun_and_grad(x) -> (value, gradient)``.
    x : ndarray of shape (d,)
        The start point.
    direction : ndarray of shape (d,)
        A descent direction: ``g0 @ direction < 0``.
    f0 : float
        The value at ``x``.
    g0 : ndarray of shape (d,)
        The gradient at ``x``.
    step : float, default=1.0
        The first trial step, > 0.
    c1 : float, default=1e-4
        The sufficient-decrease constant, in (0, c2).
    c2 : float, default=0.9
        The curvature constant, in (c1, 1); 0.9 suits quasi-Newton methods, 0.1
        nonlinear conjugate gradients.
    max_iter : int, default=25
        The most evaluations in each of the two phases.

    Returns
    -------
    LineSearchResult
        With the gradient at the new point in ``jac``. When the conditions cannot
        be met within ``max_iter`` evaluations or the bracket shrinks below
        rounding, ``success`` is False and the step is the lowest point found that
        satisfies sufficient decrease (``0.0`` when there is none); when a trial
        value is -inf, ``success`` is False and that trial is returned. When the
        value keeps falling with ``φ'(t) <= φ'(0)`` out to a trial more than
        :data:`FAR` ``* max(max |x_i|, 1)`` from ``x``, or for all ``max_iter``
        trials of the first phase, ``unbounded`` is True and that trial is returned.

    Raises
    ------
    ParameterError
        For constants outside ``0 < c1 < c2 < 1``, a step <= 0, or a direction
        that is not a descent direction.
    """
    check_number(c1, "c1", "strong_wolfe", low=0.0, high=1.0, closed="neither")
    check_number(c2, "c2", "strong_wolfe", low=c1, high=1.0, closed="neither")
    check_number(step, "step", "strong_wolfe", low=0.0, closed="neither")
    x = np.asarray(x, dtype=np.float64)
    direction = np.asarray(direction, dtype=np.float64)
    g0 = np.asarray(g0, dtype=np.float64)
    f0 = float(f0)
    dphi0 = float(g0 @ direction)
    _check_direction(dphi0, "strong_wolfe")
    sufficient = _sufficient_decrease(f0, dphi0, c1)
    nfev = 0

    def evaluate(t: float) -> _Trial:
        nonlocal nfev
        nfev += 1
        point = x + t * direction
        with np.errstate(all="ignore"):
            value, grad = fun_and_grad(point)
            grad = np.asarray(grad, dtype=np.float64).reshape(x.shape)
            return _Trial(t, point, float(value), float(grad @ direction), grad)

    def too_high(trial: _Trial, bound: float) -> bool:
        """No sufficient decrease, or no lower than ``bound``: a Wolfe step lies before."""
        return not (trial.finite and sufficient(trial.t, trial.phi) and trial.phi < bound)

    def wolfe(trial: _Trial) -> bool:
        return abs(trial.dphi) <= -c2 * dphi0

    def done(trial: _Trial, success: bool, unbounded: bool = False) -> LineSearchResult:
        return LineSearchResult(trial.t, trial.x, trial.phi, trial.grad, nfev, success,
                                unbounded)

    reach = FAR * max(float(np.max(np.abs(x), initial=0.0)), 1.0)

    def zoom(lo: _Trial, hi: _Trial) -> LineSearchResult:
        # Invariants (N&W §3.5): the bracket between lo.t and hi.t holds a Wolfe step;
        # lo has the lowest value among the trials that satisfy sufficient decrease;
        # lo.dphi * (hi.t - lo.t) < 0.
        for _ in range(max_iter):
            left, right = min(lo.t, hi.t), max(lo.t, hi.t)
            if np.array_equal(x + left * direction, x + right * direction):
                break  # the bracket no longer tells points apart: rounding has won
            t = _cubic_minimizer(lo, hi) if hi.finite else None
            margin = 0.1 * (right - left)
            if t is None or not left + margin <= t <= right - margin:
                t = (left + right) / 2
            trial = evaluate(t)
            if trial.phi == -math.inf:
                return done(trial, False)
            if too_high(trial, lo.phi):
                hi = trial
            else:
                if wolfe(trial):
                    return done(trial, True)
                if trial.dphi * (hi.t - lo.t) >= 0:
                    hi = lo
                lo = trial
        return done(lo, False)

    previous = _Trial(0.0, x, f0, dphi0, g0)
    t = float(step)
    for i in range(max_iter):
        trial = evaluate(t)
        if trial.phi == -math.inf:
            return done(trial, False)
        if too_high(trial, previous.phi if i else math.inf):
            return zoom(previous, trial)
        if wolfe(trial):
            return done(trial, True)
        if trial.dphi >= 0:
            return zoom(trial, previous)
        if trial.dphi <= dphi0 and (i == max_iter - 1
                                    or float(np.max(np.abs(trial.t * direction))) > reach):
            return done(trial, False, unbounded=True)  # falling as steeply as ever, far out
        # Still falling: extrapolate, to between 1.1 and 10 times the step.
        guess = _cubic_minimizer(previous, trial)
        t = min(max(guess if guess is not None else 10 * t, 1.1 * t), 10 * t)
        previous = trial
    return done(previous, False)


def backtracking(
    fun: Callable[[np.ndarray], float],
    x: np.ndarray,
    direction: np.ndarray,
    f0: float,
    slope: float,
    *,
    step: float = 1.0,
    c1: float = 1e-4,
    max_iter: int = 60,
) -> LineSearchResult:
    """The first step from ``step`` down that gives sufficient decrease (Armijo).

    Each rejected step ``t`` is replaced by the minimiser of the quadratic matching
    ``φ(0)``, ``φ'(0)`` and ``φ(t)``, kept within ``[0.1 t, 0.5 t]`` (Nocedal &
    Wright §3.5); after a non-finite value, by ``0.1 t``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> value``.
    x : ndarray of shape (d,)
        The start point.
    direction : ndarray of shape (d,)
        A descent direction.
    f0 : float
        The value at ``x``.
    slope : float
        The directional derivative ``∇f(x)·direction``, < 0.
    step : float, default=1.0
        The first trial step, > 0.
    c1 : float, default=1e-4
        The sufficient-decrease constant, in (0, 1).
    max_iter : int, default=60
        The most evaluations.

    Returns
    -------
    LineSearchResult
        ``jac`` is None. When no step gives sufficient decrease before the step
        stops moving ``x`` (or after ``max_iter`` trials), ``success`` is False and
        ``step`` is 0.
    """
    check_number(c1, "c1", "backtracking", low=0.0, high=1.0, closed="neither")
    check_number(step, "step", "backtracking", low=0.0, closed="neither")
    x = np.asarray(x, dtype=np.float64)
    direction = np.asarray(direction, dtype=np.float64)
    f0, slope = float(f0), float(slope)
    _check_direction(slope, "backtracking")
    sufficient = _sufficient_decrease(f0, slope, c1)
    t = float(step)
    for nfev in range(1, max_iter + 1):
        point = x + t * direction
        if np.array_equal(point, x):
            return LineSearchResult(0.0, x, f0, None, nfev - 1, False)
        with np.errstate(all="ignore"):
            value = float(fun(point))
        if sufficient(t, value):
            return LineSearchResult(t, point, value, None, nfev, True)
        if math.isfinite(value):
            guess = -slope * t * t / (2 * (value - f0 - slope * t))
            t = min(max(guess, 0.1 * t), 0.5 * t)
        else:
            t *= 0.1
    return LineSearchResult(0.0, x, f0, None, max_iter, False)
