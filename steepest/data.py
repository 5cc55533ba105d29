"""Data for the fit loop: input checks, train/validation splits and batches.

The three variants of gradient descent differ only in how an epoch is cut into
batches::

    from steepest.data import Batcher

    Batcher(X, y, batch_size=None)   # batch: the whole data set, one update per epoch
    Batcher(X, y, batch_size=1)      # stochastic: one sample per update
    Batcher(X, y, batch_size=32)     # mini-batch: 32 samples per update

    for X_batch, y_batch in batcher.epoch():
        ...

A shuffled epoch copies X and y once, in a new random order, into arrays made on
the first epoch and reused after (``np.take(..., out=...)``); every batch is then
a contiguous slice of those copies, a view, so the loop does no indexing and no
allocation per batch. The full batch is X and y themselves: no copy, no shuffle.

The checks (:func:`check_X`, :func:`check_y`, :func:`check_X_y`) turn what a user
passes into C-contiguous float arrays, or say what is wrong, where (column, row)
and what to do about it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from steepest._validation import check_number
from steepest.errors import NonNumericError, ParameterError
from steepest.sparse import is_sparse, take_rows

__all__ = [
    "Batcher",
    "TargetScale",
    "as_generator",
    "check_X",
    "check_X_y",
    "check_sample_weight",
    "check_y",
    "feature_names",
    "prepare_block",
    "prepare_target",
    "split_indices",
    "standardization",
    "train_validation_split",
]


def as_generator(random_state, owner: str = "Batcher") -> np.random.Generator:
    """``random_state`` as a :class:`numpy.random.Generator`.

    An int seeds a new PCG64 generator, ``None`` seeds one from the operating
    system, and a Generator is returned as it is (shared, not copied).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is not None and (isinstance(random_state, bool) or not isinstance(
            random_state, numbers.Integral) or random_state < 0):
        raise ParameterError(
            f"The 'random_state' parameter of {owner} must be an int >= 0, a "
            f"numpy.random.Generator or None. Got {random_state!r} instead."
        )
    return np.random.default_rng(random_state)


# -- input checks ----------------------------------------------------------------------


def _describe_shape(array: np.ndarray) -> str:
    return "a scalar" if array.ndim == 0 else f"a {array.ndim}-D array of shape {array.shape}"


def _as_array(values, name: str) -> np.ndarray:
    """``np.asarray`` with our words for sparse and ragged input."""
    if hasattr(values, "toarray") and hasattr(values, "nnz"):
        raise ParameterError(
            f"{name} is a sparse matrix; steepest needs a dense array. Convert it with "
            f"{name}.toarray() if it fits in memory."
        )
    try:
        return np.asarray(values)
    except ValueError:
        raise ParameterError(
            f"{name} could not be read as an array: its rows have different lengths, or it "
            "mixes numbers and sequences. Pass a rectangular array."
        ) from None


def _column_name(labels, j: int) -> str:
    """``column 3``, or ``column 'age'`` when the input had named columns."""
    if labels is not None:
        label = labels[j]
        if not isinstance(label, numbers.Integral) or label != j:
            return f"column {label!r}"
    return f"column {j}"


def _first_non_numeric(array: np.ndarray) -> tuple[int, int, object]:
    """The first entry (column-major) of an object/string array that is not a number."""
    for j in range(array.shape[1]):
        for i, value in enumerate(array[:, j]):
            try:
                float(value)
            except (TypeError, ValueError):
                return i, j, value.item() if isinstance(value, np.generic) else value
    raise AssertionError("unreachable: the array converted entry by entry")  # pragma: no cover


def _to_float(array: np.ndarray, name: str, labels, dtype: np.dtype) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "c":
        raise ParameterError(
            f"{name} has complex values: Complex data not supported. Pass the real and "
            f"imaginary parts as separate columns ({name}.real, {name}.imag)."
        )
    if kind in "biuf":
        with np.errstate(over="ignore"):        # too large for float32: reported as such below
            return array.astype(dtype, copy=False)
    matrix = array if array.ndim == 2 else array.reshape(-1, 1)
    missing = np.equal(matrix, None) if kind == "O" else np.zeros(matrix.shape, bool)
    if missing.any():
        j = int(np.flatnonzero(missing.any(axis=0))[0])
        i = int(np.flatnonzero(missing[:, j])[0])
        where = f"{_column_name(labels, j)} (first at row {i})" if array.ndim == 2 else \
            f"row {i}"
        raise ParameterError(
            f"{name} has a missing value (None) in {where}; remove or impute missing values."
        )
    try:
        return array.astype(dtype)
    except (TypeError, ValueError):
        pass
    i, j, value = _first_non_numeric(matrix)
    where = f"{_column_name(labels, j)} (first at row {i})" if array.ndim == 2 else f"row {i}"
    if array.ndim != 2:
        raise ParameterError(
            f"{name} has a non-numeric value {value!r} in {where}; the targets must be "
            "numbers here."
        ) from None
    # the words after "where" are those scikit-learn's check_dtype_object looks for
    raise NonNumericError(
        f"{name} has a non-numeric value {value!r} in {where}, where each argument must be a "
        "number or a string holding a number; encode categorical columns as numbers first "
        "(e.g. sklearn.preprocessing.OneHotEncoder)."
    ) from None


def _check_finite(array: np.ndarray, original: np.ndarray, name: str, labels,
                  missing: str) -> None:
    """Raise naming the first column (then row) holding a NaN or an infinity."""
    flat = array.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        # the sum of squares (one BLAS read, both cores) is finite only if every entry is
        if math.isfinite(float(np.dot(flat, flat))):
            return
    bad = ~np.isfinite(array)
    if not bad.any():
        return                                # the squares overflowed; the entries are finite
    matrix = bad if bad.ndim == 2 else bad.reshape(-1, 1)
    j = int(np.flatnonzero(matrix.any(axis=0))[0])
    i = int(np.flatnonzero(matrix[:, j])[0])
    if array.ndim == 2:
        where, value = f"in {_column_name(labels, j)} (first at row {i})", array[i, j]
        source = original[i, j]
    else:
        where, value, source = f"at row {i}", array[i], original[i]
    if np.isnan(value):
        raise ParameterError(f"{name} has a NaN {where}; {missing}.")
    if original.dtype.kind in "f" and np.isfinite(source):
        raise ParameterError(
            f"{name} has a value too large for {array.dtype} {where} ({float(source)!r}); scale "
            "it (e.g. sklearn.preprocessing.StandardScaler) or use float64."
        )
    raise ParameterError(f"{name} has an infinity {where}; replace it or drop those rows.")


def _refuse_duplicates(labels, name: str) -> None:
    """Raise naming the first column name that occurs more than once."""
    seen: set = set()
    for label in labels:
        if label in seen:
            raise ParameterError(
                f"{name} has two columns named {label!r}; give every column its own name."
            )
        seen.add(label)


def feature_names(X, name: str = "X") -> np.ndarray | None:
    """The column names of a data frame as scikit-learn keeps them in ``feature_names_in_``.

    Parameters
    ----------
    X : array-like
        An object with a ``columns`` attribute (a pandas or Dask DataFrame) names its
        columns; anything else has none.
    name : str, default="X"

    Returns
    -------
    ndarray of object (str) of shape (n_features,), or None
        None when ``X`` has no columns or none of them is named by a string (an array,
        a DataFrame with the default integer labels).

    Raises
    ------
    ParameterError
        For a column name used twice, or names that mix strings with other types
        (as scikit-learn refuses them).
    """
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    labels = list(columns)
    strings = [isinstance(label, str) for label in labels]
    if not any(strings):
        return None
    if not all(strings):
        other = labels[strings.index(False)]
        raise ParameterError(
            f"{name} has column names of mixed types: strings and {other!r} of type "
            f"{type(other).__name__}; feature names are only supported when all of them are "
            f"strings. Convert them with {name}.columns = {name}.columns.astype(str)."
        )
    _refuse_duplicates(labels, name)
    return np.asarray(labels, dtype=object)


def check_X(X, *, dtype="float64", n_features: int | None = None, owner: str | None = None,
            name: str = "X") -> np.ndarray:
    """``X`` as a C-contiguous 2-D float array with finite entries, or a clear error.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numbers (booleans and integers are converted). Objects with a
        ``columns`` attribute (data frames) name their columns in messages.
    dtype : {"float64", "float32"}, default="float64"
        The dtype of the result (a float array of this dtype is not copied).
    n_features : int, optional
        The width ``X`` must have: the one seen in ``fit``, for ``predict``.
    owner : str, optional
        Who asks (``"LinearRegression"``): named in the n_features message.
    name : str, default="X"

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)

    Raises
    ------
    ParameterError
        For a sparse, ragged, non-2-D, empty, non-numeric or complex input, a
        NaN or an infinity (naming the column and the first row), or the wrong
        number of columns.
    """
    labels = getattr(X, "columns", None)
    labels = list(labels) if labels is not None else None
    if labels is not None:
        _refuse_duplicates(labels, name)
    array = _as_array(X, name)
    if array.ndim != 2:
        hint = {
            0: "",
            1: f" Reshape your data: {name}.reshape(-1, 1) for a single feature or "
               f"{name}.reshape(1, -1) "
               "for a single sample.",
        }.get(array.ndim, f" Flatten each sample's features, e.g. {name}.reshape(len({name}), "
                          "-1).")
        raise ParameterError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got "
            f"{_describe_shape(array)}.{hint}"
        )
    for axis, what in enumerate(("sample", "feature")):
        if array.shape[axis] == 0:
            raise ParameterError(
                f"{name} has 0 {what}(s) (shape={array.shape}) while a minimum of 1 is "
                "required."
            )
    if n_features is not None and array.shape[1] != n_features:
        raise ParameterError(
            f"{name} has {array.shape[1]} features, but {owner or 'the model'} is expecting "
            f"{n_features} features as input; pass the same columns as in fit."
        )
    converted = _to_float(array, name, labels, np.dtype(dtype))
    _check_finite(converted, array, name, labels, "remove or impute missing values")
    return np.ascontiguousarray(converted)


def check_y(y, n_samples: int | None = None, *, numeric: bool = True, multi_output: bool = False,
            dtype="float64", name: str = "y") -> np.ndarray:
    """``y`` as a C-contiguous array with one entry (or row) per sample, or a clear error.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        A column vector ``(n_samples, 1)`` becomes ``(n_samples,)``.
    n_samples : int, optional
        The number of samples of X; ``y`` must have as many.
    numeric : bool, default=True
        Convert to ``dtype`` and require finite values (regression). With False
        the labels are kept as they are (classification: strings are fine) and
        only missing labels (None, NaN) are refused.
    multi_output : bool, default=False
        Accept ``(n_samples, n_outputs)`` with several outputs.
    dtype : {"float64", "float32"}, default="float64"
    name : str, default="y"
    """
    if y is None:
        raise ParameterError(
            f"This model requires {name} to be passed, but the target {name} is None; pass the "
            "targets, one per sample."
        )
    array = _as_array(y, name)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in ((1, 2) if multi_output else (1,)):
        expected = "(n_samples,) or (n_samples, n_outputs)" if multi_output else "(n_samples,)"
        hint = "" if multi_output or array.ndim != 2 else \
            " This model predicts one target; fit one model per column."
        raise ParameterError(
            f"{name} must have shape {expected}; got {_describe_shape(array)}.{hint}"
        )
    if n_samples is not None and array.shape[0] != n_samples:
        raise ParameterError(
            f"X has {n_samples} samples but {name} has {array.shape[0]}; pass one target per "
            "sample."
        )
    if array.shape[0] == 0:
        raise ParameterError(f"{name} is empty; at least one sample is needed.")
    if numeric:
        converted = _to_float(array, name, None, np.dtype(dtype))
        _check_finite(converted, array, name, None,
                      "remove those samples or impute the target")
        return np.ascontiguousarray(converted)
    if array.dtype.kind == "f":
        _check_finite(array, array, name, None, "remove those samples")
    elif array.dtype.kind == "O":
        missing = [i for i, v in enumerate(array.reshape(len(array), -1)[:, 0])
                   if v is None or (isinstance(v, float) and math.isnan(v))]
        if missing:
            raise ParameterError(
                f"{name} has a missing label at row {missing[0]}; remove those samples."
            )
    return np.ascontiguousarray(array)


def check_X_y(X, y, *, dtype="float64", numeric_y: bool = True, multi_output: bool = False,
              ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`check_X` and :func:`check_y` together, with the sample counts compared."""
    X = check_X(X, dtype=dtype)
    return X, check_y(y, X.shape[0], numeric=numeric_y, multi_output=multi_output, dtype=dtype)


def check_sample_weight(sample_weight, n_samples: int, *, dtype="float64",
                        name: str = "sample_weight") -> np.ndarray | None:
    """Weights of the samples as a 1-D float array, or None when none are given.

    Parameters
    ----------
    sample_weight : None, float or array-like of shape (n_samples,)
        A number gives every sample that weight.
    n_samples : int
    dtype : {"float64", "float32"}, default="float64"

    Returns
    -------
    ndarray of shape (n_samples,) or None
        A new array (the caller's is never changed).

    Raises
    ------
    ParameterError
        For the wrong shape, a NaN, an infinity or a negative weight (naming the first
        row), or weights that are all zero.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real):
        sample_weight = np.full(n_samples, float(sample_weight))
    array = _as_array(sample_weight, name)
    if array.ndim != 1 or array.shape[0] != n_samples:
        raise ParameterError(
            f"{name} must hold one weight per sample, shape ({n_samples},); got "
            f"{_describe_shape(array)}."
        )
    weights = _to_float(array, name, None, np.dtype(dtype)).copy()
    _check_finite(weights, array, name, None, "give every sample a finite weight")
    if (weights < 0).any():
        row = int(np.argmax(weights < 0))
        raise ParameterError(
            f"{name} has the negative weight {float(weights[row])!r} at row {row}; weights "
            "must be >= 0."
        )
    if not weights.any():
        raise ParameterError(f"{name} is zero for every sample; at least one must be > 0.")
    return weights


def standardization(X: np.ndarray, sample_weight: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    r"""Per column the (weighted) mean and standard deviation, computed without overflow.

    With weights :math:`w_i` (all 1 when None), for column :math:`j`

    .. math::

        \mu_j = \frac{\sum_i w_i x_{ij}}{\sum_i w_i}, \qquad
        \sigma_j = \sqrt{\frac{\sum_i w_i (x_{ij} - \mu_j)^2}{\sum_i w_i}}

    (``ddof=0``, as ``StandardScaler``). Each column is divided by its largest
    magnitude :math:`m_j` first and the results multiplied back, so a column of
    values near ``1e300`` (whose squares overflow) gets its finite scale, not inf.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite values.
    sample_weight : ndarray of shape (n_samples,), optional

    Returns
    -------
    mean : ndarray of shape (n_features,)
    scale : ndarray of shape (n_features,)
        :math:`\sigma_j`, or 1 where every entry of the column is the same (it is then
        only centred).
    """
    peak = np.max(np.abs(X), axis=0)
    peak = np.where(peak > 0, peak, 1.0).astype(X.dtype)
    unit = X / peak                                    # every entry in [-1, 1]; one copy
    mean = np.average(unit, axis=0, weights=sample_weight)
    unit -= mean
    np.square(unit, out=unit)
    std = np.sqrt(np.average(unit, axis=0, weights=sample_weight)) * peak
    constant = np.all(X == X[0], axis=0)               # exactly: rounding leaves ~1e-16
    return mean * peak, np.where(constant | (std == 0), 1.0, std).astype(X.dtype)


# -- train/validation split ------------------------------------------------------------


def _stratified_counts(counts: np.ndarray, fraction: float, total: int) -> np.ndarray:
    """Validation samples per class: ``fraction · n_c`` rounded so the sum is ``total``
    (largest remainders first), then kept in ``[1, n_c − 1]``. Each count is within 1
    of ``fraction · n_c``."""
    quota = fraction * counts
    taken = np.floor(quota).astype(np.intp)
    remainder = total - int(taken.sum())
    if remainder > 0:
        order = np.argsort(-(quota - taken), kind="stable")
        taken[order[:remainder]] += 1
    return np.clip(taken, 1, counts - 1)


def split_indices(n_samples: int, validation_fraction: float, *, stratify=None,
                  random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)`` of a random split, each sorted.

    Parameters
    ----------
    n_samples : int
    validation_fraction : float
        The share of samples held out, in (0, 1): ``ceil(fraction · n_samples)``
        of them, as scikit-learn's ``train_test_split``.
    stratify : array-like of shape (n_samples,), optional
        Class labels: each class is split in the same proportion (within one
        sample), with at least one sample of each class on both sides, so every
        class needs two samples.
    random_state : int, Generator or None, default=None
    """
    owner = "split_indices"
    check_number(n_samples, "n_samples", owner, low=0, integer=True)
    check_number(validation_fraction, "validation_fraction", owner, low=0.0, high=1.0,
                 closed="neither")
    rng = as_generator(random_state, owner)
    n_val = math.ceil(validation_fraction * n_samples)
    if n_samples < 2 or n_val >= n_samples:
        raise ParameterError(
            f"validation_fraction={validation_fraction!r} of {n_samples} samples leaves no "
            "sample for training; use a smaller fraction or more data."
        )
    if stratify is None:
        perm = rng.permutation(n_samples)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    labels = np.asarray(stratify)
    if labels.shape != (n_samples,):
        raise ParameterError(
            f"stratify must hold one label per sample, shape ({n_samples},); got shape "
            f"{labels.shape}."
        )
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        rare = classes[int(np.argmin(counts))]
        rare = rare.item() if hasattr(rare, "item") else rare
        raise ParameterError(
            f"Cannot stratify the validation split: class {rare!r} has only 1 sample, and "
            "every class needs at least 2 (one for training, one for validation). Collect "
            "more samples of that class, remove it, or validate without stratifying."
        )
    per_class = _stratified_counts(counts, validation_fraction, n_val)
    members = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)))
    validation = []
    for c, take in enumerate(per_class):
        group = members[starts[c]:starts[c + 1]]
        validation.append(rng.choice(group, size=int(take), replace=False))
    val = np.sort(np.concatenate(validation))
    mask = np.ones(n_samples, bool)
    mask[val] = False
    return np.flatnonzero(mask), val


def train_validation_split(X, y, validation_fraction: float, *, stratify: bool = False,
                           random_state=None):
    """``X_train, X_val, y_train, y_val``: a seeded random split of the rows of X and y.

    ``stratify=True`` keeps the class proportions of ``y`` on both sides (see
    :func:`split_indices`). The parts are new C-contiguous arrays; the order of
    the rows within each part is their order in X.
    """
    sparse = is_sparse(X)  # a SciPy sparse X is split into two CSR matrices
    X, y = (X.tocsr() if sparse else np.asarray(X)), np.asarray(y)
    if X.shape[0] != len(y):
        raise ParameterError(
            f"X has {X.shape[0]} samples but y has {len(y)}; pass one target per sample."
        )
    train, val = split_indices(X.shape[0], validation_fraction,
                               stratify=y if stratify else None, random_state=random_state)
    X_train, X_val = (take_rows(X, train), take_rows(X, val)) if sparse else \
        (np.take(X, train, axis=0), np.take(X, val, axis=0))
    return X_train, X_val, np.take(y, train, axis=0), np.take(y, val, axis=0)


# -- batches ---------------------------------------------------------------------------


class Batcher:
    """Batches of ``(X, y)``, one epoch at a time, for batch, stochastic or mini-batch descent.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (n_samples, C, H, W), or SciPy sparse
        matrix of shape (n_samples, n_features)
        Used as it is (convert it to the network's dtype first, so no batch is
        converted again). A sparse ``X`` is kept as CSR; its shuffled batches are
        row gathers (new CSR matrices of the batch's non-zeros), its unshuffled ones
        row slices.
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    batch_size : int or None, default=None
        ``None`` (or any size >= n_samples): the whole data set in one batch, in
        its own order, never copied. ``1``: one sample per batch. ``k``: batches
        of ``k`` samples; the last one holds the ``n_samples % k`` left over.
    shuffle : bool, default=True
        Draw a new order of the samples for every epoch (not for the full batch,
        where the order changes nothing but rounding).
    drop_single : bool, default=False
        Leave out the last batch when it would hold a single sample (BatchNorm
        cannot train on one). Shuffling gives that sample a place in the other
        epochs.
    random_state : int, numpy.random.Generator or None, default=None
        The generator of the orders; a Generator is used (and advanced) as it
        is, so a trainer can keep one across data sets and checkpoints.
    sample_weight : ndarray of shape (n_samples,), optional
        Weights of the samples: each batch then comes with its rows' weights,
        ``(X_batch, y_batch, w_batch)``, cut and shuffled as the rows are.

    Attributes
    ----------
    n_samples, n_batches : int
    sample_weight : ndarray or None
    batch_size : int
        The effective size (n_samples for the full batch).
    rng : numpy.random.Generator
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int | None = None, *,
                 shuffle: bool = True, drop_single: bool = False, random_state=None,
                 sample_weight: np.ndarray | None = None) -> None:
        sparse = is_sparse(X)
        if not (sparse or isinstance(X, np.ndarray)) or X.shape[0] == 0 \
                or (X.ndim != 2 if sparse else X.ndim < 2):
            raise ParameterError(
                "Batcher needs X as a 2-D array (or an array of images, samples first) with at "
                "least one sample; got "
                + (_describe_shape(X) if isinstance(X, np.ndarray) else type(X).__name__) + "."
            )
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ParameterError(
                f"X has {X.shape[0]} samples but y has {y.shape[0] if y.ndim else 0}; pass "
                "one target per sample."
            )
        if batch_size is not None:
            check_number(batch_size, "batch_size", "Batcher", low=1, integer=True)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
            if sample_weight.shape != (X.shape[0],):
                raise ParameterError(
                    f"X has {X.shape[0]} samples but sample_weight has shape "
                    f"{sample_weight.shape}; pass one weight per sample."
                )
        self.X, self.y, self.sample_weight = (X.tocsr() if sparse else X), y, sample_weight
        self._sparse = sparse
        self.n_samples = n = X.shape[0]
        self.full = batch_size is None or batch_size >= n
        self.batch_size = n if self.full else int(batch_size)
        self.shuffle = bool(shuffle) and not self.full
        self.drop_single = bool(drop_single)
        self.rng = as_generator(random_state, "Batcher")
        if self.drop_single and self.batch_size == 1:
            raise ParameterError(
                "drop_single=True cannot help here: every batch holds a single sample "
                f"(n_samples={n}, batch_size={self.batch_size}). Use batch_size >= 2 and at "
                "least 2 samples."
            )
        self._n_batches = -(-n // self.batch_size)
        if self.drop_single and n % self.batch_size == 1:
            self._n_batches -= 1
        self._X_batch: np.ndarray | None = None
        self._y_batch: np.ndarray | None = None
        self._w_batch: np.ndarray | None = None

    @property
    def n_batches(self) -> int:
        """The number of batches (updates) per epoch."""
        return self._n_batches

    def __len__(self) -> int:
        return self._n_batches

    def epoch(self) -> Iterator[tuple[np.ndarray, ...]]:
        """The batches of one epoch, as ``(X_batch, y_batch)`` (``(X_batch, y_batch,
        w_batch)`` with ``sample_weight``), C-contiguous.

        The new order is drawn here, when this is called, not on the first
        ``next``. The full batch is ``(X, y)`` themselves and unshuffled batches
        are views of them; shuffled ones are gathered into a buffer of one batch
        that the next batch overwrites (rather than a shuffled copy of the whole
        set, with its memory and its fresh pages to fault in): copy a batch to
        keep it.
        """
        w = self.sample_weight
        if self.full:
            return iter(((self.X, self.y) if w is None else (self.X, self.y, w),))
        order, k = self.epoch_order(), self.batch_size
        starts = range(0, self._n_batches * k, k)
        if order is None:
            if w is None:
                return ((self.X[a:a + k], self.y[a:a + k]) for a in starts)
            return ((self.X[a:a + k], self.y[a:a + k], w[a:a + k]) for a in starts)
        if self._sparse:  # each batch a new CSR matrix of its rows' non-zeros
            picks = (order[a:a + k] for a in starts)
            if w is None:
                return ((take_rows(self.X, rows), self.y[rows]) for rows in picks)
            return ((take_rows(self.X, rows), self.y[rows], w[rows]) for rows in picks)
        if self._X_batch is None:
            self._X_batch = np.empty((k, *self.X.shape[1:]), self.X.dtype)
            self._y_batch = np.empty((k, *self.y.shape[1:]), self.y.dtype)
        if w is None:
            return self._gather(order, starts)
        if self._w_batch is None:
            self._w_batch = np.empty(k, w.dtype)
        return self._gather_weighted(order, starts)

    def _gather(self, order: np.ndarray, starts: range):
        for a in starts:
            rows = order[a:a + self.batch_size]
            yield (np.take(self.X, rows, axis=0, out=self._X_batch[:rows.size], mode="clip"),
                   np.take(self.y, rows, axis=0, out=self._y_batch[:rows.size], mode="clip"))

    def _gather_weighted(self, order: np.ndarray, starts: range):
        for (X_batch, y_batch), a in zip(self._gather(order, starts), starts, strict=True):
            rows = order[a:a + self.batch_size]
            yield X_batch, y_batch, np.take(self.sample_weight, rows,
                                            out=self._w_batch[:rows.size], mode="clip")

    def epoch_order(self) -> np.ndarray | None:
        """The order of the samples in a new epoch (a permutation of their indices), or
        None when they keep their own (no shuffling). Draws as :meth:`epoch` does."""
        return self.rng.permutation(self.n_samples) if self.shuffle else None

    def __repr__(self) -> str:
        size = None if self.full else self.batch_size
        return (f"Batcher(n_samples={self.n_samples}, batch_size={size!r}, "
                f"shuffle={self.shuffle}, drop_single={self.drop_single})")


# -- blocks of data that live elsewhere -------------------------------------------------------


class TargetScale(NamedTuple):
    """A regression target standardised as ``(y - mean) / scale`` (for
    :func:`prepare_block`)."""

    mean: float
    scale: float


def prepare_block(X, y, mean=None, scale=None, classes=None, dtype=np.float64):
    """A block of rows read from a stream or a Dask partition, as a network and its loss
    take them.

    Parameters
    ----------
    X : array-like of shape (n, n_features)
    y : array-like of shape (n,)
    mean, scale : ndarray of shape (n_features,), optional
        Standardise: ``(X - mean) / scale``.
    classes : ndarray or TargetScale, optional
        Sorted labels: ``y`` becomes their indices (floats of ``dtype`` for two classes,
        for the binary cross-entropy); or a :class:`TargetScale`: the numeric ``y``
        becomes ``(y - mean) / scale``.
    dtype : numpy dtype, default=float64

    Returns
    -------
    X : C-contiguous ndarray of ``dtype``
    y : ndarray
    """
    X = np.asarray(X)
    if mean is not None:
        X = (X - mean) / scale
    return np.ascontiguousarray(X, dtype=dtype), prepare_target(y, classes, dtype)


def prepare_target(y, classes=None, dtype=np.float64) -> np.ndarray:
    """The targets of a block as :func:`prepare_block` makes them (its ``classes`` and
    ``dtype``): class indices, a standardised target, or the numbers in ``dtype``."""
    y = np.asarray(y)
    if isinstance(classes, TargetScale):
        return (np.asarray(y, dtype=dtype) - classes.mean) / classes.scale
    if classes is not None:
        index = np.searchsorted(classes, y)
        unknown = (index >= classes.size) | (classes[np.minimum(index, classes.size - 1)] != y)
        if unknown.any():
            raise ParameterError(
                f"y holds the label {y[np.argmax(unknown)]!r}, which is not among the classes "
                f"{classes.tolist()} the first pass found."
            )
        return index.astype(dtype) if classes.size == 2 else index
    if y.dtype.kind in "biuf":
        return np.ascontiguousarray(y, dtype=dtype)
    return y
