"""Training on a table and predicting from one: what ``steepest train``, ``predict`` and
``lr-find`` run.

The command line is a thin layer over :func:`train`, :func:`predict` and
:func:`find_rate`; they can be called from Python too, with the flags' values::

    from steepest.runs import train
    run = train("houses.csv", target="price", model="mlp", hidden=(64, 64), out="runs/1")
    run.model.predict(raw_X), run.findings, run.validated.history_["val_loss"]

Everything is checked before any work starts, and every file is written
atomically, so a run that fails leaves what was already in ``out`` as it was; a
directory that holds a run is not written into unless asked (``force`` or
``resume``).
"""

from __future__ import annotations

import io
import math
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from steepest.cli_values import check_flag, make_schedule
from steepest.data import train_validation_split
from steepest.diagnose import diagnose
from steepest.errors import ParameterError
from steepest.io import atomic_write_bytes, write_csv
from steepest.lr_find import lr_find, plot_lr_find
from steepest.methods import LINE_SEARCH
from steepest.model_factory import (
    DEFAULT_EPOCHS,
    alpha_for,
    batch_size_for,
    check_optimizer,
    epochs_for,
    make_model,
    optimizer_settings,
    rate_for,
)
from steepest.plot import plot_history
from steepest.report import Report
from steepest.run_report import add_run_to_report
from steepest.tables import (
    Dataset,
    check_out_of_core,
    feature_matrix,
    load_dataset,
    open_out_of_core,
    read_columns,
)

__all__ = ["RUN_FILES", "TrainRun", "find_rate", "predict", "train"]

RUN_FILES = ("model.safetensors", "history.csv", "curves.png", "report.html", "checkpoint.ckpt")
"""What :func:`train` writes into ``out``; a directory holding any of them holds a run."""


@dataclass
class TrainRun:
    """What :func:`train` made.

    Attributes
    ----------
    model : estimator
        The fitted estimator that is saved: refitted on all the rows when the run
        held rows out to validate (``refit``), else the validated run's.
    data : Dataset
        The whole table, as read.
    settings : dict
        The options of the run, as given (``lr`` says what ``auto`` chose).
    findings : list of Finding
        The diagnosis of the run (:func:`steepest.diagnose.diagnose`).
    files : dict of str to Path
        What was written into ``out``, by kind (``model``, ``history``, ...).
    seconds : float
        The time of the fit.
    interrupted : bool
        Ctrl-C stopped the fit (the checkpoint of the last complete epoch is kept).
    scores : dict of str to float
        Accuracy or R² on the ``train`` rows and the ``validation`` rows.
    n_train : int
        The rows the validated run trained on (the others were held out to validate).
    validated : estimator
        The estimator of the run scored on the held-out rows: its ``history_`` holds
        the validation curve, and the findings are about it. ``model`` itself when
        there was no refit.
    refit_seconds : float
        The time of the refit on all the rows (0 without one).
    """

    model: object
    data: Dataset
    settings: dict
    findings: list = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    n_train: int = 0
    validated: object = None
    refit_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.validated is None:
            self.validated = self.model


def _check_out(out: Path | None, *, resume: bool, force: bool) -> None:
    """Refuse, before any work, an ``out`` that would lose a run or cannot be resumed."""
    if resume and out is None:
        raise ParameterError("--resume continues the run saved in --out DIR; give --out too.")
    if resume and not (out / "checkpoint.ckpt").exists():
        raise ParameterError(
            f"--resume: there is no checkpoint in {out} (expected {out / 'checkpoint.ckpt'}); "
            "start without --resume."
        )
    if out is None or resume or force:
        return
    held = [name for name in RUN_FILES if (out / name).exists()]
    if held:
        ways = "--resume to continue it, --force to replace it" if "checkpoint.ckpt" in held \
            else "--force to replace it"
        raise ParameterError(
            f"--out {out} already holds a run ({', '.join(held)}); give {ways}, or choose "
            "another --out directory."
        )


def train(data_path, target: str, *, task=None, model="mlp", hidden=(64,), optimizer="adam",
          lr=None, schedule="constant", batch_size=None, epochs=None, early_stopping=False,
          validation=None, seed=0, scale=True, alpha=None, dropout=None, clip_norm=None,
          momentum=None, weight_decay=None, batch_norm=False, activation=None, out=None,
          resume=False, force=False, verbose=False, stream=False, workers=None,
          scheduler=None, layers=None, input_shape=None, refit=True) -> TrainRun:
    """Train a model on a table and, with ``out``, write everything the run made.

    The options are the flags of ``steepest train``, with their texts where a
    flag takes one (``lr="auto"``, ``batch_size="full"``). ``lr`` and
    ``batch_size`` left at None take the optimizer's defaults: 1e-3 and batches
    of 32 for a first-order optimizer; the full step and the whole data set for
    ``lbfgs`` and ``newton``, which need it (a batch size is then an error).
    ``epochs`` left at None is at least 200 and enough for the run to pass 160,000
    rows or make 5,000 updates (:func:`steepest.model_factory.epochs_for`: 1,667
    epochs for 89 rows in batches of 32), so that a small file gets as many updates
    as a file of 800 rows.

    ``validation`` (a fraction, 0 for none) of the rows, stratified for
    classification, is held out and scored after every epoch: that gives the
    validation curve the diagnosis needs to see overfitting. Those rows are a loan:
    with ``refit`` (the default) the model that is returned and saved is then
    trained again on all the rows, with the same settings, as scikit-learn's
    searches refit their best model; ``refit=False`` keeps the validated run's model
    (half the time). With ``early_stopping`` the validation rows choose the epoch
    whose weights are kept, and that model is the one saved (no refit). A
    classifier (``mlp`` or ``logistic``) without ``alpha`` gets
    :func:`steepest.model_factory.alpha_for`'s penalty, scikit-learn's
    ``LogisticRegression(C=1)`` prior: ``1/n`` for ``n`` rows. ``out`` receives
    ``model.safetensors``, ``history.csv``, ``curves.png``, ``report.html`` and
    ``checkpoint.ckpt`` (saved every epoch, or every iteration of ``lbfgs`` and
    ``newton``, streamed and on Dask too; ``resume=True`` continues from it). A
    directory that already holds a run is refused unless ``force=True`` (replace
    it: the old run's files are replaced or removed once the new run is written)
    or ``resume=True``.

    ``layers`` (the specs of ``--layers``) trains a network of those layers instead of
    the MLP, reading each row as a sample of ``input_shape`` when given.

    ``stream=True`` reads the file a row group at a time (data larger than memory,
    :class:`steepest.stream.ParquetStream`); ``workers=N`` fits on a Dask
    ``LocalCluster`` of N worker processes made for the run, ``scheduler=ADDRESS`` on an
    existing cluster (the file read there with ``dask.dataframe``). These runs hold out
    no validation rows (``validation`` defaults to 0) and take no ``lr="auto"`` or
    ``early_stopping``.
    """
    optimizer = check_optimizer(optimizer)
    line_search = optimizer in LINE_SEARCH
    batch = batch_size_for(optimizer, batch_size)
    rate = rate_for(optimizer, lr)
    if epochs is not None:
        check_flag(epochs, "--epochs", low=1, integer=True)
    out_of_core = check_out_of_core(stream, workers, scheduler, lr=lr,
                                    early_stopping=early_stopping, validation=validation)
    validation = (0.0 if out_of_core else 0.2) if validation is None else validation
    check_flag(validation, "--validation", low=0.0, high=1.0)
    check_flag(seed, "--seed", low=0, integer=True)
    make_schedule(schedule, 1.0, epochs or DEFAULT_EPOCHS, 1)  # fails now, not after lr-find
    if line_search and str(schedule).lower() != "constant":
        raise ParameterError(
            f"--schedule sets a first-order optimizer's rate over the run; --optimizer "
            f"{optimizer} chooses its own step lengths: drop --schedule."
        )
    out = Path(out) if out is not None else None
    _check_out(out, resume=resume, force=force)
    with ExitStack() as context:
        if out_of_core:
            data = open_out_of_core(data_path, target, task, stream=stream, workers=workers,
                                    scheduler=scheduler, context=context)
        else:
            data = load_dataset(data_path, target, task)
        return _train(data, model=model, hidden=hidden, optimizer=optimizer, lr=lr,
                      schedule=schedule, batch=batch, rate=rate, epochs=epochs,
                      early_stopping=early_stopping, validation=validation, seed=seed,
                      scale=scale, alpha=alpha, dropout=dropout, clip_norm=clip_norm,
                      momentum=momentum, weight_decay=weight_decay, batch_norm=batch_norm,
                      activation=activation, out=out, resume=resume, verbose=verbose,
                      line_search=line_search, target=target, layers=layers,
                      input_shape=input_shape, refit=refit)


def _train(data, *, model, hidden, optimizer, lr, schedule, batch, rate, epochs,
           early_stopping, validation, seed, scale, alpha, dropout, clip_norm, momentum,
           weight_decay, batch_norm, activation, out, resume, verbose, line_search,
           target, layers=None, input_shape=None, refit=True) -> TrainRun:
    """:func:`train` once the options are checked and the data opened."""
    if data.X is None:  # (stream,) or (dask X, dask y)
        (X_train, y_train), X_val, y_val = (*data.source_data, None)[:2], None, None
    elif validation > 0:
        X_train, X_val, y_train, y_val = train_validation_split(
            data.X, data.y, validation, stratify=data.task == "classification",
            random_state=seed)
    else:
        X_train, X_val, y_train, y_val = data.X, None, data.y, None
    n_train = data.n_rows if data.X is None else len(X_train)
    epochs = epochs_for(optimizer, epochs, n_train, batch)
    given_alpha, alpha = alpha, alpha_for(data.task, model, alpha, data.n_rows, layers)
    keywords = {"momentum": momentum, "weight_decay": weight_decay}
    estimator = make_model(data.task, model, hidden=hidden, optimizer=optimizer, lr=rate,
                           batch_size=batch, epochs=epochs, early_stopping=early_stopping,
                           seed=seed, scale=scale, verbose=verbose, alpha=alpha,
                           dropout=dropout, clip_norm=clip_norm, batch_norm=batch_norm,
                           activation=activation, layers=layers, input_shape=input_shape,
                           **keywords)
    settings = {"data": str(data.source), "target": target, "task": data.task, "model": model,
                "optimizer": optimizer, "lr": lr if lr is not None else f"{rate:g}",
                "schedule": schedule, "batch_size": "full" if batch is None else str(batch),
                "epochs": epochs, "early_stopping": early_stopping, "validation": validation,
                "seed": seed, "scale": scale}
    if alpha is not None:
        settings["alpha"] = alpha if given_alpha is not None else (
            f"{alpha:.3g} (1/{data.n_rows})" if alpha == 1.0 / data.n_rows else f"{alpha:.3g}")
    settings.update({name: value for name, value in (
        ("dropout", dropout), ("activation", activation),
        ("clip_norm", clip_norm),
        ("momentum", momentum), ("weight_decay", weight_decay)) if value is not None})
    if layers is not None:
        settings["layers"] = [spec["class"] for spec in layers]
        if input_shape is not None:
            settings["input_shape"] = ",".join(map(str, input_shape))
    elif model == "mlp":
        settings["hidden"] = ",".join(map(str, hidden))
        if batch_norm:
            settings["batch_norm"] = True
    if rate is None:
        found = lr_find(estimator, X_train, y_train, random_state=seed)
        rate = found.suggestion
        settings["lr"] = f"auto: {rate:.3g} ({found.rule})"
    if not line_search:
        _set_rate(estimator, optimizer, schedule, rate, keywords, epochs, n_train, batch)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fit_options = {}
    if X_val is not None and not line_search:
        fit_options["validation_data"] = (X_val, y_val)
    if out is not None:
        fit_options.update(checkpoint=out / "checkpoint.ckpt", resume=resume)
    estimator.fit(X_train, y_train, **fit_options)
    estimator.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    run = TrainRun(estimator, data, settings, seconds=time.perf_counter() - start,
                   interrupted=bool(getattr(estimator, "interrupted_", False)),
                   n_train=n_train)
    if data.X is None:
        # measured: outofcore and distributed add ~55 ms to every `steepest --help`
        from steepest.outofcore import score_out_of_core

        settings["where"] = estimator.fitted_on_
        run.scores["train"] = score_out_of_core(estimator, X_train, y_train)
        run.findings = diagnose(estimator, feature_names=data.feature_names)
    else:
        run.scores["train"] = float(estimator.score(X_train, y_train))
        if X_val is not None:
            run.scores["validation"] = float(estimator.score(X_val, y_val))
        run.findings = diagnose(estimator, X=X_train, y=y_train,
                                feature_names=data.feature_names)
        if refit and X_val is not None and not early_stopping and not run.interrupted:
            _refit(run, optimizer=optimizer, schedule=schedule, rate=rate, keywords=keywords,
                   batch=batch, line_search=line_search)
    if out is not None and not run.interrupted:
        _write_outputs(run, out)
    return run


def _set_rate(estimator, optimizer, schedule, rate, keywords, epochs, n_train, batch) -> None:
    """Give a first-order ``estimator`` its rate: ``schedule`` at ``rate`` over the updates of
    ``epochs`` epochs of ``n_train`` rows in batches of ``batch``."""
    steps_per_epoch = 1 if batch is None else math.ceil(n_train / batch)
    estimator.set_params(**optimizer_settings(
        optimizer, make_schedule(schedule, rate, epochs * steps_per_epoch, steps_per_epoch),
        keywords))


def _refit(run: TrainRun, *, optimizer, schedule, rate, keywords, batch, line_search) -> None:
    """Train ``run``'s model again on all the rows, with the validated run's settings (a
    schedule over the updates of the new row count), and make it ``run.model``."""
    from sklearn.base import clone  # measured: scikit-learn costs 0.8 s at import

    data = run.data
    final = clone(run.validated)
    if not line_search:
        _set_rate(final, optimizer, schedule, rate, keywords, final.epochs, data.n_rows, batch)
    if final.verbose:  # the progress lines of a second run need their title
        print(f"Refit on all {data.n_rows} rows, same settings:", file=sys.stderr, flush=True)
    start = time.perf_counter()
    final.fit(data.X, data.y)
    final.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    run.model, run.refit_seconds = final, time.perf_counter() - start


def _save_png(figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())


def _write_outputs(run: TrainRun, out: Path) -> None:
    """The model, the history, the figure and the report, each written atomically; then
    any file of an older run that this one did not write (its checkpoint) is removed."""
    history = run.validated.history_
    run.files["model"] = run.model.save(out / "model.safetensors")
    columns = {"epoch": np.arange(1, len(history["loss"]) + 1)}
    columns.update({k: np.asarray(v, dtype=float) for k, v in history.items()
                    if k != "events" and len(v) == len(history["loss"])})
    run.files["history"] = write_csv(out / "history.csv", columns)
    figure = plot_history(history)
    run.files["curves"] = _save_png(figure, out / "curves.png")
    report = Report(f"steepest train: {run.data.source.name} → {run.data.target}",
                    subtitle=f"{run.data.task}, {run.settings['model']}, "
                             f"{run.seconds:.1f} s")
    add_run_to_report(report, run, figure)
    run.files["report"] = report.write(out / "report.html")
    if (out / "checkpoint.ckpt").exists():
        run.files["checkpoint"] = out / "checkpoint.ckpt"
    written = {Path(path).name for path in run.files.values()}
    for name in RUN_FILES:
        if name not in written:
            (out / name).unlink(missing_ok=True)


def find_rate(data_path, target: str, *, task=None, model="mlp", hidden=(64,),
              optimizer="adam", batch_size=None, seed=0, scale=True, alpha=None, dropout=None,
              clip_norm=None, momentum=None, weight_decay=None, out=None):
    """The LR range test (:func:`steepest.lr_find.lr_find`) for the model the options
    describe; with ``out``, its curve is written to ``out/lr-find.png``.

    Returns ``(result, files)``.
    """
    from matplotlib.figure import Figure

    optimizer = check_optimizer(optimizer)
    if optimizer in LINE_SEARCH:
        raise ParameterError(
            f"lr-find ramps the rate of a first-order optimizer; --optimizer {optimizer} "
            "chooses its own step lengths and needs no rate."
        )
    batch = batch_size_for(optimizer, batch_size)
    check_flag(seed, "--seed", low=0, integer=True)
    data = load_dataset(data_path, target, task)
    alpha = alpha_for(data.task, model, alpha, data.n_rows)   # the model train would fit
    estimator = make_model(data.task, model, hidden=hidden, optimizer=optimizer,
                           batch_size=batch, seed=seed, scale=scale, alpha=alpha,
                           dropout=dropout, clip_norm=clip_norm, momentum=momentum,
                           weight_decay=weight_decay)
    result = lr_find(estimator, data.X, data.y, random_state=seed)
    files = {}
    if out is not None:
        figure = Figure(figsize=(6.4, 4.2), layout="constrained")
        plot_lr_find(result, figure.subplots())
        files["curve"] = _save_png(figure, Path(out) / "lr-find.png")
    return result, files


def predict(model_path, data_path, out=None):
    """Predictions of a saved model for the rows of a table, written to ``out`` as CSV.

    The table needs the model's feature columns (by name, in any order; other
    columns are ignored). Classifiers also give one probability column per class.
    Returns the columns written.
    """
    from steepest.model_files import load  # measured: scikit-learn costs 0.8 s at import

    model = load(model_path)
    names = getattr(model, "feature_names_in_", None)
    table = read_columns(data_path)
    if names is None:
        names = list(table.column_names)[: model.n_features_in_]
    X = feature_matrix(table, list(names), data_path)
    columns = {"prediction": model.predict(X)}
    if hasattr(model, "predict_proba"):
        for label, column in zip(model.classes_, model.predict_proba(X).T, strict=True):
            columns[f"probability_{label}"] = column
    if out is not None:
        write_csv(out, columns)
    return columns
