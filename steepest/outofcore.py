r"""Fit an estimator on data that are not one array in memory.

Two sources, one procedure:

* a Dask array or DataFrame (with its targets as a Dask array or Series): the rows stay
  in their partitions on the cluster (:mod:`steepest.distributed`);
* a :class:`~steepest.stream.ParquetStream`: the rows are read a row group at a time and
  never held all at once (its target column is the ``y``).

The estimator is prepared from one pass of statistics (count, labels, and each feature's
mean and standard deviation when ``scale=True``); then

* ``optimizer="lbfgs"`` or ``"newton"`` minimises the full objective
  :math:`J(\theta) = \frac1n\sum_i \ell(y_i, f_\theta(x_i)) + P(\theta)`, one pass (one
  round trip on a cluster) per evaluation, the Hessian for Newton in one more;
* a first-order optimizer with ``batch_size=None`` steps on the same full gradient, one
  pass per update;
* a first-order optimizer with ``batch_size=k`` runs epochs of mini-batches through the
  one step loop: the stream's shuffled epochs (every row once), or local SGD on the
  cluster's partitions with an average every ``sync_every`` local steps
  (:mod:`steepest.distributed.local_sgd`).

With ``checkpoint=path`` the driver saves its state there, atomically, after every
iteration of L-BFGS (θ, f, g, the ``(s, y, rho)`` pairs, the counts) or Newton (θ, f, g)
and after every epoch of a first-order method (θ and the network's state, the
optimizer's state, the history, the ``tol`` counters, the mini-batch seed and the
stream's generator); ``resume=True`` continues a killed driver from there, to the model
an uninterrupted fit makes with the same data (the same partitioning, the same files)
and settings, bit for bit; a checkpoint of other settings or data is refused
(:class:`~steepest.train.FitCheckpoint`). Local SGD is saved after every averaging
round too, so a resumed driver redoes at most the round it was killed in.

The fitted estimator is the ordinary NumPy model: it predicts, saves and loads without
Dask or the files. Not supported on these sources (each refused in one sentence):
``validation_data``, ``early_stopping``; the divergence guard does not roll back (a
non-finite loss stops the fit with advice).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from steepest import losses
from steepest._finite_diff import hessian_from_gradient
from steepest.data import TargetScale, prepare_block, prepare_target
from steepest.distributed import is_dask
from steepest.errors import NonFiniteError, ParameterError
from steepest.methods import LINE_SEARCH
from steepest.stream import ParquetStream
from steepest.train import (
    History,
    Penalty,
    StepLoop,
    add_penalty_hessian,
    data_digest,
    linear_hessian_sum,
)

__all__ = ["SourceSummary", "fit_out_of_core", "is_out_of_core", "score_out_of_core"]


def is_out_of_core(X) -> bool:
    """Whether ``fit`` must take ``X`` through this module (Dask, or a stream)."""
    return is_dask(X) or isinstance(X, ParquetStream)


@dataclass(frozen=True)
class SourceSummary:
    """What the estimator is prepared from: the first pass over a source."""

    n_rows: int
    n_features: int
    dtype: np.dtype
    labels: np.ndarray | None
    mean: np.ndarray
    std: np.ndarray
    feature_names: np.ndarray | None
    target_mean: float | None = None
    target_std: float | None = None


class _StreamObjective:
    """:math:`J` and its gradient over a stream, one pass per evaluation (the blocks'
    loss and gradient sums added in file order, the penalty once)."""

    def __init__(self, stream, network, loss, penalty, mean, scale, classes) -> None:
        self.stream, self.network, self.penalty = stream, network, penalty
        self.mean, self.scale, self.classes = mean, scale, classes
        self.steps = StepLoop(network, loss)
        self.n_rows = stream.statistics().n_rows
        self.passes = 0

    def _blocks(self):
        self.passes += 1
        for X, y in self.stream.blocks():
            yield prepare_block(X, y, self.mean, self.scale, self.classes, self.network.dtype)

    def _sums(self, theta, X, y) -> tuple[float, np.ndarray]:
        self.network.theta[...] = theta
        value, grad = self.steps.value_and_grad(X, y)
        return value * X.shape[0], grad.astype(np.float64) * X.shape[0]

    def __call__(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        value, grad = 0.0, np.zeros(self.network.n_params)
        for X, y in self._blocks():
            v, g = self._sums(theta, X, y)
            value, grad = value + v, grad + g
        value, grad = value / self.n_rows, grad / self.n_rows
        if self.penalty.active:
            self.network.theta[...] = theta
            self.network.grad[...] = grad
            self.penalty.add_gradient()
            value += self.penalty.value()
            grad = self.network.grad.astype(np.float64)
        return float(value), grad

    def hessian(self, theta):
        """Each block's Hessian (exact for a linear model, else central differences of its
        gradient sum), added in one pass, plus the L2 penalty's diagonal (as the Dask
        objective does)."""
        theta = np.asarray(theta, dtype=np.float64)
        hessian = np.zeros((theta.size, theta.size))
        for X, y in self._blocks():
            self.network.theta[...] = theta
            exact = linear_hessian_sum(self.network, self.steps.loss, X, y)
            hessian += exact if exact is not None else hessian_from_gradient(
                lambda p, X=X, y=y: self._sums(p, X, y)[1], theta)
        return add_penalty_hessian(hessian / self.n_rows, self.penalty, self.network)


def _summary_description(summary: SourceSummary) -> dict:
    """The data part of a checkpoint's settings: rows, features, dtype and a digest of the
    first pass's statistics (which change with any value)."""
    return {"rows": summary.n_rows, "features": summary.n_features,
            "dtype": str(np.dtype(summary.dtype)),
            "digest": data_digest(summary.labels, summary.mean, summary.std,
                                  np.array([summary.target_mean or 0.0,
                                            summary.target_std or 0.0]))}


class _StreamSource:
    def __init__(self, stream: ParquetStream, y) -> None:
        if y is not None:
            raise ParameterError(
                "A ParquetStream holds its target column: call fit(stream) without y (got a "
                f"y of type {type(y).__name__})."
            )
        self.stream = stream
        stats = stream.statistics()
        self.summary = SourceSummary(stats.n_rows, stream.n_features, stream.dtype,
                                     stats.labels, stats.mean, stats.std,
                                     np.asarray(stream.feature_names, dtype=object),
                                     stats.target_mean, stats.target_std)
        self.where = f"streamed from {len(stream.files)} file(s)"

    def description(self, sync_every) -> dict:
        """The data as a checkpoint's settings name them (the blocks' sizes set the order
        of the sums and the shuffle)."""
        return {**_summary_description(self.summary), "source": "stream",
                "batch_rows": self.stream.batch_rows,
                "shuffle_buffer": self.stream.shuffle_buffer}

    def objective(self, network, loss, penalty, mean, scale, classes):
        return _StreamObjective(self.stream, network, loss, penalty, mean, scale, classes)

    def mini_batch_epochs(self, model, network, loss, optimizer, mean, scale, classes, seed,
                          sync_every):
        steps = StepLoop(network, loss, optimizer, clip_norm=model.clip_norm,
                         penalty=Penalty(network, model.alpha, model.penalty, model.l1_ratio))
        rng = np.random.default_rng(seed)

        def epoch(_):  # the stream scales the features as it copies them into its buffer
            result = steps.run(self.stream.batches(
                model.batch_size, rng, mean=mean, scale=scale, dtype=network.dtype,
                prepare_target=lambda y: prepare_target(y, classes, network.dtype)))
            loss_mean = result.total / result.count if result.count else math.nan
            return loss_mean, result.updates, result.failure
        return epoch, rng


class _DaskSource:
    def __init__(self, X, y) -> None:
        from steepest.distributed import DaskData

        self.data = DaskData(X, y)
        s = self.data.summary()
        self.summary = SourceSummary(s.n_rows, self.data.n_features, self.data.dtype,
                                     s.labels, s.mean, s.std, self.data.feature_names,
                                     s.target_mean, s.target_std)
        client = self.data.client
        self.where = ("on Dask's local scheduler" if client is None else
                      f"on the Dask cluster at {client.scheduler.address} "
                      f"({len(client.scheduler_info().get('workers', {}))} workers)")

    def description(self, sync_every) -> dict:
        """The data as a checkpoint's settings name them: the partitions' sizes set the
        order of the sums and the local SGD rounds (``sync_every`` given for those)."""
        described = {**_summary_description(self.summary), "source": "dask",
                     "partitions": [int(n) for n in self.data.summary().sizes]}
        if sync_every is not None:
            described["sync_every"] = sync_every
        return described

    def objective(self, network, loss, penalty, mean, scale, classes):
        from steepest.distributed import DaskObjective

        return DaskObjective(self.data, network, loss, penalty=penalty, mean=mean,
                             scale=scale, classes=classes)

    def mini_batch_epochs(self, model, network, loss, optimizer, mean, scale, classes, seed,
                          sync_every):
        from steepest.distributed import DEFAULT_SYNC_EVERY, LocalSGD

        engine = LocalSGD(self.data, network, loss, optimizer, batch_size=model.batch_size,
                          sync_every=DEFAULT_SYNC_EVERY if sync_every is None else sync_every,
                          alpha=model.alpha, penalty=model.penalty, l1_ratio=model.l1_ratio,
                          clip_norm=model.clip_norm, mean=mean, scale=scale, classes=classes,
                          seed=seed)
        return engine.epoch, None


def _refuse_unsupported(model, validation_data) -> None:
    given = [name for name, value in (("validation_data", validation_data),
                                      ("early_stopping", model.early_stopping)) if value]
    if given:
        raise ParameterError(
            f"{type(model).__name__}.fit on a Dask collection or a ParquetStream does not "
            f"support {', '.join(given)} yet; fit without {'it' if len(given) == 1 else 'them'}"
            ", or on in-memory arrays."
        )


def fit_out_of_core(model, X, y, *, validation_data=None, checkpoint=None, resume=False,
                    sync_every: int | None = None) -> None:
    """Fit ``model`` (a steepest estimator, its parameters checked) on a Dask ``X, y`` or a
    ``ParquetStream`` ``X``; sets what ``fit`` sets, plus ``fitted_on_`` (where it ran).
    ``checkpoint`` and ``resume`` as for ``fit`` (see the module docstring)."""
    _refuse_unsupported(model, validation_data)
    source = _StreamSource(X, y) if isinstance(X, ParquetStream) else _DaskSource(X, y)
    model._prepare_summary(source.summary)
    model.fitted_on_ = source.where
    network, loss = model._network, losses.get(model._loss)
    mean, scale = (model.input_mean_, model.input_scale_) if model.scale else (None, None)
    classes = getattr(model, "classes_", None)
    if classes is None and model.scale:               # the regressors' standardised target
        classes = TargetScale(float(model.y_mean_[0]), float(model.y_scale_[0]))
    penalty = Penalty(network, model.alpha, model.penalty, model.l1_ratio)
    line_search = model._optimizer_name() in LINE_SEARCH
    if not line_search and model.batch_size is not None and isinstance(source, _DaskSource):
        from steepest.distributed import DEFAULT_SYNC_EVERY

        sync_every = DEFAULT_SYNC_EVERY if sync_every is None else sync_every
    else:
        sync_every = None                             # unused: not in the settings
    run = model._fit_checkpoint(checkpoint, resume, source.description(sync_every))
    if line_search:
        objective = source.objective(network, loss, penalty, mean, scale, classes)
        model._minimize(objective, objective.hessian, run)
        return
    saved = None if run is None else run.load()
    optimizer = model._make_optimizer()
    if model.batch_size is None:
        objective = source.objective(network, loss, penalty, mean, scale, classes)
        steps = StepLoop(network, loss, optimizer, clip_norm=model.clip_norm)

        def epoch(_):
            value, grad = objective(network.theta)
            if not (math.isfinite(value) and np.isfinite(grad).all()):
                return value, 0, (value, "the loss or its gradient became non-finite")
            network.grad[...] = grad
            steps.update()
            return value, 1, None
        state = _EpochState(network, optimizer)
    else:
        # a resumed run keeps its seed: with random_state=None a new one would differ
        seed = int(model._seed(2).integers(2**31)) if saved is None else int(saved["seed"])
        epoch, rng = source.mini_batch_epochs(model, network, loss, optimizer, mean, scale,
                                              classes, seed, sync_every)
        state = _EpochState(network, optimizer, seed, rng, rounds=rng is None)
    _epochs(model, optimizer, epoch, source.summary.n_rows, state, run, saved)


@dataclass
class _EpochState:
    """What the driver keeps from one epoch to the next, besides the history: the network
    (θ and its layers' state), the optimizer's state, and for mini-batches the seed of
    the epochs' orders and the stream's generator (None on Dask, whose orders are drawn
    from the seed and the epoch's number). ``rounds``: the epoch is local SGD's, which
    also saves after each round (``LocalSGD.epoch``'s ``progress`` and ``on_round``)."""

    network: object
    optimizer: object
    seed: int | None = None
    rng: np.random.Generator | None = None
    rounds: bool = False

    def state_dict(self) -> dict:
        return {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                "seed": self.seed,
                "rng": None if self.rng is None else self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.rng is not None:
            self.rng.bit_generator.state = state["rng"]


def _epochs(model, optimizer, epoch, n_rows: int, state: _EpochState, run=None,
            saved=None) -> None:
    """Run ``model.epochs`` epochs (fewer when ``tol`` stops them) and record the history;
    with ``verbose``, a line per epoch on stderr with the rows per second and where. With
    ``run`` (a FitCheckpoint), save the ``state``, the history and the ``tol`` counters
    after every epoch (and local SGD's ``progress`` after each of its rounds but the
    last); ``saved`` (what it saved last) continues a run from there."""
    history, best, stale, stopped, progress = History(), math.inf, 0, False, None
    if saved is not None:
        state.load_state_dict(saved)
        history.load_state_dict(saved["history"])
        best, stale, stopped = float(saved["best"]), int(saved["stale"]), saved["stopped"]
        progress = saved["progress"]
    start = time.perf_counter() - history.last("time", 0.0)

    def snapshot(**in_epoch) -> dict:
        return {**state.state_dict(), "history": history.state_dict(), "best": best,
                "stale": stale, "stopped": stopped, "progress": in_epoch or None}

    for e in range(history.epochs, history.epochs if stopped else model.epochs):
        lr = optimizer.current_lr if progress is None else float(progress["lr"])
        if state.rounds:
            def on_round(done, e=e, lr=lr):
                if run is not None:
                    run.save(snapshot(**done, epoch=e, lr=lr))
            value, updates, failure = epoch(e, progress, on_round)
            progress = None
        else:
            value, updates, failure = epoch(e)
        if failure is not None:
            raise NonFiniteError(
                f"Training diverged at epoch {e + 1}: {failure[1]} with learning rate "
                f"{lr:.4g}. Lower the rate (try {lr / 10:.3g}), scale the inputs "
                "(scale=True) or clip the gradients (clip_norm=1.0)."
            )
        elapsed = time.perf_counter() - start
        history.append({"loss": value, "lr": lr, "grad_norm": math.nan, "time": elapsed},
                       updates=updates)
        if model.verbose:
            rows = (e + 1) * n_rows / elapsed
            print(f"epoch {e + 1}/{model.epochs}  loss {value:.4g}  {rows:,.0f} rows/s  "
                  f"({model.fitted_on_})", file=sys.stderr, flush=True)
        if model.tol is not None:
            if value < best - model.tol:
                best, stale = value, 0
            else:
                stale += 1
                if stale >= model.patience:
                    history.events.append({"epoch": e + 1, "event": "early_stop",
                                           "reason": f"loss did not fall by tol={model.tol}"})
                    stopped = True
        if run is not None:
            run.save(snapshot())
        if stopped:
            break
    model._record(history)


def _block_score_sums(model, X, y):
    """``(n, Σ correct)`` for a classifier, ``(n, Σ (y - ŷ)², Σ y, Σ y²)`` for a regressor."""
    predicted = model.predict(np.asarray(X))
    y = np.asarray(y)
    if hasattr(model, "classes_"):
        return len(y), float(np.sum(predicted == y)), 0.0, 0.0
    y = y.astype(np.float64)
    return len(y), float(np.sum((y - predicted) ** 2)), float(y.sum()), float(np.sum(y * y))


def score_out_of_core(model, X, y=None) -> float:
    """``model.score`` on a Dask ``X, y`` or a ParquetStream, in one pass: the accuracy of a
    classifier, the R² of a regressor (``1 - SSE / SST``, ``SST = Σy² - (Σy)²/n``)."""
    if isinstance(X, ParquetStream):
        parts = [_block_score_sums(model, Xb, yb) for Xb, yb in X.blocks()]
    else:
        from dask import delayed

        from steepest.distributed import DaskData

        data = DaskData(X, y)
        parts = data.run([delayed(_block_score_sums)(model, Xp, yp) for Xp, yp in data.parts])
    n, first, total, squares = (sum(p[i] for p in parts) for i in range(4))
    if hasattr(model, "classes_"):
        return first / n
    return 1.0 - first / (squares - total * total / n)
