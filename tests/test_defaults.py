"""The estimators' and the command line's defaults on scikit-learn's five small bundled
data sets.

Each default estimator (with ``scale=True``), and ``steepest train`` with nothing but
``--target`` then ``steepest predict``, must reach, on a held-out 25% (stratified for
the classifiers), at least scikit-learn's ``LogisticRegression`` / ``Ridge`` in a
``StandardScaler`` pipeline, fitted in the same run, minus 0.02 accuracy or 0.05 R².
The only settings given are ``scale=True`` and a seed (the command line: none): these
are the defaults a user gets.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.linear_model import LogisticRegression as ScikitLogisticRegression
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from steepest import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor
from steepest.cli import app

CLASSIFICATION = ("iris", "wine", "breast_cancer", "digits")
MARGIN = {"classification": 0.02, "regression": 0.05}


@pytest.fixture(autouse=True)
def one_blas_thread():
    """One BLAS thread: on a machine shared by many processes, threaded BLAS on these
    small matrices spends its time waiting (30× slower here); the numbers are the same."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def split(name: str):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    stratify = y if name in CLASSIFICATION else None
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=stratify)


def reference(name: str, X_train, X_test, y_train, y_test) -> float:
    model = ScikitLogisticRegression(max_iter=1000) if name in CLASSIFICATION else Ridge()
    return make_pipeline(StandardScaler(), model).fit(X_train, y_train).score(X_test, y_test)


@pytest.mark.parametrize("name", CLASSIFICATION + ("diabetes",))
def test_the_defaults_reach_scikit_learns_linear_models_on_its_small_data_sets(name):
    X_train, X_test, y_train, y_test = data = split(name)
    target = reference(name, *data)
    if name in CLASSIFICATION:
        models, margin = (LogisticRegression, MLPClassifier), MARGIN["classification"]
    else:
        models, margin = (LinearRegression, MLPRegressor), MARGIN["regression"]
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # the defaults run without a warning
        for cls in models:
            model = cls(scale=True, random_state=0).fit(X_train, y_train)
            scores[cls.__name__] = model.score(X_test, y_test)
    assert all(score >= target - margin for score in scores.values()), (target, scores)


def write_csv(path, X, y=None):
    """A table as a user would have it: a header, one row per sample (full precision)."""
    columns = [f"x{j}" for j in range(X.shape[1])]
    table = X if y is None else np.column_stack([X, y])
    np.savetxt(path, table, fmt="%.17g", delimiter=",", comments="",
               header=",".join(columns + ([] if y is None else ["y"])))
    return str(path)


@pytest.mark.parametrize("name", CLASSIFICATION + ("diabetes",))
def test_the_command_lines_default_run_reaches_scikit_learns_linear_models(name, tmp_path):
    X_train, X_test, y_train, y_test = data = split(name)
    target = reference(name, *data)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", write_csv(tmp_path / "train.csv", X_train, y_train),
                                  "--target", "y", "--out", str(tmp_path / "run")])
    assert trained.exit_code == 0, trained.output
    assert "Warning" not in trained.stderr                # the defaults run without a warning
    assert f"refit on all {len(X_train)} rows" in trained.stdout
    predicted = runner.invoke(app, ["predict", str(tmp_path / "run" / "model.safetensors"),
                                    write_csv(tmp_path / "test.csv", X_test),
                                    "--out", str(tmp_path / "predictions.csv")])
    assert predicted.exit_code == 0, predicted.output
    predictions = np.genfromtxt(tmp_path / "predictions.csv", delimiter=",", names=True)
    if name in CLASSIFICATION:
        score, margin = accuracy_score(y_test, predictions["prediction"]), MARGIN["classification"]
    else:
        score, margin = r2_score(y_test, predictions["prediction"]), MARGIN["regression"]
    assert score >= target - margin, (target, score)
