"""Training a network by gradient descent: the fit loop, its callbacks and its history.

::

    from steepest import nn, optim, train

    net = nn.Network([nn.Dense(32), nn.ReLU(), nn.Dense(1)], n_features=8, random_state=0)
    trainer = train.Trainer(net, "mse", optim.Adam(lr=1e-3), batch_size=32, alpha=1e-4,
                            callbacks=[train.EarlyStopping(patience=5)], random_state=0)
    history = trainer.fit(X, y, epochs=100, validation_data=(X_val, y_val))
    history["loss"], history["val_loss"], trainer.stopped_by

The loop is in :mod:`steepest.train.loop`, each of its updates one step of
:class:`StepLoop` (:mod:`steepest.train.step`, the one step loop that full-batch
fitting and ``lr_find`` call too), the penalty in
:mod:`~steepest.train.regularization`, the callbacks in
:mod:`~steepest.train.callbacks`, :mod:`~steepest.train.divergence` and
:mod:`~steepest.train.progress`, the record in :mod:`~steepest.train.history`.
"""

from __future__ import annotations

from steepest.train.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    ReduceLROnPlateau,
    TrainerView,
)
from steepest.train.divergence import DivergenceError, DivergenceGuard, DivergenceWarning
from steepest.train.hessian import add_penalty_hessian, has_linear_hessian, linear_hessian_sum
from steepest.train.history import History
from steepest.train.loop import Trainer, fit
from steepest.train.progress import ProgressBar
from steepest.train.rate import ScaledRate
from steepest.train.regularization import Penalty, weight_mask
from steepest.train.resume import FitCheckpoint, data_digest, estimator_settings
from steepest.train.step import StepLoop

__all__ = [
    "Callback",
    "Checkpoint",
    "DivergenceError",
    "DivergenceGuard",
    "DivergenceWarning",
    "EarlyStopping",
    "FitCheckpoint",
    "History",
    "Penalty",
    "ProgressBar",
    "ReduceLROnPlateau",
    "ScaledRate",
    "StepLoop",
    "Trainer",
    "TrainerView",
    "add_penalty_hessian",
    "data_digest",
    "estimator_settings",
    "fit",
    "has_linear_hessian",
    "linear_hessian_sum",
    "weight_mask",
]
