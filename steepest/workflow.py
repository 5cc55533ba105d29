"""Training on a table and predicting from one: what ``steepest train`` and ``predict`` do.

The command line is a thin layer over :func:`train` and :func:`predict`; they can
be called from Python too::

    from steepest.workflow import train
    run = train("houses.csv", target="price", model="mlp", hidden=(64, 64), out="runs/1")
    run.model.predict(raw_X), run.findings

Everything is checked before any work starts, and every file is written
atomically, so a run that fails leaves what was already in ``out`` as it was.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from steepest import schedules
from steepest._validation import check_number, closest_name
from steepest.errors import ParameterError
from steepest.io import read_table, write_csv

__all__ = ["Dataset", "TrainRun", "comparison_models", "find_rate", "load_dataset", "make_model",
           "predict", "train"]

MODELS = ("linear", "logistic", "mlp")
TASKS = ("classification", "regression")
SCHEDULES = ("constant", "cosine", "exponential", "step", "one-cycle", "warmup-cosine")
_MAX_CLASSES = 20
"""An integer target with at most this many distinct values is taken as class labels."""


@dataclass
class Dataset:
    """The features and the target read from a table."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target: str
    task: str
    source: Path
    detected: str = ""
    """How the task was decided, in words (empty when ``--task`` gave it)."""


@dataclass
class TrainRun:
    """What :func:`train` made."""

    model: object
    data: Dataset
    settings: dict
    findings: list = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    scores: dict[str, float] = field(default_factory=dict)


# -- reading ---------------------------------------------------------------------------------


def _row_place(path: Path, row: int) -> str:
    """Where data row ``row`` (0-based) is, in the words a user of that file uses."""
    if path.suffix.lower() == ".csv":
        return f"row {row + 1}, line {row + 2} of {path.name}"
    return f"row {row + 1}"


def _numeric_column(column, name: str, path: Path) -> np.ndarray:
    """A pyarrow column as float64, or an error naming the column and its first bad row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise ParameterError(
            f"Column {name!r} has {column.null_count} missing value"
            f"{'s' if column.null_count > 1 else ''} (first at {_row_place(path, first)}); "
            "fill them in or drop those rows."
        )
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        if not np.isfinite(values).all():
            first = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ParameterError(
                f"Column {name!r} has a non-finite value {values[first]} (first at "
                f"{_row_place(path, first)}); fix or drop that row."
            )
        return values
    values = column.to_pylist()
    for row, value in enumerate(values):
        try:
            float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"Column {name!r} has a non-numeric value {value!r} (first at "
                f"{_row_place(path, row)}); steepest trains on numbers: encode or drop that "
                "column."
            ) from None
    return np.asarray(values, dtype=np.float64)


def _detect_task(column, name: str) -> tuple[str, str]:
    """``(task, reason)`` from the target column's type and values."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return "classification", f"the target {name!r} holds labels"
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    distinct = np.unique(values)
    if np.all(distinct == np.round(distinct)) and distinct.size <= _MAX_CLASSES:
        return "classification", (f"the target {name!r} holds {distinct.size} distinct whole "
                                  "numbers")
    return "regression", f"the target {name!r} holds {distinct.size} distinct numbers"


def load_dataset(path, target: str, task: str | None = None) -> Dataset:
    """Read ``path`` (CSV or Parquet) and split it into features and the ``target`` column.

    Every other column is a feature and must be numeric (booleans count as 0/1).
    ``task`` (``"classification"`` or ``"regression"``) is detected from the target
    when not given: labels, or at most 20 distinct whole numbers, mean classes.
    """
    path = Path(path)
    if task is not None:
        task = _check_option(task, "--task", TASKS)
    table = read_table(path)
    names = table.column_names
    if target not in names:
        guess = closest_name(target, names)
        hint = f" Did you mean {guess!r}?" if guess else ""
        raise ParameterError(
            f"There is no column {target!r} in {path.name}; its columns are "
            f"{', '.join(map(repr, names))}.{hint}"
        )
    features = [name for name in names if name != target]
    if not features:
        raise ParameterError(f"{path.name} has no column besides the target {target!r}.")
    column = table.column(target)
    if column.null_count:
        _numeric_column(column, target, path)  # raises, naming the first missing target
    detected = ""
    if task is None:
        task, detected = _detect_task(column, target)
    if task == "regression":
        y = _numeric_column(column, target, path)
    else:
        y = np.asarray(column.to_pylist(), dtype=object)
        kinds = {type(v) for v in y}
        if kinds <= {int, float, bool}:
            y = y.astype(np.float64)
            if np.all(y == np.round(y)):
                y = y.astype(np.int64)
        else:
            y = y.astype(str)
        if np.unique(y).size < 2:
            raise ParameterError(
                f"The target {target!r} has a single value ({y[0]!r}) in all {len(y)} rows; "
                "a classifier needs at least two classes. Check --target."
            )
    X = np.column_stack([_numeric_column(table.column(name), name, path) for name in features])
    return Dataset(X, y, features, target, task, path, detected)


# -- building the model ----------------------------------------------------------------------


def _check_option(value: str, flag: str, choices) -> str:
    if value in choices:
        return value
    guess = closest_name(str(value), choices)
    hint = f" Did you mean {guess!r}?" if guess else ""
    raise ParameterError(
        f"{flag} must be one of {', '.join(choices)}; got {value!r}.{hint}"
    )


def parse_batch_size(text: str) -> int | None:
    """``"full"`` → None (batch descent), ``"1"`` → stochastic, ``"k"`` → mini-batches."""
    if str(text).lower() in ("full", "none", "all"):
        return None
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise ParameterError(
            f"--batch-size must be 'full', 1 or a whole number k >= 1; got {text!r}."
        )
    return size


def parse_lr(text) -> float | None:
    """A positive learning rate, or None for ``"auto"`` (the LR range test picks it)."""
    if str(text).lower() == "auto":
        return None
    try:
        lr = float(text)
    except ValueError:
        lr = math.nan
    if not (math.isfinite(lr) and lr > 0):
        raise ParameterError(
            f"--lr must be a positive number such as 0.01, or 'auto'; got {text!r}."
        )
    return lr


def make_schedule(spec: str, lr: float, total_steps: int, steps_per_epoch: int):
    """The ``--schedule`` spec as a rate or a :mod:`steepest.schedules` schedule.

    ``constant``; ``cosine`` (to 0 over the run); ``exponential[:gamma]`` (per
    epoch, default 0.95); ``step[:epochs[:gamma]]`` (default: ×0.1 every third of
    the run); ``one-cycle`` (peak ``lr``); ``warmup-cosine`` (5% linear warm-up,
    then cosine).
    """
    name, *args = str(spec).lower().split(":")
    name = _check_option(name, "--schedule", SCHEDULES)
    try:
        numbers = [float(a) for a in args]
    except ValueError:
        raise ParameterError(f"--schedule {spec!r}: the values after ':' must be numbers.") \
            from None
    if name == "constant":
        return lr
    if name == "cosine":
        return schedules.cosine(lr, total_steps)
    if name == "exponential":
        gamma = numbers[0] if numbers else 0.95
        return schedules.exponential(lr, check_number(gamma, "gamma", "--schedule exponential",
                                                      low=0.0, high=1.0, closed="right")
                                     ** (1 / steps_per_epoch))
    if name == "step":
        every = int(numbers[0]) if numbers else max(1, total_steps // steps_per_epoch // 3)
        gamma = numbers[1] if len(numbers) > 1 else 0.1
        return schedules.step(lr, every * steps_per_epoch, gamma)
    if name == "one-cycle":
        return schedules.one_cycle(lr, max(total_steps, 2))
    warm = max(1, total_steps // 20)
    return schedules.warmup(schedules.cosine(lr, max(total_steps - warm, 1)), warm,
                            start_factor=0.0)


def make_model(task: str, model: str = "mlp", *, hidden=(64,), optimizer: str = "adam",
               lr=None, batch_size=None, epochs: int = 50, early_stopping: bool = False,
               seed: int = 0, scale: bool = True, verbose: bool = False):
    """The estimator the command line options describe (``lr`` may be a schedule)."""
    from steepest import estimators, optim

    model = _check_option(model, "--model", MODELS)
    if model == "logistic" and task == "regression":
        raise ParameterError(
            "--model logistic is a classifier, but the task is regression; use --model linear "
            "or mlp, or --task classification."
        )
    if optimizer.lower() not in (*optim.names(), "lbfgs", "newton"):
        _check_option(optimizer.lower(), "--optimizer", (*optim.names(), "lbfgs", "newton"))
    common = {"optimizer": optimizer.lower(), "batch_size": batch_size, "epochs": epochs,
              "early_stopping": early_stopping, "random_state": seed, "scale": scale,
              "verbose": verbose, "tol": None if not early_stopping else 1e-4}
    if lr is not None:
        common["lr"] = lr
    if model == "mlp":
        cls = estimators.MLPClassifier if task == "classification" else estimators.MLPRegressor
        return cls(tuple(hidden), **common)
    cls = estimators.LogisticRegression if task == "classification" else \
        estimators.LinearRegression
    return cls(**common)


COMPARE_RATES = {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.05,
                 "rmsprop": 1e-3, "adadelta": 1.0, "adam": 1e-3, "adamw": 1e-3, "nadam": 2e-3,
                 "radam": 1e-3, "adamax": 2e-3}
"""Rates :func:`comparison_models` gives each optimizer when no ``lr`` is set: each one's
usual rate for standardised inputs (torch's default for the adaptive ones)."""


def comparison_models(task: str, optimizers, batch_sizes, schedules_=("constant",), *,
                      n_train: int, model="mlp", hidden=(64,), lr=None, epochs=30,
                      seed=0) -> dict:
    """One estimator per (optimizer, batch size, schedule), labelled by what varies
    (``"adam, batch 32, cosine"``).

    ``momentum`` and ``nesterov`` are SGD with momentum 0.9; each optimizer gets
    its :data:`COMPARE_RATES` rate unless ``lr`` is given. ``n_train`` (the rows
    trained on) sets the number of updates a schedule spans.
    """
    from itertools import product

    from steepest import optim

    for name in optimizers:
        _check_option(name, "--optimizers", tuple(COMPARE_RATES))
    models = {}
    for name, text, spec in product(optimizers, batch_sizes, schedules_):
        batch = parse_batch_size(text)
        steps = 1 if batch is None else math.ceil(n_train / batch)
        rate = make_schedule(spec, lr if lr is not None else COMPARE_RATES[name],
                             epochs * steps, steps)
        estimator = make_model(task, model, hidden=hidden, lr=rate, batch_size=batch,
                               epochs=epochs, seed=seed)
        if name in ("momentum", "nesterov"):
            estimator.set_params(optimizer=optim.SGD(lr=rate, momentum=0.9,
                                                     nesterov=name == "nesterov"))
        else:
            estimator.set_params(optimizer=name)
        label = [name]
        if len(batch_sizes) > 1:
            label.append(f"batch {'full' if batch is None else batch}")
        if len(schedules_) > 1:
            label.append(spec)
        models[", ".join(label)] = estimator
    return models


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"64,32"`` → (64, 32)."""
    try:
        sizes = tuple(int(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise ParameterError(f"--hidden must be layer widths such as 64 or 64,32; got {text!r}.")
    return sizes


# -- the run ---------------------------------------------------------------------------------


def _split(data: Dataset, fraction: float, seed: int):
    from steepest.data import train_validation_split

    return train_validation_split(data.X, data.y, fraction,
                                  stratify=data.task == "classification", random_state=seed)


def train(data_path, target: str, *, task=None, model="mlp", hidden=(64,), optimizer="adam",
          lr="0.001", schedule="constant", batch_size="32", epochs=50, early_stopping=False,
          validation=0.2, seed=0, scale=True, out=None, resume=False,
          verbose=False) -> TrainRun:
    """Train a model on a table and, with ``out``, write everything the run made.

    ``validation`` (a fraction, 0 for none) of the rows, stratified for
    classification, is held out and scored after every epoch: that gives the
    validation curve the diagnosis needs to see overfitting. ``out`` receives
    ``model.safetensors``, ``history.csv``, ``curves.png``, ``report.html`` and
    ``checkpoint.ckpt`` (saved every epoch; ``resume=True`` continues from it).
    """
    from steepest.diagnose import diagnose

    batch = parse_batch_size(batch_size)
    rate = parse_lr(lr)
    check_number(epochs, "--epochs", "train", low=1, integer=True)
    check_number(validation, "--validation", "train", low=0.0, high=1.0)
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ParameterError("--resume continues the run saved in --out DIR; give --out too.")
    if resume and not (out / "checkpoint.ckpt").exists():
        raise ParameterError(
            f"--resume: there is no checkpoint in {out} (expected {out / 'checkpoint.ckpt'}); "
            "start without --resume."
        )
    data = load_dataset(data_path, target, task)
    if validation > 0:
        X_train, X_val, y_train, y_val = _split(data, validation, seed)
    else:
        X_train, X_val, y_train, y_val = data.X, None, data.y, None
    estimator = make_model(data.task, model, hidden=hidden, optimizer=optimizer, lr=rate,
                           batch_size=batch, epochs=epochs, early_stopping=early_stopping,
                           seed=seed, scale=scale, verbose=verbose)
    settings = {"data": str(data.source), "target": target, "task": data.task, "model": model,
                "optimizer": optimizer, "lr": lr, "schedule": schedule, "batch_size": batch_size,
                "epochs": epochs, "early_stopping": early_stopping, "validation": validation,
                "seed": seed, "scale": scale}
    if model == "mlp":
        settings["hidden"] = ",".join(map(str, hidden))
    if rate is None:
        from steepest.lr_find import lr_find

        found = lr_find(estimator, X_train, y_train, random_state=seed)
        rate = found.suggestion
        settings["lr"] = f"auto: {rate:.3g} ({found.rule})"
    steps_per_epoch = 1 if batch is None else math.ceil(len(X_train) / batch)
    estimator.set_params(lr=make_schedule(schedule, rate, epochs * steps_per_epoch,
                                          steps_per_epoch))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fit_options = {}
    if X_val is not None and estimator.optimizer not in ("lbfgs", "newton"):
        fit_options["validation_data"] = (X_val, y_val)
    if out is not None and estimator.optimizer not in ("lbfgs", "newton"):
        fit_options.update(checkpoint=out / "checkpoint.ckpt", resume=resume)
    estimator.fit(X_train, y_train, **fit_options)
    estimator.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    run = TrainRun(estimator, data, settings, seconds=time.perf_counter() - start,
                   interrupted=bool(getattr(estimator, "interrupted_", False)))
    run.scores["train"] = float(estimator.score(X_train, y_train))
    if X_val is not None:
        run.scores["validation"] = float(estimator.score(X_val, y_val))
    run.findings = diagnose(estimator, X=data.X, feature_names=data.feature_names)
    if out is not None and not run.interrupted:
        _write_outputs(run, out)
    return run


def _write_outputs(run: TrainRun, out: Path) -> None:
    """The model, the history, the figure and the report, each written atomically."""
    from steepest.report import Report

    history = run.model.history_
    run.files["model"] = run.model.save(out / "model.safetensors")
    columns = {"epoch": np.arange(1, len(history["loss"]) + 1)}
    columns.update({k: np.asarray(v, dtype=float) for k, v in history.items()
                    if isinstance(v, list) and k != "events" and len(v) == len(history["loss"])})
    run.files["history"] = write_csv(out / "history.csv", columns)
    figure = plot_history(history)
    run.files["curves"] = _save_png(figure, out / "curves.png")
    report = Report(f"steepest train: {run.data.source.name} → {run.data.target}",
                    subtitle=f"{run.data.task}, {run.settings['model']}, "
                             f"{run.seconds:.1f} s")
    add_run_to_report(report, run, figure)
    run.files["report"] = report.write(out / "report.html")


def _save_png(figure, path: Path) -> Path:
    import io as _io

    from steepest.io import atomic_write_bytes

    buffer = _io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())


def plot_history(history: dict):
    """Three panels: training (and validation) loss, learning rate, gradient norm per epoch."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.4), layout="constrained")
    loss_ax, lr_ax, grad_ax = figure.subplots(1, 3)
    epochs = np.arange(1, len(history["loss"]) + 1)
    loss_ax.plot(epochs, history["loss"], label="training", color="#0072B2")
    if "val_loss" in history:
        loss_ax.plot(epochs, history["val_loss"], label="validation", color="#D55E00")
    loss = np.asarray(history["loss"], dtype=float)
    if np.all(loss[np.isfinite(loss)] > 0) and np.nanmax(loss) > 20 * np.nanmin(loss):
        loss_ax.set_yscale("log")
    loss_ax.set(title="Loss", xlabel="epoch")
    loss_ax.legend(frameon=False)
    lr_ax.plot(epochs, history["lr"], color="#009E73")
    lr_ax.set(title="Learning rate (last update of the epoch)", xlabel="epoch", ylim=(0, None))
    grad_ax.plot(epochs, history["grad_norm"], color="#CC79A7", label="all parameters")
    layers = [key for key in history if key.startswith("grad_norm/")]
    for shade, key in zip(np.linspace(0.35, 0.85, len(layers)), layers, strict=True):
        grad_ax.plot(epochs, history[key], color=str(shade), linewidth=1,
                     label=f"layer {key.removeprefix('grad_norm/')}")
    grad_ax.set(title="Gradient norm", xlabel="epoch", yscale="log")
    if len(layers) > 1:
        grad_ax.legend(frameon=False, fontsize="small")
    for ax in (loss_ax, lr_ax, grad_ax):
        ax.grid(alpha=0.3)
    return figure


def add_findings(report, findings) -> None:
    """Each finding of :func:`steepest.diagnose.diagnose` as a coloured note."""
    for finding in findings:
        report.add_note(finding.title, {"seen": finding.evidence, "do": finding.advice},
                        kind=finding.severity)


def add_run_to_report(report, run: TrainRun, figure=None) -> None:
    """Settings, data summary, curves and the diagnosis of one run."""
    data, model = run.data, run.model
    report.add_heading("Result")
    scores = ", ".join(f"{name} {value:.4g}" for name, value in run.scores.items())
    metric = "accuracy" if data.task == "classification" else "R²"
    report.add_paragraph(
        f"{len(model.history_['loss'])} epochs in {run.seconds:.2f} s; final training loss "
        f"{model.history_['loss'][-1]:.4g}; {metric}: {scores}."
    )
    report.add_heading("Diagnosis")
    add_findings(report, run.findings)
    report.add_heading("Curves")
    report.add_figure(figure if figure is not None else plot_history(model.history_),
                      caption="Per epoch: loss (training and validation), the learning rate of "
                              "the epoch's last update, the norm of the last gradient (in all "
                              "and per layer's weights: a first layer far below the last one "
                              "means vanishing gradients).")
    report.add_heading("Settings")
    report.add_table([[k, str(v)] for k, v in run.settings.items()], ["setting", "value"])
    report.add_heading("Data")
    report.add_paragraph(
        f"{len(data.X)} rows, {len(data.feature_names)} features, target {data.target!r} "
        f"({data.task}{'; ' + data.detected if data.detected else ''})."
    )
    std = data.X.std(axis=0)
    rows = [[name, float(data.X[:, j].mean()), float(std[j]), float(data.X[:, j].min()),
             float(data.X[:, j].max())] for j, name in enumerate(data.feature_names)]
    report.add_table(rows, ["feature", "mean", "std", "min", "max"],
                     formats={"mean": ".4g", "std": ".4g", "min": ".4g", "max": ".4g"})


def find_rate(data_path, target: str, *, task=None, model="mlp", hidden=(64,),
              optimizer="adam", batch_size="32", seed=0, scale=True, out=None):
    """The LR range test (:func:`steepest.lr_find.lr_find`) for the model the options
    describe; with ``out``, its curve is written to ``out/lr-find.png``.

    Returns ``(result, files)``.
    """
    from matplotlib.figure import Figure

    from steepest.lr_find import lr_find, plot_lr_find

    data = load_dataset(data_path, target, task)
    estimator = make_model(data.task, model, hidden=hidden, optimizer=optimizer,
                           batch_size=parse_batch_size(batch_size), seed=seed, scale=scale)
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
    from steepest import load

    model = load(model_path)
    names = getattr(model, "feature_names_in_", None)
    table = read_table(data_path)
    path = Path(data_path)
    if names is None:
        names = [n for n in table.column_names][: model.n_features_in_]
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise ParameterError(
            f"{path.name} lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} the model was trained on."
        )
    X = np.column_stack([_numeric_column(table.column(n), n, path) for n in names])
    columns = {"prediction": model.predict(X)}
    if hasattr(model, "predict_proba"):
        for label, column in zip(model.classes_, model.predict_proba(X).T, strict=True):
            columns[f"probability_{label}"] = column
    if out is not None:
        write_csv(out, columns)
    return columns
