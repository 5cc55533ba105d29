"""Tests of steepest.functions: every derivative against finite differences, every minimum."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import steepest
from steepest import functions as F
from steepest.errors import ParameterError

# The one table: the default instances plus other dimensions and parameters.
CASES = [
    *F.ALL,
    F.make_rastrigin(1),
    F.make_rastrigin(5),
    F.make_ackley(1),
    F.make_ackley(3),
    F.make_styblinski_tang(4),
    F.make_quadratic(condition=1e3, angle=0.0),
    F.make_quadratic(condition=1.0, angle=-2.0),
]
IDS = [f"{f.name}-{f.dim}d" + "".join(f"-{k}={v:g}" for k, v in f.params if k != "dim")
       for f in CASES]
table = pytest.mark.parametrize("f", CASES, ids=IDS)
hypothesis_settings = settings(max_examples=60, deadline=None)


def draw_point(data, f, shape=()):
    """A float64 array of shape (f.dim, *shape) inside f's plotting box."""
    coords = [data.draw(st.lists(st.floats(lo, hi), min_size=math.prod(shape),
                                 max_size=math.prod(shape))) for lo, hi in f.bounds]
    x = np.array(coords, dtype=np.float64).reshape(f.dim, *shape)
    if f.name == "ackley":  # a cone's tip at the origin: finite differences are meaningless there
        assume(np.abs(x).max() > 0.05)
    return x


def central_differences(fun, x, h=1e-6):
    """d fun / d x_i by central differences, stacked along a new first axis."""
    columns = []
    for i in range(x.shape[0]):
        step = np.zeros_like(x)
        step[i] = h * max(1.0, abs(x[i]))
        columns.append((np.asarray(fun(x + step)) - np.asarray(fun(x - step))) / (2 * step[i]))
    return np.stack(columns)


def assert_close_to_fd(analytic, fd):
    """Relative 1e-5 plus 1e-6 of the largest entry: far below a wrong sign or constant."""
    np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-6 * (1 + np.abs(fd).max()))


@table
@hypothesis_settings
@given(data=st.data())
def test_gradient_matches_finite_differences(f, data):
    x = draw_point(data, f)
    assert_close_to_fd(f.gradient(x), central_differences(f, x))


@table
@hypothesis_settings
@given(data=st.data())
def test_hessian_matches_finite_differences_of_the_gradient(f, data):
    x = draw_point(data, f)
    hessian = f.hessian(x)
    np.testing.assert_array_equal(hessian, hessian.T)
    assert_close_to_fd(hessian, central_differences(f.gradient, x))


@table
def test_minima_are_stationary_with_the_stated_value_and_psd_hessian(f):
    assert f.minima.shape[1:] == (f.dim,) and f.minima.dtype == np.float64
    for x in f.minima:
        assert f(x) == pytest.approx(f.minimum, rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(f.gradient(x), 0.0, atol=1e-10)
        eigenvalues = np.linalg.eigvalsh(f.hessian(x))
        assert eigenvalues.min() >= -1e-9 * np.abs(eigenvalues).max()
    assert len(f.minima) or f.minimum == -math.inf


@table
def test_start_and_minima_lie_inside_the_bounds(f):
    low, high = np.array(f.bounds).T
    assert len(f.bounds) == f.dim and np.all(low < high)
    for x in (f.start, *f.minima):
        assert x.shape == (f.dim,) and np.all((low <= x) & (x <= high))


@table
@hypothesis_settings
@given(data=st.data())
def test_grid_evaluation_equals_pointwise(f, data):
    x = draw_point(data, f, shape=(2, 3))
    value, gradient, hessian = f(x), f.gradient(x), f.hessian(x)
    assert value.shape == (2, 3)
    assert gradient.shape == (f.dim, 2, 3)
    assert hessian.shape == (f.dim, f.dim, 2, 3)
    for i, j in np.ndindex(2, 3):
        np.testing.assert_allclose(value[i, j], f(x[:, i, j]), rtol=1e-14, atol=0)
        np.testing.assert_allclose(gradient[:, i, j], f.gradient(x[:, i, j]), rtol=1e-14, atol=0)
        np.testing.assert_allclose(hessian[..., i, j], f.hessian(x[:, i, j]), rtol=1e-14, atol=0)


@table
def test_a_point_gives_a_scalar_and_float32_stays_float32(f):
    value, gradient = f.value_and_grad(f.start)
    assert isinstance(value, np.float64) and value.shape == () and value == f(f.start)
    assert gradient.shape == (f.dim,) and f.hessian(f.start).shape == (f.dim, f.dim)
    for x in (f.start.astype(np.float32), np.stack([f.start, f.minima[0] if len(f.minima)
                                                    else f.start], axis=-1).astype(np.float32)):
        outputs = (f(x), *f.value_and_grad(x), f.gradient(x), f.hessian(x))
        assert [out.dtype for out in outputs] == [np.float32] * 5
    np.testing.assert_allclose(f(f.start.astype(np.float32)), f(f.start), rtol=1e-5)
    assert f.gradient(np.zeros(f.dim, dtype=int)).dtype == np.float64


def test_ackley_at_and_near_its_nondifferentiable_origin():
    f = F.ackley
    assert f([0.0, 0.0]) == 0.0
    np.testing.assert_array_equal(f.gradient([0.0, 0.0]), [0.0, 0.0])
    assert np.all(np.isfinite(f.hessian([0.0, 0.0])))
    # Off the origin the cone's gradient has norm a b / sqrt(d) however close one gets.
    for t in (1e-200, 1e-8, np.float32(1e-30)):
        np.testing.assert_allclose(f.gradient(np.array([t, 0 * t])), [4 / math.sqrt(2), 0],
                                   rtol=1e-5, atol=1e-5)


def test_saddle_has_no_minimum_and_a_saddle_point_at_the_origin():
    assert F.saddle.minima.shape == (0, 2) and F.saddle.minimum == -math.inf
    np.testing.assert_array_equal(F.saddle.gradient([0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_array_equal(np.linalg.eigvalsh(F.saddle.hessian([0.0, 0.0])), [-2, 2])


@pytest.mark.parametrize("condition, angle", [(100.0, math.pi / 6), (1e4, 0.0), (3.0, 2.5)])
def test_quadratic_has_the_requested_condition_and_valley_direction(condition, angle):
    hessian = F.make_quadratic(condition, angle).hessian([0.3, -0.7])
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    np.testing.assert_allclose(eigenvalues, [1.0, condition], rtol=1e-12)
    assert abs(eigenvectors[:, 0] @ [math.cos(angle), math.sin(angle)]) == pytest.approx(1.0)


def test_get_by_name_is_tolerant_and_builds_with_parameters():
    assert F.names() == tuple(f.name for f in F.ALL)
    assert len(set(F.names())) == len(F.ALL) == 10
    assert all(F.get(f.name) is f for f in F.ALL)
    assert F.get(" Goldstein-Price ") is F.goldstein_price is F.get("GOLDSTEIN_PRICE")
    assert F.get("styblinski tang") is F.styblinski_tang
    assert F.get("rastrigin", dim=7).dim == 7
    quadratic = F.get("quadratic", condition=10.0)
    assert dict(quadratic.params) == {"condition": 10.0, "angle": math.pi / 6}
    assert repr(quadratic) == ("steepest.functions.get('quadratic', condition=10.0, "
                               "angle=0.5235987755982988)")
    rebuilt = eval(repr(F.make_ackley(4)), {"steepest": steepest})
    assert (rebuilt.name, rebuilt.dim) == ("ackley", 4)


@pytest.mark.parametrize("call, message", [
    (lambda: F.get("rosenbrok"),
     "Unknown test function 'rosenbrok'. Valid names are: ackley, beale, booth, "
     "goldstein_price, himmelblau, quadratic, rastrigin, rosenbrock, saddle, styblinski_tang. "
     "Did you mean 'rosenbrock'?"),
    (lambda: F.get("sphere"),
     "Unknown test function 'sphere'. Valid names are: ackley, beale, booth, "
     "goldstein_price, himmelblau, quadratic, rastrigin, rosenbrock, saddle, styblinski_tang."),
    (lambda: F.get("rosenbrock", dim=3),
     "The test function 'rosenbrock' takes no parameters. Got 'dim' instead."),
    (lambda: F.get("quadratic", kappa=3),
     "The test function 'quadratic' takes the parameters 'condition', 'angle'. "
     "Got 'kappa' instead."),
    (lambda: F.make_rastrigin(dim=0),
     "The 'dim' parameter of make_rastrigin must be an int in the range [1, inf). "
     "Got 0 instead."),
    (lambda: F.make_quadratic(condition=0.5),
     "The 'condition' parameter of make_quadratic must be a float in the range [1.0, inf). "
     "Got 0.5 instead."),
    (lambda: F.rosenbrock(np.zeros((5, 2))),
     "The 'x' parameter of rosenbrock must be a real array of shape (2, ...), coordinates "
     "first (np.stack([X, Y]) for a grid). Got float64 of shape (5, 2) instead."),
    (lambda: F.make_ackley(3).gradient([1.0, 2.0]),
     "The 'x' parameter of ackley must be a real array of shape (3, ...), coordinates "
     "first (np.stack([X, Y]) for a grid). Got float64 of shape (2,) instead."),
    (lambda: F.saddle.hessian(1j * np.ones(2)),
     "The 'x' parameter of saddle must be a real array of shape (2, ...), coordinates "
     "first (np.stack([X, Y]) for a grid). Got complex128 of shape (2,) instead."),
])
def test_errors_say_what_is_wrong(call, message):
    with pytest.raises(ParameterError) as raised:
        call()
    assert str(raised.value) == message


def test_functions_are_frozen_and_formulas_render():
    with pytest.raises(dataclasses.FrozenInstanceError):
        F.rosenbrock.dim = 3
    with pytest.raises(ValueError):
        F.rosenbrock.minima[0, 0] = 2.0
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    for f in CASES:
        parser.parse(f"${f.formula}$")
        assert f.description and f.title
