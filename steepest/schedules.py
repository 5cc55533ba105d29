r"""Learning-rate schedules: functions from the update count ``t`` to a learning rate.

``t`` is the number of updates done before the one the rate is for, so ``t = 0`` gives
the rate of the first update. Where torch.optim.lr_scheduler has the same schedule,
``schedule(t)`` equals ``optimizer.param_groups[0]["lr"]`` after ``t`` calls of
``scheduler.step()``: exactly where torch computes each rate afresh (cyclic, one-cycle,
warm restarts), to rounding (about 1e-14 relative) where torch multiplies the previous
rate by a factor and these closed forms do not. Each docstring says where a schedule
departs from torch on purpose::

    from steepest import optim, schedules

    lr = schedules.warmup(schedules.cosine(0.1, total_steps=900), steps=100)
    opt = optim.SGD(lr=lr, momentum=0.9)

Every factory checks its arguments when called and returns a small callable whose
``repr`` reads like the call that made it. A number given where a schedule is expected
is the constant schedule.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Iterable
from itertools import pairwise

from steepest._types import Schedule
from steepest._validation import check_choice, check_number
from steepest.errors import ParameterError

__all__ = [
    "constant", "exponential", "step", "multistep", "inverse_time", "polynomial", "linear",
    "cosine", "cosine_warm_restarts", "one_cycle", "cyclic", "warmup", "join",
]


class _Schedule:
    """``t -> lr``: checks ``t``, returns a Python float and reads like the call that made it."""

    __slots__ = ("_name", "_rate", "_arguments")

    def __init__(self, name: str, rate: Callable[[int], float], **arguments) -> None:
        self._name, self._rate, self._arguments = name, rate, arguments

    def __call__(self, t: int) -> float:
        if type(t) is not int or t < 0:  # a plain int >= 0 (the loop's) needs no more checking
            check_number(t, "t", self._name, low=0, integer=True)
        return float(self._rate(int(t)))

    def rates(self, start: int, count: int):
        """``self(t)`` for ``t = start, ..., start + count - 1`` as a float64 NumPy array,
        the same floats without checking each ``t`` (a compiled loop takes them ahead)."""
        import numpy as np

        return np.fromiter(map(self._rate, range(start, start + count)), np.float64, count)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self._arguments.items())
        return f"{self._name}({arguments})"

    def __reduce__(self):
        # A closure does not pickle; the call that made it does (for joblib, copy, clone).
        return _rebuild, (self._name, self._arguments)


def _rebuild(name: str, arguments: dict) -> Schedule:
    return globals()[name](**arguments)


def _float(value, name: str, owner: str, *, low: float = 0.0, high: float = math.inf,
           closed: str = "left") -> float:
    return float(check_number(value, name, owner, low=low, high=high, closed=closed))


def _int(value, name: str, owner: str, *, low: int = 1) -> int:
    return int(check_number(value, name, owner, low=low, integer=True))


def _as_schedule(value, name: str, owner: str) -> Schedule:
    """``value`` if it is callable, the constant schedule if it is a rate, else an error."""
    if callable(value):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < math.inf:
        return constant(value)
    raise ParameterError(
        f"The {name!r} parameter of {owner} must be a schedule (a callable t -> lr) or a "
        f"float in the range [0.0, inf). Got {value!r} instead."
    )


def _increasing(values, name: str, owner: str) -> tuple[int, ...]:
    """``values`` as a tuple of ints >= 1 in strictly increasing order."""
    ok = isinstance(values, Iterable) and not isinstance(values, str)
    if ok:
        values = tuple(_int(v, f"{name}[{i}]", owner) for i, v in enumerate(values))
    if not ok or any(a >= b for a, b in pairwise(values)):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a sequence of ints in strictly "
            f"increasing order. Got {values!r} instead."
        )
    return values


def _check_at_most(value: float, name: str, bound: float, bound_name: str, owner: str,
                   why: str) -> None:
    if value > bound:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be at most {bound_name}={bound!r} "
            f"({why}). Got {value!r} instead."
        )


def constant(lr: float) -> Schedule:
    """The same rate for every update: ``lr``.

    Parameters
    ----------
    lr : float
        The learning rate, ``lr >= 0``.
    """
    lr = _float(lr, "lr", "constant")
    return _Schedule("constant", lambda t: lr, lr=lr)


def exponential(lr: float, gamma: float) -> Schedule:
    """Decay by ``gamma`` every update: ``lr * gamma**t`` (torch ``ExponentialLR``).

    Parameters
    ----------
    lr : float
        The rate of the first update, ``lr >= 0``.
    gamma : float
        The factor per update, ``gamma > 0`` (``gamma > 1`` grows, as an LR range test does).
    """
    lr = _float(lr, "lr", "exponential")
    gamma = _float(gamma, "gamma", "exponential", closed="neither")
    return _Schedule("exponential", lambda t: lr * gamma**t, lr=lr, gamma=gamma)


def step(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """Decay by ``gamma`` every ``step_size`` updates: ``lr * gamma**(t // step_size)``
    (torch ``StepLR``).

    Parameters
    ----------
    lr : float
        The rate of the first ``step_size`` updates, ``lr >= 0``.
    step_size : int
        Updates between two decays, ``step_size >= 1``.
    gamma : float, default=0.1
        The factor of each decay, ``gamma > 0``.
    """
    lr = _float(lr, "lr", "step")
    step_size = _int(step_size, "step_size", "step")
    gamma = _float(gamma, "gamma", "step", closed="neither")
    return _Schedule("step", lambda t: lr * gamma ** (t // step_size),
                     lr=lr, step_size=step_size, gamma=gamma)


def multistep(lr: float, milestones: Iterable[int], gamma: float = 0.1) -> Schedule:
    """Decay by ``gamma`` at each milestone: ``lr * gamma**k`` where ``k`` is the number of
    milestones ``<= t`` (torch ``MultiStepLR``).

    Parameters
    ----------
    lr : float
        The rate before the first milestone, ``lr >= 0``.
    milestones : sequence of int
        Update counts ``t >= 1`` at which the rate drops, strictly increasing.
    gamma : float, default=0.1
        The factor of each decay, ``gamma > 0``.
    """
    lr = _float(lr, "lr", "multistep")
    milestones = _increasing(milestones, "milestones", "multistep")
    gamma = _float(gamma, "gamma", "multistep", closed="neither")
    return _Schedule("multistep", lambda t: lr * gamma ** bisect.bisect_right(milestones, t),
                     lr=lr, milestones=milestones, gamma=gamma)


def inverse_time(lr: float, decay: float) -> Schedule:
    """Inverse-time decay: ``lr / (1 + decay * t)`` (torch: ``LambdaLR`` with the factor
    ``1 / (1 + decay * t)``).

    Parameters
    ----------
    lr : float
        The rate of the first update, ``lr >= 0``.
    decay : float
        How fast the rate falls, ``decay >= 0``; the rate halves at ``t = 1 / decay``.
    """
    lr = _float(lr, "lr", "inverse_time")
    decay = _float(decay, "decay", "inverse_time")
    return _Schedule("inverse_time", lambda t: lr / (1 + decay * t), lr=lr, decay=decay)


def polynomial(lr: float, total_steps: int, power: float = 1.0) -> Schedule:
    """Polynomial decay to zero: ``lr * (1 - min(t, total_steps) / total_steps)**power``
    (torch ``PolynomialLR``); the rate is 0 from ``t = total_steps`` on.

    Parameters
    ----------
    lr : float
        The rate of the first update, ``lr >= 0``.
    total_steps : int
        Updates until the rate reaches 0, ``total_steps >= 1``.
    power : float, default=1.0
        The power of the polynomial, ``power >= 0`` (1 is a straight line).
    """
    lr = _float(lr, "lr", "polynomial")
    total_steps = _int(total_steps, "total_steps", "polynomial")
    power = _float(power, "power", "polynomial")
    return _Schedule(
        "polynomial", lambda t: lr * (1.0 - min(total_steps, t) / total_steps) ** power,
        lr=lr, total_steps=total_steps, power=power,
    )


def linear(lr: float, start_factor: float = 1 / 3, end_factor: float = 1.0,
           total_steps: int = 5) -> Schedule:
    """Linear change of the factor on ``lr`` from ``start_factor`` to ``end_factor`` over
    ``total_steps`` updates, then constant (torch ``LinearLR``)::

        lr * (start_factor + (end_factor - start_factor) * min(t, total_steps) / total_steps)

    torch restricts the factors to ``(0, 1]`` and ``[0, 1]``; here any factor ``>= 0``
    works, so ``start_factor=0`` ramps up from zero.

    Parameters
    ----------
    lr : float
        The rate the factors multiply, ``lr >= 0``.
    start_factor : float, default=1/3
        The factor at ``t = 0``, ``>= 0``.
    end_factor : float, default=1.0
        The factor from ``t = total_steps`` on, ``>= 0``.
    total_steps : int, default=5
        Updates the change takes, ``total_steps >= 1``.
    """
    lr = _float(lr, "lr", "linear")
    start_factor = _float(start_factor, "start_factor", "linear")
    end_factor = _float(end_factor, "end_factor", "linear")
    total_steps = _int(total_steps, "total_steps", "linear")
    return _Schedule(
        "linear",
        # The end is returned as given, not as start + (end - start), which can round below 0.
        lambda t: lr * (end_factor if t >= total_steps
                        else start_factor + (end_factor - start_factor) * t / total_steps),
        lr=lr, start_factor=start_factor, end_factor=end_factor, total_steps=total_steps,
    )


def _cosine_between(lr: float, min_lr: float, t: int, length: int) -> float:
    """Half a cosine from ``lr`` at ``t = 0`` to ``min_lr`` at ``t = length``."""
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * t / length)) / 2


def cosine(lr: float, total_steps: int, min_lr: float = 0.0) -> Schedule:
    r"""Cosine annealing from ``lr`` to ``min_lr`` over ``total_steps`` updates::

        min_lr + (lr - min_lr) * (1 + cos(pi * min(t, total_steps) / total_steps)) / 2

    This is torch ``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` for
    ``t <= total_steps``. After that torch's rate rises again along the cosine; here it
    holds ``min_lr`` (as optax's ``cosine_decay_schedule`` does). For restarts, see
    :func:`cosine_warm_restarts`.

    Parameters
    ----------
    lr : float
        The rate of the first update, ``lr >= 0``.
    total_steps : int
        Updates until the rate reaches ``min_lr``, ``total_steps >= 1``.
    min_lr : float, default=0.0
        The final rate, ``0 <= min_lr <= lr``.
    """
    lr = _float(lr, "lr", "cosine")
    total_steps = _int(total_steps, "total_steps", "cosine")
    min_lr = _float(min_lr, "min_lr", "cosine")
    _check_at_most(min_lr, "min_lr", lr, "lr", "cosine", "the rate anneals from lr down to min_lr")
    return _Schedule(
        "cosine", lambda t: _cosine_between(lr, min_lr, min(t, total_steps), total_steps),
        lr=lr, total_steps=total_steps, min_lr=min_lr,
    )


def cosine_warm_restarts(lr: float, first_cycle: int, cycle_mult: int = 1,
                         min_lr: float = 0.0) -> Schedule:
    """Cosine annealing that restarts at ``lr`` after each cycle (SGDR; Loshchilov and
    Hutter, 2017).

    Cycle ``i`` lasts ``first_cycle * cycle_mult**i`` updates; ``u`` updates into a
    cycle of length ``L`` the rate is ``min_lr + (lr - min_lr) * (1 + cos(pi * u / L)) / 2``.
    This is torch ``CosineAnnealingWarmRestarts(T_0=first_cycle, T_mult=cycle_mult,
    eta_min=min_lr)`` stepped once per update (``scheduler.step()`` without an epoch).

    Parameters
    ----------
    lr : float
        The rate at the start of every cycle, ``lr >= 0``.
    first_cycle : int
        Length of the first cycle in updates, ``>= 1``.
    cycle_mult : int, default=1
        Factor by which each cycle is longer than the one before, ``>= 1``.
    min_lr : float, default=0.0
        The rate the cycles anneal towards, ``0 <= min_lr <= lr``.
    """
    owner = "cosine_warm_restarts"
    lr = _float(lr, "lr", owner)
    first_cycle = _int(first_cycle, "first_cycle", owner)
    cycle_mult = _int(cycle_mult, "cycle_mult", owner)
    min_lr = _float(min_lr, "min_lr", owner)
    _check_at_most(min_lr, "min_lr", lr, "lr", owner, "each cycle anneals from lr down to min_lr")

    def rate(t: int) -> float:
        length = first_cycle
        if cycle_mult == 1:
            t %= length
        while t >= length:  # cycles grow geometrically: at most log(t) turns
            t, length = t - length, length * cycle_mult
        return _cosine_between(lr, min_lr, t, length)

    return _Schedule(owner, rate, lr=lr, first_cycle=first_cycle, cycle_mult=cycle_mult,
                     min_lr=min_lr)


def _anneal_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


def one_cycle(max_lr: float, total_steps: int, pct_start: float = 0.3,
              anneal_strategy: str = "cos", div_factor: float = 25.0,
              final_div_factor: float = 1e4, three_phase: bool = False) -> Schedule:
    """The 1cycle policy (Smith and Topin, 2017): the learning rate of torch ``OneCycleLR``.

    The rate goes from ``initial_lr = max_lr / div_factor`` up to ``max_lr`` over the
    first ``pct_start * total_steps - 1`` updates, then down to ``initial_lr /
    final_div_factor`` at ``t = total_steps - 1``, each phase along half a cosine
    (``anneal_strategy="cos"``) or a straight line (``"linear"``). With
    ``three_phase=True`` it comes back down to ``initial_lr`` symmetrically, then anneals
    to the final rate. Phase ends are torch's, to the update.

    torch's momentum cycling is not part of a learning-rate schedule. Past the end, torch
    raises (and at ``t = total_steps`` returns a rate one step beyond the end, negative
    with linear annealing); here the final rate holds.

    Parameters
    ----------
    max_lr : float
        The peak rate, ``max_lr >= 0``.
    total_steps : int
        Updates in the cycle, ``>= 1``.
    pct_start : float, default=0.3
        The fraction of the cycle spent warming up, in ``[0, 1]``.
    anneal_strategy : {"cos", "linear"}, default="cos"
        The shape of each phase.
    div_factor : float, default=25.0
        ``max_lr / div_factor`` is the first rate, ``div_factor > 0``.
    final_div_factor : float, default=1e4
        ``max_lr / div_factor / final_div_factor`` is the last rate, ``> 0``.
    three_phase : bool, default=False
        Come back down to the first rate before the final annealing.
    """
    owner = "one_cycle"
    max_lr = _float(max_lr, "max_lr", owner)
    total_steps = _int(total_steps, "total_steps", owner)
    pct_start = _float(pct_start, "pct_start", owner, high=1.0, closed="both")
    anneal = {"cos": _anneal_cos, "linear": _anneal_linear}[
        check_choice(anneal_strategy, "anneal_strategy", owner, ("cos", "linear"))]
    div_factor = _float(div_factor, "div_factor", owner, closed="neither")
    final_div_factor = _float(final_div_factor, "final_div_factor", owner, closed="neither")
    three_phase = bool(check_choice(three_phase, "three_phase", owner, (False, True)))
    warm_end = pct_start * total_steps - 1
    if warm_end == 0:
        raise ParameterError(
            f"The 'pct_start' parameter of {owner} must not make pct_start * total_steps "
            f"equal 1 (the warm-up phase would have no length). Got pct_start={pct_start!r} "
            f"with total_steps={total_steps!r} instead."
        )
    initial_lr = max_lr / div_factor
    final_lr = initial_lr / final_div_factor
    phases = [(warm_end, initial_lr, max_lr)]  # (last update of the phase, from, to)
    if three_phase:
        phases.append((2 * pct_start * total_steps - 2, max_lr, initial_lr))
    phases.append((total_steps - 1, phases[-1][2], final_lr))

    def rate(t: int) -> float:
        t, start = min(t, total_steps - 1), 0.0
        for end, lr_from, lr_to in phases:  # the last phase ends at total_steps - 1 >= t
            if t <= end:
                return anneal(lr_from, lr_to, (t - start) / (end - start))
            start = end

    return _Schedule(owner, rate, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start,
                     anneal_strategy=anneal_strategy, div_factor=div_factor,
                     final_div_factor=final_div_factor, three_phase=three_phase)


def cyclic(base_lr: float, max_lr: float, step_size_up: int = 2000,
           step_size_down: int | None = None, mode: str = "triangular",
           gamma: float = 1.0) -> Schedule:
    """Cyclical learning rates (Smith, 2017): the learning rate of torch ``CyclicLR``.

    Each cycle rises linearly from ``base_lr`` towards ``max_lr`` over ``step_size_up``
    updates, then falls back over ``step_size_down``. The amplitude ``max_lr - base_lr``
    is scaled by 1 (``mode="triangular"``), by ``0.5**(cycle - 1)`` in cycle 1, 2, ...
    (``"triangular2"``) or by ``gamma**t`` (``"exp_range"``). torch's momentum cycling
    is not part of a learning-rate schedule.

    Parameters
    ----------
    base_lr : float
        The lowest rate, ``base_lr >= 0``.
    max_lr : float
        The highest rate, ``max_lr >= base_lr``.
    step_size_up : int, default=2000
        Updates in the rising half of a cycle, ``>= 1``.
    step_size_down : int or None, default=None
        Updates in the falling half, ``>= 0``; ``None`` means ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}, default="triangular"
        How the amplitude shrinks.
    gamma : float, default=1.0
        The factor per update of ``"exp_range"``, in ``(0, 1]``.
    """
    owner = "cyclic"
    base_lr = _float(base_lr, "base_lr", owner)
    max_lr = _float(max_lr, "max_lr", owner)
    _check_at_most(base_lr, "base_lr", max_lr, "max_lr", owner,
                   "the rate cycles between base_lr and max_lr")
    step_size_up = _int(step_size_up, "step_size_up", owner)
    if step_size_down is not None:
        step_size_down = _int(step_size_down, "step_size_down", owner, low=0)
    check_choice(mode, "mode", owner, ("triangular", "triangular2", "exp_range"))
    gamma = _float(gamma, "gamma", owner, high=1.0, closed="right")
    total_size = float(step_size_up) + float(
        step_size_up if step_size_down is None else step_size_down)
    step_ratio = step_size_up / total_size
    scale = {"triangular": lambda cycle, t: 1.0,
             "triangular2": lambda cycle, t: 0.5 ** (cycle - 1),
             "exp_range": lambda cycle, t: gamma**t}[mode]

    def rate(t: int) -> float:
        cycle = math.floor(1 + t / total_size)
        x = 1.0 + t / total_size - cycle
        height = x / step_ratio if x <= step_ratio else (x - 1) / (step_ratio - 1)
        return base_lr + (max_lr - base_lr) * height * scale(cycle, t)

    return _Schedule(owner, rate, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up,
                     step_size_down=step_size_down, mode=mode, gamma=gamma)


def warmup(schedule: Schedule | float, steps: int, start_factor: float = 1 / 3) -> Schedule:
    """A linear warm-up to ``schedule(0)`` over ``steps`` updates, then ``schedule``::

        schedule(0) * (start_factor + (1 - start_factor) * t / steps)   if t < steps
        schedule(t - steps)                                              if t >= steps

    ``schedule`` starts after the warm-up, so ``warmup(cosine(lr, n), k)`` spans ``k + n``
    updates. This equals torch's ``SequentialLR([LinearLR(start_factor=start_factor,
    end_factor=1.0, total_iters=steps), main], milestones=[steps])`` with ``main`` the
    scheduler of ``schedule`` (torch's ``LinearLR`` needs ``start_factor > 0``; 0 works
    here). It is :func:`join` of ``linear(schedule(0), start_factor, 1.0, steps)`` and
    ``schedule`` at ``[steps]``.

    Parameters
    ----------
    schedule : schedule or float
        The schedule after the warm-up; a number is a constant rate.
    steps : int
        Updates the warm-up takes, ``>= 0`` (0: ``schedule`` alone).
    start_factor : float, default=1/3
        The fraction of ``schedule(0)`` at ``t = 0``, in ``[0, 1]`` (the default is torch
        ``LinearLR``'s).
    """
    schedule = _as_schedule(schedule, "schedule", "warmup")
    steps = _int(steps, "steps", "warmup", low=0)
    start_factor = _float(start_factor, "start_factor", "warmup", high=1.0, closed="both")

    def rate(t: int) -> float:
        if t < steps:
            return schedule(0) * (start_factor + (1.0 - start_factor) * t / steps)
        return schedule(t - steps)

    return _Schedule("warmup", rate, schedule=schedule, steps=steps, start_factor=start_factor)


def join(schedules: Iterable[Schedule | float], boundaries: Iterable[int]) -> Schedule:
    """Schedules one after another: ``schedules[k](t - boundaries[k-1])`` for
    ``boundaries[k-1] <= t < boundaries[k]`` (with ``boundaries[-1]`` read as 0 and
    ``boundaries[len]`` as infinity).

    Each schedule starts from its own ``t = 0`` at its boundary, as in optax's
    ``join_schedules`` and torch's ``SequentialLR(schedulers, milestones=boundaries)``.

    Parameters
    ----------
    schedules : sequence of schedules or floats
        At least one; a number is a constant rate.
    boundaries : sequence of int
        The update counts where the next schedule takes over, strictly increasing, ``>= 1``,
        one fewer than ``schedules``.
    """
    ok = isinstance(schedules, Iterable) and not isinstance(schedules, str)
    parts = tuple(_as_schedule(s, f"schedules[{i}]", "join") for i, s in enumerate(schedules)
                  ) if ok else ()
    boundaries = _increasing(boundaries, "boundaries", "join")
    if not parts or len(boundaries) != len(parts) - 1:
        raise ParameterError(
            "The 'schedules' and 'boundaries' parameters of join must hold n >= 1 schedules "
            "and n - 1 boundaries (one between each pair of schedules). Got "
            f"{schedules!r} and {boundaries!r} instead."
        )
    starts = (0, *boundaries)

    def rate(t: int) -> float:
        k = bisect.bisect_right(boundaries, t)
        return parts[k](t - starts[k])

    return _Schedule("join", rate, schedules=parts, boundaries=boundaries)
