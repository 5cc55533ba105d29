"""Issue 10's diagnosis fixes, each found on the diagnosis zoo (``bench/diagnosis_zoo.py``):
what the fit loop records for them, and the rules that read it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits, make_classification, make_regression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from steepest import LinearRegression, MLPClassifier, MLPRegressor, nn, optim
from steepest.diagnose import Finding, diagnose
from steepest.errors import NonFiniteError
from steepest.train import DivergenceError, DivergenceWarning, StepLoop, Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

EPOCHS = np.arange(50)


def history(**changes) -> dict[str, list[float]]:
    """A run that converges (as test_diagnose's healthy_history), with ``changes``."""
    series = {
        "loss": list(2.3 * np.exp(-0.1 * EPOCHS) + 0.05),
        "val_loss": list(2.3 * np.exp(-0.1 * EPOCHS) + 0.08),
        "lr": [0.01] * EPOCHS.size,
        "grad_norm": list(1.5 * np.exp(-0.08 * EPOCHS) + 0.01),
        "grad_norm/0.W": list(0.8 * np.exp(-0.08 * EPOCHS) + 0.01),
        "grad_norm/2.W": list(1.2 * np.exp(-0.08 * EPOCHS) + 0.01),
    }
    series.update({key: list(map(float, values)) for key, values in changes.items()})
    return series


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


# -- the fit loop: a validation pass that overflows ------------------------------------------


def linear_net(weight: float | None = None) -> nn.Network:
    network = nn.Network([nn.Dense(1)], n_features=3, random_state=0)
    if weight is not None:
        network.theta[:] = weight
    return network


def r2(y, outputs) -> float:
    return float(r2_score(y, outputs[:, 0]))   # scikit-learn refuses infinite input


def line(n: int = 40):
    X = np.random.default_rng(0).standard_normal((n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


def test_a_validation_pass_that_overflows_is_a_divergence_not_a_score_error():
    X, y = line()
    X_val = np.full((4, 3), 1e308)            # finite parameters, infinite predictions
    unguarded = Trainer(linear_net(1.0), "mse", optim.SGD(lr=0.01), divergence=False)
    with pytest.raises(NonFiniteError, match="predictions on the validation data"):
        unguarded.fit(X, y, epochs=3, validation_data=(X_val, y[:4]), score=r2)
    guarded = Trainer(linear_net(1.0), "mse", optim.SGD(lr=0.01))
    with pytest.warns(DivergenceWarning), pytest.raises(DivergenceError,
                                                        match="validation data"):
        guarded.fit(X, y, epochs=3, validation_data=(X_val, y[:4]), score=r2)
    reasons = {event["reason"] for event in guarded.history.events}
    assert reasons == {"the predictions on the validation data became non-finite"}
    assert np.isfinite(guarded.network.theta).all()


def zoo_split(X, y, stratify: bool = False):
    """The zoo's training and validation parts (60% and 20%)."""
    X, X_rest, y, y_rest = train_test_split(X, y, test_size=0.4, random_state=0,
                                            stratify=y if stratify else None)
    X_val, _, y_val, _ = train_test_split(X_rest, y_rest, test_size=0.5, random_state=0,
                                          stratify=y_rest if stratify else None)
    return X, X_val, y, y_val


def test_a_run_that_blows_up_with_validation_data_is_rolled_back_and_diagnosed():
    # the zoo's diverged_mlpr_regression_sgd_32: the fit used to raise scikit-learn's
    # "Input contains infinity" from the validation score, leaving no history
    X, y = make_regression(400, 10, n_informative=6, noise=10.0, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    X, X_val, y, y_val = zoo_split(X, 0.01 * y)
    model = MLPRegressor((32,), optimizer="sgd", lr=0.5, batch_size=32, epochs=30,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, validation_data=(X_val, y_val))
        findings = diagnose(model, X=X, y=y)
    assert model._trainer.history.events[0]["lr"] == 0.5
    assert codes(findings)[0] == "diverged"


# -- the fit loop: the largest gradient of an epoch -------------------------------------------


def test_the_step_loop_keeps_the_first_and_largest_update_norm():
    X, y = line(12)
    X[8:] *= 30.0                              # the last batch has the largest gradient
    batches = [(X[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)]
    probe = StepLoop(linear_net(), "mse")
    expected = []
    for X_b, y_b in batches:                   # at the same θ: the rate below is 0
        probe.gradient(X_b, y_b)
        expected.append(float(np.linalg.norm(probe.network.grad)))
    loop = StepLoop(linear_net(), "mse", optim.SGD(lr=0.0))
    loop.run(batches)
    assert loop.first_norm == pytest.approx(expected[0], rel=1e-12)
    assert loop.max_norm == pytest.approx(max(expected), rel=1e-12)
    assert max(expected) > 10 * expected[0]
    clipped = StepLoop(linear_net(), "mse", optim.SGD(lr=0.0), clip_norm=1e-3)
    clipped.run(batches)                       # before clipping, as grad_norm
    assert clipped.max_norm == pytest.approx(max(expected), rel=1e-12)


def test_the_history_records_each_epochs_largest_update_norm():
    X, y = line()
    trainer = Trainer(linear_net(), "mse", optim.SGD(lr=0.05), batch_size=8, random_state=0)
    history = trainer.fit(X, y, epochs=3)
    largest = history.to_dict(layers=True)["grad_norm_max"]
    assert len(largest) == 3 and all(m >= g for m, g in zip(largest, history["grad_norm"],
                                                            strict=True))
    assert "grad_norm_max" not in history         # beside the series, not among them
    restored = type(history)()
    restored.load_state_dict(history.state_dict())
    assert restored.to_dict(layers=True)["grad_norm_max"] == largest


# -- exploding gradients inside an epoch -----------------------------------------------------


def blown_up(first: float, largest: float) -> list[dict]:
    return [{"epoch": 1, "event": "divergence", "reason": "the loss of a batch became inf",
             "lr": 0.05, "new_lr": 0.005, "grad_norm_first": first, "grad_norm_max": largest}]


def deep(layers: int) -> dict:
    return {f"grad_norm/{2 * i}.W": list(0.5 * np.exp(-0.08 * EPOCHS) + 0.01)
            for i in range(layers)}


def test_a_gradient_that_blew_up_within_an_epoch_of_a_deep_network_is_exploding():
    findings = diagnose(history(**deep(4)), events=blown_up(30.0, 3e9))
    assert codes(findings)[:2] == ["exploding_gradients", "diverged"]
    assert findings[0].evidence.startswith(
        "within epoch 1 the gradient norm grew from 30 at its first update to 3e+09 (1e+08 "
        "times) before the loss blew up, in a network of 4 Dense layers")
    # clipped at the usual size of the recorded epochs' gradients (their median)
    assert findings[0].suggest == {"clip_norm": 0.22}
    # in a shallow model, or without the growth, the blow-up is the rate
    assert codes(diagnose(history(**deep(2)), events=blown_up(30.0, 3e9)))[0] == "diverged"
    assert codes(diagnose(history(**deep(4)), events=blown_up(30.0, 90.0)))[0] == "diverged"


# -- overfitting: the validation score must drop too -----------------------------------------


def test_a_validation_loss_rising_while_the_score_holds_is_not_overfitting():
    # the zoo's healthy moons MLP: validation loss 36% above its best, accuracy kept
    val = np.r_[np.linspace(1.0, 0.14, 17), np.linspace(0.14, 0.2, 33)]
    loss = np.linspace(0.7, 0.05, 50)
    held = np.r_[np.linspace(0.6, 0.963, 17), np.full(33, 0.95)]
    quiet = diagnose(history(loss=loss, val_loss=val, val_score=held))
    assert "overfitting" not in codes(quiet)
    dropped = np.r_[np.linspace(0.6, 0.963, 17), np.linspace(0.963, 0.90, 33)]
    assert "overfitting" in codes(diagnose(history(loss=loss, val_loss=val,
                                                   val_score=dropped)))
    assert "overfitting" in codes(diagnose(history(loss=loss, val_loss=val)))  # no score


# -- dead units in a network that fits its rows ----------------------------------------------


def test_dead_units_of_a_network_that_fits_its_training_rows_are_not_the_problem():
    y = np.arange(100) % 2                            # the trivial loss is log 2
    dead = {"dead_units/1": [0.6] * 50}
    fitted = history(loss=np.geomspace(0.7, 0.01, 50), **dead)
    assert "dead_units" not in codes(diagnose(fitted, y=y))
    stuck = history(loss=np.linspace(0.75, 0.68, 50), **dead)
    assert "dead_units" in codes(diagnose(stuck, y=y))


def test_one_class_predicted_is_named_before_the_dead_units():
    X, y = make_classification(600, 8, n_informative=3, weights=[0.9], flip_y=0.02,
                               class_sep=0.5, random_state=1)
    X, X_val, y, y_val = zoo_split((X - X.mean(0)) / X.std(0), y, stratify=True)
    model = MLPClassifier((8,), lr=1e-2, batch_size=64, epochs=60, alpha=1.0, tol=None,
                          random_state=0).fit(X, y, validation_data=(X_val, y_val))
    found = codes(diagnose(model, X=X, y=y, find_lr=False))
    assert found.index("class_imbalance") < found.index("dead_units")


# -- unscaled inputs: raw pixels, uncentred columns ------------------------------------------


def test_raw_pixels_in_one_unit_are_not_unscaled_inputs():
    X = load_digits().data                            # 0-16, border pixels nearly always 0
    assert "unscaled_inputs" not in codes(diagnose(history(), X=X))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (500, 30)).astype(float)
    images[:, :10] = 3.0 * (rng.random((500, 10)) < 0.01)   # rare faint border pixels
    assert "unscaled_inputs" not in codes(diagnose(history(), X=images))
    # a column in other units is still named
    mixed = np.c_[images, rng.normal(0, 1e-2, 500)]
    assert "unscaled_inputs" in codes(diagnose(history(), X=mixed))


def test_uncentred_columns_far_apart_in_mean_square_are_unscaled():
    bunch = load_diabetes(scaled=False)               # age, sex 1/2, bmi, bp, s1-s6
    X = bunch.data
    findings = [f for f in diagnose(history(), X=X, feature_names=bunch.feature_names)
                if f.code == "unscaled_inputs"]
    assert len(findings) == 1
    assert "column 's1' has a root mean square of 1.9e+02, column 'sex' 1.6e+00" in \
        findings[0].evidence
    centred = (X - X.mean(0)) / X.std(0)
    assert "unscaled_inputs" not in codes(diagnose(history(), X=centred))


# -- the level of the loss against its shape -------------------------------------------------


def test_a_loss_swinging_through_the_trivial_level_is_oscillating_not_too_high():
    y = np.arange(100) % 2                            # the trivial loss is log 2 = 0.69
    bounce = np.r_[np.linspace(2.0, 0.9, 30), np.tile([0.6, 1.2], 10)]
    findings = diagnose(history(loss=bounce, val_loss=bounce + 0.05), y=y)
    assert codes(findings)[0] == "oscillating"
    assert findings[0].severity == "problem"          # it explains the loss ending high
    assert "0.69 of a model that always predicts the class shares" in findings[0].evidence
    # the same swing far above that level, never reaching it, is a loss too high
    high = np.r_[np.linspace(20.0, 10.0, 30), np.tile([9.4, 16.0], 10)]
    assert codes(diagnose(history(loss=high, val_loss=high), y=y))[0] == "loss_too_high"


def test_a_slow_momentum_swing_is_oscillating_not_a_rate_too_high():
    # heavy momentum: the loss falls, then swings with a period of 16 epochs, and the run
    # ends on a rising stretch well above its best
    epochs = np.arange(80)
    swing = 4.0 + 3.6 * np.cos(2 * np.pi * (epochs + 4) / 16)
    loss = np.r_[np.linspace(9.0, swing[8], 8), swing[8:]]
    loss[-6:] = np.linspace(0.8, 3.9, 6)
    findings = diagnose(history(loss=loss, val_loss=loss, lr=[0.02] * 80,
                                grad_norm=np.full(80, 2.0),
                                **{"grad_norm/0.W": np.full(80, 1.0),
                                   "grad_norm/2.W": np.full(80, 1.0)}))
    assert codes(findings)[0] == "oscillating", codes(findings)
    assert "lr_too_high" not in codes(findings)
    assert "went up and down" in findings[0].evidence


# -- advice that the zoo's re-runs showed to help ---------------------------------------------


def test_a_regressor_that_scales_its_target_is_judged_in_its_units():
    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    y = 1000.0 + 3.0 * y                              # mean 1000, std about 400
    model = LinearRegression(lr=0.1, epochs=100, scale=True, tol=None,
                             random_state=0).fit(X, y)
    findings = diagnose(model, X=X, y=y, find_lr=False)
    assert codes(findings) == ["healthy"]             # scale=True standardised y itself
    raw = LinearRegression(lr=0.01, epochs=100, tol=None, random_state=0).fit(X, y)
    target = [f for f in diagnose(raw, X=X, y=y) if f.code == "unscaled_target"]
    assert target and target[0].suggest["scale"] is True and "lr" in target[0].suggest


def test_an_explosion_driven_by_an_unscaled_target_is_fixed_by_scaling_it():
    # the zoo's exploding_mlpr_regression_sgd_32: y with std 150, two hidden layers
    X, y = make_regression(400, 10, n_informative=6, noise=10.0, random_state=0)
    X, X_val, y, y_val = zoo_split((X - X.mean(0)) / X.std(0), y)
    model = MLPRegressor((64, 64), optimizer="sgd", lr=2e-3, batch_size=32, epochs=20,
                         tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, validation_data=(X_val, y_val))
        findings = diagnose(model, X=X, y=y)
    first = findings[0]
    assert first.code == "exploding_gradients"
    assert first.advice.startswith("the target is not scaled (see below): standardise")
    assert first.suggest["scale"] is True and first.suggest["lr"] > 0


def test_overfitting_whose_score_kept_improving_is_told_to_regularise_not_to_stop():
    digits = load_digits()
    X = digits.data / 16.0
    X, X_val, y, y_val = zoo_split(X, digits.target, stratify=True)
    model = MLPClassifier((256, 256), lr=0.01, batch_size=32, epochs=40, alpha=0.0, tol=None,
                          random_state=0)
    model.fit(X[:150], y[:150], validation_data=(X_val, y_val))
    finding = [f for f in diagnose(model, X=X[:150], y=y[:150], find_lr=False)
               if f.code == "overfitting"][0]
    score = np.asarray(model.history_["val_score"])
    best = int(np.argmin(model.history_["val_loss"]))
    assert score[-1] > score[best]                   # stopping at the best loss loses score
    assert finding.suggest == {"alpha": 0.01}
    assert "would lose the validation score gained since" in finding.advice


# -- what the first fresh group showed (make_friedman3's target, unscaled quantiles) ----------


def test_a_target_a_few_units_from_zero_is_not_unscaled():
    rng = np.random.default_rng(0)
    y = 1.3 + 0.35 * rng.standard_normal(300)         # make_friedman3's: 3.7 stds from 0
    assert "unscaled_target" not in codes(diagnose(history(), y=y))
    assert "unscaled_target" in codes(diagnose(history(), y=y * 100 + 400))   # mean 530


def test_unscaled_inputs_explain_a_loss_far_above_the_trivial_level():
    y = np.arange(200) % 2
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4)) * np.array([1e-2, 1.0, 1e2, 1e3])
    high = np.r_[np.linspace(400.0, 10.0, 30), np.tile([5.0, 9.0], 10)]
    findings = diagnose(history(loss=high, val_loss=high), X=X, y=y)
    assert codes(findings)[:2] == ["unscaled_inputs", "loss_too_high"]
    assert findings[0].severity == "problem"
    assert "; and the training loss stayed between 5 and 9" in findings[0].evidence


def test_a_model_that_fits_its_rows_and_scores_nothing_is_overfitting():
    # as the first fresh group's overfit_mlpr_friedman3_adam_16: a huge first epoch, then
    # the training loss to near 0 while the validation score ends at chance
    y = np.arange(60) % 2                             # the trivial loss is log 2
    loss = np.r_[90.0, np.geomspace(1.0, 0.001, 49)]
    val = np.r_[np.geomspace(3.0, 0.6, 15), np.linspace(0.62, 1.5, 35)]
    score = np.r_[np.linspace(0.5, 0.7, 15), np.linspace(0.68, 0.5, 35)]
    findings = diagnose(history(loss=loss, val_loss=val, val_score=score), y=y)
    assert codes(findings)[0] == "overfitting" and findings[0].severity == "problem"
    assert "bad_initialization" in codes(findings)
