"""Update rules on one flat parameter vector, with torch.optim's names and semantics.

Each optimizer updates ``theta`` in place from ``grad``::

    from steepest import optim
    opt = optim.Adam(lr=1e-3)            # or optim.get("adam", lr=1e-3)
    opt.step(theta, grad)

A user porting from torch.optim keeps the class names, keyword names and
defaults, and gets the same trajectory to rounding.
"""

from __future__ import annotations

from steepest._validation import lookup
from steepest.optim.adadelta import Adadelta
from steepest.optim.adagrad import Adagrad
from steepest.optim.adam import Adam, AdamW
from steepest.optim.adamax import Adamax
from steepest.optim.nadam import NAdam
from steepest.optim.optimizer import Optimizer
from steepest.optim.radam import RAdam
from steepest.optim.rmsprop import RMSprop
from steepest.optim.sgd import SGD
from steepest.optim.yogi import Yogi

__all__ = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam", "Adamax",
           "Yogi", "Optimizer", "get", "names"]

_REGISTRY: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls
    for cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, NAdam, RAdam, Adamax, Yogi)
}


def names() -> list[str]:
    """The names :func:`get` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **hyperparameters) -> Optimizer:
    """Build an optimizer by its torch.optim class name, case-insensitively.

    >>> get("adam", lr=0.01)
    Adam(lr=0.01)
    """
    return lookup(name, _REGISTRY, "optimizer")(**hyperparameters)
