r"""Initialisers: fill a parameter array in place with a draw from a random generator.

Every initialiser has the signature ``init(array, rng, ...)``, fills ``array`` in
place (it may be a view into a network's ``theta``) and returns it. ``rng`` is a
:class:`numpy.random.Generator`, or a seed for one. The numbers are drawn in
float64 and rounded to the array's dtype, so a float32 network starts from the
float64 network's parameters, rounded.

Weights are stored as :class:`~steepest.nn.Dense` uses them, shape
``(fan_in, fan_out)`` (``Y = X W``), so

.. math::

    \text{fan\_in} = \text{shape}[0], \qquad \text{fan\_out} = \text{shape}[1]

(torch stores the transpose, ``(fan_out, fan_in)``, and reads its fans the other
way round). Convolution kernels are stored as torch stores them,
``(out_channels, in_channels, kh, kw)`` (:class:`~steepest.nn.Conv2D`), and their
fans are torch's (``_calculate_fan_in_and_fan_out``): every output value sees
``in_channels · kh · kw`` inputs, and every input feeds ``out_channels · kh · kw``
outputs,

.. math::

    \text{fan\_in} = \text{shape}[1] \prod \text{shape}[2:], \qquad
    \text{fan\_out} = \text{shape}[0] \prod \text{shape}[2:]

The formulas below are torch.nn.init's, with the same fans:

=====================  ===============================================================
``glorot_uniform``     :math:`U(-b, b)`, :math:`b = g\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`
``glorot_normal``      :math:`N(0, s^2)`, :math:`s = g\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`
``he_uniform``         :math:`U(-b, b)`, :math:`b = \sqrt{3}\, g / \sqrt{\text{fan}}`
``he_normal``          :math:`N(0, s^2)`, :math:`s = g / \sqrt{\text{fan}}`
``lecun_uniform``      :math:`U(-b, b)`, :math:`b = \sqrt{3 / \text{fan\_in}}`
``lecun_normal``       :math:`N(0, s^2)`, :math:`s = \sqrt{1 / \text{fan\_in}}`
``zeros``, ``ones``    constants
=====================  ===============================================================

Glorot is Glorot & Bengio (2010), torch's ``xavier_uniform_``/``xavier_normal_``
(``xavier_*`` are accepted as names too), with the gain :math:`g` (default 1). He
is He et al. (2015), torch's ``kaiming_uniform_``/``kaiming_normal_`` (``kaiming_*``
too): :math:`g = \sqrt{2 / (1 + a^2)}` for a leaky ReLU of negative slope
:math:`a` (:math:`\sqrt 2` for the ReLU), and ``fan`` is ``fan_in`` (default) or
``fan_out``. LeCun (LeCun et al., 1998) is He with :math:`g = 1`, torch's
``kaiming_*_(nonlinearity="linear")``; the normal one is not truncated (Keras's is).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from steepest._validation import check_choice, check_number, lookup
from steepest.errors import ParameterError

__all__ = [
    "calculate_gain",
    "fans",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "names",
    "ones",
    "zeros",
]

Initializer = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""``init(array, rng) -> array``: fills ``array`` in place."""


def fans(shape: tuple[int, ...], owner: str = "fans") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight matrix of shape ``(fan_in, fan_out)``, or of a
    convolution kernel of shape ``(out_channels, in_channels, *kernel_size)``."""
    if len(shape) < 2:
        raise ParameterError(
            f"{owner} needs a 2-D weight array of shape (fan_in, fan_out) or a convolution "
            f"kernel of shape (out_channels, in_channels, kh, kw); got shape {tuple(shape)}. "
            "Initialise biases with 'zeros' or 'ones'."
        )
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field = math.prod(int(size) for size in shape[2:])
    return int(shape[1]) * receptive_field, int(shape[0]) * receptive_field


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation, as ``torch.nn.init.calculate_gain``.

    ``"linear"``, ``"identity"`` and ``"sigmoid"``: 1; ``"tanh"``: 5/3; ``"relu"``:
    :math:`\\sqrt 2`; ``"leaky_relu"``: :math:`\\sqrt{2 / (1 + a^2)}` with the negative
    slope ``param`` (default 0.01); ``"selu"``: 3/4.
    """
    check_choice(nonlinearity, "nonlinearity", "calculate_gain",
                 ("linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "selu"))
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_number(param, "param", "calculate_gain")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 0.75
    return 1.0


def _fill_uniform(array: np.ndarray, rng, bound: float) -> np.ndarray:
    array[...] = np.random.default_rng(rng).uniform(-bound, bound, size=array.shape)
    return array


def _fill_normal(array: np.ndarray, rng, std: float) -> np.ndarray:
    array[...] = np.random.default_rng(rng).normal(0.0, std, size=array.shape)
    return array


def _he_std(shape, negative_slope: float, mode: str, owner: str) -> float:
    check_number(negative_slope, "negative_slope", owner)
    check_choice(mode, "mode", owner, ("fan_in", "fan_out"))
    fan_in, fan_out = fans(shape, owner)
    fan = fan_in if mode == "fan_in" else fan_out
    return math.sqrt(2.0 / (1 + negative_slope**2)) / math.sqrt(fan)


def zeros(array: np.ndarray, rng=None) -> np.ndarray:
    """Fill with 0 (``rng`` is ignored)."""
    array[...] = 0
    return array


def ones(array: np.ndarray, rng=None) -> np.ndarray:
    """Fill with 1 (``rng`` is ignored)."""
    array[...] = 1
    return array


def glorot_uniform(array: np.ndarray, rng, gain: float = 1.0) -> np.ndarray:
    r""":math:`U(-b, b)` with :math:`b = g\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`."""
    check_number(gain, "gain", "glorot_uniform", low=0.0)
    fan_in, fan_out = fans(array.shape, "glorot_uniform")
    return _fill_uniform(array, rng, gain * math.sqrt(6.0 / (fan_in + fan_out)))


def glorot_normal(array: np.ndarray, rng, gain: float = 1.0) -> np.ndarray:
    r""":math:`N(0, s^2)` with :math:`s = g\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`."""
    check_number(gain, "gain", "glorot_normal", low=0.0)
    fan_in, fan_out = fans(array.shape, "glorot_normal")
    return _fill_normal(array, rng, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform(array: np.ndarray, rng, negative_slope: float = 0.0,
               mode: str = "fan_in") -> np.ndarray:
    r""":math:`U(-b, b)` with :math:`b = \sqrt{3}\,\sqrt{2 / (1 + a^2)} / \sqrt{\text{fan}}`,
    :math:`a` the ``negative_slope``, ``fan`` per ``mode`` (``"fan_in"`` or ``"fan_out"``)."""
    return _fill_uniform(array, rng,
                         math.sqrt(3.0) * _he_std(array.shape, negative_slope, mode, "he_uniform"))


def he_normal(array: np.ndarray, rng, negative_slope: float = 0.0,
              mode: str = "fan_in") -> np.ndarray:
    r""":math:`N(0, s^2)` with :math:`s = \sqrt{2 / (1 + a^2)} / \sqrt{\text{fan}}`,
    :math:`a` the ``negative_slope``, ``fan`` per ``mode`` (``"fan_in"`` or ``"fan_out"``)."""
    return _fill_normal(array, rng, _he_std(array.shape, negative_slope, mode, "he_normal"))


def lecun_uniform(array: np.ndarray, rng) -> np.ndarray:
    r""":math:`U(-b, b)` with :math:`b = \sqrt{3 / \text{fan\_in}}`."""
    fan_in, _ = fans(array.shape, "lecun_uniform")
    return _fill_uniform(array, rng, math.sqrt(3.0 / fan_in))


def lecun_normal(array: np.ndarray, rng) -> np.ndarray:
    r""":math:`N(0, s^2)` with :math:`s = \sqrt{1 / \text{fan\_in}}` (not truncated)."""
    fan_in, _ = fans(array.shape, "lecun_normal")
    return _fill_normal(array, rng, math.sqrt(1.0 / fan_in))


_REGISTRY: dict[str, Initializer] = {
    "zeros": zeros,
    "ones": ones,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
}


def names() -> list[str]:
    """The names :func:`get` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name: str | Initializer) -> Initializer:
    """The initialiser called ``name``; a callable ``init(array, rng)`` is returned as is."""
    if callable(name):
        return name
    return lookup(name, _REGISTRY, "initialiser")
