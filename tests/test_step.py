"""steepest.train.step: the one step loop. Its objective against central finite
differences (with the penalty and an added proximal term), one step against the same
operations written out, its stops on bad numbers, and every training path going
through it (the Trainer, partial_fit, L-BFGS/Newton fitting, lr_find)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from steepest import LogisticRegression, MLPClassifier, losses, nn, optim
from steepest.errors import NonFiniteError
from steepest.lr_find import lr_find
from steepest.train import Penalty, StepLoop, Trainer
from steepest.train.divergence import BAD_GRADIENT
from steepest.transforms import clip_by_global_norm

LOSSES = {"mse": lambda rng, n, k: rng.normal(size=(n, k)),
          "binary_crossentropy": lambda rng, n, k: rng.integers(0, 2, (n, 1)).astype(float),
          "categorical_crossentropy": lambda rng, n, k: rng.integers(0, k, n)}


class Proximal:
    """FedProx's term (mu / 2) ||theta - anchor||², bound to a network: a GradientTerm."""

    def __init__(self, network: nn.Network, mu: float, anchor: np.ndarray) -> None:
        self.network, self.mu, self.anchor = network, mu, anchor

    def value(self) -> float:
        d = self.network.theta - self.anchor
        return 0.5 * self.mu * float(d @ d)

    def add_gradient(self) -> None:
        self.network.grad += self.mu * (self.network.theta - self.anchor)


def network(n_features: int, n_outputs: int, seed: int, hidden: int = 5) -> nn.Network:
    return nn.Network([nn.Dense(hidden), nn.Tanh(), nn.Dense(n_outputs)],
                      n_features=n_features, random_state=seed)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), n_features=st.integers(1, 4), n_outputs=st.integers(2, 3),
       loss=st.sampled_from(sorted(LOSSES)), alpha=st.floats(0.0, 1.0),
       mu=st.floats(0.0, 2.0), seed=st.integers(0, 2**32 - 1))
def test_objective_gradient_matches_finite_differences(n, n_features, n_outputs, loss, alpha,
                                                       mu, seed):
    rng = np.random.default_rng(seed)
    k = 1 if loss == "binary_crossentropy" else n_outputs
    net = network(n_features, k, seed)
    X, y = rng.normal(size=(n, n_features)), LOSSES[loss](rng, n, k)
    anchor = rng.normal(size=net.n_params)
    steps = StepLoop(net, loss, penalty=Penalty(net, alpha, "l2"),
                     terms=[Proximal(net, mu, anchor)])
    value, grad = steps.value_and_grad(X, y)
    grad = grad.copy()
    expected = losses.get(loss).value(y, net.forward(X)) + Penalty(net, alpha, "l2").value() \
        + Proximal(net, mu, anchor).value()
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    numeric = numerical_grad(lambda: steps.value_and_grad(X, y)[0], net.theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), n_features=st.integers(1, 4), n_outputs=st.integers(2, 3),
       loss=st.sampled_from(sorted(LOSSES)), alpha=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**32 - 1))
def test_weighted_objective_gradient_matches_finite_differences(n, n_features, n_outputs,
                                                                loss, alpha, seed):
    """With sample weights w: F = (1/n) Σ w_k ℓ_k + penalty; its gradient over theta."""
    rng = np.random.default_rng(seed)
    k = 1 if loss == "binary_crossentropy" else n_outputs
    net = network(n_features, k, seed)
    X, y = rng.normal(size=(n, n_features)), LOSSES[loss](rng, n, k)
    weight = rng.uniform(0.0, 3.0, size=n)
    steps = StepLoop(net, loss, penalty=Penalty(net, alpha, "l2"))
    value, grad = steps.value_and_grad(X, y, weight)
    grad = grad.copy()
    per_sample = [losses.get(loss).value(y[i:i + 1], net.forward(X[i:i + 1])) for i in range(n)]
    expected = float(np.dot(weight, per_sample)) / n + Penalty(net, alpha, "l2").value()
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-12)
    numeric = numerical_grad(lambda: steps.value_and_grad(X, y, weight)[0], net.theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_a_weighted_epoch_reports_the_weighted_mean_loss():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    weight = rng.uniform(0.5, 2.0, size=40)
    trainer = Trainer(network(3, 2, seed=0), "mse", optim.SGD(lr=1e-9), batch_size=8,
                      random_state=0)
    start = trainer.network.theta.copy()
    history = trainer.fit(X, y, epochs=1, sample_weight=weight)
    trainer.network.theta[...] = start
    per_sample = ((trainer.network.forward(X) - y) ** 2).mean(axis=1)
    assert history.last("loss") == pytest.approx(np.dot(weight, per_sample) / weight.sum(),
                                                 rel=1e-6)


@pytest.mark.parametrize("clip_norm", [None, 0.05])
def test_one_step_is_forward_loss_backward_penalty_clip_step(clip_norm):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 3, 16)
    by_hand, looped = network(3, 3, seed=2), network(3, 3, seed=2)
    loss, adam = losses.get("categorical_crossentropy"), optim.Adam(lr=0.1)
    penalty = Penalty(by_hand, 0.01, "elasticnet", 0.5)
    for _ in range(3):
        value, dY = loss.value_and_grad(y, by_hand.forward(X, training=True))
        by_hand.backward(dY)
        penalty.add_gradient()
        if clip_norm is not None:
            clip_by_global_norm(by_hand.grad, clip_norm)
        adam.step(by_hand.theta, by_hand.grad)

    steps = StepLoop(looped, "categorical_crossentropy", optim.Adam(lr=0.1),
                     penalty=Penalty(looped, 0.01, "elasticnet", 0.5), clip_norm=clip_norm)
    values = [steps.step(X, y) for _ in range(3)]
    assert values[-1] == value
    assert looped.theta.tobytes() == by_hand.theta.tobytes()
    assert (steps.norm > clip_norm) if clip_norm is not None else math.isnan(steps.norm)


def test_an_inactive_penalty_is_no_term():
    net = network(2, 1, seed=0)
    assert StepLoop(net, "mse", penalty=Penalty(net, 0.0)).terms == ()
    active = Penalty(net, 0.1)
    assert StepLoop(net, "mse", penalty=active).terms == (active,)


def test_run_stops_before_the_update_of_a_bad_batch():
    X = np.ones((6, 2))
    net = network(2, 1, seed=0)
    steps = StepLoop(net, "mse", optim.SGD(lr=0.01))
    good, bad = (X[:3], np.zeros(3)), (X[3:], np.array([0.0, math.inf, 0.0]))
    theta = net.theta.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        done = steps.run([good, bad, good])
    assert done.updates == 1 and done.count == 3 and done.failure[0] == math.inf
    assert "the loss of a batch became inf" in done.failure[1]
    assert not np.array_equal(net.theta, theta)            # the good batch's update only
    assert steps.optimizer.steps == 1


def test_run_stops_at_a_non_finite_gradient_without_changing_theta():
    class HugeTerm:
        def value(self):
            return 0.0

        def add_gradient(self):
            net.grad[0] = math.nan

    net = network(2, 1, seed=0)
    steps = StepLoop(net, "mse", optim.SGD(lr=0.01), terms=[HugeTerm()])
    theta = net.theta.copy()
    done = steps.run([(np.ones((4, 2)), np.zeros(4))])
    assert done.failure == (pytest.approx(math.nan, nan_ok=True), BAD_GRADIENT)
    assert done.updates == 0 and np.array_equal(net.theta, theta)
    with pytest.raises(NonFiniteError):
        steps.step(np.ones((4, 2)), np.zeros(4))


def test_value_and_grad_of_a_non_finite_loss_gives_a_nan_gradient():
    net = network(2, 1, seed=0)
    steps = StepLoop(net, "mse")
    with np.errstate(invalid="ignore", over="ignore"):
        value, grad = steps.value_and_grad(np.ones((2, 2)), np.array([0.0, math.inf]))
    assert value == math.inf and np.isnan(grad).all()


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of StepLoop.gradient (every path's forward-loss-backward)."""
    calls = {"gradient": 0, "update": 0}
    gradient, update = StepLoop.gradient, StepLoop.update

    def counting_gradient(self, X, y):
        calls["gradient"] += 1
        return gradient(self, X, y)

    def counting_update(self):
        calls["update"] += 1
        return update(self)

    monkeypatch.setattr(StepLoop, "gradient", counting_gradient)
    monkeypatch.setattr(StepLoop, "update", counting_update)
    return calls


def classes(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def test_the_trainer_steps_through_the_step_loop(counted):
    X, y = classes()
    trainer = Trainer(network(3, 1, seed=0), "binary_crossentropy", optim.SGD(lr=0.1),
                      batch_size=16, random_state=0)
    trainer.fit(X, y.astype(float), epochs=3)
    assert counted["gradient"] == counted["update"] == trainer.updates == 3 * 4


def test_partial_fit_steps_through_the_step_loop(counted):
    X, y = classes()
    model = MLPClassifier((4,), batch_size=20, random_state=0)
    model.partial_fit(X, y, classes=[0, 1])
    model.partial_fit(X, y)
    assert counted["update"] == 2 * 3 == model.history_["updates"][-1]


@pytest.mark.parametrize("optimizer", ["lbfgs", "newton"])
def test_full_batch_fitting_evaluates_the_step_loops_objective(counted, optimizer):
    X, y = classes()
    model = LogisticRegression(optimizer=optimizer, alpha=0.01, epochs=20).fit(X, y)
    assert counted["gradient"] >= model.n_iter_ > 0
    assert counted["update"] == 0                     # the line search moves theta itself


def test_lr_find_steps_through_the_step_loop(counted):
    X, y = classes()
    result = lr_find(LogisticRegression(batch_size=16), X, y, num_steps=20, random_state=0)
    assert counted["update"] == result.lrs.size == 20
    assert counted["gradient"] == 21                  # the loss after each update, and before


def test_the_trainers_step_loop_is_what_it_was_built_with():
    net = network(3, 1, seed=0)
    adam = optim.Adam()
    trainer = Trainer(net, "mse", adam, alpha=0.1, clip_norm=2.0)
    steps = trainer.steps
    assert steps.network is net and steps.optimizer is adam is trainer.optimizer
    assert steps.terms == (trainer.penalty,) and steps.clip_norm == trainer.clip_norm == 2.0
    trainer.loss = "mae"
    assert steps.loss is trainer.loss and isinstance(steps.loss, losses.MeanAbsoluteError)
