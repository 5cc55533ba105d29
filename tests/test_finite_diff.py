"""Tests of steepest._finite_diff: central differences against analytic derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steepest import _finite_diff as fd
from steepest import functions as F

hypothesis_settings = settings(max_examples=80, deadline=None)


class Smooth:
    """``f(x) = Σ a_i sin(b_i x_i + c_i) + ½ xᵀ M x + log(1 + exp(w·x))`` with exact derivatives.

    A sum of a separable wave, a quadratic with cross terms and a softplus ridge:
    every derivative order is nonzero and mixes the coordinates.
    """

    def __init__(self, a, b, c, m, w):
        self.a, self.b, self.c, self.w = a, b, c, w
        self.m = (m + m.T) / 2

    def __call__(self, x):
        return (np.sum(self.a * np.sin(self.b * x + self.c)) + 0.5 * x @ self.m @ x
                + np.logaddexp(0.0, self.w @ x))

    def gradient(self, x):
        sigma = 1 / (1 + np.exp(-(self.w @ x)))
        return self.a * self.b * np.cos(self.b * x + self.c) + self.m @ x + sigma * self.w

    def hessian(self, x):
        sigma = 1 / (1 + np.exp(-(self.w @ x)))
        waves = np.diag(-self.a * self.b**2 * np.sin(self.b * x + self.c))
        return waves + self.m + sigma * (1 - sigma) * np.outer(self.w, self.w)


@st.composite
def smooth_functions(draw):
    """A random :class:`Smooth` in 1 to 5 dimensions and a point in [-2, 2]^d."""
    d = draw(st.integers(1, 5))

    def vector(low, high, shape=(d,)):
        return draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))

    f = Smooth(vector(-2, 2), vector(-3, 3), vector(-3, 3), vector(-2, 2, (d, d)),
               vector(-1, 1))
    return f, vector(-2, 2)


def assert_close(approx, exact, tol):
    """``|approx - exact| <= tol * (1 + max |exact|)`` entrywise: relative to the scale."""
    scale = 1 + np.max(np.abs(exact))
    np.testing.assert_allclose(approx, exact, rtol=0, atol=tol * scale)


@hypothesis_settings
@given(smooth_functions())
def test_gradient_matches_analytic_gradient(case):
    f, x = case
    # eps^(2/3) ~ 4e-11 times third derivatives of order 30 here.
    assert_close(fd.gradient(f, x), f.gradient(x), 1e-8)


@hypothesis_settings
@given(smooth_functions())
def test_hessian_from_values_matches_analytic_hessian(case):
    f, x = case
    hessian = fd.hessian(f, x)
    np.testing.assert_array_equal(hessian, hessian.T)
    # eps^(1/2) ~ 1.5e-8 times fourth derivatives of order 100 here.
    assert_close(hessian, f.hessian(x), 1e-5)


@hypothesis_settings
@given(smooth_functions())
def test_hessian_from_gradient_matches_analytic_hessian(case):
    f, x = case
    hessian = fd.hessian_from_gradient(f.gradient, x)
    np.testing.assert_array_equal(hessian, hessian.T)
    assert_close(hessian, f.hessian(x), 1e-8)


SURFACES = [F.rosenbrock, F.beale, F.booth, F.himmelblau, F.saddle, F.quadratic,
            F.make_rastrigin(3), F.make_styblinski_tang(4)]


@pytest.mark.parametrize("f", SURFACES, ids=lambda f: f"{f.name}-{f.dim}d")
@hypothesis_settings
@given(data=st.data())
def test_derivatives_of_the_test_surfaces(f, data):
    x = np.array([data.draw(st.floats(lo, hi)) for lo, hi in f.bounds])
    assert_close(fd.gradient(f, x), f.gradient(x), 1e-7)
    assert_close(fd.hessian_from_gradient(f.gradient, x), f.hessian(x), 1e-6)
    assert_close(fd.hessian(f, x), f.hessian(x), 1e-4)


def test_quadratics_are_differentiated_to_rounding():
    # Central differences are exact for polynomials of degree 2: only rounding is left.
    rng = np.random.default_rng(0)
    m = rng.normal(size=(4, 4))
    a, b = m @ m.T, rng.normal(size=4)
    x = rng.normal(size=4)

    def f(x):
        return 0.5 * x @ a @ x + b @ x

    np.testing.assert_allclose(fd.gradient(f, x), a @ x + b, atol=1e-9)
    np.testing.assert_allclose(fd.hessian(f, x), a, atol=1e-6)
    np.testing.assert_allclose(fd.hessian_from_gradient(lambda x: a @ x + b, x), a, atol=1e-9)


def test_call_counts_and_the_point_is_left_alone():
    calls = []
    x = np.array([0.3, -1.2, 2.0])
    before = x.copy()

    def f(p):
        calls.append(p.copy())
        return float(np.sum(np.cos(p)))

    fd.gradient(f, x)
    assert len(calls) == 2 * x.size
    calls.clear()
    fd.hessian(f, x)
    assert len(calls) == 2 * x.size**2 + 1
    calls.clear()
    fd.hessian(f, x, f0=f(x))
    assert len(calls) == 2 * x.size**2 + 1  # f(x) above, then 2d² inside
    calls.clear()
    fd.hessian_from_gradient(lambda p: calls.append(p) or -np.sin(p), x)
    assert len(calls) == 2 * x.size
    np.testing.assert_array_equal(x, before)


def test_steps_scale_with_the_coordinates_and_the_dtype():
    x = np.array([0.0, 0.5, -4.0, 1e6])
    h = fd.step_sizes(x, 1 / 3)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(h, eps ** (1 / 3) * np.array([1, 1, 4, 1e6]))
    assert fd.step_sizes(x.astype(np.float32), 1 / 4).dtype == np.float32
    np.testing.assert_allclose(fd.step_sizes(np.float32([2.0]), 1 / 4),
                               2 * np.finfo(np.float32).eps ** 0.25, rtol=1e-6)


def test_float32_points_give_float32_derivatives():
    f = F.rosenbrock
    x = np.float32([-1.2, 1.0])
    grad = fd.gradient(f, x)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, f.gradient(x.astype(np.float64)), rtol=2e-2)
    assert fd.hessian_from_gradient(f.gradient, x).dtype == np.float32
