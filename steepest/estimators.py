"""scikit-learn compatible models trained by steepest's gradient descent.

::

    from steepest import LinearRegression, MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(64,), optimizer="adam", lr=1e-3,
                          batch_size=32, epochs=50, random_state=0).fit(X, y)
    model.score(X_test, y_test), model.history_["loss"]
    model.save("digits.safetensors")          # steepest.load(...) reads it back

Every model is a :class:`~steepest.nn.Network` (linear models: one ``Dense``
layer, started from zero) trained by :class:`~steepest.train.Trainer` on the
objective of DESIGN.md, the mean loss plus
``alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||_2^2)`` on the weights
(never the intercepts); mean squared error is ``mean((y - ŷ)²)`` with no ½.
They work in ``Pipeline``, ``GridSearchCV`` and ``clone``: ``__init__`` only
stores its arguments, ``fit`` validates them.
"""

from __future__ import annotations

import math
import numbers
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.utils.validation import check_is_fitted

from steepest import _params, nn, optim
from steepest._validation import check_number
from steepest.data import (
    check_sample_weight,
    check_X,
    check_X_y,
    check_y,
    feature_names,
    split_indices,
    standardization,
)
from steepest.errors import FileFormatError, NonFiniteError, ParameterError, user_stacklevel
from steepest.io import save_arrays
from steepest.outofcore import fit_out_of_core, is_out_of_core
from steepest.sparse import check_sparse_X, column_std, is_sparse, scale_columns, take_rows

__all__ = ["ESTIMATORS", "LinearRegression", "LogisticRegression", "MLPClassifier", "MLPRegressor",
           "NetworkClassifier", "NetworkRegressor"]

_FULL_BATCH_METHODS = ("lbfgs", "newton")
_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "tanh": nn.Tanh,
                "sigmoid": nn.Sigmoid, "logistic": nn.Sigmoid}
_HE_INIT = ("relu", "leaky_relu", "elu")
"""Activations whose layers start from He initialisation (the others from Glorot)."""


# -- parameter rules: one table, one sentence per bad value ----------------------------------


def _layer_sizes(value, name, owner):
    sizes = (value,) if isinstance(value, numbers.Integral) else value
    if not isinstance(sizes, (tuple, list)) or not sizes:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a tuple of layer widths such as "
            f"(100,) or (64, 32). Got {value!r} instead."
        )
    for i, size in enumerate(sizes):
        check_number(size, f"{name}[{i}]", owner, low=1, integer=True)


def _class_weight(value, name, owner):
    if value is None or value == "balanced":
        return
    if not isinstance(value, dict):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be None, 'balanced' or a dict "
            f"{{label: weight}}. Got {value!r} instead."
        )
    for label, weight in value.items():
        check_number(weight, f"{name}[{label!r}]", owner, low=0.0)


_COMMON_RULES = {
    "lr": _params.rate_rule,
    "batch_size": _params.number_rule(low=1, integer=True, optional=True),
    "epochs": _params.number_rule(low=1, integer=True),
    "alpha": _params.number_rule(low=0.0),
    "penalty": _params.choice_rule("l2", "l1", "elasticnet", None),
    "l1_ratio": _params.number_rule(low=0.0, high=1.0, closed="both"),
    "clip_norm": _params.number_rule(low=0.0, closed="neither", optional=True),
    "early_stopping": _params.boolean_rule,
    "validation_fraction": _params.number_rule(low=0.0, high=1.0, closed="neither"),
    "patience": _params.number_rule(low=1, integer=True),
    "tol": _params.number_rule(low=0.0, optional=True),
    "verbose": _params.boolean_rule,
    "scale": _params.boolean_rule,
}
_MLP_RULES = {
    "hidden_layer_sizes": _layer_sizes,
    "activation": _params.choice_rule(*_ACTIVATIONS),
    "dropout": _params.number_rule(low=0.0, high=1.0),
    "batch_norm": _params.boolean_rule,
}


# -- the shared machinery --------------------------------------------------------------------


class _GradientDescentModel(BaseEstimator):
    """What every model shares: validation, the network, the fit loop, save and load."""

    _rules: dict = {}
    _loss: str = "mse"

    # -- what subclasses define ------------------------------------------------------

    def _layers(self, n_outputs: int) -> list:
        raise NotImplementedError

    def _targets(self, y, *, first: bool, classes=None):
        """``(y as the loss expects it, n_outputs)``; ``first`` sets the fitted targets."""
        raise NotImplementedError

    def _validation_score(self, y, outputs) -> float:
        raise NotImplementedError

    def _store(self, arguments: dict) -> None:
        """Keep every ``__init__`` argument as an attribute of the same name, unchanged
        (scikit-learn's rule: no validation or computation before ``fit``)."""
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # -- fitting ---------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None, *, validation_data=None, checkpoint=None,
            resume=False, sync_every=None):
        """Fit the model by gradient descent (or L-BFGS/Newton) from its start.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), Dask collection or ParquetStream
            A Dask array or DataFrame is fitted where its partitions are (the current
            ``distributed.Client``, else Dask's local scheduler); a
            :class:`~steepest.stream.ParquetStream` a row group at a time (see
            :mod:`steepest.outofcore`). The fitted model is the same NumPy model.
        y : array-like of shape (n_samples,) (or (n_samples, n_outputs) for the regressors)
            A Dask array or Series with a Dask ``X``; None with a ParquetStream (it holds
            its target column).
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples (>= 0): the data term of the objective is the
            weighted mean loss ``Σ w_i ℓ_i / Σ w_i``, and with ``scale=True`` the
            means and standard deviations are weighted too. A classifier's
            ``class_weight`` multiplies them. In-memory data only.
        validation_data : tuple (X_val, y_val), optional
            Data to evaluate after every epoch (``val_loss`` and ``val_score`` in
            ``history_``); with ``early_stopping`` it replaces the held-out
            ``validation_fraction``. First-order optimizers only.
        checkpoint : str or path-like, optional
            Save the whole training state there (atomically) after every epoch, or
            every iteration of ``"lbfgs"`` and ``"newton"`` (their point, gradient and
            curvature pairs), in memory, on Dask or on a stream alike.
        resume : bool, default=False
            Continue from ``checkpoint`` when the file exists (a run that was
            killed); with the same data and parameters the model ends bit for bit
            as an uninterrupted run would. A checkpoint of a fit with other
            parameters or data is refused (:class:`~steepest.errors.StateError`).
        sync_every : int, optional
            Dask input with ``batch_size=k`` only: local mini-batch steps of each
            partition between two averages of the parameters (local SGD); default
            :data:`steepest.distributed.local_sgd.DEFAULT_SYNC_EVERY` (32).

        Returns
        -------
        self
        """
        if is_out_of_core(X) or is_out_of_core(y):
            self._check_params()
            if sample_weight is not None or getattr(self, "class_weight", None) is not None:
                raise ParameterError(
                    f"{type(self).__name__}.fit on a Dask collection or a ParquetStream does "
                    "not support sample_weight or class_weight yet; fit without them, or on "
                    "in-memory arrays."
                )
            fit_out_of_core(self, X, y, validation_data=validation_data, checkpoint=checkpoint,
                            resume=resume, sync_every=sync_every)
            self._check_finite_parameters()
            return self
        X, y, weight = self._prepare(X, y, sample_weight=sample_weight)
        if validation_data is not None:
            validation_data = self._check_validation(validation_data)
        if self._optimizer_name() in _FULL_BATCH_METHODS:
            if validation_data is not None:
                raise ParameterError(
                    f"Validation data are for epoch-by-epoch training; optimizer="
                    f"{self.optimizer!r} minimises the training objective in one go. Use a "
                    "first-order optimizer, or drop validation_data."
                )
            run = None
            if checkpoint is not None:
                from steepest.train import data_digest

                run = self._fit_checkpoint(checkpoint, resume, {
                    "rows": X.shape[0], "features": X.shape[1], "dtype": str(X.dtype),
                    "digest": data_digest(X, y, weight)})
            self._fit_full_batch(X, y, weight, run)
        else:
            self._fit_gradient_descent(X, y, weight, validation_data, checkpoint, resume)
        self._check_finite_parameters()
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one more epoch on ``(X, y)``, starting the model on the first call.

        The optimizer's state, the order of the batches and the history carry
        over from call to call. Classifiers need ``classes`` (every label) on the
        first call, as in scikit-learn. ``sample_weight`` weighs this call's samples
        (rescaled to mean 1 within the call); with ``scale=True`` the scaling
        statistics are those of the first call's data.
        """
        first = not hasattr(self, "_trainer")
        if isinstance(self, ClassifierMixin):
            self._check_partial_classes(classes, first)
        X, y, weight = self._prepare(X, y, first=first, classes=classes,
                                     stepwise="partial_fit", sample_weight=sample_weight)
        if first:
            self._trainer = self._make_trainer()
        self._trainer.partial_fit(X, y, sample_weight=weight)
        self._record(self._trainer.history)
        self._check_finite_parameters()
        return self

    def _prepare(self, X, y, *, first: bool = True, classes=None, stepwise: str | None = None,
                 sample_weight=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The one preparation stage of ``fit``, ``partial_fit`` and ``lr_find``.

        On the ``first`` call of a run: check the parameters (and, for a caller
        named in ``stepwise``, that the optimizer steps with a learning rate),
        fix the dtype, the targets (``classes_``), ``n_features_in_``,
        ``feature_names_in_`` and the (weighted) scaling statistics from this data,
        and build a fresh network (seeded by stream 0 of ``random_state``) with the
        loss it is trained on (``self._loss``). On a later call (``partial_fit``),
        check the data (and its column names) against what the first call fixed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Checked and scaled, in the model's dtype.
        y : ndarray
            The targets as the loss expects them (class indices for classifiers,
            standardised targets for regressors with ``scale=True``).
        weight : ndarray of shape (n_samples,) or None
            ``sample_weight`` times the ``class_weight`` of each sample's class (None
            when neither is given).
        """
        if first:
            self._check_params()
            if stepwise is not None and self._optimizer_name() in _FULL_BATCH_METHODS:
                raise ParameterError(
                    f"{stepwise} steps a first-order optimizer with a learning rate; "
                    f"optimizer={self.optimizer!r} has none and needs the whole data set. Use "
                    f"fit with it, or a first-order optimizer such as 'sgd' or 'adam'."
                )
        X, y = self._check_data(X, y, reset=first)
        y, n_outputs = self._targets(y, first=first, classes=classes)
        weight = check_sample_weight(sample_weight, X.shape[0], dtype=self._dtype)
        weight = self._weigh_classes(y, weight, stepwise)
        if first:
            self.n_features_in_ = X.shape[1]
        X = self._standardize(X, first=first, weight=weight)
        y = self._standardize_target(y, first=first, weight=weight)
        if first:
            self._network = self._build_network(n_outputs)
        return X, y, weight

    def _check_validation(self, validation_data):
        """``(X_val, y_val)`` checked and prepared as the training data are."""
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ParameterError(
                "The 'validation_data' argument of fit must be a pair (X_val, y_val). Got "
                f"{type(validation_data).__name__} instead."
            )
        X_val, y_val = self._check_data(*validation_data, reset=False)
        return self._standardize(X_val), self._standardize_target(
            self._targets(y_val, first=False)[0])

    def _fit_gradient_descent(self, X, y, weight=None, validation=None, checkpoint=None,
                              resume=False) -> None:
        from steepest.train import Checkpoint, EarlyStopping

        score = None if validation is None else self._validation_score
        if self.early_stopping and validation is None:
            train, held_out = split_indices(
                X.shape[0], self.validation_fraction,
                stratify=y if isinstance(self, ClassifierMixin) else None,
                random_state=self._seed(1))
            rows = take_rows if is_sparse(X) else (lambda A, r: np.take(A, r, axis=0))
            validation = (rows(X, held_out), np.take(y, held_out, axis=0))
            X, y = rows(X, train), np.take(y, train, axis=0)
            weight = None if weight is None else weight[train]
            score = self._validation_score
        callbacks = []
        if self.early_stopping or self.tol is not None:
            callbacks.append(EarlyStopping(
                monitor="val_loss" if self.early_stopping else "loss", patience=self.patience,
                min_delta=self.tol or 0.0, restore_best_weights=self.early_stopping))
        if checkpoint is not None:
            callbacks.append(Checkpoint(checkpoint))
        self._trainer = trainer = self._make_trainer(callbacks)
        if resume and checkpoint is not None and Path(checkpoint).exists():
            trainer.load_checkpoint(checkpoint)
        trainer.fit(X, y, epochs=self.epochs, sample_weight=weight, validation_data=validation,
                    score=score)
        self.interrupted_ = trainer.interrupted
        self._record(trainer.history)
        if not trainer.stopped and not trainer.interrupted and self.tol is not None:
            warnings.warn(
                f"{type(self).__name__} did not converge in {self.epochs} epochs: the loss "
                f"still fell by more than tol={self.tol} within the last {self.patience}. "
                "Consider increasing epochs or the learning rate.", ConvergenceWarning,
                stacklevel=3)

    def _make_trainer(self, callbacks=(), lr=None):
        """The trainer of this model's network: its optimizer (fresh; with rate ``lr``
        when given), penalty, clipping and batch size, batch orders seeded by stream 2."""
        from steepest.train import Trainer

        return Trainer(self._network, self._loss, self._make_optimizer(lr),
                       batch_size=self.batch_size, alpha=self.alpha, penalty=self.penalty,
                       l1_ratio=self.l1_ratio, clip_norm=self.clip_norm, callbacks=callbacks,
                       drop_single=getattr(self, "batch_norm", False), verbose=self.verbose,
                       random_state=self._seed(2))

    def _fit_checkpoint(self, path, resume: bool, data: dict):
        """The :class:`~steepest.train.FitCheckpoint` at ``path`` for this model's
        parameters and ``data`` (a description of the data); None without a path."""
        from steepest.train import FitCheckpoint, estimator_settings

        if path is None:
            return None
        return FitCheckpoint(path, estimator_settings(self, data), resume=resume)

    def _fit_full_batch(self, X, y, weight=None, run=None) -> None:
        """L-BFGS or Newton on the whole objective (linear models, smooth penalties); with
        weights, on the weighted mean loss (the weights rescaled to mean 1). Newton takes
        the exact Hessian of a linear model without weights, else central differences of
        the gradient."""
        from steepest.train import (
            Penalty,
            StepLoop,
            add_penalty_hessian,
            has_linear_hessian,
            linear_hessian_sum,
        )

        network = self._network
        penalty = Penalty(network, self.alpha, self.penalty, self.l1_ratio)
        steps = StepLoop(network, self._loss, penalty=penalty)
        if weight is not None:
            weight = weight * (len(weight) / weight.sum())

        def objective(theta):
            network.theta[...] = theta
            value, grad = steps.value_and_grad(X, y, weight)
            return value, grad.copy()

        def hessian(theta):
            network.theta[...] = theta
            return add_penalty_hessian(linear_hessian_sum(network, steps.loss, X, y) / X.shape[0],
                                       penalty, network)

        exact = has_linear_hessian(network, steps.loss) and weight is None
        self._minimize(objective, hessian if exact else None, run)

    def _minimize(self, objective, hessian=None, run=None) -> None:
        """Run the line-search method ``optimizer`` names on ``objective`` (``theta ->
        (value, gradient)`` of the whole objective) from the network's theta, and record
        each iteration as an epoch. ``hessian(theta)`` for Newton; None: central
        differences of the gradient. ``run`` (a :class:`~steepest.train.FitCheckpoint`)
        saves the method's state and the history after every iteration, and gives the
        state to continue from when resuming."""
        from steepest.optim.lbfgs import lbfgs
        from steepest.optim.newton import newton
        from steepest.train import History

        if self.batch_size is not None:
            raise ParameterError(
                f"optimizer={self.optimizer!r} uses the whole data set at every iteration; "
                f"set batch_size=None (got batch_size={self.batch_size})."
            )
        if self.alpha > 0 and self.penalty in ("l1", "elasticnet"):
            raise ParameterError(
                f"optimizer={self.optimizer!r} needs a smooth objective, and the {self.penalty} "
                "penalty is not differentiable at 0; use penalty='l2', or a first-order "
                "optimizer such as 'sgd' or 'adam'."
            )
        network = self._network
        history = History()
        saved = None if run is None else run.load()
        if saved is not None:
            history.load_state_dict(saved["history"])
        start = time.perf_counter() - history.last("time", 0.0)

        def record(intermediate_result):
            history.append({"loss": float(intermediate_result.fun), "lr": math.nan,
                            "grad_norm": float(np.linalg.norm(intermediate_result.jac)),
                            "time": time.perf_counter() - start}, updates=1)

        settings = {"max_iter": self.epochs, "callback": record}
        if self.tol is not None:        # else the method's own gradient tolerance
            settings["tol"] = self.tol
        if run is not None:
            settings["checkpoint"] = lambda state: run.save(
                {"method": state, "history": history.state_dict()})
            settings["state"] = None if saved is None else saved["method"]
        if self._optimizer_name() == "lbfgs":
            result = lbfgs(objective, network.theta.copy(), **settings)
        else:
            result = newton(objective, hessian, network.theta.copy(), **settings)
        network.theta[...] = result.x
        self._record(history)
        if not result.success:
            warnings.warn(f"{type(self).__name__}: {result.message}", ConvergenceWarning,
                          stacklevel=user_stacklevel())

    def _prepare_summary(self, summary) -> None:
        """The preparation stage from a first pass over data held elsewhere (a
        :class:`steepest.outofcore.SourceSummary`): dtype, targets, ``n_features_in_``,
        feature names, the scaling statistics and a fresh network, as :meth:`_prepare`
        fixes them from in-memory data (parameters already checked)."""
        self._dtype = np.dtype(summary.dtype)
        if isinstance(self, ClassifierMixin):
            if summary.labels is None:
                raise ParameterError(
                    "y holds more than 10,000 distinct values; a classifier needs class "
                    "labels. Use a regressor, or bin the target into classes."
                )
            _, n_outputs = self._targets(summary.labels, first=True)
        else:
            _, n_outputs = self._targets(np.zeros(1, self._dtype), first=True)
        self.n_features_in_ = summary.n_features
        self._fitted_on_names = False     # a stream always names its columns: no warning
        if summary.feature_names is not None:
            self.feature_names_in_ = summary.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if self.scale:
            self.input_mean_ = summary.mean
            self.input_scale_ = np.where(summary.std > 0, summary.std, 1.0)
            if not isinstance(self, ClassifierMixin):
                std = summary.target_std
                self.y_mean_ = np.array([summary.target_mean], dtype=self._dtype)
                self.y_scale_ = np.array([std if std else 1.0], dtype=self._dtype)
        self._network = self._build_network(n_outputs)

    def _record(self, history) -> None:
        """``history_``: the per-epoch series, ``updates``, the per-layer records and,
        under ``"events"``, the list of what happened besides the epochs (JSON-safe)."""
        self.history_ = history.to_dict(layers=True, counts=True)
        self.history_["events"] = [dict(event) for event in history.events]
        self.n_iter_ = history.epochs

    # -- predicting ------------------------------------------------------------------

    def _forward(self, X) -> np.ndarray:
        """The network's raw outputs on ``X``, shape (n_samples, n_outputs), a copy."""
        check_is_fitted(self, "n_features_in_")
        self._check_columns(X, reset=False)
        check = check_sparse_X if is_sparse(X) else check_X
        X = check(X, dtype=self._dtype, n_features=self.n_features_in_,
                  owner=type(self).__name__)
        return self._network.forward(self._standardize(X), training=False).copy()

    def _standardize(self, X, first: bool = False, weight=None) -> np.ndarray:
        """``(X - input_mean_) / input_scale_`` when ``scale`` is on, else X itself;
        ``first`` takes the (weighted) statistics from this X (the training data), each
        column's scale computed without overflow (:func:`steepest.data.standardization`)."""
        if not self.scale:
            return X
        if is_sparse(X):
            return self._scale_sparse(X, first)
        if first:
            self.input_mean_, self.input_scale_ = standardization(X, weight)
        scaled = X - self.input_mean_           # one copy of X, divided in place
        scaled /= self.input_scale_
        return scaled

    def _scale_sparse(self, X, first: bool):
        """A sparse X divided by the columns' standard deviations, not centered (as
        ``StandardScaler(with_mean=False)``: centering would fill in every zero), so
        ``input_mean_`` is 0; a model scaled with centering (fitted on dense data)
        refuses sparse input."""
        if first:
            self.input_mean_ = np.zeros(X.shape[1])
            self.input_scale_ = column_std(X)
        elif np.any(self.input_mean_ != 0):
            raise ParameterError(
                f"{type(self).__name__} was fitted with scale=True on dense data, so it "
                "centers each feature, which a sparse X cannot take without becoming dense; "
                "pass X.toarray(), or fit on sparse data (scaled without centering)."
            )
        return scale_columns(X, self.input_scale_)

    def _standardize_target(self, y, first: bool = False, weight=None) -> np.ndarray:
        """The targets the loss sees: for a regressor with ``scale`` on, ``(y - y_mean_) /
        y_scale_`` (``first`` takes them from this y); else y itself."""
        return y

    def _check_columns(self, X, reset: bool) -> None:
        """``feature_names_in_`` from a data frame's string column names on ``reset``;
        after, the same names in the same order, as scikit-learn checks them.

        Raises
        ------
        ParameterError
            For reordered, missing or unknown columns (naming them).
        """
        names = feature_names(X)
        owner = type(self).__name__
        if reset:
            self._fitted_on_names = names is not None
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is None and names is None:
            return
        if names is None:
            # only after fitting on a frame here: names loaded from a file or set by a
            # caller who ordered the columns itself (the command line) need no warning
            if getattr(self, "_fitted_on_names", False):
                warnings.warn(f"X does not have valid feature names, but {owner} was fitted "
                              "with feature names", UserWarning, stacklevel=user_stacklevel())
            return
        if fitted is None:
            warnings.warn(f"X has feature names, but {owner} was fitted without feature names",
                          UserWarning, stacklevel=user_stacklevel())
            return
        fitted, names = list(fitted), list(names)
        if names == fitted:
            return
        missing = [name for name in fitted if name not in names]
        unknown = [name for name in names if name not in fitted]
        if not missing and not unknown:
            raise ParameterError(
                f"X has the columns of fit in another order ({', '.join(map(repr, names))}; "
                f"{owner} was fitted on {', '.join(map(repr, fitted))}); pass "
                "X[model.feature_names_in_] to put them in the order of fit."
            )
        parts = []
        if missing:
            parts.append(f"lacks the column(s) {', '.join(map(repr, missing))} seen in fit")
        if unknown:
            parts.append(f"has the column(s) {', '.join(map(repr, unknown))} not seen in fit")
        raise ParameterError(
            f"X {' and '.join(parts)}; {owner} was fitted on the columns "
            f"{', '.join(map(repr, fitted))}: pass the same columns, with the same names."
        )

    # -- checks ----------------------------------------------------------------------

    def _check_params(self) -> None:
        owner = type(self).__name__
        _params.optimizer_rule(self._full_batch_ok)(self.optimizer, "optimizer", owner)
        for name, rule in {**_COMMON_RULES, **self._rules}.items():
            rule(getattr(self, name), name, owner)
        if isinstance(self, ClassifierMixin):
            _class_weight(self.class_weight, "class_weight", owner)
        if getattr(self, "batch_norm", False) and self.batch_size == 1:
            raise ParameterError(
                f"{owner} with batch_norm=True cannot train on batches of one sample (their "
                "variance is zero); use batch_size >= 2 or batch_norm=False."
            )

    def _weigh_classes(self, y, weight, stepwise):
        """The sample weights times the class weights (a classifier's ``class_weight``)."""
        return weight

    def _check_data(self, X, y, reset: bool = True):
        self._check_columns(X, reset)
        classifier = isinstance(self, ClassifierMixin)
        y = np.asarray(y) if y is not None else None
        if classifier and y is not None and y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; it is "
                          "flattened (pass y.ravel() to silence this).", DataConversionWarning,
                          stacklevel=3)
        if reset:  # float32 data trains in float32 (half the bytes), anything else in float64
            self._dtype = np.dtype(np.float32 if getattr(X, "dtype", None) == np.float32
                                   else np.float64)
        if is_sparse(X):  # kept sparse: CSR for the first Dense layer (steepest.sparse)
            X = check_sparse_X(X, dtype=self._dtype, owner=type(self).__name__,
                               n_features=None if reset else self.n_features_in_)
            y = check_y(y, X.shape[0], numeric=not classifier, multi_output=not classifier,
                        dtype=self._dtype)
        else:
            X, y = check_X_y(X, y, dtype=self._dtype, numeric_y=not classifier,
                             multi_output=not classifier)
        if not reset and X.shape[1] != self.n_features_in_:
            check_X(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return X, y

    def _check_finite_parameters(self) -> None:
        if not np.isfinite(self._network.theta).all():
            raise NonFiniteError(
                f"{type(self).__name__} produced non-finite parameters. The input data may "
                "contain very large values and need scaling (StandardScaler), or the "
                "learning rate is too high."
            )

    # -- pieces ----------------------------------------------------------------------

    _full_batch_ok = False

    def _optimizer_name(self) -> str | None:
        return self.optimizer.lower() if isinstance(self.optimizer, str) else None

    def _make_optimizer(self, lr=None) -> optim.Optimizer:
        """A fresh optimizer as ``optimizer`` names it, at rate ``lr`` when given (else
        ``self.lr`` for a name, its own for an instance)."""
        if isinstance(self.optimizer, optim.Optimizer):
            return _params.fresh_optimizer(self.optimizer, lr)
        return optim.get(self.optimizer, lr=self.lr if lr is None else lr)

    def _build_network(self, n_outputs: int) -> nn.Network:
        return nn.Network(self._layers(n_outputs), self.n_features_in_, dtype=self._dtype,
                          random_state=self._seed(0))

    def _seed(self, stream: int) -> np.random.Generator:
        """An independent generator per use (0: weights, 1: split, 2: batches), all
        derived from ``random_state`` so one seed fixes the whole run."""
        if isinstance(self.random_state, np.random.Generator):
            return np.random.default_rng(self.random_state.bit_generator.seed_seq.spawn(1)[0])
        entropy = self.random_state if self.random_state is not None else None
        return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))

    # -- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path`` (safetensors + JSON metadata, atomically).

        ``steepest.load(path)`` gives back a model that predicts the same numbers.
        """
        check_is_fitted(self, "n_features_in_")
        params = self._encode_params()
        fitted = {"n_features_in_": self.n_features_in_, "n_iter_": self.n_iter_,
                  "history_": self.history_}
        arrays = {f"network.{k}": np.asarray(v) for k, v in self._network.state_dict().items()
                  if not k.endswith(".rng")}
        if self.scale:
            arrays["input_mean_"], arrays["input_scale_"] = self.input_mean_, self.input_scale_
            if hasattr(self, "y_mean_"):
                arrays["y_mean_"], arrays["y_scale_"] = self.y_mean_, self.y_scale_
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(name) for name in self.feature_names_in_]
        if hasattr(self, "classes_"):
            fitted["classes_"] = self.classes_.tolist()
        else:
            fitted["y_ndim"] = self._y_ndim
        metadata = {"format": "steepest-model", "version": 1, "class": type(self).__name__,
                    "params": params, "fitted": fitted, "n_outputs": self._network.n_outputs,
                    "dtype": self._dtype.name}
        return save_arrays(path, arrays, _params.json_safe(metadata))

    def _encode_params(self) -> dict:
        """``get_params()`` as the JSON of a model file (see ``steepest._params``)."""
        return {name: _params.encode_param(value, name, type(self).__name__)
                for name, value in self.get_params(deep=False).items()}

    @classmethod
    def _decode_params(cls, params: dict) -> dict:
        """The inverse of :meth:`_encode_params`: the arguments to rebuild the model with."""
        return {name: _params.decode_param(value) for name, value in params.items()}

    @classmethod
    def _from_file(cls, path, arrays: dict, metadata: dict):
        """The model :meth:`save` wrote into ``path`` (``arrays`` and ``metadata`` as
        :func:`steepest.io.load_arrays` read them); :func:`steepest.load` calls this."""
        try:
            model = cls(**cls._decode_params(metadata["params"]))
            fitted = metadata["fitted"]
            model.n_features_in_ = int(fitted["n_features_in_"])
            model.n_iter_, model.history_ = int(fitted["n_iter_"]), fitted["history_"]
            if "feature_names_in_" in fitted:
                model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
            if "classes_" in fitted:
                model.classes_ = np.asarray(fitted["classes_"])
            else:
                model._y_ndim = int(fitted["y_ndim"])
            model._dtype = np.dtype(metadata["dtype"])
            model._network = model._build_network(int(metadata["n_outputs"]))
            if model.scale:
                model.input_mean_ = arrays["input_mean_"]
                model.input_scale_ = arrays["input_scale_"]
                if "classes_" not in fitted:  # files written before the targets were standardised
                    n_outputs = int(metadata["n_outputs"])
                    model.y_mean_ = arrays.get("y_mean_", np.zeros(n_outputs))
                    model.y_scale_ = arrays.get("y_scale_", np.ones(n_outputs))
            state = {k.removeprefix("network."): v for k, v in arrays.items()
                     if k.startswith("network.")}
            state.update({k: v for k, v in model._network.state_dict().items()
                          if k.endswith(".rng")})
            model._network.load_state_dict(state)
        except (KeyError, TypeError, ValueError) as error:
            raise FileFormatError(
                f"'{path}' does not describe a {metadata.get('class')} this version can rebuild "
                f"({type(error).__name__}: {error})."
            ) from None
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True  # SciPy sparse X: steepest.sparse
        return tags


# -- the linear models -----------------------------------------------------------------------


class _LinearModel(_GradientDescentModel):
    _full_batch_ok = True

    @property
    def coef_(self):
        """The weights, (n_outputs, n_features): one row per class (one in all for two) or
        per target; a single target's as (n_features,)."""
        check_is_fitted(self, "n_features_in_")
        W = self._network.layers[0].W.T
        return W[0].copy() if self._single_target else W.copy()

    @property
    def intercept_(self):
        """The intercepts, (n_outputs,); a single target's as a float."""
        check_is_fitted(self, "n_features_in_")
        b = self._network.layers[0].b
        return float(b[0]) if self._single_target else b.copy()

    @property
    def _single_target(self) -> bool:
        """A regressor fitted on a 1-D y reports ``coef_``/``intercept_`` without the
        outputs' axis; a classifier always keeps it (as scikit-learn's)."""
        return getattr(self, "_y_ndim", None) == 1

    def _layers(self, n_outputs):
        return [nn.Dense(n_outputs, weight_init="zeros", bias_init="zeros")]


class _Regressor(RegressorMixin):
    _loss = "mse"

    def _targets(self, y, *, first: bool, classes=None):
        if first:
            self._y_ndim = y.ndim
        elif y.ndim != self._y_ndim:
            raise ParameterError(
                f"y has {y.ndim} dimension(s) but the model was started on {self._y_ndim}."
            )
        return y, 1 if y.ndim == 1 else y.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validation_score(self, y, outputs) -> float:
        from sklearn.metrics import r2_score

        return float(r2_score(y, outputs[:, 0] if y.ndim == 1 else outputs))

    def _standardize_target(self, y, first: bool = False, weight=None) -> np.ndarray:
        if not self.scale:
            return y
        if first:
            mean, scale = standardization(y.reshape(len(y), -1), weight)
            self.y_mean_, self.y_scale_ = mean, scale
        mean, scale = (self.y_mean_[0], self.y_scale_[0]) if y.ndim == 1 else \
            (self.y_mean_, self.y_scale_)
        return (y - mean) / scale

    def predict(self, X):
        """Predicted targets, shape (n_samples,) (or (n_samples, n_outputs)); with ``scale``
        the network's standardised outputs times ``y_scale_`` plus ``y_mean_``."""
        outputs = self._forward(X)
        if self.scale:
            outputs = outputs * self.y_scale_ + self.y_mean_
        return outputs[:, 0] if self._y_ndim == 1 else outputs


class _Classifier(ClassifierMixin):
    def _check_partial_classes(self, classes, first: bool) -> None:
        """``classes`` on the first ``partial_fit`` (as scikit-learn), the same ones after."""
        owner = type(self).__name__
        if first and classes is None:
            raise ParameterError(
                f"The first partial_fit of {owner} needs classes=, every label the model "
                "will see (the first batch may not hold them all); e.g. "
                "classes=np.unique(y_all)."
            )
        if not first and classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ParameterError(
                f"classes={np.asarray(classes).tolist()!r} is not the same as on the first call "
                f"to partial_fit of {owner} ({self.classes_.tolist()!r}); pass the same classes "
                "or none."
            )

    def _weigh_classes(self, y, weight, stepwise):
        """``weight`` times ``class_weight[class of each sample]``: "balanced" gives class
        ``c`` the weight ``n_samples / (n_classes · n_c)`` (scikit-learn's
        ``compute_class_weight``, from the counts of this y), a dict the weights it
        names (1 for the others)."""
        class_weight = self.class_weight
        if class_weight is None:
            return weight
        index = y.astype(np.intp)
        k = self.classes_.size
        if isinstance(class_weight, str):
            if stepwise == "partial_fit":
                raise ParameterError(
                    f"class_weight='balanced' needs the counts of all the data, which "
                    f"partial_fit of {type(self).__name__} never sees together; pass a dict, "
                    "e.g. from sklearn.utils.class_weight.compute_class_weight on all of y."
                )
            counts = np.bincount(index, minlength=k)
            per_class = len(y) / (k * np.maximum(counts, 1))
        else:
            labels = self.classes_.tolist()
            unknown = [key for key in class_weight if key not in labels]
            if unknown:
                raise ParameterError(
                    f"class_weight names the class {unknown[0]!r}, which is not among the "
                    f"classes {labels}; use the labels of y as keys."
                )
            per_class = np.array([float(class_weight.get(label, 1.0)) for label in labels])
        per_sample = per_class.astype(self._dtype)[index]
        return per_sample if weight is None else weight * per_sample

    def _targets(self, y, *, first: bool, classes=None):
        if first:
            from sklearn.utils.multiclass import type_of_target

            if type_of_target(y) == "continuous":
                raise ParameterError(
                    "y holds continuous values (Unknown label type: continuous); a classifier "
                    "needs class labels. Use a regressor, or bin the target into classes."
                )
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if labels.size < 2:
                raise ParameterError(
                    f"y has only one class ({labels.tolist()[0]!r}); a classifier needs at "
                    "least two. Check the target column."
                )
            self.classes_ = labels
        index = np.searchsorted(self.classes_, y)
        unknown = (index >= self.classes_.size) | (self.classes_[np.minimum(
            index, self.classes_.size - 1)] != y)
        if unknown.any():
            raise ParameterError(
                f"y holds the label {y[np.argmax(unknown)]!r} (first at row "
                f"{int(np.argmax(unknown))}), which is not among the classes "
                f"{self.classes_.tolist()} the model was started with."
            )
        if self.classes_.size == 2:
            return index.astype(self._dtype), 1
        return index, self.classes_.size

    @property
    def _loss(self):
        return "binary_crossentropy" if self.classes_.size == 2 else "categorical_crossentropy"

    def _validation_score(self, y, outputs) -> float:
        predicted = outputs[:, 0] > 0 if outputs.shape[1] == 1 else outputs.argmax(axis=1)
        return float(np.mean(predicted == y))

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes (positive: ``classes_[1]``), else
        (n_samples, n_classes)."""
        outputs = self._forward(X)
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            positive = 0.5 * (1.0 + np.tanh(0.5 * scores))  # the logistic function, stably
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most likely class of each sample, shape (n_samples,)."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]


class LinearRegression(_Regressor, _LinearModel):
    """Least squares by gradient descent: ``ŷ = X w + b``, from ``w = 0, b = 0``.

    Minimises ``mean((y - ŷ)²) + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||²)``.
    With the defaults (full batch, SGD, lr 0.01) this is the textbook gradient
    descent ``w ← w + lr·(2/n)Σ x(y − ŷ)``, ``b ← b + lr·(2/n)Σ (y − ŷ)``.

    Parameters
    ----------
    optimizer : str or Optimizer, default="sgd"
        A :mod:`steepest.optim` name or instance, or ``"lbfgs"`` / ``"newton"`` for
        full-batch second-order fitting.
    lr : float or schedule, default=0.01
        Learning rate (> 0) or a schedule ``t -> lr`` over updates.
    batch_size : int or None, default=None
        None: the whole data set per update; 1: stochastic; k: mini-batches.
    epochs : int, default=1000
        Passes over the data (iterations for lbfgs/newton).
    alpha : float, default=0.0
        Strength of the penalty, >= 0.
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
    l1_ratio : float, default=0.15
        L1 share of the elastic net, in [0, 1].
    clip_norm : float or None, default=None
        Clip each gradient to this global L2 norm.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data; stop when its loss stops
        improving and keep the best weights.
    validation_fraction : float, default=0.1
    patience : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float or None, default=None
        None: run all ``epochs`` (Keras's meaning of the word; lbfgs/newton stop
        at their own gradient tolerance). A number: stop when the loss (the
        validation loss with ``early_stopping``) has not improved by ``tol`` for
        ``patience`` epochs, with a ``ConvergenceWarning`` when ``epochs`` run
        out first.
    scale : bool, default=False
        Standardise each feature with the training mean and standard deviation
        (weighted by ``sample_weight``), kept in the model (``input_mean_``,
        ``input_scale_``) and in its file, so ``predict`` takes raw data; ``coef_``
        then applies to standardised features. The regressors standardise the
        targets too (``y_mean_``, ``y_scale_``; undone by ``predict``), so with
        ``scale=True`` the ``loss`` in ``history_`` is in standardised units: the
        mean squared error divided by the target's variance (1 is the loss of
        predicting the mean). Small tabular data with columns of different
        units need it (measured in tests/test_defaults.py); the default keeps
        the textbook descent on the raw columns.
    random_state : int, Generator or None, default=None
    verbose : bool, default=False
        Show a progress bar.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
    intercept_ : float or ndarray of shape (n_outputs,)
    history_ : dict of lists
        Per epoch: ``loss``, ``val_loss`` and ``val_score`` (when validating), ``lr``,
        ``grad_norm``, ``time``, ``updates`` (optimizer steps so far),
        ``dead_units/<i>`` for each ReLU layer (the MLPs) and ``grad_norm/<i>.W`` for
        each Dense layer's weights (see :class:`~steepest.train.History`); and
        ``events``, a list of dicts: divergence rollbacks with the rate lowered, an
        early stop with its epoch and the best epoch restored.
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(self, *, optimizer="sgd", lr=0.01, batch_size=None, epochs=1000, alpha=0.0,
                 penalty="l2", l1_ratio=0.15, clip_norm=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, tol=None, scale=False,
                 random_state=None, verbose=False):
        self._store(locals())


class LogisticRegression(_Classifier, _LinearModel):
    """Logistic regression (binary and multinomial) by gradient descent, from zero.

    Two classes: one logit ``z = X w + b`` and the binary cross-entropy; more:
    one logit per class and the softmax cross-entropy (multinomial). The
    objective is the mean loss plus ``alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2
    ||w||²)``, which is scikit-learn's ``LogisticRegression(C=1 / (alpha · n))``
    objective divided by ``n`` for the L2 penalty.

    Parameters are those of :class:`LinearRegression` (default ``alpha=1e-4``,
    ``epochs=1000``, ``lr=0.1``), and ``class_weight`` (None, "balanced" or a dict
    ``{label: weight}``), which multiplies the sample weights, as in scikit-learn.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    history_, n_iter_, n_features_in_ : as for :class:`LinearRegression`
    """

    def __init__(self, *, optimizer="sgd", lr=0.1, batch_size=None, epochs=1000, alpha=1e-4,
                 penalty="l2", l1_ratio=0.15, clip_norm=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, tol=None, scale=False,
                 class_weight=None, random_state=None, verbose=False):
        self._store(locals())


# -- the neural networks ---------------------------------------------------------------------


class _MLP(_GradientDescentModel):
    _rules = _MLP_RULES

    def _layers(self, n_outputs):
        sizes = (self.hidden_layer_sizes,) if isinstance(self.hidden_layer_sizes,
                                                         numbers.Integral) \
            else tuple(self.hidden_layer_sizes)
        init = "he_uniform" if self.activation in _HE_INIT else "glorot_uniform"
        layers = []
        for width in sizes:
            layers.append(nn.Dense(width, weight_init=init))
            if self.batch_norm:
                layers.append(nn.BatchNorm())
            layers.append(_ACTIVATIONS[self.activation]())
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
        layers.append(nn.Dense(n_outputs, weight_init="glorot_uniform"))
        return layers


_MLP_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        The width of each hidden layer.
    activation : {"relu", "leaky_relu", "elu", "tanh", "sigmoid"}, default="relu"
        Hidden layers with ReLU-like activations start from He initialisation,
        the others from Glorot.
    dropout : float, default=0.0
        Probability of dropping each hidden unit while training, in [0, 1).
    batch_norm : bool, default=False
        Batch normalisation after each hidden Dense layer.
    optimizer : str or Optimizer, default="adam"
    lr : float or schedule, default=1e-3
    batch_size : int or None, default={batch_size}
    epochs : int, default=200
    alpha : float, default={alpha}
    penalty, l1_ratio, clip_norm, early_stopping, validation_fraction, patience,
    tol, scale, random_state, verbose : as for :class:`LinearRegression`
"""


class MLPClassifier(_Classifier, _MLP):
    __doc__ = """A neural network classifier trained by backpropagation.

    Hidden layers ``Dense → [BatchNorm] → activation → [Dropout]``, then one
    logit per class (one in all for two classes) and the cross-entropy.
    ``class_weight`` (None, "balanced" or a dict ``{label: weight}``) multiplies
    the sample weights, as in scikit-learn.
    """ + _MLP_DOC.replace("{batch_size}", "200").replace("{alpha}", "1e-4")

    def __init__(self, hidden_layer_sizes=(100,), *, activation="relu", dropout=0.0,
                 batch_norm=False, optimizer="adam", lr=1e-3, batch_size=200, epochs=200,
                 alpha=1e-4, penalty="l2", l1_ratio=0.15, clip_norm=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, tol=None, scale=False,
                 class_weight=None, random_state=None, verbose=False):
        self._store(locals())


class MLPRegressor(_Regressor, _MLP):
    __doc__ = """A neural network regressor trained by backpropagation.

    Hidden layers ``Dense → [BatchNorm] → activation → [Dropout]``, then a linear
    output per target and the mean squared error. Its defaults (mini-batches of 32,
    ``alpha=0.1``) regularise more than the classifier's: on small noisy data
    (diabetes) a net of 100 units otherwise overfits (R² 0.19 against 0.36 for
    these defaults and Ridge's 0.36, tests/test_defaults.py).
    """ + _MLP_DOC.replace("{batch_size}", "32").replace("{alpha}", "0.1")

    def __init__(self, hidden_layer_sizes=(100,), *, activation="relu", dropout=0.0,
                 batch_norm=False, optimizer="adam", lr=1e-3, batch_size=32, epochs=200,
                 alpha=0.1, penalty="l2", l1_ratio=0.15, clip_norm=None, early_stopping=False,
                 validation_fraction=0.1, patience=10, tol=None, scale=False,
                 random_state=None, verbose=False):
        self._store(locals())


# -- networks of any layers ------------------------------------------------------------------

_PREDICT_BATCH = 1000
"""Samples per forward pass in predict: a CNN keeps its column matrices for a whole batch
(about 200 kB a Fashion-MNIST image for the example's net), so 10,000 images at once would
need 2 GB."""


def _layer_list(value, name, owner):
    if isinstance(value, nn.Layer) or not isinstance(value, (list, tuple)) or not value:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a non-empty list of steepest.nn layers "
            f"such as [nn.Dense(64), nn.ReLU()]. Got {value!r} instead."
        )
    for index, layer in enumerate(value):
        if not isinstance(layer, nn.Layer):
            raise ParameterError(
                f"The {name!r} parameter of {owner} must hold steepest.nn layers; the entry at "
                f"position {index} is {layer!r} of type {type(layer).__name__}."
            )


def _sample_shape(value, name, owner):
    if value is not None and not (isinstance(value, (tuple, list)) and value and all(
            isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1
            for size in value)):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be None or the shape of one sample, a "
            f"tuple of ints >= 1 such as (1, 28, 28). Got {value!r} instead."
        )


class _Network(_GradientDescentModel):
    """A model on any list of layers: the list is copied (rebuilt from each layer's
    constructor arguments) at every fit, so ``layers`` itself is never trained."""

    _rules = {"layers": _layer_list, "input_shape": _sample_shape}

    def _layers(self, n_outputs):
        from steepest.nn.spec import copy_layer

        layers = [copy_layer(layer) for layer in self.layers]
        last = layers[-1]
        if not (isinstance(last, nn.Dense) and last.units == n_outputs):
            layers.append(nn.Dense(n_outputs, weight_init="glorot_uniform"))
        return layers

    def _build_network(self, n_outputs: int) -> nn.Network:
        shape = self.input_shape
        if shape is not None and math.prod(shape) != self.n_features_in_:
            raise ParameterError(
                f"input_shape={tuple(shape)!r} holds {math.prod(shape)} values per sample, but "
                f"X has {self.n_features_in_} columns; give the shape of one row's image."
            )
        return nn.Network(self._layers(n_outputs),
                          self.n_features_in_ if shape is None else tuple(shape),
                          dtype=self._dtype, random_state=self._seed(0))

    def _flat_rows(self, X):
        """Images ``(n_samples, *input_shape)`` as rows of pixels (a view); others as given."""
        shape = getattr(X, "shape", None)
        if (self.input_shape is not None and shape is not None and len(shape) > 2
                and tuple(shape[1:]) == tuple(self.input_shape)):
            return np.asarray(X).reshape(shape[0], -1)
        return X

    def _check_data(self, X, y, reset: bool = True):
        return super()._check_data(self._flat_rows(X), y, reset=reset)

    def _forward(self, X) -> np.ndarray:
        """The network's outputs on ``X`` (rows, or images of ``input_shape``), computed
        :data:`_PREDICT_BATCH` samples at a time; shape (n_samples, n_outputs)."""
        check_is_fitted(self, "n_features_in_")
        X = self._standardize(check_X(self._flat_rows(X), dtype=self._dtype,
                                      n_features=self.n_features_in_,
                                      owner=type(self).__name__))
        outputs = np.empty((X.shape[0], self._network.n_outputs), self._dtype)
        for start in range(0, X.shape[0], _PREDICT_BATCH):
            stop = start + _PREDICT_BATCH
            outputs[start:stop] = self._network.forward(X[start:stop], training=False)
        return outputs

    def _encode_params(self) -> dict:
        from steepest.nn.spec import layer_spec

        params = super()._encode_params()
        params["layers"] = [layer_spec(layer) for layer in self.layers]
        return params

    @classmethod
    def _decode_params(cls, params: dict) -> dict:
        from steepest.nn.spec import layer_from_spec

        decoded = super()._decode_params({k: v for k, v in params.items() if k != "layers"})
        decoded["layers"] = [layer_from_spec(spec) for spec in params["layers"]]
        return decoded


_NETWORK_DOC = """
    Parameters
    ----------
    layers : list of steepest.nn layers
        The network, first layer first, such as ``[nn.Conv2D(32, 3), nn.ReLU(),
        nn.MaxPool2D(2), nn.Flatten(), nn.Dense(10)]``. It is copied at every
        ``fit`` (each layer rebuilt from its constructor arguments), so the list
        given here is never trained and ``clone`` gives an untrained twin. When it
        ends with a ``Dense`` of {width}, that layer is the output layer;
        otherwise a ``Dense`` of that width (Glorot) is added after it.
    input_shape : tuple of int or None, default=None
        The shape of one sample, such as ``(1, 28, 28)`` (channels, rows,
        columns): each row of ``X`` (a table of pixels, in C order) is read as
        one image of that shape. ``X`` may also be given as images of shape
        ``(n_samples, *input_shape)``. None: flat rows.
    optimizer : str or Optimizer, default="adam"
    lr : float or schedule, default=1e-3
    batch_size : int or None, default=64
    epochs : int, default=10
    alpha : float, default=0.0
        No penalty by default (a convolutional network is usually trained without).
    penalty, l1_ratio, clip_norm, early_stopping, validation_fraction, patience,
    scale, random_state, verbose : as for :class:`LinearRegression`
    tol : float or None, default=None
        None: always run all ``epochs``.

    Attributes
    ----------
    history_, n_iter_, n_features_in_ : as for :class:`LinearRegression`
    interrupted_ : bool
        Whether Ctrl-C stopped the fit (the model keeps the last finished epoch).

    Notes
    -----
    ``predict`` runs the network on {batch} samples at a time.
"""


class NetworkClassifier(_Classifier, _Network):
    __doc__ = """A classifier on any list of layers (a convolutional network, say).

    ::

        from steepest import NetworkClassifier, nn

        cnn = NetworkClassifier([nn.Conv2D(32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                                 nn.Dense(10)], input_shape=(1, 28, 28), epochs=3,
                                random_state=0).fit(X_pixels, y)

    The network ends with one logit per class (one in all for two classes) and is
    trained on the cross-entropy, as :class:`MLPClassifier`.
    """ + _NETWORK_DOC.format(width="one unit per class (one for two classes)",
                              batch=_PREDICT_BATCH)

    def __init__(self, layers, input_shape=None, *, optimizer="adam", lr=1e-3, batch_size=64,
                 epochs=10, alpha=0.0, penalty="l2", l1_ratio=0.15, clip_norm=None,
                 early_stopping=False, validation_fraction=0.1, patience=10, tol=None,
                 scale=False, class_weight=None, random_state=None, verbose=False):
        self._store(locals())


class NetworkRegressor(_Regressor, _Network):
    __doc__ = """A regressor on any list of layers, trained on the mean squared error.

    ::

        from steepest import NetworkRegressor, nn

        model = NetworkRegressor([nn.Dense(64), nn.Tanh(), nn.Dense(1)], epochs=50).fit(X, y)
    """ + _NETWORK_DOC.format(width="one unit per target", batch=_PREDICT_BATCH)

    def __init__(self, layers, input_shape=None, *, optimizer="adam", lr=1e-3, batch_size=64,
                 epochs=10, alpha=0.0, penalty="l2", l1_ratio=0.15, clip_norm=None,
                 early_stopping=False, validation_fraction=0.1, patience=10, tol=None,
                 scale=False, random_state=None, verbose=False):
        self._store(locals())


# -- files -----------------------------------------------------------------------------------

ESTIMATORS = {cls.__name__: cls for cls in
              (LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor,
               NetworkClassifier, NetworkRegressor)}
"""The estimators of this module by class name (what a model file names)."""
