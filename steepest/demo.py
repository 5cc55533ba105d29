"""The demo behind ``steepest demo``: optimizers on classic surfaces and on digits, one report.

:func:`run_demo` runs each optimizer from the same start on four 2-D test
functions, each chosen to show one difficulty of descent, then trains a small
network on scikit-learn's bundled handwritten digits by batch, stochastic and
mini-batch descent and with SGD, momentum and Adam. It writes ``report.html``:
the paths over a contour plot, loss against step, training loss against epoch
and against time, and tables of how each run ended::

    from steepest.demo import run_demo
    path = run_demo("steepest-demo")

``collect`` and ``write_report`` are the two halves, for callers that want the
numbers as well as the page. The runs are deterministic (the same version gives
the same paths, losses and accuracies); only their times vary.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from steepest import __version__, minimize, optim
from steepest._validation import check_number, lookup
from steepest.functions import TestFunction, get
from steepest.methods import METHODS, suggested_rate
from steepest.plot import optimizer_style, plot_comparison, plot_training_curves
from steepest.report import Report

__all__ = ["DIGITS_EPOCHS", "OPTIMIZERS", "PROBLEMS", "VARIANTS", "DemoResults", "Descent",
           "DigitsResults", "Problem", "Run", "Training", "collect", "collect_digits",
           "digits_summary", "run_demo", "summary", "write_report"]


@dataclass(frozen=True)
class Problem:
    """One test function of the demo and how each optimizer is run on it.

    Attributes
    ----------
    function : str
        A name for :func:`steepest.functions.get`.
    learning_rates : dict of str to float or None
        Optimizer (a method of :func:`steepest.minimize`) to its learning rate;
        ``None`` keeps the method's default. Given a sequence of method names
        instead, each gets its rate for this function from the table,
        :func:`steepest.methods.suggested_rate` (``None`` for the line searches).
    max_iter : int
        The step budget of every run.
    start : tuple of float, optional
        Where to start, when not the function's customary start.
    """

    function: str
    learning_rates: dict[str, float | None]
    max_iter: int
    start: tuple[float, ...] | None = None

    def __post_init__(self):
        if not isinstance(self.learning_rates, Mapping):
            names = {name: name for name in METHODS}
            methods = [lookup(m, names, "minimize method") for m in self.learning_rates]
            object.__setattr__(self, "learning_rates",
                               {m: suggested_rate(m, self.function) for m in methods})


_SHOWN = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam", "lbfgs",
          "newton")
"""The methods the demo runs on every function."""

PROBLEMS: tuple[Problem, ...] = (
    Problem("rosenbrock", _SHOWN, max_iter=3000),
    Problem("saddle", _SHOWN, max_iter=300),
    Problem("himmelblau", _SHOWN, max_iter=1000),
    Problem("quadratic", _SHOWN, max_iter=600),
)
"""The demo's functions, each with its optimizers and step budget; the learning rates come
from the table (:data:`steepest.methods.METHODS`, ``surface_rates``)."""

_NEAR = 1e-4
"""A run counts as having reached a minimum within this distance of it."""


@dataclass(frozen=True)
class Run:
    """One optimizer's run on one function: the result of minimize and its wall time.

    ``distance`` is from the final point to the nearest known minimum, ``None`` for a
    function with no minimum.
    """

    method: str
    lr: float | None
    result: Any
    seconds: float
    distance: float | None

    @property
    def reached(self) -> bool:
        """Whether the run ended within ``1e-4`` of a minimum."""
        return self.distance is not None and self.distance < _NEAR

    @property
    def path(self) -> np.ndarray:
        """The visited points, shape (n_steps + 1, 2)."""
        return self.result.path


@dataclass(frozen=True)
class Descent:
    """One way of training the digits network: an optimizer and a batch size.

    Attributes
    ----------
    label : str
        The run's name in the figures and tables.
    optimizer : Optimizer
        A :mod:`steepest.optim` optimizer; its ``lr`` is the run's learning rate.
    batch_size : int or None
        ``None``: the whole training set per update (batch descent); ``1``: one
        sample per update (stochastic); ``k``: ``k`` samples (mini-batch).
    """

    label: str
    optimizer: optim.Optimizer
    batch_size: int | None


VARIANTS: tuple[Descent, ...] = (
    Descent("batch", optim.SGD(lr=0.5), None),
    Descent("stochastic", optim.SGD(lr=0.01), 1),
    Descent("mini-batch", optim.SGD(lr=0.05), 32),
)
"""Batch, stochastic and mini-batch descent, all plain SGD: the noisier the gradient (the
fewer samples per update), the smaller the learning rate it takes."""

OPTIMIZERS: tuple[Descent, ...] = (
    Descent("SGD", optim.SGD(lr=0.05), 32),
    Descent("SGD + momentum", optim.SGD(lr=0.05, momentum=0.9), 32),
    Descent("Adam", optim.Adam(lr=3e-3), 32),
)
"""Three optimizers on the same mini-batches. SGD and momentum share their rate, so momentum
is the only difference; Adam scales each parameter's step by that parameter's own gradients,
so its rates are on another scale."""

DIGITS_EPOCHS = 50
"""The epoch budget of every digits run. Stochastic descent (1,347 updates an epoch) takes
most of the demo's time: about 4 s on an otherwise idle 2-core machine."""

_HIDDEN = (32,)
_SEED = 0
_TEST_FRACTION = 0.25


@dataclass(frozen=True)
class Training:
    """One network trained on the digits: its curves and how it ended.

    Attributes
    ----------
    optimizer : Optimizer
        The optimizer it was trained with (its hyperparameters, not its state).
    batch_size : int or None
        Samples per update; ``None`` for the whole training set.
    updates_per_epoch : int
    loss : ndarray of shape (epochs,)
        The training loss at the end of each epoch: the cross-entropy over the whole
        training set (the objective: there is no penalty).
    time : ndarray of shape (epochs,)
        Seconds of training up to the end of each epoch (measuring the loss is not
        counted).
    lr : ndarray of shape (epochs,)
        The learning rate of each epoch's last update (lower than the optimizer's
        only if the divergence guard cut it).
    accuracy : float
        The share of the test digits predicted right, in [0, 1].
    model : MLPClassifier
        The fitted network.
    """

    optimizer: optim.Optimizer
    batch_size: int | None
    updates_per_epoch: int
    loss: np.ndarray
    time: np.ndarray
    lr: np.ndarray
    accuracy: float
    model: Any

    @property
    def epochs(self) -> int:
        return len(self.loss)

    @property
    def updates(self) -> int:
        """Optimizer steps, all epochs together."""
        return self.epochs * self.updates_per_epoch

    @property
    def seconds(self) -> float:
        """Seconds of training in all."""
        return float(self.time[-1])

    @property
    def curves(self) -> dict[str, np.ndarray]:
        """``loss`` and ``time``, for :func:`steepest.plot.plot_training_curves`."""
        return {"loss": self.loss, "time": self.time}


@dataclass(frozen=True)
class DigitsResults:
    """The two comparisons on the digits, each by run label, and the data's sizes."""

    variants: dict[str, Training]
    optimizers: dict[str, Training]
    n_train: int
    n_test: int
    n_features: int
    n_classes: int
    seconds: float

    @property
    def epochs(self) -> int:
        """The epoch budget the runs had (0 when there are none)."""
        return max((run.epochs for run in (*self.variants.values(),
                                          *self.optimizers.values())), default=0)


@dataclass(frozen=True)
class DemoResults:
    """Every run of the demo, by function name then optimizer name, and the total time.

    ``digits`` holds the runs on the digits, ``None`` when they were left out.
    """

    functions: dict[str, TestFunction]
    runs: dict[str, dict[str, Run]]
    seconds: float
    started: datetime = field(default_factory=datetime.now)
    digits: DigitsResults | None = None
    lesson: Any = None
    """The bad run, its diagnosis and the fix (:class:`steepest.lesson.Lesson`), or None."""


def collect(problems: Sequence[Problem] = PROBLEMS, *, max_iter: int | None = None,
            digits: bool = True, epochs: int | None = None, lesson: bool = True
            ) -> DemoResults:
    """Run every optimizer of every problem, then train the digits network every way.

    Parameters
    ----------
    problems : sequence of Problem, default=PROBLEMS
        What to run.
    max_iter : int, optional
        Cap every run at this many steps (a quick look; the full demo by default).
    digits : bool, default=True
        Also run :func:`collect_digits`.
    epochs : int, optional
        Cap every digits run at this many epochs (``DIGITS_EPOCHS`` by default), and
        the lesson's runs too.
    lesson : bool, default=True
        Also run :func:`steepest.lesson.collect_lesson`: a run gone wrong, its
        diagnosis, an LR range test and the fixed run.

    Returns
    -------
    DemoResults
    """
    if max_iter is not None:
        check_number(max_iter, "max_iter", "collect", low=1, integer=True)
    if epochs is not None:
        check_number(epochs, "epochs", "collect", low=1, integer=True)
    started, clock = datetime.now().astimezone(), time.perf_counter()
    functions, runs = {}, {}
    for problem in problems:
        function = get(problem.function)
        budget = problem.max_iter if max_iter is None else min(max_iter, problem.max_iter)
        start = function.start if problem.start is None else np.asarray(problem.start, float)
        functions[function.name] = function
        runs[function.name] = {method: _run(function, start, method, lr, budget)
                               for method, lr in problem.learning_rates.items()}
    trained = collect_digits(epochs=epochs) if digits else None
    taught = None
    if lesson:
        from steepest.lesson import collect_lesson

        taught = collect_lesson(**({"epochs": epochs} if epochs else {}))
    return DemoResults(functions, runs, time.perf_counter() - clock, started, trained, taught)


def collect_digits(variants: Sequence[Descent] = VARIANTS,
                   optimizers: Sequence[Descent] = OPTIMIZERS, *, epochs: int | None = None
                   ) -> DigitsResults:
    """Train a small network on scikit-learn's bundled digits, once per descent.

    The 1,797 images of 8x8 pixels (scaled to [0, 1]) are split once, stratified,
    into 75 % for training and 25 % for testing. Every run trains the same
    network, ``MLPClassifier((32,), alpha=0)``, from the same initial weights for
    the same number of epochs (no early stopping). A run that appears in both
    comparisons (the same optimizer and batch size) is trained once.

    Parameters
    ----------
    variants, optimizers : sequence of Descent, default=VARIANTS, OPTIMIZERS
        The two comparisons.
    epochs : int, optional
        Cap every run at this many epochs (``DIGITS_EPOCHS`` by default).

    Returns
    -------
    DigitsResults
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if epochs is not None:
        check_number(epochs, "epochs", "collect_digits", low=1, integer=True)
    budget = DIGITS_EPOCHS if epochs is None else min(epochs, DIGITS_EPOCHS)
    clock = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=_TEST_FRACTION, stratify=y, random_state=_SEED)
    done: dict[tuple[str, int | None], Training] = {}

    def train(descent: Descent) -> Training:
        key = (repr(descent.optimizer), descent.batch_size)
        if key not in done:
            done[key] = _train(descent, budget, X_train, y_train, X_test, y_test)
        return done[key]

    compared = ({d.label: train(d) for d in variants}, {d.label: train(d) for d in optimizers})
    return DigitsResults(*compared, n_train=len(y_train), n_test=len(y_test),
                         n_features=X.shape[1], n_classes=len(np.unique(y)),
                         seconds=time.perf_counter() - clock)


def summary(demo: DemoResults) -> list[tuple[str, str, str]]:
    """One line per function: its title, how many runs reached a minimum, and the fastest.

    For a function with no minimum, the fastest is the first run out of the plotted box.
    """
    lines = []
    for name, runs in demo.runs.items():
        function = demo.functions[name]
        if len(function.minima):
            count = f"{sum(run.reached for run in runs.values())} of {len(runs)}"
            done = [(run.result.nit, method) for method, run in runs.items() if run.reached]
        else:
            count = "no minimum"
            done = [(run.result.nit, method) for method, run in runs.items()
                    if len(run.path) and _outside(run.path[-1], np.asarray(function.bounds))]
        fastest = "\N{EM DASH}"
        if done:
            steps, method = min(done)
            fastest = f"{method} ({_steps(steps)})"
        lines.append((function.title, count, fastest))
    return lines


def digits_summary(demo: DemoResults) -> list[tuple[str, str, str, str, str, str]]:
    """One line per digits run: its label (``"mini-batch / SGD"`` for a run in both
    comparisons), learning rate, batch size, final training loss, test accuracy and time,
    as text; no lines when the demo left the digits out."""
    if demo.digits is None:
        return []
    labels: dict[int, list[str]] = {}
    runs: dict[int, Training] = {}
    for compared in (demo.digits.variants, demo.digits.optimizers):
        for label, run in compared.items():
            labels.setdefault(id(run), []).append(label)
            runs[id(run)] = run
    return [(" / ".join(labels[key]), f"{_rate(run):g}",
             str(run.batch_size or demo.digits.n_train), f"{run.loss[-1]:.3g}",
             f"{run.accuracy:.1%}", f"{run.seconds:.2f} s") for key, run in runs.items()]


def write_report(demo: DemoResults, path: str | os.PathLike[str]) -> Path:
    """Write the demo's HTML report to ``path``: a section per function, then the digits.

    Returns
    -------
    Path
        ``path``, as written.
    """
    methods = list(dict.fromkeys(m for runs in demo.runs.values() for m in runs))
    title = "steepest demo: gradient descent on classic surfaces"
    if demo.digits is not None:
        title += " and handwritten digits"
    report = Report(title, subtitle=f"steepest {__version__}, {demo.started:%Y-%m-%d %H:%M}")
    intro = (f"{len(methods)} optimizers ({', '.join(methods)}) ran from the same start on "
             f"{len(demo.runs)} test functions, each with a learning rate chosen for that "
             "function." if demo.runs else "")
    if demo.digits is not None:
        ways = []
        if demo.digits.variants:
            ways.append(f"by {_and(list(demo.digits.variants))} descent")
        if demo.digits.optimizers:
            ways.append(f"with {_and(list(demo.digits.optimizers))}")
        intro += (f" {'Then a' if intro else 'A'} small neural network learned to read "
                  f"handwritten digits{', ' + ', and '.join(ways) if ways else ''}.")
    report.add_paragraph(f"{intro.strip()} The runs took {demo.seconds:.1f} s in all.")
    if demo.runs:
        report.add_paragraph(
            "How to read the figures of the surfaces. Left: the paths over the contours of f "
            "(light is low); stars are the minima, the white circle is the start, and the "
            "markers are spaced evenly in steps, so they crowd where a method is slow; the "
            "larger, outlined marker is where it stopped. Right: the distance to the minimum "
            "value, f(x_k) - f*, against the step k, both on log scales when the runs differ a "
            "lot in length. Newton and L-BFGS are dashed: they choose their own step lengths "
            "by line search, so they have no learning rate (—)."
        )
    for name, runs in demo.runs.items():
        function = demo.functions[name]
        report.add_heading(function.title)
        report.add_paragraph(function.description)
        for finding in _findings(function, runs):
            report.add_paragraph(finding)
        figure = plot_comparison(function, {m: run.result for m, run in runs.items()})
        report.add_figure(figure, alt=f"Paths and loss curves on {function.title}")
        report.add_table(_rows(function, runs), columns=_COLUMNS,
                         formats={"lr": "g", "time (ms)": ".1f", "distance to minimum": ".1e",
                                  "final f": ".4g"})
    if demo.digits is not None:
        _digits_sections(report, demo.digits)
    if demo.lesson is not None:
        from steepest.lesson import add_lesson

        add_lesson(report, demo.lesson)
    return report.write(path)


def run_demo(out_dir: str | os.PathLike[str] = "steepest-demo", *, max_iter: int | None = None,
             epochs: int | None = None) -> Path:
    """Run the demo and write ``report.html`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like, default="steepest-demo"
        The directory for the report; created when missing.
    max_iter : int, optional
        Cap every run on the surfaces at this many steps, for a quick look.
    epochs : int, optional
        Cap every run on the digits at this many epochs, for a quick look.

    Returns
    -------
    Path
        The report's path.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # fail before the work, not after
    return write_report(collect(max_iter=max_iter, epochs=epochs), out_dir / "report.html")


# -- helpers ------------------------------------------------------------------------------

_COLUMNS = ("optimizer", "lr", "steps", "final f", "distance to minimum", "success", "message",
            "time (ms)")


def _run(function: TestFunction, start: np.ndarray, method: str, lr: float | None,
         max_iter: int) -> Run:
    options: dict[str, Any] = {} if lr is None else {"lr": lr}
    if method == "newton":
        options["hess"] = function.hessian
    if not len(function.minima):  # unbounded below: stop once out of the plotted box
        options["callback"] = partial(_outside, bounds=np.asarray(function.bounds, float))
    clock = time.perf_counter()
    result = minimize(function.value_and_grad, start, method=method, jac=True,
                      max_iter=max_iter, **options)
    seconds = time.perf_counter() - clock
    return Run(method, lr, result, seconds, _distance(function, result.x))


def _outside(x: np.ndarray, bounds: np.ndarray) -> bool:
    """Whether ``x`` lies outside the box ``bounds`` of shape (d, 2)."""
    return bool(np.any(x < bounds[:, 0]) or np.any(x > bounds[:, 1]))


def _distance(function: TestFunction, x: np.ndarray) -> float | None:
    """Distance from ``x`` to the nearest known minimum; None when there is none."""
    minima = np.asarray(function.minima)
    if not len(minima):
        return None
    return float(np.min(np.linalg.norm(minima - np.asarray(x, float), axis=1)))


def _rows(function: TestFunction, runs: dict[str, Run]) -> list[list[object]]:
    return [[method, run.lr, run.result.nit, float(run.result.fun),
             run.distance, bool(run.result.success), _short(run.result.message),
             1e3 * run.seconds]
            for method, run in runs.items()]


def _findings(function: TestFunction, runs: dict[str, Run]) -> list[str]:
    """Plain sentences on how the runs ended: who got there, who escaped, who did not."""
    if not len(function.minima):
        return [_escapes(function, runs)]
    reached: dict[int, list[tuple[int, str]]] = {}  # minimum's row -> (steps, method)
    short = []
    for method, run in runs.items():
        if run.reached:
            nearest = int(np.argmin(np.linalg.norm(function.minima - run.result.x, axis=1)))
            reached.setdefault(nearest, []).append((run.result.nit, method))
        else:
            short.append(method)
    sentences = []
    for row, ran in sorted(reached.items(), key=lambda item: min(item[1])):
        listed = ", ".join(f"{m} ({_steps(n)})" for n, m in sorted(ran))
        where = f" at ({_fmt(function.minima[row])})" if len(function.minima) > 1 else ""
        sentences.append(f"Reached the minimum{where}, within {_NEAR:g}, fastest first: "
                         f"{listed}.")
    if short:
        sentences.append(f"Still farther than {_NEAR:g} from a minimum when they stopped: "
                         f"{', '.join(short)}.")
    return sentences


def _escapes(function: TestFunction, runs: dict[str, Run]) -> str:
    """For a function with no minimum: when each run left the plotted box, if it did."""
    (x0, x1), (y0, y1) = function.bounds
    left, stayed = [], []
    for method, run in runs.items():
        path = np.asarray(run.path, float)
        outside = ~((path[:, 0] >= x0) & (path[:, 0] <= x1)
                    & (path[:, 1] >= y0) & (path[:, 1] <= y1))
        if outside.any():
            left.append((int(np.argmax(outside)), method))
        else:
            stayed.append(method)
    parts = []
    if left:
        listed = ", ".join(f"{m} ({_steps(k)})" for k, m in sorted(left))
        parts.append(f"Escaped the plotted box, fastest first: {listed}. (The demo stops a "
                     "run there, through minimize's callback.)")
    if stayed:
        final = ", ".join(f"{m} at ({_fmt(runs[m].result.x)})" for m in stayed)
        parts.append(f"Still inside when they stopped: {final}.")
    return " ".join(parts)


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _short(message: str) -> str:
    """The first clause of a result's message: what happened, without the advice."""
    return re.split(r"; |: |\. (?=[A-Z])", str(message), maxsplit=1)[0].rstrip(".")


def _fmt(x: np.ndarray) -> str:
    return ", ".join(f"{v:.3g}" if math.isfinite(v) else str(v) for v in np.asarray(x, float))


# -- the digits -----------------------------------------------------------------------------

_DIGITS_COLUMNS = ("{what}", "lr", "batch size", "epochs", "updates", "final training loss",
                   "test accuracy", "time (s)")
_DIGITS_FORMATS = {"lr": "g", "batch size": ",d", "updates": ",d",
                   "final training loss": ".3g", "test accuracy": ".1%", "time (s)": ".2f"}


def _train(descent: Descent, epochs: int, X_train: np.ndarray, y_train: np.ndarray,
           X_test: np.ndarray, y_test: np.ndarray) -> Training:
    """Train one network epoch by epoch, measuring the training loss after each.

    ``partial_fit`` runs exactly the epochs ``fit(epochs=epochs)`` would (same weights,
    same batch orders); between the calls the loss is measured on the whole training set,
    outside the training clock of ``history_["time"]``.
    """
    from sklearn.metrics import log_loss

    from steepest.estimators import MLPClassifier

    model = MLPClassifier(_HIDDEN, optimizer=descent.optimizer, lr=descent.optimizer.lr,
                          batch_size=descent.batch_size, epochs=epochs, alpha=0.0, tol=None,
                          random_state=_SEED)
    classes = np.unique(y_train)
    losses = []
    for _ in range(epochs):
        model.partial_fit(X_train, y_train, classes=classes)
        losses.append(log_loss(y_train, model.predict_proba(X_train), labels=classes))
    n_batches = 1 if descent.batch_size is None else math.ceil(len(y_train) / descent.batch_size)
    return Training(descent.optimizer, descent.batch_size, n_batches,
                    loss=np.array(losses), time=np.array(model.history_["time"]),
                    lr=np.array(model.history_["lr"]),
                    accuracy=float(model.score(X_test, y_test)), model=model)


def _digits_sections(report: Any, digits: DigitsResults) -> None:
    """The two digits sections: the variants of descent, then the optimizers."""
    variants, optimizers = digits.variants, digits.optimizers
    about = (
        f"scikit-learn's bundled handwritten digits: {digits.n_train + digits.n_test:,} images "
        f"of 8 × 8 pixels scaled to [0, 1], {digits.n_classes} classes, split once and "
        f"stratified into {digits.n_train:,} for training and {digits.n_test} for testing. "
        f"Every run trains the same network of {digits.n_features} inputs, {_HIDDEN[0]} ReLU "
        f"units and {digits.n_classes} outputs, MLPClassifier({_HIDDEN}, alpha=0), from the "
        f"same initial weights for {_count(digits.epochs, 'epoch')} (an epoch is one pass "
        "over the training digits). Without a penalty (alpha=0), the training loss is the "
        "cross-entropy over the training digits, measured after each epoch; time is the "
        "time spent training."
    )
    if variants:
        report.add_heading(f"Digits: {_and(list(variants))} descent")
        report.add_paragraph(about)
        about = ""
        report.add_paragraph(_variants_intro(variants, digits.n_train))
        for finding in _variant_findings(variants, digits.n_test):
            report.add_paragraph(finding)
        report.add_figure(plot_training_curves({k: run.curves for k, run in variants.items()}),
                          alt=f"Training loss of {_and(list(variants))} descent against epoch "
                              "and against time")
        report.add_table(_digits_rows(variants, digits.n_train), columns=_columns("variant"),
                         formats=_DIGITS_FORMATS)
    if optimizers:
        report.add_heading(f"Digits: {_and(list(optimizers))}")
        if about:
            report.add_paragraph(about)
        shared = [(v, o) for v, run in variants.items() for o, other in optimizers.items()
                  if run is other]
        report.add_paragraph(
            f"{'Then o' if variants else 'O'}ptimizers on the same network and budget"
            f"{_batch_phrase(optimizers)}: {_optimizer_list(optimizers)}."
            + "".join(f" The {v} run above is the {o} run here." for v, o in shared)
            + _same_rate(optimizers)
        )
        for finding in _optimizer_findings(optimizers, digits.n_test):
            report.add_paragraph(finding)
        styles = {label: optimizer_style(_style_key(run.optimizer))
                  for label, run in optimizers.items()}
        report.add_figure(
            plot_training_curves({k: run.curves for k, run in optimizers.items()},
                                 styles=styles),
            alt=f"Training loss of {_and(list(optimizers))} against epoch and against time")
        report.add_table(_digits_rows(optimizers, digits.n_train),
                         columns=_columns("optimizer"), formats=_DIGITS_FORMATS)


def _variants_intro(runs: dict[str, Training], n_train: int) -> str:
    """What each variant puts behind one update, and with which optimizer and rate."""
    parts = []
    for label, run in runs.items():
        size = run.batch_size if run.batch_size is not None and run.batch_size < n_train \
            else None
        behind = "the whole training set" if size is None else \
            "one digit" if size == 1 else f"{size} digits"
        parts.append(f"{label} ({behind} per update, lr={_rate(run):g})")
    kinds = {_optimizer_name(run.optimizer) for run in runs.values()}
    text = (f"First {'the same optimizer, ' + kinds.pop() + ', ' if len(kinds) == 1 else ''}"
            f"on batches of {_NUMBERS.get(len(runs), str(len(runs)))} sizes: {_and(parts)}.")
    by_size = sorted(runs.values(), key=lambda run: run.batch_size or n_train)
    rates = [_rate(run) for run in by_size]
    if len(runs) > 1 and rates == sorted(rates):
        text += (" The fewer digits behind an update, the noisier its gradient, and the "
                 "smaller the learning rate it takes.")
    return text


_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def _optimizer_name(optimizer: optim.Optimizer) -> str:
    """``"plain SGD"``, ``"SGD with momentum 0.9"``, or the class name."""
    name = type(optimizer).__name__
    if isinstance(optimizer, optim.SGD):
        momentum = getattr(optimizer, "momentum", 0.0)
        return f"SGD with momentum {momentum:g}" if momentum else "plain SGD"
    return name


def _batch_phrase(runs: dict[str, Training]) -> str:
    sizes = {run.batch_size for run in runs.values()}
    if len(sizes) != 1:
        return ""
    size = sizes.pop()
    return " on the whole training set" if size is None else \
        " with one digit per update" if size == 1 else f" with mini-batches of {size}"


def _columns(what: str) -> tuple[str, ...]:
    return (what, *_DIGITS_COLUMNS[1:])


def _digits_rows(runs: dict[str, Training], n_train: int) -> list[list[object]]:
    return [[label, _rate(run), run.batch_size or n_train, run.epochs, run.updates,
             float(run.loss[-1]), run.accuracy, run.seconds]
            for label, run in runs.items()]


def _rate(run: Training) -> float:
    return float(run.optimizer.lr)


def _variant_findings(runs: dict[str, Training], n_test: int) -> list[str]:
    """Per epoch, per second, and on the test digits: which variant did best."""
    epochs = max(run.epochs for run in runs.values())
    by_loss = sorted(runs, key=lambda k: runs[k].loss[-1])
    best = by_loss[0]
    per_epoch = (
        f"Per epoch, {best} descent went furthest: after {_count(epochs, 'epoch')} its "
        f"training loss was {runs[best].loss[-1]:.3g}, against "
        f"{_against({k: runs[k].loss[-1] for k in by_loss[1:]}, '.3g')}. Every epoch sees "
        "each training digit once, but in "
        f"{_against({k: runs[k].updates_per_epoch for k in by_loss}, ',d', unit='update')}, "
        "and an epoch took on average "
        f"{_against({k: 1e3 * runs[k].seconds / runs[k].epochs for k in by_loss}, '.3g', 'ms')}"
        "."
    )
    # Per second: how long each took to get as low as the worst of them ended.
    worst = by_loss[-1]
    level = runs[worst].loss[-1]
    reached = {k: float(run.time[int(np.argmax(run.loss <= level))]) for k, run in runs.items()}
    by_time = sorted(reached, key=reached.get)
    per_second = (
        f"Per second {'the winner is the same' if by_time[0] == best else 'the order changes'}"
        f": the training loss of {level:.3g}, where {worst} descent ended, was reached first "
        f"by {by_time[0]} descent, after {reached[by_time[0]]:.3g} s, against "
        f"{_against({k: reached[k] for k in by_time[1:]}, '.3g', 's')} (the loss is measured "
        "at the end of each epoch)."
    )
    return [per_epoch, per_second, _accuracy_sentence(runs, n_test), *_guard_notes(runs)]


def _optimizer_findings(runs: dict[str, Training], n_test: int) -> list[str]:
    """Who reached the lowest loss, how soon the others matched the first, and the costs."""
    epochs = max(run.epochs for run in runs.values())
    by_loss = sorted(runs, key=lambda k: runs[k].loss[-1])
    sentences = [
        f"After {_count(epochs, 'epoch')}, the lowest training loss was {by_loss[0]}'s, "
        f"{runs[by_loss[0]].loss[-1]:.3g}, against "
        f"{_against({k: runs[k].loss[-1] for k in by_loss[1:]}, '.3g')}."
    ]
    first, *others = runs
    level = runs[first].loss[-1]
    matched = {k: int(np.argmax(runs[k].loss <= level)) + 1 for k in others
               if (runs[k].loss <= level).any()}
    if matched:
        missed = [k for k in others if k not in matched]
        sentences.append(
            f"{first}'s final loss, {level:.3g}, was reached "
            + _and([f"by {k} after {_count(n, 'epoch')}" for k, n in matched.items()])
            + (f"; {_and(missed)} never reached it" if missed else "") + "."
        )
    seconds = {k: run.seconds for k, run in runs.items()}
    ratio = max(seconds.values()) / min(seconds.values())
    sentences.append(
        f"The runs took {_against(seconds, '.2f', 's')}"
        + (f", within a factor of {ratio:.2g} of each other, so the loss against time looks "
           "much like the loss against epoch." if ratio < 1.5 else
           f": the slowest took {ratio:.2g} times as long as the fastest.")
    )
    sentences.append(_accuracy_sentence(runs, n_test))
    return sentences + _guard_notes(runs)


def _accuracy_sentence(runs: dict[str, Training], n_test: int) -> str:
    """The test accuracies, best first, and how much their differences say.

    A gap of fewer test digits than two binomial standard deviations of the count
    right is called too small to rank the runs by.
    """
    right = {k: round(runs[k].accuracy * n_test) for k in
             sorted(runs, key=lambda k: -runs[k].accuracy)}
    listed = _and([f"{100 * runs[k].accuracy:.1f}% for {k} ({n} right)"
                   for k, n in right.items()])
    text = f"On the {n_test} test digits, accuracy was {listed}."
    p = sum(right.values()) / (n_test * len(right))
    noise = 2 * math.sqrt(n_test * p * (1 - p))
    gap = max(right.values()) - min(right.values())
    lowest = min(runs, key=lambda k: runs[k].loss[-1])
    if len(right) > 1 and gap <= noise:
        text += (f" A gap of {_count(gap, 'digit')} is too small to rank them by: on "
                 f"{n_test} test digits, chance alone moves the count by about "
                 f"{noise / 2:.0f} either way.")
    elif max(right.values()) - right[lowest] > noise:
        text += (f" The lowest training loss ({lowest}) did not give the best test accuracy: "
                 "fitting the training digits more closely does not always help on new ones.")
    return text


def _guard_notes(runs: dict[str, Training]) -> list[str]:
    """A sentence for each run whose learning rate the divergence guard cut."""
    return [f"The divergence guard cut {label}'s learning rate from {_rate(run):g} to "
            f"{run.lr[-1]:.3g}: the loss rose sharply at the rate given."
            for label, run in runs.items() if len(run.lr) and run.lr[-1] < _rate(run)]


def _against(values: dict[str, float], spec: str, unit: str | None = None) -> str:
    """``"0.5 for a, 0.25 for b and 0.1 for c"`` (or ``"3 updates for a"`` with a unit)."""
    parts = []
    for label, value in values.items():
        number = format(value, spec)
        if unit in ("s", "ms", "%"):
            number += unit if unit == "%" else f" {unit}"
        elif unit:
            number = f"{number} {unit}{'' if value == 1 else 's'}"
        parts.append(f"{number} for {label}")
    return _and(parts)


def _and(parts: Sequence[str]) -> str:
    """``"a, b and c"``."""
    parts = list(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _optimizer_list(runs: dict[str, Training]) -> str:
    """``"SGD (lr=0.1), SGD + momentum (momentum=0.9, lr=0.1) and Adam (lr=0.003)"``."""
    parts = []
    for label, run in runs.items():
        settings = [f"lr={_rate(run):g}"]
        momentum = getattr(run.optimizer, "momentum", 0.0)
        if momentum:
            settings.insert(0, f"momentum={momentum:g}")
        parts.append(f"{label} ({', '.join(settings)})")
    return _and(parts)


def _same_rate(runs: dict[str, Training]) -> str:
    """A sentence on the runs with the same optimizer class and rate, differing in momentum."""
    sgd = {k: run for k, run in runs.items() if isinstance(run.optimizer, optim.SGD)}
    if len(sgd) < 2 or len({_rate(run) for run in sgd.values()}) > 1:
        return ""
    text = (f" {_and(list(sgd))} share their learning rate, so momentum is the only "
            "difference between them")
    adaptive = [k for k in runs if k not in sgd]  # every other steepest.optim rule is
    if adaptive:
        one = len(adaptive) == 1
        text += (f"; {_and(adaptive)} scale{'s' if one else ''} each parameter's step by "
                 f"that parameter's own gradients, so {'its' if one else 'their'} rates are "
                 "on another scale")
    return text + "."


def _style_key(optimizer: optim.Optimizer) -> str:
    """The name :func:`steepest.plot.optimizer_style` knows the optimizer by."""
    name = type(optimizer).__name__.lower()
    if name == "sgd":
        return "gd" if not getattr(optimizer, "momentum", 0.0) else \
            "nesterov" if getattr(optimizer, "nesterov", False) else "momentum"
    return name
