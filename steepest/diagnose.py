"""Why a descent went wrong, in plain words: findings read from a training history.

::

    from steepest import MLPClassifier
    from steepest.diagnose import diagnose, format_findings

    model = MLPClassifier((64,), lr=0.1, epochs=30).fit(X, y)      # scaled digits
    findings = diagnose(model, X=X)     # or diagnose(model.history_), diagnose(trainer.history)
    print(format_findings(findings))

    [problem] The learning rate is too high (lr_too_high)
        seen: the training loss rose in 6 of the last 10 epochs, from 0.16 to 0.9
        do:   lower the learning rate about 10×, e.g. lr=0.01 (steepest lr-find suggests
              one), or use a decaying schedule (steepest.schedules.cosine)

Each :class:`Finding` names what was seen (the numbers, in words) and what to do.
The rules read only what the fit loop records (see :class:`~steepest.train.History`):
the per-epoch ``loss``, ``val_loss``, ``lr`` and ``grad_norm``, the per-layer
gradient norms, the divergence events, and, when given, the training inputs ``X``.
Every rule has explicit thresholds, gathered with their reasons in
:class:`Thresholds`; a rule that lacks the numbers it needs (no validation loss,
no per-layer norms, too few epochs) stays silent rather than guess.

The rules, in the order they are reported (problems, then warnings, then notes):

``diverged`` (problem)
    The divergence guard rolled the model back (``history.events``), or the
    recorded loss is NaN or infinite.
``lr_too_high`` (problem)
    The training loss rose in at least ``rising_share`` of the last ``window``
    epochs and ended ``rising_factor`` times above where that window began; or it
    ended ``above_best`` times above its best (either rise ``significant``).
``exploding_gradients`` (problem)
    The gradient norm (global or of a layer) grew ``exploding_factor`` times above
    its first epoch's.
``vanishing_gradients`` (problem, or warning)
    The first Dense layer's weight gradient is ``vanishing_ratio`` times the last
    one's or less (medians over the last ``window`` epochs; a problem from
    ``vanishing_severe``); or the loss fell by less than ``stuck_fall`` of its
    start while the gradient norm is under ``tiny_gradient`` times the loss.
``oscillating`` (warning)
    The training loss changed direction in at least ``oscillation_share`` of the
    last ``window`` epochs, by ``oscillation_amplitude`` of its value or more (a
    ``significant`` swing).
``lr_too_low`` (warning)
    The loss fell in at least ``steady_share`` of the epochs, by ``slow_rate`` of
    its value per epoch or less, as fast in the last third of the run as in the
    first (``linear_ratio``), while the gradient norm kept ``grad_kept`` of its
    first value.
``plateau`` (warning)
    After falling by ``plateau_fell``, the loss stayed within ``plateau_change``
    for the last ``plateau_epochs`` epochs or more, above ``plateau_floor`` of its
    start, with a gradient norm below ``plateau_gradient`` of its largest that
    was not shrinking.
``overfitting`` (warning)
    The validation loss ended ``overfit_rise`` above its best (a ``significant``
    rise), at least ``overfit_epochs`` epochs after it, while the training loss
    kept falling; and it ended ``overfit_rise`` above the training loss (a gap).
``unscaled_inputs`` (warning)
    Given ``X``: the standard deviations of its (non-constant) columns differ by
    ``scale_ratio`` or more, or lie outside ``scale_range``, or a column's mean is
    ``scale_ratio`` times its standard deviation or more.
``healthy`` (info)
    None of the above found a problem or a warning: a summary of the run.
``too_short`` (info)
    Fewer than ``min_epochs`` epochs were recorded and nothing else was found:
    too few to judge a trend.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from steepest.errors import ParameterError

__all__ = ["Finding", "Thresholds", "add_findings", "diagnose", "format_findings",
           "format_suggest"]

SEVERITIES = ("problem", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One thing the diagnosis saw, and what to do about it.

    Attributes
    ----------
    code : str
        A stable name for programs: ``"diverged"``, ``"loss_too_high"``,
        ``"lr_too_high"``, ``"exploding_gradients"``, ``"bad_initialization"``,
        ``"vanishing_gradients"``, ``"dead_units"``, ``"class_imbalance"``,
        ``"learned_nothing"``, ``"oscillating"``, ``"lr_too_low"``, ``"plateau"``,
        ``"overfitting"``, ``"unscaled_inputs"``, ``"unscaled_target"``,
        ``"healthy"``, ``"too_short"``.
    severity : {"problem", "warning", "info"}
        A problem spoils the result; a warning costs time or quality; info is a note.
    title : str
        One line, a sentence without a final period.
    evidence : str
        The numbers seen, in words.
    advice : str
        What to do, in words (no code: the settings to change are in ``suggest``).
    epochs : tuple of (int, int) or None
        The first and last epoch (counted from 1) the evidence is about, for a
        figure to mark; None when it is not about a stretch of epochs.
    suggest : dict of str to object
        The first thing to try, as estimator parameters and their new values
        (``{"lr": 0.01}``, ``{"scale": True, "lr": 0.3}``,
        ``{"optimizer": SGD(lr=0.05, momentum=0.9)}`` when the optimizer was
        given as an object, whose own rate wins): ``model.set_params(**suggest)``
        applies it, a command line renders it as flags. Empty when nothing can be
        said in parameters (the advice says what to do).
    """

    code: str
    severity: str
    title: str
    evidence: str
    advice: str
    epochs: tuple[int, int] | None = None
    suggest: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return format_findings([self])


@dataclass(frozen=True)
class Thresholds:
    """The numbers at which each rule fires (see the module docstring for the rules).

    The defaults are set so that the healthy runs of the test suite and of the
    demos raise nothing, and the broken ones are caught with a margin.

    Attributes
    ----------
    min_epochs : int, default=5
        Rules about a trend need this many epochs.
    window : int, default=10
        "Recently" means the last ``window`` epoch-to-epoch changes.
    significant : float, default=0.05
        A rise or a swing of a loss counts only when it is at least this share of
        how far that loss fell over the run (its first value minus its lowest):
        near a loss of zero, mini-batch noise is large next to the loss but not
        next to the fall (a converged run on two moons rose "from 0.031 to 0.04").
    rising_share : float, default=0.6
        lr_too_high: the share of rising epochs in the window (noise alone rises
        about half the time).
    rising_factor : float, default=1.1
        lr_too_high: and the loss ended this many times above the window's start.
    above_best : float, default=2.0
        lr_too_high: or the final loss is this many times its best.
    exploding_factor : float, default=100.0
        exploding_gradients: growth of a gradient norm over its first epoch's (two
        orders of magnitude; in a healthy run it falls).
    vanishing_ratio : float, default=0.1
        vanishing_gradients (a warning): the first layer's weight gradient over the
        last layer's, an order of magnitude (healthy ReLU, tanh and one-layer sigmoid
        networks on digits stay between 0.5 and 7; four sigmoid layers, which learn
        a third as fast, reach 0.04).
    vanishing_severe : float, default=1e-2
        vanishing_gradients becomes a problem at two orders of magnitude (six
        sigmoid layers: 0.004, and they learn nothing).
    stuck_fall : float, default=0.01
        vanishing_gradients: "the loss did not fall" means it fell by less than
        this share of its start...
    tiny_gradient : float, default=1e-4
        ...while the gradient norm is below this many times the loss.
    oscillation_share : float, default=0.8
        oscillating: the share of changes of direction (independent noise changes
        direction about two times in three).
    oscillation_amplitude : float, default=0.1
        oscillating: the median change as a share of the loss.
    steady_share : float, default=0.9
        lr_too_low: the share of epochs in which the loss fell.
    slow_rate : float, default=0.01
        lr_too_low: the largest mean relative decrease per epoch that is slow.
    linear_ratio : float, default=0.5
        lr_too_low: the fall in the last third of the run over the fall in the
        first third (a converging run slows down geometrically, far below this).
    grad_kept : float, default=0.5
        lr_too_low: the share of its first value the gradient norm kept.
    plateau_epochs : int, default=10
        plateau: the least number of flat epochs.
    plateau_change : float, default=0.01
        plateau: "flat" means the loss stayed within this share of its value.
    plateau_fell : float, default=0.1
        plateau: it first fell by this share of its start.
    plateau_gradient : float, default=1e-2
        plateau: the gradient norm is below this share of its largest value...
    plateau_shrink : float, default=0.5
        ...and kept at least this share of its value at the start of the flat
        stretch (at a minimum the gradient keeps shrinking; at a saddle it does not).
    plateau_floor : float, default=0.05
        plateau: the loss is still above this share of its start (below it, most of
        the possible fall has happened: a minimum, not a plateau).
    overfit_rise : float, default=0.1
        overfitting: the validation loss ended this share above its best, and
        this share above the training loss...
    overfit_epochs : int, default=5
        ...at least this many epochs after the best.
    scale_ratio : float, default=100.0
        unscaled_inputs: standard deviations this many times apart, or a mean this
        many times the standard deviation, make the problem ill-conditioned (the
        curvature grows with the square of a column's scale).
    scale_range : tuple of float, default=(1e-3, 1e3)
        unscaled_inputs: standard deviations outside this range.
    """

    min_epochs: int = 5
    window: int = 10
    significant: float = 0.05
    rising_share: float = 0.6
    rising_factor: float = 1.1
    above_best: float = 2.0
    exploding_factor: float = 100.0
    vanishing_ratio: float = 0.1
    vanishing_severe: float = 1e-2
    stuck_fall: float = 0.01
    tiny_gradient: float = 1e-4
    oscillation_share: float = 0.8
    oscillation_amplitude: float = 0.1
    steady_share: float = 0.9
    slow_rate: float = 0.01
    linear_ratio: float = 0.5
    grad_kept: float = 0.5
    plateau_epochs: int = 10
    plateau_change: float = 0.01
    plateau_fell: float = 0.1
    plateau_gradient: float = 1e-2
    plateau_shrink: float = 0.5
    plateau_floor: float = 0.05
    overfit_rise: float = 0.1
    overfit_epochs: int = 5
    scale_ratio: float = 100.0
    scale_range: tuple[float, float] = (1e-3, 1e3)


# -- what a run recorded ---------------------------------------------------------------


@dataclass
class _Run:
    loss: np.ndarray
    val_loss: np.ndarray | None
    lr: np.ndarray | None
    grad_norm: np.ndarray | None
    layers: dict[str, np.ndarray]
    events: list[dict]
    n_params: int | None
    scaled: bool = False
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = self.loss.size

    @property
    def last_lr(self) -> float | None:
        if self.lr is None:
            return None
        finite = self.lr[np.isfinite(self.lr)]
        return float(finite[-1]) if finite.size else None

    @property
    def divergences(self) -> list[dict]:
        return [event for event in self.events if event.get("event") == "divergence"]


def _array(values) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=float).ravel()
    return array if array.size and np.isfinite(array).any() else None


def _layer_order(key: str) -> tuple[int, str]:
    index, _, name = key.partition(".")
    return (int(index), name) if index.isdigit() else (10**9, key)


def _read(history, n_params, events) -> _Run:
    """A History, a dict of series (``history_``) or a fitted estimator, as a :class:`_Run`."""
    from steepest.estimators import _GradientDescentModel
    from steepest.train import History

    scaled = False
    if isinstance(history, _GradientDescentModel):
        model = history
        network = getattr(model, "_network", None)
        trainer = getattr(model, "_trainer", None)
        scaled = bool(getattr(model, "scale", False))
        if n_params is None and network is not None:
            n_params = network.n_params
        # the trainer's history has the events and per-layer norms (and exists even when
        # fit raised); it is the model's run when it trained the model's current network
        if trainer is not None and trainer.network is network:
            history = trainer.history
        elif hasattr(model, "history_"):
            history = model.history_
        else:
            raise ParameterError(
                f"{type(model).__name__} has not been fitted: there is no history to "
                "diagnose. Call fit first."
            )
    if isinstance(history, History):
        series = history.to_dict(layers=True)
        events = list(history.events) + list(events or ())
    elif isinstance(history, Mapping):
        series = dict(history)
        events = list(events or ())
    else:
        raise ParameterError(
            "The 'history' parameter of diagnose must be a steepest.train.History, a dict of "
            "per-epoch lists (a model's history_) or a fitted steepest estimator. Got "
            f"{type(history).__name__} instead."
        )
    if "loss" not in series:
        raise ParameterError(
            "The history to diagnose has no 'loss' series (it holds "
            f"{', '.join(map(str, series)) or 'nothing'}). Pass a model's history_ or a "
            "trainer's history."
        )
    layers = {key.removeprefix("grad_norm/"): np.asarray(values, dtype=float)
              for key, values in series.items() if str(key).startswith("grad_norm/")}
    layers = {key: layers[key] for key in sorted(layers, key=_layer_order)}
    return _Run(loss=np.asarray(series["loss"], dtype=float).ravel(),
                val_loss=_array(series.get("val_loss")), lr=_array(series.get("lr")),
                grad_norm=_array(series.get("grad_norm")), layers=layers, events=events,
                n_params=n_params, scaled=scaled)


# -- words for numbers -----------------------------------------------------------------


def _g(value: float) -> str:
    """A number in two significant digits: 0.41, 2.3, 1.2e+03."""
    return f"{value:.2g}"


def _pair(a: float, b: float) -> tuple[str, str]:
    """Two numbers with just enough digits to tell them apart (30 and 29.7, not 30 and 30)."""
    for digits in range(2, 7):
        left, right = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if left != right:
            return left, right
    return left, right


def _fall(before: float, after: float) -> str:
    """How much lower ``after`` is: '35% lower', or '1.4e+03 times lower' past 10×."""
    if after > 0 and before >= 10 * after:
        return f"{_g(before / after)} times lower"
    return f"{_share(1 - after / before)} lower"


def _lr(value: float) -> str:
    return f"{value:.2g}"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _share(value: float) -> str:
    """A fraction as a percentage: 0.0023 -> '0.23%', 0.5 -> '50%'."""
    percent = 100.0 * value
    return f"{percent:.2g}%" if abs(percent) < 10 else f"{percent:.0f}%"


# -- the rules -------------------------------------------------------------------------


def _rule_diverged(run: _Run, t: Thresholds) -> list[Finding]:
    events = run.divergences
    bad = np.flatnonzero(~np.isfinite(run.loss))
    if not events and not bad.size:
        return []
    if events:
        first, last = events[0], events[-1]
        evidence = (f"the divergence guard rolled the model back {_times(len(events))}: at "
                    f"epoch {first['epoch']} with lr={_lr(first['lr'])} "
                    f"({first.get('reason', 'the loss blew up')})")
        if len(events) > 1:
            evidence += ", then with " + ", ".join(f"lr={_lr(e['lr'])}" for e in events[1:])
        evidence += f", and lowered the rate to lr={_lr(last['new_lr'])}"
        lowest = min(e["lr"] for e in events)
        advice = (f"start with lr={_lr(last['new_lr'])} or lower (lr={_lr(lowest)} already "
                  "diverged), scale the inputs (scale=True or StandardScaler), or clip the "
                  "gradients (clip_norm=1.0)")
        span = (int(events[0]["epoch"]), int(last["epoch"]))
    else:
        first = int(bad[0])
        evidence = (f"the training loss became {run.loss[first]} at epoch {first + 1}"
                    + (f" (it was {_g(run.loss[first - 1])} the epoch before)"
                       if first and math.isfinite(run.loss[first - 1]) else ""))
        rate = run.last_lr
        advice = ("lower the learning rate about 10×"
                  + (f", e.g. lr={_lr(rate / 10)}" if rate else "")
                  + ", scale the inputs (scale=True or StandardScaler), or clip the gradients "
                  "(clip_norm=1.0)")
        span = (first + 1, first + 1)
    return [Finding("diverged", "problem", "The training diverged", evidence, advice, span)]


def _tail(values: np.ndarray, window: int) -> np.ndarray:
    """The last ``window + 1`` finite values (``window`` changes)."""
    finite = values[np.isfinite(values)]
    return finite[-(window + 1):]


def _rule_lr_too_high(run: _Run, t: Thresholds) -> list[Finding]:
    loss = run.loss[np.isfinite(run.loss)]
    if loss.size < t.min_epochs:
        return []
    tail = _tail(run.loss, t.window)
    changes = np.diff(tail)
    ups = int(np.count_nonzero(changes > 0))
    fell = float(loss[0] - loss.min())
    rate = run.last_lr
    advice = ("lower the learning rate about 10×"
              + (f", e.g. lr={_lr(rate / 10)}" if rate else "")
              + " (steepest lr-find suggests one), or use a decaying schedule "
              "(steepest.schedules.cosine)")
    title = "The learning rate is too high"
    if (ups >= t.rising_share * changes.size and tail[-1] >= t.rising_factor * tail[0]
            and tail[-1] - tail[0] >= t.significant * fell):
        a, b = _pair(tail[0], tail[-1])
        evidence = (f"the training loss rose in {ups} of the last {changes.size} epochs, "
                    f"from {a} to {b}")
        return [Finding("lr_too_high", "problem", title, evidence, advice,
                        (run.n - changes.size, run.n))]
    best = int(np.nanargmin(run.loss))
    if (run.loss[-1] >= t.above_best * run.loss[best]
            and run.loss[-1] - run.loss[best] >= t.significant * fell):
        a, b = _pair(run.loss[best], run.loss[-1])
        evidence = (f"the training loss ended at {b}, {run.loss[-1] / run.loss[best]:.2g} "
                    f"times its best of {a} at epoch {best + 1}")
        return [Finding("lr_too_high", "problem", title, evidence, advice,
                        (best + 1, run.n))]
    return []


def _rule_oscillating(run: _Run, t: Thresholds) -> list[Finding]:
    tail = _tail(run.loss, t.window)
    changes = np.diff(tail)
    changes = changes[changes != 0]
    if changes.size < max(t.min_epochs, 4):
        return []
    turns = int(np.count_nonzero(np.sign(changes[1:]) != np.sign(changes[:-1])))
    share = turns / (changes.size - 1)
    swing = float(np.median(np.abs(changes)))
    amplitude = swing / float(np.median(np.abs(tail)))
    loss = run.loss[np.isfinite(run.loss)]
    if (share < t.oscillation_share or amplitude < t.oscillation_amplitude
            or swing < t.significant * float(loss[0] - loss.min())):
        return []
    rate = run.last_lr
    low, high = _pair(float(tail.min()), float(tail.max()))
    evidence = (f"the training loss changed direction {turns} times in the last "
                f"{changes.size + 1} epochs, by {_share(amplitude)} of its value at a time "
                f"(between {low} and {high})")
    advice = ("lower the learning rate 2–3×"
              + (f", e.g. lr={_lr(rate / 3)}" if rate else "")
              + "; with mini-batches a larger batch_size, or a decaying schedule "
              "(steepest.schedules.cosine), also calms it")
    return [Finding("oscillating", "warning", "The loss is oscillating", evidence, advice,
                    (run.n - changes.size, run.n))]


def _rule_lr_too_low(run: _Run, t: Thresholds) -> list[Finding]:
    loss, grad = run.loss, run.grad_norm
    n = loss.size
    if n < max(t.min_epochs, 6) or grad is None or not np.isfinite(loss).all():
        return []
    if not (loss[0] > 0 and loss[-1] > 0 and math.isfinite(grad[0]) and grad[0] > 0
            and math.isfinite(grad[-1])):
        return []
    falls = np.count_nonzero(np.diff(loss) < 0)
    per_epoch = 1.0 - (loss[-1] / loss[0]) ** (1.0 / (n - 1))
    third = max(1, (n - 1) // 3)
    first, last = loss[0] - loss[third], loss[-1 - third] - loss[-1]
    if not (falls >= t.steady_share * (n - 1) and 0 < per_epoch <= t.slow_rate and first > 0
            and last >= t.linear_ratio * first and grad[-1] >= t.grad_kept * grad[0]):
        return []
    a, b = _pair(loss[0], loss[-1])
    g0, g1 = _pair(grad[0], grad[-1])
    evidence = (f"over {n} epochs the training loss fell steadily but slowly, from {a} to {b} "
                f"({_share(per_epoch)} per epoch), about as fast at the end as at the start, "
                f"and the gradient norm is still {_share(grad[-1] / grad[0])} of its first "
                f"value ({g0} → {g1}): far from a minimum")
    rate = run.last_lr
    advice = "raise the learning rate about 10×"
    if rate:
        proposal = 10 * rate
        diverged = [e["lr"] for e in run.divergences]
        if diverged and proposal >= min(diverged):
            proposal = min(diverged) / 3
            advice = (f"raise the learning rate, e.g. to lr={_lr(proposal)} (it diverged at "
                      f"lr={_lr(min(diverged))}, so stay below that)")
        else:
            advice += f", e.g. lr={_lr(proposal)}"
    advice += (" (steepest lr-find suggests one), use an adaptive optimizer such as "
               "optimizer='adam', or train for more epochs")
    return [Finding("lr_too_low", "warning", "The learning rate is too low", evidence, advice,
                    (1, n))]


def _rule_exploding(run: _Run, t: Thresholds) -> list[Finding]:
    grown = []
    for name, values in (("the gradient norm", run.grad_norm),
                         *((f"layer {key}'s weight gradient", v) for key, v in
                           run.layers.items())):
        if values is None or values.size < 2:
            continue
        start = values[0]
        later = np.where(np.isfinite(values[1:]), values[1:], -np.inf)
        if not (math.isfinite(start) and start > 0 and later.size):
            continue
        peak = int(np.argmax(later)) + 1
        if values[peak] >= t.exploding_factor * start:
            grown.append((name, start, values[peak], peak))
    if not grown:
        return []
    name, start, peak_value, peak = grown[0]
    evidence = (f"{name} grew from {_g(start)} at epoch 1 to {_g(peak_value)} at epoch "
                f"{peak + 1} ({_g(peak_value / start)} times)")
    if len(grown) > 1:
        evidence += "; so did " + ", ".join(g[0] for g in grown[1:4])
    advice = ("clip the gradients (clip_norm=1.0), lower the learning rate, and scale the "
              "inputs (scale=True); in a deep network batch_norm=True also helps")
    return [Finding("exploding_gradients", "problem", "The gradients are exploding", evidence,
                    advice, (1, peak + 1))]


def _recent_median(values: np.ndarray, window: int) -> float:
    finite = values[np.isfinite(values)][-window:]
    return float(np.median(finite)) if finite.size else math.nan


def _rule_vanishing(run: _Run, t: Thresholds) -> list[Finding]:
    advice = ("use a ReLU-like activation (activation='relu', which starts from He "
              "initialisation) instead of sigmoid or tanh, fewer hidden layers, "
              "batch_norm=True, or an adaptive optimizer (optimizer='adam')")
    title = "The gradients are vanishing"
    if len(run.layers) >= 2:
        medians = {key: _recent_median(values, t.window) for key, values in run.layers.items()}
        keys = list(medians)
        first, last = medians[keys[0]], medians[keys[-1]]
        if last > 0 and math.isfinite(first) and first <= t.vanishing_ratio * last:
            severity = "problem" if first <= t.vanishing_severe * last else "warning"
            listed = ", ".join(f"{key} {_g(value)}" for key, value in medians.items())
            evidence = (f"the gradient of the first layer's weights ({keys[0]}) is "
                        f"{_g(first)}, {_g(first / last)} times that of the last layer "
                        f"({keys[-1]}: {_g(last)}), so the first layers barely learn; layer "
                        f"by layer: {listed} (medians of the last "
                        f"{min(t.window, run.n)} epochs)")
            return [Finding("vanishing_gradients", severity, title, evidence, advice,
                            (max(1, run.n - t.window + 1), run.n))]
    loss, grad = run.loss, run.grad_norm
    if grad is None or run.n < t.min_epochs or not np.isfinite(loss[[0, -1]]).all():
        return []
    if (loss[-1] > 0 and loss[-1] >= (1 - t.stuck_fall) * loss[0]
            and math.isfinite(grad[-1]) and grad[-1] <= t.tiny_gradient * loss[-1]):
        a, b = _pair(loss[0], loss[-1])
        evidence = (f"over {run.n} epochs the training loss barely moved ({a} → {b}) while "
                    f"the gradient norm is {_g(grad[-1])}, {_g(grad[-1] / loss[-1])} times "
                    "the loss: there is almost no gradient to follow")
        return [Finding("vanishing_gradients", "problem", title, evidence,
                        advice + "; check that the initial weights are not all zero",
                        (1, run.n))]
    return []


def _rule_plateau(run: _Run, t: Thresholds) -> list[Finding]:
    loss, grad = run.loss, run.grad_norm
    n = loss.size
    if grad is None or n < t.plateau_epochs + 1 or not np.isfinite(loss).all():
        return []
    length = 0
    for k in range(t.plateau_epochs, n):
        stretch = loss[-k:]
        if stretch.max() - stretch.min() > t.plateau_change * abs(np.median(stretch)):
            break
        length = k
    if not length:
        return []
    begin = n - length
    level = float(np.median(loss[begin:]))
    biggest = float(np.nanmax(grad))
    stretch_grad = grad[begin:]
    if not (loss[begin] <= (1 - t.plateau_fell) * loss[0] and level > t.plateau_floor * loss[0]
            and np.isfinite(stretch_grad).all() and biggest > 0
            and np.median(stretch_grad) <= t.plateau_gradient * biggest
            and stretch_grad[-1] >= t.plateau_shrink * stretch_grad[0]):
        return []
    a, b = _pair(loss[0], level)
    evidence = (f"after falling from {a} to {b}, the training loss stayed within "
                f"{_share(t.plateau_change)} of {b} for the last {length} epochs, with a "
                f"gradient norm of about {_g(float(np.median(stretch_grad)))} "
                f"({_g(float(np.median(stretch_grad)) / biggest)} times its largest) that "
                "is not shrinking, as at a saddle point or on a plateau rather than at a "
                "minimum")
    advice = ("use momentum (optimizer=steepest.optim.SGD(lr=..., momentum=0.9)) or "
              "optimizer='adam', which cross flat regions faster; a larger learning rate or "
              "a warm-restart schedule (steepest.schedules.cosine_warm_restarts) can also "
              "push it out. If this is as low as the model can go, stop earlier "
              "(early_stopping=True, or tol)")
    return [Finding("plateau", "warning", "The loss is stuck on a plateau", evidence, advice,
                    (begin + 1, n))]


def _rule_overfitting(run: _Run, t: Thresholds, n_samples: int | None) -> list[Finding]:
    val, loss = run.val_loss, run.loss
    if val is None or val.size != loss.size:
        return []
    if np.count_nonzero(np.isfinite(val)) < t.min_epochs or not math.isfinite(val[-1]):
        return []
    best = int(np.nanargmin(val))
    n = loss.size
    fell = float(val[np.isfinite(val)][0] - val[best])
    if not (n - 1 - best >= t.overfit_epochs and val[-1] >= (1 + t.overfit_rise) * val[best]
            and val[-1] - val[best] >= t.significant * fell
            and math.isfinite(loss[best]) and loss[-1] < loss[best]
            and val[-1] >= (1 + t.overfit_rise) * loss[-1]):
        return []
    v0, v1 = _pair(val[best], val[-1])
    l0, l1 = _pair(loss[best], loss[-1])
    evidence = (f"the validation loss was lowest at epoch {best + 1} ({v0}) and rose to {v1} "
                f"by epoch {n}, while the training loss kept falling, from {l0} to {l1}; "
                f"the gap is now {_g(val[-1] - loss[-1])}")
    if run.n_params and n_samples:
        evidence += (f"; the model has {run.n_params:,} parameters for {n_samples:,} "
                     "training samples")
    advice = (f"early_stopping=True keeps the weights of the best epoch (here epoch "
              f"{best + 1}); or regularise: a larger alpha (e.g. 10× the current one), "
              "dropout=0.2 in a network, a smaller network, or more training data")
    return [Finding("overfitting", "warning", "The model is overfitting", evidence, advice,
                    (best + 1, n))]


def _columns(X, feature_names) -> tuple[np.ndarray, list[str]]:
    # a data frame names its columns: a pyarrow Table in ``column_names`` (its ``columns``
    # are the data), a pandas DataFrame in ``columns``
    names = getattr(X, "column_names", None)
    names = getattr(X, "columns", None) if names is None else names
    names = [str(c) for c in names] if names is not None else None
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(
            "The 'X' parameter of diagnose must be numeric (the training inputs, as given to "
            "fit). Got values that are not numbers."
        ) from None
    if X.ndim != 2:
        raise ParameterError(
            f"The 'X' parameter of diagnose must be a 2-D array (samples × features). Got a "
            f"{X.ndim}-D array."
        )
    if feature_names is not None:
        names = [str(c) for c in feature_names]
        if len(names) != X.shape[1]:
            raise ParameterError(
                f"feature_names has {len(names)} names but X has {X.shape[1]} columns."
            )
    if names is None or len(names) != X.shape[1]:
        names = [str(i) for i in range(X.shape[1])]
    return X, names


def _rule_unscaled(X, names: list[str], t: Thresholds) -> list[Finding]:
    with np.errstate(invalid="ignore"):
        std = np.nanstd(X, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
        mean = np.nanmean(X, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
    varying = np.flatnonzero(np.isfinite(std) & (std > 0))
    if not varying.size:
        return []

    def column(i: int) -> str:
        return f"column {names[i]!r}" if names[i] != str(i) else f"column {i}"

    reasons = []
    widest = varying[int(np.argmax(std[varying]))]
    narrowest = varying[int(np.argmin(std[varying]))]
    if std[widest] >= t.scale_ratio * std[narrowest]:
        reasons.append(f"{column(widest)} has std {std[widest]:.1e}, {column(narrowest)} "
                       f"{std[narrowest]:.1e} ({_g(std[widest] / std[narrowest])} times apart)")
    else:
        low, high = t.scale_range
        outside = [i for i in varying if not low <= std[i] <= high]
        if outside:
            reasons.append("; ".join(f"{column(i)} has std {std[i]:.1e}" for i in outside[:3])
                           + f" (outside {low:g} to {high:g})")
    offset = [i for i in varying if abs(mean[i]) >= t.scale_ratio * std[i]]
    if offset:
        reasons.append("; ".join(f"{column(i)} has mean {mean[i]:.1e} and std {std[i]:.1e}"
                                 for i in offset[:3]) + " (far from centred)")
    if not reasons:
        return []
    evidence = "; ".join(reasons) + (". Gradient descent has to use a rate small enough for "
                                     "the widest column, and crawls along the others")
    advice = ("standardise the inputs: scale=True on the model (it keeps the scaling for "
              "predict), or sklearn.preprocessing.StandardScaler in a Pipeline")
    return [Finding("unscaled_inputs", "warning", "The inputs are not scaled", evidence,
                    advice)]


def _healthy(run: _Run) -> Finding:
    loss, grad, val = run.loss, run.grad_norm, run.val_loss
    a, b = _pair(loss[0], loss[-1])
    parts = [f"over {run.n} epochs the training loss fell from {a} to {b}"
             + (f" ({_fall(loss[0], loss[-1])})" if loss[0] > 0 else "")]
    if val is not None and np.isfinite(val).any():
        best = int(np.nanargmin(val))
        parts.append(f"the validation loss ended at {_g(val[-1])} (best {_g(val[best])}, at "
                     f"epoch {best + 1})")
    if grad is not None and math.isfinite(grad[0]) and math.isfinite(grad[-1]):
        g0, g1 = _pair(grad[0], grad[-1])
        parts.append(f"the gradient norm went from {g0} to {g1}")
    parts.append("nothing diverged")
    advice = "nothing to fix"
    tail = loss[-11:]
    if tail.size >= 2 and tail[0] > 0 and tail[-1] < 0.99 * tail[0] and \
            np.all(np.diff(tail) <= 0):
        advice += (f"; the loss was still falling at the end ({_share(1 - tail[-1] / tail[0])} "
                   f"in the last {tail.size - 1} epochs), so more epochs would lower it further")
    return Finding("healthy", "info", "Training looks healthy", ", ".join(parts), advice,
                   (1, run.n))


# -- the diagnosis ---------------------------------------------------------------------


def diagnose(history, *, X=None, n_params: int | None = None,
             events: Sequence[Mapping] | None = None, feature_names: Sequence[str] | None = None,
             thresholds: Thresholds | None = None) -> list[Finding]:
    """Say what went wrong in a training run, from what the fit loop recorded.

    Parameters
    ----------
    history : History, dict of lists, or fitted estimator
        A :class:`~steepest.train.History` (``trainer.history``: with events and
        per-layer gradient norms), a model's ``history_`` (a dict of per-epoch
        lists; per-layer norms as ``"grad_norm/0.W"`` series when present), or a
        fitted steepest estimator (its trainer's history, which has all of it,
        even after ``fit`` raised; the parameter count; and whether it scales
        its inputs itself, ``scale=True``, in which case ``X`` is not judged).
    X : array-like of shape (n_samples, n_features), optional
        The training inputs as given to ``fit`` (a DataFrame names its columns):
        checked for badly scaled columns.
    n_params : int, optional
        The number of trained parameters (taken from an estimator), quoted when
        the model overfits.
    events : sequence of dict, optional
        Divergence events for a ``history`` that is a plain dict (a History and an
        estimator bring their own).
    feature_names : sequence of str, optional
        Column names for ``X`` (default: a DataFrame's, else the column numbers).
    thresholds : Thresholds, optional
        Where each rule fires; the defaults are documented on :class:`Thresholds`.

    Returns
    -------
    list of Finding
        Problems first, then warnings, then notes. At least one: when nothing is
        wrong, a single ``"healthy"`` note summarising the run (``"too_short"`` when
        fewer than ``thresholds.min_epochs`` epochs were recorded).
    """
    t = thresholds if thresholds is not None else Thresholds()
    if not isinstance(t, Thresholds):
        raise ParameterError(
            f"The 'thresholds' parameter of diagnose must be a Thresholds. Got "
            f"{type(t).__name__} instead."
        )
    run = _read(history, n_params, events)
    n_samples = None
    findings: list[Finding] = []
    if X is not None:
        X, names = _columns(X, feature_names)
        n_samples = X.shape[0]
        if not run.scaled:
            findings += _rule_unscaled(X, names, t)
    findings += _rule_diverged(run, t)
    if run.n:
        high = _rule_lr_too_high(run, t)
        findings += high
        findings += _rule_exploding(run, t)
        findings += _rule_vanishing(run, t)
        if not high:
            findings += _rule_oscillating(run, t)
        findings += _rule_lr_too_low(run, t)
        findings += _rule_plateau(run, t)
        findings += _rule_overfitting(run, t, n_samples)
    if not any(f.severity in ("problem", "warning") for f in findings):
        if run.n < t.min_epochs or not np.isfinite(run.loss).all():
            findings.append(Finding(
                "too_short", "info", "Too few epochs to judge",
                f"{run.n} epoch{'s' * (run.n != 1)} recorded; the rules about trends need at "
                f"least {t.min_epochs}",
                f"train for at least {t.min_epochs} epochs (epochs={max(t.min_epochs, 10)}) "
                "and diagnose again"))
        else:
            findings.append(_healthy(run))
    order = {severity: i for i, severity in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: order[f.severity])


_SETTING = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*)=('[^']*'|\([^()]*\)|[\w.]+\([^()]*\)"
                      r"|[\w.+-]*\w)")
"""A parameter setting written in evidence or advice: ``lr=0.01``, ``optimizer='adam'``,
``hidden_layer_sizes=(64, 32)``, ``optimizer=steepest.optim.SGD(lr=..., momentum=0.9)``."""


def _spelled(name: str, text: str, spell) -> str | None:
    """The setting ``name=text`` (Python source) as ``spell`` writes it; None when it cannot."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Call):  # an optimizer as a call, SGD(lr=0.05, momentum=0.9)
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else \
            getattr(node.func, "id", None)
        parts = [spell(name, str(callee).lower())]
        for keyword in node.keywords:
            if isinstance(keyword.value, ast.Constant) and keyword.value.value is ...:
                continue  # lr=...: "your rate"
            try:
                parts.append(spell(keyword.arg, ast.literal_eval(keyword.value)))
            except ValueError:
                return None
        return None if None in parts else " ".join(parts)
    try:
        return spell(name, ast.literal_eval(node))
    except ValueError:
        return None


def _respell(text: str, spell) -> str:
    """``text`` with each ``name=value`` setting rewritten by ``spell`` where it can."""
    if spell is None:
        return text

    def rewrite(match: re.Match) -> str:
        spelled = _spelled(match[1], match[2], spell)
        return match[0] if spelled is None else spelled

    return _SETTING.sub(rewrite, text)


def _python(suggest: Mapping[str, object]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in suggest.items())


def format_suggest(suggest: Mapping[str, object], *, spell=None) -> str:
    """A finding's ``suggest`` in one line: ``lr=0.01, clip_norm=1.0`` (estimator
    parameters), or each setting as ``spell`` writes it (``--lr 0.01 --clip-norm 1``);
    an optimizer object is spelled from its repr (``SGD(lr=0.05, momentum=0.9)`` →
    ``--optimizer sgd --lr 0.05 --momentum 0.9``), and a setting ``spell`` cannot
    write stays in Python's form."""
    if spell is None:
        return _python(suggest)
    parts = []
    for name, value in suggest.items():
        literal = value is None or isinstance(value, (bool, int, float, str, tuple))
        spelled = spell(name, value) if literal else _spelled(name, repr(value), spell)
        parts.append(spelled if spelled is not None else f"{name}={value!r}")
    return " ".join(parts)


def format_findings(findings: Sequence[Finding], width: int = 88, *, spell=None) -> str:
    """The findings as plain text for a terminal, one block each::

        [problem] The learning rate is too high (lr_too_high)
            seen: the training loss rose in 7 of the last 10 epochs, from 0.41 to 2.3
            do:   lower the learning rate to 0.01 (an LR range test on the training ...)
            try:  lr=0.01

    The ``try:`` line is the finding's ``suggest``, as estimator parameters.

    Parameters
    ----------
    findings : sequence of Finding
    width : int, default=88
        Lines are wrapped to this many characters.
    spell : callable, optional
        ``spell(name, value) -> str or None`` writes one parameter setting: the
        command line passes :func:`steepest.cli_values.flag_form`, which writes
        ``lr=0.01`` as ``--lr 0.01``. It then writes the ``try:`` line (see
        :func:`format_suggest`) and each ``name=value`` setting in the evidence and
        the advice; a None keeps that setting as it is. By default the findings are
        shown in the library's words.
    """
    blocks = []
    for finding in findings:
        lines = [f"[{finding.severity}] {finding.title} ({finding.code})"]
        parts = [("seen: ", _respell(finding.evidence, spell)),
                 ("do:   ", _respell(finding.advice, spell))]
        if finding.suggest:
            parts.append(("try:  ", format_suggest(finding.suggest, spell=spell)))
        for label, text in parts:
            lines += textwrap.wrap(text, width=width, initial_indent="    " + label,
                                   subsequent_indent=" " * 10, break_on_hyphens=False)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def add_findings(report, findings: Sequence[Finding], *, spell=None) -> None:
    """Each finding as a note of a :class:`~steepest.report.Report`, coloured by its
    severity: the title, then what was seen, what to do and what to try (the HTML twin
    of :func:`format_findings`, with the same ``spell``)."""
    for finding in findings:
        lines = {"seen": _respell(finding.evidence, spell), "do": _respell(finding.advice, spell)}
        if finding.suggest:
            lines["try"] = format_suggest(finding.suggest, spell=spell)
        report.add_note(finding.title, lines, kind=finding.severity)
