"""Tests of steepest.minimize, steepest.optim.lbfgs and steepest.optim.newton."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import steepest
from steepest import functions as F
from steepest import minimize, optim
from steepest._minimize import METHODS
from steepest.errors import ParameterError
from steepest.methods import LINE_SEARCH
from steepest.methods import METHODS as TABLE
from steepest.optim.lbfgs import lbfgs, two_loop
from steepest.optim.newton import added_identity, newton
from steepest.optim.objective import GROWTH, OptimizeResult

FIRST_ORDER = [m for m in METHODS if m not in LINE_SEARCH]
SECOND_ORDER = sorted(LINE_SEARCH)


def distance_to_nearest_minimum(f, x):
    return float(np.min(np.abs(f.minima - x).max(axis=1)))


# -- reaching minima ------------------------------------------------------------------


@pytest.mark.parametrize("method", SECOND_ORDER)
@pytest.mark.parametrize("f", [F.rosenbrock, F.booth, F.beale, F.himmelblau, F.goldstein_price],
                         ids=lambda f: f.name)
def test_second_order_methods_reach_a_minimum(method, f):
    hess = f.hessian if method == "newton" else None
    result = minimize(f, f.start, method=method, jac=f.gradient, hess=hess)
    assert result.success, result.message
    assert result.message.startswith("Gradient norm below tol")
    assert distance_to_nearest_minimum(f, result.x) < 1e-6
    assert result.nit < {"lbfgs": 100, "newton": 40}[method]


def test_rosenbrock_by_lbfgs_newton_and_adam():
    f = F.rosenbrock
    np.testing.assert_array_equal(f.start, [-1.5, 2.0])
    for method, accuracy in [("lbfgs", 1e-6), ("newton", 1e-6), ("adam", 1e-4)]:
        result = minimize(f.value_and_grad, f.start, method=method, jac=True)
        assert result.success, (method, result.message)
        np.testing.assert_allclose(result.x, [1.0, 1.0], atol=accuracy, rtol=0, err_msg=method)


def test_newton_uses_a_finite_difference_hessian_without_hess():
    f = F.rosenbrock
    exact = minimize(f, f.start, method="newton", jac=f.gradient, hess=f.hessian)
    approx = minimize(f, f.start, method="newton", jac=f.gradient)
    assert approx.success
    np.testing.assert_allclose(approx.x, exact.x, atol=1e-6)
    assert approx.nit == exact.nit
    assert approx.njev > exact.njev  # 2d extra gradients per iteration


@pytest.mark.parametrize("method", FIRST_ORDER)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_first_order_method_descends_the_ill_conditioned_quadratic(method, dtype):
    f = F.quadratic
    result = minimize(f, f.start.astype(dtype), method=method, jac=f.gradient, max_iter=1000)
    assert result.x.dtype == result.jac.dtype == result.path.dtype == dtype
    assert np.isfinite(result.x).all()
    assert f(result.x) < 0.1 * f(f.start)


def test_newton_does_not_walk_to_the_saddle_point():
    # Plain Newton jumps from any point straight to the stationary point of x² - y², the
    # saddle at the origin. With the shifted Hessian the step leans into the negative
    # curvature along y instead, and the line search makes every step go downhill.
    f = F.saddle
    result = minimize(f, f.start, method="newton", jac=f.gradient, hess=f.hessian, max_iter=8)
    values = f(result.path.T)
    assert np.all(np.diff(values) < 0)
    assert np.min(np.linalg.norm(result.path, axis=1)) >= np.linalg.norm(f.start)
    assert abs(result.x[1]) > 1e3 * abs(f.start[1])


def test_newton_reports_a_function_unbounded_below():
    f = F.saddle
    result = minimize(f, f.start, method="newton", jac=f.gradient, hess=f.hessian)
    assert not result.success
    assert np.isfinite(result.x).all() and np.isfinite(result.fun)
    assert "diverged" in result.message and "bounded below" in result.message


@given(st.integers(1, 6), st.data())
@settings(max_examples=40, deadline=None)
def test_random_quadratics_are_solved_exactly(d, data):
    m = data.draw(hnp.arrays(np.float64, (d, d), elements=st.floats(-2, 2)))
    a = m @ m.T + 0.5 * np.eye(d)
    b = data.draw(hnp.arrays(np.float64, d, elements=st.floats(-5, 5)))
    x0 = data.draw(hnp.arrays(np.float64, d, elements=st.floats(-5, 5)))
    solution = np.linalg.solve(a, -b)

    def value_and_grad(x):
        return 0.5 * x @ a @ x + b @ x, a @ x + b

    by_newton = newton(value_and_grad, lambda x: a, x0, tol=1e-9)
    assert by_newton.nit <= 1  # one exact step: H is positive definite, the unit step is right
    np.testing.assert_allclose(by_newton.x, solution, atol=1e-7)
    # ftol=0: stop on the gradient only. Then |x - solution| <= |g| / 0.5, the smallest
    # eigenvalue of a being at least 0.5.
    by_lbfgs = lbfgs(value_and_grad, x0, ftol=0.0)
    assert by_lbfgs.success, by_lbfgs.message
    assert np.abs(by_lbfgs.jac).max() <= 1e-6
    np.testing.assert_allclose(by_lbfgs.x, solution, atol=1e-5)


# -- the three forms of jac -----------------------------------------------------------


@pytest.mark.parametrize(("method", "f", "atol"), [
    ("lbfgs", F.rosenbrock, 1e-6), ("newton", F.rosenbrock, 1e-6), ("newton", F.beale, 1e-6),
    ("adam", F.booth, 1e-5), ("momentum", F.himmelblau, 1e-6),
])
def test_finite_differences_give_the_same_answer_as_the_exact_gradient(method, f, atol):
    exact = minimize(f, f.start, method=method, jac=f.gradient)
    approx = minimize(f, f.start, method=method)  # jac=None: central differences
    assert exact.success and approx.success
    np.testing.assert_allclose(approx.x, exact.x, atol=atol, rtol=0)
    np.testing.assert_allclose(approx.jac, exact.jac, atol=1e-6, rtol=0)
    assert approx.njev == 0 and approx.nfev >= 2 * f.dim * approx.nit


def test_the_three_forms_of_jac_agree_and_are_counted():
    f = F.rosenbrock
    calls = {"fun": 0, "jac": 0}

    def fun(x):
        calls["fun"] += 1
        return f(x)

    def jac(x):
        calls["jac"] += 1
        return f.gradient(x)

    separate = minimize(fun, f.start, method="lbfgs", jac=jac)
    assert (separate.nfev, separate.njev) == (calls["fun"], calls["jac"])
    together = minimize(f.value_and_grad, f.start, method="lbfgs", jac=True)
    assert together.nfev == together.njev == separate.nfev
    np.testing.assert_array_equal(together.x, separate.x)
    np.testing.assert_array_equal(together.path, separate.path)
    calls["fun"] = 0
    approx = minimize(fun, f.start, method="gd", max_iter=10)
    assert approx.nfev == calls["fun"] == 11 * (1 + 2 * f.dim) and approx.njev == 0


def test_newton_line_search_reuses_the_value_at_the_accepted_point():
    f = F.booth  # a quadratic: one full Newton step, accepted at once
    result = minimize(f, f.start, method="newton", jac=f.gradient, hess=f.hessian)
    assert result.nit == 1
    assert (result.nfev, result.njev) == (2, 2)  # f and g at x0, then at the minimum


# -- the result: path, dtype, repr ----------------------------------------------------


@pytest.mark.parametrize("method", ["gd", "adam", "lbfgs", "newton"])
def test_path_starts_at_x0_and_has_nit_plus_one_rows(method):
    f = F.himmelblau
    x0 = np.array([0.5, -0.5])
    result = minimize(f, x0, method=method, jac=f.gradient, max_iter=50)
    assert isinstance(result, OptimizeResult)
    assert result.path.shape == (result.nit + 1, 2)
    np.testing.assert_array_equal(result.path[0], x0)
    np.testing.assert_array_equal(result.path[-1], result.x)
    assert result.fun == f(result.x)
    np.testing.assert_array_equal(result.jac, f.gradient(result.x))
    assert result.method == method


def test_x0_is_not_changed_and_its_float_dtype_is_kept():
    f = F.rosenbrock
    for method in ["adam", "lbfgs", "newton"]:
        x0 = np.array([-1.5, 2.0], dtype=np.float32)
        result = minimize(f, x0, method=method, jac=f.gradient)
        np.testing.assert_array_equal(x0, [-1.5, 2.0])
        assert result.x.dtype == result.path.dtype == np.float32, method
    result = minimize(f, [-1, 2], method="lbfgs", jac=f.gradient)  # integers: float64
    assert result.x.dtype == np.float64


def test_a_scalar_start_is_one_coordinate():
    result = minimize(lambda x: (x[0] - 3.0) ** 2, 0.0, method="newton")
    assert result.x.shape == (1,)
    np.testing.assert_allclose(result.x, [3.0], atol=1e-6)


def test_a_start_at_the_minimum_takes_no_step():
    f = F.booth
    result = minimize(f, [1.0, 3.0], method="adam", jac=f.gradient)
    assert result.success and result.nit == 0
    assert result.path.shape == (1, 2)


def test_repr_shows_the_outcome():
    f = F.booth
    text = repr(minimize(f, f.start, method="lbfgs", jac=f.gradient))
    for field in ("method: 'lbfgs'", "success: True", "message: 'Gradient norm below tol",
                  "x: [1., 3.]", "nit: ", "nfev: ", "path: float64 array of shape ("):
        assert field in text


# -- stopping -------------------------------------------------------------------------


def test_max_iter_reached_is_an_honest_failure():
    f = F.rosenbrock
    result = minimize(f, f.start, method="gd", jac=f.gradient, max_iter=20)
    assert not result.success and result.nit == 20
    assert re.fullmatch(
        r"Maximum number of iterations reached \(max_iter=20\); the gradient norm is "
        r"\d\.\de[+-]\d\d > tol=1e-06\. Increase max_iter, or raise lr if the value was still "
        r"falling steadily\.", result.message)


def test_a_diverging_run_stops_at_the_last_finite_point():
    f = F.rosenbrock
    result = minimize(f, f.start, method="gd", jac=f.gradient, lr=1.0)
    assert not result.success
    assert np.isfinite(result.x).all() and np.isfinite(result.path).all()
    assert math.isfinite(result.fun) and np.isfinite(result.jac).all()
    np.testing.assert_array_equal(result.path[-1], result.x)
    assert result.message.startswith(f"The gd run diverged at iteration {result.nit + 1}: ")
    assert result.message.endswith("The learning rate lr=1.0 is too large for this function: "
                                   "lower it (try lr=0.1).")


def test_a_diverging_run_with_a_schedule_names_the_schedule():
    f = F.rosenbrock
    result = minimize(f, f.start, method="momentum", jac=f.gradient, lr=lambda t: 0.5)
    assert not result.success and "learning-rate schedule" in result.message


def test_ftol_stops_second_order_methods():
    f = F.rosenbrock
    result = minimize(f, f.start, method="lbfgs", jac=f.gradient, ftol=1e-3)
    assert result.success and result.message.startswith("Relative change in f below ftol")
    assert result.nit < minimize(f, f.start, method="lbfgs", jac=f.gradient).nit


@pytest.mark.parametrize("method", ["adam", "lbfgs", "newton"])
def test_callback_with_xk_stops_early(method):
    f = F.rosenbrock
    seen = []

    def callback(xk):
        seen.append(xk)
        return len(seen) == 3

    result = minimize(f, f.start, method=method, jac=f.gradient, callback=callback)
    assert result.nit == 3 and not result.success
    assert result.message == "Stopped by the callback at iteration 3."
    np.testing.assert_array_equal(np.array(seen), result.path[1:])


def test_callback_with_intermediate_result_sees_the_run():
    f = F.rosenbrock
    seen = []

    def callback(intermediate_result):
        seen.append((intermediate_result.nit, intermediate_result.fun,
                     intermediate_result.path.shape))

    result = minimize(f, f.start, method="lbfgs", jac=f.gradient, callback=callback)
    assert [nit for nit, _, _ in seen] == list(range(1, result.nit + 1))
    assert [shape for _, _, shape in seen] == [(k + 1, 2) for k in range(1, result.nit + 1)]
    assert seen[-1][1] == result.fun


# -- keywords -------------------------------------------------------------------------


def test_method_names_are_case_insensitive():
    f = F.booth
    result = minimize(f, f.start, method="LBFGS", jac=f.gradient)
    assert result.success and result.method == "lbfgs"


def test_optimizer_keywords_reach_the_optimizer():
    f = F.booth
    plain = minimize(f, f.start, method="momentum", jac=f.gradient, max_iter=30)
    lighter = minimize(f, f.start, method="momentum", jac=f.gradient, max_iter=30, momentum=0.5)
    assert not np.array_equal(plain.x, lighter.x)
    short = minimize(f, f.start, method="lbfgs", jac=f.gradient, history_size=1)
    assert short.success


def test_a_schedule_is_a_learning_rate():
    f = F.booth
    result = minimize(f, f.start, method="adam", jac=f.gradient, lr=lambda t: 0.1 / (1 + t / 100))
    assert result.success


# -- errors ---------------------------------------------------------------------------


def test_unknown_method_lists_the_valid_ones_and_the_closest():
    with pytest.raises(ParameterError) as error:
        minimize(F.booth, [0.0, 0.0], method="adma")
    assert str(error.value) == (
        "Unknown minimize method 'adma'. Valid names are: adadelta, adagrad, adam, adamax, "
        "adamw, gd, lbfgs, momentum, nadam, nesterov, newton, radam, rmsprop. "
        "Did you mean 'adam'?"
    )


def test_hess_with_a_first_order_method_is_an_error():
    with pytest.raises(ParameterError) as error:
        minimize(F.booth, [0.0, 0.0], method="adam", hess=F.booth.hessian)
    assert str(error.value) == (
        "The 'hess' parameter of minimize is used only by method='newton'; got "
        "method='adam'. Remove hess, or use method='newton'."
    )


@pytest.mark.parametrize(("x0", "detail"), [
    ("abc", "an array of dtype <U3"),
    ([[1.0, 2.0], [3.0, 4.0]], "Got an array of shape (2, 2). Flatten it with np.ravel"),
    ([], "Got an array of shape (0,)."),
    ([1.0, math.nan], "Got x0[1] = np.float64(nan)."),
    ([1.0, 2.0 + 1j], "dtype complex128"),
])
def test_bad_x0_is_named(x0, detail):
    with pytest.raises(ParameterError) as error:
        minimize(F.booth, x0)
    assert str(error.value).startswith(
        "The 'x0' parameter of minimize must be a 1-D array of finite real numbers.")
    assert detail in str(error.value)


def test_fun_must_be_finite_and_scalar_at_x0():
    with pytest.raises(ParameterError, match=r"^fun returned inf at x0; the start must have a "
                                             r"finite value\. Choose another x0\.$"):
        minimize(lambda x: math.inf, [1.0])
    with pytest.raises(ParameterError, match=r"^fun must return a real number; it returned "
                                             r"ndarray of shape \(2,\)"):
        minimize(lambda x: x * 2, [1.0, 2.0])
    with pytest.raises(ParameterError, match=r"^With jac=True, fun must return a pair"):
        minimize(lambda x: float(x @ x), [1.0, 2.0], jac=True)
    with pytest.raises(ParameterError, match=r"^The gradient jac returns must be 2 real "
                                             r"numbers, one per coordinate of x0; got float64 "
                                             r"of shape \(3,\)\.$"):
        minimize(lambda x: float(x @ x), [1.0, 2.0], jac=lambda x: np.zeros(3))


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_lr_must_be_positive(method):
    with pytest.raises(ParameterError, match=re.escape(
            "The 'lr' parameter of minimize must be a float in the range (0.0, inf). "
            "Got -0.1 instead.")):
        minimize(F.booth, [0.0, 0.0], method=method, lr=-0.1)


def test_unknown_keywords_say_what_the_method_takes():
    with pytest.raises(ParameterError, match=r"^minimize\(method='lbfgs'\) got the unknown "
                                             r"keyword 'momentum'; it takes 'history_size', "
                                             r"'ftol', 'c1', 'c2', 'state', 'checkpoint'\.$"):
        minimize(F.booth, [0.0, 0.0], method="lbfgs", momentum=0.9)
    with pytest.raises(ParameterError, match=r"^minimize\(method='adam'\) got the unknown "
                                             r"keyword 'history_size'; it takes 'betas', "):
        minimize(F.booth, [0.0, 0.0], method="adam", history_size=3)


# -- the building blocks --------------------------------------------------------------


def test_two_loop_with_one_pair_satisfies_the_secant_equation():
    # With one pair the BFGS update of gamma I maps y to s exactly: H y = s.
    rng = np.random.default_rng(3)
    s, y = rng.normal(size=5), rng.normal(size=5)
    y = y if s @ y > 0 else -y
    np.testing.assert_allclose(two_loop(y, [(s, y, 1 / (s @ y))], (s @ y) / (y @ y)), s)


def test_added_identity_makes_the_matrix_positive_definite():
    assert added_identity(np.diag([2.0, 3.0])) == 0.0
    tau = added_identity(np.diag([2.0, -2.0]))
    assert tau > 2.0
    np.linalg.cholesky(np.diag([2.0, -2.0]) + tau * np.eye(2))
    tau = added_identity(np.array([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3 and -1
    assert tau > 1.0


def test_optimize_result_is_exported_at_the_top_level():
    assert steepest.OptimizeResult is OptimizeResult


def test_steepest_minimize_stays_the_function_once_its_module_is_imported():
    # The module is private (steepest._minimize), so importing it cannot rebind the
    # package attribute `minimize` to a module, as a submodule of that name would.
    import steepest._minimize
    import steepest.optim.lbfgs  # noqa: F401

    assert steepest.minimize is minimize
    assert callable(steepest.minimize)


# -- scipy, when it is installed ------------------------------------------------------


@pytest.mark.parametrize("f", [F.rosenbrock, F.beale, F.himmelblau, F.goldstein_price],
                         ids=lambda f: f.name)
def test_lbfgs_agrees_with_scipy(f):
    scipy_optimize = pytest.importorskip("scipy.optimize")
    ours = minimize(f, f.start, method="lbfgs", jac=f.gradient)
    theirs = scipy_optimize.minimize(f, f.start, method="L-BFGS-B", jac=f.gradient,
                                     options={"gtol": 1e-6, "ftol": 1e-15, "maxcor": 10})
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-5)
    assert ours.nit <= 2 * theirs.nit + 5


def test_newton_agrees_with_scipy():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    f = F.rosenbrock
    ours = minimize(f, f.start, method="newton", jac=f.gradient, hess=f.hessian)
    theirs = scipy_optimize.minimize(f, f.start, method="trust-exact", jac=f.gradient,
                                     hess=f.hessian, options={"gtol": 1e-8})
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)


# -- the table of methods (steepest.methods) ----------------------------------------------


def test_minimize_takes_the_methods_of_the_table_in_its_order():
    assert METHODS == tuple(TABLE)
    assert set(SECOND_ORDER) == {"newton", "lbfgs"}


@pytest.mark.parametrize("method", FIRST_ORDER)
def test_a_first_order_method_is_the_tables_rule_rate_and_keywords(method):
    # minimize(method) with no lr must step exactly as the table's rule does, with the
    # table's rate and fixed keywords, for a few steps on a curved function.
    f, entry = F.beale, TABLE[method]
    result = minimize(f.value_and_grad, f.start, method=method, jac=True, max_iter=25)
    optimizer = optim.get(entry.rule, lr=entry.minimize_lr, **entry.fixed)
    x = f.start.astype(float).copy()
    expected = [x.copy()]
    for _ in range(25):
        optimizer.step(x, f.gradient(x))
        expected.append(x.copy())
    np.testing.assert_array_equal(result.path, np.array(expected))


def test_the_default_budget_is_the_tables():
    # sum(x) has the gradient (1, 1) everywhere: no run converges, none goes far.
    result = minimize(lambda x: (float(x.sum()), np.ones_like(x)), np.zeros(2), method="gd",
                      jac=True)
    assert result.nit == TABLE["gd"].max_iter
    assert f"(max_iter={TABLE['gd'].max_iter})" in result.message


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gets_the_tables_rate_and_budget(method, monkeypatch):
    import steepest._minimize as module

    seen = {}

    def solver(*args, **kwargs):
        seen.update(kwargs)
        return "result"

    monkeypatch.setattr(module, "_first_order" if method in FIRST_ORDER else method, solver)
    f = F.rosenbrock
    assert minimize(f, f.start, method=method, jac=f.gradient) == "result"
    assert seen["lr"] == TABLE[method].minimize_lr
    assert seen["max_iter"] == TABLE[method].max_iter


def test_the_docstring_table_of_minimize_says_what_the_table_says():
    rows = re.findall(r"^\s{8}(\w+),?\s+.*?\s(\S+)\s+(\d+)$", minimize.__doc__, re.M)
    documented = {name: (float(lr), int(budget)) for name, lr, budget in rows}
    # "adam, adamw, ...": one row for the five Adam-family methods
    for name in ("adamw", "nadam", "radam", "adamax"):
        documented[name] = documented["adam"]
    assert set(documented) == set(TABLE)
    for name, entry in TABLE.items():
        assert documented[name] == (entry.minimize_lr, entry.max_iter), name


# -- runs gone far: diverged although finite ----------------------------------------------


def test_radam_diverging_to_huge_finite_values_ends_diverged():
    # RAdam's first steps are unadapted momentum steps: at lr=1 on the ill-conditioned
    # quadratic they throw x to ~1e7 and f to ~1e16, all finite, where it used to stay
    # until max_iter.
    f = F.quadratic
    result = minimize(f.value_and_grad, f.start, method="radam", jac=True, lr=1.0)
    assert not result.success
    assert result.message.startswith(f"The radam run diverged at iteration {result.nit + 1}: "
                                     "the function value rose to ")
    assert result.message.endswith("The learning rate lr=1.0 is too large for this function: "
                                   "lower it (try lr=0.1).")
    assert result.nit < 10
    f0 = float(f(f.start))
    assert np.all(f(result.path.T) <= f0 + GROWTH * max(abs(f0), 1))
    np.testing.assert_array_equal(result.path[-1], result.x)


@given(st.floats(0.01, 100), st.floats(1.02, 1.3))
@settings(max_examples=30, deadline=None)
def test_growth_past_the_bound_is_divergence_and_below_it_is_not(x0, factor):
    # gd on f = x² with lr = (1 + factor) / 2 multiplies x by -factor per step, so
    # f_k = f0 factor^(2k): the run must stop exactly at the first k with
    # f_k - f0 > GROWTH max(f0, 1), and not before.
    f0 = x0 * x0
    limit = f0 + GROWTH * max(f0, 1.0)
    lr = (1 + factor) / 2

    def fun(x):
        return float(x[0] * x[0]), 2 * x

    values = [f0]
    while values[-1] <= limit:
        values.append(float((x0 * factor ** len(values)) ** 2))
    first = len(values) - 1
    assume(abs(values[-1] - limit) > 1e-6 * limit)  # clear of rounding at the bound
    result = minimize(fun, [x0], method="gd", jac=True, lr=lr, max_iter=first + 5)
    assert result.nit == first - 1, result.message
    assert result.message.startswith(f"The gd run diverged at iteration {first}: ")
    below = minimize(fun, [x0], method="gd", jac=True, lr=lr, max_iter=first - 1)
    assert below.message.startswith("Maximum number of iterations reached")


def test_a_point_gone_far_on_a_falling_function_asks_whether_it_is_bounded():
    # f = -x: gd moves x by lr per step; at lr=1e5 from 0, x passes GROWTH at step 11.
    result = minimize(lambda x: (-float(x[0]), -np.ones(1)), [0.0], method="gd", jac=True,
                      lr=1e5)
    assert not result.success and result.nit == 10
    assert result.x[0] == pytest.approx(1e6)
    assert result.message.startswith("The gd run diverged at iteration 11: the point went "
                                     "to max|x_i| = 1.1e+06")
    assert "Is the function bounded below?" in result.message


def test_lbfgs_stops_on_a_function_unbounded_below_instead_of_taking_huge_steps():
    f = F.saddle
    result = minimize(f.value_and_grad, f.start, method="lbfgs", jac=True)
    assert not result.success
    assert result.message.startswith(
        "The function appears unbounded below along the search direction: ")
    assert "Check that the function has a minimum" in result.message
    (x0, x1), (y0, y1) = f.bounds  # it stopped near the saddle point, not at 1e17
    assert np.all((result.path >= [x0, y0]) & (result.path <= [x1, y1]))
    assert result.nfev < 50
    np.testing.assert_array_equal(result.path[-1], result.x)


def test_lbfgs_stops_on_a_linear_function():
    result = lbfgs(lambda x: (float(-x.sum()), -np.ones_like(x)), np.zeros(3))
    assert not result.success
    assert result.message.startswith("The function appears unbounded below")
    assert np.abs(result.x).max() < 1e9
