r"""Lower the learning rate when a metric stops improving, as torch's ``ReduceLROnPlateau``.

::

    from steepest import optim
    from steepest.plateau import ReduceLROnPlateau

    opt = optim.SGD(lr=0.1, momentum=0.9)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=5)
    for epoch in range(100):
        for X_batch, y_batch in batches:
            ...
            opt.step(theta, grad)
        plateau.step(validation_loss)          # once per epoch, after the updates

After each ``step(metric)`` the optimizer's rate equals torch's
``optimizer.param_groups[0]["lr"]`` after ``scheduler.step(metric)`` with the same
arguments and metrics, bit for bit (tests/data/plateau.json, written by
scripts/make_plateau_references.py). The optimizer's ``lr`` may be a float, which
the scheduler replaces by the lowered float, or a schedule ``t -> lr``, which it
replaces by the same schedule times the product of the reductions so far (see
:class:`ReduceLROnPlateau`).
"""

from __future__ import annotations

import math

from steepest._types import Schedule
from steepest._validation import check_choice, check_number
from steepest.errors import ParameterError

__all__ = ["PlateauCounter", "ReduceLROnPlateau"]


class _Reduced:
    """``t -> max(scale * schedule(t), min(min_lr, schedule(t)))``: a schedule lowered by the
    reductions so far, never below ``min_lr`` because of them (nor above the schedule)."""

    __slots__ = ("schedule", "scale", "min_lr")

    def __init__(self, schedule: Schedule, scale: float, min_lr: float) -> None:
        self.schedule, self.scale, self.min_lr = schedule, scale, min_lr

    def __call__(self, t: int) -> float:
        base = float(self.schedule(t))
        return max(self.scale * base, min(self.min_lr, base))

    def __repr__(self) -> str:
        return f"reduced({self.schedule!r}, scale={self.scale!r}, min_lr={self.min_lr!r})"


class PlateauCounter:
    r"""torch's count of a plateau: when has a metric stopped improving for long enough?

    A metric :math:`m` improves on the best so far :math:`b` when (``mode="min"``)

    .. math::

        m < b\,(1 - \text{threshold}) \quad (\text{"rel"}), \qquad
        m < b - \text{threshold} \quad (\text{"abs"}),

    and, for ``mode="max"``, :math:`m > b\,(1 + \text{threshold})` or
    :math:`m > b + \text{threshold}`. :meth:`update` counts the calls without an
    improvement and says when there have been ``patience + 1`` of them; the count
    then restarts and the next ``cooldown`` calls do not count. The one place of
    this counting: :class:`ReduceLROnPlateau` here and the trainer's callback
    :class:`steepest.train.ReduceLROnPlateau` (Keras's rule, which is this count
    with ``patience - 1`` and ``cooldown - 1``) both use it.

    Parameters
    ----------
    mode : {"min", "max"}, default="min"
        Whether the metric should fall (a loss) or rise (an accuracy).
    patience : int, default=10
        Calls without improvement that are tolerated, >= 0.
    threshold : float, default=1e-4
        How much better a metric must be to count, >= 0.
    threshold_mode : {"rel", "abs"}, default="rel"
        Whether ``threshold`` is a share of the best value or an amount.
    cooldown : int, default=0
        Calls after a plateau during which bad calls are not counted, >= 0.

    Attributes
    ----------
    best : float
        The best metric so far (inf, or -inf for ``mode="max"``, before the first).
    num_bad_epochs : int
        Calls since the last improvement (or plateau).
    cooldown_counter : int
        Calls of cooldown left.
    """

    def __init__(self, mode: str = "min", patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0) -> None:
        owner = type(self).__name__
        check_choice(mode, "mode", owner, ("min", "max"))
        check_number(patience, "patience", owner, low=0, integer=True)
        check_number(threshold, "threshold", owner, low=0.0)
        check_choice(threshold_mode, "threshold_mode", owner, ("rel", "abs"))
        check_number(cooldown, "cooldown", owner, low=0, integer=True)
        self.mode, self.patience = mode, int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown = int(cooldown)
        self.reset_count()

    def reset_count(self) -> None:
        """Forget the metrics seen: no best, no bad call, no cooldown."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether the calls are in a cooldown (not counted)."""
        return self.cooldown_counter > 0

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel"
                            else best - threshold)
        return value > (best * (threshold + 1.0) if self.threshold_mode == "rel"
                        else best + threshold)

    def update(self, value: float) -> bool:
        """Count one value of the metric; True when this call ends a plateau (more than
        ``patience`` calls without an improvement): the caller then acts (lowers a rate),
        and the count restarts with ``cooldown`` calls that do not count."""
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0          # bad calls in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            return True
        return False


class ReduceLROnPlateau(PlateauCounter):
    r"""Multiply the optimizer's rate by ``factor`` when ``metric`` has not improved for
    more than ``patience`` calls of :meth:`step`.

    A metric :math:`m` improves on the best so far :math:`b` when (``mode="min"``)

    .. math::

        m < b\,(1 - \text{threshold}) \quad (\text{"rel"}), \qquad
        m < b - \text{threshold} \quad (\text{"abs"}),

    and, for ``mode="max"``, :math:`m > b\,(1 + \text{threshold})` or
    :math:`m > b + \text{threshold}`. After ``patience + 1`` calls without an
    improvement the rate :math:`\alpha` becomes :math:`\max(\alpha \cdot
    \text{factor}, \text{min\_lr})` (unless that changes it by ``eps`` or less),
    and the next ``cooldown`` calls do not count (the count is
    :class:`PlateauCounter`'s).

    Parameters
    ----------
    optimizer : steepest.optim.Optimizer
        Its ``lr`` is changed in place. A float rate becomes the lowered float; a
        schedule becomes ``t -> max(s * schedule(t), min(min_lr, schedule(t)))``
        with ``s`` the product of the reductions so far (a reduction happens when
        it lowers the rate the next update would use, ``optimizer.current_lr``,
        by more than ``eps``).
    mode : {"min", "max"}, default="min"
        Whether the metric should fall (a loss) or rise (an accuracy).
    factor : float, default=0.1
        The rate's multiplier at a reduction, in (0, 1).
    patience : int, default=10
        Calls without improvement that are tolerated, >= 0.
    threshold : float, default=1e-4
        How much better a metric must be to count, >= 0.
    threshold_mode : {"rel", "abs"}, default="rel"
        Whether ``threshold`` is a share of the best value or an amount.
    cooldown : int, default=0
        Calls after a reduction during which bad calls are not counted, >= 0.
    min_lr : float, default=0.0
        The rate is never lowered below this, >= 0.
    eps : float, default=1e-8
        A reduction smaller than this is skipped, >= 0.

    Attributes
    ----------
    best : float
        The best metric so far (inf, or -inf for ``mode="max"``, before the first).
    num_bad_epochs : int
        Calls since the last improvement (or reduction).
    cooldown_counter : int
        Calls of cooldown left.
    last_epoch : int
        Calls of :meth:`step` so far.
    scale : float
        The product of the reductions made so far (1.0 before any).
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8) -> None:
        owner = "ReduceLROnPlateau"
        if not (hasattr(optimizer, "lr") and hasattr(optimizer, "current_lr")):
            raise ParameterError(
                f"The 'optimizer' parameter of {owner} must be a steepest.optim optimizer "
                f"(with a learning rate to lower). Got {type(optimizer).__name__} instead."
            )
        check_number(factor, "factor", owner, low=0.0, high=1.0, closed="neither")
        check_number(min_lr, "min_lr", owner, low=0.0)
        check_number(eps, "eps", owner, low=0.0)
        super().__init__(mode, patience, threshold, threshold_mode, cooldown)
        self.optimizer = optimizer
        self.factor, self.min_lr, self.eps = float(factor), float(min_lr), float(eps)
        self._schedule = optimizer.lr if callable(optimizer.lr) else None
        self.scale = 1.0
        self.last_epoch = 0

    def step(self, metric: float) -> None:
        """Record one value of the metric (once per epoch) and lower the rate if it is time.

        Raises :class:`~steepest.errors.ParameterError` for a metric that is not a
        finite number (a NaN would silently never improve).
        """
        try:
            current = float(metric)
        except (TypeError, ValueError):
            current = math.nan
        if not math.isfinite(current):
            raise ParameterError(
                f"ReduceLROnPlateau.step needs a finite number as the metric; got {metric!r}. "
                "The run has probably diverged: stop it or lower the learning rate."
            )
        self.last_epoch += 1
        if self.update(current):
            self._reduce()

    def _reduce(self) -> None:
        optimizer = self.optimizer
        old = float(optimizer.current_lr)
        new = max(old * self.factor, self.min_lr)
        if not old - new > self.eps:
            return
        if self._schedule is None:
            optimizer.lr = new
        else:
            self.scale *= self.factor
            optimizer.lr = _Reduced(self._schedule, self.scale, self.min_lr)

    def state_dict(self) -> dict:
        """The counters and the reductions so far, as JSON-serialisable values."""
        return {"best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter, "last_epoch": self.last_epoch,
                "scale": self.scale}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`. A float rate lives in the optimizer: save and
        restore it there; a schedule is lowered again by the saved ``scale``."""
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.last_epoch = int(state["last_epoch"])
        self.scale = float(state["scale"])
        if self._schedule is not None and self.scale != 1.0:
            self.optimizer.lr = _Reduced(self._schedule, self.scale, self.min_lr)

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor!r}, "
                f"patience={self.patience!r}, threshold={self.threshold!r}, "
                f"threshold_mode={self.threshold_mode!r}, cooldown={self.cooldown!r}, "
                f"min_lr={self.min_lr!r}, eps={self.eps!r})")
