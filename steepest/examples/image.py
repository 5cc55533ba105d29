"""Image classification on Fashion-MNIST: a small CNN next to an MLP and logistic regression.

::

    from steepest.examples import image
    path = image.run("out")              # out/image.html (a few minutes on 2 cores)
    image.run("out", quick=True)         # seconds: the same report on a few hundred images

The three models see the same split (the first ``n_train`` of Fashion-MNIST's 60,000
training images, the next 1,000 as validation data for the curves, and the official 10,000
test images; pixels divided by 255, float32) and are each trained twice, with Adam
(starting rate 3e-3 for the CNN, 1e-3 for the others) and with SGD and momentum 0.9
(starting rate 0.01; 0.02 for the MLP), in batches of 64, every rate decaying to 0 along a
cosine over the run:

- the CNN of ``BENCHMARKS.md`` ("A small CNN on Fashion-MNIST"): ``Conv2D(32, 3) ReLU
  MaxPool2D(2) Conv2D(64, 3) ReLU MaxPool2D(2) Flatten Dense(128) ReLU Dense(10)``, a
  :class:`~steepest.NetworkClassifier` reading each row of pixels as a 1×28×28 image;
- an MLP with one hidden layer of 256 ReLU units (:class:`~steepest.MLPClassifier`);
- multinomial logistic regression (:class:`~steepest.LogisticRegression`).

The report (:class:`~steepest.report.Report`) has the test accuracy of each run, the
training curves, the confusion matrix and a grid of misclassified test images of the best
CNN, and the diagnosis (:func:`steepest.diagnose.diagnose`) of every run. The figures are
drawn by :mod:`steepest.plot` (``plot_training_curves``, ``plot_history``,
``plot_confusion_matrix``, ``plot_image_grid``).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steepest.errors import ParameterError
from steepest.plot import (
    plot_confusion_matrix,
    plot_history,
    plot_image_grid,
    plot_training_curves,
)

__all__ = ["run"]


@dataclass(frozen=True)
class _Settings:
    n_train: int                 # training images (the first of the official training set)
    n_validation: int            # the next ones: validation data for the curves
    n_test: int                  # the first of the official 10,000 test images
    cnn_epochs: int
    mlp_epochs: int
    linear_epochs: int


_FULL = _Settings(n_train=59_000, n_validation=1_000, n_test=10_000, cnn_epochs=3,
                  mlp_epochs=10, linear_epochs=10)
_QUICK = _Settings(n_train=400, n_validation=100, n_test=200, cnn_epochs=2, mlp_epochs=3,
                   linear_epochs=3)

SEED = 0
BATCH_SIZE = 64
ADAM_RATES = {"CNN": 3e-3, "MLP": 1e-3, "logistic regression": 1e-3}
MOMENTUM = 0.9
SGD_RATES = {"CNN": 0.01, "MLP": 0.02, "logistic regression": 0.01}
"""SGD's starting rate per model (with momentum 0.9 the steady step is ten times the rate)."""
N_MISCLASSIFIED = 24
"""Misclassified test images shown in the grid (the first ones of the test set)."""


def _cnn_layers() -> list:
    from steepest import nn

    return [nn.Conv2D(32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(64, 3), nn.ReLU(),
            nn.MaxPool2D(2), nn.Flatten(), nn.Dense(128), nn.ReLU(), nn.Dense(10)]


def _models(settings: _Settings) -> dict:
    """Run name → (family, optimizer words, unfitted estimator). Every rate decays from
    its start to 0 along a cosine over the run's updates."""
    from steepest import LogisticRegression, MLPClassifier, NetworkClassifier, optim, schedules

    updates_per_epoch = math.ceil(settings.n_train / BATCH_SIZE)
    epochs = {"CNN": settings.cnn_epochs, "MLP": settings.mlp_epochs,
              "logistic regression": settings.linear_epochs}

    def rate(start: float, family: str):
        return schedules.cosine(start, epochs[family] * updates_per_epoch)

    optimizers = {"Adam": lambda family: optim.Adam(lr=rate(ADAM_RATES[family], family)),
                  "SGD+momentum": lambda family: optim.SGD(lr=rate(SGD_RATES[family], family),
                                                           momentum=MOMENTUM)}
    common = {"batch_size": BATCH_SIZE, "tol": None, "random_state": SEED}
    runs = {}
    for words, make in optimizers.items():
        runs[f"CNN, {words}"] = ("CNN", words, NetworkClassifier(
            _cnn_layers(), input_shape=(1, 28, 28), optimizer=make("CNN"),
            epochs=epochs["CNN"], **common))
        runs[f"MLP, {words}"] = ("MLP", words, MLPClassifier(
            (256,), optimizer=make("MLP"), alpha=0.0, epochs=epochs["MLP"], **common))
        runs[f"logistic regression, {words}"] = ("logistic regression", words,
                                                 LogisticRegression(
            optimizer=make("logistic regression"), alpha=0.0,
            epochs=epochs["logistic regression"], **common))
    return runs


def _per_model(rates: dict) -> str:
    return ", ".join(f"{rate:g} for the {family}" for family, rate in rates.items())


def _styles(runs) -> dict:
    """A colour per model (Okabe & Ito's, as steepest.plot's), a line and marker per
    optimizer."""
    colours = {"CNN": "#0072B2", "MLP": "#D55E00", "logistic regression": "#009E73"}
    lines = {"Adam": {"linestyle": "-", "marker": "o"},
             "SGD+momentum": {"linestyle": "--", "marker": "s"}}
    return {name: {"color": colours[name.split(", ")[0]], **lines[name.split(", ")[1]]}
            for name in runs}


def _data(settings: _Settings):
    from steepest.datasets import fetch_fashion_mnist

    train = fetch_fashion_mnist(subset="train")
    test = fetch_fashion_mnist(subset="test")
    stop = settings.n_train + settings.n_validation
    pixels = (train.data[:stop] / np.float32(255)).astype(np.float32)
    X_test = (test.data[:settings.n_test] / np.float32(255)).astype(np.float32)
    return ((pixels[:settings.n_train], train.target[:settings.n_train]),
            (pixels[settings.n_train:], train.target[settings.n_train:stop]),
            (X_test, test.target[:settings.n_test]), list(train.target_names))


def run(out_dir: str | os.PathLike, *, quick: bool = False, overwrite: bool = False) -> Path:
    """Train the six runs and write ``out_dir/image.html``; return its path.

    Parameters
    ----------
    out_dir : str or path-like
        Created when missing.
    quick : bool, default=False
        400 training and 200 test images, two or three epochs (seconds, for tests);
        the full run trains on 59,000 images (see BENCHMARKS.md for its time).
    overwrite : bool, default=False
        Replace a report already in ``out_dir``; otherwise that is an error.

    Returns
    -------
    Path
        The report.
    """
    from sklearn.metrics import confusion_matrix

    from steepest.diagnose import add_findings, diagnose
    from steepest.report import Report

    path = Path(out_dir) / "image.html"
    if path.exists() and not overwrite:
        raise ParameterError(
            f"'{path}' already exists; pass overwrite=True to replace it, or another out_dir."
        )
    settings = _QUICK if quick else _FULL
    (X_train, y_train), validation, (X_test, y_test), names = _data(settings)
    rows, histories, predictions, findings = [], {}, {}, {}
    for name, (family, words, model) in _models(settings).items():
        start = time.perf_counter()
        model.fit(X_train, y_train, validation_data=validation)
        seconds = time.perf_counter() - start
        predictions[name] = model.predict(X_test)
        rows.append((family, words, model.n_iter_, seconds,
                     float(np.mean(predictions[name] == y_test))))
        histories[name] = model.history_
        # Not X: the pixels share one scale, [0, 1], and the border pixels are nearly
        # constant, which a per-column rule would read as badly scaled inputs.
        findings[name] = diagnose(model, y=y_train, find_lr=False)
        del model                        # one network's batch buffers alive at a time
    accuracy = {name: row[-1] for name, row in zip(histories, rows, strict=True)}
    best = max((name for name in histories if name.startswith("CNN")), key=accuracy.get)
    predicted = predictions[best]

    report = Report("Image classification: a CNN, an MLP and logistic regression",
                    subtitle="Fashion-MNIST" + (" (quick run: a few hundred images, not the "
                                                "real numbers)" if quick else ""))
    report.add_paragraph(
        f"Training on the first {settings.n_train:,} of Fashion-MNIST's 60,000 training images "
        f"(the next {settings.n_validation:,} are the validation data of the curves), testing "
        f"on {settings.n_test:,} of the official test images; pixels in [0, 1], float32, "
        f"batches of {BATCH_SIZE}, random_state={SEED}. Each model is trained with Adam "
        "(starting rate " + _per_model(ADAM_RATES) + f") and with SGD and momentum "
        f"{MOMENTUM:g} (starting rate " + _per_model(SGD_RATES) + "); every rate decays to 0 "
        "along a cosine over the run. "
        "The CNN: Conv2D(32, 3) ReLU MaxPool2D(2) Conv2D(64, 3) ReLU MaxPool2D(2) Flatten "
        "Dense(128) ReLU Dense(10); the MLP: one hidden layer of 256 ReLU units.")
    report.add_heading("Test accuracy")
    report.add_table(rows, ["model", "optimizer", "epochs", "training time (s)",
                            "test accuracy"],
                     formats={"training time (s)": ".1f", "test accuracy": ".4f"},
                     caption=f"On {settings.n_test:,} test images; the time is the fit's, "
                     "validation included, on this machine.")
    report.add_heading("Training curves")
    report.add_figure(plot_training_curves(histories, styles=_styles(histories)),
                      caption="Training loss (cross-entropy) of every run, against epoch and "
                      "against training time.")
    report.add_figure(plot_history(histories[best]),
                      caption=f"{best}: loss (training and validation), learning rate and "
                      "gradient norms (all parameters and each layer's weights), per epoch.")
    report.add_heading(f"Errors of the best CNN ({best})")
    report.add_figure(plot_confusion_matrix(confusion_matrix(y_test, predicted,
                                                             labels=range(len(names))), names),
                      caption="Rows: the true class; columns: the predicted one; colour: the "
                      "share of the row.")
    wrong = np.flatnonzero(predicted != y_test)[:N_MISCLASSIFIED]
    if wrong.size:
        report.add_figure(plot_image_grid(
            X_test[wrong].reshape(-1, 28, 28),
            [f"{names[predicted[i]]}\n(is {names[y_test[i]]})" for i in wrong], columns=8),
            caption=f"The first {wrong.size} misclassified test images: the prediction, and "
            "under it the true class.", format="png")
    report.add_heading("Diagnosis")
    report.add_paragraph("What steepest.diagnose reads in each run's history (the pixels are "
                         "not judged column by column: they share one scale).")
    for name, found in findings.items():
        report.add_heading(name, level=3)
        add_findings(report, found)
    return report.write(path)
