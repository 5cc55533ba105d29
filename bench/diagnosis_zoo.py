"""A labelled zoo of training runs, to measure :func:`steepest.diagnose.diagnose`.

Every run trains one of steepest's estimators on data nobody in the project wrote
(scikit-learn's bundled sets and ``make_*`` generators) with a setting chosen to
show one known cause (or none: the healthy controls). For each run the script
asks ``diagnose`` what went wrong and scores:

- **top-1**: the first finding's code is the run's cause (broken runs);
- **false alarms**: a healthy run got a problem or a warning;
- **advice**: the top finding's structured suggestion (``Finding.suggest``; for a
  ``Finding`` without one, the first ``name=value`` of its advice text that names
  a parameter of the estimator) is applied literally with ``set_params``, the
  run is repeated, and it counts as improved when the held-out score rose by more
  than ``IMPROVED``, scores below -1 counted as -1 (broken runs whose top finding
  is a problem or a warning).

Each data set is split 60/20/20 (stratified for classes): the model trains on the
first part, the second is its ``validation_data`` (the ``val_loss`` curve the
rules read), the third scores it (accuracy, or R²). The data sets are split in
four groups: ``tuning`` (iris, breast_cancer, diabetes, make_classification,
make_regression), on which the thresholds were set; ``held_out`` (wine, digits,
make_moons, make_friedman1, make_blobs), kept apart to check them (and looked at
since); ``fresh`` (see ``FRESH``) and ``fresh2`` (see ``FRESH2``), added later and
measured blind (``--figures``) before the rules they test were changed.

::

    PYTHONPATH=. .venv/bin/python bench/diagnosis_zoo.py            # every run, a minute
    PYTHONPATH=. .venv/bin/python bench/diagnosis_zoo.py --only lr   # runs whose name has 'lr'
    PYTHONPATH=. .venv/bin/python bench/diagnosis_zoo.py --verbose   # every finding
    PYTHONPATH=. .venv/bin/python bench/diagnosis_zoo.py --group fresh2 --figures  # blind
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import re
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small matrices: threads only contend

import numpy as np  # noqa: E402
from sklearn import datasets
from sklearn.base import clone
from sklearn.model_selection import train_test_split

import steepest
from steepest import optim
from steepest.diagnose import diagnose

IMPROVED = 0.01
"""The held-out score must rise by more than this for the advice to count as improving it,
both scores clipped at ``WORST``."""

WORST = -1.0
"""Scores below this count as this: an R² under -1 is as bad as any (one of -6.7e6 that
becomes -6.6e6 is no fix)."""

NEW_CODES = ("learned_nothing", "loss_too_high", "bad_initialization", "dead_units",
             "class_imbalance", "unscaled_target")
"""The causes issue 10 added rules for (main's diagnosis had none)."""

TUNING = ("iris", "breast_cancer", "diabetes", "classification", "regression")
HELD_OUT = ("wine", "digits", "moons", "friedman", "blobs", "friedman_units")
FRESH = ("circles", "quantiles", "hastie", "sparse", "friedman2", "friedman3", "linnerud",
         "circles_imbalanced", "quantiles_unscaled")
"""The fresh group: data sets added after the rules of the first two groups were set, its
runs built (and their figures recorded) before any rule changed again, and its per-run
output not read while the rules were tuned (only its figures)."""
FRESH2 = ("s_curve", "lowrank", "clusters", "clusters_units", "clusters_imbalanced")
"""A second fresh group, built and measured after the first fresh group's per-run output
had been read (and two fixes it prompted were pending): blind for those fixes."""
GROUPS = ("tuning", "held_out", "fresh", "fresh2")


# -- data --------------------------------------------------------------------------------


def _standardised(X: np.ndarray) -> np.ndarray:
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def load(name: str, *, raw: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(X, y, is_classification)``; X standardised unless ``raw``."""
    if name == "diabetes" and raw:  # the original units (the bundled X is pre-scaled)
        bunch = datasets.load_diabetes(scaled=False)
        X, y = bunch.data.astype(float), bunch.target
        classes = False
    elif name in ("iris", "wine", "breast_cancer", "digits", "diabetes"):
        bunch = getattr(datasets, f"load_{name}")()
        X, y = bunch.data.astype(float), bunch.target
        classes = name != "diabetes"
    elif name == "classification":
        X, y = datasets.make_classification(400, 10, n_informative=5, n_classes=3,
                                            random_state=0)
        classes = True
    elif name == "imbalanced":
        X, y = datasets.make_classification(600, 8, n_informative=3, weights=[0.9],
                                            flip_y=0.02, class_sep=0.5, random_state=1)
        classes = True
    elif name == "regression":
        X, y = datasets.make_regression(400, 10, n_informative=6, noise=10.0, random_state=0)
        classes = False
    elif name == "moons":
        X, y = datasets.make_moons(400, noise=0.2, random_state=0)
        classes = True
    elif name in ("friedman", "friedman_units"):
        X, y = datasets.make_friedman1(400, 10, noise=1.0, random_state=0)
        if name == "friedman_units":  # the same columns in units 1e-2 to 1e3 apart
            X = X * np.logspace(-2, 3, 10)
        classes = False
    elif name == "blobs":
        X, y = datasets.make_blobs(400, 6, centers=4, cluster_std=3.0, random_state=0)
        classes = True
    elif name == "circles":
        X, y = datasets.make_circles(400, noise=0.1, factor=0.5, random_state=0)
        classes = True
    elif name == "circles_imbalanced":  # every outer-circle row, an eighth of the inner ones
        X, y = datasets.make_circles(800, noise=0.1, factor=0.5, random_state=1)
        keep = (y == 0) | (np.arange(y.size) % 8 == 0)
        X, y = X[keep], y[keep]
        classes = True
    elif name in ("quantiles", "quantiles_unscaled"):
        X, y = datasets.make_gaussian_quantiles(n_samples=450, n_features=4, n_classes=3,
                                                random_state=0)
        if name == "quantiles_unscaled":  # the same columns in units 1e-2 to 1e3 apart
            X = X * np.array([1e-2, 1.0, 1e2, 1e3])
        classes = True
    elif name == "hastie":
        X, y = datasets.make_hastie_10_2(600, random_state=0)
        classes = True
    elif name == "sparse":
        X, y = datasets.make_sparse_uncorrelated(400, 10, random_state=0)
        classes = False
    elif name == "friedman2":
        X, y = datasets.make_friedman2(400, noise=10.0, random_state=0)
        classes = False
    elif name == "friedman3":
        X, y = datasets.make_friedman3(400, noise=0.05, random_state=0)
        classes = False
    elif name == "linnerud":
        bunch = datasets.load_linnerud()
        X, y = bunch.data.astype(float), bunch.target.astype(float)
        classes = False
    elif name == "s_curve":  # the position along the curve from the 3-D points
        X, y = datasets.make_s_curve(400, noise=0.1, random_state=0)
        classes = False
    elif name == "lowrank":  # inputs of effective rank 4: ill-conditioned, then scaled
        X, y = datasets.make_regression(400, 20, n_informative=10, effective_rank=4,
                                        noise=1.0, random_state=0)
        classes = False
    elif name in ("clusters", "clusters_units", "clusters_imbalanced"):
        weights = [0.88] if name == "clusters_imbalanced" else None
        X, y = datasets.make_classification(500, 12, n_informative=6, n_redundant=2,
                                            n_clusters_per_class=3,
                                            n_classes=2 if weights else 4, weights=weights,
                                            class_sep=1.5, random_state=2)
        if name == "clusters_units":  # the same columns in units 1e-2 to 1e3 apart
            X = X * np.logspace(-2, 3, 12)
        classes = True
    elif name == "small_classification":  # few rows, many features: easy to overfit
        X, y = datasets.make_classification(150, 40, n_informative=5, flip_y=0.1,
                                            random_state=0)
        classes = True
    else:
        raise ValueError(name)
    X = X.astype(float)
    if not classes:
        y = y.astype(float)
    return (X if raw else _standardised(X)), y, classes


def split(X, y, classes: bool, seed: int = 0):
    stratify = y if classes else None
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.4, random_state=seed,
                                                        stratify=stratify)
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=seed,
        stratify=y_rest if classes else None)
    return X_train, y_train, X_val, y_val, X_test, y_test


# -- the runs ----------------------------------------------------------------------------


class _BigStartMLPRegressor(steepest.MLPRegressor):
    """An MLPRegressor whose initial weights are ``init_gain`` times the usual (a bad start)."""

    def __init__(self, hidden_layer_sizes=(100,), *, init_gain=30.0, **kwargs):
        super().__init__(hidden_layer_sizes, **kwargs)
        self.init_gain = init_gain

    def _build_network(self, n_outputs):
        network = super()._build_network(n_outputs)
        network.theta *= self.init_gain
        return network


class _DeadStartMLPClassifier(steepest.MLPClassifier):
    """An MLPClassifier whose hidden biases start at ``bias_start`` (most ReLUs off)."""

    def __init__(self, hidden_layer_sizes=(100,), *, bias_start=-3.0, **kwargs):
        super().__init__(hidden_layer_sizes, **kwargs)
        self.bias_start = bias_start

    def _build_network(self, n_outputs):
        network = super()._build_network(n_outputs)
        for layer in network.layers[:-1]:
            if hasattr(layer, "b") and getattr(layer, "W", None) is not None:
                layer.b[...] = self.bias_start
        return network


# these two need their own __init__ signature for scikit-learn's clone
def _init_signature(cls, extra: str, default: float) -> None:
    base = inspect.signature(steepest.MLPRegressor.__init__)
    params = list(base.parameters.values())
    params.append(inspect.Parameter(extra, inspect.Parameter.KEYWORD_ONLY, default=default))
    cls.__init__.__signature__ = inspect.Signature(params)


_init_signature(_BigStartMLPRegressor, "init_gain", 30.0)
_init_signature(_DeadStartMLPClassifier, "bias_start", -3.0)


@dataclass
class Run:
    """One labelled run: ``make()`` gives the unfitted estimator."""

    name: str
    cause: str
    data: str
    make: Callable[[], object]
    raw: bool = False              # train on the unstandardised inputs
    y_scale: float = 1.0           # multiply the regression target (an unscaled target)
    y_shift: float = 0.0
    rows: int | None = None        # train on the first rows only

    @property
    def group(self) -> str:
        if self.data in FRESH2:
            return "fresh2"
        return "fresh" if self.data in FRESH else "held_out" if self.data in HELD_OUT \
            else "tuning"


LR, LOG = steepest.LinearRegression, steepest.LogisticRegression
MLPC, MLPR = steepest.MLPClassifier, steepest.MLPRegressor
S = dict(random_state=0, tol=None)


def runs() -> list[Run]:
    return [
        # -- healthy controls ------------------------------------------------------------
        Run("healthy_log_iris_sgd_full", "healthy", "iris",
            lambda: LOG(lr=0.5, epochs=200, **S)),
        Run("healthy_log_cancer_adam_32", "healthy", "breast_cancer",
            lambda: LOG(optimizer="adam", lr=0.01, batch_size=32, epochs=40, **S)),
        Run("healthy_mlp_iris_adam_32", "healthy", "iris",
            lambda: MLPC((32,), lr=0.01, batch_size=32, epochs=100, **S)),
        Run("healthy_lin_diabetes_sgd_full", "healthy", "diabetes",
            lambda: LR(lr=0.1, epochs=300, **S), y_scale=1 / 77.0, y_shift=-152 / 77.0),
        Run("healthy_mlpr_regression_adam_32", "healthy", "regression",
            lambda: MLPR((32,), lr=0.01, batch_size=32, epochs=100, **S), y_scale=0.01),
        Run("healthy_log_classification_momentum", "healthy", "classification",
            lambda: LOG(optimizer=optim.SGD(lr=0.1, momentum=0.9), epochs=100, **S)),
        Run("healthy_log_wine_sgd_full", "healthy", "wine",
            lambda: LOG(lr=0.5, epochs=200, **S)),
        Run("healthy_mlp_digits_adam_32", "healthy", "digits",
            lambda: MLPC((64,), lr=3e-3, batch_size=32, epochs=20, **S)),
        Run("healthy_mlp_moons_adam_32", "healthy", "moons",
            lambda: MLPC((32, 32), lr=0.01, batch_size=32, epochs=100, **S)),
        Run("healthy_lin_friedman_sgd_32", "healthy", "friedman",
            lambda: LR(lr=0.01, batch_size=32, epochs=60, **S), y_scale=0.2),
        Run("healthy_mlpr_friedman_rmsprop_32", "healthy", "friedman",
            lambda: MLPR((32,), optimizer="rmsprop", lr=3e-3, batch_size=32, epochs=100, **S),
            y_scale=0.2),
        Run("healthy_log_blobs_sgd_1", "healthy", "blobs",
            lambda: LOG(lr=0.01, batch_size=1, epochs=15, **S)),
        # raw pixels 0-16 share one unit: the former unscaled_log_digits_sgd_32, which
        # scaling did not improve (0.958 -> 0.961)
        Run("healthy_log_digits_raw_sgd_32", "healthy", "digits",
            lambda: LOG(lr=0.01, batch_size=32, epochs=10, **S), raw=True),
        # -- the rate too high: the loss rises or jumps -----------------------------------
        Run("lr_high_log_iris_momentum", "lr_too_high", "iris",
            lambda: LOG(optimizer=optim.SGD(lr=0.5, momentum=0.99), epochs=80, **S)),
        Run("lr_high_mlp_wine_adam_full", "lr_too_high", "wine",
            lambda: MLPC((32,), lr=1.0, batch_size=None, epochs=60, **S)),
        Run("lr_high_mlp_moons_sgd_1", "lr_too_high", "moons",
            lambda: MLPC((32,), optimizer="sgd", lr=1.0, batch_size=1, epochs=20, **S)),
        # -- far above what the data allow, bouncing --------------------------------------
        Run("loss_high_log_cancer_sgd_1", "loss_too_high", "breast_cancer",
            lambda: LOG(lr=30.0, batch_size=1, epochs=20, **S)),
        Run("loss_high_log_classification_sgd_full", "loss_too_high", "classification",
            lambda: LOG(lr=100.0, epochs=40, **S)),
        Run("loss_high_mlp_digits_adam_32", "loss_too_high", "digits",
            lambda: MLPC((64,), lr=2.0, batch_size=32, epochs=15, **S)),
        Run("loss_high_log_classification_sgd_1", "loss_too_high", "classification",
            lambda: LOG(lr=30.0, batch_size=1, epochs=20, **S)),
        # -- the rate too low ---------------------------------------------------------------
        Run("lr_low_log_iris_sgd_full", "lr_too_low", "iris",
            lambda: LOG(lr=1e-3, epochs=100, **S)),
        Run("lr_low_lin_regression_sgd_full", "lr_too_low", "regression",
            lambda: LR(lr=1e-4, epochs=100, **S), y_scale=0.01),
        Run("lr_low_mlpr_friedman_sgd_32", "lr_too_low", "friedman",
            lambda: MLPR((32,), optimizer="sgd", lr=1e-4, batch_size=32, epochs=60, **S),
            y_scale=0.2),
        Run("lr_low_log_wine_sgd_full", "lr_too_low", "wine",
            lambda: LOG(lr=1e-3, epochs=100, **S)),
        # -- diverged -------------------------------------------------------------------------
        Run("diverged_lin_diabetes_sgd_full", "diverged", "diabetes",
            lambda: LR(lr=1.5, epochs=50, **S), y_scale=1 / 77.0, y_shift=-152 / 77.0),
        Run("diverged_mlpr_regression_sgd_32", "diverged", "regression",
            lambda: MLPR((32,), optimizer="sgd", lr=0.5, batch_size=32, epochs=30, **S),
            y_scale=0.01),
        Run("diverged_lin_friedman_sgd_1", "diverged", "friedman",
            lambda: LR(lr=0.5, batch_size=1, epochs=10, **S), y_scale=0.2),
        Run("diverged_log_obj_digits_momentum", "diverged", "digits",
            lambda: LOG(optimizer=optim.SGD(lr=20.0, momentum=0.9), batch_size=32, epochs=20,
                        **S)),
        # -- oscillating ------------------------------------------------------------------------
        Run("oscillating_lin_diabetes_momentum", "oscillating", "diabetes",
            lambda: LR(optimizer=optim.SGD(lr=0.02, momentum=0.99), epochs=80, **S),
            y_scale=1 / 77.0, y_shift=-152 / 77.0),
        Run("oscillating_log_cancer_sgd_1", "oscillating", "breast_cancer",
            lambda: LOG(lr=3.0, batch_size=1, epochs=20, **S)),
        Run("oscillating_lin_friedman_momentum", "oscillating", "friedman",
            lambda: LR(optimizer=optim.SGD(lr=0.02, momentum=0.99), epochs=80, **S),
            y_scale=0.2),
        # -- plateau ------------------------------------------------------------------------------
        Run("plateau_mlp_classification_sigmoid_sgd", "plateau", "classification",
            lambda: MLPC((16, 16, 16), activation="sigmoid", optimizer="sgd", lr=0.05,
                         batch_size=None, epochs=150, **S)),
        Run("plateau_mlp_moons_tanh_sgd", "plateau", "moons",
            lambda: MLPC((8, 8, 8, 8), activation="sigmoid", optimizer="sgd", lr=0.1,
                         batch_size=None, epochs=150, **S)),
        # -- vanishing gradients ------------------------------------------------------------------
        Run("vanishing_mlp_iris_sigmoid6", "vanishing_gradients", "iris",
            lambda: MLPC((16,) * 6, activation="sigmoid", optimizer="sgd", lr=0.1,
                         batch_size=32, epochs=40, **S)),
        Run("vanishing_mlp_digits_sigmoid6", "vanishing_gradients", "digits",
            lambda: MLPC((32,) * 6, activation="sigmoid", optimizer="sgd", lr=0.1,
                         batch_size=32, epochs=10, **S)),
        Run("vanishing_mlpr_diabetes_sigmoid5", "vanishing_gradients", "diabetes",
            lambda: MLPR((16,) * 5, activation="sigmoid", optimizer="sgd", lr=0.05,
                         batch_size=32, epochs=40, **S), y_scale=1 / 77.0,
            y_shift=-152 / 77.0),
        # -- exploding gradients ----------------------------------------------------------------
        Run("exploding_mlpr_regression_sgd_32", "exploding_gradients", "regression",
            lambda: MLPR((64, 64), optimizer="sgd", lr=2e-3, batch_size=32, epochs=20, **S)),
        Run("exploding_mlpr_friedman_sgd_32", "exploding_gradients", "friedman",
            lambda: MLPR((64, 64, 64), optimizer="sgd", lr=0.02, batch_size=32, epochs=20,
                         **S), y_scale=5.0),
        # -- overfitting -----------------------------------------------------------------------
        Run("overfit_mlp_small_adam_32", "overfitting", "small_classification",
            lambda: MLPC((256, 256), lr=0.01, batch_size=32, epochs=80, alpha=0.0, **S)),
        Run("overfit_mlp_digits_adam_32", "overfitting", "digits",
            lambda: MLPC((256, 256), lr=0.01, batch_size=32, epochs=60, alpha=0.0, **S),
            rows=150),
        Run("overfit_mlpr_diabetes_adam_16", "overfitting", "diabetes",
            lambda: MLPR((256, 256), lr=0.01, batch_size=16, epochs=200, alpha=0.0, **S),
            y_scale=1 / 77.0, y_shift=-152 / 77.0, rows=60),
        Run("overfit_mlp_digits_es_on", "overfitting", "digits",
            lambda: MLPC((256, 256), lr=3e-3, batch_size=16, epochs=60, alpha=0.0,
                         early_stopping=True, patience=60, **S), rows=100),
        # -- unscaled inputs -------------------------------------------------------------------
        Run("unscaled_log_cancer_sgd_full", "unscaled_inputs", "breast_cancer",
            lambda: LOG(lr=1e-6, epochs=100, **S), raw=True),
        Run("unscaled_lin_diabetes_raw_y", "unscaled_inputs", "diabetes",
            lambda: LR(lr=1e-5, epochs=100, **S), raw=True, y_scale=1 / 77.0,
            y_shift=-152 / 77.0),
        Run("unscaled_mlp_wine_adam_32", "unscaled_inputs", "wine",
            lambda: MLPC((32,), lr=1e-3, batch_size=32, epochs=40, **S), raw=True),
        Run("unscaled_mlpr_friedman_units_adam_32", "unscaled_inputs", "friedman_units",
            lambda: MLPR((32,), lr=1e-3, batch_size=32, epochs=40, **S), raw=True,
            y_scale=0.2),
        # -- learned nothing: at the trivial model's level -------------------------------------
        Run("nothing_mlp_iris_sgd_few", "learned_nothing", "iris",
            lambda: MLPC((16,), optimizer="sgd", lr=0.01, batch_size=None, epochs=8, **S)),
        Run("nothing_mlpr_diabetes_adam_few", "learned_nothing", "diabetes",
            lambda: MLPR((16,), lr=1e-3, batch_size=200, epochs=6, **S), y_scale=1 / 77.0,
            y_shift=-152 / 77.0),
        Run("nothing_mlp_blobs_sgd_few", "learned_nothing", "blobs",
            lambda: MLPC((16,), optimizer="sgd", lr=3e-3, batch_size=None, epochs=10, **S)),
        # -- a bad start: huge first loss / gradient, then calm ---------------------------------
        Run("bad_init_mlpr_regression", "bad_initialization", "regression",
            lambda: _BigStartMLPRegressor((32,), init_gain=30.0, lr=1e-3, batch_size=32,
                                          epochs=30, **S), y_scale=0.01),
        Run("bad_init_mlpr_friedman", "bad_initialization", "friedman",
            lambda: _BigStartMLPRegressor((32,), init_gain=30.0, lr=1e-3, batch_size=32,
                                          epochs=30, **S), y_scale=0.2),
        # -- dead ReLUs ------------------------------------------------------------------------
        Run("dead_mlp_cancer_bias", "dead_units", "breast_cancer",
            lambda: _DeadStartMLPClassifier((32,), bias_start=-10.0, lr=1e-3, batch_size=32,
                                            epochs=30, **S)),
        Run("dead_mlp_digits_bias", "dead_units", "digits",
            lambda: _DeadStartMLPClassifier((64,), bias_start=-10.0, lr=1e-3, batch_size=32,
                                            epochs=10, **S)),
        # -- class imbalance: the majority class only -------------------------------------------
        Run("imbalance_log_sgd_full", "class_imbalance", "imbalanced",
            lambda: LOG(lr=0.1, epochs=30, alpha=1.0, **S)),
        Run("imbalance_mlp_adam_32", "class_imbalance", "imbalanced",
            lambda: MLPC((8,), lr=1e-2, batch_size=64, epochs=60, alpha=1.0, **S)),
        # -- an unscaled target ----------------------------------------------------------------
        Run("unscaled_y_lin_diabetes", "unscaled_target", "diabetes",
            lambda: LR(lr=0.01, epochs=60, **S)),
        Run("unscaled_y_mlpr_friedman", "unscaled_target", "friedman",
            lambda: MLPR((32,), lr=1e-3, batch_size=32, epochs=40, **S), y_scale=100.0,
            y_shift=1000.0),
        Run("unscaled_y_mlpr_regression", "unscaled_target", "regression",
            lambda: MLPR((32,), lr=1e-3, batch_size=32, epochs=40, **S), y_shift=500.0),
        *fresh_runs(),
        *fresh2_runs(),
    ]


def fresh2_runs() -> list[Run]:
    """The second fresh group (see ``FRESH2``), built with the recipes of the others."""
    return [
        Run("healthy_mlpr_s_curve_adam_32", "healthy", "s_curve",
            lambda: MLPR((32,), lr=0.01, batch_size=32, epochs=100, **S), y_scale=1 / 2.7),
        Run("healthy_lin_lowrank_sgd_full", "healthy", "lowrank",
            lambda: LR(lr=0.1, epochs=200, **S), y_scale=1 / 4.4),
        Run("healthy_mlp_clusters_adam_32", "healthy", "clusters",
            lambda: MLPC((64,), lr=3e-3, batch_size=32, epochs=60, **S)),
        Run("healthy_log_clusters_sgd_32", "healthy", "clusters",
            lambda: LOG(lr=0.05, batch_size=32, epochs=60, **S)),
        Run("lr_low_lin_lowrank_sgd_full", "lr_too_low", "lowrank",
            lambda: LR(lr=1e-4, epochs=100, **S), y_scale=1 / 4.4),
        Run("lr_low_mlp_clusters_sgd_32", "lr_too_low", "clusters",
            lambda: MLPC((32,), optimizer="sgd", lr=1e-4, batch_size=32, epochs=40, **S)),
        Run("diverged_lin_s_curve_sgd_full", "diverged", "s_curve",
            lambda: LR(lr=3.0, epochs=40, **S), y_scale=1 / 2.7),
        Run("oscillating_lin_lowrank_momentum", "oscillating", "lowrank",
            lambda: LR(optimizer=optim.SGD(lr=0.05, momentum=0.99), epochs=80, **S),
            y_scale=1 / 4.4),
        Run("loss_high_mlp_clusters_adam_32", "loss_too_high", "clusters",
            lambda: MLPC((64,), lr=2.0, batch_size=32, epochs=15, **S)),
        Run("nothing_mlp_clusters_sgd_few", "learned_nothing", "clusters",
            lambda: MLPC((16,), optimizer="sgd", lr=0.01, batch_size=None, epochs=6, **S)),
        Run("vanishing_mlp_clusters_sigmoid6", "vanishing_gradients", "clusters",
            lambda: MLPC((16,) * 6, activation="sigmoid", optimizer="sgd", lr=0.1,
                         batch_size=32, epochs=40, **S)),
        Run("plateau_mlp_clusters_sigmoid_sgd", "plateau", "clusters",
            lambda: MLPC((16, 16, 16), activation="sigmoid", optimizer="sgd", lr=0.05,
                         batch_size=None, epochs=150, **S)),
        Run("dead_mlp_clusters_bias", "dead_units", "clusters",
            lambda: _DeadStartMLPClassifier((32,), bias_start=-10.0, lr=1e-3, batch_size=32,
                                            epochs=20, **S)),
        Run("bad_init_mlpr_s_curve", "bad_initialization", "s_curve",
            lambda: _BigStartMLPRegressor((32,), init_gain=30.0, lr=1e-3, batch_size=32,
                                          epochs=30, **S), y_scale=1 / 2.7),
        Run("overfit_mlp_clusters_adam_32", "overfitting", "clusters",
            lambda: MLPC((256, 256), lr=0.01, batch_size=32, epochs=80, alpha=0.0, **S),
            rows=60),
        Run("unscaled_mlp_clusters_units_adam_32", "unscaled_inputs", "clusters_units",
            lambda: MLPC((32,), lr=1e-3, batch_size=32, epochs=40, **S), raw=True),
        Run("unscaled_y_mlpr_s_curve", "unscaled_target", "s_curve",
            lambda: MLPR((32,), lr=1e-3, batch_size=32, epochs=40, **S), y_scale=100.0,
            y_shift=500.0),
        Run("imbalance_mlp_clusters_adam_32", "class_imbalance", "clusters_imbalanced",
            lambda: MLPC((32,), lr=0.01, batch_size=32, epochs=30, alpha=1.0, **S)),
    ]


F2 = dict(y_scale=1 / 406.0, y_shift=-489.0 / 406.0)
"""make_friedman2's target (mean 489, std 406) standardised, for the runs not about it."""


def fresh_runs() -> list[Run]:
    """The fresh group (see ``FRESH``): each run's construction shows its cause."""
    return [
        # -- healthy controls ------------------------------------------------------------
        Run("healthy_mlp_circles_adam_32", "healthy", "circles",
            lambda: MLPC((32,), lr=0.01, batch_size=32, epochs=100, **S)),
        Run("healthy_mlp_quantiles_adam_32", "healthy", "quantiles",
            lambda: MLPC((32,), lr=0.01, batch_size=32, epochs=80, **S)),
        Run("healthy_mlp_hastie_adam_64", "healthy", "hastie",
            lambda: MLPC((64,), lr=3e-3, batch_size=64, epochs=40, **S)),
        Run("healthy_lin_sparse_sgd_full", "healthy", "sparse",
            lambda: LR(lr=0.1, epochs=200, **S)),
        Run("healthy_mlpr_friedman3_adam_32", "healthy", "friedman3",
            lambda: MLPR((32,), lr=3e-3, batch_size=32, epochs=100, **S)),
        Run("healthy_lin_friedman2_momentum", "healthy", "friedman2",
            lambda: LR(optimizer=optim.SGD(lr=0.05, momentum=0.9), epochs=100, **S), **F2),
        # -- the rate too high, diverged, oscillating, far above the data's level ----------
        Run("lr_high_mlp_hastie_adam_16", "lr_too_high", "hastie",
            lambda: MLPC((32,), lr=0.1, batch_size=16, epochs=40, **S)),
        Run("diverged_lin_sparse_sgd_full", "diverged", "sparse",
            lambda: LR(lr=3.0, epochs=40, **S)),
        Run("diverged_mlpr_friedman3_sgd_16", "diverged", "friedman3",
            lambda: MLPR((32,), optimizer="sgd", lr=2.0, batch_size=16, epochs=30, **S)),
        Run("oscillating_lin_friedman3_momentum", "oscillating", "friedman3",
            lambda: LR(optimizer=optim.SGD(lr=0.05, momentum=0.99), epochs=80, **S)),
        Run("loss_high_mlp_hastie_adam_32", "loss_too_high", "hastie",
            lambda: MLPC((64,), lr=2.0, batch_size=32, epochs=15, **S)),
        # -- the rate too low; nothing learned -----------------------------------------------
        Run("lr_low_mlp_hastie_sgd_32", "lr_too_low", "hastie",
            lambda: MLPC((32,), optimizer="sgd", lr=1e-4, batch_size=32, epochs=40, **S)),
        Run("lr_low_lin_sparse_sgd_full", "lr_too_low", "sparse",
            lambda: LR(lr=1e-3, epochs=100, **S)),
        Run("nothing_mlp_quantiles_sgd_few", "learned_nothing", "quantiles",
            lambda: MLPC((16,), optimizer="sgd", lr=0.01, batch_size=None, epochs=6, **S)),
        # -- the network's own troubles -------------------------------------------------------
        Run("vanishing_mlp_circles_sigmoid6", "vanishing_gradients", "circles",
            lambda: MLPC((16,) * 6, activation="sigmoid", optimizer="sgd", lr=0.1,
                         batch_size=32, epochs=40, **S)),
        Run("plateau_mlp_quantiles_sigmoid_sgd", "plateau", "quantiles",
            lambda: MLPC((16, 16, 16), activation="sigmoid", optimizer="sgd", lr=0.05,
                         batch_size=None, epochs=150, **S)),
        Run("exploding_mlpr_sparse_sgd_32", "exploding_gradients", "sparse",
            lambda: MLPR((64,) * 4, optimizer="sgd", lr=0.05, batch_size=32, epochs=20, **S)),
        Run("dead_mlp_hastie_bias", "dead_units", "hastie",
            lambda: _DeadStartMLPClassifier((32,), bias_start=-10.0, lr=1e-3, batch_size=32,
                                            epochs=20, **S)),
        Run("bad_init_mlpr_friedman3", "bad_initialization", "friedman3",
            lambda: _BigStartMLPRegressor((32,), init_gain=30.0, lr=1e-3, batch_size=32,
                                          epochs=30, **S)),
        Run("overfit_mlp_hastie_adam_32", "overfitting", "hastie",
            lambda: MLPC((256, 256), lr=0.01, batch_size=32, epochs=80, alpha=0.0, **S),
            rows=80),
        Run("overfit_mlpr_friedman3_adam_16", "overfitting", "friedman3",
            lambda: MLPR((256, 256), lr=0.01, batch_size=16, epochs=200, alpha=0.0, **S),
            rows=50),
        # -- the data ---------------------------------------------------------------------------
        Run("unscaled_lin_friedman2_raw", "unscaled_inputs", "friedman2",
            lambda: LR(lr=3e-7, epochs=100, **S), raw=True, **F2),
        Run("unscaled_mlp_quantiles_adam_32", "unscaled_inputs", "quantiles_unscaled",
            lambda: MLPC((32,), lr=1e-3, batch_size=32, epochs=40, **S), raw=True),
        Run("unscaled_y_mlpr_friedman2", "unscaled_target", "friedman2",
            lambda: MLPR((32,), lr=1e-3, batch_size=32, epochs=40, **S)),
        Run("unscaled_y_lin_linnerud", "unscaled_target", "linnerud",
            lambda: LR(lr=0.01, epochs=100, **S)),
        Run("imbalance_mlp_circles_adam_32", "class_imbalance", "circles_imbalanced",
            lambda: MLPC((32,), lr=0.01, batch_size=32, epochs=30, alpha=1.0, **S)),
    ]


# -- one run -----------------------------------------------------------------------------


def _score(model, X, y) -> float:
    try:
        value = float(model.score(X, y))
    except Exception:  # noqa: BLE001 -- a model that cannot score scores worst
        return -math.inf
    return value if math.isfinite(value) else -math.inf


def _fit(model, data):
    X_train, y_train, X_val, y_val, X_test, y_test = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X_train, y_train, validation_data=(X_val, y_val))
        except Exception as error:  # noqa: BLE001 -- a failed fit is still a run to diagnose
            return model, repr(error)
    return model, None


_DIAGNOSE_KEYWORDS = set(inspect.signature(diagnose).parameters)


def _diagnose(model, data):
    X_train, y_train = data[0], data[1]
    keywords = {"X": X_train}
    if "y" in _DIAGNOSE_KEYWORDS:
        keywords["y"] = y_train
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return diagnose(model, **keywords)


_ASSIGNMENT = re.compile(r"\b([a-z_]+)=('[^']*'|[-+0-9.e]+|True|False|None)")


def suggestion(finding, model) -> dict:
    """The finding's structured suggestion, or the first ``name=value`` of its advice."""
    if hasattr(finding, "suggest"):
        return dict(finding.suggest)
    params = model.get_params()
    for name, text in _ASSIGNMENT.findall(finding.advice):
        if name in params:
            value = text.strip("'") if text.startswith("'") else eval(text)  # noqa: S307
            return {name: value}
    return {}


@dataclass
class _Failed:
    code: str
    severity: str
    evidence: str
    advice: str


@dataclass
class Outcome:
    run: Run
    codes: list[str]
    severities: list[str]
    score: float
    suggest: dict
    new_score: float | None
    seconds: float
    diagnose_seconds: float
    error: str | None

    @property
    def top(self) -> str:
        return self.codes[0]

    @property
    def alarm(self) -> bool:
        return any(s in ("problem", "warning") for s in self.severities)

    @property
    def addressed(self) -> bool:
        return self.run.cause != "healthy" and self.severities[0] in ("problem", "warning")

    @property
    def improved(self) -> bool:
        return self.new_score is not None and \
            max(self.new_score, WORST) > max(self.score, WORST) + IMPROVED


def prepare(run: Run):
    X, y, classes = load(run.data, raw=run.raw)
    if not classes:
        y = y * run.y_scale + run.y_shift
    data = split(X, y, classes)
    if run.rows is not None:
        data = (data[0][:run.rows], data[1][:run.rows], *data[2:])
    return data


def play(run: Run, verbose: bool = False) -> Outcome:
    start = time.perf_counter()
    data = prepare(run)
    model, error = _fit(run.make(), data)
    score = _score(model, data[4], data[5]) if error is None else -math.inf
    begin = time.perf_counter()
    try:
        findings = _diagnose(model, data)
    except Exception as failure:  # noqa: BLE001 -- the diagnosis itself failed: a miss
        findings = [_Failed("diagnose_failed", "info", repr(failure), "")]
    diagnosing = time.perf_counter() - begin
    top = findings[0]
    suggest = suggestion(top, model) if top.severity in ("problem", "warning") else {}
    new_score = None
    if suggest and run.cause != "healthy":
        params = model.get_params()
        if all(name in params for name in suggest):
            again, again_error = _fit(clone(model).set_params(**suggest), data)
            new_score = _score(again, data[4], data[5]) if again_error is None else -math.inf
    outcome = Outcome(run, [f.code for f in findings], [f.severity for f in findings], score,
                      suggest, new_score, time.perf_counter() - start, diagnosing, error)
    if verbose:
        print(f"--- {run.name} ({run.cause}): score {score:.3f}"
              + (f", error {error}" if error else ""))
        for f in findings:
            print(f"    [{f.severity}] {f.code}: {f.evidence}\n        do: {f.advice}")
        if new_score is not None:
            print(f"    applied {suggest}: score {score:.3f} -> {new_score:.3f}")
    return outcome


# -- the figures -------------------------------------------------------------------------


def _ratio(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f}%)" if total else "-"


def summary(outcomes: list[Outcome], by_cause: bool = True) -> str:
    lines = []
    for group in (*GROUPS, "all"):
        chosen = [o for o in outcomes if group == "all" or o.run.group == group]
        broken = [o for o in chosen if o.run.cause != "healthy"]
        healthy = [o for o in chosen if o.run.cause == "healthy"]
        addressed = [o for o in broken if o.addressed]
        lines.append(
            f"{group:9s} runs {len(chosen):3d}  top-1 {_ratio(sum(o.top == o.run.cause for o in broken), len(broken)):14s}"  # noqa: E501
            f"  false alarms {_ratio(sum(o.alarm for o in healthy), len(healthy)):12s}"
            f"  advice improves {_ratio(sum(o.improved for o in addressed), len(addressed))}")
    old = [o for o in outcomes if o.run.cause not in NEW_CODES + ("healthy",)]
    lines.append(f"top-1 on the causes main's rules already had (not {', '.join(NEW_CODES)}): "
                 f"{_ratio(sum(o.top == o.run.cause for o in old), len(old))}")
    times = sorted(o.diagnose_seconds for o in outcomes)
    lines.append(f"diagnose itself (with its LR range tests): median "
                 f"{times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s a run")
    if not by_cause:
        return "\n".join(lines)
    lines.append("")
    lines.append(f"{'cause':22s} {'runs':>4s} {'top-1':>6s} {'advice':>8s}")
    per_cause = defaultdict(list)
    for o in outcomes:
        per_cause[o.run.cause].append(o)
    for cause, chosen in per_cause.items():
        if cause == "healthy":
            hits = f"{sum(not o.alarm for o in chosen)}/{len(chosen)} quiet"
            lines.append(f"{cause:22s} {len(chosen):4d} {hits:>14s}")
            continue
        addressed = [o for o in chosen if o.addressed]
        lines.append(f"{cause:22s} {len(chosen):4d} "
                     f"{sum(o.top == cause for o in chosen):>3d}/{len(chosen):<2d} "
                     f"{sum(o.improved for o in addressed):>4d}/{len(addressed):<3d}")
    return "\n".join(lines)


def table(outcomes: list[Outcome]) -> str:
    rows = []
    for o in outcomes:
        new = "" if o.new_score is None else f"{o.new_score:.3f}"
        rows.append(f"{o.run.name:40s} {o.run.group:8s} {o.run.cause:20s} "
                    f"{'ok ' if o.top == o.run.cause else 'MISS'} {o.top:20s} "
                    f"{o.score:7.3f} {new:>7s} {o.seconds:5.1f}s {o.suggest}")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="runs whose name contains this")
    parser.add_argument("--group", choices=GROUPS, help="the runs of this group only")
    parser.add_argument("--verbose", action="store_true", help="print every finding")
    parser.add_argument("--figures", action="store_true",
                        help="print the figures only (no per-run table): for the fresh group")
    args = parser.parse_args(argv)
    chosen = [run for run in runs() if args.only in run.name
              and args.group in (None, run.group)]
    start = time.perf_counter()
    outcomes = [play(run, args.verbose and not args.figures) for run in chosen]
    if not args.figures:
        print(table(outcomes))
        print()
    print(summary(outcomes, by_cause=not args.figures))
    print(f"\n{len(outcomes)} runs in {time.perf_counter() - start:.0f} s "
          f"(steepest {getattr(steepest, '__version__', '?')}, numpy {np.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
