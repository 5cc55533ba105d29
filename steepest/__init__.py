"""steepest: gradient descent done right, and easy to see.

Every model and every function keeps its parameters in one flat vector ``theta``;
optimizers update it in place from a gradient of the same shape::

    import numpy as np
    import steepest

    opt = steepest.optim.Adam(lr=0.01)
    theta = np.zeros(3)
    opt.step(theta, grad)

Submodules load on first use, so ``import steepest`` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"optim", "schedules", "functions", "transforms", "errors", "losses", "nn",
               "data", "train", "io", "datasets", "meta", "stream", "distributed",
               "federated", "examples"}
_ATTRIBUTES = {
    "minimize": ("steepest._minimize", "minimize"),
    "OptimizeResult": ("steepest.optim.objective", "OptimizeResult"),
    "SteepestError": ("steepest.errors", "SteepestError"),
    "LinearRegression": ("steepest.estimators", "LinearRegression"),
    "LogisticRegression": ("steepest.estimators", "LogisticRegression"),
    "MLPClassifier": ("steepest.estimators", "MLPClassifier"),
    "MLPRegressor": ("steepest.estimators", "MLPRegressor"),
    "MatrixFactorization": ("steepest.factorization", "MatrixFactorization"),
    "NetworkClassifier": ("steepest.estimators", "NetworkClassifier"),
    "NetworkRegressor": ("steepest.estimators", "NetworkRegressor"),
    "load": ("steepest.model_files", "load"),
}

__all__ = sorted(_SUBMODULES | set(_ATTRIBUTES) | {"__version__"})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"steepest.{name}")
    if name in _ATTRIBUTES:
        module, attribute = _ATTRIBUTES[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'steepest' has no attribute {name!r}")


def __dir__():
    return __all__
