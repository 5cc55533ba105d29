"""What ``minimize``, ``lbfgs`` and ``newton`` share: the objective, the trace, the result.

:class:`Objective` wraps the user's function with its gradient in any of the three
``jac`` forms and counts evaluations; :class:`Trace` records the path, applies the
stopping tests and builds the :class:`OptimizeResult`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from steepest import _finite_diff
from steepest._types import ScalarOrSchedule
from steepest.errors import ParameterError, StateError

__all__ = ["GROWTH", "Objective", "OptimizeResult", "Trace", "check_start",
           "resumed_point"]

GROWTH = 1e6
"""How far a run may go before :class:`Trace` calls it diverged although every number is
finite: ``f`` rising more than ``GROWTH * max(|f(x0)|, 1)`` above ``f(x0)``, or
``max |x_i|`` passing ``GROWTH * max(max |x0_i|, 1)``. No descent that is working gets
there; a learning rate far too large (RAdam's first, unadapted steps, say) or a function
unbounded below does, and would otherwise run to ``max_iter`` at huge values."""


# -- the result ----------------------------------------------------------------------


@dataclass
class OptimizeResult:
    """What :func:`minimize` found, with the attribute names of ``scipy.optimize``.

    Attributes
    ----------
    x : ndarray of shape (d,)
        The solution: the last point reached, always finite, in ``x0``'s float dtype.
    fun : float
        The value at ``x``.
    jac : ndarray of shape (d,)
        The gradient at ``x`` (exact or finite-difference), in ``x``'s dtype.
    nit : int
        The number of iterations (accepted steps).
    nfev : int
        The number of calls of ``fun``, finite-difference calls included.
    njev : int
        The number of gradients computed by the caller's code: calls of ``jac``, or
        of ``fun`` when ``jac=True``; 0 with finite differences.
    success : bool
        Whether a convergence test was met (not the iteration limit, a divergence,
        a failed line search or a stop asked by the callback).
    message : str
        Why the run stopped, and what to do about it when it did not converge.
    path : ndarray of shape (nit + 1, d)
        Every point the run visited, ``x0`` first and ``x`` last (for a run continued
        from a saved state, the points from the resumed one on).
    method : str
        The method's name, lower case.
    """

    x: np.ndarray
    fun: float
    jac: np.ndarray
    nit: int
    nfev: int
    njev: int
    success: bool
    message: str
    path: np.ndarray
    method: str

    def __repr__(self) -> str:
        def show(value) -> str:
            if isinstance(value, np.ndarray):
                return np.array2string(value, precision=6, threshold=8, separator=", ")
            return repr(value)

        fields = {
            "method": self.method, "success": self.success, "message": self.message,
            "x": self.x, "fun": self.fun, "jac": self.jac, "nit": self.nit,
            "nfev": self.nfev, "njev": self.njev,
        }
        body = "".join(f"{k:>7}: {show(v)}\n" for k, v in fields.items())
        path = f"{self.path.dtype} array of shape {self.path.shape}"
        return f"OptimizeResult(\n{body}   path: {path}\n)"


# -- the function, its gradient and evaluation counts --------------------------------------


def check_start(x0, owner: str = "minimize") -> np.ndarray:
    """``x0`` as a fresh 1-D float array (its float dtype kept; integers become float64).

    Raises :class:`ParameterError`, naming ``x0``, for anything but a non-empty
    scalar or 1-D sequence of finite real numbers.
    """
    rule = f"The 'x0' parameter of {owner} must be a 1-D array of finite real numbers"
    try:
        array = np.array(x0)  # a copy: the caller's x0 is never changed
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{rule}. Got {x0!r}, which NumPy cannot read ({error}).") from None
    if array.dtype.kind not in "iuf":
        raise ParameterError(f"{rule}. Got {x0!r}, an array of dtype {array.dtype}.")
    if array.ndim > 1 or array.size == 0:
        raise ParameterError(
            f"{rule}. Got an array of shape {array.shape}"
            + (". Flatten it with np.ravel and reshape inside fun." if array.size else ".")
        )
    array = np.atleast_1d(array)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ParameterError(f"{rule}. Got x0[{bad[0]}] = {array[bad[0]]!r}.")
    return array


def resumed_point(state: dict, start: np.ndarray,
                  owner: str) -> tuple[np.ndarray, float, np.ndarray]:
    """``(x, f, g)`` of a saved run's ``state`` (as :meth:`Trace.state_dict` gives it),
    float64; a state of another size than ``start`` is a :class:`StateError`."""
    x, g = np.asarray(state["x"], np.float64), np.asarray(state["g"], np.float64)
    if x.shape != start.shape or g.shape != start.shape:
        raise StateError(
            f"The state given to {owner} is at a point of shape {x.shape}; x0 has shape "
            f"{start.shape}. Resume with the function and x0 of the run that saved it."
        )
    return x.copy(), float(state["f"]), g.copy()


def _scalar(value, where: str) -> float:
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ParameterError(
            f"{where} must return a real number; it returned {type(value).__name__}"
            + (f" of shape {array.shape}" if array.ndim else "")
            + (f" and dtype {array.dtype}" if array.dtype.kind not in "biuf" else "")
            + ". Return a float, e.g. with float(...) or .sum()."
        )
    return float(array.reshape(()))


class Objective:
    """A function with its gradient, in any of the forms ``minimize`` takes, counting calls.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, or ``fun(x) -> (float, gradient)`` when ``jac is True``.
    jac : callable, True or None, default=True
        The gradient: a function ``jac(x) -> ndarray``, ``True`` when ``fun``
        returns it, or ``None`` for central finite differences of ``fun``.
    dtype : numpy float dtype, default=float64
        The dtype of the gradients returned. Finite differences are always taken in
        float64 (``fun`` is then called with float64 points).

    ``fun`` and ``jac`` are called with a copy of the point, never at a point with
    a NaN or an infinity (the value is then NaN), and with NumPy's overflow and
    invalid-value warnings silenced: the run reports a non-finite value itself.
    """

    def __init__(self, fun: Callable, jac: Callable | bool | None = True, *,
                 dtype=np.float64) -> None:
        self.fun, self.jac, self.dtype = fun, jac, np.dtype(dtype)
        self.nfev = self.njev = 0
        self._memo: tuple[np.ndarray, float, np.ndarray | None] | None = None

    @classmethod
    def wrap(cls, fun_and_grad: Callable | Objective) -> Objective:
        """``fun_and_grad`` itself when it is an Objective, else an Objective with ``jac=True``."""
        return fun_and_grad if isinstance(fun_and_grad, Objective) else cls(fun_and_grad)

    def _call(self, x: np.ndarray) -> tuple[float, np.ndarray | None]:
        """One call of ``fun``: the value, and the gradient when ``jac is True``."""
        self.nfev += 1
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.fun(x.copy())
        if self.jac is not True:
            return _scalar(out, "fun"), None
        self.njev += 1
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise ParameterError(
                "With jac=True, fun must return a pair (value, gradient); it returned "
                f"{type(out).__name__}. Return both, or pass jac=None for finite differences."
            )
        return _scalar(out[0], "fun"), self._vector(out[1], x, "The gradient fun returns")

    def _vector(self, grad, x: np.ndarray, where: str) -> np.ndarray:
        grad = np.asarray(grad)
        if grad.size != x.size or grad.dtype.kind not in "biuf":
            raise ParameterError(
                f"{where} must be {x.size} real numbers, one per coordinate of x0; got "
                f"{grad.dtype} of shape {grad.shape}."
            )
        return grad.astype(self.dtype, copy=False).reshape(x.shape)

    def value(self, x: np.ndarray) -> float:
        """``fun(x)``, NaN at a non-finite ``x``; remembered, so that ``value_and_grad``
        at the same point does not call ``fun`` again."""
        if not np.isfinite(x).all():
            return math.nan
        f, g = self._call(x)
        self._memo = (x.copy(), f, g)
        return f

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """The gradient at ``x``: ``jac(x)``, from ``fun`` when ``jac=True``, or central
        finite differences (``2d`` calls of ``fun``)."""
        if callable(self.jac):
            self.njev += 1
            with np.errstate(over="ignore", invalid="ignore"):
                return self._vector(self.jac(x.copy()), x, "The gradient jac returns")
        if self.jac is True:
            return self._call(x)[1]
        # In float64 whatever x's dtype: float32 steps would leave errors of about
        # eps32^(2/3) ~ 1e-5 relative, enough to move the minimum found.
        grad = _finite_diff.gradient(lambda p: self._call(p)[0], x.astype(np.float64))
        return grad.astype(self.dtype, copy=False)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``(fun(x), gradient at x)``; NaN and a NaN gradient at a non-finite ``x``."""
        if not np.isfinite(x).all():
            return math.nan, np.full(x.shape, np.nan, self.dtype)
        memo, self._memo = self._memo, None
        if memo is not None and np.array_equal(memo[0], x):
            f, g = memo[1], memo[2]
        else:
            f, g = self._call(x)
        return f, self.gradient(x) if g is None else g

    def hessian(self, x: np.ndarray, f: float | None = None) -> np.ndarray:
        """The finite-difference Hessian at ``x``: of the gradient when there is one (``2d``
        gradients), else of the values (``2d²`` calls given ``f = fun(x)``, one more
        without); see :mod:`steepest._finite_diff`."""
        if self.jac is None or self.jac is False:
            return _finite_diff.hessian(lambda p: self._call(p)[0], x, f0=f)
        return _finite_diff.hessian_from_gradient(self.gradient, x)

    def start(self, x0: np.ndarray) -> tuple[float, np.ndarray]:
        """The value and gradient at the start, which must be finite."""
        f, g = self.value_and_grad(x0)
        if not math.isfinite(f):
            raise ParameterError(
                f"fun returned {f!r} at x0; the start must have a finite value. Choose another x0."
            )
        bad = np.flatnonzero(~np.isfinite(g))
        if bad.size:
            raise ParameterError(
                f"The gradient at x0 has component {bad[0]} = {g[bad[0]]!r}; the start must "
                "have a finite gradient. Choose another x0, or check jac."
            )
        return f, g


# -- the loop bookkeeping every method shares -------------------------------------------


def _callback_wants_result(callback: Callable) -> bool:
    """scipy's rule: a callback with a parameter named ``intermediate_result`` gets the
    current OptimizeResult, any other the current point ``xk``."""
    try:
        return "intermediate_result" in inspect.signature(callback).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


class Trace:
    """The path, the stopping tests and the result: the part of the loop all methods share.

    A method creates a Trace at ``x0``, then, until :attr:`done`, takes a step and
    :meth:`record`\\ s the new point, or calls :meth:`fail` when it cannot go on.
    The tests, in order, after each recorded step:

    1. a NaN or infinity in the point, value or gradient, or a run gone beyond
       :data:`GROWTH` (``f > f(x0) + GROWTH * max(|f(x0)|, 1)``, or
       ``max |x_i| > GROWTH * max(max |x0_i|, 1)``): "diverged", unsuccessful, at the
       last point before (the bad point is not recorded), with advice (a smaller
       learning rate; for ``f`` falling to -inf or far away, whether the function is
       bounded below);
    2. ``max |g_i| <= tol`` (the infinity norm of the gradient): success;
    3. with ``ftol`` set, ``|f_prev - f| <= ftol * max(|f_prev|, |f|, 1)``: success;
    4. the callback returned True: stop, unsuccessful;
    5. ``max_iter`` steps taken: stop, unsuccessful.

    Test 2 is also applied at ``x0``, so a run that starts at a minimum takes no step.

    Parameters
    ----------
    method : str
        The method's name, for messages and the result.
    x0 : ndarray of shape (d,)
        The start; ``f0`` and ``g0`` its value and gradient.
    tol, max_iter, callback, lr, ftol
        As for :func:`minimize`; ``lr`` is only quoted in messages.
    objective : Objective
        Where the evaluation counts are read.
    dtype : numpy float dtype, optional
        The dtype of the result's ``x``, ``jac`` and ``path``; ``x0``'s by default.
    state : dict, optional
        A :meth:`state_dict` of the same run: go on from there (``x0``, ``f0`` and
        ``g0`` are then its point, value and gradient). The iteration and evaluation
        counts, the divergence limits and a stop carry over; :attr:`path` holds the
        points from the resumed one on.
    """

    def __init__(self, method: str, x0: np.ndarray, f0: float, g0: np.ndarray, *,
                 tol: float, max_iter: int, callback: Callable | None,
                 lr: ScalarOrSchedule, objective: Objective, ftol: float | None = None,
                 dtype=None, state: dict | None = None) -> None:
        self.method, self.tol, self.max_iter, self.ftol = method, tol, max_iter, ftol
        self.lr, self.objective = lr, objective
        self.callback = callback
        self._result_callback = callback is not None and _callback_wants_result(callback)
        self.dtype = np.dtype(x0.dtype if dtype is None else dtype)
        self._path = np.empty((min(max_iter, 63) + 1, x0.size), x0.dtype)
        self._path[0] = x0
        self.x, self.f, self.g = x0.copy(), float(f0), g0.copy()
        self._f0 = float(f0)
        self._f_limit = self._f0 + GROWTH * max(abs(self._f0), 1.0)
        self._x_limit = GROWTH * max(float(np.max(np.abs(x0), initial=0.0)), 1.0)
        self.nit = self._first = 0
        self.success: bool | None = None
        self.message = ""
        if state is not None:
            self._load_state_dict(state)
        elif self._gradient_norm() <= tol:
            self._stop(True, self._converged_message())
        elif max_iter == 0:
            self._stop(False, self._max_iter_message())

    def state_dict(self) -> dict:
        """The run so far, as arrays and numbers: the point ``x``, its value ``f`` and
        gradient ``g`` (float64), the counts ``nit``, ``nfev``, ``njev``, the divergence
        limits, and ``success``/``message`` once stopped (None and "" before)."""
        return {"x": self.x.astype(np.float64), "f": self.f, "g": self.g.astype(np.float64),
                "nit": self.nit, "nfev": self.objective.nfev, "njev": self.objective.njev,
                "f0": self._f0, "f_limit": self._f_limit, "x_limit": self._x_limit,
                "success": self.success, "message": self.message}

    def _load_state_dict(self, state: dict) -> None:
        self.nit = self._first = int(state["nit"])
        self.objective.nfev, self.objective.njev = int(state["nfev"]), int(state["njev"])
        self._f0, self._f_limit = float(state["f0"]), float(state["f_limit"])
        self._x_limit = float(state["x_limit"])
        self.success = None if state["success"] is None else bool(state["success"])
        self.message = str(state["message"])

    @property
    def done(self) -> bool:
        """Whether the run has stopped."""
        return self.success is not None

    @property
    def path(self) -> np.ndarray:
        """The points visited so far, ``(nit + 1, d)``, a read-only view."""
        view = self._path[: self.nit - self._first + 1]
        view.flags.writeable = False
        return view

    def _stop(self, success: bool, message: str) -> None:
        self.success, self.message = success, message

    def _gradient_norm(self) -> float:
        return float(np.max(np.abs(self.g)))

    def _converged_message(self) -> str:
        return f"Gradient norm below tol: max|g_i| = {self._gradient_norm():.1e} <= {self.tol:g}."

    def _max_iter_message(self) -> str:
        return (
            f"Maximum number of iterations reached (max_iter={self.max_iter}); the gradient "
            f"norm is {self._gradient_norm():.1e} > tol={self.tol:g}. Increase max_iter, or "
            "raise lr if the value was still falling steadily."
        )

    def _diverged(self, x: np.ndarray, f: float, g: np.ndarray) -> bool:
        """Test 1: a non-finite number, or ``f`` or ``x`` beyond :data:`GROWTH`."""
        if not (math.isfinite(f) and np.isfinite(x).all() and np.isfinite(g).all()):
            return True
        return f > self._f_limit or float(np.max(np.abs(x), initial=0.0)) > self._x_limit

    def _diverged_message(self, x: np.ndarray, f: float, g: np.ndarray) -> str:
        where = f"The {self.method} run diverged at iteration {self.nit + 1}: "
        far = False
        if not np.isfinite(x).all():
            where += "the point overflowed"
        elif not math.isfinite(f):
            where += f"the function value became {f!r}"
        elif not np.isfinite(g).all():
            where += "the gradient became non-finite"
        elif f > self._f_limit:
            where += (f"the function value rose to {f:.3g} from f(x0) = {self._f0:.3g}, more "
                      f"than {GROWTH:g} times max(|f(x0)|, 1)")
        else:
            far = True
            where += (f"the point went to max|x_i| = {np.max(np.abs(x)):.3g}, more than "
                      f"{GROWTH:g} times max(max|x0_i|, 1), with f = {f:.3g}")
        where += f"; x is the last point before (iteration {self.nit}). "
        if f == -math.inf or (far and f < self._f0):
            return where + ("Is the function bounded below? If it is, lower the learning rate "
                            f"(lr={self.lr!r}).")
        if callable(self.lr):
            return where + "The learning-rate schedule is too large here: lower its rates."
        return where + (f"The learning rate lr={self.lr!r} is too large for this function: "
                        f"lower it (try lr={self.lr / 10:g}).")

    def fail(self, message: str) -> None:
        """Stop, unsuccessfully, at the last recorded point, saying why."""
        self._stop(False, message)

    def record(self, x: np.ndarray, f: float, g: np.ndarray) -> None:
        """Add the point reached by one step, with its value and gradient, and test."""
        if self._diverged(x, f, g):
            self._stop(False, self._diverged_message(x, f, g))
            return
        f_prev = self.f
        self.nit += 1
        row = self.nit - self._first
        if row == len(self._path):
            grown = np.empty((2 * len(self._path), x.size), self._path.dtype)
            grown[:row] = self._path
            self._path = grown
        self._path[row] = x
        self.x[...], self.f, self.g = x, float(f), np.asarray(g)
        stop_asked = self._call_back()
        if self._gradient_norm() <= self.tol:
            self._stop(True, self._converged_message())
        elif self.ftol is not None and abs(f_prev - f) <= self.ftol * max(abs(f_prev), abs(f), 1):
            self._stop(True, f"Relative change in f below ftol: |f_prev - f| = "
                             f"{abs(f_prev - f):.1e}, ftol={self.ftol:g}; the gradient norm "
                             f"is {self._gradient_norm():.1e}.")
        elif stop_asked:
            self._stop(False, f"Stopped by the callback at iteration {self.nit}.")
        elif self.nit >= self.max_iter:
            self._stop(False, self._max_iter_message())

    def _call_back(self) -> bool:
        if self.callback is None:
            return False
        if self._result_callback:
            return bool(self.callback(intermediate_result=self._result("In progress", False,
                                                                       final=False)))
        return bool(self.callback(self.x.astype(self.dtype)))

    def _result(self, message: str, success: bool, final: bool = True) -> OptimizeResult:
        # A callback's result shares the path buffer (read-only), so that calling back
        # costs O(d), not O(nit d); the final result owns a copy.
        return OptimizeResult(
            x=self.x.astype(self.dtype), fun=self.f, jac=self.g.astype(self.dtype),
            nit=self.nit, nfev=self.objective.nfev, njev=self.objective.njev,
            success=success, message=message, path=self.path.astype(self.dtype, copy=final),
            method=self.method,
        )

    def result(self) -> OptimizeResult:
        """The result of the finished run."""
        return self._result(self.message, bool(self.success))
