"""Reading a table (CSV or Parquet) into features and a target, as ``steepest train`` does.

::

    from steepest.tables import load_dataset
    data = load_dataset("houses.csv", target="price")   # task detected from the target
    data.X, data.y, data.feature_names, data.task

Every column but the target is a feature and must be numeric; a bad value is
reported by column and row (and line, in a CSV), in the words of the file's
user. pyarrow loads on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steepest._validation import closest_name
from steepest.cli_values import TASKS, check_choice
from steepest.errors import ParameterError
from steepest.io import read_table

__all__ = ["Dataset", "check_out_of_core", "feature_matrix", "load_dataset", "open_out_of_core",
           "read_columns"]

_MAX_CLASSES = 20
"""An integer target with at most this many distinct values is taken as class labels."""


@dataclass
class Dataset:
    """The features and the target read from a table.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_features), or None
        The feature columns as float64, in the table's order; None for data that stay
        where they are (a stream, a Dask cluster: ``source_data`` holds them).
    y : ndarray of shape (n_rows,), or None
        The target: float64 for regression; int64 or str labels for classification.
    feature_names : list of str
    target : str
    task : {"classification", "regression"}
    source : Path
    detected : str
        How the task was decided, in words (empty when it was given).
    source_data : tuple, optional
        ``fit``'s arguments when X is None: ``(ParquetStream,)`` or ``(dask X, dask y)``.
    rows : int
        The row count when X is None.
    """

    X: np.ndarray | None
    y: np.ndarray | None
    feature_names: list[str]
    target: str
    task: str
    source: Path
    detected: str = ""
    source_data: tuple = ()
    rows: int = 0

    @property
    def n_rows(self) -> int:
        return len(self.X) if self.X is not None else self.rows


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
    whole = bool(np.all(distinct == np.round(distinct)))
    if whole and distinct.size <= _MAX_CLASSES and values.size >= 2 * distinct.size:
        return "classification", (f"the target {name!r} holds {distinct.size} distinct whole "
                                  "numbers")
    if whole and distinct.size <= _MAX_CLASSES:  # classes need two rows each, on average
        return "regression", (f"the target {name!r} holds {distinct.size} distinct numbers in "
                              f"{values.size} rows, too many to be classes")
    return "regression", f"the target {name!r} holds {distinct.size} distinct numbers"


def read_columns(path):
    """The table in ``path`` (a ``pyarrow.Table``; :func:`steepest.io.read_table` refuses
    two columns of one name)."""
    return read_table(Path(path))


def feature_matrix(table, names, path) -> np.ndarray:
    """The columns ``names`` of ``table`` as a float64 array of shape (n_rows, len(names)),
    each checked to be numeric and complete (see :func:`load_dataset`)."""
    path = Path(path)
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise ParameterError(
            f"{path.name} lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} the model was trained on."
        )
    return np.column_stack([_numeric_column(table.column(name), name, path) for name in names])


def load_dataset(path, target: str, task: str | None = None) -> Dataset:
    """Read ``path`` (CSV or Parquet) and split it into features and the ``target`` column.

    Every other column is a feature and must be numeric (booleans count as 0/1).
    ``task`` (``"classification"`` or ``"regression"``) is detected from the target
    when not given: labels, or at most 20 distinct whole numbers, mean classes.
    """
    path = Path(path)
    if task is not None:
        task = check_choice(task, "--task", TASKS)
    table = read_columns(path)
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
                f"The target {target!r} has a single value ({y[0].item()!r}) in all {len(y)} "
                "rows; a classifier needs at least two classes. Check --target."
            )
    return Dataset(feature_matrix(table, features, path), y, features, target, task, path,
                   detected)


# -- tables that stay where they are ----------------------------------------------------------


def check_out_of_core(stream: bool, workers, scheduler, *, lr,
                      early_stopping: bool, validation) -> bool:
    """Whether the run reads its table out of core (``--stream``, ``--workers``,
    ``--scheduler``); the flags that cannot go with those are refused, naming both."""
    chosen = [flag for flag, on in (("--stream", stream), ("--workers", workers is not None),
                                    ("--scheduler", scheduler is not None)) if on]
    if len(chosen) > 1:
        raise ParameterError(
            f"{chosen[0]} and {chosen[1]} are two ways to read the data: give one of them."
        )
    if not chosen:
        return False
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"--workers must be a whole number >= 1; got {workers}.")
    conflicts = [flag for flag, on in (
        ("--lr auto", isinstance(lr, str) and lr.strip().lower() == "auto"),
        ("--early-stopping", early_stopping),
        ("--validation", validation is not None and validation > 0)) if on]
    if conflicts:
        raise ParameterError(
            f"{chosen[0]} fits where the data are, in passes over them; it does not take "
            f"{conflicts[0]} yet: drop {conflicts[0].split()[0]}."
        )
    return True


def _task_from_labels(labels, numeric: bool, target: str, task: str | None):
    if task is not None:
        return task, ""
    if not numeric:
        return "classification", f"the target {target!r} holds labels"
    if labels is not None and labels.size <= _MAX_CLASSES and np.all(labels == np.round(labels)):
        return "classification", (f"the target {target!r} holds {labels.size} distinct whole "
                                  "numbers")
    return "regression", f"the target {target!r} holds more than {_MAX_CLASSES} distinct numbers"


def open_out_of_core(path, target: str, task: str | None = None, *, stream: bool = False,
                     workers: int | None = None, scheduler: str | None = None,
                     context) -> Dataset:
    """A :class:`Dataset` whose rows stay where they are: a ``ParquetStream`` of ``path``
    (``stream``), or a Dask DataFrame read on a ``LocalCluster`` of ``workers`` processes
    made for the run, or on the cluster at ``scheduler``. ``context`` (an ``ExitStack``)
    closes the cluster and client when the run ends. The task is detected from the
    target's distinct values as :func:`load_dataset` does."""
    path = Path(path)
    if task is not None:
        task = check_choice(task, "--task", TASKS)
    if stream:
        from steepest.stream import ParquetStream

        source = ParquetStream(path, target)
        stats = source.statistics()
        numeric = stats.target_mean is not None
        task, detected = _task_from_labels(stats.labels, numeric, target, task)
        return Dataset(None, None, list(source.feature_names), target, task, path, detected,
                       source_data=(source,), rows=stats.n_rows)
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError(
            "--workers and --scheduler need Dask: pip install 'steepest[dask]'."
        ) from None
    if scheduler is not None:
        try:
            context.enter_context(Client(scheduler, timeout="10s"))
        except OSError as error:
            raise ParameterError(
                f"--scheduler {scheduler}: no Dask scheduler answered there ({error}). Start "
                "one (dask scheduler) or give --workers N for a cluster on this machine."
            ) from None
    else:
        cluster = context.enter_context(LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0"))
        context.enter_context(Client(cluster))
    if not path.exists():
        raise ParameterError(f"No such file: '{path}'.")
    frame = dd.read_csv(path) if path.suffix.lower() == ".csv" else dd.read_parquet(path)
    if target not in frame.columns:
        raise ParameterError(
            f"There is no column {target!r} in {path.name}; its columns are "
            f"{', '.join(map(repr, frame.columns))}."
        )
    features = [str(c) for c in frame.columns if c != target]
    X, y = frame[features], frame[target]
    numeric = y.dtype.kind in "biuf"
    distinct = int(y.nunique().compute())
    labels = np.sort(y.unique().compute().to_numpy()) if distinct <= _MAX_CLASSES else None
    task, detected = _task_from_labels(labels, numeric, target, task)
    return Dataset(None, None, features, target, task, path, detected,
                   source_data=(X, y), rows=len(y))
