"""Estimator parameters: one rule per kind of value, one sentence per bad value, and
their encoding in a model file (JSON; a schedule or optimizer as the call that makes it,
rebuilt by a restricted evaluator, never pickle). Shared by every estimator."""

from __future__ import annotations

import ast
import numbers

import numpy as np

from steepest import optim, schedules
from steepest._validation import check_choice, check_number
from steepest.errors import ParameterError
from steepest.methods import LINE_SEARCH

__all__ = ["boolean_rule", "choice_rule", "decode_param", "encode_param", "fresh_optimizer",
           "json_safe", "number_rule", "optimizer_rule", "rate_rule"]


def number_rule(**bounds):
    def rule(value, name, owner):
        if value is not None or not bounds.get("optional"):
            check_number(value, name, owner, **{k: v for k, v in bounds.items()
                                                if k != "optional"})
    return rule


def choice_rule(*choices):
    def rule(value, name, owner):
        check_choice(value, name, owner, choices)
    return rule


def rate_rule(value, name, owner):
    if not callable(value):
        check_number(value, name, owner, low=0.0, closed="neither")


def boolean_rule(value, name, owner):
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be True or False. Got {value!r} instead."
        )


def optimizer_rule(full_batch: bool):
    names = tuple(optim.names()) + (tuple(sorted(LINE_SEARCH)) if full_batch else ())

    def rule(value, name, owner):
        if isinstance(value, optim.Optimizer):
            return
        if not isinstance(value, str) or value.lower() not in names:
            raise ParameterError(
                f"The {name!r} parameter of {owner} must be an optimizer of steepest.optim or "
                f"one of {', '.join(names)}. Got {value!r} instead."
            )
    return rule


def fresh_optimizer(optimizer: optim.Optimizer, lr=None) -> optim.Optimizer:
    """A new optimizer with the same hyperparameters (a fit never reuses another's state),
    its rate replaced by ``lr`` when given."""
    settings = {k: getattr(optimizer, k) for k in optimizer._hyperparameters}
    if lr is not None:
        settings["lr"] = lr
    return type(optimizer)(**settings)


def json_safe(value):
    """Tuples to lists, NumPy scalars to Python numbers, recursively."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode_param(value, name: str, owner: str):
    """A parameter as JSON: numbers and strings as they are; a steepest schedule or
    optimizer as ``{"call": repr}``, which :func:`decode_param` rebuilds."""
    if value is None or isinstance(value, (bool, numbers.Real, str, tuple, list)):
        return json_safe(value)
    if isinstance(value, np.random.Generator):
        return None
    text = repr(value)
    try:
        decode_param({"call": text})
    except (ParameterError, SyntaxError, TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter of {owner} ({text}) cannot be saved: a model file holds "
            "no code. Use a steepest.schedules schedule or a steepest.optim optimizer."
        ) from None
    return {"call": text}


def decode_param(value):
    """The inverse of :func:`encode_param`: calls of steepest's schedules and optimizers only."""
    if not (isinstance(value, dict) and "call" in value):
        return tuple(value) if isinstance(value, list) else value
    namespace = {name: getattr(schedules, name) for name in schedules.__all__}
    namespace.update({name: getattr(optim, name) for name in optim.__all__ if name[0].isupper()})
    tree = ast.parse(value["call"], mode="eval")
    allowed = (ast.Expression, ast.Call, ast.Name, ast.Load, ast.keyword, ast.Constant,
               ast.Tuple, ast.List, ast.UnaryOp, ast.USub)
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (isinstance(node, ast.Name)
                                             and node.id not in namespace):
            raise ParameterError(f"A model file holds an unknown expression {value['call']!r}.")
    return eval(compile(tree, "<model file>", "eval"), {"__builtins__": {}}, namespace)
