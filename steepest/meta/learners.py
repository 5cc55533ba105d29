"""MAML and Reptile: meta-train an estimator's network so that a few SGD steps fit a new task.

::

    from steepest import MLPRegressor
    from steepest.meta import MAML, sine_tasks

    tasks = sine_tasks(k_shot=10)
    maml = MAML(MLPRegressor((40, 40), random_state=0), inner_lr=0.01,
                random_state=0).fit(tasks, iterations=10_000)
    X, y, X_new, _ = tasks(rng)                  # a new task, ten samples
    model = maml.adapt(X, y, steps=10)           # an ordinary fitted MLPRegressor
    model.predict(X_new); model.save("adapted.safetensors")

The estimator gives the architecture, the loss (a regressor's mean squared error,
a classifier's cross-entropy) and, through its own ``random_state``, the initial
θ; the meta-learner's ``random_state`` seeds the tasks drawn. Penalty, clipping,
batch size and epochs of the estimator play no part: the inner loop is plain
full-batch SGD on the support set (:func:`steepest.meta.inner_loop`).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from steepest import losses, optim
from steepest._validation import check_number
from steepest.errors import NonFiniteError, ParameterError
from steepest.meta import _batched
from steepest.meta.gradient import (
    _check_tasks,
    _same_shapes,
    inner_loop,
    maml_gradient,
    stacked_gradient,
)

__all__ = ["MAML", "Reptile", "adapt"]


def adapt(estimator, X, y, steps: int, lr: float):
    """A copy of a fitted steepest estimator after ``steps`` SGD steps on ``(X, y)``.

    Fine-tuning as MAML's inner loop does it (:func:`~steepest.meta.inner_loop`:
    full batch, rate ``lr``, the estimator's loss, no penalty), from the
    estimator's current parameters. The copy is an ordinary fitted estimator
    (``predict``, ``score``, ``save``); its ``history_["loss"]`` holds the loss
    before each step and ``n_iter_`` the steps. ``estimator`` is not changed.

    Parameters
    ----------
    estimator : fitted steepest estimator (MLPRegressor, MLPClassifier, ...)
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    steps : int
    lr : float
    """
    check_number(steps, "steps", "adapt", low=0, integer=True)
    check_number(lr, "lr", "adapt", low=0.0)
    if not hasattr(estimator, "_network"):
        raise ParameterError(
            f"adapt needs a fitted steepest estimator; got {type(estimator).__name__} that has "
            "no network yet. Fit it (or meta-train it with MAML or Reptile) first."
        )
    model = _copy_for_adaptation(estimator)
    X, y = model._check_data(X, y, reset=False)
    y = model._targets(y, first=False)[0]
    network = model._network
    with np.errstate(over="ignore", invalid="ignore"):     # divergence: raised below
        values = inner_loop(network, losses.get(model._loss), model._standardize(X), y, lr, steps)
    if not np.isfinite(network.theta).all():
        raise NonFiniteError(
            f"adapt diverged with lr={lr}: the parameters became non-finite after {steps} steps. "
            "Lower lr."
        )
    model.history_ = {"loss": values}
    model.n_iter_ = steps
    return model


def _copy_for_adaptation(estimator):
    """A copy of a fitted estimator with its own network and fitted arrays, without the
    original's trainer and history (70,000 meta-iterations of history made each copy cost
    more than the adaptation)."""
    model = copy.copy(estimator)
    skipped = ("_trainer", "history_", "_network")
    model.__dict__ = copy.deepcopy({key: value for key, value in vars(estimator).items()
                                    if key not in skipped})
    model._network = copy.deepcopy(estimator._network)
    return model


class _MetaLearner:
    """What MAML and Reptile share: the estimator's set-up, the loop, history_ and adapt."""

    _name = "MetaLearner"

    def fit(self, tasks, iterations: int):
        """Meta-train from the estimator's initial θ for ``iterations`` meta-batches.

        Parameters
        ----------
        tasks : callable
            A sampler ``rng -> (X_support, y_support, X_query, y_query)`` such as
            :func:`~steepest.meta.sine_tasks`. When it also has ``batch(rng, n)``
            (tasks stacked along a first axis, as the samplers here do), meta-batches
            are drawn with it.
        iterations : int
            The number of meta-updates (each on ``meta_batch_size`` tasks).

        Returns
        -------
        self
            With ``estimator_`` (the meta-trained estimator: its network holds θ),
            ``history_`` (per meta-iteration: ``loss`` the mean query loss after
            adaptation, ``grad_norm`` the norm of the meta-gradient or update,
            ``lr``, ``time``) and ``n_iter_``.
        """
        self._check_params()
        check_number(iterations, "iterations", f"{self._name}.fit", low=0, integer=True)
        if not callable(tasks):
            raise ParameterError(
                f"The 'tasks' argument of {self._name}.fit must be a sampler rng -> (X_support, "
                f"y_support, X_query, y_query), e.g. steepest.meta.sine_tasks(); got "
                f"{type(tasks).__name__}."
            )
        rng = np.random.default_rng(self.random_state)
        self.estimator_ = self._start(tasks(rng))
        network = self.estimator_._network
        self._loss = losses.get(self.estimator_._loss)
        self._begin()
        history = {"loss": [], "grad_norm": [], "lr": [], "time": []}
        draw = getattr(tasks, "batch", None)
        fast = _batched.supports(network)
        start = time.perf_counter()
        for _ in range(iterations):
            if draw is not None:
                stacked = self._encode_stacked(draw(rng, self.meta_batch_size))
                if fast:
                    value, step_norm, lr = self._stacked_step(network, stacked)
                else:
                    batch = [tuple(part[t] for part in stacked) for t in range(len(stacked[0]))]
                    value, step_norm, lr = self._meta_step(network, batch)
            else:
                batch = [self._encode(tasks(rng)) for _ in range(self.meta_batch_size)]
                value, step_norm, lr = self._meta_step(network, batch)
            for key, number in zip(history, (value, step_norm, lr, time.perf_counter() - start),
                                   strict=True):
                history[key].append(float(number))
        self.history_ = history
        self.n_iter_ = iterations
        self.estimator_.history_ = history
        self.estimator_.n_iter_ = iterations
        return self

    def adapt(self, X, y, steps: int | None = None, lr: float | None = None):
        """The meta-trained estimator fine-tuned on one task's ``(X, y)``: a new fitted
        estimator (see :func:`steepest.meta.adapt`).

        ``steps`` defaults to ``inner_steps``, ``lr`` to ``inner_lr``.
        """
        if not hasattr(self, "estimator_"):
            raise ParameterError(f"This {self._name} is not meta-trained yet; call fit first.")
        return adapt(self.estimator_, X, y, self.inner_steps if steps is None else steps,
                     self.inner_lr if lr is None else lr)

    # -- the estimator ---------------------------------------------------------------

    def _start(self, task):
        """A fresh copy of the estimator, made fitted for tasks shaped like ``task``."""
        from sklearn.base import clone

        if not hasattr(self.estimator, "_build_network"):
            raise ParameterError(
                f"The 'estimator' parameter of {self._name} must be a steepest network estimator "
                f"(MLPRegressor, MLPClassifier, ...); got {type(self.estimator).__name__}."
            )
        model = clone(self.estimator)
        model._check_params()
        X_support, y_support = np.asarray(task[0], dtype=float), np.asarray(task[1])
        if X_support.ndim != 2:
            raise ParameterError(
                f"The tasks' X_support must have shape (n_samples, n_features); the sampler "
                f"gave shape {X_support.shape}."
            )
        model._dtype = np.dtype(np.float64)
        _, n_outputs = model._targets(y_support, first=True)
        model.n_features_in_ = X_support.shape[1]
        if model.scale:                     # tasks come as they are: the identity scaling
            model.input_mean_ = np.zeros(X_support.shape[1])
            model.input_scale_ = np.ones(X_support.shape[1])
        model._network = model._build_network(n_outputs)
        model.history_, model.n_iter_ = {"loss": []}, 0
        return model

    def _encode(self, task):
        """A sampled task with its targets as the estimator's loss takes them."""
        X_support, y_support, X_query, y_query = _check_tasks([task], self.estimator_._network)[0]
        targets = self.estimator_._targets
        return (X_support, targets(y_support, first=False)[0], X_query,
                targets(y_query, first=False)[0])

    def _encode_stacked(self, stacked):
        """Stacked tasks (a sampler's ``batch``) with targets as the loss takes them."""
        X_support, y_support, X_query, y_query = stacked
        targets = self.estimator_._targets

        def encode(y):
            y = np.asarray(y)
            flat = y.reshape(y.shape[0] * y.shape[1], *y.shape[2:])
            return targets(flat, first=False)[0].reshape(y.shape)

        return (np.asarray(X_support, dtype=float), encode(y_support),
                np.asarray(X_query, dtype=float), encode(y_query))

    def _check_params(self) -> None:
        owner = self._name
        check_number(self.inner_lr, "inner_lr", owner, low=0.0)
        check_number(self.inner_steps, "inner_steps", owner, low=0, integer=True)
        check_number(self.meta_lr, "meta_lr", owner, low=0.0)
        check_number(self.meta_batch_size, "meta_batch_size", owner, low=1, integer=True)

    def _begin(self) -> None:
        """Set up what the meta-steps keep (the meta-optimizer)."""

    def _meta_step(self, network, batch) -> tuple[float, float, float]:
        """One meta-update from a list of tasks: ``(loss, update norm, rate)``."""
        raise NotImplementedError

    def _stacked_step(self, network, stacked) -> tuple[float, float, float]:
        """The same from stacked tasks, vectorised (Dense layers and activations)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._parameters)
        return f"{self._name}({args})"


class MAML(_MetaLearner):
    r"""Model-agnostic meta-learning (Finn, Abbeel & Levine, 2017), exact or first-order.

    Each meta-iteration draws ``meta_batch_size`` tasks, computes the meta-gradient
    of the mean query loss after ``inner_steps`` SGD steps on each task's support
    set (:func:`~steepest.meta.maml_gradient`: through one Hessian-vector product
    per inner step, or without them when ``first_order``), and takes one step of
    the meta-optimizer on θ.

    Parameters
    ----------
    estimator : steepest network estimator
        MLPRegressor or MLPClassifier (unfitted); cloned at fit.
    inner_lr : float, default=0.01
        The inner SGD rate :math:`\alpha`.
    inner_steps : int, default=1
    first_order : bool, default=False
    meta_optimizer : str or Optimizer, default="adam"
        Any :mod:`steepest.optim` optimizer, by name (built with ``lr=meta_lr``) or
        as an instance (copied; its own ``lr`` is used).
    meta_lr : float, default=1e-3
    meta_batch_size : int, default=25
    random_state : int or None, default=None
        Seeds the tasks drawn (the estimator's own ``random_state`` seeds θ).
    """

    _name = "MAML"
    _parameters = ("estimator", "inner_lr", "inner_steps", "first_order", "meta_optimizer",
                   "meta_lr", "meta_batch_size", "random_state")

    def __init__(self, estimator, inner_lr: float = 0.01, inner_steps: int = 1,
                 first_order: bool = False, meta_optimizer="adam", meta_lr: float = 1e-3,
                 meta_batch_size: int = 25, random_state=None) -> None:
        self.estimator, self.inner_lr, self.inner_steps = estimator, inner_lr, inner_steps
        self.first_order, self.meta_optimizer, self.meta_lr = first_order, meta_optimizer, meta_lr
        self.meta_batch_size, self.random_state = meta_batch_size, random_state

    def _begin(self) -> None:
        if isinstance(self.meta_optimizer, optim.Optimizer):
            self._optimizer = copy.deepcopy(self.meta_optimizer)
        else:
            self._optimizer = optim.get(self.meta_optimizer, lr=self.meta_lr)

    def _meta_step(self, network, batch):
        value, grad = maml_gradient(network, self._loss, batch, self.inner_lr, self.inner_steps,
                                    self.first_order)
        return self._apply(network, value, grad)

    def _stacked_step(self, network, stacked):
        value, grad = stacked_gradient(network, self._loss, stacked, self.inner_lr,
                                       self.inner_steps, self.first_order)
        return self._apply(network, value, grad)

    def _apply(self, network, value, grad):
        lr = self._optimizer.current_lr
        self._optimizer.step(network.theta, grad)
        return value, float(np.linalg.norm(grad)), lr


class Reptile(_MetaLearner):
    r"""Reptile (Nichol, Achiam & Schulman, 2018): move θ towards the tasks' adapted parameters.

    Each meta-iteration adapts θ to each of ``meta_batch_size`` tasks by
    ``inner_steps`` SGD steps on its support set, giving :math:`\phi_t`, and sets
    :math:`\theta \leftarrow \theta + \epsilon\,(\frac{1}{T}\sum_t \phi_t - \theta)`
    with :math:`\epsilon` = ``meta_lr``. No second derivatives.

    Parameters
    ----------
    estimator : steepest network estimator
    inner_lr : float, default=0.01
    inner_steps : int, default=5
    meta_lr : float, default=0.1
    meta_batch_size : int, default=1
    random_state : int or None, default=None
        Seeds the tasks drawn.
    """

    _name = "Reptile"
    _parameters = ("estimator", "inner_lr", "inner_steps", "meta_lr", "meta_batch_size",
                   "random_state")

    def __init__(self, estimator, inner_lr: float = 0.01, inner_steps: int = 5,
                 meta_lr: float = 0.1, meta_batch_size: int = 1, random_state=None) -> None:
        self.estimator, self.inner_lr, self.inner_steps = estimator, inner_lr, inner_steps
        self.meta_lr, self.meta_batch_size = meta_lr, meta_batch_size
        self.random_state = random_state

    def _meta_step(self, network, batch):
        if _batched.supports(network) and _same_shapes(batch):
            stacked = tuple(np.stack([task[i] for task in batch]) for i in range(4))
            return self._stacked_step(network, stacked)
        value, mean_phi = _adaptation(network, self._loss, batch, self.inner_lr,
                                      self.inner_steps)
        return self._apply(network, value, mean_phi)

    def _stacked_step(self, network, stacked):
        with np.errstate(over="ignore", invalid="ignore"):   # divergence: raised below
            value, mean_phi = _batched_adaptation(network, self._loss, stacked, self.inner_lr,
                                                  self.inner_steps)
        return self._apply(network, value, mean_phi)

    def _apply(self, network, value, mean_phi):
        update = mean_phi - network.theta
        if not (np.isfinite(value) and np.isfinite(update).all()):
            raise NonFiniteError(
                f"Reptile's inner steps diverged with inner_lr={self.inner_lr}: non-finite "
                "adapted parameters. Lower inner_lr or scale the tasks."
            )
        network.theta += self.meta_lr * update
        return value, float(np.linalg.norm(update)), self.meta_lr


def _adaptation(network, loss, batch, lr, steps):
    """Task by task: the mean query loss after adaptation and the mean adapted θ."""
    theta = network.theta.copy()
    total, values = np.zeros_like(theta), []
    try:
        for X_support, y_support, X_query, y_query in batch:
            with np.errstate(over="ignore", invalid="ignore"):   # divergence: raised after
                inner_loop(network, loss, X_support, y_support, lr, steps)
            values.append(loss.value(y_query, network.forward(X_query, training=True)))
            total += network.theta
            network.theta[...] = theta
    finally:
        network.theta[...] = theta
    return float(np.mean(values)), total / len(batch)


def _batched_adaptation(network, loss, stacked, lr, steps):
    """All tasks at once, stacked (networks of Dense layers and activations): as
    :func:`_adaptation`."""
    tasks = _batched.TaskBatch(network, loss)
    X_support, y_support, X_query, y_query = stacked
    Phi = network.theta[None, :].copy()        # one row every task shares, until a step
    for _ in range(steps):
        Phi = Phi - lr * tasks.gradient(Phi, X_support, y_support)[1]
    return tasks.value(Phi, X_query, y_query), Phi.mean(axis=0)
