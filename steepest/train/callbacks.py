"""Callbacks: code the fit loop runs around each epoch.

The protocol is small. Before the hooks run the trainer sets ``callback.trainer``
to itself; a callback sees it only as a :class:`TrainerView`, the few things it
may read and call (the network, the history and its events, ``lr_scale``, the
epoch counters and flags, ``save_checkpoint``), so this module knows no trainer
class (as Keras's callback base knows none):

``reset()``
    Forget everything seen: called when a trainer starts from epoch 0 (not when
    it resumes from a checkpoint or continues in another call).
``on_train_begin()``
    At the start of every ``fit`` or ``partial_fit`` call.
``on_epoch_end(epoch, logs) -> bool | None``
    After each completed epoch: ``epoch`` counts from 1, ``logs`` holds the
    epoch's numbers (``loss``, ``val_loss``, ``val_score``, ``lr``,
    ``grad_norm``, ``time``). Return True to stop training.
``on_train_end()``
    When a ``fit`` or ``partial_fit`` call returns or raises;
    ``trainer.finished`` says whether a ``fit`` ran to its end (all its epochs,
    or stopped by a callback).
``state_dict()`` / ``load_state_dict(state)``
    What a checkpoint must save for a resumed run to decide as the
    uninterrupted one would (arrays, numbers, strings).

Callbacks run in the order of their ``order`` attribute, then of the list:
0 for most, 50 for the progress bar, 100 for :class:`Checkpoint`, which must
see the others' decisions of the epoch.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from steepest._validation import check_choice, check_number
from steepest.errors import ParameterError
from steepest.nn import Network
from steepest.plateau import PlateauCounter
from steepest.train.history import History

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "ReduceLROnPlateau", "TrainerView"]

_MONITORS = ("auto", "loss", "val_loss", "val_score")


@runtime_checkable
class TrainerView(Protocol):
    """What a callback may read and call on the trainer that runs it.

    Attributes
    ----------
    network : Network
        The network being trained (its ``state_dict`` / ``load_state_dict``).
    history : History
        The record so far; callbacks append what they did to ``history.events``.
    lr_scale : float
        The factor on the optimizer's rate; a callback may lower it (> 0).
    epoch : int
        Epochs completed (read only).
    target_epochs : int
        The epoch count the current call trains up to.
    stopped : bool
        A callback has asked to stop this run.
    stopped_by : str or None
        The class name of the callback that stopped it, or ``"KeyboardInterrupt"``.
    finished : bool
        The last call was a ``fit`` that ran to its end.
    """

    network: Network
    history: History
    lr_scale: float
    target_epochs: int
    stopped: bool
    stopped_by: str | None
    finished: bool

    @property
    def epoch(self) -> int:
        """Epochs completed."""

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write everything a resumed run needs to ``path``, atomically."""


class Callback:
    """Base class: every hook does nothing. See the module docstring for the protocol."""

    order: ClassVar[int] = 0
    trainer: TrainerView | None = None

    def reset(self) -> None:
        """Forget what was seen (training starts from epoch 0)."""

    def on_train_begin(self) -> None:
        """A ``fit`` or ``partial_fit`` call starts."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Epoch ``epoch`` (from 1) is complete; return True to stop training."""
        return None

    def on_train_end(self) -> None:
        """A ``fit`` or ``partial_fit`` call ends."""

    def state_dict(self) -> dict:
        """What a checkpoint saves (empty: nothing to save)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`."""

    def __repr__(self) -> str:
        names = getattr(self, "_hyperparameters", ())
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in names)})"


class _Monitor(Callback):
    """A callback that watches one number of the logs: lower is better for the losses,
    higher for ``val_score``."""

    def __init__(self, monitor: str, min_delta: float) -> None:
        owner = type(self).__name__
        self.monitor = check_choice(monitor, "monitor", owner, _MONITORS)
        self.min_delta = check_number(min_delta, "min_delta", owner, low=0.0)

    def _key(self, logs: dict[str, float]) -> str:
        if self.monitor == "auto":
            return "val_loss" if "val_loss" in logs else "loss"
        if self.monitor not in logs:
            raise ParameterError(
                f"{type(self).__name__} monitors {self.monitor!r}, which this run does not "
                f"record (it records {', '.join(sorted(logs))}). Pass validation data, or "
                "monitor 'loss'."
            )
        return self.monitor

    def _value(self, logs: dict[str, float]) -> tuple[float, float]:
        """The monitored value as a loss (lower is better) and its sign."""
        key = self._key(logs)
        sign = -1.0 if key == "val_score" else 1.0
        return sign * logs[key], sign


class EarlyStopping(_Monitor):
    """Stop when the monitored number has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than
    ``min_delta``. The best weights are those of the best epoch by any margin
    (as scikit-learn's MLP keeps them): with ``restore_best_weights`` the
    network (theta and BatchNorm's running statistics) is set back to them when
    a ``fit`` ends, whether this callback stopped it or the epochs ran out.
    Both are recorded in the trainer's ``history.events``: ``{"epoch": e,
    "event": "early_stop", "monitor": ..., "best": ..., "best_epoch": b}`` the
    first time the patience runs out, ``{"epoch": e, "event": "best_restored",
    "best_epoch": b}`` when the best weights are put back.

    Parameters
    ----------
    monitor : {"auto", "loss", "val_loss", "val_score"}, default="auto"
        ``"auto"``: ``val_loss`` when validating, else ``loss``. Losses are
        minimised, ``val_score`` maximised.
    patience : int, default=10
        Epochs without improvement before stopping, >= 1.
    min_delta : float, default=0.0
        The least change that counts as an improvement, >= 0.
    restore_best_weights : bool, default=True

    Attributes
    ----------
    best : float or None
        The best value seen (None before the first epoch).
    best_epoch : int
    wait : int
        Epochs since the last improvement.
    stopped_epoch : int
        The epoch at which it stopped training (0 if it did not).
    """

    _hyperparameters = ("monitor", "patience", "min_delta", "restore_best_weights")

    def __init__(self, monitor: str = "auto", patience: int = 10, min_delta: float = 0.0,
                 restore_best_weights: bool = True) -> None:
        super().__init__(monitor, min_delta)
        self.patience = check_number(patience, "patience", "EarlyStopping", low=1, integer=True)
        self.restore_best_weights = bool(restore_best_weights)
        self.reset()

    def reset(self) -> None:
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self._best_state: dict | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        value, sign = self._value(logs)
        best = None if self.best is None else sign * self.best
        if best is None or value < best - self.min_delta:
            self.wait = 0
        else:
            self.wait += 1
        if best is None or value < best:
            self.best, self.best_epoch = sign * value, epoch
            if self.restore_best_weights:
                self._best_state = self.trainer.network.state_dict()
        if self.wait >= self.patience:
            if not self.stopped_epoch and self.trainer is not None:
                self.trainer.history.events.append(
                    {"epoch": epoch, "event": "early_stop", "monitor": self._key(logs),
                     "best": self.best, "best_epoch": self.best_epoch})
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self) -> None:
        trainer = self.trainer
        if (self.restore_best_weights and self._best_state is not None and trainer.finished
                and self.best_epoch != trainer.epoch):
            trainer.network.load_state_dict(self._best_state)
            trainer.history.events.append({"epoch": trainer.epoch, "event": "best_restored",
                                           "best_epoch": self.best_epoch})

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_state": self._best_state}

    def load_state_dict(self, state: dict) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch, self.wait = int(state["best_epoch"]), int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self._best_state = state["best_state"]


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when the monitored number stalls.

    After ``patience`` epochs without an improvement larger than ``min_delta``
    the trainer's ``lr_scale`` is multiplied by ``factor`` (so a constant rate
    and a schedule are lowered alike), never below ``min_lr``; then
    ``cooldown`` epochs pass before the count starts again. Keras's rule, counted
    by :class:`steepest.plateau.PlateauCounter` (torch's count, which is Keras's
    with ``patience - 1``, ``cooldown - 1`` and an absolute threshold). Each
    reduction is recorded in the trainer's ``history.events`` as ``{"epoch": e,
    "event": "lr_reduced", "monitor": ..., "lr": before, "new_lr": after}``.

    Parameters
    ----------
    monitor : {"auto", "loss", "val_loss", "val_score"}, default="auto"
    factor : float, default=0.1
        In (0, 1).
    patience : int, default=10
        >= 1.
    min_delta : float, default=1e-4
    cooldown : int, default=0
    min_lr : float, default=0.0
        The rate is not lowered below this.

    Attributes
    ----------
    reductions : int
        How many times the rate was lowered.
    """

    _hyperparameters = ("monitor", "factor", "patience", "min_delta", "cooldown", "min_lr")

    def __init__(self, monitor: str = "auto", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(monitor, min_delta)
        owner = "ReduceLROnPlateau"
        self.factor = check_number(factor, "factor", owner, low=0.0, high=1.0, closed="neither")
        self.patience = check_number(patience, "patience", owner, low=1, integer=True)
        self.cooldown = check_number(cooldown, "cooldown", owner, low=0, integer=True)
        self.min_lr = check_number(min_lr, "min_lr", owner, low=0.0)
        # Keras waits `patience` bad epochs, torch more than `patience`; Keras's last
        # cooldown epoch already counts (the two rules agree epoch for epoch)
        self._count = PlateauCounter("min", self.patience - 1, self.min_delta, "abs",
                                     max(self.cooldown - 1, 0))
        self.reset()

    def reset(self) -> None:
        self._count.reset_count()
        self.reductions = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value, _ = self._value(logs)          # as a loss: lower is better
        if self._count.update(value):
            self._lower(epoch, logs)

    def _lower(self, epoch: int, logs: dict[str, float]) -> None:
        lr = logs["lr"]
        if not (lr > self.min_lr) or not math.isfinite(lr):
            return
        trainer = self.trainer
        factor = self.factor if lr * self.factor >= self.min_lr else self.min_lr / lr
        trainer.lr_scale = trainer.lr_scale * factor
        self.reductions += 1
        trainer.history.events.append({"epoch": epoch, "event": "lr_reduced",
                                       "monitor": self._key(logs), "lr": lr,
                                       "new_lr": lr * factor})

    def state_dict(self) -> dict:
        """Keras's counters (the checkpoint format of this callback): the best value as
        monitored, the bad epochs and the cooldown epochs left."""
        count = self._count
        sign = -1.0 if self.monitor == "val_score" else 1.0
        return {"best": None if math.isinf(count.best) else sign * count.best,
                "wait": count.num_bad_epochs,
                "cooldown_left": count.cooldown_counter + 1 if count.in_cooldown else 0,
                "reductions": self.reductions}

    def load_state_dict(self, state: dict) -> None:
        count = self._count
        sign = -1.0 if self.monitor == "val_score" else 1.0
        count.best = math.inf if state["best"] is None else sign * float(state["best"])
        count.num_bad_epochs = int(state["wait"])
        count.cooldown_counter = max(int(state["cooldown_left"]) - 1, 0)
        self.reductions = int(state["reductions"])


class Checkpoint(Callback):
    """Save everything a resumed run needs, atomically, at the end of every ``every`` epochs.

    The file (see :meth:`Trainer.save_checkpoint`) holds the network's state
    (theta, BatchNorm statistics, dropout generators), the optimizer's state,
    the generator of the batch orders, ``lr_scale``, the history, the epoch and
    update counts, and the state of the stateful callbacks and of the divergence
    guard. ``Trainer.load_checkpoint(path)`` then ``fit`` with the same data and
    settings ends with exactly the parameters of an uninterrupted run. Runs after
    the other callbacks of the epoch.

    Parameters
    ----------
    path : str or path-like
        Overwritten each time (through a temporary file and a rename, so a
        crash while writing leaves the previous checkpoint whole).
    every : int, default=1
        Save every ``every`` epochs, and at the last epoch of a ``fit``.
    """

    order = 100
    _hyperparameters = ("path", "every")

    def __init__(self, path: str | os.PathLike, every: int = 1) -> None:
        self.path = Path(path)
        self.every = check_number(every, "every", "Checkpoint", low=1, integer=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        trainer = self.trainer
        if epoch % self.every == 0 or trainer.stopped or epoch >= trainer.target_epochs:
            trainer.save_checkpoint(self.path)
