"""steepest.diagnose: every rule on a synthetic history built to show it (and silent on a
healthy one), the same rules on small real runs, the per-layer gradient norms the fit
loop records for them, and the text users read."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyarrow as pa
import pytest
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from steepest import LinearRegression, LogisticRegression, MLPClassifier, nn, optim
from steepest.diagnose import Finding, Thresholds, diagnose, format_findings
from steepest.errors import NonFiniteError, ParameterError
from steepest.train import Callback, Checkpoint, DivergenceWarning, History, Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

EPOCHS = np.arange(50)


def healthy_history(**changes) -> dict[str, list[float]]:
    """A run that converges: the losses fall geometrically, so does the gradient norm."""
    history = {
        "loss": list(2.3 * np.exp(-0.1 * EPOCHS) + 0.05),
        "val_loss": list(2.3 * np.exp(-0.1 * EPOCHS) + 0.08),
        "lr": [0.01] * EPOCHS.size,
        "grad_norm": list(1.5 * np.exp(-0.08 * EPOCHS) + 0.01),
        "grad_norm/0.W": list(0.8 * np.exp(-0.08 * EPOCHS) + 0.01),
        "grad_norm/2.W": list(1.2 * np.exp(-0.08 * EPOCHS) + 0.01),
        "time": list(0.01 * (EPOCHS + 1)),
    }
    history.update({key: list(map(float, values)) for key, values in changes.items()})
    return history


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


# -- the healthy run and the shape of findings ----------------------------------------------


def test_a_healthy_run_gets_one_healthy_note_summarising_it():
    findings = diagnose(healthy_history())
    assert codes(findings) == ["healthy"]
    finding = findings[0]
    assert finding.severity == "info" and finding.title == "Training looks healthy"
    assert finding.evidence.startswith(
        "over 50 epochs the training loss fell from 2.3 to 0.067 (35 times lower), the "
        "validation loss ended at 0.097 (best 0.097, at epoch 50), the gradient norm went from "
        "1.5 to 0.04")
    assert "validation loss ended at" in finding.evidence and "nothing diverged" in \
        finding.evidence
    assert finding.epochs == (1, 50)
    with pytest.raises(AttributeError):
        finding.code = "other"                                # frozen


def test_a_run_still_falling_fast_is_healthy_but_told_to_train_longer():
    loss = 2.3 * np.exp(-0.1 * EPOCHS[:20])
    finding = only(diagnose(healthy_history(loss=loss, val_loss=loss + 0.1,
                                            grad_norm=np.exp(-0.1 * EPOCHS[:20]),
                                            **{"grad_norm/0.W": np.ones(20),
                                               "grad_norm/2.W": np.ones(20)})), "healthy")
    assert "more epochs would lower it further" in finding.advice


def test_too_few_epochs_are_not_called_healthy():
    findings = diagnose({"loss": [1.0, 0.9, 0.8], "grad_norm": [1.0, 0.9, 0.8]})
    assert codes(findings) == ["too_short"]
    assert "3 epochs recorded" in findings[0].evidence and "at least 5" in findings[0].evidence


def test_every_finding_names_numbers_and_a_fix():
    broken = healthy_history(loss=np.r_[np.linspace(2, 0.4, 40), np.geomspace(0.4, 2.3, 10)],
                             grad_norm=np.geomspace(0.5, 600, 50))
    for finding in diagnose(broken, X=np.c_[np.arange(50.0), 1e4 * np.arange(50.0)]):
        assert finding.severity in ("problem", "warning", "info")
        assert finding.title and "\n" not in finding.title and not finding.title.endswith(".")
        assert any(ch.isdigit() for ch in finding.evidence), finding
        assert finding.advice, finding


# -- each rule on a history built to show it -------------------------------------------------


def test_loss_rising_at_the_end_means_the_rate_is_too_high():
    loss = np.r_[np.linspace(2.0, 0.41, 40), [0.5, 0.45, 0.7, 0.9, 0.85, 1.2, 1.5, 1.4, 1.9, 2.3]]
    finding = only(diagnose(healthy_history(loss=loss)), "lr_too_high")
    assert finding.severity == "problem"
    assert finding.evidence == "the training loss rose in 7 of the last 10 epochs, from 0.41 to 2.3"
    assert finding.advice.startswith("lower the learning rate to 0.001")
    assert finding.suggest == {"lr": 0.001}
    assert finding.epochs == (40, 50)
    assert "healthy" not in codes(diagnose(healthy_history(loss=loss)))


def test_loss_ending_far_above_its_best_means_the_rate_is_too_high():
    loss = np.r_[np.linspace(2.0, 0.2, 20), 0.6 + 0.05 * np.sin(np.arange(30))]
    finding = only(diagnose(healthy_history(loss=loss)), "lr_too_high")
    assert "times its best of 0.2 at epoch 20" in finding.evidence


def test_noise_near_a_loss_of_zero_is_not_a_rising_loss():
    # up 30% at the end, but by 1.5% of how far the loss fell: mini-batch noise
    loss = np.r_[np.linspace(0.7, 0.03, 40),
                 [0.031, 0.033, 0.03, 0.034, 0.036, 0.035, 0.037, 0.039, 0.038, 0.04]]
    assert codes(diagnose(healthy_history(loss=loss, val_loss=loss + 0.01))) == ["healthy"]


def test_a_zigzagging_loss_is_oscillating():
    loss = np.r_[np.linspace(3.0, 1.2, 38), np.tile([1.0, 1.4], 6)]
    findings = diagnose(healthy_history(loss=loss))
    finding = only(findings, "oscillating")
    assert finding.severity == "warning"
    assert "changed direction 9 times in the last 11 epochs" in finding.evidence
    assert "between 1 and 1.4" in finding.evidence
    assert finding.suggest == {"lr": 0.0033} and "batch size" in finding.advice
    assert "lr_too_high" not in codes(findings)


def test_mini_batch_noise_is_not_oscillation():
    rng = np.random.default_rng(0)
    loss = 2.3 * np.exp(-0.1 * EPOCHS) + 0.3 + 0.01 * rng.standard_normal(50)
    assert "oscillating" not in codes(diagnose(healthy_history(loss=loss)))


def test_divergence_events_are_reported_with_the_rates_that_failed():
    events = [{"epoch": 3, "event": "divergence", "lr": 1.0, "new_lr": 0.1,
               "reason": "the training loss rose to 4.1e+05, more than 1000 times its 2.3 at "
                         "the start"},
              {"epoch": 5, "event": "divergence", "lr": 0.1, "new_lr": 0.01,
               "reason": "the loss of a batch became nan"}]
    history = History()
    for values in zip(*(healthy_history()[key] for key in ("loss", "lr", "grad_norm")),
                      strict=True):
        history.append(dict(zip(("loss", "lr", "grad_norm"), values, strict=True)))
    history.events.extend(events)
    finding = only(diagnose(history), "diverged")
    assert finding.severity == "problem" and finding.epochs == (3, 5)
    assert finding.evidence.startswith(
        "the divergence guard rolled the model back twice: at epoch 3 with lr=1 (the training "
        "loss rose to 4.1e+05")
    assert "then with lr=0.1, and lowered the rate to lr=0.01" in finding.evidence
    # below every rate that diverged, and not the 0.01 the guard went on with
    assert finding.suggest == {"lr": 0.001}
    assert "(lr=0.1 and lr=1 already diverged)" in finding.advice
    # a plain dict takes its events as an argument
    assert "diverged" in codes(diagnose(healthy_history(), events=events))


def test_a_non_finite_loss_in_a_plain_history_is_divergence():
    loss = healthy_history()["loss"][:10] + [math.inf]
    finding = only(diagnose({"loss": loss, "lr": [0.5] * 11}), "diverged")
    assert "became inf at epoch 11" in finding.evidence and finding.suggest == {"lr": 0.05}


def test_slow_linear_descent_with_a_large_gradient_means_the_rate_is_too_low():
    loss = 30.0 - 0.03 * EPOCHS
    grad = 12.0 - 0.01 * EPOCHS
    finding = only(diagnose(healthy_history(loss=loss, val_loss=loss, grad_norm=grad,
                                            lr=[1e-4] * 50)), "lr_too_low")
    assert finding.severity == "warning"
    assert "from 30 to 29 (0.1% per epoch)" in finding.evidence
    assert "(12 → 11.5)" in finding.evidence
    assert finding.advice.startswith("raise the learning rate to 0.001")
    assert finding.suggest == {"lr": 0.001}


def test_too_low_advice_stays_below_a_rate_that_diverged():
    loss, grad = 30.0 - 0.03 * EPOCHS, 12.0 - 0.01 * EPOCHS
    events = [{"epoch": 2, "event": "divergence", "lr": 0.05, "new_lr": 0.005, "reason": "x"}]
    finding = only(diagnose(healthy_history(loss=loss, grad_norm=grad, lr=[0.005] * 50),
                            events=events), "lr_too_low")
    assert "to 0.017 (it diverged at lr=0.05" in finding.advice
    assert finding.suggest == {"lr": 0.017}


def test_a_converging_run_is_not_too_slow():
    # the loss falls 0.5% per epoch but slows down geometrically and the gradient shrinks
    loss = 1.0 + np.exp(-0.05 * EPOCHS)
    grad = np.exp(-0.05 * EPOCHS)
    assert "lr_too_low" not in codes(diagnose(healthy_history(loss=loss, grad_norm=grad)))


@pytest.mark.parametrize(("first", "severity"), [(1e-5, "problem"), (0.05, "warning")])
def test_first_layers_far_weaker_than_the_last_means_vanishing_gradients(first, severity):
    layers = {"grad_norm/0.W": [first] * 50, "grad_norm/2.W": [1e-3] * 50,
              "grad_norm/4.W": [0.5] * 50}
    finding = only(diagnose(healthy_history(**layers)), "vanishing_gradients")
    assert finding.severity == severity
    assert f"the gradient of the first layer's weights (0.W) is {first:.2g}" in finding.evidence
    assert "(4.W: 0.5)" in finding.evidence and "0.W" in finding.evidence
    assert "ReLU" in finding.advice and "batch normalisation" in finding.advice


def test_a_loss_that_never_moves_with_no_gradient_means_vanishing_gradients():
    loss = 0.6931 + 1e-6 * np.cos(EPOCHS)
    findings = diagnose({"loss": loss, "grad_norm": [3e-7] * 50, "lr": [0.1] * 50})
    finding = only(findings, "vanishing_gradients")
    assert "barely moved" in finding.evidence and "3e-07" in finding.evidence


def test_gradients_growing_by_orders_of_magnitude_are_exploding():
    finding = only(diagnose(healthy_history(grad_norm=np.geomspace(0.5, 3.2e3, 50))),
                   "exploding_gradients")
    assert finding.severity == "problem"
    assert "the gradient norm grew from 0.5 at epoch 1 to 3.2e+03 at epoch 50" in \
        finding.evidence
    # clipped at the gradient's size before it grew (its first epoch's), not at 1
    assert finding.suggest == {"clip_norm": 0.5} and "maximum norm of 0.5" in finding.advice
    layer = only(diagnose(healthy_history(**{"grad_norm/2.W": np.geomspace(0.1, 80, 50)})),
                 "exploding_gradients")
    assert "layer 2.W's weight gradient grew" in layer.evidence


def plateau_history(grad_tail: np.ndarray) -> dict:
    loss = np.r_[np.linspace(2.3, 0.8, 15), 0.8 + 0.001 * np.sin(np.arange(35))]
    grad = np.r_[np.linspace(1.0, 0.006, 15), grad_tail]
    return healthy_history(loss=loss, val_loss=loss, grad_norm=grad)


def test_a_long_flat_stretch_with_a_small_steady_gradient_is_a_plateau():
    finding = only(diagnose(plateau_history(np.full(35, 0.005))), "plateau")
    assert finding.severity == "warning"
    assert "after falling from 2.3 to 0.8" in finding.evidence
    assert "for the last 36 epochs" in finding.evidence and "about 0.005" in finding.evidence
    assert "momentum" in finding.advice and finding.epochs == (15, 50)


def test_a_flat_loss_whose_gradient_keeps_shrinking_is_a_minimum_not_a_plateau():
    assert "plateau" not in codes(diagnose(plateau_history(np.geomspace(0.005, 1e-6, 35))))


def test_validation_loss_rising_while_training_loss_falls_is_overfitting():
    val = np.r_[np.linspace(1.0, 0.31, 12), np.linspace(0.33, 0.52, 38)]
    loss = np.linspace(1.0, 0.05, 50)
    X = np.random.default_rng(0).standard_normal((40, 3))
    finding = only(diagnose(healthy_history(loss=loss, val_loss=val), X=X, n_params=1234),
                   "overfitting")
    assert finding.severity == "warning" and finding.epochs == (12, 50)
    assert finding.evidence == (
        "the validation loss was lowest at epoch 12 (0.31) and rose to 0.52 by epoch 50, "
        "while the training loss kept falling, from 0.79 to 0.05; the gap is now 0.47; the "
        "model has 1,234 parameters for 40 training samples")
    assert "stop early" in finding.advice and "epoch 12" in finding.advice


def test_a_validation_loss_that_keeps_falling_is_not_overfitting():
    assert "overfitting" not in codes(diagnose(healthy_history()))
    # nor one that rises back to the training loss without passing it: no gap
    val = np.r_[np.linspace(1.0, 0.3, 20), np.linspace(0.3, 0.5, 30)]
    loss = np.linspace(1.2, 0.48, 50)
    assert "overfitting" not in codes(diagnose(healthy_history(loss=loss, val_loss=val)))


class Frame:
    """What a data frame offers here: named columns and an array."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = list(columns)
        self._values = np.column_stack(list(columns.values()))

    def __array__(self, dtype=None, copy=None):
        return self._values if dtype is None else self._values.astype(dtype)


def normal(rng, mean: float, std: float, n: int) -> np.ndarray:
    """Samples with exactly this mean and standard deviation."""
    z = rng.standard_normal(n)
    return mean + std * (z - z.mean()) / z.std()


def test_columns_on_different_scales_are_named():
    rng = np.random.default_rng(0)
    X = Frame({"age": normal(rng, 40, 12, 100), "income": normal(rng, 5e4, 3.1e4, 100)})
    finding = only(diagnose(healthy_history(), X=X), "unscaled_inputs")
    assert finding.severity == "warning" and finding.epochs is None
    assert "column 'income' has std 3.1e+04, column 'age' 1.2e+01" in finding.evidence
    assert "standardise the inputs" in finding.advice and "StandardScaler" in finding.advice
    table = pa.table({"age": np.asarray(X)[:, 0], "income": np.asarray(X)[:, 1]})
    assert only(diagnose(healthy_history(), X=table), "unscaled_inputs") == finding


def test_far_from_centred_and_extreme_columns_are_badly_scaled_too():
    rng = np.random.default_rng(0)
    year = normal(rng, 2000.0, 3.0, 200)
    finding = only(diagnose(healthy_history(), X=np.c_[rng.normal(0, 1, 200), year],
                            feature_names=["x", "year"]), "unscaled_inputs")
    assert "column 'year' has mean 2.0e+03 and std 3.0e+00" in finding.evidence
    tiny = only(diagnose(healthy_history(), X=rng.normal(0, 1e-5, (50, 2))), "unscaled_inputs")
    assert "column 0 has std" in tiny.evidence and "outside 0.001 to 1000" in tiny.evidence


def test_scaled_and_constant_columns_raise_nothing():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(0, 1, 100), rng.normal(0, 3, 100), np.ones(100), rng.integers(0, 2, 100)]
    assert codes(diagnose(healthy_history(), X=X)) == ["healthy"]


def test_findings_come_problems_first():
    broken = healthy_history(
        loss=np.r_[np.linspace(2.0, 0.41, 40), np.geomspace(0.45, 2.3, 10)],
        grad_norm=np.geomspace(0.5, 600, 50), **{"grad_norm/0.W": [1e-6] * 50})
    findings = diagnose(broken, X=np.c_[np.arange(50.0), 1e4 * np.arange(50.0)])
    # the unscaled inputs explain the rising loss (a rate too high for the widest column):
    # they are the problem reported first
    assert codes(findings) == ["unscaled_inputs", "lr_too_high", "exploding_gradients",
                               "vanishing_gradients"]
    severities = [finding.severity for finding in findings]
    assert severities == sorted(severities, key=["problem", "warning", "info"].index)


def test_thresholds_can_be_tuned():
    layers = {"grad_norm/0.W": [0.3] * 50, "grad_norm/2.W": [1.0] * 50}
    assert "vanishing_gradients" not in codes(diagnose(healthy_history(**layers)))
    strict = Thresholds(vanishing_ratio=0.5)
    assert "vanishing_gradients" in codes(diagnose(healthy_history(**layers), thresholds=strict))


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(ParameterError, match="must be a steepest.train.History, a dict"):
        diagnose([1.0, 0.5])
    with pytest.raises(ParameterError, match="has no 'loss' series"):
        diagnose({"lr": [0.1]})
    with pytest.raises(ParameterError, match="has not been fitted"):
        diagnose(LinearRegression())
    with pytest.raises(ParameterError, match="must be numeric"):
        diagnose(healthy_history(), X=[["a", "b"]])
    with pytest.raises(ParameterError, match="2 names but X has 3 columns"):
        diagnose(healthy_history(), X=np.ones((4, 3)), feature_names=["a", "b"])
    with pytest.raises(ParameterError, match="must be a Thresholds"):
        diagnose(healthy_history(), thresholds={"window": 3})


# -- the text for the terminal -----------------------------------------------------------------


def test_format_findings_is_plain_wrapped_text():
    finding = Finding("lr_too_high", "problem", "The learning rate is too high",
                      "the training loss rose in 7 of the last 10 epochs, from 0.41 to 2.3",
                      "lower the learning rate about 10×, e.g. lr=0.01 (steepest lr-find "
                      "suggests one), or use a decaying schedule (steepest.schedules.cosine)")
    text = format_findings([finding, Finding("healthy", "info", "Fine", "all good", "none")],
                           width=72)
    assert text.splitlines()[:3] == [
        "[problem] The learning rate is too high (lr_too_high)",
        "    seen: the training loss rose in 7 of the last 10 epochs, from 0.41",
        "          to 2.3",
    ]
    assert "    do:   lower the learning rate about 10×, e.g. lr=0.01" in text
    assert "\n\n[info] Fine (healthy)\n    seen: all good\n    do:   none" in text
    assert all(len(line) <= 72 for line in text.splitlines())
    assert "\x1b" not in text
    assert str(finding) == format_findings([finding])


# -- what the fit loop records for the diagnosis ----------------------------------------------


def small_mlp(seed: int = 0) -> nn.Network:
    return nn.Network([nn.Dense(8), nn.BatchNorm(), nn.Tanh(), nn.Dense(3)], n_features=4,
                      random_state=seed)


def blobs(n: int = 90, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) + 1.5 * np.eye(3, 4)[y], y


class LayerNorms(Callback):
    """The norms of the Dense weight gradients as they are at the end of each epoch."""

    def reset(self):
        self.norms = []

    def on_epoch_end(self, epoch, logs):
        grads = self.trainer.network.gradients()
        self.norms.append({key: float(np.linalg.norm(grads[key])) for key in ("0.W", "3.W")})


def test_the_fit_loop_records_each_dense_layers_gradient_norm():
    X, y = blobs()
    seen = LayerNorms()
    trainer = Trainer(small_mlp(), "categorical_crossentropy", optim.Adam(lr=0.01),
                      batch_size=16, callbacks=[seen], random_state=0)
    history = trainer.fit(X, y, epochs=4)
    assert list(history.layer_grad_norm) == ["0.W", "3.W"]            # Dense weights only
    for key in ("0.W", "3.W"):
        assert history.layer_grad_norm[key] == pytest.approx([n[key] for n in seen.norms],
                                                              rel=1e-12)
    assert list(history) == ["loss", "lr", "grad_norm", "time"]       # the series unchanged
    assert list(history.to_dict()) == list(history)
    as_series = history.to_dict(layers=True)
    assert as_series["grad_norm/0.W"] == history.layer_grad_norm["0.W"]
    assert list(as_series)[-2:] == ["grad_norm/0.W", "grad_norm/3.W"]
    assert all(g > 0 for g in history.layer_grad_norm["0.W"])


def test_layer_norms_are_taken_before_clipping_like_grad_norm():
    X, y = np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([2.0, 4.0, 6.0, 8.0])
    net = nn.Network([nn.Dense(1, weight_init="zeros")], n_features=1)
    history = Trainer(net, "mse", optim.SGD(lr=1.0), clip_norm=0.5).fit(X, y, epochs=1)
    raw_dW = -(2 / 4) * np.sum(X[:, 0] * y)                           # at θ = 0
    assert history.layer_grad_norm["0.W"][0] == pytest.approx(abs(raw_dW), rel=1e-6)


def test_layer_norms_survive_checkpoints_and_rollbacks(tmp_path):
    X, y = blobs()
    path = tmp_path / "run.ckpt"
    whole = Trainer(small_mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=16,
                    random_state=0)
    whole.fit(X, y, epochs=4)
    first = Trainer(small_mlp(), "categorical_crossentropy", optim.Adam(lr=0.01), batch_size=16,
                    callbacks=[Checkpoint(path)], random_state=0)
    first.fit(X, y, epochs=2)
    resumed = Trainer(small_mlp(1), "categorical_crossentropy", optim.Adam(lr=0.01),
                      batch_size=16, callbacks=[Checkpoint(path)], random_state=5)
    resumed.load_checkpoint(path)
    assert resumed.history.layer_grad_norm == first.history.layer_grad_norm
    resumed.fit(X, y, epochs=4)
    assert resumed.history.layer_grad_norm == whole.history.layer_grad_norm

    # a checkpoint written before the norms were recorded loads with none
    state = whole.history.state_dict()
    del state["layer_grad_norm"]
    old = History()
    old.load_state_dict(state)
    assert old.layer_grad_norm == {} and old["loss"] == whole.history["loss"]

    # the divergence guard's rollback forgets the norms of the epochs it undoes
    net = nn.Network([nn.Dense(1, weight_init="zeros")], n_features=1)
    Xl, yl = np.linspace(0, 30, 20).reshape(-1, 1), np.linspace(0, 90, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        trainer = Trainer(net, "mse", optim.SGD(lr=0.05), random_state=0)
        history = trainer.fit(Xl, yl, epochs=20)
    assert history.events and all(len(v) == history.epochs
                                  for v in history.layer_grad_norm.values())


# -- real runs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:600]), y[:600]


def unscaled_regression(n: int = 200):
    rng = np.random.default_rng(0)
    age, income = rng.uniform(20, 70, n), rng.normal(5e4, 3e4, n)
    X = Frame({"age": age, "income": income})
    return X, 0.5 * age + 1e-4 * income + rng.normal(0, 1, n)


def test_real_run_rate_too_high_on_unscaled_data():
    X, y = unscaled_regression()
    model = LinearRegression(lr=1e-8, epochs=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        model.fit(X, y)
    findings = diagnose(model, X=X)
    assert {"diverged", "unscaled_inputs"} <= set(codes(findings))
    assert "column 'income' has std 3.1e+04, column 'age' 1.5e+01" in \
        only(findings, "unscaled_inputs").evidence
    assert "with lr=1e-08" in only(findings, "diverged").evidence


def test_real_run_that_gave_up_is_still_diagnosed():
    X, y = unscaled_regression()
    model = LinearRegression(lr=1e-3, epochs=30)
    with warnings.catch_warnings(), pytest.raises(FloatingPointError):
        warnings.simplefilter("ignore", DivergenceWarning)
        model.fit(X, y)
    findings = diagnose(model, X=X)
    assert codes(findings)[:1] == ["diverged"] and "unscaled_inputs" in codes(findings)


def test_real_run_rate_too_low():
    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    model = LinearRegression(lr=1e-4, epochs=100).fit(X, y / y.std())
    findings = diagnose(model, X=X)
    assert codes(findings) == ["lr_too_low"]
    assert findings[0].suggest == {"lr": 0.001}


def test_real_run_with_a_good_rate_is_healthy():
    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    model = LinearRegression(lr=0.1, epochs=200).fit(X, y / y.std())
    assert codes(diagnose(model, X=X)) == ["healthy"]


def test_real_run_mlp_healthy_on_digits(digits):
    X, y = digits
    model = MLPClassifier((32,), epochs=20, early_stopping=True, patience=50,
                          random_state=0).fit(X, y)
    assert codes(diagnose(model, X=X)) == ["healthy"]


def test_real_run_mlp_overfitting_a_tiny_training_set():
    X, y = make_classification(60, 20, n_informative=5, random_state=0)
    model = MLPClassifier((128,), lr=0.01, epochs=100, alpha=0.0, early_stopping=True,
                          validation_fraction=0.5, patience=1000, tol=None,
                          random_state=0).fit(X, y)
    findings = diagnose(model, X=X)
    assert codes(findings) == ["overfitting"]
    # 30 rows trained, 30 held out for early stopping (the old text said 60)
    assert ("the model has 2,817 parameters for 30 training samples (of the 60 given, the "
            "rest held out for early stopping)") in findings[0].evidence


def test_real_run_deep_sigmoid_network_has_vanishing_gradients(digits):
    X, y = digits
    model = MLPClassifier((32,) * 6, activation="sigmoid", optimizer="sgd", lr=0.1, epochs=15,
                          random_state=0).fit(X, y)
    finding = only(diagnose(model), "vanishing_gradients")
    assert finding.severity == "problem" and "(12.W:" in finding.evidence
    # the model's history_ carries the per-layer series, so it tells the same
    assert "vanishing_gradients" in codes(diagnose(model.history_))
    without_layers = {k: v for k, v in model.history_.items() if "/" not in k}
    assert "vanishing_gradients" not in codes(diagnose(without_layers))


def test_a_model_that_scales_its_inputs_is_not_told_to_scale_them():
    X, y = unscaled_regression()
    model = LinearRegression(lr=0.1, epochs=100, scale=True).fit(X, y)
    assert "unscaled_inputs" not in codes(diagnose(model, X=X))
    assert "unscaled_inputs" in codes(diagnose(model.history_, X=X))


# -- issue 10: the defects the labelled zoo found, each with a test ------------------------------

THREE_CLASSES = np.repeat([0, 1, 2], 50)            # balanced: the prior's loss is log(3)


def test_a_run_at_the_level_of_the_trivial_model_learned_nothing():
    # the loss wobbles around 1.09, and log(3) = 1.0986 is what the class shares give
    loss = 1.09 + 0.01 * np.sin(np.arange(30))
    history = {"loss": loss, "grad_norm": np.linspace(0.5, 0.3, 30), "lr": [0.01] * 30}
    finding = diagnose(history, y=THREE_CLASSES)[0]
    assert finding.code == "learned_nothing" and finding.severity == "problem"
    assert "of the 1.1 of a model that always predicts the class shares" in finding.evidence
    assert finding.suggest == {"lr": 0.1}
    # far below it, the same shape is a healthy run
    assert codes(diagnose({**history, "loss": loss / 10}, y=THREE_CLASSES)) == ["healthy"]


def test_a_validation_accuracy_at_the_majority_share_learned_nothing():
    # train loss near 0, validation accuracy 0.475 on two balanced classes (200 x 5000 data)
    n = 30
    history = {"loss": np.geomspace(0.7, 1e-3, n), "val_loss": np.linspace(0.7, 0.69, n),
               "val_score": [0.475] * n, "grad_norm": np.geomspace(1, 1e-3, n)}
    finding = diagnose(history, y=np.repeat([0, 1], 100))[0]
    assert finding.code == "learned_nothing"
    assert "the validation accuracy is 0.47, the share of the largest class is 0.5" in \
        finding.evidence


def test_real_runs_at_chance_are_not_called_healthy():
    from sklearn.datasets import load_diabetes, load_iris

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    iris = MLPClassifier((16,), optimizer="sgd", lr=0.01, batch_size=None, epochs=8, tol=None,
                         random_state=0).fit(X, y)
    assert codes(diagnose(iris, X=X, y=y, find_lr=False))[0] == "learned_nothing"
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    diabetes = LinearRegression(lr=0.01, epochs=30, tol=None).fit(X, y)
    found = codes(diagnose(diabetes, X=X, y=y, find_lr=False))
    assert found[0] == "unscaled_target" and "healthy" not in found


def test_most_relus_dead_is_a_problem_read_from_the_history():
    history = healthy_history(**{"dead_units/1": [0.2] * 25 + [0.97] * 25,
                                 "dead_units/3": [0.1] * 50})
    finding = diagnose(history)[0]
    assert (finding.code, finding.severity) == ("dead_units", "problem")
    assert finding.evidence.startswith("97% of the units of ReLU layer 1 output 0")
    assert "layer 3 10%" in finding.evidence
    assert "dead_units" not in codes(diagnose(healthy_history(**{"dead_units/1": [0.3] * 50})))


def test_a_rate_far_too_high_whose_loss_bounces_is_caught():
    # bouncing between 3.9 and 6.6 where log(3) is the trivial model's loss
    rng = np.random.default_rng(0)
    loss = np.r_[1.3, rng.uniform(3.9, 6.6, 29)]
    history = {"loss": loss, "grad_norm": rng.uniform(5, 9, 30), "lr": [1.0] * 30}
    finding = diagnose(history, y=THREE_CLASSES)[0]
    assert finding.code == "loss_too_high" and finding.suggest == {"lr": 0.1}
    assert "times the 1.1 of a model that always predicts the class shares" in finding.evidence


def test_a_run_that_starts_exploded_and_calms_is_a_bad_start():
    loss = np.r_[118.0, np.geomspace(2.0, 0.1, 29)]
    history = {"loss": loss, "grad_norm": np.r_[77.0, np.geomspace(1.0, 0.05, 29)],
               "lr": [0.01] * 30}
    finding = only(diagnose(history, y=THREE_CLASSES), "bad_initialization")
    assert "the first epoch's loss was 1.2e+02, 1.1e+02 times the 1.1" in finding.evidence
    assert "gradient norm of 77" in finding.evidence and finding.suggest == {"clip_norm": 1.0}


def test_a_layer_gradient_recovering_from_near_zero_is_not_exploding():
    # dead at the start, alive from epoch 3 on, while the loss falls
    layer = np.r_[1e-6, 1e-4, np.full(48, 0.3)]
    findings = diagnose(healthy_history(**{"grad_norm/0.W": layer}))
    assert "exploding_gradients" not in codes(findings)
    # the same growth with a loss that does not fall is an explosion
    rising = healthy_history(**{"grad_norm/0.W": layer},
                             loss=np.r_[1.0, np.linspace(1.2, 3.0, 49)])
    assert "exploding_gradients" in codes(diagnose(rising))


def test_divergence_advice_is_neither_a_rate_that_failed_nor_the_one_in_use():
    events = [{"epoch": 2, "event": "divergence", "lr": 0.3, "new_lr": 0.03, "reason": "x"}]
    finding = only(diagnose(healthy_history(lr=[0.03] * 50), events=events), "diverged")
    rate = finding.suggest["lr"]
    assert rate < 0.3 and not 0.02 <= rate <= 0.045, finding.suggest
    assert "lower the learning rate to 0.003 (lr=0.3 already diverged)" in finding.advice


def linear_data(n: int = 120, scale: float = 1.0):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 3)) * [1.0, 2.0, 0.5] * scale
    return X, X @ np.array([1.0, -2.0, 0.5]) / scale + 0.1 * rng.standard_normal(n)


def test_scaling_advice_comes_with_the_rate_for_the_scaled_data():
    X, y = linear_data()
    X = np.c_[X, 1e3 * X[:, 0] + 5e3]
    model = LinearRegression(lr=1e-8, epochs=20, tol=None, random_state=0).fit(X, y)
    finding = only(diagnose(model, X=X, y=y), "unscaled_inputs")
    assert finding.suggest["scale"] is True and finding.suggest["lr"] > 1e-3
    assert f"use a learning rate of {finding.suggest['lr']:.2g}" in finding.advice


def test_a_rate_too_low_is_raised_to_the_range_test_suggestion():
    from steepest.lr_find import lr_find

    X, y = linear_data()
    model = LinearRegression(lr=1e-4, epochs=60, tol=None, random_state=0).fit(X, y)
    finding = only(diagnose(model, X=X, y=y), "lr_too_low")
    expected = lr_find(model, X, y, num_steps=Thresholds().lr_find_steps, random_state=0)
    assert finding.suggest == {"lr": float(f"{expected.suggestion:.2g}")}
    assert finding.suggest["lr"] != pytest.approx(1e-3)           # not "10x" blindly
    assert "an LR range test on the training data suggests it" in finding.advice
    # without the range test, 10x
    assert only(diagnose(model, X=X, y=y, find_lr=False), "lr_too_low").suggest == \
        {"lr": 0.001}


def test_overfitting_advice_knows_early_stopping_is_on_and_alpha_is_zero():
    X, y = make_classification(60, 20, n_informative=5, random_state=0)
    model = MLPClassifier((128,), lr=0.01, epochs=100, alpha=0.0, early_stopping=True,
                          validation_fraction=0.5, patience=1000, tol=None,
                          random_state=0).fit(X, y)
    finding = only(diagnose(model, X=X, y=y), "overfitting")
    assert "early stopping is on" in finding.advice and "10×" not in finding.advice
    assert finding.suggest == {"alpha": 0.01} and "alpha 0.01)" in finding.advice
    off = diagnose(healthy_history(val_loss=np.r_[np.linspace(1.0, 0.31, 12),
                                                  np.linspace(0.33, 0.52, 38)],
                                   loss=np.linspace(1.0, 0.05, 50)))
    assert only(off, "overfitting").suggest == {}   # a plain history: parameters unknown


def test_advice_does_not_propose_the_optimizer_already_running():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = MLPClassifier((8,), lr=1e-5, batch_size=None, epochs=10, tol=None,
                          random_state=0).fit(X, y)                  # Adam, far too slow
    finding = diagnose(model, X=X, y=y, find_lr=False)[0]
    assert finding.code == "lr_too_low"
    assert "Adam" not in finding.advice and "optimizer" not in finding.suggest
    sgd = MLPClassifier((8,), optimizer="sgd", lr=1e-5, batch_size=None, epochs=10, tol=None,
                        random_state=0).fit(X, y)
    assert "Adam" in diagnose(sgd, X=X, y=y, find_lr=False)[0].advice


def test_rate_advice_changes_the_optimizer_object_whose_rate_wins():
    X, y = linear_data()
    model = LinearRegression(optimizer=optim.SGD(lr=1e-4, momentum=0.5), epochs=60, tol=None,
                             random_state=0).fit(X, y)
    finding = only(diagnose(model, X=X, y=y, find_lr=False), "lr_too_low")
    assert "lr" not in finding.suggest
    changed = finding.suggest["optimizer"]
    assert isinstance(changed, optim.SGD) and changed.momentum == 0.5 and changed.lr == 1e-3
    assert "the optimizer object passed" in finding.advice
    before = model.score(X, y)
    model.set_params(**finding.suggest).fit(X, y)                    # and it applies
    assert model.score(X, y) > before + 0.1


def test_a_standardised_constant_column_is_not_badly_scaled():
    rng = np.random.default_rng(0)
    X = np.c_[rng.standard_normal(100), np.full(100, -0.033) + 1e-17 * rng.standard_normal(100)]
    assert "unscaled_inputs" not in codes(diagnose(healthy_history(), X=X))


def test_an_unscaled_target_is_named_with_its_numbers():
    X, y = linear_data()
    finding = only(diagnose(healthy_history(), X=X, y=100 * y + 1e3), "unscaled_target")
    assert finding.evidence.startswith("the target has mean 1e+03 and std")
    assert codes(diagnose(healthy_history(), X=X, y=y)) == ["healthy"]


def test_one_class_predicted_on_imbalanced_data_is_class_imbalance():
    X, y = make_classification(300, 5, n_informative=2, weights=[0.9], flip_y=0.0,
                               class_sep=0.5, random_state=1)
    model = LogisticRegression(lr=0.1, epochs=30, alpha=1.0, tol=None).fit(X, y)
    finding = diagnose(model, X=X, y=y, find_lr=False)[0]
    assert finding.code == "class_imbalance"
    assert "predicts class 0 for all 300 training rows; that class is 90% of them" in \
        finding.evidence
    # alpha=1 shrinks the weights until only the bias (the majority) is left: a weaker
    # penalty first (class_weight='balanced' lowered the zoo's held-out accuracy 0.90 -> 0.67)
    assert finding.suggest == {"alpha": 0.01}
    assert "class_weight" in finding.advice or "weight the classes" in finding.advice


def test_format_findings_shows_the_suggestion_as_parameters():
    finding = Finding("lr_too_low", "warning", "The learning rate is too low", "slow",
                      "raise the learning rate to 0.1", None, {"lr": 0.1, "scale": True})
    assert "    try:  lr=0.1, scale=True" in format_findings([finding])


def test_a_slow_swing_of_heavy_momentum_is_oscillating():
    # up and down over 4-5 epochs at a time (momentum 0.99), by a third of the loss
    t = np.arange(50)
    loss = np.r_[np.linspace(2.0, 0.8, 20), 0.8 + 0.25 * np.sin(2 * np.pi * t[:30] / 9)]
    finding = only(diagnose(healthy_history(loss=loss)), "oscillating")
    assert finding.evidence.startswith("the training loss went up and down")
    assert "each swing lasting several epochs" in finding.evidence
    # mini-batch noise of a few percent is no swing
    rng = np.random.default_rng(1)
    noisy = 2.3 * np.exp(-0.1 * t) + 0.3 + 0.01 * rng.standard_normal(50)
    assert "oscillating" not in codes(diagnose(healthy_history(loss=noisy)))


def test_no_higher_rate_is_proposed_when_the_range_test_finds_none():
    from sklearn.datasets import load_iris

    from steepest.lr_find import lr_find

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = MLPClassifier((16,), optimizer="sgd", batch_size=None, epochs=5, tol=None,
                          random_state=0)
    found = lr_find(model, X, y, num_steps=Thresholds().lr_find_steps, random_state=0)
    model.set_params(lr=found.suggestion).fit(X, y)             # the right rate, too few epochs
    finding = diagnose(model, X=X, y=y)[0]
    assert finding.code == "learned_nothing" and finding.suggest == {"epochs": 25}
    assert "already about what an LR range test suggests" in finding.advice
    assert "raise the learning rate" not in finding.advice


def test_a_divergence_on_unscaled_inputs_is_fixed_by_scaling_at_the_tested_rate():
    from steepest.lesson import spending_data

    X, y = spending_data()
    model = LinearRegression(lr=0.1, epochs=30, tol=None, random_state=0)
    with warnings.catch_warnings(), pytest.raises(NonFiniteError):
        warnings.simplefilter("ignore")
        model.fit(X, y)                                # the guard gives up after 3 rollbacks
    findings = diagnose(model, X=X, y=y)
    finding = findings[0]
    assert finding.code == "diverged" and finding.suggest["scale"] is True
    assert finding.advice.startswith("the inputs are not scaled (see below): standardise")
    rate = finding.suggest["lr"]
    # a regressor's scale=True standardises y too: the target advice is the same setting,
    # at the same tested rate
    target = only(findings, "unscaled_target")
    assert target.suggest == {"scale": True, "lr": rate}
    assert model.set_params(**finding.suggest).fit(X, y).score(X, y) > 0.5
    assert 0 < rate < 1


def test_a_loss_stuck_at_the_trivial_level_with_a_steady_gradient_is_a_plateau():
    # a sigmoid net that fell 3% to log(3) and stays there, the gradient steady at 0.023
    loss = np.r_[np.linspace(1.14, 1.0988, 20), 1.0986 - 1e-5 * np.arange(40)]
    grad = np.r_[np.geomspace(0.39, 0.0232, 20), np.full(40, 0.0232)]
    history = {"loss": loss, "grad_norm": grad, "lr": [0.05] * 60}
    finding = diagnose(history, y=THREE_CLASSES)[0]
    assert (finding.code, finding.severity) == ("plateau", "problem")
    assert "at the level of a model that always predicts the class shares (1.1)" in \
        finding.evidence
    # the same shape far below the trivial level is a minimum, not a plateau
    assert codes(diagnose({**history, "loss": loss / 20}, y=THREE_CLASSES)) == ["healthy"]
