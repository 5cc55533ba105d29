"""Per-sample SGD on linear models (steepest.train._per_sample): the compiled epoch
against the trainer's NumPy loop (``fused_min_size=None`` turns the compiled path off),
when it is taken and when it is not, and how it stops on bad values."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steepest import nn, optim, schedules
from steepest.data import Batcher
from steepest.errors import NonFiniteError, ParameterError
from steepest.train import DivergenceGuard, DivergenceWarning, ReduceLROnPlateau, Trainer
from steepest.train._per_sample import run_epoch

COMPILED_CALLS = []


@pytest.fixture(autouse=True)
def compile_short_runs(monkeypatch):
    """Take the compiled epoch however short the run (these runs are a few hundred updates,
    below what is worth importing Numba for), and count its calls."""
    from steepest.train import _per_sample, _per_sample_kernel

    monkeypatch.setattr(_per_sample, "MIN_UPDATES", 0)
    epoch = _per_sample_kernel.epoch
    monkeypatch.setattr(_per_sample_kernel, "epoch",
                        lambda *args: COMPILED_CALLS.append(1) or epoch(*args))
    COMPILED_CALLS.clear()


# the loops round alike except in the sum x·W (BLAS's order vs the kernel's), so they
# drift apart by rounding over thousands of updates
RTOL = {np.float64: 1e-10, np.float32: 2e-4}


def problem(loss, units, dtype, n=300, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    if loss == "categorical_crossentropy":
        y = rng.integers(0, units, n)
    elif loss == "binary_crossentropy":
        y = (rng.random((n, units)) > 0.5).astype(dtype)
    else:
        y = rng.standard_normal((n, units)).astype(dtype)
    return X, y.ravel() if units == 1 and y.ndim == 2 else y


def train(loss, units, dtype, optimizer, compiled, epochs=3, n=300, d=12, bias=True, **options):
    X, y = problem(loss, units, dtype, n, d)
    net = nn.Network([nn.Dense(units, bias=bias)], d, dtype=dtype, random_state=0)
    optimizer.fused_min_size = optim.Optimizer.fused_min_size if compiled else None
    trainer = Trainer(net, loss, optimizer, batch_size=1, random_state=1, **options)
    COMPILED_CALLS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        history = trainer.fit(X, y, epochs=epochs)
    assert bool(COMPILED_CALLS) == compiled  # the path under test was the one taken
    return trainer, history


def assert_same_run(loss, units, dtype, make_optimizer, **options):
    fast, fast_history = train(loss, units, dtype, make_optimizer(), True, **options)
    slow, slow_history = train(loss, units, dtype, make_optimizer(), False, **options)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(fast.network.theta, slow.network.theta, rtol=rtol,
                               atol=rtol * 1e-2)
    np.testing.assert_allclose(fast_history["loss"], slow_history["loss"], rtol=rtol)
    np.testing.assert_allclose(fast_history["grad_norm"], slow_history["grad_norm"], rtol=rtol)
    assert fast.optimizer.steps == slow.optimizer.steps == fast.updates == slow.updates
    for key, value in slow.optimizer.state_dict().items():
        np.testing.assert_allclose(fast.optimizer.state_dict()[key], value, rtol=rtol,
                                   atol=rtol * 1e-2)
    # the compiled loop does not measure each update's gradient norm (the divergence events
    # of the NumPy loop carry the undone epoch's first and largest): the rest is the same
    norms = ("grad_norm_first", "grad_norm_max")
    assert [{k: v for k, v in e.items() if k not in norms} for e in fast.history.events] == \
        [{k: v for k, v in e.items() if k not in norms} for e in slow.history.events]
    assert fast.network.theta.dtype == np.dtype(dtype)


LOSSES = [("mse", 1), ("mse", 3), ("binary_crossentropy", 1), ("binary_crossentropy", 2),
          ("categorical_crossentropy", 4)]
OPTIMIZERS = {
    "plain": lambda: optim.SGD(lr=0.02),
    "nesterov+decay": lambda: optim.SGD(lr=0.01, momentum=0.9, nesterov=True,
                                        weight_decay=1e-3),
    "dampened": lambda: optim.SGD(lr=0.01, momentum=0.5, dampening=0.3),
}


@pytest.mark.parametrize("loss, units", LOSSES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", list(OPTIMIZERS))
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
def test_compiled_epoch_matches_the_numpy_loop(loss, units, dtype, rule, penalty):
    assert_same_run(loss, units, dtype, OPTIMIZERS[rule], alpha=1e-3, penalty=penalty)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 20), units=st.integers(1, 5),
       loss=st.sampled_from(["mse", "binary_crossentropy", "categorical_crossentropy"]),
       bias=st.booleans(), shuffle=st.booleans(), seed=st.integers(0, 2**16))
def test_compiled_epoch_matches_the_loop_on_any_shape(n, d, units, loss, bias, shuffle, seed):
    X, y = problem(loss, units, np.float64, n, d, seed)
    runs = []
    for compiled in (True, False):
        net = nn.Network([nn.Dense(units, bias=bias)], d, random_state=seed)
        sgd = optim.SGD(lr=0.05, momentum=0.5)
        sgd.fused_min_size = 0 if compiled else None
        trainer = Trainer(net, loss, sgd, batch_size=1, alpha=1e-2, shuffle=shuffle,
                          random_state=seed)
        COMPILED_CALLS.clear()
        with warnings.catch_warnings():  # some draws diverge, alike on both paths
            warnings.simplefilter("ignore", DivergenceWarning)
            runs.append((trainer.fit(X, y, epochs=2)["loss"], net.theta.copy()))
        assert bool(COMPILED_CALLS) == compiled
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-10)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-10, atol=1e-13)


def test_a_schedule_and_a_lowered_rate_give_the_loop_s_rates():
    def make():
        return optim.SGD(lr=schedules.warmup(schedules.cosine(0.05, total_steps=900), 50))

    assert_same_run("binary_crossentropy", 1, np.float64, make,
                    callbacks=[ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5)])
    fast, _ = train("binary_crossentropy", 1, np.float64, make(), True)
    assert fast.optimizer.steps == 900


def test_the_compiled_epoch_is_taken_only_where_it_applies():
    X, y = problem("mse", 1, np.float64)

    def attempt(layers=None, optimizer=None, batch_size=1, **options):
        net = nn.Network(layers or [nn.Dense(1)], X.shape[1], random_state=0)
        trainer = Trainer(net, "mse", optimizer or optim.SGD(lr=0.01), batch_size=batch_size,
                          **options)
        return run_epoch(trainer, Batcher(X, y, batch_size, random_state=0))

    assert attempt() is not None
    assert attempt([nn.Dense(4), nn.ReLU(), nn.Dense(1)]) is None  # not a linear model
    assert attempt(optimizer=optim.Adam()) is None
    assert attempt(batch_size=2) is None
    assert attempt(clip_norm=1.0) is None
    reference = optim.SGD(lr=0.01)
    reference.fused_min_size = None
    assert attempt(optimizer=reference) is None
    from steepest.train import _per_sample

    short = Trainer(nn.Network([nn.Dense(1)], X.shape[1]), "mse", "sgd", batch_size=1)
    _per_sample.MIN_UPDATES = 4 * len(X)  # the fixture puts it back
    short.target_epochs = 3  # a run of 3 epochs: too short, whatever the process has loaded
    assert run_epoch(short, Batcher(X, y, 1)) is None
    short.target_epochs = 4
    assert run_epoch(short, Batcher(X, y, 1)) is not None
    wrong_targets = Trainer(nn.Network([nn.Dense(1)], X.shape[1]), "binary_crossentropy",
                            "sgd", batch_size=1)
    assert run_epoch(wrong_targets, Batcher(X, y, 1)) is None  # y outside [0, 1]


def test_bad_targets_and_rates_get_the_loop_s_errors():
    X, y = problem("mse", 1, np.float64)
    net = nn.Network([nn.Dense(1)], X.shape[1])
    with pytest.raises(ParameterError, match=r"in \[0, 1\]"):
        Trainer(net, "binary_crossentropy", "sgd", batch_size=1).fit(X, y, epochs=1)
    with pytest.raises(ParameterError, match="returned -1.0 at update 5"):
        Trainer(net, "mse", optim.SGD(lr=lambda t: -1.0 if t == 5 else 0.01),
                batch_size=1).fit(X, y, epochs=1)


def test_a_diverging_run_rolls_back_as_the_loop_does():
    X, y = problem("mse", 1, np.float32)
    runs = []
    for compiled in (True, False):
        net = nn.Network([nn.Dense(1)], X.shape[1], dtype=np.float32, random_state=0)
        sgd = optim.SGD(lr=1.0)
        sgd.fused_min_size = 0 if compiled else None
        trainer = Trainer(net, "mse", sgd, batch_size=1, random_state=0,
                          divergence=DivergenceGuard(max_retries=6))
        with pytest.warns(DivergenceWarning) as caught, \
                np.errstate(over="ignore", invalid="ignore"):
            trainer.fit(X * 10, y, epochs=2)
        assert "the loss of a batch became inf" in str(caught[0].message)
        assert np.isfinite(net.theta).all() and trainer.epoch == 2
        assert bool(COMPILED_CALLS) == compiled
        COMPILED_CALLS.clear()
        # the NumPy loop's events also carry the undone epoch's first and largest update
        # gradient norms, which the compiled loop does not measure
        runs.append([{k: v for k, v in e.items() if k not in ("grad_norm_first",
                                                               "grad_norm_max")}
                     for e in trainer.history.events])
    assert runs[0] == runs[1]
    assert runs[0][0]["reason"] == "the loss of a batch became inf"


@pytest.mark.parametrize("compiled", [True, False])
def test_a_non_finite_gradient_stops_before_its_update(compiled):
    X = np.zeros((4, 2), np.float32)
    X[:, 1] = 1.0
    y = np.ones(4, np.float32)
    net = nn.Network([nn.Dense(1)], 2, dtype=np.float32)
    net.theta[0] = 3e38  # x₀ = 0 keeps the output finite; the L2 term 10·w overflows
    start = net.theta.copy()
    sgd = optim.SGD(lr=0.01)
    sgd.fused_min_size = 0 if compiled else None
    trainer = Trainer(net, "mse", sgd, batch_size=1, alpha=10.0, divergence=False)
    with pytest.raises(NonFiniteError, match="the gradient became non-finite"), \
            np.errstate(over="ignore"):
        trainer.fit(X, y, epochs=1)
    np.testing.assert_array_equal(net.theta, start)
    assert sgd.steps == 0
    assert bool(COMPILED_CALLS) == compiled


def test_epoch_order_is_the_draw_that_epoch_uses():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    order = Batcher(X, y, 3, random_state=3).epoch_order()
    batches = [y_batch.copy() for _, y_batch in Batcher(X, y, 3, random_state=3).epoch()]
    np.testing.assert_array_equal(np.concatenate(batches), y[order])
    assert Batcher(X, y, 1, shuffle=False).epoch_order() is None


def test_a_short_run_keeps_the_numpy_loop_and_does_not_load_numba():
    code = ("import sys, numpy as np, steepest\n"
            "X = np.random.default_rng(0).normal(size=(200, 3)); y = X[:, 0] > 0\n"
            "steepest.LogisticRegression(optimizer='sgd', batch_size=1, epochs=5,\n"
            "                            tol=None).fit(X, y)\n"
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
