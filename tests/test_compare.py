"""compare(): the same split and seed for every model, timing to a target, figures, report."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from steepest import LinearRegression, MLPClassifier
from steepest.compare import (
    ComparisonResult,
    compare,
    comparison_table,
    default_target,
    plot_comparison,
    time_to_target,
    write_comparison_report,
)
from steepest.errors import ParameterError


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=240, n_features=5, noise=5.0, random_state=1)
    return X, y / 50


def linear_models():
    return {
        "sgd": LinearRegression(optimizer="sgd", lr=0.05, epochs=40, tol=None),
        "adam": LinearRegression(optimizer="adam", lr=0.05, epochs=40, tol=None),
        "sgd, mini-batch": LinearRegression(optimizer="sgd", lr=0.02, batch_size=16,
                                            epochs=15, tol=None),
    }


@pytest.fixture(scope="module")
def result(regression):
    return compare(linear_models(), *regression)


def without_time(history):
    return {key: values for key, values in history.items() if key != "time"}


# -- the runs ---------------------------------------------------------------------------


def test_every_run_is_fitted_on_the_same_split(result, regression):
    X, _ = regression
    assert list(result.runs) == ["sgd", "adam", "sgd, mini-batch"]
    assert (result.n_train, result.n_val) == (192, 48)
    for run in result:
        assert run.epochs == len(run.history["loss"]) > 0
        assert run.final_loss == run.history["loss"][-1]
        assert run.val_score is not None and math.isfinite(run.val_score)
        assert run.fit_time > 0 and run.error is None
        assert run.estimator.n_features_in_ == X.shape[1]
    assert result["sgd, mini-batch"].epochs == 15


def test_same_seed_gives_the_same_results(result, regression):
    again = compare(linear_models(), *regression)
    for run, other in zip(result, again, strict=True):
        assert without_time(run.history) == without_time(other.history)
        assert (run.final_loss, run.val_score, run.target_epoch) == \
            (other.final_loss, other.val_score, other.target_epoch)
    assert again.target_loss == result.target_loss


def test_the_seed_reaches_every_model_and_the_originals_stay_unfitted():
    X, y = make_classification(n_samples=200, n_features=6, random_state=3)
    models = {"a": MLPClassifier((6,), optimizer="adam", lr=0.01, epochs=5, batch_size=32),
              "b": MLPClassifier((6,), optimizer="adam", lr=0.01, epochs=5, batch_size=32,
                                 random_state=99)}
    result = compare(models, X, y, random_state=7)
    assert [run.estimator.random_state for run in result] == [7, 7]
    # same parameters and seed: identical runs
    assert without_time(result["a"].history) == without_time(result["b"].history)
    assert not hasattr(models["a"], "history_") and models["b"].random_state == 99
    own = compare(models, X, y, random_state=None)
    assert own["b"].estimator.random_state == 99


def test_a_validation_set_of_your_own(regression):
    X, y = regression
    result = compare({"adam": LinearRegression(optimizer="adam", lr=0.05, epochs=5)},
                     X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    assert (result.n_train, result.n_val) == (200, 40)
    run = result["adam"]
    assert run.val_score == pytest.approx(run.estimator.score(X[200:], y[200:]))
    none = compare({"adam": LinearRegression(optimizer="adam", lr=0.05, epochs=5)}, X, y,
                   validation_fraction=None)
    assert none.n_val == 0 and none["adam"].val_score is None


# -- the target -------------------------------------------------------------------------


def test_default_target_is_the_best_final_loss_plus_ten_percent(result):
    best = min(run.final_loss for run in result)
    assert not result.target_given
    assert result.target_loss == pytest.approx(1.1 * best)
    assert result[result.best].val_score == max(run.val_score for run in result)
    for run in result:  # a run reaches it exactly when its loss history says so
        below = [i for i, v in enumerate(run.history["loss"]) if v <= result.target_loss]
        assert run.target_epoch == (below[0] + 1 if below else None)
        if below:
            assert run.time_to_target == run.history["time"][below[0]]
    best_run = min(result, key=lambda run: run.final_loss)
    assert best_run.reached_target


@pytest.mark.parametrize(("losses", "target", "expected"), [
    ([4.0, 2.0, 1.0, 0.5], 1.0, (3, 0.3)),        # equal to the target counts
    ([4.0, 2.0, 1.0, 0.5], 1.5, (3, 0.3)),
    ([4.0, 2.0, 1.0, 0.5], 4.0, (1, 0.1)),
    ([4.0, 2.0, 1.0, 0.5], 0.4, (None, None)),     # never reached
    ([4.0, math.nan, 0.9, 2.0], 1.0, (3, 0.3)),    # NaN never counts; later rises don't undo
    ([], 1.0, (None, None)),
])
def test_time_to_target_on_synthetic_histories(losses, target, expected):
    times = [0.1, 0.2, 0.3, 0.4][: len(losses)]
    epoch, seconds = time_to_target({"loss": losses, "time": times}, target)
    assert epoch == expected[0]
    assert seconds == pytest.approx(expected[1]) if expected[1] is not None else seconds is None


def test_time_to_target_without_times():
    assert time_to_target({"loss": [3.0, 1.0]}, 2.0) == (2, None)


@pytest.mark.parametrize(("finals", "expected"), [
    ([2.0, 0.5, 1.0], 0.55),
    ([0.0, 1.0], 0.0),
    ([math.nan, math.inf, 3.0], 3.3),
    ([-2.0, 1.0], -1.8),
    ([math.nan], None),
    ([], None),
])
def test_default_target(finals, expected):
    target = default_target(finals)
    assert target == pytest.approx(expected) if expected is not None else target is None


def test_a_given_target(regression):
    result = compare(linear_models(), *regression, target_loss=1e9)
    assert result.target_given and result.target_loss == 1e9
    assert all(run.target_epoch == 1 for run in result)
    result = compare(linear_models(), *regression, target_loss=-1.0)
    assert not any(run.reached_target for run in result) and result.fastest is None


def test_a_run_that_diverges_is_kept_with_its_warnings(regression):
    X, y = regression
    result = compare({"calm": LinearRegression(optimizer="sgd", lr=0.05, epochs=20),
                      "wild": LinearRegression(optimizer="sgd", lr=50.0, epochs=20)}, X, y)
    wild = result["wild"]
    assert wild.warnings and any("diverged" in w for w in wild.warnings)
    rows, columns = comparison_table(result)
    assert columns[-1] == "notes" and rows[1][-1]


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("models", "kwargs", "message"), [
    ({}, {}, "non-empty dict of names to estimators"),
    ({1: LinearRegression()}, {}, "must be a string"),
    ({"x": "adam"}, {}, "scikit-learn compatible estimator"),
    ({"x": LinearRegression()}, {"X_val": np.zeros((2, 5))}, "got X_val but not y_val"),
    ({"x": LinearRegression()}, {"validation_fraction": 1.5},
     "'validation_fraction' parameter of compare"),
    ({"x": LinearRegression()}, {"target_loss": math.inf}, "'target_loss' parameter"),
    ({"x": LinearRegression(lr=-1.0)}, {}, "Run 'x' of compare: The 'lr' parameter"),
])
def test_bad_arguments_say_what_to_do(regression, models, kwargs, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        compare(models, *regression, **kwargs)


# -- figures, table, report -------------------------------------------------------------


def test_plot_has_a_loss_panel_per_axis_and_a_line_per_run(result):
    fig = plot_comparison(result)
    by_epoch, by_time = fig.axes
    assert by_epoch.get_xlabel() == "epoch" and by_time.get_xlabel() == "wall time (s)"
    labels = [line.get_label() for line in by_epoch.get_lines()]
    for run in result:
        assert labels.count(run.name) == 1
    # named after optimizers that tell the runs apart? no ("sgd" twice): palette colours
    colours = {line.get_label(): line.get_color() for line in by_epoch.get_lines()
               if line.get_label() in result.runs}
    assert len(set(colours.values())) == len(result)


def test_table_rows_follow_the_columns(result):
    rows, columns = comparison_table(result)
    assert columns[:7] == ["run", "epochs", "final loss", "validation score",
                           "fit time (s)", "epochs to target", "time to target (s)"]
    assert [row[0] for row in rows] == list(result.runs)
    assert all(len(row) == len(columns) for row in rows)


def test_report_is_self_contained_and_names_every_run(result, tmp_path):
    path = write_comparison_report(result, tmp_path / "out" / "comparison.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Comparison of 3 runs" in page
    for run in result:
        assert f"<td>{run.name}</td>" in page
    assert page.count("<img ") == 1 and "data:image/png;base64," in page
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page)
    assert "What differs between the runs" in page and "batch_size" in page


def test_result_lookup_names_the_runs(result):
    assert isinstance(result, ComparisonResult) and len(result) == 3
    with pytest.raises(KeyError, match="the runs are 'sgd', 'adam'"):
        result["nope"]


class Exploding(LinearRegression):
    """A model whose training blows up beyond the divergence guard's rescue."""

    def fit(self, X, y):
        from steepest.errors import NonFiniteError

        raise NonFiniteError("the loss became inf at epoch 2")


def test_a_run_that_fails_is_kept_and_the_others_go_on(regression, tmp_path):
    result = compare({"fine": LinearRegression(optimizer="adam", lr=0.05, epochs=5),
                      "boom": Exploding()}, *regression)
    boom = result["boom"]
    assert boom.error == "the loss became inf at epoch 2" and boom.history == {}
    assert math.isnan(boom.final_loss) and boom.val_score is None and not boom.reached_target
    assert result.target_loss == pytest.approx(1.1 * result["fine"].final_loss)
    rows, columns = comparison_table(result)
    assert rows[1][columns.index("notes")] == "failed: the loss became inf at epoch 2"
    page = write_comparison_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Failed: the loss became inf at epoch 2" in page


def test_reprs_are_short(result):
    text = repr(result)
    assert text.startswith("ComparisonResult(3 runs: 'sgd', 'adam', 'sgd, mini-batch'")
    assert repr(result["adam"]).startswith("Run('adam', epochs=40, final_loss=")
