"""The one table of descent methods: every fact about a method of :func:`steepest.minimize`
lives here, and every other module (minimize, the estimators, lr_find, compare, the demo,
the explorer, the plots, the CLI) reads it.

::

    from steepest.methods import METHODS, LINE_SEARCH

    METHODS["momentum"].rule, METHODS["momentum"].fixed    # "sgd", {"momentum": 0.9}
    METHODS["adam"].minimize_lr, METHODS["adam"].model_lr  # 1e-2, 1e-3
    "lbfgs" in LINE_SEARCH                                  # True: no rate to choose

Each :class:`Method` holds:

* ``rule`` and ``fixed``: the :mod:`steepest.optim` update rule and the keywords the
  method fixes (``nesterov`` is SGD with ``momentum=0.9, nesterov=True``); ``None`` for
  Newton and L-BFGS, which are not step rules but line-searching solvers;
* ``minimize_lr``: minimize's default rate, for functions of a few O(1) coordinates
  stepped thousands of times with exact gradients (plain gradient steps scale with the
  gradient, so they start small; the per-coordinate methods move each coordinate by
  about ``lr`` per step, so 1e-2 crosses a unit distance in about a hundred steps and
  still settles to ~1e-4 and better). For the line searches it scales the first trial
  step (1.0: the full Newton or quasi-Newton step);
* ``model_lr``: the rate for training a model on standardised inputs (what ``compare``
  gives each optimizer when no rate is set): torch's default for Adadelta and the Adam
  family, not for Adagrad (0.05) and RMSprop (1e-3), whose torch default is 1e-2;
* ``line_search``: the method chooses its own step length, takes no learning rate and
  needs the whole objective (full batch);
* ``max_iter``: minimize's default iteration budget;
* ``description``: a few words for a legend or a page;
* ``surface_rates``: rates, by :mod:`steepest.functions` name, that make the method's
  behaviour on that surface visible in a few hundred steps without diverging (the demo
  and the explorer use them; a surface not listed gets ``minimize_lr``).

This module imports nothing heavy: it is read at start-up by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["LINE_SEARCH", "METHODS", "MODEL_OPTIMIZERS", "Method", "suggested_rate"]


@dataclass(frozen=True)
class Method:
    """One method of :func:`steepest.minimize` (see the module's docstring)."""

    name: str
    description: str
    rule: str | None
    fixed: dict = field(default_factory=dict)
    minimize_lr: float = 1.0
    model_lr: float | None = None
    max_iter: int = 10_000
    surface_rates: dict = field(default_factory=dict)

    @property
    def line_search(self) -> bool:
        """Whether the method chooses its step length itself (Newton, L-BFGS)."""
        return self.rule is None


def _table(*methods: Method):
    return MappingProxyType({method.name: method for method in methods})


METHODS = _table(
    Method("gd", "plain gradient descent", "sgd", minimize_lr=1e-3, model_lr=0.05,
           surface_rates={"rosenbrock": 1e-3, "saddle": 0.05, "himmelblau": 0.01,
                          "quadratic": 0.018, "beale": 0.01, "booth": 0.01}),
    Method("momentum", "SGD, momentum 0.9", "sgd", {"momentum": 0.9}, minimize_lr=1e-3,
           model_lr=0.01,
           surface_rates={"rosenbrock": 1e-3, "saddle": 0.01, "himmelblau": 2e-3,
                          "quadratic": 5e-3, "beale": 1e-3, "booth": 1e-3}),
    Method("nesterov", "SGD, Nesterov momentum 0.9", "sgd", {"momentum": 0.9, "nesterov": True},
           minimize_lr=1e-3, model_lr=0.01,
           surface_rates={"rosenbrock": 1e-3, "saddle": 0.01, "himmelblau": 2e-3,
                          "quadratic": 5e-3, "beale": 1e-3, "booth": 1e-3}),
    Method("adagrad", "Adagrad", "adagrad", minimize_lr=0.5, model_lr=0.05,
           surface_rates={"rosenbrock": 0.5, "saddle": 0.2, "himmelblau": 0.5,
                          "quadratic": 0.5, "beale": 0.5, "booth": 1.0}),
    Method("rmsprop", "RMSprop", "rmsprop", minimize_lr=1e-3, model_lr=1e-3,
           surface_rates={"rosenbrock": 5e-3, "saddle": 0.01, "himmelblau": 0.05,
                          "quadratic": 5e-3, "beale": 0.01, "booth": 0.02}),
    Method("adadelta", "Adadelta", "adadelta", minimize_lr=1.0, model_lr=1.0),
    Method("adam", "Adam", "adam", minimize_lr=1e-2, model_lr=1e-3,
           surface_rates={"rosenbrock": 0.1, "saddle": 0.05, "himmelblau": 0.1,
                          "quadratic": 0.05, "beale": 0.05, "booth": 0.1}),
    Method("adamw", "Adam, weight decay 0.01", "adamw", minimize_lr=1e-2, model_lr=1e-3),
    Method("nadam", "NAdam", "nadam", minimize_lr=1e-2, model_lr=2e-3,
           surface_rates={"rosenbrock": 0.01, "saddle": 0.05, "himmelblau": 0.1,
                          "quadratic": 0.05, "beale": 0.05, "booth": 0.1}),
    Method("radam", "RAdam", "radam", minimize_lr=1e-2, model_lr=1e-3),
    Method("adamax", "Adamax", "adamax", minimize_lr=1e-2, model_lr=2e-3),
    Method("newton", "Newton's method", None, max_iter=200),
    Method("lbfgs", "L-BFGS", None, max_iter=1000),
)
"""Every method of :func:`steepest.minimize`, in the order pages and tables list them."""

LINE_SEARCH: frozenset[str] = frozenset(name for name, m in METHODS.items() if m.line_search)
"""The methods that choose their own step length: no learning rate, full batch only."""

MODEL_OPTIMIZERS: MappingProxyType = MappingProxyType(
    {("sgd" if name == "gd" else name): m for name, m in METHODS.items() if not m.line_search})
"""The first-order methods under the names the models' ``compare`` uses (``gd`` is
``sgd`` there), each with its ``model_lr``."""


def suggested_rate(method: str, surface: str) -> float | None:
    """The rate to show ``method`` on the test surface ``surface`` with: its entry in
    ``surface_rates``, else ``minimize_lr``; ``None`` for the line searches."""
    entry = METHODS[method]
    if entry.line_search:
        return None
    return entry.surface_rates.get(surface, entry.minimize_lr)
