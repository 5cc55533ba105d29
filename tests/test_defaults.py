"""The estimators' defaults on scikit-learn's five small bundled data sets.

Each default estimator (with ``scale=True``) must reach, on a held-out 25% (stratified
for the classifiers), at least scikit-learn's ``LogisticRegression`` / ``Ridge`` in a
``StandardScaler`` pipeline, fitted in the same run, minus 0.02 accuracy or 0.05 R².
The only settings given are ``scale=True`` and a seed: these are the defaults a user
gets.
"""

from __future__ import annotations

import warnings

import pytest
from sklearn import datasets
from sklearn.linear_model import LogisticRegression as ScikitLogisticRegression
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from steepest import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor

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
