r"""The fit loop: epochs of batches through a network, a loss and an optimizer.

Each update is one :meth:`~steepest.train.step.StepLoop.step` (the one step
loop, :mod:`steepest.train.step`)::

    Y  = network.forward(X_batch, training=True)
    J, dY = loss.value_and_grad(y_batch, Y)      # the mean data loss of the batch
    network.backward(dY)                          # grad = ∂J/∂θ
    grad += ∂P/∂θ                                  # the penalty, on the weights only
    clip grad to clip_norm (global L2 norm)
    optimizer.step(theta, grad)                   # the schedule advances per update

so it minimises the objective of DESIGN.md, the mean loss plus
:math:`P(\theta) = \alpha(\rho\lVert w\rVert_1 + \frac{1-\rho}{2}\lVert w\rVert_2^2)`.
The loop allocates nothing of a batch's size after its first epoch beyond what
the network and loss do (the batches are views, the gradient of the loss goes
into a buffer kept per batch size) and does no Python work per sample. With one
sample per batch the NumPy calls would cost far more than a linear model's
arithmetic, so per-sample SGD on a linear model runs each epoch in one compiled
loop instead (:mod:`steepest.train._per_sample`: the same updates, equal to
rounding).

At the end of every epoch the trainer records the history (with the gradient
norm of each Dense layer's weights, read from the last update's gradient: a few
dot products per epoch, nothing per update; and, for each ReLU layer, the share
of its units that output 0 on every sample of a fixed probe of up to 1024
training samples: one forward pass in inference mode), runs the callbacks and
keeps a snapshot of the state (parameters, BatchNorm statistics, optimizer
state, the generator of the batch orders), so that

* an epoch that diverges is undone (see :mod:`steepest.train.divergence`);
* Ctrl-C (``KeyboardInterrupt``) during an epoch puts that state back: the
  model, the optimizer and the history are those of the last completed epoch,
  ``trainer.interrupted`` is True and ``fit`` returns normally;
* any other error raised during an epoch also leaves the last completed epoch's
  state in place before it propagates.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

from steepest import losses, optim
from steepest._validation import check_number
from steepest.data import Batcher, as_generator, check_sample_weight
from steepest.errors import NonFiniteError, ParameterError, StateError, user_stacklevel
from steepest.nn import Dense, Network, ReLU
from steepest.sparse import is_sparse
from steepest.train._per_sample import run_epoch
from steepest.train.callbacks import Callback, Checkpoint
from steepest.train.divergence import DivergenceError, DivergenceGuard, DivergenceWarning
from steepest.train.history import History
from steepest.train.progress import ProgressBar
from steepest.train.rate import ScaledRate
from steepest.train.regularization import Penalty
from steepest.train.state import load_state, save_state
from steepest.train.step import StepLoop
from steepest.transforms import global_norm

__all__ = ["Trainer", "fit"]

_FLOAT_MAX = float(np.finfo(np.float64).max)

_PROBE_ROWS = 1024
"""The most training samples the dead-unit probe runs through the network each epoch."""


def _dense_weight_ranges(network: Network) -> list[tuple[str, int, int]]:
    """``(key, start, stop)`` of every Dense layer's ``W`` in ``grad`` (``"0.W"``, ...).

    Offsets, not views: they stay right when the network's arrays are replaced
    (unpickling, ``copy.deepcopy``)."""
    ranges, offset = [], 0
    for key, view in network.parameters().items():
        index, name = key.split(".", 1)
        if name == "W" and isinstance(network.layers[int(index)], Dense):
            ranges.append((key, offset, offset + view.size))
        offset += view.size
    return ranges


def _all_finite(array: np.ndarray) -> bool:
    """Whether every entry is finite (once per epoch, so a plain scan is cheap enough)."""
    return bool(np.isfinite(array).all())


class Trainer:
    r"""Train a :class:`~steepest.nn.Network` by gradient descent, epoch after epoch.

    Parameters
    ----------
    network : Network
        Trained in place: its ``theta`` is updated by the optimizer.
    loss : str or Loss
        A :mod:`steepest.losses` name (``"mse"``, ``"categorical_crossentropy"``, ...)
        or instance.
    optimizer : str or Optimizer
        A :mod:`steepest.optim` instance (its ``lr`` may be a schedule, advanced
        once per update) or name (with its default hyperparameters). Its
        hyperparameters are not changed: reductions of the rate go through
        ``lr_scale``.
    batch_size : int or None, default=None
        ``None``: batch gradient descent (the whole set per update); ``1``:
        stochastic; ``k``: mini-batches of ``k``, reshuffled every epoch.
    alpha : float, default=0.0
        Strength of the penalty on the weights, >= 0.
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
    l1_ratio : float, default=0.15
        The L1 share of the elastic net, in [0, 1].
    clip_norm : float or None, default=None
        Rescale each gradient so its global L2 norm is at most this (> 0).
    callbacks : sequence of Callback, default=()
        Run in the order of their ``order`` attribute (see
        :mod:`steepest.train.callbacks`).
    divergence : bool or DivergenceGuard, default=True
        True: a :class:`DivergenceGuard` with its defaults; False: none (a
        non-finite loss raises :class:`~steepest.errors.NonFiniteError` at once,
        after the last good epoch's state is put back).
    shuffle : bool, default=True
        Reshuffle the samples every epoch (mini-batch and stochastic).
    drop_single : bool, default=False
        Leave out a last batch of a single sample (BatchNorm cannot train on it).
    verbose : bool, default=False
        Show a progress bar (adds a :class:`ProgressBar` if none is given).
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the order of the samples in each epoch.

    Attributes
    ----------
    steps : StepLoop
        The step loop every update of an epoch goes through (network, loss,
        optimizer, active penalty, clipping). A caller adds a term to the
        objective (a proximal term) with ``trainer.steps.terms += (term,)``.
    history : History
        The per-epoch series, ``history.epochs`` and ``history.updates``.
    epoch : int
        Epochs completed.
    updates : int
        Optimizer steps taken.
    lr_scale : float
        The factor on the optimizer's rate (1.0 until a callback or the
        divergence guard lowers it).
    stopped : bool
        A callback stopped training; ``fit`` on this trainer returns at once.
    stopped_by : str or None
        The class name of the callback that stopped training, or
        ``"KeyboardInterrupt"``.
    interrupted : bool
        The last call ended by Ctrl-C.
    finished : bool
        The last call was a ``fit`` that ran to its end (all its epochs, or
        stopped by a callback).
    target_epochs : int
        The epoch count the current (or last) call trains up to.
    """

    def __init__(self, network: Network, loss, optimizer, *, batch_size: int | None = None,
                 alpha: float = 0.0, penalty: str | None = "l2", l1_ratio: float = 0.15,
                 clip_norm: float | None = None, callbacks=(), divergence=True,
                 shuffle: bool = True, drop_single: bool = False, verbose: bool = False,
                 random_state=None) -> None:
        owner = "Trainer"
        if not isinstance(network, Network):
            raise ParameterError(
                f"The 'network' parameter of Trainer must be a steepest.nn.Network. Got "
                f"{type(network).__name__} instead."
            )
        if batch_size is not None:
            check_number(batch_size, "batch_size", owner, low=1, integer=True)
        if clip_norm is not None:
            check_number(clip_norm, "clip_norm", owner, low=0.0, closed="neither")
        self.network = network
        self.batch_size = batch_size
        self.penalty = Penalty(network, alpha, penalty, l1_ratio)
        self.steps = StepLoop(network, loss, self._check_optimizer(optimizer),
                              penalty=self.penalty, clip_norm=clip_norm)
        self.callbacks = self._check_callbacks(callbacks, verbose)
        self.guard = self._check_guard(divergence)
        self.shuffle, self.drop_single, self.verbose = bool(shuffle), bool(drop_single), verbose
        self.rng = as_generator(random_state, owner)

        self.history = History()
        self.stopped = False
        self.stopped_by: str | None = None
        self.interrupted = False
        self.finished = False
        self.target_epochs = 0
        self._rate = ScaledRate(self.optimizer.lr)
        self._partial = False
        self._snapshot: dict | None = None     # the end of the last completed epoch
        self._previous: dict | None = None     # the end of the one before
        self._in_epoch = False
        self._batcher: Batcher | None = None
        self._probe: tuple[Batcher, np.ndarray] | None = None
        self._layer_ranges = _dense_weight_ranges(network)
        self._epoch_norms = (math.nan, math.nan)   # the epoch's first and largest update norm
        self._relu_layers = [i for i, layer in enumerate(network.layers)
                             if isinstance(layer, ReLU)]

    # -- checks ------------------------------------------------------------------------

    @staticmethod
    def _check_optimizer(optimizer) -> optim.Optimizer:
        if isinstance(optimizer, str):
            return optim.get(optimizer)
        if not isinstance(optimizer, optim.Optimizer):
            raise ParameterError(
                "The 'optimizer' parameter of Trainer must be a name or a first-order optimizer "
                f"of steepest.optim ({', '.join(optim.names())}). Got {optimizer!r} instead; "
                "Newton and L-BFGS need the whole objective: use steepest.minimize."
            )
        return optimizer

    @staticmethod
    def _check_callbacks(callbacks, verbose: bool) -> list[Callback]:
        callbacks = list(callbacks)
        for index, callback in enumerate(callbacks):
            if not isinstance(callback, Callback):
                raise ParameterError(
                    f"The 'callbacks' parameter of Trainer must hold Callback objects; the "
                    f"entry at position {index} is {callback!r} of type "
                    f"{type(callback).__name__}."
                )
        if verbose and not any(isinstance(c, ProgressBar) for c in callbacks):
            callbacks.append(ProgressBar())
        return sorted(callbacks, key=lambda c: c.order)

    @staticmethod
    def _check_guard(divergence) -> DivergenceGuard | None:
        if isinstance(divergence, DivergenceGuard):
            return divergence
        if divergence is True:
            return DivergenceGuard()
        if divergence is False or divergence is None:
            return None
        raise ParameterError(
            "The 'divergence' parameter of Trainer must be a bool or a DivergenceGuard. Got "
            f"{divergence!r} instead."
        )

    # -- counters ----------------------------------------------------------------------

    @property
    def loss(self) -> losses.Loss:
        """The loss (set a name or an instance: the step loop takes it)."""
        return self.steps.loss

    @loss.setter
    def loss(self, value) -> None:
        self.steps.loss = losses.get(value)

    @property
    def optimizer(self) -> optim.Optimizer:
        """The optimizer of the step loop."""
        return self.steps.optimizer

    @property
    def clip_norm(self) -> float | None:
        """The global L2 norm each gradient is clipped to (None: no clipping)."""
        return self.steps.clip_norm

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return self.history.epochs

    @property
    def updates(self) -> int:
        """Optimizer steps taken, all epochs together."""
        return self.history.updates

    @property
    def lr_scale(self) -> float:
        """The factor on the optimizer's learning rate (or schedule)."""
        return self._rate.scale

    @lr_scale.setter
    def lr_scale(self, value: float) -> None:
        check_number(value, "lr_scale", "Trainer", low=0.0, closed="neither")
        if not math.isfinite(value):
            raise ParameterError(f"The 'lr_scale' of Trainer must be finite. Got {value!r}.")
        self._rate.scale = float(value)

    # -- training ----------------------------------------------------------------------

    def fit(self, X, y, *, epochs: int, sample_weight=None, validation_data=None,
            score=None) -> History:
        """Train until ``epochs`` epochs are complete in all, or a callback stops.

        ``epochs`` counts the epochs already run (by an earlier call, or before
        a checkpoint this trainer resumed from), so a resumed run ends where the
        uninterrupted one would.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features) or (n_samples, *network.input_shape)
            Numeric (validate user input with :func:`steepest.data.check_X`);
            converted once to the network's dtype. Images ``(n_samples, C, H, W)``
            for a network on images (or their rows of pixels).
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Targets as the loss expects them (class indices for the categorical
            cross-entropy).
        epochs : int
            >= 1.
        sample_weight : ndarray of shape (n_samples,), optional
            Weights of the samples (>= 0): the objective's data term becomes the
            weighted mean loss ``Σ w_i ℓ_i / Σ w_i``. The weights are
            rescaled to mean 1 and each batch's loss is ``(1/b) Σ_k w_k ℓ_k``,
            so the full batch is exactly that mean and a mini-batch an unbiased estimate
            of it; the epoch's ``loss`` is the weighted mean over its batches.
        validation_data : tuple (X_val, y_val), optional
            Evaluated at the end of every epoch (``val_loss``).
        score : callable, optional
            ``score(y_val, outputs) -> float``, higher is better, from the
            network's raw outputs on ``X_val`` (``val_score``); needs
            ``validation_data``.

        Returns
        -------
        History
        """
        check_number(epochs, "epochs", "Trainer.fit", low=1, integer=True)
        return self._run(X, y, sample_weight, validation_data, score, epochs, partial=False)

    def partial_fit(self, X, y, *, sample_weight=None, validation_data=None,
                    score=None) -> History:
        """Run exactly one more epoch on ``(X, y)``, keeping the optimizer's state, the
        generator of the batch orders and the history from earlier calls.

        ``sample_weight`` is rescaled to mean 1 within this call (see :meth:`fit`).

        Requests to stop from callbacks are ignored (as scikit-learn's
        ``partial_fit`` ignores early stopping); the divergence guard works as in
        :meth:`fit`.
        """
        return self._run(X, y, sample_weight, validation_data, score, self.epoch + 1,
                         partial=True)

    def _run(self, X, y, sample_weight, validation_data, score, target: int,
             partial: bool) -> History:
        X, y = self._inputs(X, y, "X", "y")
        weight = self._weights(sample_weight, X.shape[0])
        batcher = self._batcher
        if batcher is None or batcher.X is not X or batcher.y is not y or weight is not None \
                or batcher.sample_weight is not None:
            # a new one for new data; the same arrays again (partial_fit) reuse its buffers
            batcher = self._batcher = Batcher(X, y, self.batch_size, shuffle=self.shuffle,
                                              drop_single=self.drop_single, random_state=self.rng,
                                              sample_weight=weight)
        validation = None
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ParameterError(
                    "The 'validation_data' parameter of Trainer.fit must be a pair (X_val, "
                    f"y_val). Got {type(validation_data).__name__} instead."
                )
            validation = self._inputs(*validation_data, "X_val", "y_val")
        if score is not None and not callable(score):
            raise ParameterError(f"The 'score' parameter must be callable. Got {score!r}.")
        if score is not None and validation is None:
            raise ParameterError(
                "A score needs validation data: pass validation_data=(X_val, y_val) too."
            )

        if self.epoch == 0:
            self.stopped, self.stopped_by = False, None
            for callback in self.callbacks:
                callback.reset()
            if self.guard is not None:
                self.guard.reset()
        self.target_epochs, self._partial = target, partial
        self.interrupted = self.finished = False
        for callback in self.callbacks:
            callback.trainer = self
        self._rate.base = self.optimizer.lr
        self.optimizer.lr = self._rate
        try:
            for callback in self.callbacks:
                callback.on_train_begin()
            self._keep_or_take_snapshots()
            if self.guard is not None and self.guard.reference is None:
                self.guard.reference = self._initial_loss(batcher)
            self._clock = (time.perf_counter(), self.history.last("time", 0.0))
            while self.epoch < target and (partial or not self.stopped):
                self._epoch(batcher, validation, score)
            self.finished = not partial
        except KeyboardInterrupt:
            self._undo_epoch()
            self.interrupted, self.stopped_by = True, "KeyboardInterrupt"
            warnings.warn(
                f"Training interrupted by the user; the model holds the parameters of epoch "
                f"{self.epoch} (its last completed one).", UserWarning,
                stacklevel=user_stacklevel())
        except BaseException:
            self._undo_epoch()
            raise
        finally:
            self.optimizer.lr = self._rate.base
            for callback in self.callbacks:
                callback.on_train_end()
        return self.history

    def _inputs(self, X, y, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
        """X in the network's dtype, C-contiguous; y as the loss wants it, converted once."""
        if not is_sparse(X):
            X = np.asarray(X)
        y = np.asarray(y)
        images = X.ndim > 2 and X.shape[1:] == self.network.input_shape
        if (X.ndim != 2 and not images) or X.dtype.kind not in "biuf":
            raise ParameterError(
                f"Trainer needs {x_name} as a 2-D numeric array; got a {X.ndim}-D array of "
                f"dtype {X.dtype}. Check user input with steepest.data.check_X first."
            )
        if not images and X.shape[1] != self.network.n_features:
            raise ParameterError(
                f"{x_name} has {X.shape[1]} features; the network expects "
                f"{self.network.n_features}."
            )
        return self.steps.inputs(X, y)

    def _weights(self, sample_weight, n_samples: int) -> np.ndarray | None:
        """The sample weights in the network's dtype, rescaled to mean 1 (None: none)."""
        weight = check_sample_weight(sample_weight, n_samples)
        if weight is None:
            return None
        return (weight * (n_samples / weight.sum())).astype(self.network.dtype)

    def _epoch(self, batcher: Batcher, validation, score) -> None:
        """One epoch: batches, validation, the divergence check, history, callbacks."""
        self._in_epoch = True
        logs, n_updates, reason = self._batches(batcher)
        # the training loss is judged first: a blown-up model's validation pass is not run
        if reason is None:
            reason = self._divergence(logs)
        if reason is None and validation is not None:
            X_val, y_val = validation
            with np.errstate(over="ignore", invalid="ignore"):
                outputs = self.network.forward(X_val, training=False)
            if not _all_finite(outputs):
                # finite parameters can still overflow on the validation rows: that is a
                # divergence too, never a score function's error about infinite input
                reason = "the predictions on the validation data became non-finite"
            else:
                logs["val_loss"] = self.loss.value(y_val, outputs) + self.penalty.value()
                reason = self._divergence(logs)
                if reason is None and score is not None:
                    logs["val_score"] = float(score(y_val, outputs))
        if reason is not None:
            self._diverged(reason, logs)
            return
        dead_units = self._dead_units(batcher)
        start, offset = self._clock
        logs["time"] = offset + (time.perf_counter() - start)
        self.history.append(logs, self._layer_grad_norms(logs["grad_norm"]), updates=n_updates,
                            dead_units=dead_units, grad_norm_max=self._epoch_norms[1])
        self._in_epoch = False

        epoch = self.epoch
        for callback in self.callbacks:
            if callback.on_epoch_end(epoch, logs) and not self._partial and not self.stopped:
                self.stopped, self.stopped_by = True, type(callback).__name__
        self._previous, self._snapshot = self._snapshot, self._capture()

    def _divergence(self, logs: dict[str, float]) -> str | None:
        """Why the epoch of ``logs`` diverged (the guard's rule; without a guard, a
        non-finite loss), or None."""
        if self.guard is not None:
            return self.guard.check(logs)
        return next((f"the {key.replace('_', ' ')} became {logs[key]}" for key in
                     ("loss", "val_loss") if key in logs and not math.isfinite(logs[key])), None)

    def _batches(self, batcher: Batcher) -> tuple[dict[str, float], int, str | None]:
        """Run the updates of one epoch: ``(logs, updates, why it diverged or None)``."""
        start_penalty = self.penalty.value() if self.penalty.active else 0.0
        compiled = run_epoch(self, batcher)  # per-sample SGD on a linear model, when it applies
        if compiled is not None:
            (total, count, updates, failure), norm = compiled, math.nan
            self._epoch_norms = (math.nan, math.nan)
        else:
            total, count, updates, failure, norm = self.steps.run(batcher.epoch())
            self._epoch_norms = (self.steps.first_norm, self.steps.max_norm)
        if failure is not None:
            value, reason = failure
            return self._bad_logs(value), updates, reason
        if not _all_finite(self.network.theta):
            return self._bad_logs(math.nan), updates, "the parameters became non-finite"
        if self.clip_norm is None:
            norm = global_norm(self.network.grad)
        logs = {"loss": total / count + start_penalty, "lr": self._last_rate(),
                "grad_norm": norm}
        return logs, updates, None

    def _layer_grad_norms(self, norm: float) -> dict[str, float]:
        """The L2 norm of each Dense layer's weight gradient at the epoch's last update,
        before clipping (as ``grad_norm``): clipping scaled the whole gradient by
        ``clip_norm / (norm + 1e-6)``, which is undone here."""
        grad = self.network.grad
        unclip = 1.0
        if self.clip_norm is not None and self.clip_norm / (norm + 1e-6) < 1.0:
            unclip = (norm + 1e-6) / self.clip_norm
        return {key: math.sqrt(float(np.dot(grad[a:b], grad[a:b]))) * unclip
                for key, a, b in self._layer_ranges}

    def _dead_units(self, batcher: Batcher) -> dict[str, float]:
        """For each ReLU layer (keyed by its index in ``network.layers``), the share of its
        units that output 0 on every sample of the probe: up to ``_PROBE_ROWS`` evenly
        spaced training samples, gathered once per data set, in inference mode, the
        network's state put back afterwards. Empty for a network without ReLU layers.

        A unit is one entry of the layer's output for one sample (a channel at a
        position for image layers); it is dead when its output max(z, 0) is 0 for every
        probe sample. One forward pass per epoch (up to the last ReLU), nothing per update.
        """
        if not self._relu_layers:
            return {}
        if self._probe is None or self._probe[0] is not batcher:
            rows = np.linspace(0, batcher.n_samples - 1,
                               min(batcher.n_samples, _PROBE_ROWS)).astype(np.intp)
            # in the layers' own shape: flat rows of pixels become (n, C, H, W) images
            self._probe = (batcher, batcher.X[rows].reshape(rows.size,
                                                            *self.network.input_shape))
        A = self._probe[1]
        relu, last = set(self._relu_layers), self._relu_layers[-1]
        dead: dict[str, float] = {}
        state = self.network.state_dict()
        try:
            for index, layer in enumerate(self.network.layers[:last + 1]):
                A = layer.forward(A, False)
                if index in relu:
                    alive = (A.reshape(A.shape[0], -1) > 0).any(axis=0)
                    dead[str(index)] = 1.0 - float(np.count_nonzero(alive)) / alive.size
        finally:
            self.network.load_state_dict(state)
        return dead

    def _initial_loss(self, batcher: Batcher) -> float:
        """The objective at the starting parameters, for the divergence guard's yardstick.

        Measured in training mode on the whole set for batch descent, else on up to
        about 1024 evenly spaced samples in batches of the training size; the network's
        state (BatchNorm statistics, dropout generators) is put back afterwards.
        """
        X, y, w, k = batcher.X, batcher.y, batcher.sample_weight, batcher.batch_size
        if not batcher.full:
            n_chunks = max(1, min(batcher.n_samples // k, math.ceil(1024 / k)))
            rows = np.linspace(0, batcher.n_samples - 1, n_chunks * k).astype(np.intp)
            X, y, w = X[rows], y[rows], None if w is None else w[rows]
        n = X.shape[0]
        chunk = k if k > 1 else n
        state = self.network.state_dict()
        try:
            total = sum(self.loss.value(y[a:a + chunk],
                                        self.network.forward(X[a:a + chunk], training=True),
                                        sample_weight=None if w is None else w[a:a + chunk])
                        * (min(a + chunk, n) - a) for a in range(0, n, chunk))
        finally:
            self.network.load_state_dict(state)
        return total / n + self.penalty.value()

    def _last_rate(self) -> float:
        """The rate of the latest update (of the next one before any)."""
        return float(self._rate(max(self.optimizer.steps - 1, 0)))

    def _bad_logs(self, value: float) -> dict[str, float]:
        return {"loss": value, "lr": self._last_rate(), "grad_norm": math.nan}

    # -- snapshots, divergence and interruption -------------------------------------------

    def _capture(self) -> dict:
        return {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state, "epochs": self.history.epochs,
                "updates": self.history.updates,
                "callbacks": [callback.state_dict() for callback in self.callbacks]}

    def _restore(self, snapshot: dict) -> None:
        self.network.load_state_dict(snapshot["network"])
        self.optimizer.load_state_dict(snapshot["optimizer"])
        self.rng.bit_generator.state = snapshot["rng"]
        self.history.truncate(snapshot["epochs"])
        self.history.updates = snapshot["updates"]
        for callback, state in zip(self.callbacks, snapshot["callbacks"], strict=True):
            if state:
                callback.load_state_dict(state)

    def _keep_or_take_snapshots(self) -> None:
        """Keep the snapshots of an earlier call when the model is still where they left it
        (so the guard can go back two epochs across ``partial_fit`` calls); else take one."""
        kept = self._snapshot
        if kept is None or kept["epochs"] != self.epoch or kept["updates"] != self.updates \
                or not np.array_equal(kept["network"]["theta"], self.network.theta):
            self._snapshot = self._previous = self._capture()

    def _undo_epoch(self) -> None:
        """After an error or Ctrl-C inside an epoch, put back the last completed epoch's state."""
        if self._in_epoch and self._snapshot is not None:
            self._restore(self._snapshot)
        self._in_epoch = False

    def _diverged(self, reason: str, logs: dict[str, float]) -> None:
        """Roll back to the last good state; retry at a lower rate, or raise.

        The last good state is the end of the epoch *before* the last completed one:
        a loss is measured during the epoch after the parameters it judges (for batch
        descent, epoch e's loss is J at the end of epoch e − 1), so the end of the last
        completed epoch may already be the first bad state.
        """
        epoch, lr, guard = self.epoch + 1, logs["lr"], self.guard
        self._restore(self._previous)
        self._snapshot = self._previous
        self._in_epoch = False
        good = self.epoch
        if guard is not None and guard.can_retry:
            guard.retries += 1
            self.lr_scale = self.lr_scale * guard.factor
            new_lr = self._last_rate()
            event = {"epoch": epoch, "event": "divergence", "reason": reason, "lr": lr,
                     "new_lr": new_lr}
            first, largest = self._epoch_norms
            if math.isfinite(first) and largest == largest:
                # the epoch's gradient norms before it blew up: its first update's, its
                # largest (a blow-up within the epoch, which no epoch records; an overflow
                # is kept as the largest float, for JSON)
                event.update(grad_norm_first=first, grad_norm_max=min(largest, _FLOAT_MAX))
            self.history.events.append(event)
            warnings.warn(
                f"Training diverged at epoch {epoch}: {reason} with learning rate {lr:.4g}. "
                f"The model was rolled back to epoch {good} and the learning rate lowered "
                f"to {new_lr:.4g} (retry {guard.retries} of {guard.max_retries}).",
                DivergenceWarning, stacklevel=user_stacklevel())
            return
        tried = [event for event in self.history.events if event["event"] == "divergence"]
        history = (f", after lowering it {len(tried)} time{'s' * (len(tried) != 1)} from "
                   f"{tried[0]['lr']:.4g}" if tried else "")
        clip = ("clip the gradients (clip_norm=1.0)" if self.clip_norm is None
                else f"clip the gradients harder (clip_norm below {self.clip_norm:g})")
        message = (
            f"Training diverged at epoch {epoch}: {reason} with learning rate {lr:.4g}"
            f"{history}. The learning rate is too high for this problem: lower it (try "
            f"{lr / 10:.3g}), scale the inputs (e.g. sklearn.preprocessing.StandardScaler) or "
            f"{clip}. The model holds the parameters of epoch {good}, the last good one."
        )
        raise (DivergenceError if guard is not None else NonFiniteError)(message)

    # -- state and checkpoints --------------------------------------------------------------

    def _stateful_callbacks(self) -> dict[str, Callback]:
        named: dict[str, Callback] = {}
        for callback in self.callbacks:
            if callback.state_dict():
                name, k = type(callback).__name__, 1
                while (key := name if k == 1 else f"{name}.{k}") in named:
                    k += 1
                named[key] = callback
        return named

    def state_dict(self) -> dict:
        """Everything a resumed run needs, as nested dicts of arrays, numbers and strings."""
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "lr_scale": self.lr_scale,
            "stopped": self.stopped,
            "stopped_by": self.stopped_by,
            "history": self.history.state_dict(),
            "divergence": None if self.guard is None else self.guard.state_dict(),
            "callbacks": {key: c.state_dict() for key, c in self._stateful_callbacks().items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (from a trainer with the same network architecture,
        optimizer and stateful callbacks)."""
        saved = state["callbacks"]
        named = self._stateful_callbacks()
        missing = [key for key in named if key not in saved]
        if missing:
            raise StateError(
                f"The checkpoint holds no state for the callback(s) {', '.join(missing)}; it "
                f"was saved with {', '.join(saved) or 'no stateful callbacks'}. Resume with the "
                "callbacks of the run that wrote it."
            )
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        try:
            self.rng.bit_generator.state = state["rng"]
        except (TypeError, ValueError, KeyError) as error:
            raise StateError(
                f"The checkpoint's generator state does not fit this trainer's generator "
                f"({error}). Seed the trainer with an int random_state."
            ) from None
        self.lr_scale = float(state["lr_scale"])
        self.stopped, self.stopped_by = bool(state["stopped"]), state["stopped_by"]
        self.history = History()
        self.history.load_state_dict(state["history"])
        if self.guard is not None and state["divergence"] is not None:
            self.guard.load_state_dict(state["divergence"])
        for key, callback in named.items():
            callback.load_state_dict(saved[key])
        self._snapshot = self._previous = None

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write :meth:`state_dict` to ``path`` atomically (safetensors + JSON, no pickle).

        The arrays are stored under their paths in the state (``network/theta``,
        ``optimizer/exp_avg``, ``callbacks/EarlyStopping/best_state/theta``, ...), the
        rest (epoch counts, ``lr_scale``, history, generator state, callback counters)
        as JSON metadata.
        """
        return save_state(path, self.state_dict())

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint written by :meth:`save_checkpoint`: then call
        :meth:`fit` with the same data, settings and ``epochs`` as the first run."""
        self.load_state_dict(load_state(path))

    def __repr__(self) -> str:
        return (f"Trainer(network={self.network!r}, loss={self.loss!r}, "
                f"optimizer={self.optimizer!r}, batch_size={self.batch_size!r}, "
                f"penalty={self.penalty!r}, clip_norm={self.clip_norm!r})")


def fit(network: Network, loss, optimizer, X, y, *, epochs: int, validation_data=None,
        score=None, checkpoint: str | os.PathLike | None = None, resume: bool = False,
        callbacks=(), **options) -> Trainer:
    """Train ``network`` on ``(X, y)``: a :class:`Trainer` made and run in one call.

    Parameters
    ----------
    network, loss, optimizer
        As :class:`Trainer`.
    X, y, epochs, validation_data, score
        As :meth:`Trainer.fit`.
    checkpoint : str or path-like, optional
        Save a checkpoint there after every epoch.
    resume : bool, default=False
        Continue from ``checkpoint`` when that file exists (a killed run then
        ends with the parameters of an uninterrupted one); start afresh when it
        does not.
    callbacks : sequence of Callback, default=()
    **options
        The other keyword arguments of :class:`Trainer` (``batch_size``,
        ``alpha``, ``clip_norm``, ``random_state``, ...).

    Returns
    -------
    Trainer
        Holding the ``history``, the counters and the flags ``interrupted`` and
        ``stopped_by``.
    """
    callbacks = list(callbacks)
    if checkpoint is not None:
        callbacks.append(Checkpoint(checkpoint))
    elif resume:
        raise ParameterError("resume=True needs the checkpoint path: pass checkpoint=PATH.")
    trainer = Trainer(network, loss, optimizer, callbacks=callbacks, **options)
    if resume and Path(checkpoint).exists():
        trainer.load_checkpoint(checkpoint)
    trainer.fit(X, y, epochs=epochs, validation_data=validation_data, score=score)
    return trainer
