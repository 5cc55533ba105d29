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
the buffer plus two row groups (the one being read, as Arrow and as its columns' copy).
CSV blocks cannot be read out of order: a CSV epoch shuffles within the buffer only.

An epoch reads on a second thread: it writes each row group (checked, and standardised
for :meth:`ParquetStream.batches` with a ``mean`` and ``scale``) into the places of the
rows the epoch has already yielded, in one compiled pass that releases the GIL, so the
next buffer fills while the training steps on this one; the batches are gathered from
the buffer as an in-memory epoch gathers them from its array. Only the first buffer is
waited for.

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
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

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
_FREE_EVERY = 8192
"""Rows an epoch yields before it gives their places in the shuffle buffer back."""


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
        self._buffers: dict[str, np.ndarray] = {}  # the shuffle buffer and the block out

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
                f"'{self.files[0]}' has two columns named {repeated[0]!r}; give every column "
                "its own name."
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

    def _features(self, table, path: Path, first_row: int, out: np.ndarray | None = None,
                  places: np.ndarray | None = None, mean: np.ndarray | None = None,
                  scale: np.ndarray | None = None, scratch: dict | None = None) -> np.ndarray:
        """A table's feature columns, checked, as rows: into ``out`` (default: a new
        (rows, n_features) block in ``dtype``) at the rows ``places`` (default: in order),
        standardised, ``(x - mean) / scale``, when ``mean`` is given.

        The columns are first set side by side in row order, by pyarrow in one call
        (``RecordBatch.to_tensor``, numeric columns) or else column by column into a
        float64 block (``scratch["rows"]``, kept for the next table: fresh memory each
        time costs as much again in page faults); then one compiled pass writes the rows
        where they go (:func:`steepest._stream_kernels.place_rows`). Few calls, each
        without the GIL: on the epoch's reading thread each call that takes the GIL back
        waits for the training thread to let it go.
        """
        import pyarrow as pa

        from steepest._stream_kernels import place_rows

        n = table.num_rows
        features = table.select(self.feature_names)
        for name, column in zip(self.feature_names, features.columns, strict=True):
            if column.null_count:
                raise FileFormatError(
                    f"The column {name!r} of '{path}' has an empty value at row "
                    f"{first_row + _first_null(column)}; fill or drop the missing values first."
                )
        if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in features.schema.types):
            rows = np.asarray(features.combine_chunks().to_batches()[0].to_tensor())
        else:  # booleans among them
            scratch = {} if scratch is None else scratch
            rows = scratch.get("rows")
            if rows is None or rows.shape[0] < n:
                rows = scratch["rows"] = np.empty((n, self.n_features))
            rows = rows[:n]
            for j, column in enumerate(features.columns):
                rows[:, j] = column.to_numpy(zero_copy_only=False)
        if out is None:
            out = np.empty((n, self.n_features), self.dtype)
        if not place_rows(rows, places, out, mean, scale):
            rounded = rows.astype(out.dtype)
            i, j = np.argwhere(~np.isfinite(rounded))[0]
            raise FileFormatError(
                f"The column {self.feature_names[j]!r} of '{path}' holds {rounded[i, j]} at "
                f"row {first_row + int(i)}; replace the non-finite values first."
            )
        return out

    def _target(self, table, path: Path, first_row: int) -> np.ndarray:
        """A table's target column, checked."""
        column = table.column(self.target)
        if column.null_count:
            raise FileFormatError(
                f"The target column {self.target!r} of '{path}' has an empty value at row "
                f"{first_row + _first_null(column)}; drop the rows without a target first."
            )
        return column.to_numpy(zero_copy_only=False)

    def _arrays(self, table, path: Path, first_row: int, scratch: dict | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """A table's features as a new (rows, n_features) block and its target, checked."""
        return (self._features(table, path, first_row, scratch=scratch),
                self._target(table, path, first_row))

    def _read_table(self, index: int, opened: dict):
        """``(table, path, first row)`` of row group ``index`` of ``_units`` (``opened``:
        the one file kept open)."""
        from pyarrow import parquet

        f, g, _, start = self._units[index]
        if f not in opened:
            opened.clear()  # one file open at a time
            opened[f] = parquet.ParquetFile(self.files[f], pre_buffer=False)
        table = opened[f].read_row_group(g, columns=[*self.feature_names, self.target])
        return table, self.files[f], start

    def _tables(self, order) -> Iterator[tuple[object, Path, int]]:
        """``(table, path, first row)`` of the row groups (CSV: blocks) in ``order`` (None:
        file order), each read when it is asked for, on the caller's thread."""
        if self.csv:
            yield from self._read_csv()
            return
        opened: dict[int, object] = {}
        for index in range(len(self._units)) if order is None else order:
            yield self._read_table(int(index), opened)

    def _read_units(self, order) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The row groups (CSV: blocks) in ``order`` (None: file order) as arrays; the next
        row group is read and converted on a second thread while the caller works on this
        one (pyarrow and the compiled copy release the GIL), so reading overlaps the
        caller's work; one more row group is held while it does."""
        scratch: dict[str, np.ndarray] = {}
        if self.csv:
            for table, path, row in self._read_csv():
                yield self._arrays(table, path, row, scratch)
            return
        from concurrent.futures import ThreadPoolExecutor

        opened: dict[int, object] = {}

        def read(index: int) -> tuple[np.ndarray, np.ndarray]:  # one at a time: one scratch
            return self._arrays(*self._read_table(index, opened), scratch)

        indices = list(range(len(self._units)) if order is None else order)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="steepest-stream") as pool:
            pending = pool.submit(read, indices[0])
            for index in indices[1:]:
                arrays = pending.result()
                pending = pool.submit(read, index)
                yield arrays
            yield pending.result()

    def _read_csv(self) -> Iterator[tuple[object, Path, int]]:
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
                            yield pa.Table.from_batches([batch]), path, row
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

        The row groups come in a new random order; they are copied into a buffer, and
        each time it holds ``shuffle_buffer`` rows or more, its rows are yielded in a
        random order, in blocks of ``batch_rows`` (the last block of a buffer holds the
        rest). A second thread reads the next row groups into the places of the rows
        already yielded while the caller works on these (see :meth:`batches`).
        The order is drawn from ``rng`` (default: the stream's own generator, advanced
        by each epoch), so a trainer can pass the generator its checkpoints keep.
        Shuffled blocks are overwritten by the next one: copy a block to keep it.
        """
        return self._shuffled(rng, self.batch_rows, _Preparation(dtype=self.dtype),
                              across=False)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, *,
                mean: np.ndarray | None = None, scale: np.ndarray | None = None,
                dtype=None, prepare_target=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One :meth:`epoch`'s rows, in its order, in batches of ``batch_size`` rows
        (the last holds the rest): every row exactly once.

        Each batch is gathered straight from the shuffle buffer (as an in-memory epoch
        gathers its batches from the whole array), and a batch may take its first rows
        from one buffer and the rest from the next. A batch is overwritten by the next
        one: copy it to keep it.

        Parameters
        ----------
        batch_size : int
        rng : numpy.random.Generator, optional
            As for :meth:`epoch`.
        mean, scale : ndarray of shape (n_features,), optional
            Standardise the features, ``(x - mean) / scale``, in the pass that copies a
            row group into the buffer.
        dtype : {"float64", "float32"}, optional
            The features' dtype in the buffer and the batches (default: the stream's).
        prepare_target : callable, optional
            ``prepare_target(y) -> y`` on each row group's targets as it is read (class
            labels to indices, a standardised target); it runs on the reading thread.
        """
        check_number(batch_size, "batch_size", "ParquetStream.batches", low=1, integer=True)
        how = _Preparation(mean, scale, np.dtype(self.dtype if dtype is None else dtype),
                           prepare_target)
        return self._shuffled(rng, int(batch_size), how, across=True)

    def _shuffled(self, rng, size: int, how: _Preparation, *, across: bool
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The rows of one epoch in blocks of ``size``, gathered from the buffer that a
        :class:`_Filler` thread fills; ``across``: blocks run on from one buffer into the
        next (else a buffer's last block holds its rest)."""
        rng = self.rng if rng is None else rng
        order = None if self.csv else rng.permutation(len(self._units))
        seed = int(rng.integers(2**63)) if self.shuffle_buffer > 1 else None
        filler = _Filler(self, order, how, seed)
        filler.start()
        take = np.take
        X_out = y_out = None
        held = 0  # rows of a block begun in the previous buffer (across only)
        try:
            while (filled := filler.next_buffer()) is not None:
                X_buffer, y_buffer, slots = filled
                if X_out is None:  # the buffers are made once per epoch
                    X_out = np.empty((size, *X_buffer.shape[1:]), X_buffer.dtype)
                    y_out = np.empty((size, *y_buffer.shape[1:]), y_buffer.dtype)
                n, a = slots.size, 0
                if held:
                    a = min(size - held, n)
                    take(X_buffer, slots[:a], axis=0, out=X_out[held:held + a], mode="clip")
                    take(y_buffer, slots[:a], axis=0, out=y_out[held:held + a], mode="clip")
                    held += a
                    if held == size:
                        held = 0
                        yield X_out, y_out
                freed, every = 0, max(size, _FREE_EVERY)
                for b in range(a + size, n + 1, size):
                    rows = slots[b - size:b]
                    take(X_buffer, rows, axis=0, out=X_out, mode="clip")
                    take(y_buffer, rows, axis=0, out=y_out, mode="clip")
                    if b - freed >= every:
                        filler.free(slots[freed:b])
                        freed = b
                    yield X_out, y_out
                rest = (n - a) % size
                if rest:
                    rows = slots[n - rest:]
                    take(X_buffer, rows, axis=0, out=X_out[:rest], mode="clip")
                    take(y_buffer, rows, axis=0, out=y_out[:rest], mode="clip")
                filler.free(slots[freed:])
                if rest and across:
                    held = rest
                elif rest:
                    yield X_out[:rest], y_out[:rest]
            if held:
                yield X_out[:held], y_out[:held]
        finally:
            filler.stop()

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


class _Preparation(NamedTuple):
    """What an epoch does to each row group as it joins the buffer (see
    :meth:`ParquetStream.batches`)."""

    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    dtype: np.dtype | None = None
    target: Callable[[np.ndarray], np.ndarray] | None = None


class _Stopped(Exception):
    """The consumer of an epoch stopped: its filler thread ends."""


class _Filler:
    """The thread that reads an epoch's row groups into the shuffle buffer.

    The buffer has ``max(shuffle_buffer - 1, group) + group`` places (``group``: the
    most rows in a row group). Each row group read is written (standardised, in the
    epoch's dtype) into free places, taken in the order they were freed, until the rows
    written since the last hand-over number ``shuffle_buffer`` or more; then those
    places, in a random order (from the filler's own generator, seeded by the epoch),
    are handed to the consumer, which gathers its blocks from them and gives the places
    back as it goes. So the next buffer fills while the consumer yields this one, and
    the memory held is the buffer and the row group being read (as Arrow and as the
    columns' copy). The rows and their order depend on the seed only, never on how the
    two threads run.
    """

    def __init__(self, stream: ParquetStream, order, how: _Preparation,
                 seed: int | None) -> None:
        self.stream, self.order, self.how = stream, order, how
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.ready: queue.SimpleQueue = queue.SimpleQueue()  # (X, y, places); None: done
        self.freed: queue.SimpleQueue = queue.SimpleQueue()  # places given back; None: stop
        self.X = self.y = None
        self._free: list[np.ndarray] = []
        self._count = 0
        self._scratch: dict[str, np.ndarray] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="steepest-stream", daemon=True)

    # -- the consumer's side -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def next_buffer(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(X_buffer, y_buffer, places)`` of the next buffer's rows, in their order;
        None after the last one. Raises what the filler raised (a bad file)."""
        item = self.ready.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def free(self, places: np.ndarray) -> None:
        """Give back the places of rows already gathered."""
        if places.size:
            self.freed.put(places)

    def stop(self) -> None:
        """End the thread (at the end of the epoch or when the consumer stops early) and
        keep the buffers on the stream for its next epoch."""
        self._stopping = True
        self.freed.put(None)
        self._thread.join()
        if self.y is not None:
            self.stream._buffers.update(X=self.X, y=self.y)

    # -- the thread's side -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._fill()
        except _Stopped:
            return
        except BaseException as error:  # the consumer raises it
            self.ready.put(error)
            return
        self.ready.put(None)

    def _fill(self) -> None:
        stream, how = self.stream, self.how
        threshold = max(stream.shuffle_buffer, 1)
        group = None if stream.csv else max(unit[2] for unit in stream._units)
        places_held: list[np.ndarray] = []
        held = 0
        for table, path, first_row in stream._tables(self.order):
            group = group or table.num_rows  # CSV: its first block's rows
            for a in range(0, table.num_rows, group):  # a CSV block longer than the first
                if self._stopping:
                    raise _Stopped
                piece = table.slice(a, group)
                y = stream._target(piece, path, first_row + a)
                if how.target is not None:
                    y = how.target(y)
                if self.y is None:
                    self._allocate(y, max(threshold - 1, group) + group)
                elif y.dtype != self.y.dtype and not np.can_cast(y.dtype, self.y.dtype,
                                                                 "same_kind"):
                    raise FileFormatError(
                        f"The target column {stream.target!r} of '{path}' holds {y.dtype} "
                        f"values where the row groups before held {self.y.dtype} values; "
                        "give it one type in every file."
                    )
                places = self._places(piece.num_rows)
                stream._features(piece, path, first_row + a, self.X, places, how.mean,
                                 how.scale, self._scratch)
                np.put(self.y, places, y)
                places_held.append(places)
                held += places.size
                if held >= threshold:
                    self._hand_over(places_held)
                    places_held, held = [], 0
            table = piece = None  # freed before the next row group is read
        if held:
            self._hand_over(places_held)

    def _allocate(self, y: np.ndarray, rows: int) -> None:
        """The buffers (the stream's from its last epoch when they fit) and their places."""
        kept = self.stream._buffers
        for name, shape, dtype in (("X", (self.stream.n_features,), self.how.dtype),
                                   ("y", y.shape[1:], y.dtype)):
            buffer = kept.pop(name, None)
            if buffer is None or buffer.shape[0] < rows or buffer.dtype != dtype \
                    or buffer.shape[1:] != shape:
                buffer = np.empty((rows, *shape), dtype)
            setattr(self, name, buffer)
        self._free, self._count = [np.arange(rows)], rows

    def _places(self, rows: int) -> np.ndarray:
        """The next ``rows`` free places, waiting for the consumer to free them."""
        while self._count < rows:
            places = self.freed.get()
            if places is None or self._stopping:
                raise _Stopped
            self._free.append(places)
            self._count += places.size
        free = np.concatenate(self._free) if len(self._free) > 1 else self._free[0]
        self._free, self._count = [free[rows:]], self._count - rows
        return free[:rows]

    def _hand_over(self, places_held: list[np.ndarray]) -> None:
        places = np.concatenate(places_held)
        if self.rng is not None:
            places = places[self.rng.permutation(places.size)]
        self.ready.put((self.X, self.y, places))


def _slices(X: np.ndarray, y: np.ndarray, rows: int):
    for a in range(0, X.shape[0], rows):
        yield X[a:a + rows], y[a:a + rows]


def _first_null(column) -> int:
    """The index of the first empty value of a pyarrow column that has one."""
    return int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])


def _first_line(error: Exception) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__
