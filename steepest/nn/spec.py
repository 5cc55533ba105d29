"""A layer as plain data, and back: the layer lists of model files and of the command line.

::

    from steepest import nn
    from steepest.nn.spec import layer_from_spec, layer_spec

    layer_spec(nn.Conv2D(32, 3))
    # {'class': 'Conv2D', 'out_channels': 32, 'kernel_size': 3, 'stride': 1, 'padding': 0,
    #  'bias': True, 'weight_init': 'glorot_uniform', 'bias_init': 'zeros'}
    layer_from_spec({"class": "MaxPool2D", "kernel_size": 2})   # MaxPool2D(kernel_size=2, ...)

A spec is the layer's class name (one of :mod:`steepest.nn`'s layers) and its
constructor arguments, which are its ``_hyperparameters``; it holds no trained
values and no code, so a model file can describe its layers in JSON and be read
without unpickling anything.
"""

from __future__ import annotations

import numbers

from steepest import nn
from steepest.errors import ParameterError
from steepest.nn.layers import Layer

__all__ = ["LAYER_CLASSES", "copy_layer", "layer_from_spec", "layer_spec"]

LAYER_CLASSES: dict[str, type[Layer]] = {
    name: getattr(nn, name) for name in nn.__all__
    if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), Layer)
    and name != "Layer"
}
"""The layers a spec may name: ``{"Conv2D": nn.Conv2D, "Dense": nn.Dense, ...}``."""


def _arguments(layer: Layer) -> dict:
    return {name: getattr(layer, name) for name in layer._hyperparameters}


def copy_layer(layer: Layer) -> Layer:
    """A new, unbound layer of the same class built with the same constructor arguments
    (a layer already in a Network gives a fresh one that is in none)."""
    return type(layer)(**_arguments(layer))


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, numbers.Real, str)):
        return True
    return isinstance(value, (tuple, list)) and all(_plain(v) for v in value)


def layer_spec(layer: Layer) -> dict:
    """``{"class": name, **constructor arguments}`` of one of :mod:`steepest.nn`'s layers,
    JSON-safe (tuples become lists)."""
    name = type(layer).__name__
    if LAYER_CLASSES.get(name) is not type(layer):
        raise ParameterError(
            f"The layer {layer!r} cannot be described in a file: only steepest.nn's layers "
            f"({', '.join(sorted(LAYER_CLASSES))}) can, and {name} is not one of them."
        )
    arguments = _arguments(layer)
    for key, value in arguments.items():
        if not _plain(value):
            raise ParameterError(
                f"The {key!r} argument of the {name} layer ({value!r}) cannot be saved: a "
                "model file holds no code. Use one of steepest.nn.init's names instead."
            )
    return {"class": name, **{key: list(value) if isinstance(value, tuple) else value
                              for key, value in arguments.items()}}


def layer_from_spec(spec) -> Layer:
    """The layer a :func:`layer_spec` describes (lists read back as tuples)."""
    if not (isinstance(spec, dict) and spec.get("class") in LAYER_CLASSES):
        raise ParameterError(
            f"A layer spec must be a dict whose 'class' is one of {sorted(LAYER_CLASSES)}; "
            f"got {spec!r}."
        )
    arguments = {key: tuple(value) if isinstance(value, list) else value
                 for key, value in spec.items() if key != "class"}
    try:
        return LAYER_CLASSES[spec["class"]](**arguments)
    except TypeError as error:
        raise ParameterError(
            f"The layer spec {spec!r} does not match {spec['class']}'s arguments ({error})."
        ) from None
