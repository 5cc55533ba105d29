"""Row partitions of ``(X, y)`` persisted on a Dask cluster, and what one pass learns.

::

    data = DaskData(X, y)                  # dask array/DataFrame X, dask array/Series y
    summary = data.summary()               # n_rows, per-feature mean/std, labels, in one pass
    data.parts                              # [(X_0, y_0), (X_1, y_1), ...] as Dask delayed
    blocks = data.blocks(mean, scale, classes, dtype)   # prepared once, one group a worker
    blocks.map(function, *args)             # [function(X_k, y_k, *args) for each k]

The partitions are persisted once (on the current ``distributed.Client``, else in
this process by Dask's local scheduler) and then only referred to: every later task
names them by key, so the data never travel back. Their lineage stays with the
scheduler, so a partition lost with a worker is recomputed from its source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from steepest.data import prepare_block
from steepest.distributed.cluster import compute, gather
from steepest.errors import ParameterError

__all__ = ["Blocks", "DaskData", "Summary", "balanced_groups", "current_client", "is_dask",
           "prepare_group"]

_MAX_LABELS = 10_000


def is_dask(value) -> bool:
    """Whether ``value`` is a Dask collection (array, DataFrame, Series), without importing
    Dask."""
    return type(value).__module__.split(".")[0] in ("dask", "dask_expr")


def current_client():
    """The current ``distributed.Client``, or None (Dask's local scheduler is used then)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


@dataclass(frozen=True)
class Summary:
    """One pass over the partitions: counts, per-feature moments and the target's labels.

    ``mean``/``std`` (``ddof=0``) are merged from the partitions' by Chan et al.'s
    pairwise update in partition order (see :mod:`steepest.stream`); ``labels`` are the
    sorted distinct targets (None past 10,000 of them); ``target_mean``/``target_std``
    of a numeric target.
    """

    n_rows: int
    sizes: tuple[int, ...]
    mean: np.ndarray
    std: np.ndarray
    labels: np.ndarray | None
    target_mean: float | None
    target_std: float | None


def _part_summary(X, y):
    """A partition's count, mean and M2 of each feature, its distinct targets and the
    target's mean and M2 (numeric targets).

    One scratch copy of the partition (its deviations, squared in place); the values are
    checked for NaN and infinity only when the moments are not finite."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n = X.shape[0]
    if n == 0:
        return 0, np.zeros(X.shape[1]), np.zeros(X.shape[1]), np.unique(y), 0.0, 0.0
    mean = X.mean(axis=0)
    deviations = X - mean
    np.square(deviations, out=deviations)
    m2 = deviations.sum(axis=0)
    del deviations
    if not (np.isfinite(mean).all() and np.isfinite(m2).all()) and not np.isfinite(X).all():
        row, column = np.argwhere(~np.isfinite(X))[0]
        return ("non-finite", int(row), int(column), float(X[row, column]))
    numeric = y.dtype.kind in "biuf"
    y_mean = float(y.mean()) if numeric else 0.0
    y_m2 = float(np.square(y - y_mean).sum()) if numeric else 0.0
    labels = np.unique(y)
    return n, mean, m2, labels if labels.size <= _MAX_LABELS else None, y_mean, y_m2


def _summaries(Xs, ys) -> list:
    """:func:`_part_summary` of each partition of a worker's share."""
    return [_part_summary(X, y) for X, y in zip(Xs, ys, strict=True)]


def _merge(n, mean, m2, n_b, mean_b, m2_b):
    """Chan et al.'s pairwise update of (count, mean, M2)."""
    if n_b == 0:
        return n, mean, m2
    total = n + n_b
    delta = mean_b - mean
    return total, mean + delta * (n_b / total), m2 + m2_b + delta ** 2 * (n * n_b / total)


class DaskData:
    """The row partitions of a Dask ``X`` and ``y``, persisted once.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features), or dask DataFrame
        Numeric features. Chunks along the columns are merged (each partition holds
        whole rows); a DataFrame's column names become ``feature_names``.
    y : dask.array.Array of shape (n_samples,), or dask Series
        Rechunked to X's row partitions.
    client : distributed.Client, optional
        Default: the current client; with none, Dask's local scheduler in this process.

    Attributes
    ----------
    parts : list of (Delayed, Delayed)
        Each partition's ``(X_i, y_i)``.
    futures : list of (Future, Future) or None
        The same partitions' futures on the client's cluster (None without a client).
    n_features : int
    feature_names : ndarray of str or None
    client : distributed.Client or None
    """

    def __init__(self, X, y, *, client=None) -> None:
        import dask
        import dask.array as da

        self.client = client if client is not None else current_client()
        self.feature_names = None
        if hasattr(X, "columns") and not hasattr(X, "chunks"):  # a dask DataFrame
            self.feature_names = np.asarray([str(c) for c in X.columns], dtype=object)
            X = X.to_dask_array(lengths=True)
        if hasattr(y, "to_dask_array"):
            y = y.to_dask_array(lengths=True)
        if not (isinstance(X, da.Array) and X.ndim == 2):
            raise ParameterError(
                f"A Dask X must be a 2-D dask array or a dask DataFrame; got {type(X).__name__}"
                f" with {getattr(X, 'ndim', '?')} dimension(s)."
            )
        if not isinstance(y, da.Array) or y.ndim != 1:
            raise ParameterError(
                f"With a Dask X, y must be a 1-D dask array or Series; got {type(y).__name__}."
            )
        if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in y.chunks[0]):
            raise ParameterError(
                "The Dask arrays have unknown partition sizes; compute them first "
                "(X.compute_chunk_sizes(), or to_dask_array(lengths=True) for a DataFrame)."
            )
        if X.shape[0] != y.shape[0]:
            raise ParameterError(
                f"X has {X.shape[0]} samples but y has {y.shape[0]}; pass one target per sample."
            )
        if X.dtype.kind not in "biuf":
            raise ParameterError(
                f"X holds values of dtype {X.dtype}; the features must be numbers."
            )
        X = X.rechunk({1: -1})
        y = y.rechunk((X.chunks[0],))
        self.n_features = int(X.shape[1])
        self.dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        if self.client is not None:
            X, y = self.client.persist([X, y])
        else:
            X, y = dask.persist(X, y)
        self.X, self.y = X, y
        self.parts = list(zip(X.to_delayed().ravel().tolist(), y.to_delayed().ravel().tolist(),
                              strict=True))
        self.futures = None
        if self.client is not None:
            from distributed import futures_of

            by_key = {future.key: future for future in futures_of([X, y])}
            self.futures = [(by_key[X_k.key], by_key[y_k.key]) for X_k, y_k in self.parts]
        self._summary: Summary | None = None

    def blocks(self, mean=None, scale=None, classes=None, dtype=np.float64) -> Blocks:
        """The partitions prepared once as a network takes them (see :class:`Blocks`)."""
        return Blocks(self, mean, scale, classes, dtype)

    def groups(self) -> dict[str | None, list[int]]:
        """The partitions' indices shared out over the cluster's workers now
        (:func:`balanced_groups` of where they are)."""
        client = self.client
        holders = client.who_has([X for X, _ in self.futures])
        return balanced_groups([tuple(holders.get(X.key, ())) for X, _ in self.futures],
                               sorted(client.scheduler_info()["workers"]))

    def run(self, tasks: list, *, lost_timeout: float = 30.0) -> list:
        """Compute Dask delayed ``tasks`` (one round trip on a cluster) and return their
        results in order (see :func:`steepest.distributed.objective.compute`)."""
        return compute(tasks, self.client, lost_timeout=lost_timeout)

    def summary(self) -> Summary:
        """Counts, per-feature mean and standard deviation (``ddof=0``), the target's labels
        and moments: one task per worker (over its share of the partitions, see
        :meth:`groups`), merged here in partition order; computed once."""
        if self._summary is None:
            from dask import delayed

            if self.client is None:
                results = self.run([delayed(_part_summary)(X, y) for X, y in self.parts])
            else:
                groups = self.groups()
                tasks = [self.client.submit(
                    _summaries, [self.futures[k][0] for k in ks],
                    [self.futures[k][1] for k in ks], workers=None if w is None else [w],
                    allow_other_workers=w is not None, pure=False)
                    for w, ks in groups.items()]
                results = [None] * len(self.parts)
                for ks, group in zip(groups.values(), gather(tasks, self.client), strict=True):
                    for k, result in zip(ks, group, strict=True):
                        results[k] = result
            n, mean, m2 = 0, np.zeros(self.n_features), np.zeros(self.n_features)
            y_n, y_mean, y_m2 = 0, 0.0, 0.0
            labels: np.ndarray | None = np.array([])
            sizes = []
            offset = 0
            for result in results:
                if result[0] == "non-finite":
                    _, row, column, value = result
                    name = (self.feature_names[column] if self.feature_names is not None
                            else f"column {column}")
                    raise ParameterError(
                        f"X holds {value} in {name} at row {offset + row}; replace the "
                        "non-finite values first."
                    )
                n_b, mean_b, m2_b, labels_b, y_mean_b, y_m2_b = result
                sizes.append(n_b)
                offset += n_b
                n, mean, m2 = _merge(n, mean, m2, n_b, mean_b, m2_b)
                y_n, y_mean, y_m2 = _merge(y_n, y_mean, y_m2, n_b, y_mean_b, y_m2_b)
                if labels is not None:
                    labels = None if labels_b is None else np.union1d(labels, labels_b) \
                        if labels.size else labels_b
                    if labels is not None and labels.size > _MAX_LABELS:
                        labels = None
            if n == 0:
                raise ParameterError("The Dask X has no rows.")
            numeric = self.y.dtype.kind in "biuf"
            self._summary = Summary(
                n_rows=n, sizes=tuple(sizes), mean=mean, std=np.sqrt(m2 / n), labels=labels,
                target_mean=y_mean if numeric else None,
                target_std=float(np.sqrt(y_m2 / n)) if numeric else None)
        return self._summary

    def __repr__(self) -> str:
        where = "local scheduler" if self.client is None else repr(self.client)
        return (f"DaskData(n_features={self.n_features}, partitions={len(self.parts)}, "
                f"on {where})")


def prepare_group(Xs, ys, mean=None, scale=None, classes=None, dtype=np.float64) -> tuple:
    """The partitions ``zip(Xs, ys)`` through :func:`steepest.data.prepare_block`, each
    ``X`` and ``y`` aligned in memory.

    A partition that a worker received over the network is a view at an odd offset of
    the message's buffer, and NumPy's matrix products on an unaligned array were 5-30x
    slower (on a 125,000 x 20 float64 partition: ``X @ W`` 5.1 ms against 1.4 ms,
    ``X.T @ dY`` 16.6 ms against 0.5 ms), so an unaligned one is copied once here
    (scaling copies it anyway; an aligned one is not copied).
    """
    prepared = (prepare_block(X, y, mean, scale, classes, dtype)
                for X, y in zip(Xs, ys, strict=True))
    return tuple((np.require(X, requirements="A"), np.require(y, requirements="A"))
                 for X, y in prepared)


def _map_group(function, group, *args) -> list:
    """``function(X, y, *args)`` on each prepared partition of ``group``, in order."""
    return [function(X, y, *args) for X, y in group]


def balanced_groups(holders: list[tuple[str, ...]], workers: list[str]
                    ) -> dict[str | None, list[int]]:
    """Partition indices by the worker that is to hold their prepared copy.

    Each worker takes at most ``ceil(K / W)`` of the ``K`` partitions, first those it
    already holds (``holders[k]``: the workers holding partition ``k``), then the
    leftovers go one by one to the worker with the fewest: a pass is as long as its
    longest group, and a partition moves only when its holder has its share. With no
    worker, one group (key None) of everything.
    """
    if not workers:
        return {None: list(range(len(holders)))}
    quota = -(-len(holders) // len(workers))
    groups: dict[str | None, list[int]] = {worker: [] for worker in workers}
    leftovers = []
    for k, where in enumerate(holders):
        worker = next((w for w in where if w in groups and len(groups[w]) < quota), None)
        (groups[worker] if worker is not None else leftovers).append(k)
    for k in leftovers:
        min(groups.values(), key=len).append(k)
    return {worker: sorted(ks) for worker, ks in groups.items() if ks}


class Blocks:
    """The partitions of a :class:`DaskData` prepared once for a network and its loss.

    Each partition goes through :func:`prepare_group` (standardised by
    ``(X - mean) / scale``, the labels mapped to the indices of ``classes``, ``dtype``,
    aligned) once, and the prepared copies are persisted in one group per worker, each worker
    taking an even share, the partitions it holds first (:func:`balanced_groups`): a
    task then runs over a worker's whole group, so a pass over the data is one task per
    worker and no partition is copied or scaled again. The groups keep their lineage
    (prepared from the persisted partitions, which keep theirs), so a group lost with
    its worker is recomputed elsewhere; when the cluster's workers change (checked at
    most once a second) the groups are prepared again over the workers there are now.
    They hold a second copy of the data on the cluster for as long as this object lives.

    Parameters
    ----------
    data : DaskData
    mean, scale : ndarray of shape (n_features,), optional
    classes : ndarray or TargetScale, optional
    dtype : numpy dtype, default=float64
    """

    def __init__(self, data: DaskData, mean=None, scale=None, classes=None,
                 dtype=np.float64) -> None:
        from dask import delayed

        self.data = data
        self._prepare_args = (mean, scale, classes, dtype)
        if data.client is None:   # one group per partition, prepared by the local scheduler
            import dask

            self.indices = [(k,) for k in range(len(data.parts))]
            self.workers = [None] * len(data.parts)
            self.groups = list(dask.persist(
                *[delayed(prepare_group)([X], [y], *self._prepare_args)
                  for X, y in data.parts], scheduler="threads"))
            return
        data.summary()  # the statistics pass: the partitions are in memory, somewhere
        self._futures = data.futures
        self._group()

    def _group(self) -> None:
        """Share the partitions out over the cluster's workers now and prepare them there."""
        client = self.data.client
        self._workers_seen = set(client.scheduler_info()["workers"])
        self._checked = time.monotonic()
        groups = self.data.groups()
        self.indices = [tuple(ks) for ks in groups.values()]
        self.workers = [None if worker is None else [worker] for worker in groups]
        self.groups = [
            client.submit(prepare_group, [self._futures[k][0] for k in ks],
                          [self._futures[k][1] for k in ks], *self._prepare_args,
                          workers=workers, allow_other_workers=workers is not None,
                          pure=False)
            for workers, ks in zip(self.workers, self.indices, strict=True)]

    def map(self, function, *args, lost_timeout: float = 30.0) -> list:
        """``[function(X_k, y_k, *args) for each partition k]`` in partition order, with one
        task per group: one round trip on a cluster. ``function`` must be importable on
        the workers (a module-level function); ``args`` are small (or futures). Each task
        goes to the worker its group was prepared on (elsewhere if that one is gone), and
        the results come straight from the workers."""
        from dask import delayed

        client = self.data.client
        if client is None:
            results = compute([delayed(_map_group)(function, group, *args)
                               for group in self.groups], None)
        else:
            if time.monotonic() - self._checked > 1.0:
                self._checked = time.monotonic()
                if set(client.scheduler_info()["workers"]) != self._workers_seen:
                    self._group()
            results = gather([client.submit(_map_group, function, group, *args, pure=False,
                                            workers=workers,
                                            allow_other_workers=workers is not None)
                              for group, workers in zip(self.groups, self.workers, strict=True)],
                             client, lost_timeout=lost_timeout)
        ordered = [None] * len(self.data.parts)
        for ks, group_results in zip(self.indices, results, strict=True):
            for k, result in zip(ks, group_results, strict=True):
                ordered[k] = result
        return ordered
