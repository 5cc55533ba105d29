"""``minimize(fun, x0)``: any function of a flat vector, by any of the library's methods.

::

    import steepest
    from steepest import functions

    f = functions.rosenbrock
    result = steepest.minimize(f.value_and_grad, f.start, method="lbfgs", jac=True)
    result.x, result.fun, result.nit, result.path      # path: every point visited

Every method is an entry of :data:`steepest.methods.METHODS` (its update rule, fixed
keywords, default rate and budget). The first-order methods are the optimizers of
:mod:`steepest.optim`, stepped on the exact (or finite-difference) gradient;
``newton`` and ``lbfgs`` are :func:`steepest.optim.newton.newton` and
:func:`steepest.optim.lbfgs.lbfgs`. All of
them share :mod:`steepest.optim.objective`: the function with its gradient in any
of the three forms and its evaluation counts, the path, the stopping tests and
the :class:`OptimizeResult`.

This module is private (``steepest._minimize``) so that the name
``steepest.minimize`` always means the function.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from steepest import optim
from steepest._types import ScalarOrSchedule
from steepest._validation import check_number, lookup
from steepest.errors import ParameterError
from steepest.methods import METHODS as TABLE
from steepest.optim.lbfgs import lbfgs
from steepest.optim.newton import newton
from steepest.optim.objective import Objective, OptimizeResult, Trace, check_start

__all__ = ["METHODS", "OptimizeResult", "minimize"]

METHODS: tuple[str, ...] = tuple(TABLE)
"""The method names :func:`minimize` accepts (case-insensitively), from
:data:`steepest.methods.METHODS`, where each method's rule, rate and budget are."""

_SET_BY_MINIMIZE = frozenset({"lr", "max_iter", "tol", "callback"})
"""The keywords of :func:`~steepest.optim.newton.newton` and
:func:`~steepest.optim.lbfgs.lbfgs` that minimize sets itself; the solvers' other
keyword-only parameters are the keywords minimize passes on to them."""

_TOL = 1e-6


# -- minimize ---------------------------------------------------------------------------


def _check_method(method) -> str:
    return lookup(method, {m: m for m in METHODS}, "minimize method")


def _check_keywords(method: str, given: dict, accepted) -> None:
    unknown = [k for k in given if k not in accepted]
    if unknown:
        raise ParameterError(
            f"minimize(method={method!r}) got the unknown keyword "
            f"{', '.join(repr(k) for k in unknown)}; it takes "
            f"{', '.join(repr(k) for k in accepted) or 'no other keywords'}."
        )


def minimize(
    fun: Callable,
    x0,
    method: str = "adam",
    *,
    jac: Callable | bool | None = None,
    hess: Callable | None = None,
    lr: ScalarOrSchedule | None = None,
    max_iter: int | None = None,
    tol: float = _TOL,
    callback: Callable | None = None,
    **optimizer_kwargs,
) -> OptimizeResult:
    """Minimise ``fun`` from ``x0`` by a first-order method, Newton's method or L-BFGS.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of shape (d,); with ``jac=True``,
        ``fun(x) -> (float, gradient)``.
    x0 : array-like of shape (d,)
        The start: finite real numbers (a scalar counts as d = 1). It is copied,
        never changed. Its float dtype is the result's: first-order methods compute
        in it (float32 stays float32); ``newton`` and ``lbfgs`` compute in float64
        and return ``x`` cast back to it. Integers are taken as float64.
    method : str, default="adam"
        One of :data:`METHODS`, case-insensitive:

        ==========  =========================================  ==========  ========
        method      what it is                                 default lr  max_iter
        ==========  =========================================  ==========  ========
        gd          ``optim.SGD``, no momentum                 1e-3        10000
        momentum    ``optim.SGD(momentum=0.9)``                1e-3        10000
        nesterov    ``optim.SGD(momentum=0.9, nesterov=True)`` 1e-3        10000
        adagrad     ``optim.Adagrad``                          0.5         10000
        rmsprop     ``optim.RMSprop``                          1e-3        10000
        adadelta    ``optim.Adadelta``                         1.0         10000
        adam,       ``optim.Adam``, ``AdamW``, ``NAdam``,      1e-2        10000
        adamw, ...  ``RAdam``, ``Adamax``
        newton      :func:`steepest.optim.newton.newton`       1.0         200
        lbfgs       :func:`steepest.optim.lbfgs.lbfgs`         1.0         1000
        ==========  =========================================  ==========  ========

        The first-order rates suit functions of a few coordinates of order 1 (a
        plain gradient step is ``lr * gradient``, so it starts small; the
        per-coordinate methods move each coordinate by about ``lr``); scale them to
        your function. The optimizers' other hyperparameters keep torch's defaults:
        ``adamw`` therefore decays ``x`` towards 0 (``weight_decay=0.01``) and
        settles near, not at, the minimum, and ``adadelta`` is slow on most of
        these functions. For ``newton`` and ``lbfgs``, ``lr`` scales the first trial
        step of each line search, and 1.0 (the full Newton or quasi-Newton step)
        is nearly always right. The rule, rate and budget of each method are read
        from :data:`steepest.methods.METHODS` (this table shows them).
    jac : callable, True or None, default=None
        The gradient: ``jac(x) -> ndarray of shape (d,)``; ``True`` when ``fun``
        returns ``(value, gradient)``; ``None`` (or ``False``) for central finite
        differences, ``2d`` calls of ``fun`` per gradient, counted in ``nfev`` and
        taken in float64 whatever ``x0``'s dtype (give ``jac`` for a ``fun`` that
        computes in float32 inside).
    hess : callable, optional
        ``hess(x) -> ndarray of shape (d, d)``, for ``method="newton"`` only. Without
        it Newton's method uses finite differences of the gradient (of the values
        when ``jac`` is None).
    lr : float or schedule, optional
        The learning rate (> 0), by default the method's (table above). First-order
        methods also take a schedule ``t -> lr`` (see :mod:`steepest.schedules`).
    max_iter : int, optional
        The most iterations (steps), by default the method's (table above).
    tol : float, default=1e-6
        Stop, successfully, when the largest gradient component in absolute value
        (the infinity norm) is at most ``tol``.
    callback : callable, optional
        Called after every iteration, as in ``scipy.optimize.minimize``: with the
        current result if it has a parameter named ``intermediate_result``
        (``callback(intermediate_result)``), else with a copy of the current point
        (``callback(xk)``). Returning True stops the run (``success`` is then False).
    **optimizer_kwargs
        For the first-order methods, the optimizer's other keywords (``betas``,
        ``weight_decay``, ``momentum``, ...). For ``lbfgs``: ``history_size``
        (default 10), ``ftol`` (1e-12), ``c1`` (1e-4), ``c2`` (0.9); for ``newton``:
        ``ftol`` (1e-12), ``c1`` (1e-4). ``ftol`` stops a second-order run,
        successfully, when ``|f_prev - f| <= ftol * max(|f_prev|, |f|, 1)``.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, njev, success, message, path, method``. When the
        value or gradient becomes NaN or infinite (a learning rate too large), or the
        run goes where no working descent goes, ``f`` more than
        :data:`~steepest.optim.objective.GROWTH` (1e6) times ``max(|f(x0)|, 1)`` above
        ``f(x0)`` or ``max |x_i|`` beyond 1e6 times ``max(max |x0_i|, 1)``, the run
        stops with ``success=False``, a message that it diverged and what to do, and
        ``x`` the last point before. ``lbfgs`` also stops, saying that "the function
        appears unbounded below along the search direction", when its line search
        finds the value falling as steeply as ever far out (the saddle ``x² - y²``).

    Raises
    ------
    ParameterError
        For an unknown method, ``hess`` with a method other than ``newton``, a bad
        ``x0``, ``lr``, ``max_iter`` or ``tol``, keywords the method does not take,
        or a ``fun`` that is not finite at ``x0``.

    Examples
    --------
    >>> from steepest import functions
    >>> f = functions.rosenbrock
    >>> result = minimize(f, f.start, method="lbfgs", jac=f.gradient)
    >>> result.success, result.x.round(6)
    (True, array([1., 1.]))
    """
    method = _check_method(method)
    if hess is not None and method != "newton":
        raise ParameterError(
            f"The 'hess' parameter of minimize is used only by method='newton'; got "
            f"method={method!r}. Remove hess, or use method='newton'."
        )
    if hess is not None and not callable(hess):
        raise ParameterError(
            f"The 'hess' parameter of minimize must be a callable x -> (d, d) array or None. "
            f"Got {hess!r} instead."
        )
    if not (jac is None or isinstance(jac, bool) or callable(jac)):
        raise ParameterError(
            "The 'jac' parameter of minimize must be a callable x -> gradient, True (fun "
            f"returns value and gradient) or None (finite differences). Got {jac!r} instead."
        )
    if not callable(fun):
        raise ParameterError(f"The 'fun' parameter of minimize must be callable. Got {fun!r}.")
    if callback is not None and not callable(callback):
        raise ParameterError(
            f"The 'callback' parameter of minimize must be callable or None. Got {callback!r}."
        )
    entry = TABLE[method]
    first_order = not entry.line_search
    if lr is None:
        lr = entry.minimize_lr
    elif not (first_order and callable(lr)):
        check_number(lr, "lr", "minimize", low=0.0, closed="neither")
    if max_iter is None:
        max_iter = entry.max_iter
    check_number(max_iter, "max_iter", "minimize", low=0, integer=True)
    check_number(tol, "tol", "minimize", low=0.0)
    start = check_start(x0)
    objective = Objective(fun, None if jac is False else jac,
                          dtype=start.dtype if first_order else np.float64)
    settings = {"lr": lr, "max_iter": max_iter, "tol": tol, "callback": callback}

    if method == "lbfgs":
        _check_keywords(method, optimizer_kwargs, _solver_keywords(lbfgs))
        return lbfgs(objective, start, **settings, **optimizer_kwargs)
    if method == "newton":
        _check_keywords(method, optimizer_kwargs, _solver_keywords(newton))
        return newton(objective, hess, start, **settings, **optimizer_kwargs)
    return _first_order(objective, start, method, optimizer_kwargs, **settings)


def _solver_keywords(solver: Callable) -> list[str]:
    """The keywords of ``solver`` (newton or lbfgs) that a caller of minimize may set."""
    return [name for name, p in inspect.signature(solver).parameters.items()
            if p.kind is p.KEYWORD_ONLY and name not in _SET_BY_MINIMIZE]


def _first_order(objective: Objective, x: np.ndarray, method: str, kwargs: dict, *,
                 lr: ScalarOrSchedule, max_iter: int, tol: float,
                 callback: Callable | None) -> OptimizeResult:
    """Step a :mod:`steepest.optim` optimizer on ``objective`` from ``x`` (updated in place)."""
    entry = TABLE[method]
    accepted = [p for p in inspect.signature(type(optim.get(entry.rule))).parameters
                if p != "lr"]
    _check_keywords(method, kwargs, accepted)
    optimizer = optim.get(entry.rule, lr=lr, **{**entry.fixed, **kwargs})
    f, g = objective.start(x)
    trace = Trace(method, x, f, g, tol=tol, max_iter=max_iter, callback=callback, lr=lr,
                  objective=objective)
    while not trace.done:
        # A step that overflows shows up as a non-finite f next, which the trace reports
        # as divergence with advice; NumPy's overflow warning would only repeat it.
        with np.errstate(over="ignore", invalid="ignore"):
            optimizer.step(x, g)
        f, g = objective.value_and_grad(x)
        trace.record(x, f, g)
    return trace.result()
