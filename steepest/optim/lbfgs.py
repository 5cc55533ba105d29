"""L-BFGS: a quasi-Newton method that remembers the last few steps instead of a Hessian.

::

    from steepest.optim.lbfgs import lbfgs
    result = lbfgs(fun_and_grad, x0)          # fun_and_grad(x) -> (value, gradient)

The direction is ``-H g``, where ``H`` approximates the inverse Hessian from the
last ``history_size`` pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k`` and is
applied by the two-loop recursion (Nocedal & Wright, *Numerical Optimization*,
2nd ed., Alg. 7.4) without ever being formed; the step length comes from a
strong-Wolfe line search (Alg. 3.5/3.6), which keeps ``s·y > 0`` and so ``H``
positive definite. Memory and time per iteration are ``O(history_size · d)``.

On a function unbounded below along the direction (the saddle ``x² - y²``), the line
search stops growing its step once the value falls as steeply as ever far from ``x``
(:data:`steepest.optim.line_search.FAR`), and L-BFGS stops there, unsuccessfully,
saying so, instead of taking the enormous step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from steepest._validation import check_number
from steepest.optim.line_search import strong_wolfe
from steepest.optim.objective import (
    Objective,
    OptimizeResult,
    Trace,
    check_start,
    resumed_point,
)

__all__ = ["lbfgs", "two_loop"]

_EPS = np.finfo(np.float64).eps


def two_loop(grad: np.ndarray, history: Sequence[tuple[np.ndarray, np.ndarray, float]],
             gamma: float) -> np.ndarray:
    """``H g``: the L-BFGS inverse-Hessian approximation applied to ``grad`` (N&W Alg. 7.4).

    Parameters
    ----------
    grad : ndarray of shape (d,)
        The vector ``g`` to multiply.
    history : sequence of (s, y, rho)
        The stored pairs, oldest first, with ``rho = 1 / (s·y)``.
    gamma : float
        The initial inverse Hessian is ``gamma · I``.

    Returns
    -------
    ndarray of shape (d,)
        ``H g``; the search direction is its negative.
    """
    q = grad.copy()
    alphas = []
    for s, y, rho in reversed(history):
        alpha = rho * (s @ q)
        q -= alpha * y
        alphas.append(alpha)
    r = gamma * q
    for (s, y, rho), alpha in zip(history, reversed(alphas), strict=True):
        beta = rho * (y @ r)
        r += (alpha - beta) * s
    return r


def lbfgs(
    fun_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0,
    *,
    lr: float = 1.0,
    history_size: int = 10,
    max_iter: int = 1000,
    tol: float = 1e-6,
    ftol: float = 1e-12,
    c1: float = 1e-4,
    c2: float = 0.9,
    callback: Callable | None = None,
    state: dict | None = None,
    checkpoint: Callable[[dict], object] | None = None,
) -> OptimizeResult:
    """Minimise a function by L-BFGS with a strong-Wolfe line search.

    Each iteration: the direction ``d = -H g`` by :func:`two_loop`, with
    ``gamma = s·y / y·y`` from the newest pair (N&W eq. 7.20); a strong-Wolfe line
    search from the step ``lr`` (``lr · min(1, 1/‖g‖₁)`` on the first iteration,
    where there is no curvature yet to set the scale, as torch.optim.LBFGS does);
    then the new pair joins the history, the oldest leaving when it is full.

    Parameters
    ----------
    fun_and_grad : callable or Objective
        ``fun_and_grad(x) -> (value, gradient)`` for ``x`` of shape (d,), float64.
    x0 : array-like of shape (d,)
        The start; not modified. The result's ``x`` has its float dtype.
    lr : float, default=1.0
        The first trial step of each line search, as a multiple of the
        quasi-Newton step; > 0.
    history_size : int, default=10
        The number of ``(s, y)`` pairs kept, >= 1.
    max_iter : int, default=1000
        The most iterations.
    tol : float, default=1e-6
        Stop when the infinity norm of the gradient is at most ``tol``.
    ftol : float, default=1e-12
        Stop when ``|f_prev - f| <= ftol * max(|f_prev|, |f|, 1)``.
    c1, c2 : float, default=1e-4, 0.9
        The strong-Wolfe constants, ``0 < c1 < c2 < 1``.
    callback : callable, optional
        As for :func:`steepest.minimize`.
    state : dict, optional
        A state that ``checkpoint`` received: continue that run from there, with the
        same function and settings (``x0`` only fixes the size and the result's
        dtype); it ends where the uninterrupted run would, bit for bit.
    checkpoint : callable, optional
        ``checkpoint(state)`` after every iteration, with the run's state as arrays
        and numbers: the :class:`~steepest.optim.objective.Trace`'s (point, value,
        gradient, counts) plus ``pairs``, the stored ``(s, y, rho)``, oldest first,
        and ``gamma``. Save it (``steepest.train.state.save_state``) to resume a
        killed run.

    Returns
    -------
    OptimizeResult
        ``nfev`` (and ``njev``) count calls of ``fun_and_grad``. When a line search
        finds the function unbounded below along the direction
        (:attr:`~steepest.optim.line_search.LineSearchResult.unbounded`), the run
        stops, unsuccessfully, at the point before that search, with a message that
        begins "The function appears unbounded below along the search direction".
    """
    check_number(lr, "lr", "lbfgs", low=0.0, closed="neither")
    check_number(history_size, "history_size", "lbfgs", low=1, integer=True)
    check_number(max_iter, "max_iter", "lbfgs", low=0, integer=True)
    check_number(tol, "tol", "lbfgs", low=0.0)
    check_number(ftol, "ftol", "lbfgs", low=0.0)
    check_number(c1, "c1", "lbfgs", low=0.0, high=1.0, closed="neither")
    check_number(c2, "c2", "lbfgs", low=c1, high=1.0, closed="neither")
    objective = Objective.wrap(fun_and_grad)
    start = check_start(x0, "lbfgs")
    history: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=history_size)
    gamma = 1.0
    if state is None:
        x = start.astype(np.float64)
        f, g = objective.start(x)
    else:
        x, f, g = resumed_point(state, start, "lbfgs")
        history.extend((np.asarray(s, np.float64), np.asarray(y, np.float64), float(rho))
                       for s, y, rho in state["pairs"])
        gamma = float(state["gamma"])
    trace = Trace("lbfgs", x, f, g, tol=tol, max_iter=max_iter, callback=callback, lr=lr,
                  objective=objective, ftol=ftol, dtype=start.dtype, state=state)
    while not trace.done:
        direction = -two_loop(g, history, gamma)
        slope = g @ direction
        if not slope < 0:  # H lost positive definiteness to rounding: restart from -g
            history.clear()
            gamma, direction, slope = 1.0, -g, -(g @ g)
        step = lr if history else lr * min(1.0, 1.0 / np.abs(g).sum())
        search = strong_wolfe(objective.value_and_grad, x, direction, f, g,
                              step=step, c1=c1, c2=c2)
        if search.unbounded:
            trace.fail(
                "The function appears unbounded below along the search direction: the line "
                f"search found f falling from {f:.3g} to {search.fun:.3g} over a step of "
                f"{np.abs(search.x - x).max():.3g} (infinity norm), as steeply as at its start, "
                "and stopped there rather than take it; x is the point before that search. "
                "Check that the function has a minimum (add a penalty or bounds if it should)."
            )
            break
        if search.step == 0:
            if history:  # a poor direction from stale curvature: retry along -g
                history.clear()
                gamma = 1.0
                continue
            trace.fail(
                "The line search found no lower value along the negative gradient (the "
                "function is flat to rounding there); the gradient norm is "
                f"{np.abs(g).max():.1e} > tol={tol:g}. Loosen tol, or rescale the function."
            )
            break
        s, y = search.x - x, search.jac - g
        sy = s @ y
        # Keep the pair only when the curvature condition s·y > 0 holds with margin:
        # a pair with s·y <= eps |s| |y| (possible when the line search stopped
        # without meeting the Wolfe conditions) would make H indefinite or blow it
        # up, so it is skipped and H stays as it was.
        if sy > _EPS * np.linalg.norm(s) * np.linalg.norm(y):
            history.append((s, y, 1.0 / sy))
            gamma = sy / (y @ y)
        x, f, g = search.x, search.fun, search.jac
        trace.record(x, f, g)
        if checkpoint is not None:
            checkpoint({**trace.state_dict(), "gamma": gamma,
                        "pairs": [[s, y, rho] for s, y, rho in history]})
    return trace.result()
