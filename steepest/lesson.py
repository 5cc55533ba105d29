"""The demo's lesson: a run gone wrong, what steepest says about it, and the fix.

A linear regression on inputs of very different scales (an income in tens of
thousands beside an age in tens) with a learning rate that is far too high
diverges; :func:`steepest.diagnose.diagnose` explains why. The fixed run scales
the inputs and takes its rate from the LR range test (:func:`steepest.lr_find`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from steepest.diagnose import add_findings, diagnose
from steepest.errors import NonFiniteError
from steepest.lr_find import lr_find, plot_lr_find
from steepest.plot import plot_history

__all__ = ["Lesson", "collect_lesson", "add_lesson"]

FEATURES = ["income", "age"]
BAD_LR = 0.1


@dataclass
class Lesson:
    """Both runs, what the diagnosis found in each, and the LR range test."""

    bad: Any
    bad_error: str | None
    bad_findings: list
    fixed: Any
    fixed_findings: list
    range_test: Any
    X: np.ndarray
    y: np.ndarray


def spending_data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Yearly spending from income and age: ``spend = 0.1·income + 50·age + noise``,
    with income around 5e4 ± 3e4 and age around 40 ± 12 (badly scaled on purpose)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(5e4, 3e4, n), rng.normal(40, 12, n)])
    return X, X @ np.array([0.1, 50.0]) + rng.normal(0, 500, n)


def collect_lesson(epochs: int = 60) -> Lesson:
    """Run the bad and the fixed regression (about a second)."""
    from steepest.estimators import LinearRegression  # measured: scikit-learn costs 0.8 s

    X, y = spending_data()
    bad = LinearRegression(lr=BAD_LR, epochs=epochs, tol=None, random_state=0)
    error = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rollbacks are in the findings
        try:
            bad.fit(X, y)
        except NonFiniteError as raised:
            error = str(raised)
    bad_findings = diagnose(bad, X=X, feature_names=FEATURES)

    fixed = LinearRegression(scale=True, epochs=epochs, tol=None, random_state=0)
    range_test = lr_find(fixed, X, y, random_state=0)
    fixed.set_params(lr=range_test.suggestion).fit(X, y)
    return Lesson(bad, error, bad_findings, fixed, diagnose(fixed, X=X, feature_names=FEATURES),
                  range_test, X, y)


def add_lesson(report, lesson: Lesson) -> None:
    """The lesson's section of a :class:`~steepest.report.Report`."""
    from matplotlib.figure import Figure

    report.add_heading("A run gone wrong, diagnosed, and fixed")
    std = lesson.X.std(axis=0)
    report.add_paragraph(
        f"A linear regression of yearly spending on income (std {std[0]:.2g}) and age (std "
        f"{std[1]:.2g}), by full-batch gradient descent with lr={BAD_LR}: a rate that suits "
        "standardised inputs, on inputs that are not."
    )
    outcome = (f"It diverged: {lesson.bad_error}" if lesson.bad_error else
               "It did not diverge, but see what steepest found.")
    report.add_paragraph(outcome)
    add_findings(report, lesson.bad_findings)
    test = lesson.range_test
    report.add_paragraph(
        "The fix: scale=True standardises the inputs inside the model, and the LR range test "
        f"ramps the rate from {test.lrs[0]:.0e} up over {len(test.lrs)} updates, watching the "
        f"loss; it suggests lr={test.suggestion:.3g} ({test.rule})."
    )
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    plot_lr_find(test, figure.subplots())
    report.add_figure(figure, alt="Loss against learning rate in the LR range test",
                      caption="The LR range test: the loss against the rate (log scale); the "
                              "dot is the suggested rate.")
    score = lesson.fixed.score(lesson.X, lesson.y)
    report.add_paragraph(
        f"With it, the same {len(lesson.fixed.history_['loss'])} epochs bring the loss from "
        f"{lesson.fixed.history_['loss'][0]:.3g} to {lesson.fixed.history_['loss'][-1]:.3g} "
        f"(R² {score:.3f}); steepest's diagnosis of the fixed run:"
    )
    add_findings(report, lesson.fixed_findings)
    report.add_figure(plot_history(lesson.fixed.history_),
                      alt="Loss, learning rate and gradient norm of the fixed run",
                      caption="The fixed run, per epoch: loss, learning rate, gradient norm.")
