r"""McMahan et al.'s MNIST experiment (2017), on MNIST-5k: FedSGD, FedAvg, FedProx, FedAdam.

::

    from steepest.examples import federated
    federated.run("runs/federated")            # a few minutes; quick=True: seconds

The 2NN (784 → 200 → 200 → 10, ReLU) trained by 100 simulated clients, C = 0.1 of them
a round, with local SGD, in two splits of :func:`~steepest.datasets.fetch_mnist_5k`'s
4,000 training digits (1,000 more, stratified, are the test set):

* IID: 100 clients of 40 digits;
* pathological non-IID: sorted by label, 200 shards of 20, 2 shards a client, so most
  clients see two digits; here FedAvg and FedProx also run with each client doing 1 to
  5 local epochs (drawn once per client), the heterogeneity FedProx was made for.

Strategies: FedSGD (E = 1, the whole local set: one gradient step a round), FedAvg
(E = 5, B = 10: 20 local steps a round), FedProx (the same with μ = 0.01) and FedAdam
(FedAvg's clients, Adam on the server). The report shows the test accuracy
against rounds and against the megabytes communicated, and the rounds each strategy
needs to reach the target accuracy (0.88); ``results.json`` holds the numbers and
``iid.png`` / ``non_iid.png`` the figures.

The full run adds the paper's client size when Fashion-MNIST is on the machine
(Debian's ``dataset-fashion-mnist``; nothing is downloaded for it): its 60,000
training images over 100 IID clients of 600, FedSGD against FedAvg (E = 5, B = 10),
to 0.80 test accuracy (``fashion_iid.png``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from steepest import MLPClassifier
from steepest.data import train_validation_split
from steepest.federated import FedAdam, FedAvg, FedProx, partition
from steepest.federated.figures import add_runs_to_report, rounds_to_target, save_png, speedup
from steepest.io import atomic_write_bytes
from steepest.report import Report

__all__ = ["FASHION", "FULL", "QUICK", "experiment", "fashion_experiment", "run"]

FULL = {"rounds": 150, "sgd_rounds": 300, "clients": 100, "hidden": (200, 200), "lr": 0.05,
        "sgd_lr": 0.2, "server_lr": 0.003, "target": 0.88, "n_train": 4000}
"""The settings of the full run (learning rates picked on short trial runs)."""
FASHION = {"rounds": 40, "sgd_rounds": 400, "clients": 100, "hidden": (200, 200), "lr": 0.05,
           "sgd_lr": 0.2, "target": 0.8}
"""Fashion-MNIST's 60,000 training images over 100 clients of 600 (the paper's size), IID,
FedSGD against FedAvg (E=5, B=10), scored on its 10,000 test images (full run only)."""
QUICK = {"rounds": 4, "sgd_rounds": 4, "clients": 10, "hidden": (16,), "lr": 0.05,
         "sgd_lr": 0.2, "server_lr": 0.003, "target": 0.5, "n_train": 400}
"""A run of a few seconds that goes through every step (for the tests)."""


def _strategies(settings: dict, seed: int) -> dict:
    def model(lr):
        return MLPClassifier(settings["hidden"], optimizer="sgd", lr=lr, alpha=0.0,
                             random_state=seed)

    local = {"fraction": 0.1, "local_epochs": 5, "local_batch_size": 10, "random_state": seed}
    return {
        "FedSGD (E=1, B=∞)": (FedAvg(model(settings["sgd_lr"]), fraction=0.1, local_epochs=1,
                                     local_batch_size=None, random_state=seed),
                              settings["sgd_rounds"]),
        "FedAvg (E=5, B=10)": (FedAvg(model(settings["lr"]), **local), settings["rounds"]),
        "FedProx (μ=0.01)": (FedProx(model(settings["lr"]), mu=0.01, **local),
                             settings["rounds"]),
        f"FedAdam (η={settings['server_lr']:g})": (
            FedAdam(model(settings["lr"]), lr=settings["server_lr"], **local),
            settings["rounds"]),
    }


def experiment(X, y, X_test, y_test, settings: dict, seed: int = 0) -> dict:
    """Every strategy on both splits: ``{split: {strategy: history_}}``."""
    splits = {
        "IID": partition(X, y, settings["clients"], scheme="iid", random_state=seed),
        "pathological non-IID": partition(X, y, settings["clients"], scheme="shards",
                                          shards_per_client=2, random_state=seed),
    }
    results = {}
    for split, clients in splits.items():
        results[split] = {}
        runs = _strategies(settings, seed)
        if split != "IID":
            runs.update(_uneven_strategies(settings, seed))
        for label, (strategy, rounds) in runs.items():
            strategy.fit(clients, rounds, validation_data=(X_test, y_test))
            results[split][label] = strategy.history_
    return results


def _uneven_strategies(settings: dict, seed: int) -> dict:
    """FedAvg and FedProx with each client doing 1 to 5 local epochs (drawn once per
    client): devices that do different amounts of work (Li et al.'s setting)."""
    epochs = np.random.default_rng(seed + 1).integers(1, 6, size=settings["clients"])
    local = {"fraction": 0.1, "local_epochs": epochs.tolist(), "local_batch_size": 10,
             "random_state": seed}

    def model():
        return MLPClassifier(settings["hidden"], optimizer="sgd", lr=settings["lr"],
                             alpha=0.0, random_state=seed)

    return {"FedAvg (E=1..5 by client)": (FedAvg(model(), **local), settings["rounds"]),
            "FedProx (E=1..5 by client, μ=0.01)": (FedProx(model(), mu=0.01, **local),
                                                   settings["rounds"])}


def fashion_experiment(seed: int = 0):
    """FedSGD and FedAvg on Fashion-MNIST, IID: ``{"IID": {strategy: history_}}``, or
    None when the data are not on this machine (nothing is downloaded for it)."""
    from steepest.datasets import fetch_fashion_mnist
    from steepest.errors import DatasetUnavailableError

    try:
        X, y = fetch_fashion_mnist(subset="train", download_if_missing=False,
                                   return_X_y=True)
        X_test, y_test = fetch_fashion_mnist(subset="test", download_if_missing=False,
                                             return_X_y=True)
    except DatasetUnavailableError:
        return None
    settings = FASHION
    clients = partition((X / 255).astype(np.float32), y, settings["clients"], scheme="iid",
                        random_state=seed)
    test = ((X_test / 255).astype(np.float32), y_test)
    results = {}
    for label, (strategy, rounds) in list(_strategies({**settings, "server_lr": 0.0},
                                                      seed).items())[:2]:
        strategy.fit(clients, rounds, validation_data=test)
        results[label] = strategy.history_
    return {"IID": results}


def _summary(results: dict, target: float) -> dict:
    summary = {}
    for split, histories in results.items():
        baseline = next(iter(histories))
        ratios = speedup(histories, baseline, target)
        summary[split] = {label: {"rounds_to_target": rounds_to_target(h, target),
                                  "final_accuracy": float(h["val_score"][-1]),
                                  "best_accuracy": float(np.nanmax(h["val_score"])),
                                  "megabytes": float(np.sum(h["bytes"]) / 1e6),
                                  "seconds": float(np.sum(h["time"])),
                                  "fewer_rounds_than_fedsgd": None if math.isnan(
                                      ratios[label]) else ratios[label]}
                          for label, h in histories.items()}
    return summary


def run(out_dir, *, quick: bool = False, seed: int = 0) -> Path:
    """Run the experiment and write ``report.html`` and ``results.json`` in ``out_dir``.

    Returns
    -------
    Path
        The report.
    """
    from threadpoolctl import threadpool_limits

    from steepest.datasets import fetch_mnist_5k

    settings = QUICK if quick else FULL
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = fetch_mnist_5k(return_X_y=True)
    X, X_test, y, y_test = train_validation_split(
        (images / 255).astype(np.float32), labels, 0.2, stratify=True, random_state=seed)
    keep = np.random.default_rng(seed).permutation(len(y))[:settings["n_train"]]
    X, y = X[keep], y[keep]  # the file is sorted by digit
    with threadpool_limits(1):  # batches of 10: BLAS threads would only contend
        results = experiment(X, y, X_test, y_test, settings, seed)
        fashion = None if quick else fashion_experiment(seed)
    target = settings["target"]
    summary = _summary(results, target)
    report = Report("Federated learning on MNIST-5k: FedSGD, FedAvg, FedProx, FedAdam",
                    subtitle=f"{settings['clients']} clients of {len(y) // settings['clients']}"
                             f" digits, C = 0.1, 2NN {settings['hidden']}, target accuracy "
                             f"{target}")
    report.add_paragraph(
        "McMahan et al. (2017) train the same network by averaging the clients' models "
        "after several local epochs (FedAvg) instead of averaging one gradient each "
        "(FedSGD), and need far fewer communication rounds. Test accuracy of the global "
        f"model on {len(y_test)} held-out digits after every round.")
    for split, histories in results.items():
        report.add_heading(split)
        figure = add_runs_to_report(
            report, histories, target=target,
            caption=f"{split}: test accuracy per round (left) and against the parameters "
                    f"sent to and from the clients (right); dashed: the target {target}.")
        save_png(figure, out / ("iid.png" if split == "IID" else "non_iid.png"))
    if fashion is not None:
        report.add_heading("Fashion-MNIST, 100 clients of 600")
        figure = add_runs_to_report(
            report, fashion["IID"], target=FASHION["target"],
            caption="Fashion-MNIST, IID, 100 clients of 600 images: test accuracy on its "
                    f"10,000 test images; dashed: the target {FASHION['target']}.")
        save_png(figure, out / "fashion_iid.png")
    report.add_heading("Rounds to the target")
    rows = [[split, label,
             "not reached" if s["rounds_to_target"] is None else s["rounds_to_target"],
             "" if s["fewer_rounds_than_fedsgd"] is None
             else f"{s['fewer_rounds_than_fedsgd']:.1f}×"]
            for split, by_label in summary.items() for label, s in by_label.items()]
    if fashion is not None:
        for label, s in _summary(fashion, FASHION["target"])["IID"].items():
            rows.append([f"Fashion-MNIST IID (target {FASHION['target']})", label,
                         "not reached" if s["rounds_to_target"] is None
                         else s["rounds_to_target"],
                         "" if s["fewer_rounds_than_fedsgd"] is None
                         else f"{s['fewer_rounds_than_fedsgd']:.1f}×"])
    report.add_table(rows, ["split", "strategy", "rounds to the target", "fewer than FedSGD"])
    report.add_heading("Settings")
    report.add_table([[k, str(v)] for k, v in settings.items()], ["setting", "value"])
    atomic_write_bytes(out / "results.json", json.dumps(
        {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
         "summary": summary,
         "fashion_mnist": None if fashion is None else {
             "settings": {k: list(v) if isinstance(v, tuple) else v
                          for k, v in FASHION.items()},
             "summary": _summary(fashion, FASHION["target"])["IID"]}}, indent=2).encode())
    return report.write(out / "report.html")
