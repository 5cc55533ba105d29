"""The learning rate as the loop sees it: the optimizer's rate or schedule times a factor.

Callbacks that lower the rate (reduce-on-plateau, the divergence guard) do not
touch the optimizer's hyperparameters: they multiply the trainer's
``lr_scale``. While a trainer runs, the optimizer's ``lr`` is a
:class:`ScaledRate` wrapping the original float or schedule; when it returns,
the original is put back. A constant rate and a schedule are scaled the same
way (a scaled schedule keeps its shape), and the scale is saved in checkpoints.
"""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule

__all__ = ["ScaledRate"]


class ScaledRate:
    """``t -> scale · base(t)`` (or ``scale · base`` for a constant ``base``).

    With ``scale == 1.0`` the base rate is returned unchanged, bit for bit.
    """

    __slots__ = ("base", "scale")

    def __init__(self, base: ScalarOrSchedule, scale: float = 1.0) -> None:
        self.base, self.scale = base, scale

    def __call__(self, t: int) -> float:
        base = self.base(t) if callable(self.base) else self.base
        return base if self.scale == 1.0 else base * self.scale

    def rates(self, start: int, count: int) -> np.ndarray:
        """``self(t)`` for ``t = start, ..., start + count - 1``, as a float64 array."""
        base = self.base
        if hasattr(base, "rates"):  # a steepest schedule
            values = base.rates(start, count)
        elif callable(base):
            values = np.fromiter(map(base, range(start, start + count)), np.float64, count)
        else:
            values = np.full(count, base, np.float64)
        return values if self.scale == 1.0 else values * self.scale

    def __repr__(self) -> str:
        return f"ScaledRate({self.base!r}, scale={self.scale!r})"
