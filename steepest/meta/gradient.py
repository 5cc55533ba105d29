r"""The MAML meta-gradient, exact or first-order, and the inner loop it differentiates.

For one task with support loss :math:`L_s` and query loss :math:`L_q`, the inner
loop takes ``inner_steps`` = :math:`K` steps of gradient descent from the
meta-parameters :math:`\theta`,

.. math:: \phi_0 = \theta, \qquad \phi_{k+1} = \phi_k - \alpha \nabla L_s(\phi_k),

and the meta-loss is :math:`L_q(\phi_K)`. Its gradient, by the chain rule through
the steps (each step's Jacobian is :math:`I - \alpha \nabla^2 L_s(\phi_k)`), is
accumulated backwards from :math:`g_K = \nabla L_q(\phi_K)`:

.. math:: g_k = g_{k+1} - \alpha\, \nabla^2 L_s(\phi_k)\, g_{k+1}, \qquad
          \nabla_\theta L_q(\phi_K) = g_0,

one Hessian-vector product per inner step (:meth:`steepest.nn.Network.hvp`), no
Hessian and no unrolled graph: the memory is the :math:`K` stored
:math:`\phi_k`. First-order MAML (Finn et al., 2017, §5.2) drops the Hessian
terms: the gradient is :math:`g_K`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from steepest import optim
from steepest._validation import check_number
from steepest.errors import NonFiniteError, ParameterError
from steepest.losses import Loss
from steepest.losses import get as get_loss
from steepest.meta import _batched
from steepest.nn import Network
from steepest.train import StepLoop

__all__ = ["inner_loop", "maml_gradient", "stacked_gradient"]


def inner_loop(network: Network, loss: Loss, X, y, lr: float, steps: int,
               trajectory: list | None = None) -> list[float]:
    """Take ``steps`` full-batch SGD steps on ``(X, y)`` from the network's theta, in place.

    One step is one :meth:`steepest.train.StepLoop.step` with ``optim.SGD(lr)``: forward
    (training mode) → loss → backward → :math:`\\theta \\leftarrow \\theta - \\text{lr}\\,
    \\nabla L(\\theta)` on the mean loss, without penalty or clipping (MAML's inner loop).
    This is the one place the meta package trains a network.

    Parameters
    ----------
    network : Network
    loss : Loss
    X : ndarray of shape (n_samples, n_features)
    y : ndarray
        The targets, as ``loss`` takes them.
    lr : float
    steps : int
    trajectory : list, optional
        When given, ``(theta copy, layer states)`` before each step is appended to
        it (what the exact meta-gradient differentiates through).

    Returns
    -------
    list of float
        The loss before each step.
    """
    loop = StepLoop(network, loss, optim.SGD(lr=lr))
    values = []
    for _ in range(steps):
        if trajectory is not None:
            trajectory.append((network.theta.copy(),
                               [layer.state_dict() for layer in network.layers]))
        values.append(loop.step(X, y))
    return values


def maml_gradient(network: Network, loss, tasks: Sequence, inner_lr: float, inner_steps: int,
                  first_order: bool = False, *, vectorize: bool | None = None
                  ) -> tuple[float, np.ndarray]:
    r"""The MAML meta-loss and its gradient at the network's current theta.

    :math:`\frac{1}{T}\sum_t L_{q,t}(\phi_{K,t})`, with :math:`\phi_{K,t}` the
    parameters after ``inner_steps`` SGD steps of rate ``inner_lr`` on task
    :math:`t`'s support set, and its exact gradient with respect to theta (see the
    module's docstring; ``first_order`` drops the second-order terms). The inner
    steps and the query loss run the network in training mode.

    Parameters
    ----------
    network : Network
        Its theta is the meta-parameter; it is left exactly as it was (bit for bit),
        and so are the layers' states (BatchNorm's running estimates, Dropout's
        generator: the exact gradient replays each step's Dropout masks). ``grad``
        is used as scratch.
    loss : Loss or str
        The loss of both the support and the query sets (the mean over samples).
    tasks : sequence of (X_support, y_support, X_query, y_query)
        The meta-batch; targets as ``loss`` takes them.
    inner_lr : float
        :math:`\alpha \ge 0`.
    inner_steps : int
        :math:`K \ge 0` (0: the query loss at theta itself).
    first_order : bool, default=False
    vectorize : bool or None, default=None
        Run the tasks together, with batched matmuls (networks of Dense layers and
        elementwise activations, tasks of equal shapes); None chooses it whenever it
        applies, False runs the tasks one by one through :meth:`Network.hvp`.

    Returns
    -------
    meta_loss : float
    meta_grad : ndarray of shape (n_params,)
        A new array.
    """
    loss = get_loss(loss)
    check_number(inner_lr, "inner_lr", "maml_gradient", low=0.0)
    check_number(inner_steps, "inner_steps", "maml_gradient", low=0, integer=True)
    tasks = _check_tasks(tasks, network)
    batched = _batched.supports(network) and _same_shapes(tasks)
    if vectorize and not batched:
        raise ParameterError(
            "maml_gradient(vectorize=True) needs a network of Dense layers and elementwise "
            "activations and tasks of equal shapes; pass vectorize=None to run the tasks one "
            "by one."
        )
    if batched and vectorize is not False:
        stacked = tuple(np.stack([task[i] for task in tasks]) for i in range(4))
        return stacked_gradient(network, loss, stacked, inner_lr, inner_steps, first_order)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging inner loop: raised below
        value, grad = _task_by_task_gradient(network, loss, tasks, inner_lr, inner_steps,
                                             first_order)
    _check_finite(value, grad, inner_lr)
    return value, grad


def stacked_gradient(network: Network, loss: Loss, stacked: tuple, inner_lr: float,
                     inner_steps: int, first_order: bool = False) -> tuple[float, np.ndarray]:
    """:func:`maml_gradient` vectorised, for tasks stacked along a first axis.

    ``stacked`` is ``(X_support, y_support, X_query, y_query)`` of shapes (n_tasks,
    n_support, n_features), (n_tasks, n_support[, ...]), ... as a sampler's ``batch``
    gives them; ``network`` must be made of Dense layers and elementwise activations
    (:func:`steepest.meta._batched.supports`). No argument checks: the meta-learners'
    fast path.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging inner loop: raised below
        value, grad = _batched_gradient(network, loss, stacked, inner_lr, inner_steps,
                                        first_order)
    _check_finite(value, grad, inner_lr)
    return value, grad


def _check_finite(value, grad, inner_lr) -> None:
    if not (np.isfinite(value) and np.isfinite(grad).all()):
        raise NonFiniteError(
            f"maml_gradient found a non-finite meta-{'loss' if not np.isfinite(value) else 'grad'}"
            f"ient with inner_lr={inner_lr}: the inner steps diverge. Lower inner_lr or scale the "
            "tasks' inputs and targets."
        )


def _task_by_task_gradient(network, loss, tasks, inner_lr, inner_steps, first_order):
    theta = network.theta.copy()
    states = [layer.state_dict() for layer in network.layers]
    values, total = [], np.zeros(network.n_params, network.dtype)
    try:
        for X_support, y_support, X_query, y_query in tasks:
            trajectory: list = []
            inner_loop(network, loss, X_support, y_support, inner_lr, inner_steps,
                       None if first_order else trajectory)
            value, dY = loss.value_and_grad(y_query, network.forward(X_query, training=True))
            network.backward(dY)
            g = network.grad.copy()
            for phi, layer_states in reversed(trajectory):
                network.theta[...] = phi
                for layer, state in zip(network.layers, layer_states, strict=True):
                    layer.load_state_dict(state)
                g -= inner_lr * network.hvp(X_support, y_support, loss, g)
            values.append(value)
            total += g
            _put_back(network, theta, states)
    finally:
        _put_back(network, theta, states)
    return float(np.mean(values)), total / len(tasks)


def _batched_gradient(network, loss, stacked, inner_lr, inner_steps, first_order):
    batch = _batched.TaskBatch(network, loss)
    X_support, y_support, X_query, y_query = stacked
    Phi = network.theta[None, :].copy()        # one row every task shares, until a step
    tape: list | None = None if first_order else []
    for _ in range(inner_steps):
        Phi = Phi - inner_lr * batch.gradient(Phi, X_support, y_support, tape)[1]
    value, G = batch.gradient(Phi, X_query, y_query)
    for point in reversed(tape or []):
        G -= inner_lr * batch.hvp(point, G)
    return value, G.mean(axis=0)


def _put_back(network, theta, states) -> None:
    network.theta[...] = theta
    for layer, state in zip(network.layers, states, strict=True):
        layer.load_state_dict(state)


def _check_tasks(tasks, network) -> list:
    if isinstance(tasks, tuple) and len(tasks) == 4 and isinstance(tasks[0], np.ndarray):
        raise ParameterError(
            "The 'tasks' argument of maml_gradient must be a sequence of tasks, each "
            "(X_support, y_support, X_query, y_query); got one task. Wrap it in a list."
        )
    tasks = list(tasks)
    if not tasks:
        raise ParameterError("The 'tasks' argument of maml_gradient holds no task; pass at "
                             "least one (X_support, y_support, X_query, y_query).")
    checked = []
    for index, task in enumerate(tasks):
        if len(task) != 4:
            raise ParameterError(
                f"Task {index} given to maml_gradient has {len(task)} parts; each task is "
                "(X_support, y_support, X_query, y_query)."
            )
        X_support, y_support, X_query, y_query = task
        checked.append((np.asarray(X_support, network.dtype), np.asarray(y_support),
                        np.asarray(X_query, network.dtype), np.asarray(y_query)))
    return checked


def _same_shapes(tasks) -> bool:
    shapes = [tuple(part.shape for part in task) for task in tasks]
    return all(shape == shapes[0] for shape in shapes)
