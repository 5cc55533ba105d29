r"""Sparse input: SciPy CSR/CSC matrices (and the vectorisers' output) for linear models and
the first Dense layer of a network.

A sparse ``X`` is kept sparse from ``fit`` to ``predict``; nothing on the way makes its
dense form:

- the first :class:`~steepest.nn.Dense` layer computes ``Y = X W + b`` and its weight
  gradient ``dW = Xᵀ dY`` by sparse products (O(non-zeros · units)); no gradient with
  respect to the sparse input is formed (it would be dense), so a sparse input must go
  into a first Dense layer;
- mini-batches are row gathers of the CSR matrix (:func:`take_rows`);
- per-sample SGD on a linear model runs over each row's non-zeros
  (:mod:`steepest.train._per_sample`), with the L2 decay kept in a scale of the weights;
- ``scale=True`` divides each column by its standard deviation without centering
  (scikit-learn's ``StandardScaler(with_mean=False)``; centering would fill every zero):
  :func:`column_std` and :func:`scale_columns`.

:func:`check_sparse_X` turns what a user passes into a canonical CSR matrix of the model's
dtype (CSC and COO are converted, duplicate entries summed, finite values checked).
:func:`is_sparse` never imports SciPy: a SciPy matrix can only exist once
``scipy.sparse`` is loaded.
"""

from __future__ import annotations

import sys

import numpy as np

from steepest.errors import ParameterError

__all__ = ["check_sparse_X", "column_std", "is_sparse", "scale_columns", "take_rows"]


def is_sparse(X) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array (without importing SciPy)."""
    module = sys.modules.get("scipy.sparse")
    return module is not None and module.issparse(X)


def check_sparse_X(X, *, dtype="float64", n_features: int | None = None,
                   owner: str | None = None, name: str = "X"):
    """``X`` as a canonical CSR matrix of ``dtype`` with finite entries, or a clear error.

    Parameters
    ----------
    X : scipy.sparse matrix or array of shape (n_samples, n_features)
        CSR is used as it is when it already has the dtype and no duplicate entries;
        other formats (CSC, COO, ...) are converted to CSR (a copy of the non-zeros).
    dtype : {"float64", "float32"}, default="float64"
    n_features : int, optional
        The width ``X`` must have (the one seen in ``fit``).
    owner : str, optional
        Who asks, for the n_features message.
    name : str, default="X"

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_samples, n_features)

    Raises
    ------
    ParameterError
        For an empty or complex matrix, a NaN or infinite entry (naming its row and
        column), or the wrong number of columns.
    """
    import scipy.sparse as sp

    if X.ndim != 2:
        raise ParameterError(
            f"{name} must be a 2-D sparse matrix of shape (n_samples, n_features); got one "
            f"of shape {X.shape}."
        )
    n, d = X.shape
    for size, what in ((n, "sample"), (d, "feature")):
        if size == 0:
            raise ParameterError(
                f"{name} has 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required."
            )
    if n_features is not None and d != n_features:
        raise ParameterError(
            f"{name} has {d} features, but {owner or 'the model'} is expecting {n_features} "
            "features as input; pass the same columns as in fit."
        )
    if X.dtype.kind == "c":
        raise ParameterError(
            f"{name} has complex values: Complex data not supported. Pass the real and "
            "imaginary parts as separate columns."
        )
    if X.dtype.kind not in "biuf":
        raise ParameterError(f"{name} is a sparse matrix of dtype {X.dtype}; it needs numbers.")
    dtype = np.dtype(dtype)
    if X.format == "csr" and X.dtype == dtype and X.has_canonical_format:
        csr = X if isinstance(X, sp.csr_matrix) else sp.csr_matrix(X)
    else:
        csr = sp.csr_matrix(X, dtype=dtype)   # a copy: the caller's matrix is left alone
        csr.sum_duplicates()
    bad = ~np.isfinite(csr.data)
    if bad.any():
        p = int(np.argmax(bad))
        row = int(np.searchsorted(csr.indptr, p, side="right") - 1)
        what = "a NaN" if np.isnan(csr.data[p]) else "an infinity"
        raise ParameterError(
            f"{name} has {what} in column {int(csr.indices[p])} (first at row {row}); remove "
            "or impute those values."
        )
    return csr


def column_std(X) -> np.ndarray:
    r"""The standard deviation of each column of a sparse ``X``, 1 where it is 0.

    :math:`\sigma_j = \sqrt{\overline{x_j^2} - \bar x_j^2}` over all ``n_samples`` rows
    (the zeros included), from the non-zeros alone: O(non-zeros + n_features). A
    constant column gets 1, so it stays as it is (as in the dense ``scale=True``).

    Returns
    -------
    ndarray of shape (n_features,), float64
    """
    n, d = X.shape
    csr = X.tocsr()
    data = csr.data.astype(np.float64)
    total = np.bincount(csr.indices, weights=data, minlength=d)
    squares = np.bincount(csr.indices, weights=data * data, minlength=d)
    mean = total / n
    variance = np.maximum(squares / n - mean * mean, 0.0)
    std = np.sqrt(variance)
    return np.where(std > 0, std, 1.0)


def scale_columns(X, scale: np.ndarray):
    """``X`` with column ``j`` divided by ``scale[j]``: a new CSR matrix, the same pattern.

    O(non-zeros); the zeros stay zeros (no centering).
    """
    import scipy.sparse as sp

    csr = X.tocsr()
    data = csr.data / np.asarray(scale, dtype=np.float64)[csr.indices]
    return sp.csr_matrix((data.astype(csr.dtype), csr.indices.copy(), csr.indptr.copy()),
                         shape=csr.shape)


def take_rows(X, rows: np.ndarray):
    """The rows ``rows`` of the CSR matrix ``X``, in that order, as a new CSR matrix.

    O(their non-zeros): the mini-batch of a shuffled epoch.
    """
    return X[rows]
