"""steepest.train: the fit loop against the textbook and an independent NumPy loop, the
penalty against finite differences, history, callbacks (early stopping, plateau,
checkpoints with bit-identical resume), the divergence guard, Ctrl-C and seeding."""

from __future__ import annotations

import io
import math
import tracemalloc
import warnings

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rich.console import Console

from steepest import losses, nn, optim, schedules
from steepest.errors import FileFormatError, NonFiniteError, ParameterError, StateError
from steepest.io import load_arrays, save_arrays
from steepest.train import (
    Callback,
    Checkpoint,
    DivergenceError,
    DivergenceGuard,
    DivergenceWarning,
    EarlyStopping,
    History,
    Penalty,
    ProgressBar,
    ReduceLROnPlateau,
    Trainer,
    fit,
    weight_mask,
)

X_LINE = np.array([[1.0], [2.0], [3.0], [4.0]])
Y_LINE = np.array([2.0, 4.0, 6.0, 8.0])


def linear(n_features: int = 1, dtype="float64") -> nn.Network:
    return nn.Network([nn.Dense(1, weight_init="zeros")], n_features=n_features, dtype=dtype)


def mlp(seed: int = 0, *, dropout: bool = True, batch_norm: bool = True, n_features: int = 4,
        n_outputs: int = 3) -> nn.Network:
    layers = [nn.Dense(8)]
    layers += [nn.BatchNorm()] if batch_norm else []
    layers += [nn.Tanh()]
    layers += [nn.Dropout(0.2)] if dropout else []
    layers += [nn.Dense(n_outputs)]
    return nn.Network(layers, n_features=n_features, random_state=seed)


def blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes in four features."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 4)) + 1.5 * np.eye(3, 4)[y]
    return X, y


def accuracy(y_true, logits) -> float:
    return float(np.mean(logits.argmax(axis=1) == y_true))


class Recorder(Callback):
    """Keeps the network's state and the logs at the end of every epoch."""

    def reset(self):
        self.states, self.logs = [], []

    def on_epoch_end(self, epoch, logs):
        self.states.append(self.trainer.network.state_dict())
        self.logs.append(dict(logs))


class Killer(Callback):
    """Raises at the end of an epoch, after the checkpoint is written (a crash)."""

    order = 200

    def __init__(self, at: int):
        self.at = at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            raise RuntimeError("killed")


class InterruptingLoss(losses.CategoricalCrossEntropy):
    """Raises ``error`` on its ``at``-th call: Ctrl-C (or a failure) in the middle of an epoch."""

    def __init__(self, at: int, error=KeyboardInterrupt):
        super().__init__()
        self.calls, self.at, self.error = 0, at, error

    def value_and_grad(self, y_true, y_pred, out=None):
        self.calls += 1
        if self.calls == self.at:
            raise self.error()
        return super().value_and_grad(y_true, y_pred, out)


def assert_same_state(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
        if isinstance(a[key], np.ndarray):
            assert a[key].tobytes() == np.asarray(b[key]).tobytes(), key


# -- the textbook ----------------------------------------------------------------------

SLOPE_1000 = 1.9896587550255742
INTERCEPT_1000 = 0.030404521305361965
"""x = [1, 2, 3, 4], y = 2x, batch gradient descent on the MSE from zero, lr 0.01, 1000
epochs, in float64; equal to the independent loop and the closed form below."""


def test_textbook_batch_gradient_descent():
    net = linear()
    history = Trainer(net, "mse", optim.SGD(lr=0.01)).fit(X_LINE, Y_LINE, epochs=1000)
    slope, intercept = net.layers[0].W[0, 0], net.layers[0].b[0]
    assert abs(slope - 1.98966) < 1e-5 and abs(intercept - 0.03040) < 1e-5
    assert abs(slope - SLOPE_1000) < 1e-9 and abs(intercept - INTERCEPT_1000) < 1e-9

    # the loop of the textbook: w ← w + lr·(2/n)Σx(y − ŷ), b ← b + lr·(2/n)Σ(y − ŷ)
    x, w, b = X_LINE[:, 0], 0.0, 0.0
    for _ in range(1000):
        r = Y_LINE - (w * x + b)
        w, b = w + 0.01 * (2 / 4) * np.sum(x * r), b + 0.01 * (2 / 4) * np.sum(r)
    assert abs(w - SLOPE_1000) < 1e-12 and abs(b - INTERCEPT_1000) < 1e-12

    # closed form: θ_k = θ* + (I − lr·H)^k (θ_0 − θ*), H = (2/n) AᵀA, θ* = (2, 0)
    A = np.column_stack([x, np.ones(4)])
    H = 2 / 4 * A.T @ A
    theta = np.array([2.0, 0.0]) - np.linalg.matrix_power(np.eye(2) - 0.01 * H, 1000) @ [2, 0]
    np.testing.assert_allclose(theta, [SLOPE_1000, INTERCEPT_1000], rtol=0, atol=1e-12)

    assert history.epochs == history.updates == 1000
    assert history["loss"][0] == 30.0                       # mean(y²) at θ = 0
    assert history["lr"] == [0.01] * 1000


def test_history_series_and_counts():
    X, y = blobs()
    trainer = Trainer(mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=16,
                      random_state=0)
    history = trainer.fit(X[:60], y[:60], epochs=5, validation_data=(X[60:], y[60:]),
                          score=accuracy)
    assert list(history) == ["loss", "val_loss", "val_score", "lr", "grad_norm", "time"]
    assert all(len(values) == 5 for values in history.values())
    assert history.epochs == trainer.epoch == 5
    assert history.updates == trainer.updates == 5 * math.ceil(60 / 16)
    assert np.all(np.diff(history["time"]) >= 0) and history["time"][0] >= 0
    assert all(0 <= s <= 1 for s in history["val_score"])
    assert all(g > 0 for g in history["grad_norm"])
    assert history["lr"] == [0.01] * 5
    assert history.to_dict() == {key: history[key] for key in history}
    assert history.last("loss") == history["loss"][-1]
    assert repr(history).startswith("History(epochs=5, updates=20, loss=")


def test_history_pads_a_series_that_appears_late():
    X, y = blobs()
    trainer = Trainer(mlp(), "categorical_crossentropy", "adam", batch_size=30, random_state=0)
    trainer.partial_fit(X, y)
    trainer.partial_fit(X, y, validation_data=(X, y))
    assert math.isnan(trainer.history["val_loss"][0]) and trainer.history["val_loss"][1] > 0


@pytest.mark.parametrize("penalty, l1_ratio", [("l2", 0.15), ("l1", 0.15), ("elasticnet", 0.3)])
def test_loss_is_the_objective_at_the_start_of_each_full_batch_epoch(penalty, l1_ratio):
    rng = np.random.default_rng(1)
    X, X_val = rng.normal(size=(30, 3)), rng.normal(size=(10, 3))
    w = np.array([1.0, -2.0, 0.5])
    y, y_val = X @ w + 1, X_val @ w + 1
    net = nn.Network([nn.Dense(1)], n_features=3, random_state=0)
    recorder = Recorder()
    trainer = Trainer(net, "mse", optim.SGD(lr=0.05), alpha=0.1, penalty=penalty,
                      l1_ratio=l1_ratio, callbacks=[recorder])
    start = net.state_dict()
    history = trainer.fit(X, y, epochs=4, validation_data=(X_val, y_val))

    probe = nn.Network([nn.Dense(1)], n_features=3)
    objective = Penalty(probe, 0.1, penalty, l1_ratio)
    mse = losses.MeanSquaredError()
    for epoch, state in enumerate([start] + recorder.states[:-1]):
        probe.load_state_dict(state)
        expected = mse(y, probe.forward(X)) + objective.value()
        assert history["loss"][epoch] == pytest.approx(expected, rel=1e-13)
    for epoch, state in enumerate(recorder.states):
        probe.load_state_dict(state)
        expected = mse(y_val, probe.forward(X_val)) + objective.value()
        assert history["val_loss"][epoch] == pytest.approx(expected, rel=1e-13)


# -- the penalty -------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(penalty=st.sampled_from(["l2", "l1", "elasticnet"]), alpha=st.floats(1e-3, 2.0),
       l1_ratio=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_penalty_gradient_matches_finite_differences(penalty, alpha, l1_ratio, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    net = mlp(seed, dropout=False)
    net.theta += 0.1 * rng.normal(size=net.n_params)       # biases and β away from zero too
    assume(np.abs(net.theta[weight_mask(net)]).min() > 1e-4)   # away from the L1 kink
    loss, pen = losses.CategoricalCrossEntropy(), Penalty(net, alpha, penalty, l1_ratio)

    def objective() -> float:
        return loss(y, net.forward(X, training=True)) + pen.value()

    _, dY = loss.value_and_grad(y, net.forward(X, training=True))
    net.backward(dY)
    pen.add_gradient()
    np.testing.assert_allclose(net.grad, numerical_grad(objective, net.theta), rtol=1e-5,
                               atol=1e-7)


def test_only_dense_weights_are_penalised():
    net = nn.Network([nn.Dense(3), nn.BatchNorm(), nn.ReLU(), nn.Dense(2)], n_features=2,
                     random_state=0)
    mask = weight_mask(net)
    sizes = {key: view.size for key, view in net.parameters().items()}
    expected = np.concatenate([np.full(size, key.endswith(".W"))
                               for key, size in sizes.items()])
    np.testing.assert_array_equal(mask, expected)
    net.theta[:] = np.linspace(-1, 1, net.n_params)
    for penalty in ("l2", "l1", "elasticnet"):
        pen = Penalty(net, 0.5, penalty, 0.4)
        net.grad[:] = 0
        pen.add_gradient()
        assert np.all(net.grad[~mask] == 0) and np.all(net.grad[mask] != 0)
        w = net.theta[mask]
        rho = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.4}[penalty]
        expected = 0.5 * (rho * np.abs(w).sum() + (1 - rho) / 2 * np.dot(w, w))
        assert pen.value() == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_long_weight_blocks_take_one_compiled_pass_with_the_same_bits(penalty, dtype,
                                                                      monkeypatch):
    net = nn.Network([nn.Dense(300), nn.ReLU(), nn.Dense(3)], n_features=70, dtype=dtype,
                     random_state=0)  # W of 21,000 and 900 weights: one block of each kind
    net.theta[::5] = 0.0  # sign(0) = 0
    rng = np.random.default_rng(0)
    start = rng.normal(size=net.n_params).astype(dtype)
    grads = []
    for fused_min_size in (2**14, None):
        monkeypatch.setattr(optim.Optimizer, "fused_min_size", fused_min_size)
        net.grad[:] = start
        Penalty(net, 0.37, penalty, 0.3).add_gradient()
        grads.append(net.grad.copy())
    np.testing.assert_array_equal(grads[0].view(f"i{grads[0].itemsize}"),
                                  grads[1].view(f"i{grads[1].itemsize}"))


def test_inactive_penalties_do_nothing():
    net = mlp()
    for pen in (Penalty(net, 0.0), Penalty(net, 1.0, None),
                Penalty(nn.Network([nn.ReLU()], n_features=2), 1.0)):
        assert not pen.active and pen.value() == 0.0
        net.grad[:] = 1.0
        pen.add_gradient()
        assert np.all(net.grad == 1.0)


def test_penalty_errors():
    with pytest.raises(ParameterError) as error:
        Penalty(mlp(), 1.0, "l3")
    assert str(error.value) == ("The 'penalty' parameter of Penalty must be one of 'l2', 'l1', "
                                "'elasticnet', None. Got 'l3' instead.")
    with pytest.raises(ParameterError, match=r"'alpha' parameter of Penalty must be a float"):
        Penalty(mlp(), -1.0)


def test_l1_penalty_shrinks_weights_but_not_the_intercept():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    y = X[:, 0] * 3 + 10
    net = linear(5)
    Trainer(net, "mse", optim.SGD(lr=0.05), alpha=0.5, penalty="l1").fit(X, y, epochs=400)
    W, b = net.layers[0].W[:, 0], net.layers[0].b[0]
    assert np.all(np.abs(W[1:]) < 0.05) and 2.0 < W[0] < 3.0
    assert b == pytest.approx(10, abs=0.2)


# -- early stopping and plateaus ----------------------------------------------------------


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = blobs()
    recorder, stopper = Recorder(), EarlyStopping(patience=3)
    trainer = Trainer(mlp(), "categorical_crossentropy", optim.Adam(lr=0.05), batch_size=16,
                      callbacks=[stopper, recorder], random_state=0)
    # validating on the wrong labels: the better the fit, the worse the validation loss
    trainer.fit(X, y, epochs=100, validation_data=(X, (y + 1) % 3))
    assert trainer.stopped and trainer.stopped_by == "EarlyStopping" and trainer.finished
    assert trainer.epoch < 100 and stopper.stopped_epoch == trainer.epoch
    val = [logs["val_loss"] for logs in recorder.logs]
    best = int(np.argmin(val))
    assert stopper.best == val[best] and stopper.best_epoch == best + 1
    assert best + 1 < trainer.epoch
    assert_same_state(trainer.network.state_dict(), recorder.states[best])
    # a stopped trainer stays stopped
    trainer.fit(X, y, epochs=200, validation_data=(X, (y + 1) % 3))
    assert trainer.epoch == len(recorder.logs)


def test_early_stopping_restores_at_the_end_and_can_maximise_a_score():
    X, y = blobs()
    recorder = Recorder()
    stopper = EarlyStopping(monitor="val_score", patience=100, min_delta=0.0)
    trainer = Trainer(mlp(), "categorical_crossentropy", optim.SGD(lr=0.3), batch_size=8,
                      callbacks=[stopper, recorder], random_state=0)
    trainer.fit(X[:60], y[:60], epochs=12, validation_data=(X[60:], y[60:]), score=accuracy)
    assert not trainer.stopped and trainer.epoch == 12
    scores = [logs["val_score"] for logs in recorder.logs]
    best = int(np.argmax(scores))                       # the first of the best
    assert stopper.best == scores[best] and stopper.best_epoch == best + 1
    assert_same_state(trainer.network.state_dict(), recorder.states[best])


def test_early_stopping_patience_counts_epochs_without_a_large_enough_improvement():
    stopper = EarlyStopping(monitor="loss", patience=2, min_delta=0.5,
                            restore_best_weights=False)
    decisions = [stopper.on_epoch_end(e, {"loss": v})
                 for e, v in enumerate([10.0, 9.0, 8.6, 8.2], start=1)]
    # 8.6 and 8.2 each beat the best so far (so they become it) but by less than min_delta
    assert decisions == [False, False, False, True]
    assert stopper.best == 8.2 and stopper.best_epoch == 4 and stopper.stopped_epoch == 4


def test_monitoring_a_missing_number_is_a_clear_error():
    trainer = Trainer(linear(), "mse", "sgd", callbacks=[EarlyStopping(monitor="val_loss")])
    with pytest.raises(ParameterError) as error:
        trainer.fit(X_LINE, Y_LINE, epochs=3)
    assert str(error.value) == (
        "EarlyStopping monitors 'val_loss', which this run does not record (it records "
        "grad_norm, loss, lr, time). Pass validation data, or monitor 'loss'."
    )


@pytest.mark.parametrize("options, rates", [
    ({}, [0.1] * 3 + [0.01] * 2 + [0.001] * 2 + [0.0001]),
    ({"min_lr": 0.005}, [0.1] * 3 + [0.01] * 2 + [0.005] * 3),
    ({"cooldown": 2}, [0.1] * 3 + [0.01] * 3 + [0.001] * 2),
])
def test_reduce_on_plateau_lowers_the_rate(options, rates):
    # min_delta so large that no epoch after the first counts as an improvement
    plateau = ReduceLROnPlateau(monitor="loss", patience=2, min_delta=1e9, **options)
    opt = optim.SGD(lr=0.1)
    trainer = Trainer(linear(), "mse", opt, callbacks=[plateau])
    history = trainer.fit(X_LINE, Y_LINE, epochs=8)
    np.testing.assert_allclose(history["lr"], rates, rtol=1e-12)
    assert opt.lr == 0.1                                 # the optimizer's own rate is untouched
    assert trainer.lr_scale == pytest.approx(rates[-1] / 0.1, rel=1e-12)


def test_reduce_on_plateau_scales_a_schedule():
    plateau = ReduceLROnPlateau(monitor="loss", patience=1, min_delta=1e9, factor=0.5)
    schedule = schedules.exponential(0.1, 0.9)
    opt = optim.SGD(lr=schedule)
    history = Trainer(linear(), "mse", opt, callbacks=[plateau]).fit(X_LINE, Y_LINE, epochs=4)
    scales = [1.0, 1.0, 0.5, 0.25]
    expected = [0.1 * 0.9 ** t * s for t, s in enumerate(scales)]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12)
    assert opt.lr is schedule and opt.steps == 4


def keras_reductions(values, *, patience, cooldown, min_delta, higher_is_better):
    """The epochs at which Keras's ReduceLROnPlateau lowers the rate, its loop written out
    (keras/callbacks/reduce_lr_on_plateau.py): the reference the callback must equal."""
    better = (lambda a, b: a > b + min_delta) if higher_is_better else \
        (lambda a, b: a < b - min_delta)
    best = -math.inf if higher_is_better else math.inf
    wait = cooldown_counter = 0
    reduced = []
    for epoch, value in enumerate(values, start=1):
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if better(value, best):
            best, wait = value, 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= patience:
                reduced.append(epoch)
                cooldown_counter, wait = cooldown, 0
    return reduced


class _PlateauTrainer:
    """What ReduceLROnPlateau reads and changes on a trainer."""

    def __init__(self):
        self.lr_scale, self.history = 1.0, History()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([1.0, 0.9, 0.8, 0.75, 0.7, 0.5]), min_size=1, max_size=40),
       st.integers(1, 4), st.integers(0, 4), st.sampled_from([0.0, 0.05, 0.2]),
       st.sampled_from(["loss", "val_score"]), st.integers(0, 40))
def test_reduce_on_plateau_counts_as_keras_through_the_shared_counter(
        values, patience, cooldown, min_delta, monitor, resume_at):
    # few distinct values, so that ties, thresholds and cooldowns all occur
    def callback():
        plateau = ReduceLROnPlateau(monitor=monitor, patience=patience, cooldown=cooldown,
                                    min_delta=min_delta, factor=0.5)
        plateau.trainer = _PlateauTrainer()
        return plateau

    plateau, reduced = callback(), []
    for epoch, value in enumerate(values, start=1):
        if epoch == resume_at:                       # a checkpoint taken here and resumed
            state = plateau.state_dict()
            plateau = callback()
            plateau.load_state_dict(state)
        before = plateau.reductions
        plateau.on_epoch_end(epoch, {monitor: value, "lr": 1.0})
        if plateau.reductions > before:
            reduced.append(epoch)
    assert reduced == keras_reductions(values, patience=patience, cooldown=cooldown,
                                       min_delta=min_delta,
                                       higher_is_better=monitor == "val_score")


# -- checkpoints --------------------------------------------------------------------------


def checkpointed(path, *extra, seed=0, epochs=8, batch_size=16):
    """A run with dropout, BatchNorm, shuffled mini-batches, a penalty, validation, a schedule
    and stateful callbacks, saving a checkpoint every epoch."""
    X, y = blobs(seed=3)
    net = mlp(seed)
    opt = optim.Adam(lr=schedules.step(0.02, step_size=10, gamma=0.7))
    trainer = Trainer(net, "categorical_crossentropy", opt, batch_size=batch_size, alpha=1e-3,
                      clip_norm=5.0, random_state=1,
                      callbacks=[EarlyStopping(patience=50),
                                 ReduceLROnPlateau(patience=2, min_delta=0.05),
                                 Checkpoint(path), *extra])
    return trainer, dict(X=X[:70], y=y[:70], epochs=epochs, validation_data=(X[70:], y[70:]),
                         score=accuracy)


@pytest.mark.parametrize("batch_size", [16, None])
def test_resumed_run_ends_bit_identical_to_an_uninterrupted_one(tmp_path, batch_size):
    whole, data = checkpointed(tmp_path / "whole.ckpt", batch_size=batch_size)
    whole.fit(data.pop("X"), data.pop("y"), **data)

    killed, data = checkpointed(tmp_path / "run.ckpt", Killer(at=3), batch_size=batch_size)
    X, y = data.pop("X"), data.pop("y")
    with pytest.raises(RuntimeError, match="killed"):
        killed.fit(X, y, **data)
    assert killed.epoch == 3

    resumed, _ = checkpointed(tmp_path / "run.ckpt", seed=99, batch_size=batch_size)
    resumed.load_checkpoint(tmp_path / "run.ckpt")
    assert resumed.epoch == 3
    resumed.fit(X, y, **data)

    assert resumed.network.theta.tobytes() == whole.network.theta.tobytes()
    assert_same_state(resumed.network.state_dict(), whole.network.state_dict())
    assert_same_state(resumed.optimizer.state_dict(), whole.optimizer.state_dict())
    assert resumed.rng.bit_generator.state == whole.rng.bit_generator.state
    for key in ("loss", "val_loss", "val_score", "lr", "grad_norm"):
        assert resumed.history[key] == whole.history[key]
    assert resumed.updates == whole.updates and resumed.lr_scale == whole.lr_scale
    assert resumed.callbacks[1].reductions == whole.callbacks[1].reductions
    assert resumed.history["time"][2] == killed.history["time"][2]


def test_resume_after_ctrl_c_in_the_middle_of_an_epoch(tmp_path):
    whole, data = checkpointed(tmp_path / "whole.ckpt", epochs=6)
    whole.fit(data.pop("X"), data.pop("y"), **data)

    killed, data = checkpointed(tmp_path / "run.ckpt", epochs=6)
    killed.loss = InterruptingLoss(at=4 * 5 + 3)        # 5 batches an epoch: inside epoch 5
    X, y = data.pop("X"), data.pop("y")
    with pytest.warns(UserWarning, match="interrupted by the user"):
        killed.fit(X, y, **data)
    assert killed.interrupted and killed.epoch == 4

    resumed, _ = checkpointed(tmp_path / "run.ckpt", seed=5, epochs=6)
    resumed.load_checkpoint(tmp_path / "run.ckpt")
    resumed.fit(X, y, **data)
    assert resumed.network.theta.tobytes() == whole.network.theta.tobytes()
    assert_same_state(resumed.network.state_dict(), whole.network.state_dict())


def test_checkpoint_file_holds_arrays_and_json(tmp_path):
    trainer, data = checkpointed(tmp_path / "run.ckpt", epochs=2)
    trainer.fit(data.pop("X"), data.pop("y"), **data)
    arrays, metadata = load_arrays(tmp_path / "run.ckpt")
    assert {"network/theta", "network/1.running_mean", "network/1.running_var",
            "network/3.rng", "optimizer/exp_avg", "optimizer/exp_avg_sq",
            "callbacks/EarlyStopping/best_state/theta"} <= set(arrays)
    assert metadata["format"] == "steepest.train.checkpoint" and metadata["version"] == 1
    state = metadata["state"]
    assert state["optimizer"]["step"] == trainer.updates == 10
    assert state["history"]["epochs"] == 2 and state["history"]["series"]["loss"] == \
        trainer.history["loss"]
    assert state["rng"]["bit_generator"] == "PCG64"
    assert set(state["callbacks"]) == {"EarlyStopping", "ReduceLROnPlateau"}
    assert state["lr_scale"] == 1.0 and state["stopped"] is False


def test_checkpoint_keeps_zero_dimensional_optimizer_state(tmp_path):
    X, y = blobs()
    trainer = Trainer(mlp(), "categorical_crossentropy", optim.NAdam(lr=0.01), batch_size=32,
                      random_state=0)
    trainer.fit(X, y, epochs=2)
    trainer.save_checkpoint(tmp_path / "nadam.ckpt")
    other = Trainer(mlp(1), "categorical_crossentropy", optim.NAdam(lr=0.01), batch_size=32)
    other.load_checkpoint(tmp_path / "nadam.ckpt")
    assert other.optimizer.state_dict()["mu_product"].shape == ()
    trainer.fit(X, y, epochs=4)
    other.fit(X, y, epochs=4)
    assert other.network.theta.tobytes() == trainer.network.theta.tobytes()


def test_fit_function_resumes_from_its_checkpoint(tmp_path):
    X, y = blobs()
    options = dict(batch_size=10, random_state=2, alpha=1e-4)
    whole = fit(mlp(), "categorical_crossentropy", optim.RMSprop(lr=0.01), X, y, epochs=5,
                **options)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(RuntimeError):
        fit(mlp(), "categorical_crossentropy", optim.RMSprop(lr=0.01), X, y, epochs=5,
            checkpoint=path, resume=True, callbacks=[Killer(at=2)], **options)
    resumed = fit(mlp(7), "categorical_crossentropy", optim.RMSprop(lr=0.01), X, y, epochs=5,
                  checkpoint=path, resume=True, **options)
    assert resumed.network.theta.tobytes() == whole.network.theta.tobytes()
    with pytest.raises(ParameterError, match="needs the checkpoint path"):
        fit(mlp(), "categorical_crossentropy", "sgd", X, y, epochs=1, resume=True)


def test_resume_errors(tmp_path):
    trainer, data = checkpointed(tmp_path / "run.ckpt", epochs=1)
    trainer.fit(data.pop("X"), data.pop("y"), **data)

    other = Trainer(mlp(batch_norm=False), "categorical_crossentropy", optim.Adam())
    with pytest.raises(StateError, match="Was it saved from another architecture"):
        other.load_checkpoint(tmp_path / "run.ckpt")

    picky = Trainer(mlp(), "categorical_crossentropy", optim.Adam(),
                    callbacks=[EarlyStopping(), EarlyStopping(), ReduceLROnPlateau()])
    with pytest.raises(StateError) as error:
        picky.load_checkpoint(tmp_path / "run.ckpt")
    assert str(error.value) == (
        "The checkpoint holds no state for the callback(s) EarlyStopping.2; it was saved with "
        "EarlyStopping, ReduceLROnPlateau. Resume with the callbacks of the run that wrote it."
    )

    save_arrays(tmp_path / "model.st", {"theta": np.zeros(3)}, {"kind": "model"})
    with pytest.raises(FileFormatError) as error:
        trainer.load_checkpoint(tmp_path / "model.st")
    assert str(error.value) == (
        f"'{tmp_path / 'model.st'}' is a steepest file but not a training checkpoint (it holds "
        "'a model'). Resume from the checkpoint file the trainer wrote."
    )
    with pytest.raises(FileFormatError, match="No such file"):
        trainer.load_checkpoint(tmp_path / "missing.ckpt")


# -- divergence ----------------------------------------------------------------------------


def test_divergence_guard_recovers_from_a_rate_too_high():
    net = linear()
    trainer = Trainer(net, "mse", optim.SGD(lr=0.5))     # stable below about 0.12
    with pytest.warns(DivergenceWarning) as caught:
        history = trainer.fit(X_LINE, Y_LINE, epochs=300)
    assert len(caught) == 1
    assert caught[0].filename == __file__  # the warning names the user's line
    assert str(caught[0].message) == (
        "Training diverged at epoch 3: the training loss rose to 8.739e+04, more than 1000 "
        "times its 30 at the start with learning rate 0.5. The model was rolled back to epoch "
        "1 and the learning rate lowered to 0.05 (retry 1 of 3)."
    )
    (event,) = history.events
    norms = {key: event.pop(key) for key in ("grad_norm_first", "grad_norm_max")}
    assert event == {"epoch": 3, "event": "divergence", "reason": (
        "the training loss rose to 8.739e+04, more than 1000 times its 30 at the start"),
        "lr": 0.5, "new_lr": 0.05}
    # full batch: one update in the failed epoch, so its first norm is its largest
    assert norms["grad_norm_first"] == norms["grad_norm_max"] > 0
    assert history.epochs == 300 and history["lr"][:3] == [0.5, 0.05, 0.05]
    assert trainer.lr_scale == pytest.approx(0.1) and trainer.optimizer.lr == 0.5
    np.testing.assert_allclose(net.theta, [2.0, 0.0], atol=1e-2)


def test_divergence_guard_gives_up_with_a_clear_error_and_finite_parameters():
    net = linear()
    trainer = Trainer(net, "mse", optim.SGD(lr=1e4), divergence=DivergenceGuard(max_retries=2))
    with pytest.warns(DivergenceWarning), pytest.raises(DivergenceError) as error:
        trainer.fit(X_LINE, Y_LINE, epochs=300)
    assert str(error.value) == (
        "Training diverged at epoch 2: the training loss rose to 8.34e+07, more than 1000 "
        "times its 30 at the start with learning rate 100, after lowering it 2 times from "
        "1e+04. The learning rate is too high for this problem: lower it (try 10), scale the "
        "inputs (e.g. sklearn.preprocessing.StandardScaler) or clip the gradients "
        "(clip_norm=1.0). The model holds the parameters of epoch 0, the last good one."
    )
    assert isinstance(error.value, NonFiniteError)
    assert np.all(net.theta == 0) and trainer.epoch == 0 and trainer.optimizer.lr == 1e4


def test_divergence_inside_a_mini_batch_epoch_never_leaves_nan():
    X, y = blobs(120)
    net = mlp()
    trainer = Trainer(net, "categorical_crossentropy", optim.SGD(lr=1e12), batch_size=4,
                      divergence=DivergenceGuard(max_retries=1), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # overflow in the layers
        with pytest.warns(DivergenceWarning), pytest.raises(DivergenceError) as error:
            trainer.fit(X * 1e3, y, epochs=5)
    assert "learning rate is too high" in str(error.value)
    assert np.all(np.isfinite(net.theta)) and trainer.epoch == 0
    assert_same_state(net.state_dict(), mlp().state_dict())


def test_without_a_guard_a_non_finite_loss_raises_at_once():
    net = linear()
    trainer = Trainer(net, "mse", optim.SGD(lr=1e4), divergence=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(NonFiniteError) as error:
            trainer.fit(X_LINE, Y_LINE, epochs=100)
    assert not isinstance(error.value, DivergenceError)
    assert str(error.value).startswith("Training diverged at epoch ")
    assert "the loss of a batch became inf" in str(error.value)
    assert np.all(np.isfinite(net.theta)) and trainer.history.events == []


def test_the_guard_goes_back_two_epochs_across_partial_fit_calls():
    net = linear()
    trainer = Trainer(net, "mse", optim.SGD(lr=0.5))
    with pytest.warns(DivergenceWarning, match="rolled back to epoch 1"):
        for _ in range(300):
            trainer.partial_fit(X_LINE, Y_LINE)
    np.testing.assert_allclose(net.theta, [2.0, 0.0], atol=1e-2)


# -- seeding, partial_fit, Ctrl-C, errors inside an epoch -----------------------------------


def test_same_seed_same_model_bit_for_bit():
    X, y = blobs()

    def run(seed, net_seed=0):
        trainer = Trainer(mlp(net_seed), "categorical_crossentropy", optim.Adam(lr=0.01),
                          batch_size=8, random_state=seed)
        trainer.fit(X, y, epochs=3)
        return trainer.network.theta

    assert run(1).tobytes() == run(1).tobytes()
    assert run(1).tobytes() != run(2).tobytes()
    assert run(1).tobytes() != run(1, net_seed=1).tobytes()


def test_partial_fit_runs_one_epoch_and_keeps_state_across_calls():
    X, y = blobs()
    whole = Trainer(mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=8,
                    random_state=4)
    whole.fit(X, y, epochs=4)
    steps = Trainer(mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=8,
                    random_state=4, callbacks=[EarlyStopping(monitor="loss", patience=1,
                                                             min_delta=1e9)])
    for epoch in range(1, 5):
        steps.partial_fit(X, y)
        assert steps.epoch == epoch and not steps.stopped
    assert steps.network.theta.tobytes() == whole.network.theta.tobytes()
    assert steps.optimizer.steps == whole.optimizer.steps == 4 * 12


def test_ctrl_c_keeps_the_last_completed_epoch_and_training_can_go_on():
    X, y = blobs()

    def trainer(loss):
        return Trainer(mlp(), loss, optim.Adam(lr=0.01), batch_size=30, random_state=0,
                       callbacks=[Recorder()])

    whole = trainer("categorical_crossentropy")
    whole.fit(X, y, epochs=5)
    stopped = trainer(InterruptingLoss(at=2 * 3 + 2))    # 3 batches an epoch: inside epoch 3
    with pytest.warns(UserWarning) as caught:
        history = stopped.fit(X, y, epochs=5)
    assert str(caught[0].message) == ("Training interrupted by the user; the model holds the "
                                      "parameters of epoch 2 (its last completed one).")
    assert stopped.interrupted and stopped.stopped_by == "KeyboardInterrupt"
    assert not stopped.finished and history.epochs == 2 and history.updates == 6
    assert all(len(values) == 2 for values in history.values())
    assert np.all(np.isfinite(stopped.network.theta))
    assert_same_state(stopped.network.state_dict(), stopped.callbacks[0].states[1])
    assert stopped.optimizer.lr == 0.01 and stopped.optimizer.steps == 6

    stopped.fit(X, y, epochs=5)                           # going on ends where 5 epochs end
    assert not stopped.interrupted and stopped.epoch == 5
    assert stopped.network.theta.tobytes() == whole.network.theta.tobytes()


def test_an_error_inside_an_epoch_leaves_the_last_completed_epoch():
    X, y = blobs()
    net = mlp()
    recorder = Recorder()
    trainer = Trainer(net, InterruptingLoss(at=5, error=MemoryError), optim.Adam(lr=0.01),
                      batch_size=30, callbacks=[recorder], random_state=0)
    with pytest.raises(MemoryError):
        trainer.fit(X, y, epochs=3)
    assert trainer.epoch == 1 and trainer.optimizer.steps == 3
    assert_same_state(net.state_dict(), recorder.states[0])


# -- options, dtypes, progress and errors ------------------------------------------------------


def test_clip_norm_bounds_each_update_and_grad_norm_is_taken_before_clipping():
    net = linear()
    history = Trainer(net, "mse", optim.SGD(lr=1.0), clip_norm=0.5).fit(X_LINE, Y_LINE,
                                                                        epochs=1)
    x = X_LINE[:, 0]
    raw = np.array([-(2 / 4) * np.sum(x * Y_LINE), -(2 / 4) * np.sum(Y_LINE)])
    assert history["grad_norm"][0] == pytest.approx(np.linalg.norm(raw), rel=1e-14)
    assert np.linalg.norm(net.theta) == pytest.approx(0.5, rel=1e-5)


def test_float32_stays_float32():
    X, y = blobs()
    net = nn.Network([nn.Dense(8), nn.ReLU(), nn.Dense(3)], n_features=4, dtype="float32",
                     random_state=0)
    trainer = Trainer(net, "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=16,
                      alpha=1e-3, penalty="elasticnet", random_state=0)
    history = trainer.fit(X, y, epochs=10)
    assert net.theta.dtype == np.float32 and net.grad.dtype == np.float32
    assert trainer.optimizer.state_dict()["exp_avg"].dtype == np.float32
    assert history["loss"][-1] < history["loss"][0]


def test_stochastic_and_drop_single_updates():
    X, y = blobs(9)
    trainer = Trainer(mlp(batch_norm=False), "categorical_crossentropy", "sgd", batch_size=1,
                      random_state=0)
    assert trainer.fit(X, y, epochs=2).updates == 18
    trainer = Trainer(mlp(), "categorical_crossentropy", "sgd", batch_size=4, drop_single=True,
                      random_state=0)
    assert trainer.fit(X, y, epochs=2).updates == 4     # BatchNorm never sees a batch of one


def test_progress_bar_on_a_terminal_and_elsewhere():
    X, y = blobs()
    plain = Console(file=io.StringIO(), width=100)
    trainer = Trainer(mlp(), "categorical_crossentropy", "adam", batch_size=30, random_state=0,
                      callbacks=[ProgressBar(plain), EarlyStopping(patience=2, min_delta=1e9,
                                                                   monitor="loss")])
    trainer.fit(X, y, epochs=40, validation_data=(X, y))
    lines = plain.file.getvalue().splitlines()
    assert lines[0].startswith("epoch 2/40  loss ") and " val_loss " in lines[0]
    assert lines[0].endswith(" left") and ":" in lines[0].split()[-2]
    assert lines[-2].startswith("epoch 3/40  loss ")
    assert lines[-1] == "stopped by EarlyStopping after epoch 3"

    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    trainer = Trainer(mlp(), "categorical_crossentropy", "adam", batch_size=30, random_state=0,
                      callbacks=[ProgressBar(terminal)])
    trainer.fit(X, y, epochs=3)
    assert "3/3" in terminal.file.getvalue() and "loss" in terminal.file.getvalue()
    assert isinstance(Trainer(mlp(), "mse", "sgd", verbose=True).callbacks[-1], ProgressBar)


def test_trainer_errors():
    X, y = blobs()
    cases = [
        (lambda: Trainer(mlp(), "mse", object()),
         "The 'optimizer' parameter of Trainer must be a name or a first-order optimizer of "
         "steepest.optim (adadelta, adagrad, adam, adamax, adamw, nadam, radam, rmsprop, sgd, "
         "yogi). "
         "Got <object"),
        (lambda: Trainer(mlp(), "mse", "sgd", callbacks=[print]),
         "The 'callbacks' parameter of Trainer must hold Callback objects; the entry at "
         "position 0 is <built-in function print> of type builtin_function_or_method."),
        (lambda: Trainer("net", "mse", "sgd"),
         "The 'network' parameter of Trainer must be a steepest.nn.Network. Got str instead."),
        (lambda: Trainer(mlp(), "mse", "sgd", divergence="yes"),
         "The 'divergence' parameter of Trainer must be a bool or a DivergenceGuard. Got 'yes' "
         "instead."),
        (lambda: Trainer(mlp(), "mse", "sgd", clip_norm=0.0),
         "The 'clip_norm' parameter of Trainer must be a float in the range (0.0, inf). Got "
         "0.0 instead."),
        (lambda: Trainer(mlp(), "mse", "sgd").fit(X, y, epochs=0),
         "The 'epochs' parameter of Trainer.fit must be an int in the range [1, inf). Got 0 "
         "instead."),
        (lambda: Trainer(mlp(), "categorical_crossentropy", "sgd").fit(X, y, epochs=1,
                                                                         score=accuracy),
         "A score needs validation data: pass validation_data=(X_val, y_val) too."),
        (lambda: Trainer(mlp(), "categorical_crossentropy", "sgd").fit(
            X, y, epochs=1, validation_data=X),
         "The 'validation_data' parameter of Trainer.fit must be a pair (X_val, y_val). Got "
         "ndarray instead."),
        (lambda: Trainer(mlp(), "categorical_crossentropy", "sgd").fit(X[:, :3], y, epochs=1),
         "X has 3 features; the network expects 4."),
        (lambda: Trainer(mlp(), "categorical_crossentropy", "sgd").fit(X, y[:-1], epochs=1),
         "X has 90 samples but y has 89; pass one target per sample."),
        (lambda: Trainer(mlp(), "categorical_crossentropy", "sgd").fit(X[:, 0], y, epochs=1),
         "Trainer needs X as a 2-D numeric array; got a 1-D array of dtype float64. Check user "
         "input with steepest.data.check_X first."),
    ]
    for make, message in cases:
        with pytest.raises(ParameterError) as error:
            make()
        assert str(error.value).startswith(message), str(error.value)


def test_lr_scale_is_checked():
    trainer = Trainer(linear(), "mse", "sgd")
    with pytest.raises(ParameterError, match="'lr_scale' parameter of Trainer"):
        trainer.lr_scale = 0.0
    with pytest.raises(ParameterError, match="must be finite"):
        trainer.lr_scale = math.inf


def test_later_epochs_and_calls_on_the_same_data_reuse_the_shuffled_copy():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4000, 50)), rng.integers(0, 3, 4000)
    net = nn.Network([nn.Dense(16), nn.ReLU(), nn.Dense(3)], n_features=50, random_state=0)
    trainer = Trainer(net, "categorical_crossentropy", optim.Adam(lr=1e-3), batch_size=64,
                      random_state=0)
    trainer.fit(X, y, epochs=1)
    tracemalloc.start()
    try:
        trainer.fit(X, y, epochs=3)
        trainer.partial_fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 8          # the permutation and the epoch snapshots, no copy of X


# -- update counts, events and dead units ------------------------------------------------


def relu_net(bias: float = 0.0, seed: int = 0) -> nn.Network:
    net = nn.Network([nn.Dense(6), nn.ReLU(), nn.Dense(5), nn.ReLU(), nn.Dense(3)],
                     n_features=4, random_state=seed)
    net.layers[0].b[...] = bias                      # a large negative bias kills layer 1
    return net


def test_history_counts_the_updates_epoch_by_epoch():
    X, y = blobs()
    trainer = Trainer(mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=16,
                      random_state=0)
    trainer.fit(X, y, epochs=3)
    trainer.partial_fit(X, y)
    per_epoch = math.ceil(len(X) / 16)
    assert trainer.history.update_counts == [per_epoch * e for e in range(1, 5)]
    series = trainer.history.to_dict(counts=True)
    assert series["updates"] == trainer.history.update_counts
    assert "updates" not in trainer.history                  # beside the series, not among


def test_dead_relu_units_are_measured_on_a_probe_every_epoch():
    X, y = blobs(n=1500)
    dead = Trainer(relu_net(bias=-1e3), "categorical_crossentropy", optim.SGD(lr=0.01),
                   batch_size=64, random_state=0)
    history = dead.fit(X, y, epochs=2)
    assert history.dead_units["1"] == [1.0, 1.0]           # every unit of layer 1 is dead
    assert history.dead_units["3"] == [1.0, 1.0]           # so layer 3 sees only its zero bias
    assert list(history.dead_units) == ["1", "3"]          # keyed by the ReLU layers' index

    alive = Trainer(relu_net(), "categorical_crossentropy", optim.SGD(lr=0.01), batch_size=64,
                    random_state=0)
    history = alive.fit(X, y, epochs=2)
    assert all(0.0 <= share < 1.0 for values in history.dead_units.values()
               for share in values)
    as_series = history.to_dict(layers=True)
    assert as_series["dead_units/1"] == history.dead_units["1"]
    assert list(as_series)[-3:] == ["grad_norm/0.W", "grad_norm/2.W", "grad_norm/4.W"]


def test_the_dead_unit_probe_is_the_fraction_over_a_fixed_sample():
    X, y = blobs(n=60)
    net = relu_net(seed=3)
    trainer = Trainer(net, "categorical_crossentropy", optim.SGD(lr=1e-9), batch_size=60,
                      shuffle=False, random_state=0)
    trainer.fit(X, y, epochs=1)
    hidden = np.maximum(X @ net.layers[0].W + net.layers[0].b, 0.0)   # all 60 rows: the probe
    assert trainer.history.dead_units["1"] == [float(np.mean(~(hidden > 0).any(axis=0)))]


def test_the_probe_leaves_the_network_as_it_was():
    X, y = blobs(n=200)
    layers = [nn.Dense(6), nn.BatchNorm(), nn.ReLU(), nn.Dropout(0.3), nn.Dense(3)]
    probed = nn.Network(layers, n_features=4, random_state=0)
    trainer = Trainer(probed, "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=32,
                      random_state=0)
    trainer.fit(X, y, epochs=2)
    state = probed.state_dict()
    assert trainer._dead_units(trainer._batcher).keys() == {"2"}
    for key, value in probed.state_dict().items():
        assert np.array_equal(value, state[key]) if isinstance(value, np.ndarray) \
            else value == state[key], key


def test_no_relu_no_dead_unit_record():
    X, y = blobs()
    trainer = Trainer(mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=16,
                      random_state=0)
    trainer.fit(X, y, epochs=2)
    assert trainer.history.dead_units == {}
    assert not any(key.startswith("dead_units") for key in trainer.history.to_dict(layers=True))


def test_plateau_reductions_and_early_stops_are_events():
    X, y = blobs()
    trainer = Trainer(mlp(dropout=False, batch_norm=False), "categorical_crossentropy",
                      optim.SGD(lr=1e-6), batch_size=None,
                      callbacks=[ReduceLROnPlateau(monitor="loss", patience=1, min_delta=1.0),
                                 EarlyStopping(monitor="loss", patience=3, min_delta=1.0)],
                      random_state=0)
    trainer.fit(X, y, epochs=20)
    events = trainer.history.events
    reduced = [event for event in events if event["event"] == "lr_reduced"]
    assert [event["epoch"] for event in reduced] == [2, 3, 4]
    assert reduced[0] == {"epoch": 2, "event": "lr_reduced", "monitor": "loss", "lr": 1e-6,
                          "new_lr": pytest.approx(1e-7, rel=1e-12)}
    assert events[-1] == {"epoch": 4, "event": "early_stop", "monitor": "loss",
                          "best": trainer.history["loss"][3], "best_epoch": 4}
    assert trainer.stopped_by == "EarlyStopping" and trainer.epoch == 4
    assert len(events) == 4          # no "best_restored": the best epoch is the last one


def test_restoring_the_best_weights_is_an_event():
    # lr above 2 / L for this least-squares line: the loss grows by ~1.5² an epoch
    trainer = Trainer(linear(), "mse", optim.SGD(lr=0.15), divergence=False,
                      callbacks=[EarlyStopping(monitor="loss", patience=50)])
    trainer.fit(X_LINE, Y_LINE, epochs=12)
    best = int(np.argmin(trainer.history["loss"])) + 1
    assert best < trainer.epoch and trainer.history["loss"][-1] > 100 * min(
        trainer.history["loss"])
    assert trainer.history.events[-1] == {"epoch": 12, "event": "best_restored",
                                          "best_epoch": best}


def test_events_and_counts_survive_a_checkpoint(tmp_path):
    X, y = blobs()
    path = tmp_path / "run.ckpt"
    first = Trainer(mlp(), "categorical_crossentropy", optim.SGD(lr=1e-6), batch_size=30,
                    callbacks=[ReduceLROnPlateau(monitor="loss", patience=1, min_delta=1.0)],
                    random_state=0)
    first.fit(X, y, epochs=3)
    first.save_checkpoint(path)
    again = Trainer(mlp(), "categorical_crossentropy", optim.SGD(lr=1e-6), batch_size=30,
                    callbacks=[ReduceLROnPlateau(monitor="loss", patience=1, min_delta=1.0)],
                    random_state=0)
    again.load_checkpoint(path)
    assert again.history.events == first.history.events != []
    assert again.history.update_counts == first.history.update_counts == [3, 6, 9]


def test_a_history_saved_before_counts_and_dead_units_were_recorded_still_loads():
    old = {"series": {"loss": [3.0, 2.0]}, "epochs": 2, "updates": 8, "events": []}
    history = History()
    history.load_state_dict(old)
    assert history.dead_units == {} and len(history.update_counts) == 2
    assert all(math.isnan(count) for count in history.update_counts)
    history.append({"loss": 1.0}, updates=4)
    assert history.update_counts[-1] == 12 and history.to_dict(counts=True)["updates"][-1] == 12


def test_a_proximal_term_added_to_the_trainers_step_loop_pulls_theta_to_its_anchor():
    class Proximal:
        def __init__(self, network, mu, anchor):
            self.network, self.mu, self.anchor = network, mu, anchor

        def value(self):
            d = self.network.theta - self.anchor
            return 0.5 * self.mu * float(d @ d)

        def add_gradient(self):
            self.network.grad += self.mu * (self.network.theta - self.anchor)

    anchor = np.array([0.5, 1.0])

    def fitted(mu):
        net = linear()
        trainer = Trainer(net, "mse", optim.SGD(lr=0.05))
        trainer.steps.terms += (Proximal(net, mu, anchor),)
        trainer.fit(X_LINE, Y_LINE, epochs=1000)
        return net.theta.copy()

    np.testing.assert_allclose(fitted(0.0), [2.0, 0.0], atol=1e-5)     # y = 2x
    # mean((y - w x - b)²) + (μ/2)‖θ − a‖²: (2/n AᵀA + μ I) θ = 2/n Aᵀy + μ a, A = [x, 1]
    A, mu = np.column_stack([X_LINE[:, 0], np.ones(4)]), 10.0
    expected = np.linalg.solve(2 / 4 * A.T @ A + mu * np.eye(2), 2 / 4 * A.T @ Y_LINE + mu * anchor)
    np.testing.assert_allclose(fitted(mu), expected, rtol=1e-10)
