"""steepest.lr_find: the learning-rate range test on the estimators — the ramp, the early
stop, the suggestion (it trains well, and stays below a divergence point we know), the
model left as it was, reproducibility, the figure and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from steepest import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor, optim
from steepest.errors import ParameterError
from steepest.lr_find import LRFinderResult, lr_find, plot_lr_find

RULES = ("steepest descent of the smoothed loss", "minimum / 10",
         "the loss never fell: the smallest rate tried")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def regression(scale_last: float = 1.0):
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    return X * np.array([1, 1, 1, 1, scale_last]), y


def test_the_ramp_and_what_it_records(digits):
    X, _, y, _ = digits
    result = lr_find(LogisticRegression(batch_size=32), X, y, num_steps=120, random_state=0)
    assert isinstance(result, LRFinderResult)
    n = result.lrs.size
    assert 10 < n <= 120
    assert result.losses.shape == result.smoothed.shape == result.trend.shape == (n,)
    # exponential from start_lr to end_lr over num_steps
    expected = 1e-7 * (10 / 1e-7) ** (np.arange(n) / 119)
    np.testing.assert_allclose(result.lrs, expected, rtol=1e-10)
    assert np.all(np.isfinite(result.losses)) and np.all(np.isfinite(result.smoothed))
    # the bias-corrected moving average: the first value is the first loss
    assert result.smoothed[0] == result.losses[0]
    average = 0.98 * (0.02 * result.losses[0]) + 0.02 * result.losses[1]
    assert result.smoothed[1] == pytest.approx(average / (1 - 0.98**2), rel=1e-12)
    assert 1e-7 <= result.suggestion <= 10 and np.isfinite(result.suggestion)
    assert result.rule in RULES
    assert "suggestion=" in repr(result)


@pytest.mark.parametrize("model", [
    LinearRegression(),
    LogisticRegression(batch_size=16),
    MLPClassifier((16,), batch_size=32),
    MLPRegressor((8,), optimizer="sgd", batch_size=None),
    MLPClassifier((8,), batch_norm=True, dropout=0.1, batch_size=33),
], ids=lambda m: type(m).__name__)
def test_every_estimator_gets_a_finite_suggestion_within_the_range(model):
    X, y = regression()
    if hasattr(model, "predict_proba"):
        y = np.where(y > np.median(y), "high", "low")
    result = lr_find(model, X, y, start_lr=1e-6, end_lr=1.0, num_steps=60, random_state=0)
    assert 1e-6 <= result.suggestion <= 1.0 and np.isfinite(result.suggestion)
    assert result.rule in RULES and result.lrs.size >= 3


def test_the_suggested_rate_trains_a_logistic_regression_well(digits):
    X_train, X_test, y_train, y_test = digits
    model = LogisticRegression(batch_size=32, epochs=15, tol=None, random_state=0)
    result = lr_find(model, X_train, y_train, random_state=0)
    assert 1e-3 < result.suggestion < 10
    model.set_params(lr=result.suggestion).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.93


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("scale_last", [1.0, 5.0, 30.0])
def test_the_suggestion_lies_below_the_divergence_point_of_a_known_quadratic(batch_size,
                                                                           scale_last):
    # batch descent on the mean squared error diverges above 2 / λ_max of its Hessian
    # H = (2/n) AᵀA (A: the inputs and a column of ones); the last column's scale makes it
    # ill-conditioned, where the loss hides the first diverging direction for a while
    X, y = regression(scale_last)
    A = np.column_stack([X, np.ones(len(X))])
    divergence = 2 / np.linalg.eigvalsh(2 / len(A) * A.T @ A).max()
    result = lr_find(LinearRegression(batch_size=batch_size), X, y, random_state=0)
    assert result.stopped_early and result.lrs[-1] > divergence
    assert result.suggestion < divergence
    if batch_size is None and scale_last == 1.0:     # a rate at which batch descent converges
        model = LinearRegression(lr=result.suggestion, epochs=500, tol=None).fit(X, y)
        assert model.history_["loss"][-1] < 1e-3 * model.history_["loss"][0]


def test_it_stops_early_when_the_loss_blows_up():
    X, y = regression(30.0)
    result = lr_find(LinearRegression(), X, y, num_steps=200, diverge_factor=4.0)
    assert result.stopped_early and result.lrs.size < 200 and result.lrs[-1] < 10
    assert result.smoothed[-1] > 4.0 * result.smoothed[:-1].min()
    assert np.all(result.smoothed[:-1] <= 4.0 * np.minimum.accumulate(result.smoothed[:-1]))
    assert np.all(np.isfinite(result.losses))
    gentle = lr_find(LinearRegression(), X, y, end_lr=1e-4, num_steps=50)
    assert not gentle.stopped_early and gentle.lrs.size == 50


def test_a_loss_that_blows_up_at_once_suggests_the_smallest_rate():
    X, y = regression(30.0)
    result = lr_find(LinearRegression(), X, y, start_lr=1.0, end_lr=100.0, num_steps=20)
    assert result.stopped_early and result.lrs.size < 3
    assert result.losses.shape == result.smoothed.shape == result.trend.shape == \
        result.lrs.shape
    assert result.suggestion == 1.0 and result.rule == RULES[2]
    plot_lr_find(result)                                      # draws what there is


def test_the_same_seed_gives_the_same_result(digits):
    X, _, y, _ = digits
    model = MLPClassifier((16,), batch_size=32)                 # random_state=None
    first = lr_find(model, X, y, num_steps=80, random_state=3)
    second = lr_find(model, X, y, num_steps=80, random_state=3)
    for name in ("lrs", "losses", "smoothed", "trend"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert (first.suggestion, first.rule, first.stopped_early) == \
        (second.suggestion, second.rule, second.stopped_early)
    other = lr_find(model, X, y, num_steps=80, random_state=4)
    assert not np.array_equal(other.losses, first.losses)
    # without a seed of its own it takes the model's
    seeded = MLPClassifier((16,), batch_size=32, random_state=3)
    np.testing.assert_array_equal(lr_find(seeded, X, y, num_steps=80).losses, first.losses)


def test_an_unfitted_model_stays_unfitted_and_unchanged(digits):
    X, _, y, _ = digits
    model = MLPClassifier((16,), batch_size=32, lr=0.123, random_state=0)
    params = model.get_params()
    lr_find(model, X, y, num_steps=30)
    assert model.get_params() == params
    assert not hasattr(model, "n_features_in_") and not hasattr(model, "_network")


def test_a_fitted_model_keeps_its_parameters_and_state(digits):
    X, X_test, y, _ = digits
    adam = optim.Adam(lr=0.01, betas=(0.8, 0.99))
    model = MLPClassifier((16,), optimizer=adam, batch_size=32, epochs=3, tol=None,
                          random_state=0, scale=True).fit(X, y)
    params, state = model.get_params(), model._network.state_dict()
    history, proba = dict(model.history_), model.predict_proba(X_test)
    trainer_state = model._trainer.optimizer.state_dict()
    lr_find(model, X, y, num_steps=30, random_state=1)
    assert model.get_params() == params and adam.lr == 0.01 and adam.betas == (0.8, 0.99)
    for key, value in model._network.state_dict().items():
        assert np.asarray(value).tobytes() == np.asarray(state[key]).tobytes(), key
    assert model.history_ == history
    np.testing.assert_array_equal(model.predict_proba(X_test), proba)
    for key, value in model._trainer.optimizer.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(trainer_state[key]))


def test_the_model_optimizer_and_batch_size_are_used(digits):
    X, _, y, _ = digits
    momentum = optim.SGD(lr=0.5, momentum=0.9)
    plain = lr_find(LogisticRegression(batch_size=32), X, y, num_steps=40, random_state=0)
    heavy = lr_find(LogisticRegression(optimizer=momentum, batch_size=32), X, y, num_steps=40,
                    random_state=0)
    assert not np.array_equal(plain.losses, heavy.losses)
    whole = lr_find(LogisticRegression(batch_size=32), X, y, num_steps=40, batch_size=None,
                    random_state=0)
    again = lr_find(LogisticRegression(batch_size=32), X, y, num_steps=40, batch_size=None,
                    random_state=1)
    np.testing.assert_array_equal(whole.losses, again.losses)   # full batches: no shuffling


def test_plot_lr_find_marks_the_suggestion():
    from matplotlib.axes import Axes

    X, y = regression()
    result = lr_find(LinearRegression(batch_size=16), X, y, random_state=0)
    ax = plot_lr_find(result)
    assert isinstance(ax, Axes) and ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["loss", "smoothed loss"]
    raw, smooth = ax.get_lines()[:2]
    assert raw.get_alpha() < 1 and smooth.get_linewidth() > raw.get_linewidth()
    dot = ax.get_lines()[2]
    assert dot.get_xdata()[0] == result.suggestion and result.rule in dot.get_label()
    assert any(f"lr = {result.suggestion:.3g}" == text.get_text() for text in ax.texts)
    assert "blew up" in ax.get_title()
    # into axes of one's own
    from matplotlib.figure import Figure

    own = Figure().add_subplot()
    assert plot_lr_find(result, ax=own) is own


def test_bad_arguments_say_what_is_wrong():
    X, y = regression()
    with pytest.raises(ParameterError, match="must be a steepest estimator"):
        lr_find(object(), X, y)
    with pytest.raises(ParameterError, match="optimizer='lbfgs' has none"):
        lr_find(LinearRegression(optimizer="lbfgs"), X, y)
    with pytest.raises(ParameterError, match="needs end_lr > start_lr"):
        lr_find(LinearRegression(), X, y, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ParameterError, match="'num_steps' parameter of lr_find"):
        lr_find(LinearRegression(), X, y, num_steps=5)
    with pytest.raises(ParameterError, match="'smooth' parameter of lr_find"):
        lr_find(LinearRegression(), X, y, smooth=1.0)
    with pytest.raises(ParameterError, match="'diverge_factor' parameter of lr_find"):
        lr_find(LinearRegression(), X, y, diverge_factor=1.0)
    with pytest.raises(ParameterError, match="'batch_size' parameter of lr_find"):
        lr_find(LinearRegression(), X, y, batch_size=0)
    with pytest.raises(ParameterError, match="'lr' parameter of LinearRegression"):
        lr_find(LinearRegression(lr=-1.0), X, y)               # the model's own checks
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr_find(LinearRegression(), X, y, num_steps=10)        # and no stray warnings
