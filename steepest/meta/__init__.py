"""Meta-learning on the flat θ: exact MAML, first-order MAML and Reptile, and task samplers.

::

    from steepest import MLPRegressor
    from steepest.meta import MAML, Reptile, sine_tasks

    maml = MAML(MLPRegressor((40, 40), random_state=0), random_state=0)
    maml.fit(sine_tasks(k_shot=10), iterations=5_000)
    model = maml.adapt(X_support, y_support, steps=10)   # a fitted MLPRegressor

Underneath, :func:`maml_gradient` gives the meta-loss and its exact gradient at a
network's θ, through one Hessian-vector product
(:meth:`steepest.nn.Network.hvp`) per inner step.
"""

from __future__ import annotations

from steepest.meta.gradient import inner_loop, maml_gradient
from steepest.meta.learners import MAML, Reptile, adapt
from steepest.meta.tasks import ClassTasks, SineTasks, class_tasks, sine_tasks

__all__ = ["MAML", "ClassTasks", "Reptile", "SineTasks", "adapt", "class_tasks", "inner_loop",
           "maml_gradient", "sine_tasks"]
