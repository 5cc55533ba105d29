r"""The learning-rate range test: raise the rate step by step and watch the loss.

::

    from steepest import LogisticRegression
    from steepest.lr_find import lr_find, plot_lr_find

    result = lr_find(LogisticRegression(batch_size=32), X, y, random_state=0)
    result.suggestion, result.rule          # 0.189, "minimum / 10" (scaled digits)
    plot_lr_find(result).figure.savefig("lr_find.png")

Leslie Smith's test (*Cyclical Learning Rates for Training Neural Networks*,
2017), as fastai and torch-lr-finder run it: starting from a fresh network, built
as ``model.fit`` would build it, take ``num_steps`` updates on mini-batches
(cycling through the data, reshuffled at each pass), the rate of update
:math:`i` growing exponentially from ``start_lr`` to ``end_lr``:

.. math::

    \alpha_i = \alpha_\text{start}
        \Bigl(\frac{\alpha_\text{end}}{\alpha_\text{start}}\Bigr)^{i / (n - 1)},
    \qquad i = 0, \dots, n - 1.

The loss paired with :math:`\alpha_i` is the objective (mean loss of the next
batch plus the penalty) just *after* the update made with :math:`\alpha_i`. Its
exponential moving average with bias correction, as in Adam,

.. math::

    m_i = \beta m_{i-1} + (1 - \beta)\,\ell_i, \qquad
    \hat m_i = \frac{m_i}{1 - \beta^{i+1}},

is the ``smoothed`` curve (``beta`` = ``smooth``). The test stops early when the
smoothed loss exceeds ``diverge_factor`` times its lowest value, or a loss or
gradient becomes NaN or infinite: the rate is far too high from there on.

The suggestion is where the loss falls fastest as the rate grows: the most
negative slope :math:`d \log\ell / d \log\alpha`, measured across
:math:`\pm h` updates (:math:`h` = 1/40 of the updates made, at least 2) on a
*centred* moving average of :math:`\log \ell` over :math:`2h + 1` updates, along
the descent: from the last time that curve stood at its starting level (its
median over the first tenth of the test) to its lowest point; before, in a flat
and noisy stretch, a slope measures only noise. Not on ``smoothed``: a moving average lags (its
value at update :math:`i` describes the losses of up to
:math:`\beta / (1 - \beta)` = 49 updates earlier for 0.98, two decades of rate
in the default ramp), and in a linear scale the first, largest losses drown the
rest; a centred average of the logarithm has neither fault. The rate is capped at
a tenth of the rate at the lowest point ("minimum / 10"): the loss starts to
blow up near there, and in an ill-conditioned problem a stiff direction starts to
diverge before the loss shows it, so a decade of margin is kept. ``rule`` says
which of the two gave the number. When the loss never fell by 5 % (``_MIN_FALL``)
there is no descent to measure: "minimum / 10" again, or, when the test stopped
because the loss blew up, the smallest rate tried (lower ``start_lr``). The
suggestion always lies in ``[start_lr, end_lr]``.

The model passed in is not touched: the test runs on a clone (same
parameters, fresh network), so a fitted model keeps its parameters and state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from steepest import schedules
from steepest._validation import check_number
from steepest.data import Batcher
from steepest.errors import NonFiniteError, ParameterError
from steepest.plot import plot_lr_find

__all__ = ["LRFinderResult", "lr_find", "plot_lr_find"]

_MIN_FALL = 0.05
"""The (centred, smoothed) loss must fall by this share of its start for a descent to be
measured; else the rule is "minimum / 10"."""
_WINDOW = 40
"""The suggestion's curve averages ``2h + 1`` neighbouring updates, ``h`` = 1/40 of the
updates made (at least 2: 11 of the default 200)."""
_AUTO = "auto"

RULE_STEEPEST = "steepest descent of the smoothed loss"
RULE_MINIMUM = "minimum / 10"
RULE_NO_DESCENT = "the loss never fell: the smallest rate tried"


@dataclass(frozen=True, eq=False)
class LRFinderResult:
    """What :func:`lr_find` saw.

    Attributes
    ----------
    lrs : ndarray of shape (n_steps,)
        The rate of each update made (fewer than ``num_steps`` when stopped early).
    losses : ndarray of shape (n_steps,)
        The objective just after each update (raw, noisy).
    smoothed : ndarray of shape (n_steps,)
        Its bias-corrected exponential moving average (what the early stop
        watches; it lags the losses).
    trend : ndarray of shape (n_steps,)
        The geometric mean of the losses over the ``2h + 1`` updates centred on
        each one (fewer at the ends): the curve without lag the suggestion is read
        from, and the one :func:`plot_lr_find` draws.
    suggestion : float
        The suggested learning rate, in ``[start_lr, end_lr]``.
    rule : str
        Which rule picked it (see the module docstring): ``"steepest descent of the
        smoothed loss"``, ``"minimum / 10"`` (a tenth of the rate at the lowest
        loss, when that is lower, or when no descent could be measured), or
        ``"the loss never fell: the smallest rate tried"``.
    stopped_early : bool
        The loss blew up (exceeded ``diverge_factor`` times its best, or became
        non-finite) before ``end_lr``; ``lrs[-1]`` is where.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    trend: np.ndarray
    suggestion: float
    rule: str
    stopped_early: bool

    def __repr__(self) -> str:
        return (f"LRFinderResult(suggestion={self.suggestion:.3g}, rule={self.rule!r}, "
                f"steps={self.lrs.size}, stopped_early={self.stopped_early})")


def lr_find(model, X, y, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 200, batch_size: int | None | str = _AUTO, smooth: float = 0.98,
            diverge_factor: float = 4.0, random_state=None) -> LRFinderResult:
    """Run the learning-rate range test for ``model`` on ``(X, y)``.

    Parameters
    ----------
    model : LinearRegression, LogisticRegression, MLPClassifier or MLPRegressor
        Fitted or not; it is not changed. Its optimizer (with its other
        hyperparameters), penalty, clipping, scaling and architecture are used;
        its ``lr`` is replaced by the ramp.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) (or (n_samples, n_outputs) for the regressors)
    start_lr : float, default=1e-7
        The rate of the first update, > 0.
    end_lr : float, default=10.0
        The rate of the last update, > ``start_lr``.
    num_steps : int, default=200
        Updates, >= 10. The data are cycled through (reshuffled each pass) as
        often as needed.
    batch_size : int, None or "auto", default="auto"
        ``"auto"``: the model's ``batch_size``; None: the whole set per update.
    smooth : float, default=0.98
        :math:`\\beta` of the moving average, in [0, 1); 0 does not smooth.
    diverge_factor : float, default=4.0
        Stop when the smoothed loss exceeds this many times its lowest value, > 1.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the network's initialisation and the order of the batches; None
        uses the model's ``random_state``. The same seed gives the same result.

    Returns
    -------
    LRFinderResult

    Raises
    ------
    ParameterError
        For a bad argument, a model that is not one of steepest's estimators, or
        an optimizer without a learning rate to ramp (``"lbfgs"``, ``"newton"``).
    """
    owner = "lr_find"
    est = _fresh_model(model, random_state)
    check_number(start_lr, "start_lr", owner, low=0.0, closed="neither")
    check_number(end_lr, "end_lr", owner, low=0.0, closed="neither")
    if not (math.isfinite(end_lr) and end_lr > start_lr):
        raise ParameterError(
            f"lr_find needs end_lr > start_lr, both finite; got start_lr={start_lr!r} and "
            f"end_lr={end_lr!r}. The test raises the rate from start_lr to end_lr."
        )
    check_number(num_steps, "num_steps", owner, low=10, integer=True)
    check_number(smooth, "smooth", owner, low=0.0, high=1.0, closed="left")
    check_number(diverge_factor, "diverge_factor", owner, low=1.0, closed="neither")
    if batch_size is _AUTO or batch_size == _AUTO:
        batch_size = est.batch_size
    elif batch_size is not None:
        check_number(batch_size, "batch_size", owner, low=1, integer=True)

    gamma = (end_lr / start_lr) ** (1.0 / (num_steps - 1))
    ramp = schedules.exponential(float(start_lr), gamma)
    # fit's own preparation and trainer; the test drives the trainer's step loop by hand
    X, y, _ = est._prepare(X, y, stepwise=owner)
    trainer = est._make_trainer(lr=ramp)
    X, y = trainer.steps.inputs(X, y)
    batcher = Batcher(X, y, batch_size, shuffle=True, drop_single=trainer.drop_single,
                      random_state=trainer.rng)
    lrs, raw, smoothed, stopped = _ramp(trainer.steps, batcher, num_steps, smooth,
                                        diverge_factor)
    trend = _trend(raw)
    suggestion, rule = _suggest(lrs, np.log(trend), float(start_lr), float(end_lr), stopped)
    return LRFinderResult(lrs=lrs, losses=raw, smoothed=smoothed, trend=trend,
                          suggestion=suggestion, rule=rule, stopped_early=stopped)


# -- the model, its network and its optimizer ----------------------------------------------


def _fresh_model(model, random_state):
    """An unfitted clone of ``model`` (so nothing of the model itself is touched)."""
    from sklearn.base import clone

    # what the test uses of a steepest estimator: its preparation stage and its trainer
    if not all(callable(getattr(model, name, None)) for name in ("_prepare", "_make_trainer")):
        raise ParameterError(
            "The 'model' parameter of lr_find must be a steepest estimator (LinearRegression, "
            "LogisticRegression, MLPClassifier, MLPRegressor, NetworkClassifier or "
            f"NetworkRegressor). Got {type(model).__name__} instead."
        )
    est = clone(model)
    if random_state is not None:
        est.set_params(random_state=random_state)
    return est


# -- the test --------------------------------------------------------------------------


def _ramp(steps, batcher: Batcher, num_steps: int, smooth: float, diverge_factor: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Take the updates: ``(rates, losses after each, their moving average, stopped early)``.

    Each loss is the objective (mean loss of the next batch plus the penalty) at the
    parameters the update left, from :meth:`~steepest.train.step.StepLoop.value_and_grad`,
    whose gradient the next :meth:`~steepest.train.step.StepLoop.update` then steps on.
    """
    def batches():
        while True:
            yield from batcher.epoch()

    stream = batches()
    optimizer = steps.optimizer
    lrs, raw, smoothed = [], [], []
    average, best = 0.0, math.inf
    with np.errstate(over="ignore", invalid="ignore"):      # a blow-up is what it looks for
        value, _ = steps.value_and_grad(*next(stream))
        for i in range(num_steps):
            if not math.isfinite(value):
                return _arrays(lrs, raw, smoothed) + (True,)
            rate = optimizer.current_lr
            try:
                steps.update()
            except NonFiniteError:
                return _arrays(lrs, raw, smoothed) + (True,)
            value, _ = steps.value_and_grad(*next(stream))
            if not math.isfinite(value):
                return _arrays(lrs, raw, smoothed) + (True,)
            average = smooth * average + (1.0 - smooth) * value
            lrs.append(rate)
            raw.append(value)
            smoothed.append(average / (1.0 - smooth ** (i + 1)))
            if smoothed[-1] > diverge_factor * best:
                return _arrays(lrs, raw, smoothed) + (True,)
            best = min(best, smoothed[-1])
    return _arrays(lrs, raw, smoothed) + (False,)


def _arrays(*lists: list[float]) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(values, dtype=float) for values in lists)


def _half_window(n: int) -> int:
    """``h`` of the centred average over ``2h + 1`` of ``n`` updates: n // 40, at least 2,
    at most what ``n`` allows."""
    return min(max(2, n // _WINDOW), (n - 1) // 2)


def _trend(raw: np.ndarray) -> np.ndarray:
    """The centred moving average of ``log(raw)`` over ``2h + 1`` updates (fewer at the
    ends), back in loss units: no lag, and the first, largest losses do not drown the
    rest. steepest's losses are >= 0; an exact 0 is clamped so the log stays finite."""
    if raw.size == 0:
        return raw.copy()
    half = _half_window(raw.size)
    window = np.ones(2 * half + 1)
    logs = np.log(np.maximum(raw, np.finfo(float).tiny))
    counts = np.convolve(np.ones_like(logs), window, "same")
    return np.exp(np.convolve(logs, window, "same") / counts)


def _suggest(lrs: np.ndarray, curve: np.ndarray, start_lr: float, end_lr: float,
             stopped: bool) -> tuple[float, str]:
    """The suggested rate and the rule that picked it, from ``curve`` = log(trend) (see
    the module docstring)."""
    n = lrs.size
    if n < 3:
        return float(start_lr), RULE_NO_DESCENT
    half = _half_window(n)
    start = float(np.median(curve[:max(2 * half + 1, n // 10)]))
    lowest = int(np.argmin(curve))
    tenth = float(min(max(lrs[lowest] / 10.0, start_lr), end_lr))
    if not 1.0 - math.exp(curve[lowest] - start) >= _MIN_FALL:
        return (float(start_lr), RULE_NO_DESCENT) if stopped else (tenth, RULE_MINIMUM)
    # the descent: from the last time the curve stood at its starting level to its lowest
    # point (before it, in a noisy flat stretch, a slope is only noise)
    level = np.flatnonzero(curve[:lowest] >= start)
    rows = np.arange(max(half, int(level[-1]) if level.size else 0), lowest + 1)
    rows = rows[rows + half < n]
    if rows.size == 0:
        return tenth, RULE_MINIMUM
    x = np.log(lrs)
    slope = (curve[rows + half] - curve[rows - half]) / (x[rows + half] - x[rows - half])
    best = int(np.argmin(slope))
    steepest = float(lrs[rows[best]])
    if slope[best] < 0 and steepest <= tenth:
        return steepest, RULE_STEEPEST
    return tenth, RULE_MINIMUM
