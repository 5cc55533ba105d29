"""Task samplers: a task is ``(X_support, y_support, X_query, y_query)`` drawn from ``rng``.

A sampler is any callable ``rng -> task`` (``rng`` a :class:`numpy.random.Generator`);
:class:`~steepest.meta.MAML` and :class:`~steepest.meta.Reptile` draw their
meta-batches from one. Two are here: Finn et al.'s (2017) sine waves and N-way
K-shot classification over a labelled data set.
"""

from __future__ import annotations

import math

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError

__all__ = ["ClassTasks", "SineTasks", "class_tasks", "sine_tasks"]


class SineTasks:
    r"""Sine-wave regression tasks, :math:`y = A \sin(x - \varphi)` (Finn et al., 2017, §5.1).

    Each task draws an amplitude :math:`A \sim U[a_0, a_1]` and a phase
    :math:`\varphi \sim U[p_0, p_1]`, then ``k_shot`` support and ``k_query``
    query inputs :math:`x \sim U[x_0, x_1]`. Made by :func:`sine_tasks`.

    Attributes
    ----------
    k_shot, k_query : int
    amplitude, phase, x_range : tuple of float
    """

    def __init__(self, k_shot: int, k_query: int, amplitude, phase, x_range) -> None:
        self.k_shot, self.k_query = k_shot, k_query
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range

    def __call__(self, rng: np.random.Generator):
        """One task: X_support (k_shot, 1), y_support (k_shot,), X_query (k_query, 1),
        y_query (k_query,)."""
        return self.task(rng, *self.draw(rng))

    def batch(self, rng: np.random.Generator, n_tasks: int):
        """``n_tasks`` tasks drawn at once, stacked: X_support (n_tasks, k_shot, 1), y_support
        (n_tasks, k_shot), X_query (n_tasks, k_query, 1), y_query (n_tasks, k_query).

        The same distribution as ``n_tasks`` calls, drawn in another order (so other
        tasks from the same seed); what the meta-learners use.
        """
        amplitude = rng.uniform(*self.amplitude, size=(n_tasks, 1))
        phase = rng.uniform(*self.phase, size=(n_tasks, 1))
        X = rng.uniform(*self.x_range, size=(n_tasks, self.k_shot + self.k_query, 1))
        y = amplitude * np.sin(X[:, :, 0] - phase)
        k = self.k_shot
        return X[:, :k], y[:, :k], X[:, k:], y[:, k:]

    def draw(self, rng: np.random.Generator) -> tuple[float, float]:
        """A task's ``(amplitude, phase)``."""
        return float(rng.uniform(*self.amplitude)), float(rng.uniform(*self.phase))

    def task(self, rng: np.random.Generator, amplitude: float, phase: float):
        """The support and query samples of the task with this amplitude and phase."""
        X = rng.uniform(*self.x_range, size=(self.k_shot + self.k_query, 1))
        y = self.curve(X[:, 0], amplitude, phase)
        return X[:self.k_shot], y[:self.k_shot], X[self.k_shot:], y[self.k_shot:]

    @staticmethod
    def curve(x, amplitude: float, phase: float) -> np.ndarray:
        r""":math:`A \sin(x - \varphi)` at ``x``."""
        return amplitude * np.sin(np.asarray(x, dtype=float) - phase)

    def __repr__(self) -> str:
        return (f"sine_tasks(k_shot={self.k_shot}, k_query={self.k_query}, "
                f"amplitude={self.amplitude}, phase={self.phase}, x_range={self.x_range})")


def sine_tasks(k_shot: int = 10, *, k_query: int | None = None, amplitude=(0.1, 5.0),
               phase=(0.0, math.pi), x_range=(-5.0, 5.0)) -> SineTasks:
    """Finn et al.'s sine-wave regression tasks as a sampler ``rng -> task``.

    Parameters
    ----------
    k_shot : int, default=10
        Support samples per task (K).
    k_query : int, optional
        Query samples per task; defaults to ``k_shot`` (as in the paper's meta-training).
    amplitude, phase, x_range : pair of float
        The uniform ranges; the defaults are the paper's: U[0.1, 5], U[0, π], U[−5, 5].

    Returns
    -------
    SineTasks
    """
    check_number(k_shot, "k_shot", "sine_tasks", low=1, integer=True)
    k_query = k_shot if k_query is None else k_query
    check_number(k_query, "k_query", "sine_tasks", low=1, integer=True)
    ranges = {"amplitude": amplitude, "phase": phase, "x_range": x_range}
    for name, pair in ranges.items():
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and pair[0] <= pair[1]):
            raise ParameterError(
                f"The {name!r} parameter of sine_tasks must be a pair (low, high) with low <= "
                f"high. Got {pair!r} instead."
            )
    return SineTasks(k_shot, k_query, *(tuple(float(v) for v in ranges[name]) for name in ranges))


class ClassTasks:
    """N-way K-shot classification tasks over a labelled data set. Made by :func:`class_tasks`.

    Each task picks ``n_way`` of ``classes`` at random, relabels them 0..n_way-1 in a
    random order, and draws ``k_shot`` support and ``k_query`` query samples of each
    (without replacement), grouped by class.

    Attributes
    ----------
    n_way, k_shot, k_query : int
    classes : ndarray
        The labels tasks are drawn from.
    """

    def __init__(self, X, y, n_way, k_shot, k_query, classes) -> None:
        self.n_way, self.k_shot, self.k_query, self.classes = n_way, k_shot, k_query, classes
        self._X = X
        self._rows = {label: np.flatnonzero(y == label) for label in classes.tolist()}

    def __call__(self, rng: np.random.Generator):
        """X_support (n_way·k_shot, n_features), y_support (n_way·k_shot,) with labels
        0..n_way-1, and the query set likewise (n_way·k_query rows)."""
        chosen = rng.choice(self.classes, self.n_way, replace=False)
        support, query = [], []
        for label in chosen.tolist():
            rows = rng.choice(self._rows[label], self.k_shot + self.k_query, replace=False)
            support.append(rows[:self.k_shot])
            query.append(rows[self.k_shot:])
        y_support = np.repeat(np.arange(self.n_way), self.k_shot)
        y_query = np.repeat(np.arange(self.n_way), self.k_query)
        return (self._X[np.concatenate(support)], y_support, self._X[np.concatenate(query)],
                y_query)

    def batch(self, rng: np.random.Generator, n_tasks: int):
        """``n_tasks`` tasks, stacked along a first axis (as :meth:`SineTasks.batch`)."""
        tasks = [self(rng) for _ in range(n_tasks)]
        return tuple(np.stack([task[i] for task in tasks]) for i in range(4))

    def __repr__(self) -> str:
        return (f"class_tasks(n_way={self.n_way}, k_shot={self.k_shot}, k_query={self.k_query},"
                f" classes={self.classes.tolist()})")


def class_tasks(X, y, n_way: int = 5, k_shot: int = 1, *, k_query: int = 15,
                classes=None) -> ClassTasks:
    """N-way K-shot classification tasks over ``(X, y)``, as a sampler ``rng -> task``.

    Split the classes between meta-training and meta-testing with ``classes``:
    ``class_tasks(X, y, classes=range(5))`` for training and
    ``class_tasks(X, y, classes=range(5, 10))`` for testing draw from disjoint classes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        The labels.
    n_way : int, default=5
        Classes per task, >= 2.
    k_shot : int, default=1
        Support samples per class.
    k_query : int, default=15
        Query samples per class.
    classes : sequence of labels, optional
        The labels to draw from (default: every label in ``y``); each needs at least
        ``k_shot + k_query`` samples.

    Returns
    -------
    ClassTasks
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ParameterError(
            f"class_tasks needs X of shape (n_samples, n_features) and y of shape (n_samples,); "
            f"got X of shape {X.shape} and y of shape {y.shape}."
        )
    check_number(n_way, "n_way", "class_tasks", low=2, integer=True)
    check_number(k_shot, "k_shot", "class_tasks", low=1, integer=True)
    check_number(k_query, "k_query", "class_tasks", low=1, integer=True)
    labels = np.unique(y) if classes is None else np.asarray(list(classes))
    if labels.size < n_way:
        raise ParameterError(
            f"class_tasks draws {n_way} classes per task but has only {labels.size} to draw "
            f"from ({labels.tolist()}); lower n_way or pass more classes."
        )
    for label in labels.tolist():
        count = int(np.sum(y == label))
        if count < k_shot + k_query:
            raise ParameterError(
                f"class_tasks needs {k_shot + k_query} samples of each class (k_shot + k_query); "
                f"class {label!r} has {count}. Lower k_query or k_shot."
            )
    return ClassTasks(X, y, n_way, k_shot, k_query, labels)
