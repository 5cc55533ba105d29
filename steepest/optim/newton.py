"""Newton's method, made safe on non-convex functions.

::

    from steepest.optim.newton import newton
    result = newton(fun_and_grad, hess, x0)   # hess(x) -> (d, d), or None

The step solves ``(H + τ I) p = -g``, where ``τ >= 0`` is the smallest multiple of
the identity, found by doubling, for which ``H + τ I`` has a Cholesky factor
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., Alg. 3.3, "Cholesky with
added multiple of the identity"). Where ``H`` is positive definite, ``τ = 0`` and
``p`` is the Newton step, with its quadratic convergence; where it is not (near a
saddle or a maximum) ``p`` is still a descent direction, tilted towards the
gradient, and leans hard into directions of negative curvature instead of being
drawn to the stationary point the way the plain Newton step is. A backtracking
(Armijo) line search from the full step then guarantees the value decreases at
every iteration.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError
from steepest.optim.line_search import backtracking
from steepest.optim.objective import (
    Objective,
    OptimizeResult,
    Trace,
    check_start,
    resumed_point,
)

__all__ = ["added_identity", "newton"]


def added_identity(hessian: np.ndarray, beta: float = 1e-3,
                   max_tries: int = 100) -> float | None:
    """The smallest ``τ`` found by N&W Alg. 3.3 with ``hessian + τ I`` positive definite.

    ``τ`` starts at 0 when the diagonal is positive, else at ``-min(diag) + β``, and
    doubles (at least to ``β``) until the Cholesky factorisation succeeds. Here ``β``
    is ``beta`` times the Frobenius norm of ``hessian`` (``beta`` when it is 0), so
    that the shift is scale-free where N&W assume a well-scaled matrix.

    Parameters
    ----------
    hessian : ndarray of shape (d, d)
        A finite symmetric matrix.
    beta : float, default=1e-3
        The relative size of the smallest nonzero shift.
    max_tries : int, default=100
        The most factorisations attempted.

    Returns
    -------
    float or None
        ``τ``, or None when no shift worked within ``max_tries`` factorisations.
    """
    beta = beta * (float(np.linalg.norm(hessian)) or 1.0)
    smallest = float(np.min(np.diag(hessian)))
    tau = 0.0 if smallest > 0 else beta - smallest
    eye = np.eye(len(hessian))
    for _ in range(max_tries):
        try:
            np.linalg.cholesky(hessian + tau * eye)
            return tau
        except np.linalg.LinAlgError:
            tau = max(2 * tau, beta)
    return None


def newton(
    fun_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    hess: Callable[[np.ndarray], np.ndarray] | None,
    x0,
    *,
    lr: float = 1.0,
    max_iter: int = 200,
    tol: float = 1e-6,
    ftol: float = 1e-12,
    c1: float = 1e-4,
    callback: Callable | None = None,
    state: dict | None = None,
    checkpoint: Callable[[dict], object] | None = None,
) -> OptimizeResult:
    """Minimise a function by Newton's method with a shifted Hessian and a line search.

    Parameters
    ----------
    fun_and_grad : callable or Objective
        ``fun_and_grad(x) -> (value, gradient)`` for ``x`` of shape (d,), float64.
        An :class:`~steepest.optim.objective.Objective` also gives the line search a
        value-only evaluation, which finite differences make much cheaper.
    hess : callable or None
        ``hess(x) -> ndarray of shape (d, d)``; None for central finite differences
        of the gradient (``2d`` gradient evaluations per iteration).
    x0 : array-like of shape (d,)
        The start; not modified. The result's ``x`` has its float dtype.
    lr : float, default=1.0
        The first trial step of each backtracking search, as a multiple of the
        Newton step; > 0.
    max_iter : int, default=200
        The most iterations.
    tol : float, default=1e-6
        Stop when the infinity norm of the gradient is at most ``tol``.
    ftol : float, default=1e-12
        Stop when ``|f_prev - f| <= ftol * max(|f_prev|, |f|, 1)``.
    c1 : float, default=1e-4
        The sufficient-decrease constant of the line search, in (0, 1).
    callback : callable, optional
        As for :func:`steepest.minimize`.
    state : dict, optional
        A state that ``checkpoint`` received: continue that run from there, with the
        same function and settings (``x0`` only fixes the size and the result's
        dtype); it ends where the uninterrupted run would, bit for bit.
    checkpoint : callable, optional
        ``checkpoint(state)`` after every iteration, with the run's state as arrays and
        numbers (the :class:`~steepest.optim.objective.Trace`'s: point, value,
        gradient, counts). Save it to resume a killed run.

    Returns
    -------
    OptimizeResult
        The value decreases at every iteration of ``path``.
    """
    check_number(lr, "lr", "newton", low=0.0, closed="neither")
    check_number(max_iter, "max_iter", "newton", low=0, integer=True)
    check_number(tol, "tol", "newton", low=0.0)
    check_number(ftol, "ftol", "newton", low=0.0)
    check_number(c1, "c1", "newton", low=0.0, high=1.0, closed="neither")
    objective = Objective.wrap(fun_and_grad)
    start = check_start(x0, "newton")
    if state is None:
        x = start.astype(np.float64)
        f, g = objective.start(x)
    else:
        x, f, g = resumed_point(state, start, "newton")
    trace = Trace("newton", x, f, g, tol=tol, max_iter=max_iter, callback=callback, lr=lr,
                  objective=objective, ftol=ftol, dtype=start.dtype, state=state)
    while not trace.done:
        with np.errstate(over="ignore", invalid="ignore"):
            hessian = objective.hessian(x, f) if hess is None else hess(x.copy())
        hessian = _checked_hessian(hessian, x.size)
        tau = added_identity(hessian) if np.isfinite(hessian).all() else None
        if tau is None:
            trace.fail(
                f"The Hessian at iteration {trace.nit} is not finite, so Newton's method "
                "cannot go on; x is the last point reached. Check hess, or try method='lbfgs'."
            )
            break
        direction = np.linalg.solve(hessian + tau * np.eye(x.size), -g)
        search = backtracking(objective.value, x, direction, f, g @ direction, step=lr, c1=c1)
        if not search.success:
            trace.fail(
                "The line search found no lower value along the Newton direction (the "
                "function is flat to rounding there); the gradient norm is "
                f"{np.abs(g).max():.1e} > tol={tol:g}. Loosen tol, or rescale the function."
            )
            break
        x = search.x
        f, g = objective.value_and_grad(x)
        trace.record(x, f, g)
        if checkpoint is not None:
            checkpoint(trace.state_dict())
    return trace.result()


def _checked_hessian(hessian, d: int) -> np.ndarray:
    hessian = np.asarray(hessian)
    if hessian.shape != (d, d) or hessian.dtype.kind not in "biuf":
        raise ParameterError(
            f"hess must return a real array of shape ({d}, {d}); it returned {hessian.dtype} "
            f"of shape {hessian.shape}."
        )
    hessian = hessian.astype(np.float64)
    return (hessian + hessian.T) / 2
