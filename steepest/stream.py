r"""Data larger than memory: the rows of Parquet (or CSV) files, a few row groups at a time.

::

    from steepest.stream import ParquetStream

    stream = ParquetStream("big.parquet", target="y", random_state=0)
    stats = stream.statistics()          # one streaming pass: n_rows, mean, std (+ the target's)
    for X, y in stream.blocks():         # every row once, in file order (one evaluation)
        ...
    for X, y in stream.epoch():          # every row once, shuffled (one epoch)
        ...
    for X, y in stream.batches(32):      # that epoch cut into batches of 32
        ...

Parquet files are read one row group at a time with pyarrow's ``ParquetFile``
(``pre_buffer=False``: no read-ahead of the whole file), CSV files with pyarrow's
streaming CSV reader, one block at a time. An epoch visits the row groups in a new
order (drawn from ``random_state``) and shuffles the rows within a buffer of about
``shuffle_buffer`` rows (whole row groups), so the rows a batch mixes change from
epoch to epoch while the memory held is the buffer, never the file: the peak is about
the buffer plus two row groups (the one being read as Arrow and as NumPy). CSV
blocks cannot be read out of order: a CSV epoch shuffles within the buffer only.

The statistics come from one pass with Chan et al.'s pairwise update of the count,
mean and sum of squared deviations (``M2``): merging a block of ``n_b`` rows with
mean ``m_b`` and ``M2_b`` into ``(n, m, M2)`` gives

.. math::

    \delta = m_b - m,\quad n' = n + n_b,\quad m' = m + \delta\,\frac{n_b}{n'},\quad
    M_2' = M_2 + M_{2,b} + \delta^2\,\frac{n\,n_b}{n'},

and the standard deviation is :math:`\sqrt{M_2 / n}` (``ddof=0``, as
``StandardScaler``): equal to the in-memory statistics to rounding.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steepest._validation import check_number
from steepest.data import as_generator
from steepest.errors import FileFormatError, ParameterError

__all__ = ["ParquetStream", "StreamStatistics"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv",)
_MAX_LABELS = 10_000
"""A target with more distinct values than this has no ``labels`` (it is continuous)."""
_CSV_BLOCK_BYTES = 1 << 22
"""Bytes of CSV text the streaming reader parses per block (its row group)."""


@dataclass(frozen=True)
class StreamStatistics:
    """What one streaming pass learns about the data.

    Attributes
    ----------
    n_rows : int
    mean, std : ndarray of shape (n_features,)
        Per feature column, ``std`` with ``ddof=0``.
    target_mean, target_std : float or None
        Of a numeric target; None for a target of labels (strings).
    labels : ndarray or None
        The sorted distinct target values, None when there are more than 10,000.
    """

    n_rows: int
    mean: np.ndarray
    std: np.ndarray
    target_mean: float | None
    target_std: float | None
    labels: np.ndarray | None


class _Moments:
    """Running count, mean and M2 of the columns of the blocks it is given (Chan et al.)."""

    def __init__(self, width: int) -> None:
        self.n = 0
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)

    def add(self, block: np.ndarray) -> None:
        n_b = block.shape[0]
        if n_b == 0:
            return
        block = block.astype(np.float64, copy=False)
        mean_b = block.mean(axis=0)
        m2_b = np.square(block - mean_b).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + np.square(delta) * (self.n * n_b / n)
        self.n = n

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / self.n)


def _expand(paths) -> list[Path]:
    """A path, a glob pattern, a folder (its Parquet and CSV files) or a sequence of them."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ParameterError("ParquetStream needs at least one file; got an empty list.")
    files: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if any(char in text for char in "*?["):
            matches = sorted(glob.glob(text))
            if not matches:
                raise FileFormatError(f"No file matches the pattern '{text}'.")
            files.extend(Path(m) for m in matches)
        elif Path(text).is_dir():
            inside = sorted(p for p in Path(text).iterdir()
                            if p.suffix.lower() in _PARQUET + _CSV)
            if not inside:
                raise FileFormatError(f"The folder '{text}' holds no Parquet or CSV file.")
            files.extend(inside)
        else:
            files.append(Path(text))
    for path in files:
        if not path.exists():
            raise FileFormatError(f"No such file: '{path}'.")
        if path.suffix.lower() not in _PARQUET + _CSV:
            raise FileFormatError(
                f"'{path}' has the suffix '{path.suffix}'; a stream reads Parquet (.parquet, "
                ".pq) and CSV (.csv) files."
            )
    kinds = {path.suffix.lower() in _CSV for path in files}
    if len(kinds) > 1:
        raise FileFormatError("A stream reads Parquet files or CSV files, not both at once.")
    return files


class ParquetStream:
    """The rows of one or more Parquet (or CSV) files, read a row group at a time.

    Parameters
    ----------
    paths : str, path-like, or sequence of them
        Files, folders (their ``.parquet``/``.pq``/``.csv`` files, sorted) or glob
        patterns; all of one kind, with the same columns.
    target : str
        The column to predict.
    columns : sequence of str, optional
        The feature columns, in this order; default: every column but ``target``,
        in the files' order. They must be numeric (integers, floats, booleans).
    batch_rows : int, default=65536
        The most rows in one block that :meth:`blocks` and :meth:`epoch` yield.
    shuffle_buffer : int, default=262144
        About how many rows an epoch shuffles together: whole row groups are added
        to the buffer until it holds at least this many, then its rows are yielded
        in a random order. 0 or 1 keeps the rows of a row group in their order
        (the row groups are still visited in a new order).
    dtype : {"float64", "float32"}, default="float64"
        The dtype of the feature blocks.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the order of each epoch (a new one per call of :meth:`epoch`).

    Attributes
    ----------
    files : list of Path
    feature_names : list of str
    n_features : int
    n_rows : int or None
        Known from the Parquet metadata without reading; for CSV after the first pass.
    """

    def __init__(self, paths, target: str, columns: Sequence[str] | None = None, *,
                 batch_rows: int = 65536, shuffle_buffer: int = 262144, dtype="float64",
                 random_state=None) -> None:
        owner = "ParquetStream"
        check_number(batch_rows, "batch_rows", owner, low=1, integer=True)
        check_number(shuffle_buffer, "shuffle_buffer", owner, low=0, integer=True)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(
                f"The 'dtype' parameter of ParquetStream must be 'float32' or 'float64'. Got "
                f"{dtype!r} instead."
            )
        self.files = _expand(paths)
        self.csv = self.files[0].suffix.lower() in _CSV
        self.target = target
        self.batch_rows, self.shuffle_buffer = int(batch_rows), int(shuffle_buffer)
        self.rng = as_generator(random_state, owner)
        names = self._check_schemas()
        if target not in names:
            raise ParameterError(
                f"The target column {target!r} is not in '{self.files[0]}'; its columns are: "
                f"{', '.join(names)}."
            )
        if columns is None:
            columns = [name for name in names if name != target]
        else:
            columns = list(columns)
            missing = [c for c in columns if c not in names]
            if missing:
                raise ParameterError(
                    f"The column(s) {', '.join(map(repr, missing))} are not in "
                    f"'{self.files[0]}'; its columns are: {', '.join(names)}."
                )
            if target in columns:
                raise ParameterError(f"The target {target!r} cannot also be a feature column.")
        if not columns:
            raise ParameterError(f"'{self.files[0]}' has no feature column beside {target!r}.")
        self.feature_names = columns
        self.n_features = len(columns)
        self._units = None if self.csv else self._row_groups()
        self.n_rows = None if self.csv else sum(unit[2] for unit in self._units)
        self._statistics: StreamStatistics | None = None

    # -- files -------------------------------------------------------------------------

    def _schema(self, path: Path):
        import pyarrow as pa

        try:
            if self.csv:
                from pyarrow import csv

                with csv.open_csv(path) as reader:
                    return reader.schema
            from pyarrow import parquet

            return parquet.ParquetFile(path, pre_buffer=False).schema_arrow
        except (pa.ArrowInvalid, OSError) as error:
            raise FileFormatError(f"Could not read '{path}': {_first_line(error)}") from None

    def _check_schemas(self) -> list[str]:
        import pyarrow as pa

        first = self._schema(self.files[0])
        names = list(first.names)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise FileFormatError(
                f"'{self.files[0]}' has more than one column named "
                f"{', '.join(map(repr, repeated))}; rename them so each name is used once."
            )
        for path in self.files[1:]:
            if list(self._schema(path).names) != names:
                raise FileFormatError(
                    f"'{path}' does not have the columns of '{self.files[0]}' "
                    f"({', '.join(names)}); every file of a stream needs the same columns."
                )
        self._numeric = {field.name for field in first
                         if pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
                         or pa.types.is_boolean(field.type)}
        return names

    def _row_groups(self) -> list[tuple[int, int, int]]:
        """``(file index, row group, rows, first row in its file)`` of every non-empty row
        group."""
        from pyarrow import parquet

        for name in self.feature_names:
            if name not in self._numeric:
                raise FileFormatError(
                    f"The column {name!r} of '{self.files[0]}' is not numeric; encode it as "
                    "numbers or leave it out with columns=[...]."
                )
        units = []
        for f, path in enumerate(self.files):
            metadata, start = parquet.ParquetFile(path, pre_buffer=False).metadata, 0
            for g in range(metadata.num_row_groups):
                rows = metadata.row_group(g).num_rows
                if rows:
                    units.append((f, g, rows, start))
                start += rows
        if not units:
            raise FileFormatError(f"'{self.files[0]}' has no data rows.")
        return units

    def _arrays(self, table, path: Path, first_row: int) -> tuple[np.ndarray, np.ndarray]:
        """A table's features as a (rows, n_features) block and its target, checked."""
        X = np.empty((table.num_rows, self.n_features), self.dtype)
        for j, name in enumerate(self.feature_names):
            column = table.column(name)
            if column.null_count:
                row = first_row + int(np.flatnonzero(column.is_null().to_numpy(
                    zero_copy_only=False))[0])
                raise FileFormatError(
                    f"The column {name!r} of '{path}' has an empty value at row {row}; fill "
                    "or drop the missing values first."
                )
            X[:, j] = column.to_numpy(zero_copy_only=False)
        finite = np.isfinite(X)
        if not finite.all():
            i, j = np.argwhere(~finite)[0]
            raise FileFormatError(
                f"The column {self.feature_names[j]!r} of '{path}' holds {X[i, j]} at row "
                f"{first_row + int(i)}; replace the non-finite values first."
            )
        column = table.column(self.target)
        if column.null_count:
            row = first_row + int(np.flatnonzero(column.is_null().to_numpy(
                zero_copy_only=False))[0])
            raise FileFormatError(
                f"The target column {self.target!r} of '{path}' has an empty value at row "
                f"{row}; drop the rows without a target first."
            )
        return X, column.to_numpy(zero_copy_only=False)

    def _read_units(self, order) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The row groups (CSV: blocks) in ``order`` (None: file order) as arrays."""
        if self.csv:
            yield from self._read_csv()
            return
        from pyarrow import parquet

        files: dict[int, object] = {}
        columns = [*self.feature_names, self.target]
        for index in (range(len(self._units)) if order is None else order):
            f, g, _, start = self._units[index]
            if f not in files:
                files.clear()  # one file open at a time
                files[f] = parquet.ParquetFile(self.files[f], pre_buffer=False)
            yield self._arrays(files[f].read_row_group(g, columns=columns), self.files[f],
                               start)

    def _read_csv(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import pyarrow as pa
        from pyarrow import csv

        types = {name: pa.float64() for name in self.feature_names}
        convert = csv.ConvertOptions(include_columns=[*self.feature_names, self.target],
                                     column_types=types)
        read = csv.ReadOptions(block_size=_CSV_BLOCK_BYTES)
        for path in self.files:
            row = 0
            try:
                with csv.open_csv(path, read_options=read, convert_options=convert) as reader:
                    for batch in reader:
                        if batch.num_rows:
                            yield self._arrays(pa.Table.from_batches([batch]), path, row)
                            row += batch.num_rows
            except pa.ArrowInvalid as error:
                raise FileFormatError(
                    f"Could not read '{path}' after row {row}: {_first_line(error)}. The "
                    "feature columns must hold numbers."
                ) from None

    # -- passes ------------------------------------------------------------------------

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every row once, in file order, in blocks of at most ``batch_rows``: ``(X, y)``
        with X of shape (rows, n_features) in ``dtype``. One full-batch evaluation."""
        for X, y in self._read_units(None):
            yield from _slices(X, y, self.batch_rows)

    def epoch(self, rng: np.random.Generator | None = None
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every row once, shuffled, in blocks of at most ``batch_rows``.

        The row groups come in a new random order and the rows of about
        ``shuffle_buffer`` rows' worth of row groups are yielded in a random order.
        The order is drawn from ``rng`` (default: the stream's own generator, advanced
        by each epoch), so a trainer can pass the generator its checkpoints keep.
        """
        rng = self.rng if rng is None else rng
        order = None if self.csv else rng.permutation(len(self._units))
        buffer: list[tuple[np.ndarray, np.ndarray]] = []
        held = 0
        for X, y in self._read_units(order):
            buffer.append((X, y))
            held += X.shape[0]
            if held >= self.shuffle_buffer:
                yield from self._shuffled(buffer, rng)
                buffer, held = [], 0
        if buffer:
            yield from self._shuffled(buffer, rng)

    def _shuffled(self, buffer, rng) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The rows of the buffered row groups in a random order, gathered a block at a
        time (never a shuffled copy of the whole buffer)."""
        sizes = np.array([X.shape[0] for X, _ in buffer])
        if self.shuffle_buffer <= 1:
            for X, y in buffer:
                yield from _slices(X, y, self.batch_rows)
            return
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        order = rng.permutation(int(offsets[-1]))
        for a in range(0, order.size, self.batch_rows):
            rows = order[a:a + self.batch_rows]
            unit = np.searchsorted(offsets, rows, side="right") - 1
            X = np.empty((rows.size, self.n_features), self.dtype)
            y = np.empty(rows.size, buffer[0][1].dtype)
            for u in np.unique(unit):
                here = unit == u
                local = rows[here] - offsets[u]
                X[here] = buffer[u][0][local]
                y[here] = buffer[u][1][local]
            yield X, y

    def batches(self, batch_size: int, rng: np.random.Generator | None = None
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One :meth:`epoch` cut into batches of ``batch_size`` rows (the last holds the
        rest): every row exactly once. Rows left over at the end of a block open the
        next batch."""
        check_number(batch_size, "batch_size", "ParquetStream.batches", low=1, integer=True)
        X_left = y_left = None
        for X, y in self.epoch(rng):
            if X_left is not None:
                X, y = np.concatenate((X_left, X)), np.concatenate((y_left, y))
                X_left = y_left = None
            whole = X.shape[0] - X.shape[0] % batch_size
            for a in range(0, whole, batch_size):
                yield X[a:a + batch_size], y[a:a + batch_size]
            if whole < X.shape[0]:
                X_left, y_left = X[whole:], y[whole:]
        if X_left is not None:
            yield X_left, y_left

    def statistics(self) -> StreamStatistics:
        """The count, mean and standard deviation of every feature (and of a numeric
        target, and its distinct values), from one streaming pass; computed once."""
        if self._statistics is None:
            features = _Moments(self.n_features)
            target = None
            labels: np.ndarray | None = np.array([])
            for X, y in self.blocks():
                features.add(X)
                if y.dtype.kind in "biuf":
                    if target is None:
                        target = _Moments(1)
                    target.add(y.reshape(-1, 1))
                if labels is not None:
                    labels = np.union1d(labels, np.unique(y)) if labels.size else np.unique(y)
                    if labels.size > _MAX_LABELS:
                        labels = None
            self.n_rows = features.n
            self._statistics = StreamStatistics(
                n_rows=features.n, mean=features.mean, std=features.std,
                target_mean=None if target is None else float(target.mean[0]),
                target_std=None if target is None else float(target.std[0]),
                labels=labels)
        return self._statistics

    def __repr__(self) -> str:
        files = self.files[0] if len(self.files) == 1 else f"{len(self.files)} files"
        return (f"ParquetStream('{files}', target={self.target!r}, n_features={self.n_features}, "
                f"n_rows={self.n_rows})")


def _slices(X: np.ndarray, y: np.ndarray, rows: int):
    for a in range(0, X.shape[0], rows):
        yield X[a:a + rows], y[a:a + rows]


def _first_line(error: Exception) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__
