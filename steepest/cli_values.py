"""The values a user types after a flag of ``steepest``: parsed, checked, and spelled back.

Each parser takes the text of one flag and returns what the library takes, or
raises :class:`~steepest.errors.ParameterError` in one sentence that names the
flag as the user typed it::

    parse_batch_size("full")    # None: batch descent
    parse_lr("auto")            # None: the LR range test picks the rate
    parse_hidden("64,32")       # (64, 32)
    parse_layers("conv:32:3,relu,maxpool:2,flatten,dense:10")  # layer specs (steepest.nn.spec)
    parse_input_shape("1,28,28")  # (1, 28, 28)
    check_flag(0, "--epochs", low=1, integer=True)
    # ParameterError: --epochs must be a whole number >= 1; got 0.

The other way, :func:`flag_form` spells an estimator's parameter setting as the
command line's flag (``lr=0.01`` → ``--lr 0.01``), so that advice given to a
user of the command line names flags that exist.
"""

from __future__ import annotations

import math
import numbers

from steepest import schedules
from steepest._validation import closest_name
from steepest.errors import ParameterError

__all__ = ["ACTIVATIONS", "FLAGS", "MODELS", "SCHEDULES", "TASKS", "check_choice", "check_flag",
           "LAYERS", "flag_form", "make_schedule", "parse_batch_size", "parse_hidden",
           "parse_input_shape", "parse_layers", "parse_list", "parse_lr"]

MODELS = ("linear", "logistic", "mlp")
TASKS = ("classification", "regression")
SCHEDULES = ("constant", "cosine", "exponential", "step", "one-cycle", "warmup-cosine")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid")
"""The hidden activations of the MLPs (``activation`` of :class:`~steepest.MLPClassifier`)."""

FLAGS = {
    "lr": "--lr", "optimizer": "--optimizer", "batch_size": "--batch-size",
    "epochs": "--epochs", "alpha": "--alpha", "clip_norm": "--clip-norm",
    "dropout": "--dropout", "momentum": "--momentum", "weight_decay": "--weight-decay",
    "early_stopping": "--early-stopping", "scale": "--scale", "batch_norm": "--batch-norm",
    "hidden_layer_sizes": "--hidden", "activation": "--activation",
}
"""The flag of ``steepest train`` that sets each estimator parameter (or optimizer keyword)."""


def check_choice(value: str, flag: str, choices) -> str:
    """``value`` if it is one of ``choices``, else an error naming ``flag`` and the choices."""
    if value in choices:
        return value
    guess = closest_name(str(value), choices)
    hint = f" Did you mean {guess!r}?" if guess else ""
    raise ParameterError(f"{flag} must be one of {', '.join(choices)}; got {value!r}.{hint}")


def _number(value) -> str:
    """A number as a user would type it: ``0``, ``0.5``, ``1e-05``."""
    return str(value) if isinstance(value, numbers.Integral) else f"{float(value):g}"


def _span(low, high, closed: str) -> str:
    if high is None:
        return f"{'>=' if closed in ('left', 'both') else '>'} {_number(low)}"
    if low is None:
        return f"{'<=' if closed in ('right', 'both') else '<'} {_number(high)}"
    left = "[" if closed in ("left", "both") else "("
    right = "]" if closed in ("right", "both") else ")"
    return f"in {left}{_number(low)}, {_number(high)}{right}"


def check_flag(value, flag: str, *, low=None, high=None, closed: str = "left",
               integer: bool = False):
    """``value`` if it is a number in the interval, else an error naming ``flag``.

    ``closed`` (``"left"``, ``"right"``, ``"both"``, ``"neither"``) says which ends
    of ``[low, high]`` belong to the interval; an absent end is open.
    """
    kind = "a whole number" if integer else "a number"
    ok = isinstance(value, numbers.Integral if integer else numbers.Real) and \
        not isinstance(value, bool) and not (isinstance(value, float) and math.isnan(value))
    if ok and low is not None:
        ok = value >= low if closed in ("left", "both") else value > low
    if ok and high is not None:
        ok = value <= high if closed in ("right", "both") else value < high
    if not ok:
        shown = _number(value) if isinstance(value, numbers.Real) else repr(value)
        raise ParameterError(f"{flag} must be {kind} {_span(low, high, closed)}; got {shown}.")
    return value


def parse_list(text: str | None) -> list[str] | None:
    """``"sgd, adam"`` → ``["sgd", "adam"]``; None or an empty text → None."""
    if text is None:
        return None
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    return parts or None


def parse_batch_size(text: str) -> int | None:
    """``"full"`` → None (batch descent), ``"1"`` → stochastic, ``"k"`` → mini-batches."""
    if str(text).lower() in ("full", "none", "all"):
        return None
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise ParameterError(
            f"--batch-size must be 'full', 1 or a whole number k >= 1; got {text!r}."
        )
    return size


def parse_lr(text) -> float | None:
    """A positive learning rate, or None for ``"auto"`` (the LR range test picks it)."""
    if str(text).lower() == "auto":
        return None
    try:
        lr = float(text)
    except ValueError:
        lr = math.nan
    if not (math.isfinite(lr) and lr > 0):
        raise ParameterError(
            f"--lr must be a positive number such as 0.01, or 'auto'; got {text!r}."
        )
    return lr


def parse_hidden(text) -> tuple[int, ...]:
    """``"64,32"`` → (64, 32); a tuple of widths is returned as it is, once checked."""
    if isinstance(text, (tuple, list)):
        sizes = tuple(text)
    else:
        try:
            sizes = tuple(int(part) for part in str(text).split(",") if part.strip())
        except ValueError:
            sizes = ()
    if not sizes or not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
        raise ParameterError(f"--hidden must be layer widths such as 64 or 64,32; got {text!r}.")
    return tuple(int(s) for s in sizes)


LAYERS = {
    "conv": ("Conv2D", "conv:OUT_CHANNELS:KERNEL[:STRIDE[:PADDING]]", "conv:32:3",
             ("out_channels", "kernel_size", "stride", "padding"), 2),
    "maxpool": ("MaxPool2D", "maxpool:KERNEL[:STRIDE]", "maxpool:2", ("kernel_size", "stride"),
                1),
    "avgpool": ("AvgPool2D", "avgpool:KERNEL[:STRIDE]", "avgpool:2", ("kernel_size", "stride"),
                1),
    "flatten": ("Flatten", "flatten", "flatten", (), 0),
    "dense": ("Dense", "dense:UNITS", "dense:10", ("units",), 1),
    "dropout": ("Dropout", "dropout:P", "dropout:0.25", ("p",), 1),
    "batchnorm": ("BatchNorm", "batchnorm", "batchnorm", (), 0),
    "relu": ("ReLU", "relu", "relu", (), 0),
    "leaky_relu": ("LeakyReLU", "leaky_relu[:SLOPE]", "leaky_relu:0.01", ("negative_slope",), 0),
    "elu": ("ELU", "elu[:ALPHA]", "elu:1.0", ("alpha",), 0),
    "tanh": ("Tanh", "tanh", "tanh", (), 0),
    "sigmoid": ("Sigmoid", "sigmoid", "sigmoid", (), 0),
}
"""What ``--layers`` accepts: name → (steepest.nn class, form, example, the arguments in
order, how many of them are required)."""
_FLOAT_ARGUMENTS = ("p", "negative_slope", "alpha")


def parse_layers(text: str) -> list[dict]:
    """``"conv:32:3,relu,maxpool:2,flatten,dense:10"`` → one layer spec per entry (a dict
    that :func:`steepest.nn.spec.layer_from_spec` builds), in order.

    Each entry is a name of :data:`LAYERS` and its arguments, separated by colons; the
    arguments are whole numbers, except the rates of dropout, leaky_relu and elu. An
    entry that is not one of these is refused in one sentence that names it, its position
    and the form it should have.
    """
    entries = [part.strip() for part in str(text).split(",")]
    if not any(entries):
        raise ParameterError(
            f"--layers must list layers such as conv:32:3,relu,maxpool:2,flatten,dense:10; "
            f"got {text!r}."
        )
    specs = []
    for position, entry in enumerate(entries, start=1):
        name, *arguments = [part.strip() for part in entry.split(":")]
        name = name.lower()
        if name not in LAYERS:
            guess = closest_name(name, LAYERS)
            hint = f"did you mean {guess!r}?" if guess else f"the layers are {', '.join(LAYERS)}."
            raise ParameterError(
                f"--layers entry {position} ({entry!r}) is not a layer; {hint}"
            )
        cls, form, example, names, required = LAYERS[name]
        values = []
        for value in arguments:
            try:
                values.append(float(value) if names[len(values)] in _FLOAT_ARGUMENTS
                              else int(value))
            except (ValueError, IndexError):
                values = None
                break
        if values is None or not required <= len(values) <= len(names):
            raise ParameterError(
                f"--layers entry {position} ({entry!r}) must have the form {form}, such as "
                f"{example}."
            )
        specs.append({"class": cls, **dict(zip(names, values, strict=False))})
    return specs


def parse_input_shape(text) -> tuple[int, ...]:
    """``"1,28,28"`` → (1, 28, 28): the shape of one sample (channels, rows, columns)."""
    try:
        shape = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ParameterError(
            f"--input-shape must be the shape of one sample, whole numbers >= 1 such as "
            f"1,28,28 (channels, rows, columns); got {text!r}."
        )
    return shape


def make_schedule(spec: str, lr: float, total_steps: int, steps_per_epoch: int):
    """The ``--schedule`` spec as a rate or a :mod:`steepest.schedules` schedule.

    ``constant``; ``cosine`` (to 0 over the run); ``exponential[:gamma]`` (per
    epoch, default 0.95); ``step[:epochs[:gamma]]`` (default: ×0.1 every third of
    the run); ``one-cycle`` (peak ``lr``); ``warmup-cosine`` (5% linear warm-up,
    then cosine). The schedules count updates: ``steps_per_epoch`` of them make
    an epoch, ``total_steps`` the run.
    """
    name, *args = str(spec).lower().split(":")
    name = check_choice(name, "--schedule", SCHEDULES)
    try:
        numbers_ = [float(a) for a in args]
    except ValueError:
        raise ParameterError(f"--schedule {spec!r}: the values after ':' must be numbers.") \
            from None
    if name == "constant":
        return lr
    if name == "cosine":
        return schedules.cosine(lr, total_steps)
    if name == "exponential":
        gamma = numbers_[0] if numbers_ else 0.95
        check_flag(gamma, f"--schedule {spec}: gamma", low=0.0, high=1.0, closed="right")
        return schedules.exponential(lr, gamma ** (1 / steps_per_epoch))
    if name == "step":
        every = numbers_[0] if numbers_ else max(1, total_steps // steps_per_epoch // 3)
        gamma = numbers_[1] if len(numbers_) > 1 else 0.1
        if every < 1 or every != round(every) or not gamma > 0:
            raise ParameterError(
                f"--schedule step:EPOCHS:GAMMA needs a whole number of epochs >= 1 and a "
                f"gamma > 0; got {spec!r}."
            )
        return schedules.step(lr, int(every) * steps_per_epoch, gamma)
    if name == "one-cycle":
        return schedules.one_cycle(lr, max(total_steps, 2))
    warm = max(1, total_steps // 20)
    return schedules.warmup(schedules.cosine(lr, max(total_steps - warm, 1)), warm,
                            start_factor=0.0)


def flag_form(name: str, value) -> str | None:
    """An estimator parameter setting spelled as ``steepest train``'s flag, or None when the
    command line has no flag for it.

    >>> flag_form("lr", 0.01), flag_form("early_stopping", True), flag_form("scale", False)
    ('--lr 0.01', '--early-stopping', '--no-scale')
    >>> flag_form("batch_size", None), flag_form("hidden_layer_sizes", (64, 32))
    ('--batch-size full', '--hidden 64,32')
    """
    flag = FLAGS.get(name)
    if flag is None:
        return None
    if isinstance(value, bool):
        if value:
            return flag
        return "--no-scale" if name == "scale" else None
    if name == "batch_size" and value is None:
        return f"{flag} full"
    if name == "hidden_layer_sizes" and isinstance(value, (tuple, list)):
        return f"{flag} {','.join(map(str, value))}"
    if isinstance(value, numbers.Real):
        return f"{flag} {_number(value)}"
    if isinstance(value, str):
        return f"{flag} {value.lower() if name == 'optimizer' else value}"
    return None
