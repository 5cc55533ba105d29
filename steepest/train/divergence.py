"""The divergence guard: roll back and lower the learning rate when the loss blows up.

An epoch has diverged when

* a batch's loss or gradient is NaN or infinite (the epoch stops there, before
  the optimizer takes the bad step), or the validation loss is; or
* the epoch's training loss is more than ``explode_factor`` times the loss at
  the start (the objective at the initial parameters, measured before the
  first update on the whole set for batch descent, else on about a thousand
  evenly spaced samples: the scale of the problem).

Slow growth is not called divergence: a stochastic loss wanders, and
:class:`~steepest.train.ReduceLROnPlateau` is the tool for a stalled one. A rate
that is really too high makes the loss grow geometrically and trips the rule
within a few epochs.

The trainer keeps the state (parameters, BatchNorm statistics, optimizer state,
the generator of the batch orders, the callbacks' counters) at the end of each of
the last two completed epochs. On divergence it goes back *two* epochs' ends: a
loss is measured during the epoch that follows the parameters it judges (for
batch descent, epoch e's loss is exactly J at the end of epoch e − 1), so the end
of the last completed epoch may already be bad, while the one before has been
vouched for by a good loss. It then multiplies the learning rate by ``factor``
(through the trainer's ``lr_scale``), warns with a :class:`DivergenceWarning`,
records the event in ``history.events`` and trains on: up to ``max_retries``
times in a run. After that it raises :class:`DivergenceError`, leaving those
last good parameters in place, never NaN.
"""

from __future__ import annotations

import math

from steepest._validation import check_number
from steepest.errors import NonFiniteError

__all__ = ["DivergenceError", "DivergenceGuard", "DivergenceWarning"]

BAD_GRADIENT = "the gradient became non-finite"
"""Why an epoch stopped at a batch whose gradient held a NaN or an infinity."""


def bad_loss_reason(value: float) -> str:
    """Why an epoch stopped at a batch whose loss was ``value`` (NaN or infinite)."""
    return f"the loss of a batch became {value}"


class DivergenceError(NonFiniteError):
    """Training diverged and lowering the learning rate did not help."""


class DivergenceWarning(UserWarning):
    """Training diverged; the model was rolled back and the learning rate lowered."""


class DivergenceGuard:
    """When an epoch diverges, roll back to the last good epoch and lower the learning rate.

    Parameters
    ----------
    factor : float, default=0.1
        What the learning rate is multiplied by at each retry, in (0, 1).
    max_retries : int, default=3
        How many times in a run the rate may be lowered before giving up, >= 0.
    explode_factor : float, default=1e3
        An epoch whose loss exceeds this many times the loss at the start has
        diverged, > 1.

    Attributes
    ----------
    retries : int
        The rollbacks so far.
    reference : float or None
        The loss at the start (set by the trainer before the first update).
    """

    def __init__(self, factor: float = 0.1, max_retries: int = 3,
                 explode_factor: float = 1e3) -> None:
        owner = "DivergenceGuard"
        self.factor = check_number(factor, "factor", owner, low=0.0, high=1.0, closed="neither")
        self.max_retries = check_number(max_retries, "max_retries", owner, low=0, integer=True)
        self.explode_factor = check_number(explode_factor, "explode_factor", owner, low=1.0,
                                           closed="neither")
        self.reset()

    def reset(self) -> None:
        self.retries = 0
        self.reference: float | None = None

    def check(self, logs: dict[str, float]) -> str | None:
        """Why the epoch of ``logs`` diverged, or None if it did not."""
        loss = logs["loss"]
        if not math.isfinite(loss):
            return f"the training loss became {loss}"
        val = logs.get("val_loss", 0.0)
        if not math.isfinite(val):
            return f"the validation loss became {val}"
        if self.reference and loss > self.explode_factor * self.reference:
            return (f"the training loss rose to {loss:.4g}, more than {self.explode_factor:g} "
                    f"times its {self.reference:.4g} at the start")
        return None

    @property
    def can_retry(self) -> bool:
        return self.retries < self.max_retries

    def state_dict(self) -> dict:
        return {"retries": self.retries, "reference": self.reference}

    def load_state_dict(self, state: dict) -> None:
        self.retries = int(state["retries"])
        self.reference = None if state["reference"] is None else float(state["reference"])

    def __repr__(self) -> str:
        return (f"DivergenceGuard(factor={self.factor!r}, max_retries={self.max_retries!r}, "
                f"explode_factor={self.explode_factor!r})")
