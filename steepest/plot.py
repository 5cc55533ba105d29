"""Figures of a descent: trajectories over a contour plot and loss against step.

Every figure of the library is drawn here, and only here: the surfaces and their paths,
the training curves of the demo, :func:`plot_run_comparison` (what
:func:`steepest.compare.plot_comparison` draws), :func:`plot_lr_find` (also
:func:`steepest.lr_find.plot_lr_find`), :func:`plot_history` (one run's loss, rate
and gradient norm, for ``steepest train`` and the lesson) and
:func:`plot_train_validation` (training against held-out curves, for the examples). The
other modules call these; this one imports none of them, and reads the results it draws
by their attributes.
:func:`surface_grid`, :func:`value_range` and :func:`draw_surface` are the pieces the
explorer draws its own contour image with.

Every figure is a plain :class:`matplotlib.figure.Figure`, made without
``pyplot``: nothing here touches pyplot's global state or the backend you chose,
and matplotlib is imported on the first call, not at ``import steepest``::

    import steepest
    from steepest import functions, plot

    f = functions.rosenbrock
    results = {m: steepest.minimize(f.value_and_grad, f.start, method=m, jac=True)
               for m in ("gd", "adam", "lbfgs")}
    fig = plot.plot_comparison(f, results)
    fig.savefig("rosenbrock.png")

    ax = plot.plot_trajectories(f, results)   # one panel; ax.figure is its figure
    plot.plot_loss_curves(f, results, ax=my_ax)  # or draw into axes of your own

    model = steepest.MLPClassifier((32,), batch_size=32).fit(X, y)
    fig = plot.plot_training_curves({"adam": model.history_})  # against epoch and time

``results`` maps an optimizer's name to a result with a ``path`` attribute: the
visited points, one per row (what :func:`steepest.minimize` returns). An optimizer
keeps its colour, marker and line style in every figure (:func:`optimizer_style`),
and so do batch, stochastic and mini-batch descent (:func:`variant_style`); the
colours come from the Okabe–Ito and Paul Tol palettes, chosen to stay apart for
colour-blind readers, and the markers tell the lines apart in greyscale.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from steepest.errors import ParameterError
from steepest.methods import LINE_SEARCH

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from steepest.functions import TestFunction

__all__ = [
    "draw_surface",
    "optimizer_style",
    "plot_comparison",
    "plot_confusion_matrix",
    "plot_federated_rounds",
    "plot_function_fits",
    "plot_history",
    "plot_image_grid",
    "plot_lr_find",
    "plot_loss_curves",
    "plot_run_comparison",
    "plot_train_validation",
    "plot_training_curves",
    "plot_trajectories",
    "surface_grid",
    "value_range",
    "variant_style",
]


class _HasPath(Protocol):
    path: np.ndarray


Results = Mapping[str, _HasPath]
"""Optimizer name to a result whose ``path`` holds the visited points, shape (n, 2)."""

# One (colour, marker) per method of steepest.minimize (steepest.methods.METHODS), in its
# order: Okabe & Ito's eight colours without yellow, then Paul Tol's muted ones. The
# line-searching methods (steepest.methods.LINE_SEARCH) are dashed.
_STYLES: dict[str, tuple[str, str]] = {
    "gd": ("#000000", "o"),
    "momentum": ("#E69F00", "s"),
    "nesterov": ("#D55E00", "D"),
    "adagrad": ("#56B4E9", "v"),
    "rmsprop": ("#009E73", "^"),
    "adadelta": ("#999933", "<"),
    "adam": ("#0072B2", "P"),
    "adamw": ("#332288", ">"),
    "nadam": ("#CC79A7", "X"),
    "radam": ("#44AA99", "h"),
    "adamax": ("#AA4499", "p"),
    "newton": ("#882255", "*"),
    "lbfgs": ("#117733", "d"),
}
_SPARE = tuple(_STYLES.values())
# Batch, stochastic and mini-batch descent: Paul Tol's high-contrast scheme, which also
# stays apart in greyscale (dark, middle, light), in colours no optimizer has.
_VARIANTS: dict[str, tuple[str, str]] = {
    "batch": ("#004488", "o"),
    "stochastic": ("#BB5566", "^"),
    "mini-batch": ("#DDAA33", "s"),
}

_N_MARKERS = 12
"""About how many markers a path gets, whatever its length."""
_GRID = 240
"""Grid points per axis of the contour plot."""
_ZOOM = 0.5
"""Zoom in when the start, minima and paths fit in this fraction of the bounds' side."""
_LOG_RATIO, _LOG_MIN_STEPS = 20, 200
"""The step axis turns logarithmic past step 10 when the longest run is more than 200 steps
and more than 20 times the shortest."""
_LOG_TIME_RATIO = 10
"""The time axis of training curves turns logarithmic when the longest run took more than
10 times as long as the shortest."""
_DECADES = 3.0
"""Contour levels are logarithmic when the surface spans more decades than this."""
_LR_LOG_SPAN = 100.0
"""The LR range test's loss axis is logarithmic when the trend falls by more than this."""


def optimizer_style(name: str) -> dict[str, Any]:
    """The line style of optimizer ``name``: the same in every figure.

    Parameters
    ----------
    name : str
        A method of :func:`steepest.minimize` (``"adam"``) or any other label;
        unknown labels get a style derived from a checksum of the name.

    Returns
    -------
    dict
        ``color``, ``marker`` and ``linestyle``, ready for ``ax.plot(**style)``.
    """
    key = name.lower()
    color, marker = _STYLES.get(key) or _SPARE[zlib.crc32(key.encode()) % len(_SPARE)]
    linestyle = "--" if key in LINE_SEARCH else "-"
    return {"color": color, "marker": marker, "linestyle": linestyle}


def variant_style(name: str) -> dict[str, Any]:
    """The line style of a variant of gradient descent: the same in every figure.

    Parameters
    ----------
    name : {"batch", "stochastic", "mini-batch"}
        Full-batch descent (one update per epoch), stochastic descent (one
        sample per update) or mini-batch descent; other labels get the style
        :func:`optimizer_style` gives them.

    Returns
    -------
    dict
        ``color``, ``marker`` and ``linestyle``, ready for ``ax.plot(**style)``.
    """
    key = name.lower()
    if key not in _VARIANTS:
        return optimizer_style(name)
    color, marker = _VARIANTS[key]
    return {"color": color, "marker": marker, "linestyle": "-"}


def plot_trajectories(function: TestFunction, results: Results, ax: Axes | None = None, *,
                      legend: bool = True) -> Axes:
    """Draw each optimizer's path over a filled contour plot of ``function``.

    The contour levels are logarithmic in ``f - f*`` where the surface spans
    several decades (Rosenbrock, Beale), linear otherwise. Stars mark the known
    minima, a white circle the start of the first path. Markers are evenly spaced
    in steps, so they crowd where a method is slow; a larger, outlined marker shows
    where each run stopped. The axes show ``function.bounds``, or the part of them
    holding the start, the minima and the paths when that is less than half of
    them; a path that leaves the axes is cut at the edge.

    Parameters
    ----------
    function : TestFunction
        A 2-D surface from :mod:`steepest.functions`.
    results : mapping of str to result
        Optimizer name to a result whose ``path`` has shape (n_steps + 1, 2).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    legend : bool, default=True
        Add a legend of the optimizers.

    Returns
    -------
    matplotlib Axes
        The axes drawn into; ``ax.figure`` is its figure.
    """
    own = ax is None
    ax = _new_axes() if own else ax
    paths = {name: _points(result) for name, result in results.items()}
    (x0, x1), (y0, y1) = _view(function, paths.values())
    draw_surface(ax, function, (x0, x1), (y0, y1))
    for name, path in paths.items():
        _draw_path(ax, name, path, np.flatnonzero(_inside(path, (x0, x1), (y0, y1))))
    _draw_landmarks(ax, function, paths)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x$", ylabel="$y$")
    ax.set_rasterization_zorder(2)  # the contours become an image in SVG and PDF: small files
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(function.title)
    if legend and results:
        _legend(ax, own)
    return ax


def plot_loss_curves(function: TestFunction, results: Results, ax: Axes | None = None, *,
                     legend: bool = True) -> Axes:
    """Draw ``f(x_k) - f*`` against the step ``k`` for each optimizer, on a log scale.

    ``f*`` is ``function.minimum``. A function with no minimum (the saddle) shows
    ``f(x_k)`` itself on linear axes, limited to the values ``f`` takes inside
    ``function.bounds`` so that one escaping path does not flatten the others.
    Gaps below ``1e-16`` (and exact zeros, which a log axis cannot show) are drawn
    at ``1e-16``. When the runs differ a lot in length (10 steps and 3000), the
    step axis is logarithmic past step 10.

    Parameters
    ----------
    function : TestFunction
        The surface the paths were computed on; it gives ``f(x_k)`` and ``f*``.
    results : mapping of str to result
        Optimizer name to a result whose ``path`` has shape (n_steps + 1, 2).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    legend : bool, default=True
        Add a legend of the optimizers.

    Returns
    -------
    matplotlib Axes
        The axes drawn into; ``ax.figure`` is its figure.
    """
    own = ax is None
    ax = _new_axes() if own else ax
    minimum = float(getattr(function, "minimum", -math.inf))
    bounded = math.isfinite(minimum)
    low, high = (_FLOOR, math.inf) if bounded else value_range(function)
    last, lengths = 1, []
    for name, result in results.items():
        values = np.asarray(function(_points(result).T), dtype=float).reshape(-1)
        if bounded:
            values = np.maximum(values - minimum, _FLOOR)
        shown = np.flatnonzero((values >= low) & (values <= high))
        last = max(last, int(shown[-1]) + 1 if shown.size else 1)
        lengths.append(len(values))
        # On the log axes, markers evenly spaced along the line; on the linear ones, in steps.
        markevery = 1 / _N_MARKERS if bounded else _marker_steps(shown)
        ax.plot(np.arange(len(values)), values, label=name, linewidth=1.6, markersize=5,
                markeredgecolor="white", markeredgewidth=0.6, markevery=markevery,
                **optimizer_style(name))
    if bounded:
        ax.set_yscale("log")
        ax.set_ylabel(r"$f(x_k) - f^*$")
    else:
        ax.set_ylim(low, high)
        ax.set_ylabel(r"$f(x_k)$")
    ax.set_xlabel("step $k$")
    ax.set_xlim(0, last if bounded else math.ceil(1.05 * last))
    if last > _LOG_MIN_STEPS and max(lengths) > _LOG_RATIO * min(lengths):
        # Runs of 10 and of 3000 steps: a log axis past step 10 shows both.
        ax.set_xscale("symlog", linthresh=10, linscale=0.4)
    ax.grid(True, which="major", color="0.9", linewidth=0.8)
    ax.set_title("Loss against step" if bounded else "Value against step (no minimum)")
    if legend and results:
        _legend(ax, own)
    return ax


def plot_comparison(function: TestFunction, results: Results) -> Figure:
    """One figure: the trajectories beside the loss curves, with one legend.

    The title gives the function's name and formula.

    Parameters
    ----------
    function : TestFunction
        A 2-D surface from :mod:`steepest.functions`.
    results : mapping of str to result
        Optimizer name to a result whose ``path`` has shape (n_steps + 1, 2).

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.0, 1.25))
    plot_trajectories(function, results, ax=left, legend=False)
    plot_loss_curves(function, results, ax=right, legend=False)
    left.set_title("Paths")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize="small", frameon=False)
    fig.suptitle(f"{function.title}:  ${function.formula}$", fontsize=_title_size(function))
    return fig


def plot_training_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], *,
                         styles: Mapping[str, Mapping[str, Any]] | None = None,
                         title: str | None = None) -> Figure:
    """Training loss against epoch beside training loss against time, one line per run.

    The two panels share the loss axis (logarithmic), so a run that gains most
    per epoch but costs most per epoch shows it at a glance. The time axis is
    logarithmic when the runs' total times differ more than 10-fold.

    Parameters
    ----------
    histories : mapping of str to mapping
        Run name to its per-epoch series, such as an estimator's ``history_``:
        ``loss`` and ``time`` (cumulative seconds), one value per epoch, the
        first for epoch 1.
    styles : mapping of str to dict, optional
        Run name to keywords for ``ax.plot`` (``color``, ``marker``,
        ``linestyle``); by default :func:`variant_style` of the name, which is
        :func:`optimizer_style` for names other than the three variants.
    title : str, optional
        A title over both panels.

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    by_epoch, by_time = fig.subplots(1, 2, sharey=True)
    curves = {name: _curve(history) for name, history in histories.items()}
    ends = [time[-1] for _, _, time in curves.values() if len(time) and time[-1] > 0]
    log_time = bool(ends) and max(ends) > _LOG_TIME_RATIO * min(ends)
    for name, (epoch, loss, time) in curves.items():
        style = {**(styles or {}).get(name, variant_style(name))}
        line = {"label": name, "linewidth": 1.6, "markersize": 5, "markeredgecolor": "white",
                "markeredgewidth": 0.6, "markevery": 1 / _N_MARKERS, **style}
        by_epoch.plot(epoch, loss, **line)
        shown = time > 0 if log_time else np.ones(len(time), dtype=bool)
        by_time.plot(time[shown], loss[shown], **line)
    by_epoch.set_yscale("log")
    by_epoch.set(xlabel="epoch", ylabel="training loss", title="Loss against epoch")
    last = max((len(epoch) for epoch, _, _ in curves.values()), default=1)
    by_epoch.set_xlim(1, max(last, 2))
    if log_time:
        by_time.set_xscale("log")
    else:
        by_time.set_xlim(0.0, max(ends, default=1.0) * 1.02)
    by_time.set(xlabel="training time (s)" + (", log scale" if log_time else ""),
                title="Loss against time")
    by_time.tick_params(labelleft=True)
    for ax in (by_epoch, by_time):
        ax.grid(True, which="major", color="0.9", linewidth=0.8)
    if histories:
        handles, labels = by_epoch.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", fontsize="small",
                   frameon=False)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def plot_run_comparison(result) -> Figure:
    """Training loss against the epoch (left) and against the wall time (right), per run.

    What :func:`steepest.compare.plot_comparison` draws. Each run keeps one colour in
    both panels: its optimizer's colour from :func:`optimizer_style` when the run's
    name is an optimizer (``"adam"``) or the runs' optimizers all differ, else one of
    the same palette in order. The loss axis is logarithmic when every loss is
    positive and they span more than a decade. A dashed line marks the target, and a
    ring where each run first reached it. Validation losses, when recorded, are dotted.

    Parameters
    ----------
    result : ComparisonResult
        What :func:`steepest.compare.compare` returns: an iterable of runs (each with
        ``name``, ``estimator``, ``history`` holding per-epoch ``loss``, ``time`` and
        maybe ``val_loss``, and ``target_epoch``, 1-based or None) with a
        ``target_loss`` (float or None).

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    by_epoch, by_time = fig.subplots(1, 2, sharey=True)
    styles = _run_styles(list(result))
    values = []
    for run in result:
        loss = np.asarray(run.history.get("loss", ()), dtype=float)
        if not loss.size:
            continue
        style = styles[run.name]
        epochs = np.arange(1, loss.size + 1)
        times = np.asarray(run.history.get("time", [math.nan] * loss.size), dtype=float)
        line = {"color": style["color"], "linewidth": 1.7}
        mark = {"marker": style["marker"], "markevery": [loss.size - 1], "markersize": 6,
                "markeredgecolor": "white", "markeredgewidth": 0.6}
        by_epoch.plot(epochs, loss, label=run.name, **line, **mark)
        by_time.plot(times, loss, label=run.name, **line, **mark)
        val = np.asarray(run.history.get("val_loss", ()), dtype=float)
        if val.size and np.isfinite(val).any():
            by_epoch.plot(epochs[: val.size], val, linestyle=":", color=style["color"],
                          linewidth=1.3)
            by_time.plot(times[: val.size], val, linestyle=":", color=style["color"],
                         linewidth=1.3)
            values.append(val)
        values.append(loss)
        if run.target_epoch is not None:
            at = run.target_epoch - 1
            ring = {"marker": "o", "markersize": 9, "markerfacecolor": "none",
                    "markeredgecolor": style["color"], "markeredgewidth": 1.5,
                    "linestyle": "none"}
            by_epoch.plot(epochs[at], loss[at], **ring)
            if math.isfinite(times[at]):
                by_time.plot(times[at], loss[at], **ring)
    finite = np.concatenate(values)[np.isfinite(np.concatenate(values))] if values else \
        np.empty(0)
    if finite.size and finite.min() > 0 and finite.max() > 10 * finite.min():
        by_epoch.set_yscale("log")
    if result.target_loss is not None:
        for ax in (by_epoch, by_time):
            ax.axhline(result.target_loss, color="0.35", linestyle="--", linewidth=1,
                       label="target" if ax is by_epoch else None)
    by_epoch.set(xlabel="epoch", ylabel="training loss", title="Loss against epoch")
    by_time.set(xlabel="wall time (s)", title="Loss against time")
    for ax in (by_epoch, by_time):
        ax.grid(True, which="major", color="0.9", linewidth=0.8)
    handles, labels = by_epoch.get_legend_handles_labels()
    if any(np.asarray(run.history.get("val_loss", ()), dtype=float).size for run in result):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.35", linestyle=":", linewidth=1.3))
        labels.append("validation loss")
    fig.legend(handles, labels, loc="outside right center", fontsize="small", frameon=False)
    return fig


def plot_lr_find(result, ax: Axes | None = None) -> Axes:
    """Draw the loss against the learning rate (log scale) and mark the suggestion.

    What :func:`steepest.lr_find.plot_lr_find` draws. The raw losses are drawn
    faint, their smoothed trend (``result.trend``, the curve the suggestion is read
    from) over them, and a labelled dot on the trend marks the suggested rate. The
    y-axis shows the descent, not the blow-up at the end: it stops a little past the
    trend's lowest point, and is logarithmic when the trend falls by more than a
    factor of 100 before it.

    Parameters
    ----------
    result : LRFinderResult
        What :func:`steepest.lr_find.lr_find` returns: ``lrs``, ``losses`` and
        ``trend`` of shape (n_steps,), ``suggestion``, ``rule`` and ``stopped_early``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib Axes
        ``ax.figure`` is its figure.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6.2, 4.4), layout="constrained").add_subplot()
    lrs, raw, trend = result.lrs, result.losses, result.trend
    ax.plot(lrs, raw, color="#999999", alpha=0.5, linewidth=0.9, label="loss")
    ax.plot(lrs, trend, color="#0072B2", linewidth=2.0, label="smoothed loss")
    if lrs.size:
        y = float(np.interp(np.log(result.suggestion), np.log(lrs), trend))
        ax.plot([result.suggestion], [y], "o", color="#D55E00", markersize=8, zorder=3,
                label=f"suggestion ({result.rule})")
        ax.annotate(f"lr = {result.suggestion:.3g}", (result.suggestion, y), xytext=(8, 8),
                    textcoords="offset points", color="#D55E00", fontsize="small")
        # up to the lowest point and a little beyond: the blow-up would squash the rest
        lowest = int(np.argmin(trend))
        low, high = float(trend[lowest]), float(np.max(trend[:lowest + 1]))
        if low > 0 and high > _LR_LOG_SPAN * low:       # a fall over decades: log scale
            ax.set_yscale("log")
            ax.set_ylim(low / 1.5, high * 2.0)
        else:
            pad = 0.08 * (high - low) if high > low else 0.05 * abs(high) or 1.0
            ax.set_ylim(low - pad, high + 2 * pad)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    title = "Learning-rate range test"
    if result.stopped_early:
        title += f": the loss blew up at lr = {lrs[-1]:.3g}" if lrs.size else \
            ": the loss blew up at the first rate"
    ax.set_title(title, fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize="small", frameon=False)
    return ax


def plot_history(history: Mapping[str, Sequence[float]], score_name: str | None = None
                 ) -> Figure:
    """The panels of one training run, per epoch: loss, validation score, learning rate,
    gradient norm, each with its axes labelled.

    The loss panel shows the training loss (and ``val_loss`` when recorded), on a
    log scale when every finite loss is positive and they span more than a factor
    of 20; next to it, when the history has ``val_score``, the validation metric
    (accuracy or R², higher is better); then the rate of each epoch's last update,
    and (log scale) the norm of the last gradient over all parameters, and per
    layer's weights when the history has ``grad_norm/<layer>`` series. Three panels
    in a row without a score, four in a 2 × 2 grid with one.

    Parameters
    ----------
    history : mapping of str to sequence of float
        An estimator's ``history_``: ``loss``, ``lr`` and ``grad_norm``, one value
        per epoch, optionally ``val_loss``, ``val_score`` and ``grad_norm/<layer>``.
    score_name : str, optional
        What ``val_score`` measures (``"accuracy"``, ``"R²"``), for its axis label;
        by default ``"score (accuracy or R²)"``.

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    scored = "val_score" in history
    if scored:
        figure = Figure(figsize=(10, 6.4), layout="constrained")
        (loss_ax, score_ax), (lr_ax, grad_ax) = figure.subplots(2, 2)
    else:
        figure = Figure(figsize=(11, 3.4), layout="constrained")
        loss_ax, lr_ax, grad_ax = figure.subplots(1, 3)
    epochs = np.arange(1, len(history["loss"]) + 1)
    loss_ax.plot(epochs, history["loss"], label="training", color="#0072B2")
    if "val_loss" in history:
        loss_ax.plot(epochs, history["val_loss"], label="validation", color="#D55E00")
    loss = np.asarray(history["loss"], dtype=float)
    if np.all(loss[np.isfinite(loss)] > 0) and np.nanmax(loss) > 20 * np.nanmin(loss):
        loss_ax.set_yscale("log")
    loss_ax.set(title="Loss", xlabel="epoch", ylabel="loss (objective)")
    loss_ax.legend(frameon=False)
    if scored:
        score_ax.plot(epochs, history["val_score"], color="#D55E00", label="validation")
        score_ax.set(title="Validation score", xlabel="epoch",
                     ylabel=score_name or "score (accuracy or R²)")
    lr_ax.plot(epochs, history["lr"], color="#009E73")
    lr_ax.set(title="Learning rate (last update of the epoch)", xlabel="epoch",
              ylabel="learning rate", ylim=(0, None))
    grad_ax.plot(epochs, history["grad_norm"], color="#CC79A7", label="all parameters")
    layers = [key for key in history if key.startswith("grad_norm/")]
    for shade, key in zip(np.linspace(0.35, 0.85, len(layers)), layers, strict=True):
        grad_ax.plot(epochs, history[key], color=str(shade), linewidth=1,
                     label=f"layer {key.removeprefix('grad_norm/')}")
    grad_ax.set(title="Gradient norm", xlabel="epoch", ylabel="L2 norm of the gradient",
                yscale="log")
    if len(layers) > 1:
        grad_ax.legend(frameon=False, fontsize="small")
    for ax in figure.axes:
        ax.grid(alpha=0.3)
    return figure


def plot_train_validation(histories: Mapping[str, Mapping[str, Sequence[float]]],
                          train_key: str = "loss", validation_key: str = "val_loss", *,
                          ylabel: str = "loss", validation_label: str = "validation",
                          score_key: str | None = None, score_label: str = "score",
                          references: Mapping[str, float] | None = None) -> Figure:
    """A measure on the training and the held-out data per epoch, one colour per run.

    The left panel shows, for each run, ``validation_key`` as a solid line and
    ``train_key`` dotted in the same colour, with each of ``references`` (a published
    figure, a peer's score) as a dashed horizontal line; with ``score_key`` a right
    panel shows that series (``val_score``, an accuracy) per epoch.

    Parameters
    ----------
    histories : mapping of str to mapping
        Run name to its per-epoch series (an estimator's ``history_``), the first
        value for epoch 1.
    train_key, validation_key : str, default="loss", "val_loss"
        The series to draw (``"rmse"`` and ``"val_rmse"`` for a factorisation).
    ylabel : str, default="loss"
    validation_label : str, default="validation"
        What the held-out data are called in the legend (``"test"``).
    score_key : str, optional
    score_label : str, default="score"
    references : mapping of str to float, optional
        Label → value of the horizontal lines.

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.0 if score_key else 10.5, 4.0), layout="constrained")
    axes = figure.subplots(1, 2 if score_key else 1, squeeze=False)[0]
    colours = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
    for index, (name, history) in enumerate(histories.items()):
        colour, marker = colours[index % len(colours)], "osD^v<>"[index % 7]
        epochs = np.arange(1, len(history[validation_key]) + 1)
        axes[0].plot(epochs, history[validation_key], color=colour, marker=marker,
                     label=f"{name}: {validation_label}")
        axes[0].plot(epochs, history[train_key], color=colour, marker=marker, linestyle=":",
                     alpha=0.55, label=f"{name}: training")
        if score_key:
            axes[1].plot(epochs, history[score_key], color=colour, marker=marker, label=name)
    for (label, value), shade in zip((references or {}).items(), ("0.3", "0.6", "0.45"),
                                     strict=False):
        axes[0].axhline(value, color=shade, linestyle="--", linewidth=1, label=label)
    axes[0].set(xlabel="epoch", ylabel=ylabel, title=f"{ylabel} per epoch")
    if score_key:
        axes[1].set(xlabel="epoch", ylabel=score_label, title=f"{score_label} per epoch")
    for ax in axes:
        ax.grid(True, color="0.9")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", fontsize="small", frameon=False)
    return figure


# -- the surface, for pages of this library that draw it themselves -----------------------


def surface_grid(function: TestFunction, xlim: tuple[float, float] | None = None,
                 ylim: tuple[float, float] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, Y, f(X, Y)`` on the regular grid the contour plots are drawn from.

    Parameters
    ----------
    function : TestFunction
        A 2-D surface from :mod:`steepest.functions`.
    xlim, ylim : (float, float), optional
        The box, ``function.bounds`` by default (give both or neither).

    Returns
    -------
    X, Y, Z : ndarray of shape (240, 240)
        ``X[i, j]`` runs along ``xlim`` with ``j``, ``Y[i, j]`` along ``ylim`` with
        ``i``, and ``Z = f(X, Y)`` as float64 (infinite or NaN where ``f`` is).
    """
    (x0, x1), (y0, y1) = (xlim, ylim) if xlim is not None else function.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, _GRID), np.linspace(y0, y1, _GRID))
    return X, Y, np.asarray(function(np.stack([X, Y])), dtype=float)


def value_range(function: TestFunction) -> tuple[float, float]:
    """The values ``f`` takes on :func:`surface_grid` over its bounds, with a 5 % margin.

    Parameters
    ----------
    function : TestFunction
        A 2-D surface from :mod:`steepest.functions`.

    Returns
    -------
    (float, float)
        ``(min Z - m, max Z + m)`` with ``m = 0.05 (max Z - min Z)`` (``0.05`` when the
        surface is flat on the grid): the value axis of a loss plot of a function with
        no minimum.
    """
    _, _, Z = surface_grid(function)
    low, high = float(Z.min()), float(Z.max())
    margin = 0.05 * (high - low or 1.0)
    return low - margin, high + margin


def draw_surface(ax: Axes, function: TestFunction, xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:
    """Draw the filled contours of ``function`` over a box into ``ax``: light where it is low.

    The bands are 22 logarithmic levels of ``f - f*`` when ``function.minimum`` is
    finite and ``f - f*`` on the box spans more than three decades (Rosenbrock,
    Beale), else 20 linear levels of ``f``, with thin white lines between bands.
    The contours sit at zorder 0 and 1, below anything drawn after them. Axis
    limits, labels and aspect are left to the caller (:func:`plot_trajectories`
    sets them).

    Parameters
    ----------
    ax : matplotlib Axes
    function : TestFunction
        A 2-D surface from :mod:`steepest.functions`.
    xlim, ylim : (float, float)
        The box to cover, ``(low, high)`` along each axis.
    """
    from matplotlib.colors import ListedColormap, LogNorm

    X, Y, Z = surface_grid(function, xlim, ylim)
    minimum = float(getattr(function, "minimum", -math.inf))
    cmap = ListedColormap(_greys(np.linspace(0.02, 0.55, 256)))
    if math.isfinite(minimum):
        Z = Z - minimum
        low, high = _positive_range(Z)
        if high / low > 10**_DECADES:
            levels = np.geomspace(low, high, 22)
            Z = np.maximum(Z, low)
            ax.contourf(X, Y, Z, levels=levels, norm=LogNorm(low, high), cmap=cmap, zorder=0)
            ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.4, alpha=0.7,
                       zorder=1)
            return
    ax.contourf(X, Y, Z, levels=20, cmap=cmap, zorder=0)
    ax.contour(X, Y, Z, levels=20, colors="white", linewidths=0.4, alpha=0.7, zorder=1)


# -- helpers ------------------------------------------------------------------------------

_FLOOR = 1e-16


def _curve(history: Mapping[str, Sequence[float]]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``epoch, loss, time`` of one run, as floats; losses below ``1e-16`` at ``1e-16``."""
    loss = np.maximum(np.asarray(history["loss"], dtype=float), _FLOOR)
    time = np.asarray(history["time"], dtype=float)
    return np.arange(1, len(loss) + 1, dtype=float), loss, time


def _run_styles(runs: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """One colour and marker per run of a comparison, never shared.

    When the runs' optimizers all differ, each run gets its optimizer's style. Else
    a run named after an optimizer (``"adam"``) keeps that optimizer's style, and
    the others take the palette's unused styles in order.
    """
    def optimizer(run) -> str | None:
        if run.name.lower() in _STYLES:
            return run.name.lower()
        chosen = getattr(run.estimator, "optimizer", None)
        return chosen.lower() if isinstance(chosen, str) and chosen.lower() in _STYLES \
            else None

    keys = [optimizer(run) for run in runs]
    if None in keys or len(set(keys)) < len(keys):
        named = [run.name.lower() if run.name.lower() in _STYLES else None for run in runs]
        keys = [key if key is not None and named.count(key) == 1 else None for key in named]
        spare = iter([k for k in _STYLES if k not in keys])
        keys = [key if key is not None else next(spare, run.name)
                for key, run in zip(keys, runs, strict=True)]
    return {run.name: optimizer_style(key) for run, key in zip(runs, keys, strict=True)}


def _new_axes() -> Axes:
    from matplotlib.figure import Figure

    return Figure(figsize=(6.2, 4.8), layout="constrained").add_subplot()


def _legend(ax: Axes, own: bool) -> None:
    """The legend: beside the axes in a figure of our own, else where it hides least."""
    if own:
        ax.figure.legend(loc="outside right upper", fontsize="small", frameon=False)
    else:
        ax.legend(loc="best", fontsize="small", framealpha=0.9)


def _points(result: _HasPath) -> np.ndarray:
    """The finite points of ``result.path`` as floats of shape (n, 2), up to the first NaN."""
    path = np.asarray(result.path, dtype=float).reshape(-1, 2)
    bad = ~np.isfinite(path).all(axis=1)
    return path[: int(np.argmax(bad))] if bad.any() else path


def _inside(points: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float]
            ) -> np.ndarray:
    """Which of ``points`` (shape (n, 2)) lie in the box ``xlim`` by ``ylim``."""
    x, y = points[:, 0], points[:, 1]
    return (x >= xlim[0]) & (x <= xlim[1]) & (y >= ylim[0]) & (y <= ylim[1])


def _view(function: TestFunction, paths) -> tuple[tuple[float, float], tuple[float, float]]:
    """The part of ``function.bounds`` worth showing: the start, the minima and the paths.

    The box is padded, made square (the plot has equal aspect) and kept inside the bounds,
    so that a small path is not lost in a large frame and a long one is cut at the edge.
    When that box would cover more than half the bounds, the bounds are shown whole.
    """
    (x0, x1), (y0, y1) = function.bounds
    points = [np.asarray(function.start, dtype=float).reshape(1, 2),
              np.asarray(function.minima, dtype=float).reshape(-1, 2), *paths]
    points = np.concatenate(points)
    points = points[_inside(points, (x0, x1), (y0, y1))]
    if not len(points):
        return (x0, x1), (y0, y1)
    span = max(x1 - x0, y1 - y0)
    half = 0.6 * float(np.ptp(points, axis=0).max())
    if 2 * half > _ZOOM * span:
        return (x0, x1), (y0, y1)
    center = (points.min(axis=0) + points.max(axis=0)) / 2
    half = max(half, 0.1 * span)
    return _fit(center[0], half, x0, x1), _fit(center[1], half, y0, y1)


def _fit(center: float, half: float, low: float, high: float) -> tuple[float, float]:
    """The interval ``center ± half``, shifted then cut to lie within ``[low, high]``."""
    a, b = center - half, center + half
    if a < low:
        a, b = low, b + (low - a)
    if b > high:
        a, b = a - (b - high), high
    return max(a, low), min(b, high)


def _greys(positions: np.ndarray) -> np.ndarray:
    from matplotlib import colormaps

    return colormaps["Greys"](positions)


def _positive_range(Z: np.ndarray) -> tuple[float, float]:
    """A range of ``Z`` for log levels: its maximum, and a low end near its smallest values."""
    positive = Z[Z > 0]
    high = float(positive.max()) if positive.size else 1.0
    low = float(np.quantile(positive, 0.002)) if positive.size else high
    return max(low, high * 1e-12), high


def _draw_path(ax: Axes, name: str, path: np.ndarray, shown: np.ndarray) -> None:
    """One optimizer's path, with markers on some of the ``shown`` steps and on its end."""
    style = optimizer_style(name)
    ax.plot(path[:, 0], path[:, 1], label=name, linewidth=1.6, markersize=5,
            markeredgecolor="white", markeredgewidth=0.6, markevery=_marker_steps(shown),
            zorder=3, **style)
    if len(path):  # where the run stopped: a larger marker, outlined
        ax.plot(*path[-1], marker=style["marker"], color=style["color"], markersize=10,
                markeredgecolor="black", markeredgewidth=1.0, zorder=4)


def _draw_landmarks(ax: Axes, function: TestFunction, paths: Mapping[str, np.ndarray]
                    ) -> None:
    """Stars on the known minima and a circle on the start."""
    minima = np.asarray(function.minima, dtype=float).reshape(-1, 2)
    if len(minima):
        ax.plot(minima[:, 0], minima[:, 1], linestyle="none", marker="*", markersize=15,
                color="#F0E442", markeredgecolor="black", markeredgewidth=0.9,
                label="minimum", zorder=5)
    starts = [path[0] for path in paths.values() if len(path)]
    start = starts[0] if starts else np.asarray(function.start, dtype=float)
    ax.plot(*start, linestyle="none", marker="o", markersize=9, color="white",
            markeredgecolor="black", markeredgewidth=1.2, label="start", zorder=5)


def _marker_steps(shown: np.ndarray) -> list[int]:
    """About ``_N_MARKERS`` evenly spaced indices among ``shown``, always its last one."""
    if not len(shown):
        return []
    every = max(1, math.ceil(len(shown) / _N_MARKERS))
    return sorted({int(i) for i in shown[::every]} | {int(shown[-1])})


def _title_size(function: TestFunction) -> float:
    """Smaller type for long formulas, so that the title fits the figure."""
    return max(9.0, min(13.0, 13.0 * 70 / max(len(function.formula), 1)))


def plot_function_fits(rows: Sequence[Sequence[Mapping]], title: str) -> Figure:
    """A grid of 1-D regression fits: each panel a true function, the points fitted and
    the model's curves (a meta-learner's adapted curves, as Finn et al.'s figure 2).

    Parameters
    ----------
    rows : sequence of sequences of dict
        One dict per panel: ``title``, ``x`` (the grid), ``truth`` (the function on it),
        ``points`` (``(x, y)`` of the fitted points), ``points_label``, ``colour`` and
        ``curves``, a list of ``(label, linestyle, values on x)``.
    title : str
    """
    from matplotlib.figure import Figure

    n_rows, n_columns = len(rows), max(len(row) for row in rows)
    figure = Figure(figsize=(4.2 * n_columns, 3.0 * n_rows), layout="constrained")
    axes = np.atleast_2d(figure.subplots(n_rows, n_columns, sharex=True, sharey=True,
                                         squeeze=False))
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            ax = axes[r, c]
            ax.plot(panel["x"], panel["truth"], color="black", linewidth=2,
                    label="true function")
            ax.plot(*panel["points"], "^", color="black", markersize=7,
                    markerfacecolor="white", label=panel["points_label"])
            for label, linestyle, values in panel["curves"]:
                ax.plot(panel["x"], values, linestyle, color=panel["colour"], linewidth=1.6,
                        label=label)
            ax.grid(True, color="0.9", linewidth=0.8)
            ax.set_title(panel["title"], fontsize=10)
            if c == 0:
                ax.set_ylabel("y")
            if r == n_rows - 1:
                ax.set_xlabel("x")
            if c == len(row) - 1:  # beside the row, hiding no curve
                ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small",
                          frameon=False)
    figure.suptitle(title, fontsize=13)
    return figure


def plot_confusion_matrix(matrix, labels: Sequence[str], *,
                          title: str | None = None) -> Figure:
    """A confusion matrix as a heat map: row ``i`` the true class, column ``j`` the predicted.

    Each cell shows its count; the colour is the share of its row, ``C[i, j] / Σ_j C[i, j]``
    (the diagonal is the recall of each class), so rare and common classes read alike.

    Parameters
    ----------
    matrix : array-like of shape (n_classes, n_classes)
        Counts, such as ``sklearn.metrics.confusion_matrix(y_true, y_pred)``.
    labels : sequence of str
        The ``n_classes`` class names, in the matrix's order.
    title : str, optional

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    counts = np.asarray(matrix)
    n = counts.shape[0]
    if counts.shape != (n, n) or len(labels) != n:
        raise ParameterError(f"plot_confusion_matrix needs a square matrix and one label per row; "
                         f"got shape {counts.shape} and {len(labels)} labels.")
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.0 + 0.55 * n
    figure = Figure(figsize=(size + 1.6, size), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize="small",
                    color="white" if shares[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set(xlabel="predicted class", ylabel="true class")
    figure.colorbar(image, ax=ax, label="share of the true class", shrink=0.8)
    if title:
        ax.set_title(title)
    return figure


def plot_image_grid(images, captions: Sequence[str], *, columns: int = 8,
                    title: str | None = None) -> Figure:
    """Grey-level images in a grid, each with a caption under it.

    Parameters
    ----------
    images : array-like of shape (n_images, H, W)
        Pixel values; each image is drawn from 0 (white) to the largest value of
        all the images (black).
    captions : sequence of str
        One per image (such as ``"coat, not shirt"``).
    columns : int, default=8
        Images per row.
    title : str, optional

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    pixels = np.asarray(images, dtype=float)
    if pixels.ndim != 3 or len(captions) != len(pixels) or not len(pixels):
        raise ParameterError(f"plot_image_grid needs images of shape (n, H, W), n >= 1, and one "
                         f"caption each; got shape {pixels.shape} and {len(captions)} captions.")
    columns = min(columns, len(pixels))
    rows = math.ceil(len(pixels) / columns)
    figure = Figure(figsize=(1.45 * columns, 1.7 * rows + (0.4 if title else 0.0)),
                    layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    top = float(pixels.max()) or 1.0
    for ax in axes:
        ax.set_axis_off()
    for ax, image, caption in zip(axes, pixels, captions, strict=False):
        ax.imshow(image, cmap="Greys", vmin=0.0, vmax=top, interpolation="nearest")
        ax.set_title(caption, fontsize="x-small")
    if title:
        figure.suptitle(title, fontsize=12)
    return figure


_FEDERATED_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")




def plot_federated_rounds(histories: dict, *, target: float | None = None,
                          metric: str = "accuracy") -> Figure:
    """Two panels: the global model's validation score per round, and against the
    megabytes sent to and from clients so far, one line per labelled history (a
    federated strategy's ``history_``: ``round``, ``val_score``, ``bytes``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.8), layout="constrained")
    by_round, by_bytes = figure.subplots(1, 2, sharey=True)
    for colour, (label, history) in zip(_FEDERATED_COLOURS * 3, histories.items(), strict=False):
        score = np.asarray(history["val_score"], dtype=float)
        megabytes = np.cumsum(history["bytes"]) / 1e6
        by_round.plot(history["round"], score, color=colour, label=label)
        by_bytes.plot(megabytes, score, color=colour, label=label)
    for ax in (by_round, by_bytes):
        if target is not None:
            ax.axhline(target, color="0.5", linestyle="--", linewidth=1)
        ax.grid(alpha=0.3)
    by_round.set(title=f"Global model's {metric} per round", xlabel="round", ylabel=metric)
    by_bytes.set(title="… against the parameters communicated", xlabel="MB sent and received",
                 xscale="log")
    by_round.legend(frameon=False, fontsize="small")
    return figure
