"""What a training run recorded: one number per epoch for each quantity, and events."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

__all__ = ["History"]

_ORDER = ("loss", "val_loss", "val_score", "lr", "grad_norm", "time")
"""The series in the order they are listed (others, from callbacks, come after)."""


class History(Mapping):
    """Per-epoch series of a training run: a read-only mapping ``name -> list of floats``.

    Series (one entry per completed epoch):

    ``loss``
        The training objective: the mean data loss over the epoch's samples
        (each batch's mean loss weighted by its size, measured as the epoch went
        along) plus the penalty at the parameters the epoch started from. For
        full-batch descent this is exactly :math:`J(\\theta)` at the point where
        the epoch's gradient was taken.
    ``val_loss``
        When validating: the data loss on the validation set at the end of the
        epoch (inference mode: no dropout, BatchNorm's running statistics) plus
        the penalty at those parameters.
    ``val_score``
        When validating with a score function: its value on the validation set
        at the end of the epoch (higher is better).
    ``lr``
        The learning rate of the epoch's last update, after any reduction by
        callbacks or the divergence guard.
    ``grad_norm``
        The global L2 norm of the epoch's last gradient (data loss plus penalty,
        before clipping).
    ``time``
        Seconds spent training, from the start of the run to the end of the
        epoch (a resumed run goes on counting from its checkpoint).

    A series that appears late (validation added in a later call) is padded with
    NaN for the epochs before it.

    Per-layer gradient norms are kept beside the series, not among them (the
    mapping stays the handful of numbers every run has): ``layer_grad_norm``
    maps the key of each Dense layer's weights in ``network.parameters()``
    (``"0.W"``, ``"2.W"``, ...) to one number per epoch, the L2 norm of that
    block of the epoch's last gradient, taken as ``grad_norm`` is (data loss plus
    penalty, before clipping). ``to_dict(layers=True)`` adds them as series
    named ``"grad_norm/0.W"``, ``"grad_norm/2.W"``, ...; :mod:`steepest.diagnose`
    reads them in either form to tell vanishing from exploding gradients.
    Beside them too: ``dead_units`` (for each ReLU layer, by its index in
    ``network.layers``, the share of its units that output 0 on every sample of
    a fixed probe of up to 1024 training samples at the end of each epoch;
    ``"dead_units/<i>"`` in ``to_dict(layers=True)``), ``batch_grad_norm_max`` (the
    largest gradient norm of the epoch's updates, before clipping: a gradient that
    blew up and calmed within an epoch; ``"grad_norm_max"`` in
    ``to_dict(layers=True)``) and ``update_counts`` (the
    optimizer steps taken by the end of each epoch, all epochs together;
    ``"updates"`` in ``to_dict(counts=True)``).

    Attributes
    ----------
    epochs : int
        The number of completed epochs (``n_iter_``).
    updates : int
        The number of optimizer steps, all epochs together.
    events : list of dict
        What happened besides the epochs, in order, each with the ``epoch`` it
        happened at and its kind in ``event``: ``"divergence"`` (the guard rolled
        the model back: ``reason``, ``lr``, ``new_lr``), ``"lr_reduced"``
        (:class:`~steepest.train.ReduceLROnPlateau`: ``monitor``, ``lr``,
        ``new_lr``), ``"early_stop"`` (:class:`~steepest.train.EarlyStopping`:
        ``monitor``, ``best``, ``best_epoch``) and ``"best_restored"`` (its best
        weights put back at the end: ``best_epoch``).
    layer_grad_norm : dict of str to list of float
        Per Dense layer (keyed ``"0.W"``, ``"2.W"``, ...), the gradient norm of
        its weights at the epoch's last update, one number per epoch (empty for
        runs that do not record it: L-BFGS, Newton).
    dead_units : dict of str to list of float
        Per ReLU layer (keyed by its index, ``"1"``, ``"3"``, ...), the share of
        its units dead on the probe, in [0, 1], one number per epoch.
    batch_grad_norm_max : list of float
        The largest gradient norm (before clipping) of each epoch's updates (NaN
        where it was not measured: the compiled per-sample loop, L-BFGS, Newton).
    update_counts : list of float
        The value of ``updates`` at the end of each epoch.
    """

    def __init__(self) -> None:
        self._series: dict[str, list[float]] = {}
        self.epochs = 0
        self.updates = 0
        self.events: list[dict] = []
        self.layer_grad_norm: dict[str, list[float]] = {}
        self.dead_units: dict[str, list[float]] = {}
        self.update_counts: list[float] = []
        self.batch_grad_norm_max: list[float] = []

    def append(self, logs: Mapping[str, float],
               layer_grad_norm: Mapping[str, float] | None = None, *, updates: int = 0,
               dead_units: Mapping[str, float] | None = None,
               grad_norm_max: float = math.nan) -> None:
        """Record one epoch: ``logs`` maps series names to numbers, ``layer_grad_norm``
        a Dense layer's weight key (``"0.W"``) to its gradient norm, ``dead_units`` a
        ReLU layer's index (``"1"``) to its share of dead units; ``updates`` is the
        epoch's optimizer steps (added to :attr:`updates`), ``grad_norm_max`` the
        largest gradient norm of its updates."""
        for record, values in ((self._series, logs),
                               (self.layer_grad_norm, layer_grad_norm or {}),
                               (self.dead_units, dead_units or {})):
            for key in values:
                if key not in record:
                    record[key] = [math.nan] * self.epochs
            for key, series in record.items():
                series.append(float(values.get(key, math.nan)))
        self.updates += updates
        self.update_counts.append(self.updates)
        self.batch_grad_norm_max.append(float(grad_norm_max))
        self.epochs += 1

    def truncate(self, epochs: int) -> None:
        """Forget the epochs after the first ``epochs``."""
        for values in (*self._series.values(), *self.layer_grad_norm.values(),
                       *self.dead_units.values(), self.update_counts,
                       self.batch_grad_norm_max):
            del values[epochs:]
        self.epochs = min(self.epochs, epochs)

    def last(self, key: str, default: float = math.nan) -> float:
        """The latest value of a series, or ``default`` when there is none."""
        values = self._series.get(key)
        return values[-1] if values else default

    # -- Mapping ----------------------------------------------------------------------

    def __getitem__(self, key: str) -> list[float]:
        return self._series[key]

    def __iter__(self) -> Iterator[str]:
        ordered = [k for k in _ORDER if k in self._series]
        return iter(ordered + [k for k in self._series if k not in _ORDER])

    def __len__(self) -> int:
        return len(self._series)

    def to_dict(self, *, layers: bool = False, counts: bool = False) -> dict[str, list[float]]:
        """The series as a plain dict of list copies (for ``history_``, CSV, plots).

        ``counts=True`` adds ``"updates"`` (:attr:`update_counts`); ``layers=True``
        then adds the per-layer records, as series named ``"dead_units/<i>"``
        (``"dead_units/1"``), ``"grad_norm_max"`` (:attr:`batch_grad_norm_max`, when
        one was measured) and, last, ``"grad_norm/<key>"`` (``"grad_norm/0.W"``).
        """
        series = {key: list(self._series[key]) for key in self}
        if counts:
            series["updates"] = list(self.update_counts)
        if layers:
            series.update({f"dead_units/{key}": list(values)
                           for key, values in self.dead_units.items()})
            if any(value == value for value in self.batch_grad_norm_max):   # not all NaN
                series["grad_norm_max"] = list(self.batch_grad_norm_max)
            series.update({f"grad_norm/{key}": list(values)
                           for key, values in self.layer_grad_norm.items()})
        return series

    # -- state ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything as JSON-serialisable values (floats round-trip exactly)."""
        return {"series": self.to_dict(), "epochs": self.epochs, "updates": self.updates,
                "events": [dict(event) for event in self.events],
                "layer_grad_norm": {key: list(values) for key, values in
                                    self.layer_grad_norm.items()},
                "dead_units": {key: list(values) for key, values in self.dead_units.items()},
                "update_counts": list(self.update_counts),
                "batch_grad_norm_max": list(self.batch_grad_norm_max)}

    def load_state_dict(self, state: Mapping) -> None:
        self._series = {key: [float(v) for v in values] for key, values in
                        state["series"].items()}
        self.epochs = int(state["epochs"])
        self.updates = int(state["updates"])
        self.events = [dict(event) for event in state["events"]]
        # checkpoints written before the per-layer norms, the dead units and the update
        # counts were recorded have none (unknown counts are NaN)
        self.layer_grad_norm = {key: [float(v) for v in values] for key, values in
                                state.get("layer_grad_norm", {}).items()}
        self.dead_units = {key: [float(v) for v in values] for key, values in
                           state.get("dead_units", {}).items()}
        self.update_counts = list(state.get("update_counts", [math.nan] * self.epochs))
        self.batch_grad_norm_max = [float(v) for v in state.get("batch_grad_norm_max",
                                                                [math.nan] * self.epochs)]

    def __repr__(self) -> str:
        latest = ", ".join(f"{key}={self._series[key][-1]:.6g}" for key in self
                           if self._series[key])
        return f"History(epochs={self.epochs}, updates={self.updates}" + \
            (f", {latest})" if latest else ")")
