"""The exact Hessian of linear models against central differences of the gradient."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from steepest import losses, nn
from steepest._finite_diff import hessian_from_gradient
from steepest.train import (
    Penalty,
    StepLoop,
    add_penalty_hessian,
    has_linear_hessian,
    linear_hessian_sum,
)


def _problem(loss_name, n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if loss_name == "categorical_crossentropy":
        y = rng.integers(0, k, n)
    elif loss_name == "binary_crossentropy":
        k, y = 1, rng.integers(0, 2, n).astype(float)
    else:
        y = rng.normal(size=(n, k)) if k > 1 else rng.normal(size=n)
    network = nn.Network([nn.Dense(k)], d, random_state=seed)
    network.theta[...] = rng.normal(size=network.n_params) * 0.5
    return X, y, network


@settings(max_examples=40, deadline=None)
@given(loss_name=st.sampled_from(["mse", "binary_crossentropy"]),
       n=st.integers(1, 30), d=st.integers(1, 5), k=st.integers(1, 4),
       alpha=st.sampled_from([0.0, 0.3]), seed=st.integers(0, 999))
def test_the_exact_hessian_equals_central_differences(loss_name, n, d, k, alpha, seed):
    X, y, network = _problem(loss_name, n, d, k, seed)
    penalty = Penalty(network, alpha, "l2")
    steps = StepLoop(network, loss_name, penalty=penalty)
    theta = network.theta.copy()

    def gradient(point):
        network.theta[...] = point
        return steps.value_and_grad(X, y)[1].copy()

    expected = hessian_from_gradient(gradient, theta)
    network.theta[...] = theta
    exact = add_penalty_hessian(linear_hessian_sum(network, loss_name, X, y) / n, penalty,
                                network)
    np.testing.assert_allclose(exact, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(network.theta, theta)


def test_other_networks_and_losses_fall_back_to_differences():
    mlp = nn.Network([nn.Dense(3), nn.Tanh(), nn.Dense(1)], 2)
    linear = nn.Network([nn.Dense(1)], 2)
    assert not has_linear_hessian(mlp, "mse") and not has_linear_hessian(linear, "mae")
    assert not has_linear_hessian(linear, "categorical_crossentropy")
    assert linear_hessian_sum(mlp, "mse", np.zeros((2, 2)), np.zeros(2)) is None
    assert has_linear_hessian(linear, losses.get("binary_crossentropy"))


def test_newton_fits_are_unchanged_by_the_exact_hessian():
    from sklearn.datasets import make_classification

    from steepest import LogisticRegression

    X, y = make_classification(n_samples=400, n_features=5, n_informative=4, n_redundant=0,
                               random_state=0)
    model = LogisticRegression(optimizer="newton", alpha=1e-2, scale=True, tol=1e-10).fit(X, y)
    lbfgs = LogisticRegression(optimizer="lbfgs", alpha=1e-2, scale=True, tol=1e-10).fit(X, y)
    # the same optimum (to the solvers' tolerances), in Newton's few iterations
    np.testing.assert_allclose(model.predict_proba(X), lbfgs.predict_proba(X), atol=1e-5)
    assert model.n_iter_ < 20
