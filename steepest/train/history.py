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

    Attributes
    ----------
    epochs : int
        The number of completed epochs (``n_iter_``).
    updates : int
        The number of optimizer steps, all epochs together.
    events : list of dict
        What happened besides the epochs: ``{"epoch": 7, "event": "divergence",
        ...}`` each time the divergence guard rolled the model back.
    layer_grad_norm : dict of str to list of float
        Per Dense layer (keyed ``"0.W"``, ``"2.W"``, ...), the gradient norm of
        its weights at the epoch's last update, one number per epoch (empty for
        runs that do not record it: L-BFGS, Newton).
    """

    def __init__(self) -> None:
        self._series: dict[str, list[float]] = {}
        self.epochs = 0
        self.updates = 0
        self.events: list[dict] = []
        self.layer_grad_norm: dict[str, list[float]] = {}

    def append(self, logs: Mapping[str, float],
               layer_grad_norm: Mapping[str, float] | None = None) -> None:
        """Record one epoch: ``logs`` maps series names to numbers, ``layer_grad_norm``
        a Dense layer's weight key (``"0.W"``) to its gradient norm."""
        for record, values in ((self._series, logs), (self.layer_grad_norm,
                                                       layer_grad_norm or {})):
            for key in values:
                if key not in record:
                    record[key] = [math.nan] * self.epochs
            for key, series in record.items():
                series.append(float(values.get(key, math.nan)))
        self.epochs += 1

    def truncate(self, epochs: int) -> None:
        """Forget the epochs after the first ``epochs``."""
        for values in (*self._series.values(), *self.layer_grad_norm.values()):
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

    def to_dict(self, *, layers: bool = False) -> dict[str, list[float]]:
        """The series as a plain dict of list copies (for ``history_``, CSV, plots).

        ``layers=True`` adds the per-layer gradient norms after them, as series
        named ``"grad_norm/<key>"`` (``"grad_norm/0.W"``).
        """
        series = {key: list(self._series[key]) for key in self}
        if layers:
            series.update({f"grad_norm/{key}": list(values)
                           for key, values in self.layer_grad_norm.items()})
        return series

    # -- state ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything as JSON-serialisable values (floats round-trip exactly)."""
        return {"series": self.to_dict(), "epochs": self.epochs, "updates": self.updates,
                "events": [dict(event) for event in self.events],
                "layer_grad_norm": {key: list(values) for key, values in
                                    self.layer_grad_norm.items()}}

    def load_state_dict(self, state: Mapping) -> None:
        self._series = {key: [float(v) for v in values] for key, values in
                        state["series"].items()}
        self.epochs = int(state["epochs"])
        self.updates = int(state["updates"])
        self.events = [dict(event) for event in state["events"]]
        # checkpoints written before the per-layer norms were recorded have none
        self.layer_grad_norm = {key: [float(v) for v in values] for key, values in
                                state.get("layer_grad_norm", {}).items()}

    def __repr__(self) -> str:
        latest = ", ".join(f"{key}={self._series[key][-1]:.6g}" for key in self
                           if self._series[key])
        return f"History(epochs={self.epochs}, updates={self.updates}" + \
            (f", {latest})" if latest else ")")
