"""Classic test surfaces for optimisation, with exact gradients and Hessians.

Each function is a :class:`TestFunction`: call it for the value and ask it for
the gradient and the Hessian, all analytic::

    import steepest
    from steepest import functions

    f = functions.rosenbrock
    f([1.0, 1.0])                        # 0.0, a NumPy scalar
    f.gradient([-1.5, 2.0])              # shape (2,)
    f.hessian([-1.5, 2.0])               # shape (2, 2)
    steepest.minimize(f.value_and_grad, f.start, jac=True)

Points are given coordinates first: ``x`` has shape ``(d, ...)``, the value has
shape ``(...)``, the gradient ``(d, ...)`` and the Hessian ``(d, d, ...)``. A
contour grid is therefore one call, ``f(np.stack([X, Y]))``. Floating inputs keep
their dtype (float32 in, float32 out); integers are computed in float64.

The functions are ``rosenbrock``, ``beale``, ``booth``, ``himmelblau``,
``rastrigin``, ``ackley``, ``goldstein_price``, ``styblinski_tang``, ``saddle``
and ``quadratic`` (ill-conditioned). ``get(name, **params)`` finds one by name;
``make_rastrigin(dim)``, ``make_ackley(dim)``, ``make_styblinski_tang(dim)`` and
``make_quadratic(condition, angle)`` build the parameterised ones.

The definitions and minima follow Jamil & Yang, "A literature survey of benchmark
functions for global optimisation problems", Int. J. Mathematical Modelling and
Numerical Optimisation 4(2):150-194, 2013 (arXiv:1308.4008), and Surjanovic &
Bingham, *Virtual Library of Simulation Experiments: Test Functions and Datasets*
(https://www.sfu.ca/~ssurjano); each function's docstring names its origin.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import ArrayLike

from steepest._validation import check_number, lookup
from steepest.errors import ParameterError

__all__ = [
    "ALL",
    "TestFunction",
    "ackley",
    "beale",
    "booth",
    "get",
    "goldstein_price",
    "himmelblau",
    "make_ackley",
    "make_quadratic",
    "make_rastrigin",
    "make_styblinski_tang",
    "names",
    "quadratic",
    "rastrigin",
    "rosenbrock",
    "saddle",
    "styblinski_tang",
]

Bounds = tuple[tuple[float, float], ...]
"""One ``(low, high)`` pair per coordinate: ``((xmin, xmax), (ymin, ymax))`` in 2-D."""


@dataclass(frozen=True, eq=False, repr=False)
class TestFunction:
    """A test surface ``f: R^d -> R`` with its exact gradient, Hessian and known minima.

    Calls are vectorised over trailing axes: ``x`` has shape ``(dim, ...)``.

    Attributes
    ----------
    name : str
        The registry key, lower case with underscores (``"goldstein_price"``).
    title : str
        The name for people and figure titles (``"Goldstein–Price"``).
    dim : int
        The number of coordinates ``d``.
    minima : ndarray of shape (k, dim)
        The global minimisers, one per row (float64, read-only); ``k = 0`` when the
        function is unbounded below.
    minimum : float
        The global minimum value, ``-inf`` when unbounded below.
    start : ndarray of shape (dim,)
        A customary starting point for descent (float64, read-only).
    bounds : tuple of dim (low, high) pairs
        The customary plotting box; it contains ``start`` and ``minima``.
    formula : str
        The definition in LaTeX math that matplotlib's mathtext renders, without
        the ``$`` delimiters: ``ax.set_title(f"${f.formula}$")``.
    description : str
        One or two sentences on the landscape and what it tests.
    params : tuple of (str, value) pairs
        The arguments of the factory that built it, ``()`` for fixed functions.
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    title: str
    dim: int
    minima: np.ndarray
    minimum: float
    start: np.ndarray
    bounds: Bounds
    formula: str
    description: str
    _value: Callable[[np.ndarray], np.ndarray]
    _gradient: Callable[[np.ndarray], np.ndarray]
    _hessian: Callable[[np.ndarray], np.ndarray]
    params: tuple[tuple[str, object], ...] = ()

    def __call__(self, x: ArrayLike) -> np.ndarray | np.floating:
        """The value at ``x`` of shape ``(dim, ...)``: an array of shape ``(...)``.

        A single point of shape ``(dim,)`` gives a NumPy scalar of the input's
        float dtype (``np.float64`` is a subclass of ``float``).
        """
        flat, rest = self._points(x)
        return self._value(flat).reshape(rest)[()]

    def gradient(self, x: ArrayLike) -> np.ndarray:
        """The gradient at ``x`` of shape ``(dim, ...)``: an array of the same shape."""
        flat, rest = self._points(x)
        return self._gradient(flat).reshape((self.dim, *rest))

    def hessian(self, x: ArrayLike) -> np.ndarray:
        """The Hessian at ``x`` of shape ``(dim, ...)``: an array of shape ``(dim, dim, ...)``."""
        flat, rest = self._points(x)
        return self._hessian(flat).reshape((self.dim, self.dim, *rest))

    def value_and_grad(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(f(x), f.gradient(x))``, the form ``minimize(..., jac=True)`` takes."""
        return self(x), self.gradient(x)

    def _points(self, x: ArrayLike) -> tuple[np.ndarray, tuple[int, ...]]:
        """``x`` as a float array of shape ``(dim, n)``, and the trailing shape to restore."""
        x = np.asarray(x)
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
        if x.dtype.kind != "f" or x.ndim == 0 or x.shape[0] != self.dim:
            raise ParameterError(
                f"The 'x' parameter of {self.name} must be a real array of shape ({self.dim}, ...),"
                f" coordinates first (np.stack([X, Y]) for a grid). Got {x.dtype} of shape "
                f"{x.shape} instead."
            )
        return x.reshape(self.dim, -1), x.shape[1:]

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params)
        return f"steepest.functions.get({self.name!r}{args})"


# -- helpers: every formula below works on x of shape (d, n) ----------------------------


def _vector(entries, like: np.ndarray) -> np.ndarray:
    """Stack arrays or constants into shape ``(len(entries), n)`` with ``like``'s dtype."""
    out = np.empty((len(entries), *like.shape), like.dtype)
    for i, entry in enumerate(entries):
        out[i] = entry
    return out


def _matrix(rows, like: np.ndarray) -> np.ndarray:
    """Stack nested rows of arrays or constants into shape ``(d, d, n)``."""
    return np.stack([_vector(row, like) for row in rows])


def _diagonal(h: np.ndarray) -> np.ndarray:
    """The ``(d, d, n)`` stack of diagonal matrices with diagonals ``h`` of shape ``(d, n)``."""
    d = h.shape[0]
    out = np.zeros((d, d, *h.shape[1:]), h.dtype)
    out[np.arange(d), np.arange(d)] = h
    return out


def _box(low: float, high: float, dim: int) -> Bounds:
    return ((float(low), float(high)),) * dim


def _frozen(points, dim: int) -> np.ndarray:
    array = np.array(points, dtype=np.float64).reshape(-1, dim)
    array.setflags(write=False)
    return array


# -- Rosenbrock ------------------------------------------------------------------------


def _rosenbrock(x, a=1.0, b=100.0):
    x, y = x
    return (a - x) ** 2 + b * (y - x * x) ** 2


def _rosenbrock_gradient(x, a=1.0, b=100.0):
    x, y = x
    t = y - x * x
    return _vector([-2 * (a - x) - 4 * b * x * t, 2 * b * t], x)


def _rosenbrock_hessian(x, a=1.0, b=100.0):
    x, y = x
    return _matrix([[2 - 4 * b * (y - 3 * x * x), -4 * b * x], [-4 * b * x, 2 * b]], x)


rosenbrock = TestFunction(
    name="rosenbrock",
    title="Rosenbrock",
    dim=2,
    minima=_frozen([1.0, 1.0], 2),
    minimum=0.0,
    start=_frozen([-1.5, 2.0], 2)[0],
    bounds=((-2.0, 2.0), (-1.0, 3.0)),
    formula=r"(1 - x)^2 + 100\,(y - x^2)^2",
    description="A long, curved, nearly flat valley: finding it is easy, following it to the "
    "minimum at (1, 1) is slow.",
    _value=_rosenbrock,
    _gradient=_rosenbrock_gradient,
    _hessian=_rosenbrock_hessian,
)
"""Rosenbrock's banana function, ``f = (a - x)² + b (y - x²)²`` with a = 1, b = 100.

Global minimum 0 at (1, 1). Rosenbrock, "An automatic method for finding the
greatest or least value of a function", The Computer Journal 3(3):175-184, 1960.
"""


# -- Beale -----------------------------------------------------------------------------

_BEALE_C = (1.5, 2.25, 2.625)


def _beale(x):
    x, y = x
    return sum((c - x + x * y**i) ** 2 for i, c in enumerate(_BEALE_C, 1))


def _beale_gradient(x):
    x, y = x
    gx = gy = 0
    for i, c in enumerate(_BEALE_C, 1):
        u = c - x + x * y**i  # u_i; du/dx = y^i - 1, du/dy = i x y^(i-1)
        gx = gx + 2 * u * (y**i - 1)
        gy = gy + 2 * u * i * x * y ** (i - 1)
    return _vector([gx, gy], x)


def _beale_hessian(x):
    x, y = x
    hxx = hxy = hyy = 0
    for i, c in enumerate(_BEALE_C, 1):
        u = c - x + x * y**i
        ux, uy = y**i - 1, i * x * y ** (i - 1)
        hxx = hxx + 2 * ux * ux
        hxy = hxy + 2 * (ux * uy + u * i * y ** (i - 1))
        if i > 1:  # d²u/dy² = i (i-1) x y^(i-2) vanishes for i = 1
            hyy = hyy + 2 * u * i * (i - 1) * x * y ** (i - 2)
        hyy = hyy + 2 * uy * uy
    return _matrix([[hxx, hxy], [hxy, hyy]], x)


beale = TestFunction(
    name="beale",
    title="Beale",
    dim=2,
    minima=_frozen([3.0, 0.5], 2),
    minimum=0.0,
    start=_frozen([1.0, 1.5], 2)[0],
    bounds=((-4.5, 4.5), (-4.5, 4.5)),
    formula=r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    description="Flat plateaus and steep ridges that meet near the axes; the minimum at "
    "(3, 0.5) lies in a narrow curved valley.",
    _value=_beale,
    _gradient=_beale_gradient,
    _hessian=_beale_hessian,
)
"""Beale's function, ``f = Σ_{i=1..3} (c_i - x + x y^i)²`` with c = (1.5, 2.25, 2.625).

Global minimum 0 at (3, 0.5). Beale, "On an iterative method for finding a local
minimum of a function of more than one variable", Tech. Rep. 25, Statistical
Techniques Research Group, Princeton University, 1958.
"""


# -- Booth -----------------------------------------------------------------------------


def _booth(x):
    x, y = x
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _booth_gradient(x):
    x, y = x
    u, v = x + 2 * y - 7, 2 * x + y - 5
    return _vector([2 * u + 4 * v, 4 * u + 2 * v], x)


def _booth_hessian(x):
    return _matrix([[10, 8], [8, 10]], x[0])


booth = TestFunction(
    name="booth",
    title="Booth",
    dim=2,
    minima=_frozen([1.0, 3.0], 2),
    minimum=0.0,
    start=_frozen([-5.0, -5.0], 2)[0],
    bounds=((-10.0, 10.0), (-10.0, 10.0)),
    formula=r"(x + 2y - 7)^2 + (2x + y - 5)^2",
    description="A convex quadratic bowl, tilted and mildly stretched (condition number 9): "
    "every method should find the minimum at (1, 3).",
    _value=_booth,
    _gradient=_booth_gradient,
    _hessian=_booth_hessian,
)
"""Booth's function, ``f = (x + 2y - 7)² + (2x + y - 5)²``.

Global minimum 0 at (1, 3); the Hessian is the constant [[10, 8], [8, 10]]
(eigenvalues 18 and 2). As listed by Jamil & Yang (2013).
"""


# -- Himmelblau ------------------------------------------------------------------------


def _himmelblau(x):
    x, y = x
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_gradient(x):
    x, y = x
    u, v = x * x + y - 11, x + y * y - 7
    return _vector([4 * x * u + 2 * v, 2 * u + 4 * y * v], x)


def _himmelblau_hessian(x):
    x, y = x
    u, v = x * x + y - 11, x + y * y - 7
    hxy = 4 * (x + y)
    return _matrix([[4 * u + 8 * x * x + 2, hxy], [hxy, 4 * v + 8 * y * y + 2]], x)


himmelblau = TestFunction(
    name="himmelblau",
    title="Himmelblau",
    dim=2,
    # (3, 2) is exact; the other three solve the gradient equations to double precision.
    minima=_frozen(
        [
            [3.0, 2.0],
            [-2.805118086952745, 3.131312518250573],
            [-3.779310253377747, -3.2831859912861696],
            [3.5844283403304917, -1.8481265269644036],
        ],
        2,
    ),
    minimum=0.0,
    start=_frozen([0.0, 0.0], 2)[0],
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    formula=r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    description="Four global minima of equal value around a local maximum near "
    "(-0.27, -0.92): which one descent reaches depends on the start.",
    _value=_himmelblau,
    _gradient=_himmelblau_gradient,
    _hessian=_himmelblau_hessian,
)
"""Himmelblau's function, ``f = (x² + y - 11)² + (x + y² - 7)²``.

Four global minima of value 0: (3, 2), (-2.805118, 3.131313), (-3.779310,
-3.283186) and (3.584428, -1.848127). Himmelblau, *Applied Nonlinear
Programming*, McGraw-Hill, 1972.
"""


# -- Rastrigin (any dimension) ---------------------------------------------------------

_RASTRIGIN_A = 10.0


def _rastrigin(x):
    # Σ x² + A (1 - cos 2πx), written so that nothing cancels at the minimum.
    return np.sum(x * x + _RASTRIGIN_A * (1 - np.cos(2 * math.pi * x)), axis=0)


def _rastrigin_gradient(x):
    return 2 * x + 2 * math.pi * _RASTRIGIN_A * np.sin(2 * math.pi * x)


def _rastrigin_hessian(x):
    return _diagonal(2 + 4 * math.pi**2 * _RASTRIGIN_A * np.cos(2 * math.pi * x))


def make_rastrigin(dim: int = 2) -> TestFunction:
    """Rastrigin's function in ``dim`` dimensions.

    ``f = A d + Σ_i (x_i² - A cos(2π x_i))`` with A = 10: a paraboloid covered in a
    regular grid of local minima, one near every integer point. Global minimum 0
    at the origin; the customary domain is [-5.12, 5.12]^d. Rastrigin, *Systems of
    Extremal Control*, Nauka, 1974 (2-D); Mühlenbein, Schomisch & Born, Parallel
    Computing 17:619-632, 1991 (d dimensions).

    Parameters
    ----------
    dim : int, default=2
        The number of coordinates, at least 1.
    """
    dim = int(check_number(dim, "dim", "make_rastrigin", low=1, integer=True))
    return TestFunction(
        name="rastrigin",
        title="Rastrigin",
        dim=dim,
        minima=_frozen([0.0] * dim, dim),
        minimum=0.0,
        start=_frozen(np.resize([2.5, -3.5], dim), dim)[0],
        bounds=_box(-5.12, 5.12, dim),
        formula=rf"{10 * dim} + \sum_{{i=1}}^{{{dim}}} \left(x_i^2 - 10\cos(2\pi x_i)\right)",
        description="A bowl covered in a regular grid of local minima: local methods stop in "
        "the nearest one; the global minimum is at the origin.",
        _value=_rastrigin,
        _gradient=_rastrigin_gradient,
        _hessian=_rastrigin_hessian,
        params=(("dim", dim),),
    )


# -- Ackley (any dimension) ------------------------------------------------------------

_ACKLEY_A, _ACKLEY_B, _ACKLEY_C = 20.0, 0.2, 2 * math.pi


def _ackley_radius(x):
    """``r = sqrt(mean(x²))``, ``∇r`` and ``1/(d r)``, without under- or overflow.

    At the origin, where r is a cone's tip and has no gradient, ``∇r`` and
    ``1/(d r)`` are returned as 0; next to it ``1/(d r)`` is capped below infinity.
    """
    d = x.shape[0]
    m = np.max(np.abs(x), axis=0)
    u = x / np.where(m > 0, m, np.ones_like(m))  # |u| <= 1 with max |u| = 1 off the origin
    s = np.sqrt(np.mean(u * u, axis=0))  # >= 1/sqrt(d) off the origin, 0 at it
    s_safe = np.where(s > 0, s, np.ones_like(s))
    r = m * s
    grad_r = u / (d * s_safe)  # = x / (d r)
    floor = 16 / np.finfo(x.dtype).max  # caps 1/(d r) so that the Hessian stays finite
    inv_dr = np.where(r > 0, 1 / np.maximum(d * r, floor), np.zeros_like(r))
    return r, grad_r, inv_dr


def _ackley(x):
    a, b, c = _ACKLEY_A, _ACKLEY_B, _ACKLEY_C
    r, _, _ = _ackley_radius(x)
    # a (1 - exp(-b r)) + (e - exp(mean cos cx)), with mean(cos cx) - 1 = -mean(2 sin²(cx/2)):
    # both terms are exactly 0 at the origin.
    h1 = -np.mean(2 * np.sin(c * x / 2) ** 2, axis=0)
    return -a * np.expm1(-b * r) - math.e * np.expm1(h1)


def _ackley_gradient(x):
    a, b, c = _ACKLEY_A, _ACKLEY_B, _ACKLEY_C
    d = x.shape[0]
    r, grad_r, _ = _ackley_radius(x)
    eh = np.exp(np.mean(np.cos(c * x), axis=0))
    return a * b * np.exp(-b * r) * grad_r + (c / d) * eh * np.sin(c * x)


def _ackley_hessian(x):
    a, b, c = _ACKLEY_A, _ACKLEY_B, _ACKLEY_C
    d = x.shape[0]
    r, g, inv_dr = _ackley_radius(x)
    eye = np.eye(d, dtype=x.dtype)[:, :, None]
    outer = g[:, None] * g[None, :]
    hess_r = (eye - d * outer) * inv_dr  # ∇²r = (I - d ∇r ∇rᵀ) / (d r), 0 at the origin
    cone = a * b * np.exp(-b * r) * (hess_r - b * outer)
    eh = np.exp(np.mean(np.cos(c * x), axis=0))
    sin = np.sin(c * x)
    waves = (c / d) * eh * (c * eye * np.cos(c * x)[:, None] - (c / d) * (sin[:, None] * sin[None]))
    return cone + waves


def make_ackley(dim: int = 2) -> TestFunction:
    """Ackley's function in ``dim`` dimensions.

    ``f = -a exp(-b sqrt(mean_i x_i²)) - exp(mean_i cos(c x_i)) + a + e`` with
    a = 20, b = 0.2, c = 2π: a nearly flat, dimpled plain around a deep funnel.
    Global minimum 0 at the origin. Ackley, *A Connectionist Machine for Genetic
    Hillclimbing*, Kluwer, 1987; constants as in Bäck, *Evolutionary Algorithms in
    Theory and Practice*, 1996, and Surjanovic & Bingham.

    The first term is a cone in ``r = sqrt(mean x²)``, so ``f`` is not
    differentiable at the origin (its minimum). There the gradient is taken as 0
    (the minimum-norm subgradient) and the Hessian as that of the smooth cosine
    term alone, the cone's unbounded curvature, about ``a b / (d r)``, being left
    out; both are finite, never NaN. ``r`` is computed with scaling, so tiny
    nonzero points get the true gradient rather than an underflowed 0/0.

    Parameters
    ----------
    dim : int, default=2
        The number of coordinates, at least 1.
    """
    dim = int(check_number(dim, "dim", "make_ackley", low=1, integer=True))
    return TestFunction(
        name="ackley",
        title="Ackley",
        dim=dim,
        minima=_frozen([0.0] * dim, dim),
        minimum=0.0,
        start=_frozen(np.resize([-3.0, 4.0], dim), dim)[0],
        bounds=_box(-5.0, 5.0, dim),
        formula=rf"-20\exp\left(-0.2\sqrt{{\frac{{1}}{{{dim}}}\sum_i x_i^2}}\right)"
        rf" - \exp\left(\frac{{1}}{{{dim}}}\sum_i \cos(2\pi x_i)\right) + 20 + e",
        description="A nearly flat, dimpled plain around one deep funnel at the origin: "
        "gradients far out are small and point to the nearest dimple.",
        _value=_ackley,
        _gradient=_ackley_gradient,
        _hessian=_ackley_hessian,
        params=(("dim", dim),),
    )


# -- Goldstein-Price -------------------------------------------------------------------
# With w = x + y and s = 2x - 3y the two factors separate:
#   A(w) = 1 + (w + 1)² (19 - 14w + 3w²),   A'(w) = 12 (w + 1)(w - 1)(w - 2),
#   B(s) = 30 + s² (18 - 16s + 3s²),        B'(s) = 12 s (s - 1)(s - 3),
# so f = A B, ∇f = A' B ∇w + A B' ∇s, ∇²f = A''B ∇w∇wᵀ + A'B' (∇w∇sᵀ + ∇s∇wᵀ) + A B'' ∇s∇sᵀ.


def _goldstein_price_parts(x):
    x, y = x
    w, s = x + y, 2 * x - 3 * y
    a = 1 + (w + 1) ** 2 * (19 - 14 * w + 3 * w * w)
    da = 12 * (w + 1) * (w - 1) * (w - 2)
    dda = 12 * (3 * w * w - 4 * w - 1)
    b = 30 + s * s * (18 - 16 * s + 3 * s * s)
    db = 12 * s * (s - 1) * (s - 3)
    ddb = 12 * (3 * s * s - 8 * s + 3)
    return a, da, dda, b, db, ddb


def _goldstein_price(x):
    a, _, _, b, _, _ = _goldstein_price_parts(x)
    return a * b


def _goldstein_price_gradient(x):
    a, da, _, b, db, _ = _goldstein_price_parts(x)
    return _vector([da * b + 2 * a * db, da * b - 3 * a * db], x[0])


def _goldstein_price_hessian(x):
    a, da, dda, b, db, ddb = _goldstein_price_parts(x)
    hxx = dda * b + 4 * da * db + 4 * a * ddb
    hxy = dda * b - da * db - 6 * a * ddb
    hyy = dda * b - 6 * da * db + 9 * a * ddb
    return _matrix([[hxx, hxy], [hxy, hyy]], x[0])


goldstein_price = TestFunction(
    name="goldstein_price",
    title="Goldstein–Price",
    dim=2,
    minima=_frozen([0.0, -1.0], 2),
    minimum=3.0,
    start=_frozen([1.5, -1.5], 2)[0],
    bounds=((-2.0, 2.0), (-2.0, 2.0)),
    formula=r"\left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
    r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]",
    description="Values spanning six orders of magnitude, with local minima at 30, 84 and 840 "
    "around the global minimum 3 at (0, -1): plot it on a log scale.",
    _value=_goldstein_price,
    _gradient=_goldstein_price_gradient,
    _hessian=_goldstein_price_hessian,
)
"""The Goldstein–Price function.

``f = [1 + (x + y + 1)² (19 - 14x + 3x² - 14y + 6xy + 3y²)]
      [30 + (2x - 3y)² (18 - 32x + 12x² + 48y - 36xy + 27y²)]``.
Global minimum 3 at (0, -1). Goldstein & Price, "On descent from local minima",
Mathematics of Computation 25(115):569-574, 1971.
"""


# -- Styblinski-Tang (any dimension) ---------------------------------------------------

_ST_ROOT = -2.903534027771177  # the lower root of 4x³ - 32x + 5 = 0
_ST_MINIMUM = -39.16616570377141  # 0.5 (r⁴ - 16r² + 5r) at that root, per coordinate


def _styblinski_tang(x):
    return 0.5 * np.sum(x**4 - 16 * x * x + 5 * x, axis=0)


def _styblinski_tang_gradient(x):
    return 2 * x**3 - 16 * x + 2.5


def _styblinski_tang_hessian(x):
    return _diagonal(6 * x * x - 16)


def make_styblinski_tang(dim: int = 2) -> TestFunction:
    """The Styblinski–Tang function in ``dim`` dimensions.

    ``f = ½ Σ_i (x_i⁴ - 16 x_i² + 5 x_i)``: separable, with 2^d local minima at
    x_i ≈ -2.9035 or 2.7468. The global one is at x_i = -2.903534027771177 (the
    lower root of 4x³ - 32x + 5) in every coordinate, with value
    -39.1661657 d. Styblinski & Tang, "Experiments in nonconvex
    optimization", Neural Networks 3(4):467-483, 1990.

    Parameters
    ----------
    dim : int, default=2
        The number of coordinates, at least 1.
    """
    dim = int(check_number(dim, "dim", "make_styblinski_tang", low=1, integer=True))
    return TestFunction(
        name="styblinski_tang",
        title="Styblinski–Tang",
        dim=dim,
        minima=_frozen([_ST_ROOT] * dim, dim),
        minimum=_ST_MINIMUM * dim,
        start=_frozen(np.resize([0.0, 4.0], dim), dim)[0],
        bounds=_box(-5.0, 5.0, dim),
        formula=rf"\frac{{1}}{{2}} \sum_{{i=1}}^{{{dim}}} \left(x_i^4 - 16x_i^2 + 5x_i\right)",
        description="Separable, with a shallow and a deep minimum along every axis: descent "
        "from the start reaches the deep one in x but stays in the shallow one in y.",
        _value=_styblinski_tang,
        _gradient=_styblinski_tang_gradient,
        _hessian=_styblinski_tang_hessian,
        params=(("dim", dim),),
    )


# -- the saddle ------------------------------------------------------------------------


def _saddle(x):
    x, y = x
    return x * x - y * y


def _saddle_gradient(x):
    x, y = x
    return _vector([2 * x, -2 * y], x)


def _saddle_hessian(x):
    return _matrix([[2, 0], [0, -2]], x[0])


saddle = TestFunction(
    name="saddle",
    title="Saddle",
    dim=2,
    minima=_frozen([], 2),
    minimum=-math.inf,
    start=_frozen([-1.5, 0.01], 2)[0],
    bounds=((-2.0, 2.0), (-2.0, 2.0)),
    formula=r"x^2 - y^2",
    description="No minimum: a saddle point at the origin, where the gradient vanishes. "
    "Starting just off the x-axis, descent first slows near the saddle, then escapes along y.",
    _value=_saddle,
    _gradient=_saddle_gradient,
    _hessian=_saddle_hessian,
)
"""The saddle ``f = x² - y²``.

Unbounded below, so ``minima`` is empty (shape (0, 2)) and ``minimum`` is -inf.
Its one stationary point is the saddle at the origin (Hessian diag(2, -2)).
"""


# -- the ill-conditioned quadratic -----------------------------------------------------


def _matvec(matrix, x):
    """``matrix @ x`` for x of shape (d, n), summed in a fixed order (no BLAS), in x's dtype."""
    return np.sum(matrix.astype(x.dtype)[:, :, None] * x[None], axis=1)


def _quadratic(x, rotation, eigenvalues):
    # ½ Σ_k λ_k (q_k·x)², never negative, unlike a rounded ½ x·(A x).
    y = _matvec(rotation.T, x)
    return 0.5 * np.sum(eigenvalues.astype(x.dtype)[:, None] * y * y, axis=0)


def _quadratic_gradient(x, rotation, eigenvalues):
    return _matvec(rotation, eigenvalues.astype(x.dtype)[:, None] * _matvec(rotation.T, x))


def _quadratic_hessian(x, rotation, eigenvalues):
    matrix = rotation @ np.diag(eigenvalues) @ rotation.T
    matrix = ((matrix + matrix.T) / 2).astype(x.dtype)  # exactly symmetric
    return np.repeat(matrix[:, :, None], x.shape[1], axis=2)


def make_quadratic(condition: float = 100.0, angle: float = math.pi / 6) -> TestFunction:
    """An ill-conditioned quadratic bowl, ``f = ½ xᵀ A x`` in 2-D.

    ``A = R diag(1, condition) Rᵀ`` with ``R`` the rotation by ``angle``: the valley
    floor runs along ``(cos angle, sin angle)`` with curvature 1, the walls rise
    across it with curvature ``condition``. Gradient descent converges only for
    a learning rate below ``2 / condition`` and then crawls along the floor at a
    rate set by the condition number; momentum and preconditioning help, and
    since ``angle`` ≠ 0 puts the valley off the axes, per-coordinate methods
    (Adagrad, RMSprop, Adam) cannot undo the stretch by rescaling x and y.
    Global minimum 0 at the origin. The start lies 1.5 along the floor and 0.15
    across it, in the rotated frame, so both directions hold equal energy.

    Parameters
    ----------
    condition : float, default=100.0
        The condition number of ``A``, its largest over its smallest eigenvalue;
        at least 1.
    angle : float, default=pi/6
        The direction of the valley floor, in radians from the x-axis.
    """
    condition = float(check_number(condition, "condition", "make_quadratic", low=1.0,
                                   high=math.inf))
    angle = float(check_number(angle, "angle", "make_quadratic", low=-math.inf,
                               high=math.inf, closed="neither"))
    rotation = np.array([[math.cos(angle), -math.sin(angle)],
                         [math.sin(angle), math.cos(angle)]])
    eigenvalues = np.array([1.0, condition])
    return TestFunction(
        name="quadratic",
        title="Ill-conditioned quadratic",
        dim=2,
        minima=_frozen([0.0, 0.0], 2),
        minimum=0.0,
        start=_frozen(rotation @ [-1.5, 0.15], 2)[0],
        bounds=((-2.0, 2.0), (-2.0, 2.0)),
        formula=rf"\frac{{1}}{{2}}\,x^T A x,\ \kappa(A) = {condition:g},\ "
        rf"\theta = {math.degrees(angle):g}^\circ",
        description=f"A narrow valley (condition number {condition:g}) at "
        f"{math.degrees(angle):g}° to the x-axis: plain gradient descent zig-zags across it "
        "and crawls along it.",
        _value=partial(_quadratic, rotation=rotation, eigenvalues=eigenvalues),
        _gradient=partial(_quadratic_gradient, rotation=rotation, eigenvalues=eigenvalues),
        _hessian=partial(_quadratic_hessian, rotation=rotation, eigenvalues=eigenvalues),
        params=(("condition", condition), ("angle", angle)),
    )


# -- the default instances and the registry ---------------------------------------------

rastrigin = make_rastrigin()
ackley = make_ackley()
styblinski_tang = make_styblinski_tang()
quadratic = make_quadratic()

ALL: tuple[TestFunction, ...] = (
    rosenbrock, beale, booth, himmelblau, rastrigin, ackley, goldstein_price,
    styblinski_tang, saddle, quadratic,
)
"""The default instance of every function, 2-D, in a fixed order."""

_BY_NAME = {f.name: f for f in ALL}
_FACTORIES: dict[str, Callable[..., TestFunction]] = {
    "rastrigin": make_rastrigin,
    "ackley": make_ackley,
    "styblinski_tang": make_styblinski_tang,
    "quadratic": make_quadratic,
}


def names() -> tuple[str, ...]:
    """The names :func:`get` accepts, in the order of :data:`ALL`."""
    return tuple(_BY_NAME)


def get(name: str, **params) -> TestFunction:
    """The test function called ``name``, built with ``params`` when there are any.

    ``name`` is case-insensitive; hyphens, spaces and dashes count as underscores,
    so ``"Goldstein-Price"`` and ``"goldstein_price"`` are the same. ``params`` go
    to the factory: ``get("rastrigin", dim=10)``, ``get("quadratic", condition=1e3)``.

    Raises
    ------
    ParameterError
        For an unknown name (the message lists the valid ones and suggests the
        closest) or parameters the function does not take.
    """
    function = lookup(name.replace("\N{EN DASH}", "-") if isinstance(name, str) else name,
                      _BY_NAME, "test function")
    if not params:
        return function
    factory = _FACTORIES.get(function.name)
    accepted = tuple(inspect.signature(factory).parameters) if factory else ()
    unknown = [p for p in params if p not in accepted]
    if unknown:
        takes = ("takes the parameters " + ", ".join(repr(p) for p in accepted)
                 if accepted else "takes no parameters")
        raise ParameterError(
            f"The test function {function.name!r} {takes}. "
            f"Got {', '.join(map(repr, unknown))} instead."
        )
    return factory(**params)
