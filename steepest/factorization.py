r"""Matrix factorisation for ratings, trained rating by rating (Funk's SVD, Surprise's ``SVD``).

::

    from steepest import MatrixFactorization

    model = MatrixFactorization(n_factors=100, epochs=20, random_state=0)
    model.fit(X, y)                  # X: (n, 2) (user, item) ids of any hashable type
    model.predict([[196, 242], ["a new user", 242]])
    model.history_["rmse"], model.history_["val_rmse"]     # per epoch
    model.save("ratings.safetensors")                      # steepest.load(...) reads it

The model predicts :math:`\hat r_{ui} = \mu + b_u + b_i + q_i^\top p_u` (``biased=False``:
:math:`q_i^\top p_u`), with :math:`\mu` the mean training rating. It minimises

.. math:: J = \frac1n \sum_{(u,i,r)} \tfrac12 (r - \hat r_{ui})^2
          + \tfrac{\alpha}{2} \left(b_u^2 + b_i^2 + \|p_u\|^2 + \|q_i\|^2\right)

(the biases' terms only when biased): a parameter is penalised once for each of its
ratings, and the ½ makes one stochastic step of rate ``lr`` on a rating exactly
Surprise's update (the linear models' ``mean((y - ŷ)²)`` has no ½; here ``lr`` means
what it means in Surprise). With ``optimizer="sgd"`` (the default) each epoch is one
compiled loop of those per-rating steps, in Surprise's order: ratings grouped by user,
users in order of first appearance, each user's ratings in the order given. From the
same starting factors it gives Surprise's factors to the bit on the same machine; to
start from Surprise's, draw them as it does::

    rng = np.random.RandomState(seed)            # SVD(random_state=seed)
    P0 = rng.normal(0, 0.1, (n_users, 100))      # users_, items_: first-appearance order
    Q0 = rng.normal(0, 0.1, (n_items, 100))
    model.fit(X, y, user_factors=P0, item_factors=Q0)

Any other optimizer (a :mod:`steepest.optim` name or instance, or ``"sgd"`` with
``batch_size`` > 1) trains on mini-batches of ratings: the gradient of the batch's mean
of the objective's terms is computed in a compiled loop, and the optimizer steps all
of θ, one flat vector holding ``P``, ``Q`` and the biases.

Unseen users and items are predicted as Surprise does: the mean plus the biases that
are known, plus :math:`q_i^\top p_u` only when both are known (``biased=False``: the mean
rating unless both are known). Predictions are clipped to the training ratings' range
(``clip=True``), as Surprise clips to its rating scale.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from steepest import optim
from steepest._params import (
    boolean_rule as _boolean,
)
from steepest._params import (
    decode_param as _decode,
)
from steepest._params import (
    encode_param as _encode,
)
from steepest._params import (
    fresh_optimizer as _fresh,
)
from steepest._params import (
    json_safe as _json_safe,
)
from steepest._params import (
    number_rule as _number,
)
from steepest._params import (
    optimizer_rule as _optimizer_rule,
)
from steepest._params import (
    rate_rule as _rate,
)
from steepest.data import as_generator, check_y
from steepest.errors import FileFormatError, NonFiniteError, ParameterError, user_stacklevel
from steepest.io import save_arrays
from steepest.train.history import History
from steepest.train.rate import ScaledRate

__all__ = ["MatrixFactorization"]

DEFAULT_BATCH_SIZE = 1024
"""Ratings per update of the mini-batch path when ``batch_size`` is None. Each update
steps all of θ (the optimizer's rule is dense): on MovieLens 100K (265,000 parameters)
Adam's steps took about 60% of a fit with batches of 256, and a fit with batches of 1024
took half as long (4.7 s against 9.2 s, 20 epochs, on a loaded 2-core machine)."""

CHUNK_WORK = 2**24
"""Factor updates per compiled call of the per-rating loop (10-50 ms): Ctrl-C is seen
between calls."""

_ID_GROUPS = ("biuf", "U", "S")
"""Kinds of id arrays compared as arrays (sorted, searched); any other pair goes through
a dictionary."""


def _shuffle_rule(value, name, owner):
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be True, False or None. Got {value!r} "
            "instead."
        )


_RULES = {
    "n_factors": _number(low=1, integer=True),
    "lr": _rate,
    "alpha": _number(low=0.0),
    "epochs": _number(low=1, integer=True),
    "biased": _boolean,
    "init_mean": _number(),
    "init_std": _number(low=0.0),
    "optimizer": _optimizer_rule(full_batch=False),
    "batch_size": _number(low=1, integer=True, optional=True),
    "shuffle": _shuffle_rule,
    "clip": _boolean,
    "verbose": _boolean,
}


# -- ids -------------------------------------------------------------------------------------


def _where(names, j: int) -> str:
    return f"column {names[j]!r}" if names is not None else f"column {j}"


def _pairs(X) -> np.ndarray:
    """``X`` as an array of shape (n_ratings, 2); a sequence of pairs whose ids are not all
    numbers becomes an object array, so that each id keeps its type (NumPy alone would
    turn the ids of ``[(1, "a")]`` into the strings ``"1"`` and ``"a"``, and cannot hold
    tuple ids)."""
    try:
        array = np.asarray(X)
    except ValueError:
        array = None
    if array is None or (array.ndim > 0 and not isinstance(X, np.ndarray)
                         and array.dtype.kind not in "biuf"):
        rows = list(X)
        if all(isinstance(row, (tuple, list, np.ndarray)) and len(row) == 2 for row in rows):
            array = np.empty((len(rows), 2), dtype=object)
            for k, (user, item) in enumerate(rows):
                array[k, 0], array[k, 1] = user, item
    if array is None or array.ndim != 2 or array.shape[1] != 2:
        got = "rows of different lengths" if array is None else "a scalar" \
            if array.ndim == 0 else f"an array of shape {array.shape}"
        raise ParameterError(
            f"X must be an array of shape (n_ratings, 2) holding (user, item) ids; got {got}."
        )
    return array


def _read_ids(X) -> tuple[np.ndarray, np.ndarray, list | None]:
    """The user and item columns of ``X`` as 1-D arrays, and its column names (data frames)."""
    names = getattr(X, "columns", None)
    if names is not None and not isinstance(X, np.ndarray):
        names = list(names)
        if len(names) != 2:
            raise ParameterError(
                f"X must have two columns, the user ids and the item ids; it has {len(names)} "
                f"({', '.join(map(repr, names))})."
            )
        columns = [np.asarray(X[name]) for name in names]
    else:
        if hasattr(X, "toarray") and hasattr(X, "nnz"):
            raise ParameterError(
                "X is a sparse matrix; MatrixFactorization takes the ratings as an array of "
                "shape (n_ratings, 2) of (user, item) ids, with the ratings in y."
            )
        array = _pairs(X)
        columns, names = [array[:, 0], array[:, 1]], None
    if columns[0].size == 0:
        raise ParameterError("X has no ratings (0 rows); pass at least one (user, item) pair.")
    for j, column in enumerate(columns):
        if column.dtype.kind == "f" and np.isnan(column).any():
            row = int(np.flatnonzero(np.isnan(column))[0])
            raise ParameterError(
                f"X has a missing id (NaN) in {_where(names, j)} (first at row {row}); drop "
                "those ratings."
            )
    return columns[0], columns[1], names


def _object_codes(column: np.ndarray, table: dict, where: str, grow: bool) -> np.ndarray:
    """Dense indices of the ids in ``column`` through ``table`` (id -> index): new ids are
    added when ``grow``, else given -1. None, NaN and unhashable ids are refused."""
    codes = np.empty(column.size, np.intp)
    for row, value in enumerate(column.tolist()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise ParameterError(
                f"X has a missing id ({value}) in {where} (first at row {row}); drop those "
                "ratings."
            )
        try:
            codes[row] = table.setdefault(value, len(table)) if grow else table.get(value, -1)
        except TypeError:
            raise ParameterError(
                f"X has the unhashable id {value!r} in {where} (row {row}); ids must be "
                "hashable: ints, strings, tuples."
            ) from None
    return codes


def _index(column: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, codes)``: the distinct ids in order of first appearance, and each entry's
    index among them (Surprise's inner ids)."""
    if column.dtype.kind in "".join(_ID_GROUPS):
        distinct, first, inverse = np.unique(column, return_index=True, return_inverse=True)
        by_appearance = np.argsort(first)
        rank = np.empty(by_appearance.size, np.intp)
        rank[by_appearance] = np.arange(by_appearance.size)
        return distinct[by_appearance], rank[inverse.reshape(-1)]
    table: dict = {}
    codes = _object_codes(column, table, where, grow=True)
    ids = np.empty(len(table), dtype=object)
    ids[:] = list(table)
    return ids, codes


def _lookup(ids: np.ndarray, column: np.ndarray, where: str) -> np.ndarray:
    """The index in ``ids`` of each entry of ``column``, -1 for an id not among them."""
    same = [g for g in _ID_GROUPS if ids.dtype.kind in g and column.dtype.kind in g]
    if same:
        order = np.argsort(ids, kind="stable")
        ordered = ids[order]
        at = np.minimum(np.searchsorted(ordered, column), ids.size - 1)
        return np.where(ordered[at] == column, order[at], -1)
    table = {value: code for code, value in enumerate(ids.tolist())}
    return _object_codes(column, table, where, grow=False)


def _ids_for_file(ids: np.ndarray, name: str, owner: str):
    """``ids`` as a file keeps them: an int64 array, or a list of strings (JSON)."""
    values = ids.tolist()
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            bad = max(values, key=abs)
    elif all(isinstance(v, str) for v in values):
        return values
    else:
        kind = str if isinstance(values[0], str) else numbers.Integral
        bad = next(v for v in values if not isinstance(v, kind) or isinstance(v, bool))
    raise ParameterError(
        f"{owner}.save keeps ids that are ints (64-bit) or strings, all of one kind; {name} "
        f"holds {bad!r} ({type(bad).__name__}). Map the ids to ints or strings before fit to "
        "save the model."
    )


# -- the estimator ---------------------------------------------------------------------------


class MatrixFactorization(RegressorMixin, BaseEstimator):
    r"""Biased matrix factorisation of a ratings matrix, by per-rating SGD (Surprise's SVD).

    Parameters
    ----------
    n_factors : int, default=100
        The length of each user's and item's factor vector, >= 1.
    lr : float or schedule, default=0.005
        The step size (> 0), or a schedule ``t -> lr`` over updates (ratings for the
        per-rating loop, batches otherwise). For optimizer instances, theirs.
    alpha : float, default=0.02
        Regularisation strength, >= 0 (Surprise's ``reg_all``).
    epochs : int, default=20
        Passes over the ratings, >= 1.
    biased : bool, default=True
        Learn the mean and the user and item biases; False: :math:`\hat r = q_i^\top p_u`.
    init_mean, init_std : float, default=0.0, 0.1
        The factors start from :math:`\mathcal N(\text{init\_mean}, \text{init\_std}^2)`
        (unless given to ``fit``); the biases from zero.
    optimizer : str or Optimizer, default="sgd"
        ``"sgd"`` with ``batch_size`` None or 1: the compiled per-rating loop. Any other
        :mod:`steepest.optim` name or instance (or ``batch_size`` > 1): mini-batches.
    batch_size : int or None, default=None
        Ratings per update of the mini-batch path; None: 1 for ``"sgd"``,
        ``DEFAULT_BATCH_SIZE`` (1024) otherwise. Each update steps all of θ, so batches
        of hundreds of ratings or more are what that path is for.
    shuffle : bool or None, default=None
        Visit the ratings in a new random order each epoch (True), or in Surprise's fixed
        order (False); None: False for the per-rating loop, True for mini-batches.
    clip : bool, default=True
        Clip predictions to the range of the training ratings.
    random_state : int, Generator or None, default=None
        Seeds the starting factors and the shuffling.
    verbose : bool, default=False
        Print one line per epoch on standard error.

    Attributes
    ----------
    users_ : ndarray of shape (n_users,)
        The user ids in order of first appearance; row ``k`` of ``user_factors_`` is
        ``users_[k]``'s. ``items_`` likewise.
    user_factors_ : ndarray of shape (n_users, n_factors)
    item_factors_ : ndarray of shape (n_items, n_factors)
    user_bias_ : ndarray of shape (n_users,)
    item_bias_ : ndarray of shape (n_items,)
        Zero when ``biased=False``.
    global_mean_ : float
        The mean training rating (:math:`\mu`; for ``biased=False`` only the prediction
        for unseen ids).
    rating_range_ : tuple of float
        The smallest and largest training rating (what ``clip`` clips to).
    history_ : dict of lists
        Per epoch: ``loss`` (the objective :math:`J`, each rating's term taken before its
        update as the epoch went, as Surprise's loop sees it), ``rmse`` (the training
        RMSE measured the same way), with ``validation_data`` ``val_loss`` (:math:`J` on
        the validation ratings, unseen ids' parameters as zero) and ``val_rmse`` (of
        ``predict``, at the end of the epoch), ``lr`` (of the epoch's last update),
        ``grad_norm`` (mini-batches: the last batch gradient's L2 norm) and ``time``
        (seconds since the first epoch began).
    n_iter_ : int
        Epochs completed.
    interrupted_ : bool
        Ctrl-C stopped fit; the model is that of the last completed epoch.
    n_features_in_ : int
        2.
    feature_names_in_ : ndarray of str
        The column names of a data frame ``X``.
    """

    def __init__(self, n_factors=100, *, lr=0.005, alpha=0.02, epochs=20, biased=True,
                 init_mean=0.0, init_std=0.1, optimizer="sgd", batch_size=None, shuffle=None,
                 clip=True, random_state=None, verbose=False):
        self.n_factors = n_factors
        self.lr = lr
        self.alpha = alpha
        self.epochs = epochs
        self.biased = biased
        self.init_mean = init_mean
        self.init_std = init_std
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.clip = clip
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ---------------------------------------------------------------------

    def fit(self, X, y, *, validation_data=None, user_factors=None, item_factors=None):
        """Learn the factors and biases from the ratings ``y`` of the pairs ``X``.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2), or a two-column data frame
            (user id, item id) per rating; ids of any hashable type.
        y : array-like of shape (n_ratings,)
            The ratings (float32 ratings train float32 factors, others float64).
        validation_data : tuple (X_val, y_val), optional
            Ratings to score after every epoch (``val_loss``, ``val_rmse``); their ids
            may be unseen.
        user_factors, item_factors : array-like of shape (n_users, n_factors) and
            (n_items, n_factors), optional
            Starting factors instead of the random draw, rows in the order of
            ``users_`` and ``items_`` (first appearance in ``X``).

        Returns
        -------
        self
        """
        owner = type(self).__name__
        for name, rule in _RULES.items():
            rule(getattr(self, name), name, owner)
        init_rng, order_rng = as_generator(self.random_state, owner).spawn(2)
        user_column, item_column, names = _read_ids(X)
        dtype = np.dtype(np.float32 if getattr(y, "dtype", None) == np.float32
                         else np.float64)
        ratings = check_y(y, user_column.size, dtype=dtype)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        users_, users = _index(user_column, _where(names, 0))
        items_, items = _index(item_column, _where(names, 1))
        fixed_order = np.argsort(users, kind="stable")
        global_mean = float(np.mean(ratings[fixed_order], dtype=np.float64))
        validation = None
        if validation_data is not None:
            validation = self._check_validation(validation_data, users_, items_, dtype)

        theta = np.zeros((users_.size + items_.size) * (self.n_factors + 1), dtype)
        P, Q, bu, bi = self._views(theta, users_.size, items_.size)
        P[...] = self._start(user_factors, "user_factors", P.shape, init_rng)
        Q[...] = self._start(item_factors, "item_factors", Q.shape, init_rng)
        data = (users, items, ratings, fixed_order, order_rng, global_mean)
        history = self._descend(theta, data, validation, users_, items_)
        self.users_, self.items_ = users_, items_
        self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_ = P, Q, bu, bi
        self.global_mean_ = global_mean
        self.rating_range_ = (float(ratings.min()), float(ratings.max()))
        self.n_features_in_ = 2
        self.history_ = history.to_dict()
        self.n_iter_ = history.epochs
        return self

    def _check_validation(self, validation_data, users_, items_, dtype):
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ParameterError(
                "The 'validation_data' argument of fit must be a pair (X_val, y_val). Got "
                f"{type(validation_data).__name__} instead."
            )
        user_column, item_column, names = _read_ids(validation_data[0])
        ratings = check_y(validation_data[1], user_column.size, dtype=dtype, name="y_val")
        return (_lookup(users_, user_column, _where(names, 0)),
                _lookup(items_, item_column, _where(names, 1)), ratings)

    def _views(self, theta: np.ndarray, n_users: int, n_items: int):
        """``(P, Q, bu, bi)``: views of the flat vector ``theta`` = [P, Q, bu, bi]."""
        k = self.n_factors
        P = theta[:n_users * k].reshape(n_users, k)
        Q = theta[n_users * k:(n_users + n_items) * k].reshape(n_items, k)
        bu = theta[(n_users + n_items) * k:(n_users + n_items) * k + n_users]
        return P, Q, bu, theta[theta.size - n_items:]

    def _start(self, given, name: str, shape: tuple, rng: np.random.Generator):
        """Starting factors: ``given`` checked, or a draw from N(init_mean, init_std²)."""
        if given is None:
            return rng.normal(self.init_mean, self.init_std, size=shape)
        start = np.asarray(given, dtype=np.float64)
        if start.shape != shape:
            raise ParameterError(
                f"The {name!r} argument of fit must have shape {shape} (one row per distinct "
                f"id, in order of first appearance, and n_factors columns); got {start.shape}."
            )
        if not np.isfinite(start).all():
            raise ParameterError(f"The {name!r} argument of fit holds NaN or infinite values.")
        return start

    def _is_per_rating(self) -> bool:
        return isinstance(self.optimizer, str) and self.optimizer.lower() == "sgd" \
            and self.batch_size in (None, 1)

    def _descend(self, theta, data, validation, users_, items_) -> History:
        """Run the epochs on ``theta`` in place; Ctrl-C puts back the last completed one."""
        from steepest import _factorization_kernels as kernels

        users, items, ratings, fixed_order, order_rng, global_mean = data
        per_rating = self._is_per_rating()
        shuffle = (not per_rating) if self.shuffle is None else bool(self.shuffle)
        cast = theta.dtype.type
        scalars = {"mu": cast(global_mean if self.biased else 0.0), "alpha": cast(self.alpha),
                   "biased": bool(self.biased)}
        views = self._views(theta, users_.size, items_.size)
        run = self._sgd_epoch if per_rating else self._minibatch_epoch(theta, views)
        history, start, finished = History(), time.perf_counter(), theta.copy()
        self.interrupted_ = False
        try:
            for epoch in range(self.epochs):
                order = order_rng.permutation(fixed_order) if shuffle else fixed_order
                logs = run(kernels, epoch, users, items, ratings, order, views, scalars)
                if not np.isfinite(theta).all():
                    self._diverged(epoch, "a factor or bias overflowed to infinity")
                if validation is not None:
                    logs.update(self._validate(kernels, validation, views, scalars,
                                               global_mean, ratings))
                logs["time"] = time.perf_counter() - start
                history.append(logs)
                finished[...] = theta
                if self.verbose:
                    print(f"epoch {epoch + 1}/{self.epochs}  " + "  ".join(
                        f"{key} {value:.4g}" for key, value in logs.items()), file=sys.stderr)
        except KeyboardInterrupt:
            theta[...] = finished
            self.interrupted_ = True
            warnings.warn(
                f"Training interrupted by the user; the model holds the parameters of epoch "
                f"{history.epochs} (its last completed one).", UserWarning,
                stacklevel=user_stacklevel())
        return history

    def _rates(self, first: int, count: int, dtype) -> np.ndarray:
        rates = ScaledRate(self.lr).rates(first, count)
        if not (np.isfinite(rates).all() and (rates >= 0).all()):
            bad = float(rates[~(np.isfinite(rates) & (rates >= 0))][0])
            raise ParameterError(
                f"The learning-rate schedule of {type(self).__name__} returned {bad!r}; a "
                "rate must be a finite float >= 0. Check the schedule."
            )
        return rates.astype(dtype)

    def _sgd_epoch(self, kernels, epoch, users, items, ratings, order, views, scalars) -> dict:
        """One epoch of Surprise's per-rating loop, in compiled chunks."""
        P, Q, bu, bi = views
        n, chunk = order.size, max(1, CHUNK_WORK // self.n_factors)
        rates = self._rates(epoch * n, n, P.dtype)
        squares = objective = 0.0
        for first in range(0, n, chunk):
            part = order[first:first + chunk]
            s, o, done, status = kernels.sgd_ratings(
                users, items, ratings, part, rates[first:first + chunk], scalars["mu"],
                P, Q, bu, bi, scalars["alpha"], scalars["biased"])
            squares, objective = squares + s, objective + o
            if status != kernels.OK:
                row = int(part[done])
                self._diverged(epoch, f"the error on rating {row} became NaN or infinite")
        return {"loss": objective / n, "rmse": math.sqrt(squares / n),
                "lr": float(rates[-1])}

    def _minibatch_epoch(self, theta, views):
        """The epoch function of the mini-batch path, holding its optimizer and gradient."""
        if isinstance(self.optimizer, optim.Optimizer):
            optimizer = _fresh(self.optimizer)
        else:
            optimizer = optim.get(self.optimizer, lr=self.lr)
        batch_size = self.batch_size or DEFAULT_BATCH_SIZE
        grad = np.zeros_like(theta)
        gP, gQ, gbu, gbi = self._views(grad, views[2].size, views[3].size)

        def epoch_run(kernels, epoch, users, items, ratings, order, views, scalars) -> dict:
            P, Q, bu, bi = views
            squares = objective = 0.0
            for first in range(0, order.size, batch_size):
                batch = order[first:first + batch_size]
                value, s = kernels.batch_gradient(
                    users, items, ratings, batch, theta.dtype.type(1.0 / batch.size),
                    scalars["mu"], P, Q, bu, bi, gP, gQ, gbu, gbi, scalars["alpha"],
                    scalars["biased"])
                if not math.isfinite(value):
                    self._diverged(epoch, f"the objective of a batch became {value}")
                objective, squares = objective + value * batch.size, squares + s
                lr = optimizer.current_lr
                if first + batch_size >= order.size:
                    grad_norm = float(np.linalg.norm(grad))
                optimizer.step(theta, grad)
                kernels.clear_rows(users, items, batch, gP, gQ, gbu, gbi)
            return {"loss": objective / order.size, "rmse": math.sqrt(squares / order.size),
                    "lr": lr, "grad_norm": grad_norm}

        return epoch_run

    def _diverged(self, epoch: int, what: str):
        raise NonFiniteError(
            f"{type(self).__name__} diverged in epoch {epoch + 1}: {what}. Lower lr (now "
            f"{self.lr!r}) or check that the ratings are on a moderate scale."
        )

    def _validate(self, kernels, validation, views, scalars, global_mean, ratings) -> dict:
        users, items, y = validation
        P, Q, bu, bi = views
        raw = self._predict_codes(kernels, users, items, views, scalars, global_mean)
        known_u, known_i = users >= 0, items >= 0
        norm_u = np.einsum("ij,ij->i", P, P) + (bu * bu if self.biased else 0)
        norm_i = np.einsum("ij,ij->i", Q, Q) + (bi * bi if self.biased else 0)
        norms = np.where(known_u, norm_u[users], 0) + np.where(known_i, norm_i[items], 0)
        errors = y - raw
        val_loss = float(np.mean(0.5 * (errors * errors + self.alpha * norms),
                                 dtype=np.float64))
        if self.clip:
            np.clip(raw, ratings.min(), ratings.max(), out=raw)
        errors = y - raw
        return {"val_loss": val_loss,
                "val_rmse": math.sqrt(float(np.mean(errors * errors, dtype=np.float64)))}

    # -- predicting ------------------------------------------------------------------

    def _predict_codes(self, kernels, users, items, views, scalars, global_mean) -> np.ndarray:
        P, Q, bu, bi = views
        out = np.empty(users.size, P.dtype)
        kernels.predict(users, items, scalars["mu"], P, Q, bu, bi, scalars["biased"],
                        P.dtype.type(global_mean), out)
        return out

    def predict(self, X):
        """The predicted rating of each (user, item) pair, shape (n_ratings,).

        Unseen users or items get the mean plus the known biases (see the module's
        notes); with ``clip`` the predictions lie in ``rating_range_``.
        """
        from steepest import _factorization_kernels as kernels

        check_is_fitted(self, "users_")
        user_column, item_column, names = _read_ids(X)
        fitted_names = getattr(self, "feature_names_in_", None)
        if names is not None and fitted_names is not None and list(names) != list(
                fitted_names):
            raise ParameterError(
                f"X has the columns {names}, but {type(self).__name__} was fitted on "
                f"{list(fitted_names)}; pass the user ids and item ids in the same columns."
            )
        users = _lookup(self.users_, user_column, _where(names, 0))
        items = _lookup(self.items_, item_column, _where(names, 1))
        dtype = self.user_factors_.dtype
        scalars = {"mu": dtype.type(self.global_mean_ if self.biased else 0.0),
                   "biased": bool(self.biased)}
        views = (self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_)
        out = self._predict_codes(kernels, users, items, views, scalars, self.global_mean_)
        if self.clip:
            np.clip(out, *self.rating_range_, out=out)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    # -- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path`` (safetensors + JSON metadata, atomically).

        Ids are kept: ints as an int64 array, strings in the metadata; ids of other
        types are refused (:class:`~steepest.errors.ParameterError`) before anything
        is written. ``steepest.load(path)`` gives back a model that predicts the same.
        """
        check_is_fitted(self, "users_")
        owner = type(self).__name__
        params = {name: _encode(value, name, owner)
                  for name, value in self.get_params(deep=False).items()}
        arrays = {"user_factors_": self.user_factors_, "item_factors_": self.item_factors_,
                  "user_bias_": self.user_bias_, "item_bias_": self.item_bias_}
        fitted = {"global_mean_": self.global_mean_, "rating_range_": self.rating_range_,
                  "n_iter_": self.n_iter_, "history_": self.history_}
        for name in ("users_", "items_"):
            ids = _ids_for_file(getattr(self, name), name, owner)
            if isinstance(ids, np.ndarray):
                arrays[name] = ids
            else:
                fitted[name] = ids
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(name) for name in self.feature_names_in_]
        metadata = {"format": "steepest-model", "version": 1, "class": owner,
                    "params": params, "fitted": fitted}
        return save_arrays(path, arrays, _json_safe(metadata))

    @classmethod
    def _from_file(cls, path, arrays: dict, metadata: dict) -> MatrixFactorization:
        """The model :meth:`save` wrote (``steepest.load`` calls this)."""
        if metadata.get("format") != "steepest-model":
            raise FileFormatError(f"'{path}' is a steepest file but not a saved model.")
        try:
            model = cls(**{k: _decode(v) for k, v in metadata["params"].items()})
            fitted = metadata["fitted"]
            for name in ("users_", "items_"):
                setattr(model, name, arrays[name] if name in arrays
                        else np.asarray(fitted[name], dtype=str))
            n_users, n_items, k = model.users_.size, model.items_.size, model.n_factors
            for name, shape in (("user_factors_", (n_users, k)), ("item_factors_", (n_items, k)),
                                ("user_bias_", (n_users,)), ("item_bias_", (n_items,))):
                if arrays[name].shape != shape:
                    raise ValueError(f"{name} has shape {arrays[name].shape}, not {shape}")
                setattr(model, name, arrays[name])
            model.global_mean_ = float(fitted["global_mean_"])
            model.rating_range_ = tuple(float(v) for v in fitted["rating_range_"])
            model.n_iter_, model.history_ = int(fitted["n_iter_"]), fitted["history_"]
            if "feature_names_in_" in fitted:
                model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
            model.n_features_in_ = 2
            model.interrupted_ = False
        except (KeyError, TypeError, ValueError) as error:
            raise FileFormatError(
                f"'{path}' does not describe a {cls.__name__} this version can rebuild "
                f"({type(error).__name__}: {error})."
            ) from None
        return model
