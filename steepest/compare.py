"""Side-by-side runs: the same data, the same split and the same seed for every model.

:func:`compare` fits a copy of each model on one training split and measures it on
one validation split, so that differences come from the models, not from luck::

    from steepest import MLPClassifier
    from steepest.compare import compare, write_comparison_report

    result = compare({
        "sgd, lr 0.1": MLPClassifier((32,), optimizer="sgd", lr=0.1, epochs=40),
        "adam, lr 1e-3": MLPClassifier((32,), optimizer="adam", lr=1e-3, epochs=40),
    }, X, y)
    result["adam, lr 1e-3"].final_loss, result["adam, lr 1e-3"].time_to_target
    write_comparison_report(result, "comparison.html")

:func:`plot_comparison` draws the training loss against the epoch and against the
wall time (it is :func:`steepest.plot.plot_run_comparison`, where the library's figures
are drawn), :func:`comparison_table` gives one row per run for
:meth:`steepest.report.Report.add_table`, and :func:`write_comparison_report` writes
both into one self-contained HTML page.

Wall times are measured, so they vary from run to run and machine to machine;
everything else is the same for the same data and seed.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from steepest import __version__
from steepest._validation import check_number
from steepest.data import train_validation_split
from steepest.errors import NonFiniteError, ParameterError, SteepestError
from steepest.plot import plot_run_comparison as plot_comparison
from steepest.report import Report

__all__ = ["ComparisonResult", "Run", "compare", "comparison_table", "default_target",
           "plot_comparison", "time_to_target", "write_comparison_report"]

_TARGET_MARGIN = 0.1
"""The default target is the best final loss plus this fraction of it."""


@dataclass(frozen=True)
class Run:
    """One model of a comparison, fitted.

    Attributes
    ----------
    name : str
        Its key in the ``models`` given to :func:`compare`.
    estimator : estimator
        The fitted copy (the model given to :func:`compare` is left as it was).
    history : dict of str to list of float
        The copy's ``history_``: per-epoch ``loss``, ``lr``, ``grad_norm``, ``time``
        (seconds since the start of training), and ``val_loss`` and ``val_score``
        when the model validates itself (``early_stopping=True``). Empty when the
        fit failed.
    final_loss : float
        The training loss of the last epoch (NaN when the fit failed).
    val_score : float or None
        ``estimator.score`` on the validation split (accuracy for classifiers, R²
        for regressors); None without a validation split or when the fit failed.
    fit_time : float
        Wall-clock seconds of ``fit``, set-up included.
    epochs : int
        The epochs (iterations, for L-BFGS and Newton) that ran.
    target_epoch : int or None
        The first epoch (counted from 1) whose training loss is at most the
        comparison's target; None when the loss never got there.
    time_to_target : float or None
        ``history["time"]`` at ``target_epoch``: the seconds of training it took.
    warnings : tuple of str
        What the fit warned about (did not converge, diverged and rolled back, ...),
        collected here instead of printed.
    error : str or None
        Why the fit failed (training diverged beyond rescue), None when it did not.
    """

    name: str
    estimator: Any
    history: dict[str, list[float]]
    final_loss: float
    val_score: float | None
    fit_time: float
    epochs: int
    target_epoch: int | None = None
    time_to_target: float | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None

    def __repr__(self) -> str:
        if self.error:
            return f"Run({self.name!r}, failed: {self.error!r})"
        score = "" if self.val_score is None else f", val_score={self.val_score:.4g}"
        return (f"Run({self.name!r}, epochs={self.epochs}, final_loss={self.final_loss:.6g}"
                f"{score}, target_epoch={self.target_epoch}, fit_time={self.fit_time:.3g})")

    @property
    def reached_target(self) -> bool:
        """Whether the training loss got down to the comparison's target."""
        return self.target_epoch is not None


@dataclass(frozen=True)
class ComparisonResult:
    """The runs of :func:`compare`, by name, in the order the models were given.

    Index it by name (``result["adam"]``) or iterate over the runs.

    Attributes
    ----------
    runs : dict of str to Run
    target_loss : float or None
        The training loss each run was timed to; None when no run ended finite.
    target_given : bool
        Whether ``target_loss`` was passed to :func:`compare` (else it is
        :func:`default_target` of the final losses).
    n_train, n_val : int
        The sizes of the training and validation splits (``n_val`` is 0 without one).
    random_state : int or None
        The seed of the split and of every model.
    """

    runs: dict[str, Run]
    target_loss: float | None
    target_given: bool
    n_train: int
    n_val: int
    random_state: int | None

    def __repr__(self) -> str:
        target = "None" if self.target_loss is None else f"{self.target_loss:.6g}"
        return (f"ComparisonResult({len(self.runs)} runs: "
                f"{', '.join(map(repr, self.runs))}; target_loss={target})")

    def __getitem__(self, name: str) -> Run:
        try:
            return self.runs[name]
        except KeyError:
            raise KeyError(f"No run named {name!r}; the runs are {', '.join(map(repr, self.runs))}."
                           ) from None

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs.values())

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def fastest(self) -> str | None:
        """The run that reached the target in the least training time (None if none did)."""
        reached = [(run.time_to_target, i, run.name) for i, run in enumerate(self)
                   if run.time_to_target is not None]
        return min(reached)[2] if reached else None

    @property
    def best(self) -> str | None:
        """The run with the highest validation score, else the lowest final loss."""
        scored = [(-run.val_score, i, run.name) for i, run in enumerate(self)
                  if run.val_score is not None and math.isfinite(run.val_score)]
        if scored:
            return min(scored)[2]
        finite = [(run.final_loss, i, run.name) for i, run in enumerate(self)
                  if math.isfinite(run.final_loss)]
        return min(finite)[2] if finite else None


# -- the target ---------------------------------------------------------------------------


def default_target(final_losses: Sequence[float]) -> float | None:
    """The loss runs are timed to when none is given: the best final loss, plus 10 %.

    That is ``best * 1.1`` for the usual positive losses (``best + 0.1 * |best|`` in
    general): a level the best run certainly reached, so that every other run is
    measured against it, and far enough above its last value that "how long did
    it take to get there" is not decided by the noise of the last few epochs.

    Parameters
    ----------
    final_losses : sequence of float
        Each run's final training loss; NaN and infinite values are ignored.

    Returns
    -------
    float or None
        None when no loss is finite.
    """
    finite = [float(v) for v in final_losses if v is not None and math.isfinite(v)]
    if not finite:
        return None
    best = min(finite)
    return best + _TARGET_MARGIN * abs(best)


def time_to_target(history: Mapping[str, Sequence[float]], target: float
                   ) -> tuple[int | None, float | None]:
    """When a run's training loss first got down to ``target``.

    Parameters
    ----------
    history : mapping
        A ``history_``: per-epoch ``loss`` and, optionally, ``time`` (seconds since
        the start of training, at the end of each epoch).
    target : float
        The loss to reach; a loss equal to it counts.

    Returns
    -------
    epoch : int or None
        The first epoch, counted from 1, whose loss is at most ``target``; None
        when no epoch's was (NaN never counts).
    seconds : float or None
        ``history["time"]`` at that epoch; None when not reached or not recorded.

    Examples
    --------
    >>> time_to_target({"loss": [4.0, 2.0, 1.0, 0.5], "time": [.1, .2, .3, .4]}, 1.0)
    (3, 0.3)
    """
    losses = np.asarray(history.get("loss", ()), dtype=float)
    reached = np.flatnonzero(losses <= target)
    if not reached.size:
        return None, None
    index = int(reached[0])
    times = history.get("time")
    seconds = float(times[index]) if times is not None and index < len(times) else None
    return index + 1, seconds


# -- compare ------------------------------------------------------------------------------


def compare(models: Mapping[str, Any], X, y, *, X_val=None, y_val=None,
            validation_fraction: float | None = 0.2, target_loss: float | None = None,
            random_state: int | None = 0) -> ComparisonResult:
    """Fit a copy of each model on the same training data, with the same seed.

    Each model is cloned (``sklearn.base.clone``: its parameters, not its fitted
    state), its ``random_state`` set to ``random_state`` when it has one, and
    fitted on the same training split; its ``score`` is taken on the same
    validation split. The originals are not touched.

    Parameters
    ----------
    models : mapping of str to estimator
        Names (shown in figures and tables) to unfitted scikit-learn compatible
        estimators with a ``history_`` after ``fit``: steepest's
        ``LinearRegression``, ``LogisticRegression``, ``MLPClassifier``,
        ``MLPRegressor``, or pipelines ending in one are not (they have no
        ``history_``; fit the estimator itself).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    X_val, y_val : array-like, optional
        A validation set of your own; then all of ``X, y`` is used for training.
    validation_fraction : float or None, default=0.2
        Without ``X_val``: the fraction of ``X, y`` held out for validation, drawn
        with ``random_state`` (stratified when every model is a classifier); None
        for no validation (``val_score`` is then None).
    target_loss : float, optional
        The training loss to time every run to. By default
        :func:`default_target` of the final losses: the best of them plus 10 %.
    random_state : int or None, default=0
        Seeds the split and is given to every model with a ``random_state``
        parameter, so that each starts from the same initial weights and sees
        the batches in the same order. None keeps each model's own setting and
        draws a fresh split.

    Returns
    -------
    ComparisonResult

    Raises
    ------
    ParameterError
        For no models, a name that is not a string, a model without ``fit``,
        ``X_val`` without ``y_val`` (or the reverse), a bad
        ``validation_fraction`` or ``target_loss``, or an error in one model's
        parameters (the message names the run).
    """
    from sklearn.base import clone, is_classifier

    models = _check_models(models)
    if (X_val is None) != (y_val is None):
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise ParameterError(
            f"compare got {given} but not {missing}: give both for a validation set of your "
            "own, or neither to hold out validation_fraction of X, y."
        )
    if target_loss is not None:
        check_number(target_loss, "target_loss", "compare")
        if not math.isfinite(target_loss):
            raise ParameterError(
                f"The 'target_loss' parameter of compare must be a finite float. Got "
                f"{target_loss!r} instead."
            )
    if random_state is not None:
        check_number(random_state, "random_state", "compare", low=0, integer=True)
    X_train, y_train, X_val, y_val = _split(
        X, y, X_val, y_val, validation_fraction, random_state,
        stratify=all(is_classifier(m) for m in models.values()))

    fitted = []
    for name, model in models.items():
        estimator = clone(model)
        if random_state is not None and "random_state" in estimator.get_params(deep=False):
            estimator.set_params(random_state=random_state)
        fitted.append(_fit(name, estimator, X_train, y_train, X_val, y_val))

    target = target_loss if target_loss is not None else \
        default_target([run.final_loss for run in fitted])
    runs = {}
    for run in fitted:
        epoch, seconds = time_to_target(run.history, target) if target is not None \
            else (None, None)
        runs[run.name] = replace(run, target_epoch=epoch, time_to_target=seconds)
    return ComparisonResult(runs=runs, target_loss=target, target_given=target_loss is not None,
                            n_train=len(X_train), n_val=0 if X_val is None else len(X_val),
                            random_state=random_state)


def _check_models(models) -> dict[str, Any]:
    if not isinstance(models, Mapping) or not models:
        raise ParameterError(
            "The 'models' parameter of compare must be a non-empty dict of names to "
            f"estimators, such as {{'sgd': LinearRegression(optimizer='sgd')}}. Got "
            f"{models!r} instead."
        )
    for name, model in models.items():
        if not isinstance(name, str):
            raise ParameterError(
                f"Every name in the 'models' of compare must be a string; got {name!r} of "
                f"type {type(name).__name__}."
            )
        if not (callable(getattr(model, "fit", None)) and hasattr(model, "get_params")):
            raise ParameterError(
                f"The model {name!r} given to compare must be a scikit-learn compatible "
                f"estimator (with fit and get_params); got {model!r}."
            )
    return dict(models)


def _split(X, y, X_val, y_val, fraction, random_state, *, stratify: bool):
    """``X_train, y_train, X_val, y_val``: the validation set given, held out, or none."""
    if X_val is not None:
        return X, y, X_val, y_val
    if fraction is None:
        return X, y, None, None
    check_number(fraction, "validation_fraction", "compare", low=0.0, high=1.0,
                 closed="neither")
    X_train, X_val, y_train, y_val = train_validation_split(
        X, y, fraction, stratify=stratify, random_state=random_state)
    return X_train, y_train, X_val, y_val


def _fit(name: str, estimator, X, y, X_val, y_val) -> Run:
    """Fit ``estimator`` and measure it; a run that diverges beyond rescue is kept, failed."""
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            estimator.fit(X, y)
        except NonFiniteError as err:
            error = str(err)
        except SteepestError as err:
            raise type(err)(f"Run {name!r} of compare: {err}") from err
        seconds = time.perf_counter() - start
        history = {key: list(values) for key, values in
                   (getattr(estimator, "history_", None) or {}).items()} if error is None else {}
        score = None
        if error is None and X_val is not None:
            score = float(estimator.score(X_val, y_val))
    if error is None and "loss" not in history:
        raise ParameterError(
            f"The model {name!r} given to compare has no history_['loss'] after fit; compare "
            "needs steepest's estimators (LinearRegression, LogisticRegression, "
            "MLPClassifier, MLPRegressor)."
        )
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    losses = history.get("loss", [])
    return Run(name=name, estimator=estimator, history=history,
               final_loss=float(losses[-1]) if losses else math.nan, val_score=score,
               fit_time=seconds, epochs=len(losses), warnings=notes, error=error)


# -- table, report ------------------------------------------------------------------------


_COLUMNS = ["run", "epochs", "final loss", "validation score", "fit time (s)",
            "epochs to target", "time to target (s)"]
COLUMN_FORMATS = {"fit time (s)": ".3f", "time to target (s)": ".3f", "final loss": ".5g",
                  "validation score": ".4f"}
"""Number formats for :meth:`steepest.report.Report.add_table` of :func:`comparison_table`."""


def comparison_table(result: ComparisonResult) -> tuple[list[list[object]], list[str]]:
    """One row per run, for :meth:`steepest.report.Report.add_table` (or a DataFrame).

    Columns: ``run``, ``epochs``, ``final loss``, ``validation score``, ``fit time (s)``,
    ``epochs to target``, ``time to target (s)``, and ``notes`` when any run failed or
    warned. A missing value (no validation set, target not reached) is None.

    Returns
    -------
    rows : list of lists
    columns : list of str
    """
    notes = any(run.error or run.warnings for run in result)
    rows = []
    for run in result:
        row = [run.name, run.epochs, run.final_loss, run.val_score, run.fit_time,
               run.target_epoch, run.time_to_target]
        if notes:
            row.append(_note(run))
        rows.append(row)
    return rows, _COLUMNS + (["notes"] if notes else [])


def _note(run: Run) -> str | None:
    if run.error:
        return f"failed: {run.error}"
    if not run.warnings:
        return None
    first = run.warnings[0].split(":")[0].split(". ")[0].rstrip(".")
    first = first.removeprefix(type(run.estimator).__name__ + " ")
    more = len(run.warnings) - 1
    return first + (f" (and {more} more)" if more else "")


def write_comparison_report(result: ComparisonResult, path: str | os.PathLike[str], *,
                            title: str | None = None) -> Path:
    """Write the comparison as one self-contained HTML page (figures inside).

    The page has a summary, the two loss plots of :func:`plot_comparison`, the
    table of :func:`comparison_table`, the parameters that differ between the
    runs, and every warning in full.

    Parameters
    ----------
    result : ComparisonResult
    path : str or path-like
        Written atomically; missing parent directories are created.
    title : str, optional
        The page title, by default "Comparison of N runs".

    Returns
    -------
    Path
        ``path``, as written.
    """
    report = Report(title or f"Comparison of {len(result)} runs",
                    subtitle=f"steepest {__version__}")
    report.add_heading("Summary")
    report.add_paragraph(_summary(result))
    report.add_figure(plot_comparison(result), format="png", dpi=120,
                      caption="Training loss against the epoch (left) and against the wall "
                              "time (right). The dashed line is the target; a ring marks "
                              "where each run first reached it.",
                      alt="Loss curves of " + ", ".join(run.name for run in result))
    rows, columns = comparison_table(result)
    report.add_heading("Runs")
    if columns[-1] == "notes":  # in full under Warnings: the table stays narrow
        rows, columns = [row[:-1] for row in rows], columns[:-1]
        noted = sum(bool(run.warnings or run.error) for run in result)
        report.add_paragraph(f"{noted} of {len(result)} runs failed or warned: see Warnings.")
    report.add_table(rows, columns, formats=COLUMN_FORMATS)
    differing = _differing_parameters(result)
    if differing:
        report.add_heading("What differs between the runs")
        report.add_table([[run.name, *(params[run.name] for params in differing.values())]
                          for run in result], ["run", *differing])
    noted = [run for run in result if run.warnings or run.error]
    if noted:
        report.add_heading("Warnings")
        for run in noted:
            report.add_heading(run.name, level=3)
            for message in ([f"Failed: {run.error}"] if run.error else []) + list(run.warnings):
                report.add_paragraph(message)
    return report.write(path)


def _summary(result: ComparisonResult) -> str:
    split = (f"{result.n_train} training and {result.n_val} validation samples"
             if result.n_val else f"{result.n_train} training samples, no validation set")
    seed = f"seed {result.random_state}" if result.random_state is not None else \
        "each model's own seed"
    text = [f"{len(result)} runs on the same {split}, with {seed}."]
    if result.target_loss is None:
        text.append("No run ended with a finite loss, so none was timed to a target.")
    else:
        how = "given" if result.target_given else "the best final loss plus 10 %"
        reached = [run.name for run in result if run.reached_target]
        text.append(f"Target training loss: {result.target_loss:.5g} ({how}); "
                    f"{len(reached)} of {len(result)} runs reached it.")
        if result.fastest is not None:
            run = result[result.fastest]
            text.append(f"Fastest to it: {run.name}, at epoch {run.target_epoch} after "
                        f"{run.time_to_target:.3g} s of training.")
    if result.best is not None and result.n_val:
        run = result[result.best]
        text.append(f"Best validation score: {run.name} ({run.val_score:.4g}).")
    text.append("Wall times depend on the machine and vary between runs; the losses do not.")
    return " ".join(text)


def _differing_parameters(result: ComparisonResult) -> dict[str, dict[str, str]]:
    """Parameter name to (run name to value) for the parameters whose values differ."""
    params = {run.name: {key: repr(value) if not isinstance(value, str) else value
                         for key, value in run.estimator.get_params(deep=False).items()}
              for run in result}
    keys = list(dict.fromkeys(k for p in params.values() for k in p))
    out = {}
    for key in keys:
        values = {name: p.get(key, "\N{EM DASH}") for name, p in params.items()}
        if len(set(values.values())) > 1:
            out[key] = values
    classes = {run.name: type(run.estimator).__name__ for run in result}
    if len(set(classes.values())) > 1:
        out = {"model": classes, **out}
    return out
