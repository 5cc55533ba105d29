"""Tests of steepest.optim.line_search: the returned steps meet the conditions they promise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steepest import functions as F
from steepest.errors import ParameterError
from steepest.optim.line_search import FAR, backtracking, strong_wolfe

hypothesis_settings = settings(max_examples=100, deadline=None)


class Quadratic:
    """``f(x) = ½ xᵀ A x + bᵀ x`` with ``A`` symmetric positive definite."""

    def __init__(self, m, b, shift):
        self.a = m @ m.T + shift * np.eye(len(b))
        self.b = b

    def __call__(self, x):
        return 0.5 * x @ self.a @ x + self.b @ x

    def gradient(self, x):
        return self.a @ x + self.b

    def value_and_grad(self, x):
        return self(x), self.gradient(x)


@st.composite
def quadratic_problems(draw):
    """A quadratic in 1 to 4 dimensions, a point, a descent direction and a first step."""
    d = draw(st.integers(1, 4))
    floats = st.floats(-3, 3)
    f = Quadratic(draw(hnp.arrays(np.float64, (d, d), elements=floats)),
                  draw(hnp.arrays(np.float64, d, elements=floats)),
                  draw(st.floats(1e-2, 10)))
    x = draw(hnp.arrays(np.float64, d, elements=floats))
    g = f.gradient(x)
    # The negative gradient, or it preconditioned by a random positive definite matrix.
    p = draw(hnp.arrays(np.float64, (d, d), elements=st.floats(-1, 1)))
    direction = -(p @ p.T + 0.1 * np.eye(d)) @ g if draw(st.booleans()) else -g
    assume(g @ direction < -1e-6)
    return f, x, direction, draw(st.floats(1e-3, 1e3))


def assert_strong_wolfe(f, x, direction, result, c1, c2):
    f0, g0 = f.value_and_grad(x)
    slope = g0 @ direction
    t = result.step
    assert result.success
    assert t > 0
    np.testing.assert_array_equal(result.x, x + t * direction)
    value, grad = f.value_and_grad(result.x)
    assert result.fun == value
    np.testing.assert_array_equal(result.jac, grad)
    # Sufficient decrease, with room for rounding in f of the size of f.
    assert value <= f0 + c1 * t * slope + 1e-13 * max(1.0, abs(f0))
    # Curvature, strong form.
    assert abs(grad @ direction) <= c2 * abs(slope)


@hypothesis_settings
@given(quadratic_problems(), st.sampled_from([(1e-4, 0.9), (1e-4, 0.1), (0.3, 0.5)]))
def test_strong_wolfe_on_quadratics(problem, constants):
    f, x, direction, step = problem
    c1, c2 = constants
    f0, g0 = f.value_and_grad(x)
    result = strong_wolfe(f.value_and_grad, x, direction, f0, g0, step=step, c1=c1, c2=c2)
    assert_strong_wolfe(f, x, direction, result, c1, c2)


@hypothesis_settings
@given(st.floats(-2, 2), st.floats(-1, 3), st.sampled_from([1.0, 1e-3, "1/|g|"]))
def test_strong_wolfe_on_rosenbrock_along_the_negative_gradient(x, y, step):
    f = F.rosenbrock
    point = np.array([x, y])
    f0, g0 = f.value_and_grad(point)
    assume(np.abs(g0).max() > 1e-6)
    step = 1 / np.linalg.norm(g0) if step == "1/|g|" else step
    result = strong_wolfe(f.value_and_grad, point, -g0, f0, g0, step=step)
    assert_strong_wolfe(f, point, -g0, result, 1e-4, 0.9)


def test_strong_wolfe_accepts_the_unit_step_when_it_is_good():
    f = Quadratic(np.eye(2), np.zeros(2), 0.0)  # A = I: the unit gradient step is exact
    x = np.array([1.0, -2.0])
    result = strong_wolfe(f.value_and_grad, x, -x, *f.value_and_grad(x))
    assert result.step == 1.0 and result.nfev == 1
    np.testing.assert_array_equal(result.x, [0.0, 0.0])


def test_strong_wolfe_extrapolates_from_a_tiny_first_step():
    f = Quadratic(np.eye(1), np.zeros(1), 0.0)
    x = np.array([1.0])
    result = strong_wolfe(f.value_and_grad, x, -x, *f.value_and_grad(x), step=1e-6)
    assert result.success
    assert 0.1 <= result.step <= 1.9  # |φ'(t)| = |t - 1| <= 0.9


def test_strong_wolfe_steps_back_from_nan_and_inf():
    # Finite on |x| < 1 only: a first step far outside must be shrunk, not returned.
    def value_and_grad(x):
        if np.abs(x).max() >= 1:
            return (math.nan if x[0] > 0 else math.inf), np.full_like(x, math.nan)
        return float(x @ x), 2 * x

    x = np.array([0.5])
    result = strong_wolfe(value_and_grad, x, np.array([-1.0]), *value_and_grad(x), step=100.0)
    assert result.success
    assert np.isfinite(result.fun) and abs(result.x[0]) < 1
    assert result.fun < 0.25


def test_strong_wolfe_on_an_unbounded_function_stops_with_the_best_point():
    def value_and_grad(x):  # a line falling forever: no Wolfe step exists
        return -float(x[0]), np.array([-1.0])

    x = np.array([0.0])
    result = strong_wolfe(value_and_grad, x, np.array([1.0]), *value_and_grad(x), max_iter=5)
    assert not result.success
    assert result.step > 1 and result.fun == -result.step


@hypothesis_settings
@given(quadratic_problems())
def test_backtracking_gives_sufficient_decrease(problem):
    f, x, direction, step = problem
    f0, g0 = f.value_and_grad(x)
    slope = g0 @ direction
    result = backtracking(f, x, direction, f0, slope, step=step)
    assert result.success and 0 < result.step <= step
    assert result.jac is None
    np.testing.assert_array_equal(result.x, x + result.step * direction)
    assert result.fun == f(result.x)
    assert result.fun <= f0 + 1e-4 * result.step * slope + 1e-13 * max(1.0, abs(f0))


@hypothesis_settings
@given(st.floats(-2, 2), st.floats(-1, 3))
def test_backtracking_on_rosenbrock_along_the_negative_gradient(x, y):
    f = F.rosenbrock
    point = np.array([x, y])
    f0, g0 = f.value_and_grad(point)
    assume(np.abs(g0).max() > 1e-6)
    result = backtracking(f, point, -g0, f0, -(g0 @ g0))
    assert result.success
    assert result.fun <= f0 - 1e-4 * result.step * (g0 @ g0)


def test_backtracking_takes_the_first_step_when_it_decreases_enough():
    f = Quadratic(np.eye(2), np.zeros(2), 0.0)
    x = np.array([3.0, 4.0])
    result = backtracking(f, x, -x, f(x), -(x @ x))
    assert result.step == 1.0 and result.nfev == 1


def test_backtracking_gives_up_with_step_zero_where_nothing_decreases():
    # A constant function with a (wrong) negative slope: no step ever decreases it.
    x = np.array([1.0, 2.0])
    result = backtracking(lambda p: 5.0, x, np.array([1.0, 0.0]), 5.0, -1.0)
    assert not result.success
    assert result.step == 0.0 and result.fun == 5.0
    np.testing.assert_array_equal(result.x, x)


def test_backtracking_shrinks_past_non_finite_values():
    def f(x):
        return float(x @ x) if np.abs(x).max() < 1 else math.nan

    x = np.array([0.5])
    result = backtracking(f, x, np.array([-1.0]), f(x), -1.0, step=1e3)
    assert result.success and np.isfinite(result.fun) and result.fun < 0.25


@pytest.mark.parametrize("search", [strong_wolfe, backtracking])
def test_an_ascent_direction_is_an_error(search):
    f = Quadratic(np.eye(2), np.zeros(2), 0.0)
    x = np.array([1.0, 1.0])
    f0, g0 = f.value_and_grad(x)
    args = (f.value_and_grad, x, x, f0, g0) if search is strong_wolfe else (f, x, x, f0, g0 @ x)
    with pytest.raises(ParameterError, match=r"^" + search.__name__ + " needs a descent "
                       r"direction, one with gradient·direction < 0; got gradient·direction "
                       r"= 2\.0\."):
        search(*args)


def test_wolfe_constants_are_checked():
    f = Quadratic(np.eye(1), np.zeros(1), 0.0)
    x = np.array([1.0])
    with pytest.raises(ParameterError, match="The 'c2' parameter of strong_wolfe must be a "
                                             r"float in the range \(0\.5, 1\.0\)\. Got 0\.1"):
        strong_wolfe(f.value_and_grad, x, -x, *f.value_and_grad(x), c1=0.5, c2=0.1)


def test_minus_infinity_is_returned_for_the_caller_to_report():
    def value_and_grad(x):  # unbounded below: -inf beyond x = 10
        return (-math.inf if x[0] > 10 else -float(x[0])), np.array([-1.0])

    x = np.array([0.0])
    result = strong_wolfe(value_and_grad, x, np.array([1.0]), *value_and_grad(x), step=100.0)
    assert not result.success and result.fun == -math.inf
    result = backtracking(lambda p: value_and_grad(p)[0], x, np.array([1.0]), 0.0, -1.0,
                          step=100.0)
    assert result.fun == -math.inf


# -- a function unbounded below along the direction --------------------------------------


@pytest.mark.parametrize("curvature", [0.0, -1.0, -1e-6])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_a_falling_straight_or_concave_line_is_called_unbounded(curvature, scale):
    # φ(t) = -t + curvature t²/2 along d = e_1 from x = (scale, 0): straight or concave,
    # falling for ever. The search must say so once a trial lies FAR * max(|x|, 1) away,
    # not extrapolate on to the end of its trials.
    def value_and_grad(p):
        u = p[0] - scale
        return -u + 0.5 * curvature * u * u, np.array([-1.0 + curvature * u, 0.0])

    x = np.array([scale, 0.0])
    result = strong_wolfe(value_and_grad, x, np.array([1.0, 0.0]), *value_and_grad(x))
    assert result.unbounded and not result.success
    reach = FAR * max(scale, 1.0)
    assert reach < result.step <= 10 * reach  # the first trial past the reach: steps grow 10x
    assert result.fun < value_and_grad(x)[0]


@given(st.floats(1.0, 1e12), st.floats(1e-12, 0.1))
@hypothesis_settings
def test_a_minimum_far_along_the_line_is_found_not_called_unbounded(distance, ratio):
    # φ(t) = (t - distance)²: bounded, its minimum up to 1e12 first steps away and beyond
    # FAR; its slope flattens on the way, so the search must find it, not give up.
    step = ratio * distance

    def value_and_grad(p):
        return (p[0] - distance) ** 2, np.array([2 * (p[0] - distance)])

    x = np.zeros(1)
    result = strong_wolfe(value_and_grad, x, np.array([1.0]), *value_and_grad(x), step=step)
    assert not result.unbounded
    assert result.success
    assert abs(result.x[0] - distance) <= distance  # lower than the start: on the way


def test_the_saddle_along_its_falling_axis_is_unbounded():
    f = F.saddle
    x = np.array([0.0, 0.04])
    result = strong_wolfe(f.value_and_grad, x, np.array([0.0, 1.0]), *f.value_and_grad(x))
    assert result.unbounded and result.nfev < 25
