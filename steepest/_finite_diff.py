"""Central finite differences: the gradient and the Hessian of a function of a flat vector.

``minimize(fun, x0, jac=None)`` differentiates ``fun`` with these, and the tests
check every analytic derivative in the library against them.

Steps are chosen to balance truncation against rounding error (Nocedal & Wright,
*Numerical Optimization*, 2nd ed., §8.1). With ``eps`` the machine epsilon of
``x``'s dtype and ``scale_i = max(1, |x_i|)``:

- gradient, ``(f(x + h e_i) - f(x - h e_i)) / 2h``: truncation ``O(h²)``, rounding
  ``O(eps / h)``, so ``h_i = eps^(1/3) · scale_i`` (about 6e-6 in float64);
- Hessian from values, second differences: truncation ``O(h²)``, rounding
  ``O(eps / h²)``, so ``h_i = eps^(1/4) · scale_i`` (about 1.2e-4 in float64);
- Hessian from a gradient, central differences of each gradient component:
  ``h_i = eps^(1/3) · scale_i``, then symmetrised.

Each step is rounded so that ``x + h`` and ``x - h`` are exact floats and the
divisor is their true distance (the "(x + h) - x" trick), which removes one
source of rounding error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["gradient", "hessian", "hessian_from_gradient", "step_sizes"]


def step_sizes(x: np.ndarray, power: float) -> np.ndarray:
    """Steps ``h_i = eps^power · max(1, |x_i|)``, in ``x``'s float dtype.

    Parameters
    ----------
    x : ndarray of shape (d,)
        The point, a float array.
    power : float
        ``1/3`` for first differences, ``1/4`` for second differences of values.
    """
    eps = np.finfo(x.dtype).eps
    return (eps**power * np.maximum(1.0, np.abs(x))).astype(x.dtype)


def gradient(fun: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """The central-difference gradient of ``fun`` at ``x``: ``2d`` calls of ``fun``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of shape (d,).
    x : ndarray of shape (d,)
        A float array; it is not modified.

    Returns
    -------
    ndarray of shape (d,)
        The gradient, in ``x``'s dtype; its relative error is about ``eps^(2/3)``.
    """
    x = np.asarray(x)
    h = step_sizes(x, 1 / 3)
    up, down = x + h, x - h
    out = np.empty_like(x)
    point = x.copy()
    for i in range(x.size):
        point[i] = up[i]
        f_up = float(fun(point))
        point[i] = down[i]
        f_down = float(fun(point))
        point[i] = x[i]
        out[i] = (f_up - f_down) / (float(up[i]) - float(down[i]))
    return out


def hessian(fun: Callable[[np.ndarray], float], x: np.ndarray,
            f0: float | None = None) -> np.ndarray:
    """The Hessian of ``fun`` at ``x`` from values only: ``2d² + 1`` calls (``2d²`` given ``f0``).

    The diagonal is the second difference ``(f(x + h e_i) - 2 f(x) + f(x - h e_i)) / h²``;
    each off-diagonal entry is ``(f(++) - f(+-) - f(-+) + f(--)) / 4 h_i h_j`` with
    ``f(+-) = f(x + h_i e_i - h_j e_j)``. The result is exactly symmetric.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of shape (d,).
    x : ndarray of shape (d,)
        A float array; it is not modified.
    f0 : float, optional
        ``fun(x)``, when already known (saves one call).

    Returns
    -------
    ndarray of shape (d, d)
        In ``x``'s dtype; entries are accurate to about ``eps^(1/2)`` relative to the
        function's scale.
    """
    x = np.asarray(x)
    d = x.size
    h = step_sizes(x, 1 / 4)
    up, down = x + h, x - h
    h_up, h_down = up - x, x - down  # exact, and equal up to rounding
    f0 = float(fun(x)) if f0 is None else float(f0)
    out = np.empty((d, d), dtype=x.dtype)
    point = x.copy()
    for i in range(d):
        point[i] = up[i]
        f_up = float(fun(point))
        point[i] = down[i]
        f_down = float(fun(point))
        point[i] = x[i]
        # The three-point second difference on an uneven grid (exact for quadratics).
        hu, hd = float(h_up[i]), float(h_down[i])
        out[i, i] = 2 * (hd * f_up - (hu + hd) * f0 + hu * f_down) / (hu * hd * (hu + hd))
        for j in range(i):
            values = []
            for xi, xj in ((up[i], up[j]), (up[i], down[j]), (down[i], up[j]),
                           (down[i], down[j])):
                point[i], point[j] = xi, xj
                values.append(float(fun(point)))
            point[i], point[j] = x[i], x[j]
            f_pp, f_pm, f_mp, f_mm = values
            width_i = float(up[i]) - float(down[i])
            width_j = float(up[j]) - float(down[j])
            out[i, j] = out[j, i] = (f_pp - f_pm - f_mp + f_mm) / (width_i * width_j)
    return out


def hessian_from_gradient(grad: Callable[[np.ndarray], np.ndarray],
                          x: np.ndarray) -> np.ndarray:
    """The Hessian at ``x`` as central differences of ``grad``: ``2d`` calls of ``grad``.

    Column ``i`` is ``(grad(x + h e_i) - grad(x - h e_i)) / 2h``; the result is
    symmetrised, ``(H + Hᵀ) / 2``, which also halves its error.

    Parameters
    ----------
    grad : callable
        ``grad(x) -> ndarray of shape (d,)``.
    x : ndarray of shape (d,)
        A float array; it is not modified.

    Returns
    -------
    ndarray of shape (d, d)
        In ``x``'s dtype.
    """
    x = np.asarray(x)
    d = x.size
    h = step_sizes(x, 1 / 3)
    up, down = x + h, x - h
    columns = np.empty((d, d), dtype=np.float64)
    point = x.copy()
    for i in range(d):
        point[i] = up[i]
        g_up = np.asarray(grad(point), dtype=np.float64).reshape(d)
        point[i] = down[i]
        g_down = np.asarray(grad(point), dtype=np.float64).reshape(d)
        point[i] = x[i]
        columns[:, i] = (g_up - g_down) / (float(up[i]) - float(down[i]))
    return ((columns + columns.T) / 2).astype(x.dtype)
