"""The demo behind ``steepest demo``: several optimizers on classic surfaces, one report.

:func:`run_demo` runs each optimizer from the same start on four 2-D test
functions, each chosen to show one difficulty of descent, and writes
``report.html``: the paths over a contour plot, loss against step, and a table of
how each run ended::

    from steepest.demo import run_demo
    path = run_demo("steepest-demo")

``collect`` and ``write_report`` are the two halves, for callers that want the
numbers as well as the page. Everything is deterministic: the same version gives
the same runs.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from steepest._validation import check_number
from steepest.functions import TestFunction, get

__all__ = ["PROBLEMS", "DemoResults", "Problem", "Run", "collect", "run_demo", "summary",
           "write_report"]


@dataclass(frozen=True)
class Problem:
    """One test function of the demo and how each optimizer is run on it.

    Attributes
    ----------
    function : str
        A name for :func:`steepest.functions.get`.
    learning_rates : dict of str to float or None
        Optimizer (a method of :func:`steepest.minimize`) to its learning rate;
        ``None`` keeps the method's default.
    max_iter : int
        The step budget of every run.
    start : tuple of float, optional
        Where to start, when not the function's customary start.
    """

    function: str
    learning_rates: dict[str, float | None]
    max_iter: int
    start: tuple[float, ...] | None = None


PROBLEMS: tuple[Problem, ...] = (
    Problem("rosenbrock", max_iter=3000, learning_rates={
        "gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.5, "rmsprop": 5e-3,
        "adam": 0.1, "nadam": 0.01, "lbfgs": None, "newton": None}),
    Problem("saddle", max_iter=300, learning_rates={
        "gd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.2, "rmsprop": 0.01,
        "adam": 0.05, "nadam": 0.05, "lbfgs": None, "newton": None}),
    Problem("himmelblau", max_iter=1000, learning_rates={
        "gd": 0.01, "momentum": 2e-3, "nesterov": 2e-3, "adagrad": 0.5, "rmsprop": 0.05,
        "adam": 0.1, "nadam": 0.1, "lbfgs": None, "newton": None}),
    Problem("quadratic", max_iter=600, learning_rates={
        "gd": 0.018, "momentum": 5e-3, "nesterov": 5e-3, "adagrad": 0.5, "rmsprop": 5e-3,
        "adam": 0.05, "nadam": 0.05, "lbfgs": None, "newton": None}),
)
"""The demo's functions, each with its optimizers, learning rates and step budget."""

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
class DemoResults:
    """Every run of the demo, by function name then optimizer name, and the total time."""

    functions: dict[str, TestFunction]
    runs: dict[str, dict[str, Run]]
    seconds: float
    started: datetime = field(default_factory=datetime.now)


def collect(problems: Sequence[Problem] = PROBLEMS, *, max_iter: int | None = None
            ) -> DemoResults:
    """Run every optimizer of every problem.

    Parameters
    ----------
    problems : sequence of Problem, default=PROBLEMS
        What to run.
    max_iter : int, optional
        Cap every run at this many steps (a quick look; the full demo by default).

    Returns
    -------
    DemoResults
    """
    if max_iter is not None:
        check_number(max_iter, "max_iter", "collect", low=1, integer=True)
    started, clock = datetime.now().astimezone(), time.perf_counter()
    functions, runs = {}, {}
    for problem in problems:
        function = get(problem.function)
        budget = problem.max_iter if max_iter is None else min(max_iter, problem.max_iter)
        start = function.start if problem.start is None else np.asarray(problem.start, float)
        functions[function.name] = function
        runs[function.name] = {method: _run(function, start, method, lr, budget)
                               for method, lr in problem.learning_rates.items()}
    return DemoResults(functions, runs, time.perf_counter() - clock, started)


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


def write_report(demo: DemoResults, path: str | os.PathLike[str]) -> Path:
    """Write the demo's HTML report to ``path``: a section per function.

    Returns
    -------
    Path
        ``path``, as written.
    """
    from steepest import __version__
    from steepest.plot import plot_comparison
    from steepest.report import Report

    methods = list(dict.fromkeys(m for runs in demo.runs.values() for m in runs))
    report = Report("steepest demo: gradient descent on classic surfaces",
                    subtitle=f"steepest {__version__}, {demo.started:%Y-%m-%d %H:%M}")
    report.add_paragraph(
        f"{len(methods)} optimizers ({', '.join(methods)}) ran from the same start on "
        f"{len(demo.runs)} test functions, each with a learning rate chosen for that "
        f"function; the runs took {demo.seconds:.1f} s in all."
    )
    report.add_paragraph(
        "How to read the figures. Left: the paths over the contours of f (light is low); "
        "stars are the minima, the white circle is the start, and the markers are spaced "
        "evenly in steps, so they crowd where a method is slow; the larger, outlined marker "
        "is where it stopped. Right: the distance to the minimum value, f(x_k) - f*, against "
        "the step k, both on log scales when the runs differ a lot in length. Newton and "
        "L-BFGS are dashed: they choose their own step lengths by line search, so they have "
        "no learning rate (—)."
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
    return report.write(path)


def run_demo(out_dir: str | os.PathLike[str] = "steepest-demo", *, max_iter: int | None = None
             ) -> Path:
    """Run the demo and write ``report.html`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like, default="steepest-demo"
        The directory for the report; created when missing.
    max_iter : int, optional
        Cap every run at this many steps, for a quick look.

    Returns
    -------
    Path
        The report's path.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # fail before the work, not after
    return write_report(collect(max_iter=max_iter), out_dir / "report.html")


# -- helpers ------------------------------------------------------------------------------

_COLUMNS = ("optimizer", "lr", "steps", "final f", "distance to minimum", "success", "message",
            "time (ms)")


def _run(function: TestFunction, start: np.ndarray, method: str, lr: float | None,
         max_iter: int) -> Run:
    from steepest import minimize

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
