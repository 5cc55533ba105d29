"""Building the estimators that the command line's options describe.

::

    from steepest.model_factory import make_model
    model = make_model("classification", "mlp", hidden=(64,), optimizer="sgd", lr=0.01,
                       batch_size=32, momentum=0.9, dropout=0.2)   # an MLPClassifier

The choices are checked here, before any work starts, and every message names
the flag the user typed (``--dropout applies to --model mlp``). Rates and the
line-searching methods come from :mod:`steepest.methods`, the one table of them.
"""

from __future__ import annotations

import inspect
import math
from itertools import product

from steepest import optim
from steepest.cli_values import (
    ACTIVATIONS,
    MODELS,
    check_choice,
    check_flag,
    make_schedule,
    parse_batch_size,
    parse_lr,
)
from steepest.errors import ParameterError
from steepest.methods import LINE_SEARCH, METHODS, MODEL_OPTIMIZERS

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_EPOCHS", "DEFAULT_LR", "OPTIMIZERS", "ROWS_SEEN",
           "UPDATES", "alpha_for", "batch_size_for", "check_optimizer", "comparison_models",
           "epochs_for", "make_model", "optimizer_settings", "rate_for"]

DEFAULT_BATCH_SIZE = 32
"""The batch size of ``steepest train`` for a first-order optimizer when none is given."""
DEFAULT_LR = 1e-3
"""The learning rate of ``steepest train`` for a first-order optimizer when none is given."""
DEFAULT_EPOCHS = 200
"""The fewest epochs of ``steepest train`` when ``--epochs`` is not given (and the
iterations of a line search)."""
ROWS_SEEN = 160_000
"""``steepest train`` without ``--epochs`` runs until it has passed this many rows or
made :data:`UPDATES` updates, whichever comes first (at least :data:`DEFAULT_EPOCHS`
epochs): on a small file 200 epochs are few updates (112 rows make 4 batches of 32 an
epoch: 800 updates of Adam at 1e-3), and the model stops short of where it would go."""
UPDATES = 5000
"""See :data:`ROWS_SEEN`: 5,000 batches of 32 rows are 160,000 rows."""
OPTIMIZERS = (*optim.names(), *sorted(LINE_SEARCH))
"""What ``--optimizer`` accepts: steepest.optim's rules, then the line searches."""


def check_optimizer(name: str) -> str:
    """``name`` in lower case if ``--optimizer`` accepts it, else an error listing the names."""
    return check_choice(str(name).lower(), "--optimizer", OPTIMIZERS)


def batch_size_for(optimizer: str, text: str | None) -> int | None:
    """The batch size for ``--optimizer`` given ``--batch-size`` (None when it was not given).

    A line search (L-BFGS, Newton) needs the whole data set at every step: it
    implies full batch, and a ``--batch-size`` other than ``full`` is an error
    that names both flags. A first-order optimizer defaults to
    :data:`DEFAULT_BATCH_SIZE`.
    """
    if optimizer not in LINE_SEARCH:
        return parse_batch_size(DEFAULT_BATCH_SIZE if text is None else text)
    if text is not None and parse_batch_size(text) is not None:
        raise ParameterError(
            f"--optimizer {optimizer} uses the whole data set at every step, but --batch-size "
            f"{text} asks for mini-batches; drop --batch-size (or give --batch-size full), or "
            "choose a first-order optimizer such as --optimizer adam."
        )
    return None


def epochs_for(optimizer: str, epochs: int | None, n_train: int,
               batch_size: int | None) -> int:
    r"""The epochs of a run: ``epochs`` when given, else at least :data:`DEFAULT_EPOCHS`
    and enough to pass :data:`ROWS_SEEN` rows or make :data:`UPDATES` updates, whichever
    comes first,

    .. math:: E = \max\left(200, \min\left(\lceil 160000 / n \rceil,
              \lceil 5000 / \lceil n / b \rceil \rceil\right)\right)

    for ``n_train`` rows in batches of ``b`` (one batch an epoch for full batch): 200
    from 800 rows on; 1,667 for 89 rows in batches of 32; 5,000 for 12. A line search
    (L-BFGS, Newton) takes :data:`DEFAULT_EPOCHS` iterations at most.
    """
    if epochs is not None:
        return epochs
    if optimizer in LINE_SEARCH:
        return DEFAULT_EPOCHS
    n_train = max(n_train, 1)
    batches = 1 if batch_size is None else math.ceil(n_train / batch_size)
    return max(DEFAULT_EPOCHS,
               min(math.ceil(ROWS_SEEN / n_train), math.ceil(UPDATES / batches)))


def alpha_for(task: str, model: str, alpha: float | None, n_rows: int, layers=None):
    r"""The L2 penalty of a run: ``alpha`` when given; for a classifier (``mlp`` or
    ``logistic``, not ``--layers``) on ``n_rows`` rows, scikit-learn's
    ``LogisticRegression(C=1)`` prior, :math:`\tfrac12\|w\|^2` against the summed loss,
    which against steepest's mean loss is

    .. math:: \alpha = \max\left(1/n, \alpha_0\right)

    with :math:`\alpha_0 = 10^{-4}` the estimators' default (the prior's weight does not
    grow with the rows: strong on 100 rows, 1e-4 from 10,000). None otherwise: the
    estimator's default (0.1 for the mlp regressor, 0 for linear).
    """
    if alpha is not None or task != "classification" or layers is not None:
        return alpha
    return max(1.0 / max(n_rows, 1), 1e-4)


def rate_for(optimizer: str, text: str | None):
    """The ``--lr`` text as a rate for ``optimizer``: a number, or None for ``auto`` (the LR
    range test). When it was not given: :data:`DEFAULT_LR`, or for a line search its
    first trial step from :mod:`steepest.methods` (1: the full step)."""
    if optimizer in LINE_SEARCH:
        if text is not None and str(text).lower() == "auto":
            raise ParameterError(
                f"--lr auto runs the LR range test, which needs a first-order optimizer; "
                f"--optimizer {optimizer} chooses its own step lengths: drop --lr."
            )
        return METHODS[optimizer].minimize_lr if text is None else parse_lr(text)
    return DEFAULT_LR if text is None else parse_lr(text)


def _check_keywords(optimizer: str, keywords: dict) -> None:
    """Each of ``keywords`` (``momentum``, ``weight_decay``) is one that ``optimizer`` takes."""
    if not keywords:
        return
    flags = " and ".join(f"--{name.replace('_', '-')}" for name in keywords)
    if optimizer in LINE_SEARCH:
        raise ParameterError(
            f"{flags} set{'s' * (len(keywords) == 1)} a first-order optimizer's update; "
            f"--optimizer {optimizer} has none: drop {flags}, or use e.g. --optimizer sgd."
        )
    accepted = inspect.signature(type(optim.get(optimizer))).parameters
    for name in keywords:
        if name not in accepted:
            takers = [n for n in optim.names()
                      if name in inspect.signature(type(optim.get(n))).parameters]
            raise ParameterError(
                f"--{name.replace('_', '-')} is a keyword of --optimizer "
                f"{' or '.join(takers)}, not of --optimizer {optimizer}."
            )


def optimizer_settings(optimizer: str, rate, keywords: dict | None = None) -> dict:
    """The estimator parameters for ``optimizer`` at ``rate`` (a number or a schedule).

    Without ``keywords``: ``{"optimizer": name, "lr": rate}``. With keywords such as
    ``{"momentum": 0.9}`` the estimator gets the optimizer itself,
    ``steepest.optim.get(name, lr=rate, **keywords)``, whose rate it uses.
    """
    keywords = {k: v for k, v in (keywords or {}).items() if v is not None}
    if not keywords:
        return {"optimizer": optimizer, "lr": rate}
    return {"optimizer": optim.get(optimizer, lr=rate, **keywords), "lr": rate}


def make_model(task: str, model: str = "mlp", *, hidden=(64,), optimizer: str = "adam",
               lr=None, batch_size=None, epochs: int = 50, early_stopping: bool = False,
               seed: int = 0, scale: bool = True, verbose: bool = False, alpha=None,
               dropout=None, clip_norm=None, momentum=None, weight_decay=None,
               batch_norm: bool = False, activation: str | None = None, layers=None,
               input_shape=None):
    """The estimator the command line options describe (``lr`` may be a schedule).

    ``layers`` (layer specs, as :func:`steepest.cli_values.parse_layers` gives them)
    makes a :class:`~steepest.NetworkClassifier` or :class:`~steepest.NetworkRegressor`
    on those layers instead of an MLP, reading each row as a sample of ``input_shape``
    when given (``--input-shape``); ``hidden``, ``dropout``, ``batch_norm`` and
    ``activation`` are then layers of the list, not flags.

    ``alpha`` (L2 penalty), ``dropout``, ``activation``, ``clip_norm``, ``momentum``
    and ``weight_decay`` are left at the estimator's defaults when None; ``momentum``
    and ``weight_decay`` are the optimizer's keywords (see
    :func:`optimizer_settings`). ``batch_size`` is a number of rows or None
    (full batch), as :func:`batch_size_for` gives it.
    """
    from steepest import estimators  # measured: scikit-learn costs 0.8 s, too much for --help

    model = check_choice(model, "--model", MODELS)
    optimizer = check_optimizer(optimizer)
    if model == "logistic" and task == "regression":
        raise ParameterError(
            "--model logistic is a classifier, but the task is regression; use --model linear "
            "or mlp, or --task classification."
        )
    if optimizer in LINE_SEARCH and model == "mlp":
        raise ParameterError(
            f"--optimizer {optimizer} fits --model linear or logistic (a smooth objective on "
            "the whole data set); for --model mlp choose a first-order optimizer such as "
            "--optimizer adam."
        )
    if optimizer in LINE_SEARCH and batch_size is not None:
        batch_size_for(optimizer, str(batch_size))  # raises, naming both flags
    check_flag(epochs, "--epochs", low=1, integer=True)
    if alpha is not None:
        check_flag(alpha, "--alpha", low=0.0)
    if clip_norm is not None:
        check_flag(clip_norm, "--clip-norm", low=0.0, closed="neither")
    if momentum is not None:
        check_flag(momentum, "--momentum", low=0.0, high=1.0)
    if weight_decay is not None:
        check_flag(weight_decay, "--weight-decay", low=0.0)
    network = _network_layers(model, layers, input_shape, dropout=dropout,
                              batch_norm=batch_norm, activation=activation)
    if model != "mlp":
        for flag, given in (("--dropout", dropout is not None), ("--batch-norm", batch_norm),
                            ("--activation", activation is not None)):
            if given:
                raise ParameterError(f"{flag} applies to --model mlp, not to --model {model}.")
    else:
        if dropout is not None:
            check_flag(dropout, "--dropout", low=0.0, high=1.0)
        if activation is not None:
            activation = check_choice(str(activation).lower(), "--activation", ACTIVATIONS)
    keywords = {"momentum": momentum, "weight_decay": weight_decay}
    keywords = {name: value for name, value in keywords.items() if value is not None}
    _check_keywords(optimizer, keywords)
    common = {"batch_size": batch_size, "epochs": epochs, "early_stopping": early_stopping,
              "random_state": seed, "scale": scale, "verbose": verbose}
    if optimizer not in LINE_SEARCH:  # all the epochs asked for; a line search stops at tol
        common["tol"] = 1e-4 if early_stopping else None
    if alpha is not None:
        common["alpha"] = alpha
    if clip_norm is not None:
        common["clip_norm"] = clip_norm
    if lr is not None or keywords:
        common.update(optimizer_settings(optimizer, DEFAULT_LR if lr is None else lr,
                                         keywords))
    else:
        common["optimizer"] = optimizer
    if network is not None:
        cls = estimators.NetworkClassifier if task == "classification" else \
            estimators.NetworkRegressor
        return cls(network, input_shape=input_shape, **common)
    if model == "mlp":
        cls = estimators.MLPClassifier if task == "classification" else estimators.MLPRegressor
        extra = {"batch_norm": batch_norm}
        if dropout is not None:
            extra["dropout"] = dropout
        if activation is not None:
            extra["activation"] = activation
        return cls(tuple(hidden), **common, **extra)
    cls = estimators.LogisticRegression if task == "classification" else \
        estimators.LinearRegression
    return cls(**common)


def _network_layers(model: str, layers, input_shape, *, dropout, batch_norm,
                    activation) -> list | None:
    """The layers ``--layers`` lists, built and checked (None without ``--layers``); each
    error names the flag, and the entry for a bad layer argument."""
    if layers is None:
        if input_shape is not None:
            raise ParameterError("--input-shape applies with --layers; give both.")
        return None
    if model != "mlp":
        raise ParameterError(f"--layers describes a network; it replaces --model {model}.")
    for flag, given in (("--dropout", dropout is not None), ("--batch-norm", batch_norm),
                        ("--activation", activation is not None)):
        if given:
            raise ParameterError(
                f"{flag} is a layer of the --layers list (dropout:P, batchnorm, relu, ...), "
                "not a flag with --layers."
            )
    from steepest.nn.spec import layer_from_spec

    built = []
    for position, spec in enumerate(layers, start=1):
        try:
            built.append(layer_from_spec(spec))
        except ParameterError as error:
            raise ParameterError(f"--layers entry {position}: {error}") from None
    return built


def comparison_models(task: str, optimizers, batch_sizes, schedules_=("constant",), *,
                      n_train: int, model="mlp", hidden=(64,), lr=None, epochs=30, seed=0,
                      alpha=None, dropout=None, clip_norm=None, weight_decay=None) -> dict:
    """One estimator per (optimizer, batch size, schedule), labelled by what varies
    (``"adam, batch 32, cosine"``).

    The optimizers are :data:`steepest.methods.MODEL_OPTIMIZERS`' names
    (``momentum`` and ``nesterov`` are SGD with momentum 0.9); each gets its
    ``model_lr`` unless ``lr`` is given. ``n_train`` (the rows trained on) sets the
    number of updates a schedule spans. ``alpha``, ``dropout``, ``clip_norm`` and
    ``weight_decay`` are the same for every run.
    """
    for name in optimizers:
        check_choice(name, "--optimizers", tuple(MODEL_OPTIMIZERS))
    if lr is not None:
        check_flag(lr, "--lr", low=0.0, closed="neither")
    check_flag(epochs, "--epochs", low=1, integer=True)
    models = {}
    for name, text, spec in product(optimizers, batch_sizes, schedules_):
        batch = parse_batch_size(text)
        steps = 1 if batch is None else math.ceil(n_train / batch)
        method = MODEL_OPTIMIZERS[name]
        rate = make_schedule(spec, lr if lr is not None else method.model_lr, epochs * steps,
                             steps)
        estimator = make_model(task, model, hidden=hidden, optimizer=method.rule,
                               batch_size=batch, epochs=epochs, seed=seed, alpha=alpha,
                               dropout=dropout, clip_norm=clip_norm, weight_decay=weight_decay)
        estimator.set_params(**optimizer_settings(
            method.rule, rate, {**method.fixed, "weight_decay": weight_decay}))
        label = [name]
        if len(batch_sizes) > 1:
            label.append(f"batch {'full' if batch is None else batch}")
        if len(schedules_) > 1:
            label.append(spec)
        models[", ".join(label)] = estimator
    return models
