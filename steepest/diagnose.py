"""Why a descent went wrong, in plain words: findings read from a training history.

::

    from steepest import MLPClassifier
    from steepest.diagnose import diagnose, format_findings

    model = MLPClassifier((64,), lr=0.1, epochs=30).fit(X, y)      # scaled digits
    findings = diagnose(model, X=X, y=y)   # or diagnose(model.history_), diagnose(trainer.history)
    print(format_findings(findings))

    [problem] The learning rate is too high (lr_too_high)
        seen: the training loss rose in 6 of the last 10 epochs, from 0.16 to 0.9
        do:   lower the learning rate to 0.0031 (an LR range test on the training data
              suggests it), or use a decaying schedule (cosine)
        try:  lr=0.0031

Each :class:`Finding` names what was seen (the numbers, in words), what to do (in
words), and the first thing to try as estimator parameters (``Finding.suggest``,
which ``model.set_params(**suggest)`` applies and a command line renders as flags).
The rules read what the fit loop records (see :class:`~steepest.train.History`): the
per-epoch ``loss``, ``val_loss``, ``val_score``, ``lr`` and ``grad_norm``, the
per-layer gradient norms (``grad_norm/<layer>``), the share of dead ReLU units
(``dead_units/<layer>``), the divergence events; and, when given, the estimator's
parameters, the training inputs ``X`` and targets ``y`` (the trivial model's loss:
the class shares' cross-entropy or the variance of y). Every rule has explicit
thresholds, gathered with their reasons in :class:`Thresholds`; a rule that lacks
the numbers it needs stays silent rather than guess.

A proposed rate is never one that diverged nor (within ``rate_margin``) the one in
use; given the estimator, ``X`` and ``y`` it is the suggestion of a quick LR range
test (:func:`steepest.lr_find.lr_find`, ``lr_find_steps`` updates: a fraction of a
second on scikit-learn's bundled data sets) where that test's rate lies on the
right side, else 10× (3× for oscillation) up or down. When the optimizer was
given as an object its own rate wins, so the suggestion is a copy of that object
with the new rate.

The rules, in the order they are reported (problems, then warnings, then notes):

``diverged`` (problem)
    The divergence guard rolled the model back (``history.events``), the recorded
    loss is NaN or infinite, or the estimator's parameters are not finite.
``exploding_gradients`` (problem, before a divergence it explains)
    The gradient norm (global, of a layer, or the largest of an epoch's updates)
    grew ``exploding_factor`` times above its first epoch's, while the loss did not
    fall or the growth went on (a gradient recovering from near zero,
    ``recovered_share``, is not exploding); or, in a network of
    ``exploding_depth`` Dense layers or more, an epoch the divergence guard undid
    had an update whose gradient norm was ``exploding_factor`` times its first
    update's. The clip proposed is the gradient's usual size.
``loss_too_high`` (problem)
    Given ``y``: the median loss of the last ``window`` epochs is
    ``too_high_factor`` times the trivial model's or more, none of them below the
    trivial model's, and bouncing (``noisy_share`` of the epochs rose).
``lr_too_high`` (problem)
    The training loss rose in at least ``rising_share`` of the last ``window``
    epochs and ended ``rising_factor`` times above where that window began (and
    that rise is not one of ``oscillation_swings`` alternating swings at least
    half its size); or it ended ``above_best`` times above its best (either rise
    ``significant``, and not at the top of such a swing).
``vanishing_gradients`` (problem, or warning)
    The first Dense layer's weight gradient is ``vanishing_ratio`` times the last
    one's or less (medians over the last ``window`` epochs; a problem from
    ``vanishing_severe``); or the loss fell by less than ``stuck_fall`` of its
    start while the gradient norm is under ``tiny_gradient`` times the loss.
``dead_units`` (problem, or warning)
    ``dead_share`` of a ReLU layer's units (``dead_severe`` for a problem) output 0
    on every probe row at the last epoch, while the training loss is still
    ``dead_loss_share`` of the trivial model's or more (when known).
``class_imbalance`` (problem, before dead units)
    Given the classifier, ``X`` and ``y``: it predicts one class for every training
    row, and that class is ``imbalance_share`` of them or more. A penalty of
    ``strong_alpha`` or more is the first suspect; else the classes' weights.
``learned_nothing`` (problem)
    The final training loss is ``nothing_share`` of the trivial model's or more, or
    the validation accuracy is at most the majority class's share plus
    ``nothing_accuracy``, or the validation R² is at most 0. When another rule
    explains it (vanishing gradients, dead units, one class predicted,
    overfitting, a bad start, unscaled inputs or target, a rate too low, a
    plateau, an oscillating loss whose last epoch landed high), that finding is
    reported as the problem instead, with this evidence.
``oscillating`` (warning)
    The training loss changed direction in at least ``oscillation_share`` of the
    last ``window`` epochs, by ``oscillation_amplitude`` of its value or more (a
    ``significant`` swing); or it swung up and down ``oscillation_swings`` times
    (as a zigzag filter counts legs) in the last ``2 * window`` epochs or the last
    half of the run.
``unscaled_inputs`` (warning; the problem reported, with the loss's evidence, when
the loss is too high or rising: a rate too high for the widest column)
    Given ``X``: the standard deviations of its varying columns (not constant,
    ``constant_std``, and not equal to their median in nearly every row,
    ``varying_share``: image borders) differ by ``scale_ratio`` or more, or lie
    outside ``scale_range``, or their root mean squares (the curvature, with the
    means) differ by ``scale_ratio``, or a column's mean is ``scale_ratio`` times
    its standard deviation or more.
``unscaled_target`` (warning)
    Given a regression ``y`` the model did not standardise itself (a regressor's
    ``scale=True`` does, and its loss is then judged in units of y's std): its
    standard deviation lies outside ``target_range``, or its mean is
    ``target_offset`` standard deviations from 0. It explains a divergence or an
    explosion, whose advice becomes the scaling (at the rate tested for it).
``bad_initialization`` (warning)
    Given ``y``: the first epoch's loss is ``bad_start`` times the trivial model's
    or more (however it ended).
``lr_too_low`` (warning)
    The loss fell in at least ``steady_share`` of the epochs, by ``slow_rate`` of
    its value per epoch or less, as fast in the last third of the run as in the
    first (``linear_ratio``), while the gradient norm kept ``grad_kept`` of its
    first value.
``plateau`` (warning)
    The loss stayed within ``plateau_change`` for the last ``plateau_epochs``
    epochs or more with a gradient norm that was not shrinking (``plateau_shrink``):
    after falling by ``plateau_fell``, above ``plateau_floor`` of its start and with
    a gradient below ``plateau_gradient`` of its largest; or at the trivial model's
    level (``nothing_share``), the saddle near "predict the class shares".
``overfitting`` (warning)
    At least ``overfit_epochs`` epochs after its best, while the training loss
    kept falling, the validation loss ended ``overfit_rise`` above its best (a
    ``significant`` rise) and above the training loss, and the validation score,
    when recorded, fell by ``overfit_score_drop`` since that best; or it ended
    ``overfit_gap`` times the training loss. When the score kept improving, the
    advice is a stronger penalty rather than stopping at the best loss.
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
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from steepest.data import split_indices
from steepest.errors import ParameterError
from steepest.lr_find import RULE_NO_DESCENT, lr_find

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
    suggest: Mapping[str, object] = field(default_factory=dict, hash=False)

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
        orders of magnitude; in a healthy run it falls)...
    recovered_share : float, default=0.1
        ...unless the loss fell meanwhile and the norm did not keep growing (it
        peaked before the last ``window`` epochs, or a third of the way to the peak
        it was already this share of it): a gradient that jumped up from a tiny
        start (dead or saturated units coming to life) and stayed is recovering.
    exploding_depth : int, default=3
        exploding_gradients, also: an epoch the divergence guard undid, whose
        largest update's gradient norm was ``exploding_factor`` times its first
        update's, in a network of at least this many Dense layers (two hidden
        layers: the growth compounds through the layers; in a shallower model a
        gradient that blows up within an epoch is the rate, ``diverged``).
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
    oscillation_swings : int, default=4
        oscillating, also: this many alternating rises and falls in the last
        ``2 * window`` epochs (or the last half of a longer run), each by
        ``oscillation_amplitude`` of the loss (and a ``significant`` amount) or more
        (a slow swing, as heavy momentum makes).
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
    overfit_gap : float, default=10.0
        overfitting, also: the validation loss stopped improving ``overfit_epochs``
        epochs ago or more and ended this many times the training loss (the model
        memorised the training rows).
    overfit_score_drop : float, default=0.02
        overfitting, the rise: when a validation score is recorded, it must also
        have ended this much below its value at the epoch of the best validation
        loss (two points of accuracy or of R²; a validation loss rising while the
        score holds is over-confidence, not overfitting to act on).
    scale_ratio : float, default=100.0
        unscaled_inputs: standard deviations this many times apart, or a mean this
        many times the standard deviation, make the problem ill-conditioned (the
        curvature grows with the square of a column's scale).
    scale_range : tuple of float, default=(1e-3, 1e3)
        unscaled_inputs: standard deviations outside this range.
    constant_std : float, default=1e-9
        unscaled_inputs: a column whose standard deviation is at most this share of
        its largest absolute value is constant (a standardised constant column keeps
        a rounding error of 1e-16, which is no scale).
    varying_share : float, default=0.05
        unscaled_inputs: a column counts only when at least this share of its rows
        differ from its median (the border pixels of digits or Fashion-MNIST are 0 in
        more than 95% of the images: their small standard deviations are not units
        apart from the centre's, and raw pixels share one unit).
    nothing_share : float, default=0.9
        learned_nothing: the final training loss is at least this share of the
        trivial model's (always the class shares, or the mean of y)...
    nothing_accuracy : float, default=0.02
        ...or the validation accuracy is at most the majority class's share plus
        this, or the validation R² is at most 0.
    too_high_factor : float, default=1.2
        loss_too_high: the median loss of the last ``window`` epochs is this many
        times the trivial model's loss or more (a model that cannot beat "predict
        the class shares" is stepping too far)...
    noisy_share : float, default=0.3
        ...and it rose in at least this share of them (bouncing, not still falling
        from a high start).
    bad_start : float, default=100.0
        bad_initialization: the first epoch's loss is this many times the trivial
        model's or more (the run started exploded; it may have calmed since).
    imbalance_share : float, default=0.7
        class_imbalance: the one class predicted is at least this share of the
        rows (with balanced classes, predicting one is learning nothing).
    strong_alpha : float, default=1e-2
        class_imbalance: a penalty this strong or stronger is named first (it shrinks
        the weights until only the bias, the majority class, is left); below it, the
        advice is to weight the classes.
    dead_share : float, default=0.5
        dead_units (a warning): the share of a ReLU layer's units that output 0
        on every probe row, at the last epoch.
    dead_severe : float, default=0.9
        dead_units becomes a problem at this share.
    dead_loss_share : float, default=0.5
        dead_units is reported only while the final training loss is at least this
        share of the trivial model's (when ``y`` gives it): a wide network that
        memorised its training rows with half its units dead is not held back by
        them (what it needs is in the overfitting rule).
    target_range : tuple of float, default=(0.1, 10.0)
        unscaled_target: the standard deviation of a regression target outside
        this range...
    target_offset : float, default=3.0
        ...or its mean this many standard deviations from 0 (the output bias,
        starting at 0, has that far to travel)...
    target_mean : float, default=10.0
        ...and at least this far from 0 (a mean of 1.3 with std 0.35, as
        make_friedman3's, is a few updates of the bias at any usual rate, no scale
        problem).
    rate_margin : float, default=1.5
        Rates within this factor of one another count as the same rate: advice
        never proposes a rate this close to the one in use or to one that failed.
    lr_find_steps : int, default=100
        The updates of the quick LR range test run for a rate to suggest.
    """

    min_epochs: int = 5
    window: int = 10
    significant: float = 0.05
    rising_share: float = 0.6
    rising_factor: float = 1.1
    above_best: float = 2.0
    exploding_factor: float = 100.0
    recovered_share: float = 0.1
    exploding_depth: int = 3
    vanishing_ratio: float = 0.1
    vanishing_severe: float = 1e-2
    stuck_fall: float = 0.01
    tiny_gradient: float = 1e-4
    oscillation_share: float = 0.8
    oscillation_amplitude: float = 0.1
    oscillation_swings: int = 4
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
    overfit_gap: float = 10.0
    overfit_score_drop: float = 0.02
    scale_ratio: float = 100.0
    scale_range: tuple[float, float] = (1e-3, 1e3)
    constant_std: float = 1e-9
    varying_share: float = 0.05
    nothing_share: float = 0.9
    nothing_accuracy: float = 0.02
    too_high_factor: float = 1.2
    noisy_share: float = 0.3
    imbalance_share: float = 0.7
    strong_alpha: float = 1e-2
    bad_start: float = 100.0
    dead_share: float = 0.5
    dead_severe: float = 0.9
    dead_loss_share: float = 0.5
    target_range: tuple[float, float] = (0.1, 10.0)
    target_offset: float = 3.0
    target_mean: float = 10.0
    rate_margin: float = 1.5
    lr_find_steps: int = 100


# -- what a run recorded ---------------------------------------------------------------


@dataclass
class _Run:
    loss: np.ndarray
    val_loss: np.ndarray | None
    val_score: np.ndarray | None
    lr: np.ndarray | None
    grad_norm: np.ndarray | None
    grad_max: np.ndarray | None
    layers: dict[str, np.ndarray]
    dead: dict[str, np.ndarray]
    events: list[dict]
    n_params: int | None
    model: object | None = None
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
    def first_lr(self) -> float | None:
        if self.lr is None:
            return None
        finite = self.lr[np.isfinite(self.lr)]
        return float(finite[0]) if finite.size else None

    @property
    def divergences(self) -> list[dict]:
        return [event for event in self.events if event.get("event") == "divergence"]

    @property
    def depth(self) -> int | None:
        """The number of Dense layers: from the per-layer norms, else the model's
        network; None when neither tells."""
        if self.layers:
            return len(self.layers)
        network = getattr(self.model, "_network", None)
        if network is None:
            return None
        from steepest.nn import Dense

        return sum(isinstance(layer, Dense) for layer in network.layers)


def _array(values) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=float).ravel()
    return array if array.size and np.isfinite(array).any() else None


def _layer_order(key: str) -> tuple[int, str]:
    index, _, name = key.partition(".")
    return (int(index), name) if index.isdigit() else (10**9, key)


def _is_estimator(value) -> bool:
    # a steepest estimator: scikit-learn's get_params and a trainer or history of its own
    return hasattr(value, "get_params") and (hasattr(value, "_trainer")
                                             or hasattr(value, "history_")
                                             or hasattr(value, "_network"))


def _read(history, n_params, events) -> _Run:
    """A History, a dict of series (``history_``) or a fitted estimator, as a :class:`_Run`."""
    from steepest.train import History

    scaled, model = False, None
    if _is_estimator(history) or type(history).__module__ == "steepest.estimators":
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
        if not series:              # fit stopped in its first epoch: nothing recorded yet
            series = {"loss": []}
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

    def prefixed(prefix: str) -> dict[str, np.ndarray]:
        found = {str(key).removeprefix(prefix): np.asarray(values, dtype=float).ravel()
                 for key, values in series.items() if str(key).startswith(prefix)}
        return {key: found[key] for key in sorted(found, key=_layer_order)}

    return _Run(loss=np.asarray(series["loss"], dtype=float).ravel(),
                val_loss=_array(series.get("val_loss")),
                val_score=_array(series.get("val_score")), lr=_array(series.get("lr")),
                grad_norm=_array(series.get("grad_norm")),
                grad_max=_array(series.get("grad_norm_max")), layers=prefixed("grad_norm/"),
                dead=prefixed("dead_units/"), events=events, n_params=n_params, model=model,
                scaled=scaled)


# -- what else is known: the model's settings, the data, the trivial model ----------------


def _scales_target(model) -> bool:
    """Whether ``model``'s ``scale`` option standardises the target too: steepest's
    regressors do (``y_mean_``, ``y_scale_``, undone at predict)."""
    from sklearn.base import is_regressor

    return model is not None and is_regressor(model) and "scale" in model.get_params()


class _Context:
    """What the rules may know beyond the history: the estimator's parameters, the
    training data, the loss of the trivial model, and (run at most once, when a rule
    asks for a rate and the model and data are there) a quick LR range test."""

    def __init__(self, run: _Run, X, y, trivial_loss, find_lr: bool, t: Thresholds):
        self.run, self.t = run, t
        model = run.model
        self.params = dict(model.get_params(deep=False)) if model is not None else {}
        self.X, self.y = X, y
        self.classifier = model is not None and hasattr(model, "classes_")
        self.n_classes = len(model.classes_) if self.classifier else None
        self.majority = None
        self.trivial = trivial_loss
        if y is not None:
            y = np.asarray(y)
            if self.classifier or (model is None and y.ndim == 1 and y.dtype.kind in "iub"):
                self.classifier = True
                _, counts = np.unique(y, return_counts=True)
                shares = counts / counts.sum()
                self.n_classes = self.n_classes or counts.size
                self.majority = float(shares.max())
                if trivial_loss is None and shares.size >= 2:
                    self.trivial = float(-np.sum(shares * np.log(shares)))
            elif trivial_loss is None and y.dtype.kind in "iuf" and y.size:
                # in the units of y, or of its std when the model standardised it
                self.trivial = 1.0 if self.target_scaled else \
                    float(np.mean(np.var(y.astype(float), axis=0)))
        self._find_lr = find_lr and model is not None and X is not None and y is not None
        self._found: dict[tuple, float | None] = {}

    @property
    def target_scaled(self) -> bool:
        """Whether the model standardised y itself (then the loss is in units of y's std):
        a regressor fitted with ``scale=True``."""
        return self.run.scaled and _scales_target(self.run.model)

    @property
    def optimizer_object(self):
        chosen = self.params.get("optimizer")
        return None if chosen is None or isinstance(chosen, str) else chosen

    @property
    def optimizer_name(self) -> str | None:
        chosen = self.params.get("optimizer")
        if chosen is None:
            return None
        return chosen.lower() if isinstance(chosen, str) else type(chosen).__name__.lower()

    def rate(self) -> float | None:
        """The rate the user set (the optimizer object's own, when one was given)."""
        chosen = self.optimizer_object
        value = getattr(chosen, "lr", None) if chosen is not None else self.params.get("lr")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
        return self.run.first_lr

    def found(self, **changes) -> float | None:
        """The suggestion of a quick LR range test of the model (with ``changes``) on the
        training data, or None when it cannot run (no model or data, L-BFGS, ...)."""
        if not self._find_lr or str(self.params.get("optimizer")).lower() in ("lbfgs",
                                                                              "newton"):
            return None
        key = tuple(sorted((name, repr(value)) for name, value in changes.items()))
        if key not in self._found:
            from sklearn.base import clone

            model = clone(self.run.model).set_params(**changes) if changes else \
                self.run.model
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = lr_find(model, self.X, self.y, num_steps=self.t.lr_find_steps,
                                     random_state=0)
            except (ParameterError, ValueError, FloatingPointError):
                self._found[key] = None
            else:
                self._found[key] = float(result.suggestion) if result.rule != \
                    RULE_NO_DESCENT else None
        return self._found[key]

    def failed_rates(self) -> list[float]:
        return [float(e["lr"]) for e in self.run.divergences if "lr" in e]

    def set_rate(self, value: float, **other) -> dict[str, object]:
        """The suggestion that sets the rate to ``value`` where it takes effect: ``lr``,
        or a copy of the optimizer object with that rate."""
        chosen = self.optimizer_object
        if chosen is not None and hasattr(chosen, "_hyperparameters"):
            settings = {k: getattr(chosen, k) for k in chosen._hyperparameters}
            settings["lr"] = _round(value)
            return {"optimizer": type(chosen)(**settings), **other}
        return {**other, "lr": _round(value)}

    def rate_note(self) -> str:
        chosen = self.optimizer_object
        if chosen is None:
            return ""
        return (f" (the rate is the one of the optimizer object passed, {chosen!r}: its own "
                "rate wins over the model's lr, so change it there)")


_ADAPTIVE = ("adam", "adamw", "nadam", "radam", "adamax", "rmsprop", "adagrad", "adadelta")
"""Optimizers whose steps adapt to the gradient's scale: advice does not propose Adam."""


def _round(value: float) -> float:
    """A rate in two significant digits, as the advice writes it."""
    return float(f"{value:.2g}")


def _lower_rate(ctx: _Context, factor: float = 10.0, **changes) -> tuple[float | None, str]:
    """A rate below the one in use and below every rate that diverged: the LR range
    test's when it is clearly lower, else the current one over ``factor``."""
    t, current = ctx.t, ctx.rate()
    failed = ctx.failed_rates() + ([current] if current else [])
    ceiling = min(failed) / t.rate_margin if failed else math.inf
    found = ctx.found(**changes)
    if found is not None and found < ceiling:
        return found, "an LR range test on the training data suggests it"
    if current:
        return min(current / factor, ceiling), ""
    return None, ""


def _higher_rate(ctx: _Context, factor: float = 10.0) -> tuple[float | None, str]:
    """A rate above the one in use, below any that diverged (the LR range test's when it
    is clearly higher)."""
    t, current = ctx.t, ctx.rate()
    failed = ctx.failed_rates()
    ceiling = min(failed) / t.rate_margin if failed else math.inf
    found = ctx.found()
    if found is not None and current and current * t.rate_margin <= found < ceiling:
        return found, "an LR range test on the training data suggests it"
    if found is not None and current and found < current * t.rate_margin:
        return None, ""          # the range test finds no better rate above this one
    if current:
        proposal = current * factor
        if proposal >= ceiling:
            proposal = min(failed) / 3
        return (proposal, "") if proposal >= current * t.rate_margin else (None, "")
    return None, ""


def _rate_advice(verb: str, value: float | None, why: str, ctx: _Context) -> str:
    if value is None:
        return f"{verb} the learning rate"
    text = f"{verb} the learning rate to {_lr(value)}"
    if why:
        text += f" ({why})"
    return text + ctx.rate_note()


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


def _theta_finite(run: _Run) -> bool:
    network = getattr(run.model, "_network", None)
    theta = getattr(network, "theta", None)
    return theta is None or bool(np.isfinite(theta).all())


def _predictions_finite(run: _Run, ctx: _Context) -> bool:
    """False when the fitted model predicts NaN or inf on the training rows (it blew up in
    a step no epoch recorded); True when that cannot be told."""
    if run.model is None or ctx.X is None or not hasattr(run.model, "predict"):
        return True
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            predicted = np.asarray(run.model.predict(ctx.X))
    except Exception:  # noqa: BLE001 -- a model that cannot predict is judged by the rest
        return True
    return predicted.dtype.kind not in "fc" or bool(np.isfinite(predicted).all())


def _rule_diverged(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    events = run.divergences
    bad = np.flatnonzero(~np.isfinite(run.loss))
    broken = not _theta_finite(run) or not _predictions_finite(run, ctx)
    if not events and not bad.size and not broken:
        return []
    title = "The training diverged"
    if events:
        first, last = events[0], events[-1]
        evidence = (f"the divergence guard rolled the model back {_times(len(events))}: at "
                    f"epoch {first['epoch']} with lr={_lr(first['lr'])} "
                    f"({first.get('reason', 'the loss blew up')})")
        if len(events) > 1:
            evidence += ", then with " + ", ".join(f"lr={_lr(e['lr'])}" for e in events[1:])
        evidence += f", and lowered the rate to lr={_lr(last['new_lr'])}"
        span = (int(events[0]["epoch"]), int(last["epoch"]))
    elif bad.size:
        first = int(bad[0])
        evidence = (f"the training loss became {run.loss[first]} at epoch {first + 1}"
                    + (f" (it was {_g(run.loss[first - 1])} the epoch before)"
                       if first and math.isfinite(run.loss[first - 1]) else ""))
        span = (first + 1, first + 1)
    else:
        evidence = (f"the model's parameters or its predictions on the training rows are not "
                    f"finite after {run.n} recorded epoch{'s' * (run.n != 1)}: the fit blew "
                    "up")
        span = None
    # a rate below every one that diverged and unlike the one the guard went on with
    # (starting there again would repeat the run)
    used = [float(e["new_lr"]) for e in events if "new_lr" in e]
    rate, why = _lower_rate(ctx)
    if rate is not None and used and any(abs(math.log(rate / u)) < math.log(t.rate_margin)
                                         for u in used):
        rate, why = min(used) / 3, ""
    advice = _rate_advice("lower", rate, why, ctx)
    tried = sorted({float(e["lr"]) for e in events})
    if tried:
        advice += f" ({' and '.join(f'lr={_lr(r)}' for r in tried)} already diverged)"
    advice += ("; also scale the inputs if they are not, or clip the gradients (a maximum "
               "norm of 1)")
    suggest = ctx.set_rate(rate) if rate is not None else {}
    return [Finding("diverged", "problem", title, evidence, advice, span, suggest)]


def _tail(values: np.ndarray, window: int) -> np.ndarray:
    """The last ``window + 1`` finite values (``window`` changes)."""
    finite = values[np.isfinite(values)]
    return finite[-(window + 1):]


def _lower_advice(ctx: _Context, factor: float, extra: str) -> tuple[str, dict]:
    rate, why = _lower_rate(ctx, factor)
    return (_rate_advice("lower", rate, why, ctx) + extra,
            ctx.set_rate(rate) if rate is not None else {})


def _rule_loss_too_high(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    if ctx.trivial is None or not ctx.trivial > 0 or run.n < t.min_epochs:
        return []
    tail = _tail(run.loss, t.window)
    level = float(np.median(tail))
    ups = int(np.count_nonzero(np.diff(tail) > 0))
    # far above: the whole window stays above the trivial model's loss (a loss that swings
    # down through that level and back reaches good models and overshoots: oscillating)
    if level < t.too_high_factor * ctx.trivial or ups < t.noisy_share * (tail.size - 1) \
            or tail.min() < ctx.trivial:
        return []
    low, high = _pair(float(tail.min()), float(tail.max()))
    evidence = (f"the training loss stayed between {low} and {high} over the last "
                f"{tail.size} epochs (median {_g(level)}), {_g(level / ctx.trivial)} times "
                f"the {_g(ctx.trivial)} of a model that always predicts "
                + ("the class shares" if ctx.classifier else "the mean of y")
                + ": each step jumps past the minimum")
    advice, suggest = _lower_advice(ctx, 10.0, "")
    return [Finding("loss_too_high", "problem", "The loss is far above what the data allow",
                    evidence, advice, (run.n - tail.size + 1, run.n), suggest)]


def _rule_lr_too_high(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    loss = run.loss[np.isfinite(run.loss)]
    if loss.size < t.min_epochs:
        return []
    tail = _tail(run.loss, t.window)
    changes = np.diff(tail)
    ups = int(np.count_nonzero(changes > 0))
    fell = float(loss[0] - loss.min())
    title = "The learning rate is too high"
    extra = ", or use a decaying schedule (cosine)"
    def swinging(rise: float) -> bool:
        # a rise that is one of several alternating swings at least half its size (heavy
        # momentum) is no climb: the oscillating rule names it
        return _swings(_tail(run.loss, _swing_view(run, t)), t.oscillation_amplitude,
                       max(t.significant * fell, rise / 2)) >= t.oscillation_swings

    if (ups >= t.rising_share * changes.size and tail[-1] >= t.rising_factor * tail[0]
            and tail[-1] - tail[0] >= t.significant * fell
            and not swinging(float(tail[-1] - tail[0]))):
        a, b = _pair(tail[0], tail[-1])
        evidence = (f"the training loss rose in {ups} of the last {changes.size} epochs, "
                    f"from {a} to {b}")
        advice, suggest = _lower_advice(ctx, 10.0, extra)
        return [Finding("lr_too_high", "problem", title, evidence, advice,
                        (run.n - changes.size, run.n), suggest)]
    best = int(np.nanargmin(run.loss))
    if (run.loss[-1] >= t.above_best * run.loss[best]
            and run.loss[-1] - run.loss[best] >= t.significant * fell
            and not swinging(float(run.loss[-1] - run.loss[best]))):
        a, b = _pair(run.loss[best], run.loss[-1])
        evidence = (f"the training loss ended at {b}, {run.loss[-1] / run.loss[best]:.2g} "
                    f"times its best of {a} at epoch {best + 1}")
        advice, suggest = _lower_advice(ctx, 10.0, extra)
        return [Finding("lr_too_high", "problem", title, evidence, advice,
                        (best + 1, run.n), suggest)]
    return []


def _swings(values: np.ndarray, share: float, least: float) -> int:
    """The number of alternating legs of ``values`` (falls and rises, counted as a zigzag
    filter counts them): a leg ends where the values turn back by ``share`` of their size
    and by ``least`` or more; smaller counter-moves are part of the leg they interrupt
    (a climb with small dips is one leg)."""
    def enough(level: float) -> float:
        return max(share * abs(level), least)

    low = high = float(values[0])
    direction, extreme, count = 0, float(values[0]), 0
    for value in map(float, values[1:]):
        if direction == 0:                 # no leg yet: the first move big enough starts one
            low, high = min(low, value), max(high, value)
            if value - low >= enough(low):
                direction, extreme, count = 1, value, 1
            elif high - value >= enough(high):
                direction, extreme, count = -1, value, 1
        elif (value - extreme) * direction > 0:
            extreme = value                # the leg goes on
        elif abs(value - extreme) >= enough(extreme):
            direction, extreme, count = -direction, value, count + 1
    return count


def _swing_view(run: _Run, t: Thresholds) -> int:
    """How many recent epochs the slow-swing test reads: ``2 * window``, or the last half
    of a longer run (heavy momentum swings with a period of tens of epochs)."""
    return max(2 * t.window, run.n // 2)


def _rule_oscillating(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
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
    fell = float(loss[0] - loss.min())
    low, high = _pair(float(tail.min()), float(tail.max()))
    if share >= t.oscillation_share and amplitude >= t.oscillation_amplitude and \
            swing >= t.significant * fell:
        evidence = (f"the training loss changed direction {turns} times in the last "
                    f"{changes.size + 1} epochs, by {_share(amplitude)} of its value at a "
                    f"time (between {low} and {high})")
    else:
        # a slower swing (heavy momentum): the loss rises and falls for several epochs at
        # a time, each stretch moving it by oscillation_amplitude of its value or more
        long_tail = _tail(run.loss, _swing_view(run, t))
        swings = _swings(long_tail, t.oscillation_amplitude, t.significant * fell)
        if swings < t.oscillation_swings:
            return []
        low, high = _pair(float(long_tail.min()), float(long_tail.max()))
        evidence = (f"the training loss went up and down {swings} times in the last "
                    f"{long_tail.size} epochs, between {low} and {high}, each swing lasting "
                    "several epochs: the steps overshoot (too high a rate, or too much "
                    "momentum)")
        changes = np.diff(long_tail)
    advice, suggest = _lower_advice(ctx, 3.0, "; with mini-batches a larger batch size, or "
                                    "a decaying schedule (cosine), also calms it")
    return [Finding("oscillating", "warning", "The loss is oscillating", evidence, advice,
                    (run.n - changes.size, run.n), suggest)]


def _rule_lr_too_low(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
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
    return [_raise_rate(ctx, "lr_too_low", "warning", "The learning rate is too low", evidence,
                        (1, n))]


def _raise_rate(ctx: _Context, code: str, severity: str, title: str, evidence: str,
                span) -> Finding:
    """A finding whose fix is a larger rate (or, where none can be proposed, more epochs)."""
    rate, why = _higher_rate(ctx)
    failed = ctx.failed_rates()
    if rate is not None:
        advice = _rate_advice("raise", rate, why, ctx)
        if failed:
            advice += f" (it diverged at lr={_lr(min(failed))}, so stay below that)"
        suggest = ctx.set_rate(rate)
    elif ctx.found() is not None:
        advice = (f"the learning rate is already about what an LR range test suggests "
                  f"({_lr(ctx.found())})")
        suggest = {}
    else:
        advice, suggest = "raise the learning rate", {}
    if ctx.optimizer_name not in _ADAPTIVE:
        advice += ", use an adaptive optimizer such as Adam"
    epochs = ctx.params.get("epochs")
    advice += ", or train for more epochs"
    if not suggest and isinstance(epochs, int):
        suggest = {"epochs": 5 * epochs}
        advice += f" ({5 * epochs})"
    return Finding(code, severity, title, evidence, advice, span, suggest)


def _rule_exploding(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    grown = []
    loss = run.loss
    deep = run.depth is not None and run.depth >= t.exploding_depth
    for event in run.divergences if deep else ():
        # a blow-up inside an epoch the guard undid: the trainer kept the norms of that
        # epoch's first and largest updates; in a deep network the growth compounds
        # through the layers (in a shallow one it is the rate: diverged)
        first, largest = event.get("grad_norm_first"), event.get("grad_norm_max")
        if first and largest and math.isfinite(first) and \
                largest >= t.exploding_factor * first:
            epoch = int(event["epoch"])
            evidence = (f"within epoch {epoch} the gradient norm grew from {_g(first)} at its "
                        f"first update to {_g(largest)} ({_g(largest / first)} times) before "
                        f"the loss blew up, in a network of {run.depth} Dense layers; the "
                        "divergence guard undid the epoch")
            # the usual size: the recorded epochs' median (after the guard's rollback), else
            # the undone epoch's first update
            recorded = run.grad_norm[np.isfinite(run.grad_norm)] if run.grad_norm is not \
                None else np.empty(0)
            usual = float(np.median(recorded)) if recorded.size else float(first)
            return [_exploding_finding(ctx, evidence, (epoch, epoch), usual)]
    for name, values in (("the gradient norm", run.grad_norm),
                         ("the largest gradient norm of an epoch's updates", run.grad_max),
                         *((f"layer {key}'s weight gradient", v) for key, v in
                           run.layers.items())):
        if values is None or values.size < 2:
            continue
        start = values[0]
        later = np.where(np.isfinite(values[1:]), values[1:], -np.inf)
        if not (math.isfinite(start) and start > 0 and later.size):
            continue
        peak = int(np.argmax(later)) + 1
        # a gradient that jumps up from a tiny start and then stays, while the loss falls,
        # is recovering (from a dead or saturated start), not exploding: an explosion comes
        # with a loss that does not fall, a divergence, or a growth that goes on
        at_peak = loss[peak] if peak < loss.size else math.nan
        worse = not math.isfinite(at_peak) or not at_peak < loss[0] or bool(run.divergences)
        third = values[max(1, peak // 3)]
        going_on = (peak >= values.size - t.window and math.isfinite(third)
                    and third < t.recovered_share * values[peak])
        if values[peak] >= t.exploding_factor * start and (worse or going_on):
            grown.append((name, start, values[peak], peak, worse))
    if not grown:
        return []
    name, start, peak_value, peak, worse = grown[0]
    evidence = (f"{name} grew from {_g(start)} at epoch 1 to {_g(peak_value)} at epoch "
                f"{peak + 1} ({_g(peak_value / start)} times)"
                + (" while the loss did not fall" if worse else ", and was still growing"))
    if len(grown) > 1:
        evidence += "; so did " + ", ".join(g[0] for g in grown[1:4])
    return [_exploding_finding(ctx, evidence, (1, peak + 1), start)]


def _exploding_finding(ctx: _Context, evidence: str, span, usual: float | None) -> Finding:
    # clipped at the gradient's usual size (before it grew), the spikes are cut and ordinary
    # steps kept (a norm of 1 under gradients of 1e4 would shrink every step 1e4 times)
    clip = _round(usual) if usual is not None and usual > 0 else 1.0
    advice = f"clip the gradients to a maximum norm of {_g(clip)}" + (
        " (about their usual size: the spikes are cut, ordinary steps kept)"
        if usual is not None else "")
    suggest: dict[str, object] = {"clip_norm": clip}
    if ctx.params.get("clip_norm") is not None:
        clip = float(ctx.params["clip_norm"])
        rate, why = _lower_rate(ctx, 10.0)
        advice = (f"the gradients are clipped already (at {_g(clip)}): "
                  + _rate_advice("lower", rate, why, ctx))
        suggest = ctx.set_rate(rate) if rate is not None else {}
    advice += "; scale the inputs; in a deep network, batch normalisation also helps"
    return Finding("exploding_gradients", "problem", "The gradients are exploding", evidence,
                   advice, span, suggest)


def _rule_bad_start(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    loss, grad = run.loss, run.grad_norm
    if run.n < t.min_epochs or not np.isfinite(loss).all() or loss[-1] <= 0:
        return []
    # without the trivial loss a huge start cannot be told from a fast, healthy descent
    if ctx.trivial is None or not ctx.trivial > 0 or loss[0] < t.bad_start * ctx.trivial:
        return []
    against = (f"{_g(loss[0] / ctx.trivial)} times the {_g(ctx.trivial)} of a model that "
               "always predicts " + ("the class shares" if ctx.classifier else "the mean of y"))
    if grad is not None and math.isfinite(grad[0]):
        against += f", with a gradient norm of {_g(grad[0])}"
    evidence = (f"the first epoch's loss was {_g(loss[0])}, {against}; it ended at "
                f"{_g(loss[-1])}: the run started far from any sensible model and spent its "
                "first updates getting back")
    advice = ("start from smaller weights (Glorot or He initialisation, scaled to the layer's "
              "fan-in), or clip the gradients to a maximum norm of 1 for the first epochs")
    suggest = {} if ctx.params.get("clip_norm") is not None else {"clip_norm": 1.0}
    return [Finding("bad_initialization", "warning", "The run started from a bad place",
                    evidence, advice, (1, 1), suggest)]


def _recent_median(values: np.ndarray, window: int) -> float:
    finite = values[np.isfinite(values)][-window:]
    return float(np.median(finite)) if finite.size else math.nan


def _unsaturating(ctx: _Context) -> tuple[str, dict]:
    """The advice against saturating units: ReLU, else batch norm, else Adam."""
    activation = str(ctx.params.get("activation", "")).lower()
    if activation in ("sigmoid", "logistic", "tanh"):
        return ("use a ReLU activation (it starts from He initialisation) instead of "
                f"{activation}, fewer hidden layers, or batch normalisation", {"activation":
                                                                               "relu"})
    if "batch_norm" in ctx.params and not ctx.params["batch_norm"]:
        return "use batch normalisation between the layers, or fewer hidden layers", \
            {"batch_norm": True}
    if ctx.optimizer_name is not None and ctx.optimizer_name not in _ADAPTIVE:
        return "use an adaptive optimizer (Adam), or fewer hidden layers", \
            {"optimizer": "adam", "lr": 1e-3}
    return ("use a ReLU-like activation instead of sigmoid or tanh, fewer hidden layers, or "
            "batch normalisation", {})


def _rule_vanishing(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    advice, suggest = _unsaturating(ctx)
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
                            (max(1, run.n - t.window + 1), run.n), suggest)]
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
                        (1, run.n), suggest)]
    return []


def _rule_dead_units(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    last = {key: float(values[np.isfinite(values)][-1]) for key, values in run.dead.items()
            if np.isfinite(values).any()}
    if not last:
        return []
    worst = max(last, key=last.get)
    if last[worst] < t.dead_share:
        return []
    # a network that fits its training rows well is not held back by its dead units
    if ctx.trivial is not None and ctx.trivial > 0 and math.isfinite(run.loss[-1]) and \
            run.loss[-1] < t.dead_loss_share * ctx.trivial:
        return []
    severity = "problem" if last[worst] >= t.dead_severe else "warning"
    listed = ", ".join(f"layer {key} {_share(value)}" for key, value in last.items())
    evidence = (f"{_share(last[worst])} of the units of ReLU layer {worst} output 0 on every "
                f"probe row at the end of training (dead: they pass no gradient and never "
                f"recover); by layer: {listed}")
    activation = str(ctx.params.get("activation", "relu")).lower()
    if activation == "relu" and "activation" in ctx.params:
        advice = ("use a leaky ReLU, whose units keep a small slope below 0 and cannot die; "
                  "a lower learning rate also kills fewer units")
        suggest: dict[str, object] = {"activation": "leaky_relu"}
    else:
        rate, why = _lower_rate(ctx, 10.0)
        advice = (_rate_advice("lower", rate, why, ctx)
                  + " (large steps push units below 0 for good), or use a leaky ReLU")
        suggest = ctx.set_rate(rate) if rate is not None else {}
    return [Finding("dead_units", severity, "Most ReLU units are dead", evidence, advice,
                    (run.n, run.n) if run.n else None, suggest)]


def _rule_class_imbalance(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    model = run.model
    if not ctx.classifier or model is None or ctx.X is None or ctx.y is None or \
            not _theta_finite(run) or not run.n:
        return []
    try:
        predicted = np.asarray(model.predict(ctx.X))
    except Exception:  # noqa: BLE001 -- a model that cannot predict is judged elsewhere
        return []
    labels, counts = np.unique(np.asarray(ctx.y), return_counts=True)
    if labels.size < 2 or np.unique(predicted).size != 1:
        return []
    only_class = predicted[0]
    share = float(counts[labels == only_class].sum() / counts.sum())
    if share < t.imbalance_share:
        return []
    evidence = (f"the model predicts class {_label(only_class)} for all {predicted.size:,} "
                f"training rows; that class is {_share(share)} of them, so an accuracy of "
                f"{share:.2g} says nothing: the other {labels.size - 1} class"
                f"{'es are' if labels.size > 2 else ' is'} never predicted")
    advice = ("weight the classes by the inverse of their frequency (class_weight "
              "'balanced'), or a weaker penalty")
    suggest: dict[str, object] = {}
    # a strong penalty shrinks every weight towards 0, leaving the bias, which predicts the
    # majority class: it is the first suspect (weighting the classes trades accuracy away)
    if float(ctx.params.get("alpha") or 0.0) >= t.strong_alpha:
        alpha = float(ctx.params["alpha"])
        advice = (f"a weaker penalty (alpha {_g(alpha / 100)} instead of {_g(alpha)}), or "
                  "weight the classes by the inverse of their frequency")
        suggest = {"alpha": _round(alpha / 100)}
    elif "class_weight" in ctx.params and ctx.params["class_weight"] is None:
        suggest = {"class_weight": "balanced"}
    return [Finding("class_imbalance", "problem", "The model predicts one class only",
                    evidence, advice, None, suggest)]


def _label(value) -> str:
    return repr(value.item() if hasattr(value, "item") else value)


def _rule_learned_nothing(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    if run.n < 1 or not math.isfinite(run.loss[-1]):
        return []
    reasons = []
    score = run.val_score
    if score is not None and math.isfinite(score[-1]):
        if ctx.classifier and ctx.majority is not None and \
                score[-1] <= ctx.majority + t.nothing_accuracy:
            reasons.append(f"the validation accuracy is {score[-1]:.2g}, the share of the "
                           f"largest class is {ctx.majority:.2g}")
        elif not ctx.classifier and run.model is not None and score[-1] <= 0.0:
            reasons.append(f"the validation R² is {score[-1]:.2g}: no better than predicting "
                           "the mean")
    if ctx.trivial is not None and ctx.trivial > 0 and \
            run.loss[-1] >= t.nothing_share * ctx.trivial:
        reasons.append(f"the training loss ended at {_g(run.loss[-1])}, "
                       f"{_share(run.loss[-1] / ctx.trivial)} of the {_g(ctx.trivial)} of a "
                       "model that always predicts "
                       + ("the class shares" if ctx.classifier else "the mean of y"))
    if not reasons:
        return []
    evidence = "; ".join(reasons) + f" (after {run.n} epoch{'s' * (run.n != 1)})"
    finding = _raise_rate(ctx, "learned_nothing", "problem", "The model learned nothing",
                          evidence, (1, run.n))
    return [finding]


def _rule_plateau(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
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
    steady = np.isfinite(stretch_grad).all() and biggest > 0 and \
        stretch_grad[-1] >= t.plateau_shrink * stretch_grad[0]
    # or stuck at the trivial model's level (the saddle near "predict the class shares"
    # or the mean), whatever the gradient's size, as long as it is not shrinking
    recent = grad[-t.plateau_epochs:]
    trivial = (ctx.trivial is not None and ctx.trivial > 0
               and level >= t.nothing_share * ctx.trivial and np.isfinite(recent).all()
               and recent[-1] >= t.plateau_shrink * recent[0])
    after_fall = (steady and loss[begin] <= (1 - t.plateau_fell) * loss[0]
                  and level > t.plateau_floor * loss[0]
                  and np.median(stretch_grad) <= t.plateau_gradient * biggest)
    if not (after_fall or trivial):
        return []
    a, b = _pair(loss[0], level)
    evidence = (f"after falling from {a} to {b}, the training loss stayed within "
                f"{_share(t.plateau_change)} of {b} for the last {length} epochs, with a "
                f"gradient norm of about {_g(float(np.median(stretch_grad)))} "
                f"({_g(float(np.median(stretch_grad)) / biggest)} times its largest) that "
                "is not shrinking, as at a saddle point or on a plateau rather than at a "
                "minimum")
    if not after_fall:
        evidence += (", at the level of a model that always predicts "
                     + ("the class shares" if ctx.classifier else "the mean of y")
                     + f" ({_g(ctx.trivial)})")
    name = ctx.optimizer_name
    if name in _ADAPTIVE:
        rate, why = _higher_rate(ctx, 3.0)
        advice = (_rate_advice("raise", rate, why, ctx)
                  + ", or a warm-restart schedule, to push it out")
        suggest = ctx.set_rate(rate) if rate is not None else {}
    else:
        found = ctx.found(optimizer="adam")
        rate = found if found is not None else 1e-3
        advice = (f"use Adam (learning rate {_lr(rate)}) or momentum 0.9, which cross flat "
                  "regions faster; a warm-restart schedule can also push it out")
        suggest = {"optimizer": "adam", "lr": _round(rate)} if "optimizer" in ctx.params \
            else {}
    advice += ". If this is as low as the model can go, stop earlier (early stopping)"
    return [Finding("plateau", "warning", "The loss is stuck on a plateau", evidence, advice,
                    (begin + 1, n), suggest)]


def _rule_overfitting(run: _Run, ctx: _Context, t: Thresholds,
                      n_samples: int | None) -> list[Finding]:
    val, loss = run.val_loss, run.loss
    if val is None or val.size != loss.size:
        return []
    if np.count_nonzero(np.isfinite(val)) < t.min_epochs or not math.isfinite(val[-1]):
        return []
    best = int(np.nanargmin(val))
    n = loss.size
    fell = float(val[np.isfinite(val)][0] - val[best])
    stale = n - 1 - best >= t.overfit_epochs and math.isfinite(loss[best]) and \
        loss[-1] < loss[best]
    rose = (val[-1] >= (1 + t.overfit_rise) * val[best]
            and val[-1] - val[best] >= t.significant * fell
            and val[-1] >= (1 + t.overfit_rise) * loss[-1])
    # or memorised: the validation loss stopped improving long ago and is many times the
    # training loss, which went on falling towards 0
    gap = loss[-1] > 0 and val[-1] >= t.overfit_gap * loss[-1] and \
        val[-1] - loss[-1] >= t.overfit_rise * val[best]
    # a validation loss that rises while the validation score holds is over-confidence (the
    # predicted probabilities sharpen), not the overfitting a user must act on
    score = run.val_score
    if rose and score is not None and score.size == n and math.isfinite(score[best]) and \
            math.isfinite(score[-1]) and score[-1] > score[best] - t.overfit_score_drop:
        rose = False
    if not (stale and (rose or gap)):
        return []
    v0, v1 = _pair(val[best], val[-1])
    l0, l1 = _pair(loss[best], loss[-1])
    evidence = (f"the validation loss was lowest at epoch {best + 1} ({v0}) and rose to {v1} "
                f"by epoch {n}, while the training loss kept falling, from {l0} to {l1}; "
                f"the gap is now {_g(val[-1] - loss[-1])}")
    if run.n_params and n_samples:
        trained = n_samples
        fraction = ctx.params.get("validation_fraction")
        if ctx.params.get("early_stopping") and fraction:
            stratify = ctx.y if ctx.classifier and ctx.y is not None else None
            trained = split_indices(n_samples, fraction, stratify=stratify,
                                    random_state=0)[0].size
        evidence += (f"; the model has {run.n_params:,} parameters for {trained:,} "
                     "training samples")
        if trained != n_samples:
            evidence += (f" (of the {n_samples:,} given, the rest held out for early "
                         "stopping)")
    alpha = ctx.params.get("alpha")
    stronger = 1e-2 if not alpha else _round(10 * float(alpha))
    regularise = (f"regularise: a larger penalty (alpha {_g(stronger)}"
                  + (f" instead of {_g(float(alpha))}" if alpha else "") + ")")
    if "dropout" in ctx.params and not ctx.params["dropout"]:
        regularise += ", dropout 0.2 in the hidden layers"
    regularise += ", a smaller network, or more training data"
    # when the validation score went on improving after the best validation loss, stopping
    # there would lose it: regularise instead
    improving = score is not None and score.size == n and math.isfinite(score[best]) and \
        math.isfinite(score[-1]) and score[-1] > score[best]
    if improving and "alpha" in ctx.params and not ctx.params.get("early_stopping"):
        advice = (f"{regularise[0].upper()}{regularise[1:]} (stopping early at the best "
                  f"validation loss, epoch {best + 1}, would lose the validation score gained "
                  f"since: {score[best]:.2g} then, {score[-1]:.2g} now)")
        suggest: dict[str, object] = {"alpha": stronger}
    elif "early_stopping" in ctx.params and not ctx.params["early_stopping"]:
        advice = (f"stop early, keeping the weights of the best epoch (here epoch "
                  f"{best + 1}); or " + regularise)
        suggest = {"early_stopping": True}
    elif ctx.params.get("early_stopping"):
        advice = ("early stopping is on, and kept the best epoch's weights; to do better, "
                  + regularise)
        suggest = {"alpha": stronger}
    else:
        advice = (f"stop early, keeping the weights of the best epoch (here epoch "
                  f"{best + 1}); or " + regularise)
        suggest = {}
    return [Finding("overfitting", "warning", "The model is overfitting", evidence, advice,
                    (best + 1, n), suggest)]


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


def _scale_advice(ctx: _Context, what: str, how: str) -> tuple[str, dict]:
    """Scaling, and the rate to use after it (the old rate was tuned to the old scale)."""
    found = ctx.found(scale=True) if "scale" in ctx.params else None
    suggest: dict[str, object] = {"scale": True} if "scale" in ctx.params else {}
    advice = f"standardise {what} ({how})"
    if found is not None:
        suggest.update(ctx.set_rate(found))
        advice += (f", then use a learning rate of {_lr(found)} (an LR range test on the "
                   "scaled data suggests it: the old rate was tuned to the old scale)")
    else:
        advice += ", then tune the learning rate again: the old one suited the old scale"
    return advice, suggest


_MEDIAN_ROWS = 4096
"""The most rows (evenly spaced) on which the unscaled-inputs rule takes column medians."""


def _rule_unscaled(X, names: list[str], ctx: _Context, t: Thresholds) -> list[Finding]:
    with np.errstate(invalid="ignore"):
        std = np.nanstd(X, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
        mean = np.nanmean(X, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
        size = np.nanmax(np.abs(X), axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
    varying = np.isfinite(std) & (std > t.constant_std * size)
    if X.shape[0]:
        # a column equal to its median in nearly every row (a border pixel of an image, a
        # rare indicator) sets no scale: the descent barely moves along it, and its small
        # std says nothing about units (on up to _MEDIAN_ROWS evenly spaced rows)
        rows = X[np.linspace(0, X.shape[0] - 1, min(X.shape[0], _MEDIAN_ROWS)).astype(np.intp)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            off = np.mean(rows != np.nanmedian(rows, axis=0), axis=0)
        varying &= off >= t.varying_share
    varying = np.flatnonzero(varying)
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
        # the curvature along a column (with an intercept) grows with its mean square,
        # mean² + std²: uncentred columns can be far apart in it while their stds are not
        rms = np.sqrt(mean[varying] ** 2 + std[varying] ** 2)
        big, small = varying[int(np.argmax(rms))], varying[int(np.argmin(rms))]
        ratio = float(rms.max() / rms.min())
        if not outside and ratio >= t.scale_ratio:
            reasons.append(f"{column(big)} has a root mean square of "
                           f"{math.hypot(mean[big], std[big]):.1e}, {column(small)} "
                           f"{math.hypot(mean[small], std[small]):.1e} ({_g(ratio)} times "
                           "apart, with the means)")
    offset = [i for i in varying if abs(mean[i]) >= t.scale_ratio * std[i]]
    if offset:
        reasons.append("; ".join(f"{column(i)} has mean {mean[i]:.1e} and std {std[i]:.1e}"
                                 for i in offset[:3]) + " (far from centred)")
    if not reasons:
        return []
    evidence = "; ".join(reasons) + (". Gradient descent has to use a rate small enough for "
                                     "the widest column, and crawls along the others")
    advice, suggest = _scale_advice(ctx, "the inputs", "the model's own scaling keeps it for "
                                    "predict; or a StandardScaler in a Pipeline")
    return [Finding("unscaled_inputs", "warning", "The inputs are not scaled", evidence,
                    advice, None, suggest)]


def _rule_unscaled_target(run: _Run, ctx: _Context, t: Thresholds) -> list[Finding]:
    y = ctx.y
    if y is None or ctx.classifier or ctx.target_scaled:
        return []
    y = np.asarray(y)
    if y.dtype.kind not in "iuf" or not y.size:
        return []
    y = y.reshape(y.shape[0], -1).astype(float)
    std, mean = y.std(axis=0), y.mean(axis=0)
    low, high = t.target_range
    bad = [j for j in range(y.shape[1]) if std[j] > 0 and
           (not low <= std[j] <= high or (abs(mean[j]) >= t.target_offset * std[j]
                                           and abs(mean[j]) >= t.target_mean))]
    if not bad:
        return []
    j = bad[0]
    where = "" if y.shape[1] == 1 else f" (output {j})"
    evidence = (f"the target{where} has mean {_g(mean[j])} and std {_g(std[j])}: the loss "
                f"starts near {_g(std[j] ** 2 + mean[j] ** 2)} and its gradient is as large, "
                "so a rate that suits the inputs overshoots or crawls on the target")
    how = ("subtract its mean and divide by its std, e.g. scikit-learn's "
           "TransformedTargetRegressor, and undo it at predict")
    if _scales_target(run.model):   # its scale option standardises y too
        advice, suggest = _scale_advice(ctx, "the target", how)
    else:
        advice, suggest = f"standardise the target ({how})", {}
        found, current = ctx.found(), ctx.rate()
        rate, why = _lower_rate(ctx) if found is not None and current is not None and \
            found < current else _higher_rate(ctx)
        if rate is not None:
            suggest = ctx.set_rate(rate)
            advice += "; or, keeping it, " + _rate_advice("set", rate, why, ctx)
    return [Finding("unscaled_target", "warning", "The target is not scaled", evidence, advice,
                    None, suggest)]


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

_EXPLAINS_NOTHING = ("vanishing_gradients", "dead_units", "class_imbalance", "overfitting",
                     "bad_initialization", "unscaled_inputs", "unscaled_target", "lr_too_low",
                     "plateau", "oscillating")
"""Causes that explain a model that learned nothing: when one is found, it is the
problem reported (promoted from a warning), and ``learned_nothing`` is not repeated."""


def diagnose(history, *, X=None, y=None, n_params: int | None = None,
             events: Sequence[Mapping] | None = None, feature_names: Sequence[str] | None = None,
             thresholds: Thresholds | None = None, trivial_loss: float | None = None,
             find_lr: bool = True) -> list[Finding]:
    """Say what went wrong in a training run, from what the fit loop recorded.

    Parameters
    ----------
    history : History, dict of lists, or fitted estimator
        A :class:`~steepest.train.History` (``trainer.history``: with events and
        per-layer gradient norms), a model's ``history_`` (a dict of per-epoch
        lists; per-layer norms as ``"grad_norm/0.W"`` series, dead ReLU shares as
        ``"dead_units/1"``, when present), or a fitted steepest estimator (its
        trainer's history, which has all of it, even after ``fit`` raised; its
        parameters, which the advice builds on; and whether it scales its inputs
        itself, ``scale=True``, in which case ``X`` is not judged).
    X : array-like of shape (n_samples, n_features), optional
        The training inputs as given to ``fit`` (a DataFrame names its columns):
        checked for badly scaled columns.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        The training targets as given to ``fit``: the loss of the trivial model
        (the class shares' cross-entropy :math:`-\\sum_k p_k \\log p_k`, or the
        variance of y for the mean squared error), the majority class, and the
        target's scale. With an estimator and ``X``, also a quick LR range test
        where a rule needs a rate (see ``find_lr``). With a plain history (no
        estimator to say which), integer or boolean y is read as class labels.
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
    trivial_loss : float, optional
        The loss of the trivial model, when it is not the one ``y`` gives (another
        loss, a weighted one).
    find_lr : bool, default=True
        Given an estimator, ``X`` and ``y``, run :func:`steepest.lr_find.lr_find`
        (``thresholds.lr_find_steps`` updates, at most once per setting) when a
        rule proposes a rate: the proposal is then the range test's suggestion,
        clipped below any rate that diverged. On the scikit-learn data sets this
        costs well under a second; pass False to skip it.

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
    columns = None
    if X is not None:
        columns = _columns(X, feature_names)
        n_samples = columns[0].shape[0]
    if y is not None:
        y = np.asarray(y)
        if n_samples is not None and y.shape[0] != n_samples:
            raise ParameterError(
                f"The 'y' parameter of diagnose has {y.shape[0]} rows but X has {n_samples}; "
                "pass the training targets as given to fit."
            )
    ctx = _Context(run, None if columns is None else columns[0], y, trivial_loss, find_lr, t)
    problems = _rule_diverged(run, ctx, t)
    if run.n and not problems:
        problems += _rule_loss_too_high(run, ctx, t)
        if not problems:
            problems += _rule_lr_too_high(run, ctx, t)
    if run.n:
        # an explosion of the gradients explains a divergence that follows it
        exploding = _rule_exploding(run, ctx, t)
        diverged = bool(problems) and problems[0].code == "diverged"
        problems = exploding + problems if diverged else problems + exploding
    findings = list(problems)
    if run.n and np.isfinite(run.loss).all():
        findings += _rule_vanishing(run, ctx, t)
        # one class predicted for imbalanced classes is what the user sees: named before
        # the dead units that may come with it
        findings += _rule_class_imbalance(run, ctx, t)
        findings += _rule_dead_units(run, ctx, t)
        # badly scaled data explain a bad start, a slow or stuck descent and a rate that
        # overshoots (it is too high for the widest column): they come first
        if columns is not None and not run.scaled:
            findings += _rule_unscaled(*columns, ctx, t)
        findings += _rule_unscaled_target(run, ctx, t)
        if not problems:
            findings += _rule_oscillating(run, ctx, t)
        findings += _rule_bad_start(run, ctx, t)
        findings += _rule_lr_too_low(run, ctx, t)
        findings += _rule_plateau(run, ctx, t)
        findings += _rule_overfitting(run, ctx, t, n_samples)
    else:
        if columns is not None and not run.scaled:
            findings += _rule_unscaled(*columns, ctx, t)
        findings += _rule_unscaled_target(run, ctx, t)
    scaling = next((f for f in findings if f.code in ("unscaled_inputs", "unscaled_target")
                    and len(f.suggest) > 1), None)
    if problems and problems[0].code in ("diverged", "exploding_gradients") and \
            scaling is not None:
        # unscaled inputs (or target: the gradient grows with it) explain the blow-up, and
        # the range test gave the rate for after scaling: that is the first thing to try,
        # not an ever smaller rate or a clip
        first = problems[0]
        what = "inputs are" if scaling.code == "unscaled_inputs" else "target is"
        findings[findings.index(first)] = Finding(
            first.code, first.severity, first.title, first.evidence,
            f"the {what} not scaled (see below): " + scaling.advice + "; without "
            "scaling, " + first.advice, first.epochs, scaling.suggest)
    unscaled = next((f for f in findings if f.code in ("unscaled_inputs", "unscaled_target")),
                    None)
    if problems and problems[0].code in ("loss_too_high", "lr_too_high") and \
            unscaled is not None:
        # a rate too high for the widest column (or for the target's scale): the scaling is
        # the cause to report, with what the loss did as its evidence
        symptom = problems[0]
        findings.remove(unscaled)
        findings.insert(0, Finding(unscaled.code, "problem", unscaled.title,
                                   unscaled.evidence + "; and " + symptom.evidence,
                                   unscaled.advice, symptom.epochs, unscaled.suggest))
    if not problems and run.n:
        nothing = _rule_learned_nothing(run, ctx, t)
        if nothing:
            cause = next((f for f in findings if f.code in _EXPLAINS_NOTHING), None)
            # a model that fits its training rows (its loss far below the trivial model's)
            # and scores nothing on validation overfits, whatever else was seen
            fits = ctx.trivial is not None and run.loss[-1] < t.nothing_share * ctx.trivial
            overfit = next((f for f in findings if f.code == "overfitting"), None)
            if fits and overfit is not None:
                cause = overfit
            if cause is None:
                findings += nothing
            else:
                findings[findings.index(cause)] = Finding(
                    cause.code, "problem", cause.title,
                    cause.evidence + "; " + nothing[0].evidence, cause.advice, cause.epochs,
                    cause.suggest)
    if not any(f.severity in ("problem", "warning") for f in findings):
        if run.n < t.min_epochs or not np.isfinite(run.loss).all():
            findings.append(Finding(
                "too_short", "info", "Too few epochs to judge",
                f"{run.n} epoch{'s' * (run.n != 1)} recorded; the rules about trends need at "
                f"least {t.min_epochs}",
                f"train for at least {t.min_epochs} epochs ({max(t.min_epochs, 10)}) "
                "and diagnose again", None, {"epochs": max(t.min_epochs, 10)}))
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
