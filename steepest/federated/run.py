"""What ``steepest federate`` does: a table split among simulated clients, trained federated.

::

    from steepest.federated.run import federate

    run = federate("digits.csv", "label", clients=100, partition="dirichlet:0.3",
                   strategy="fedavg", rounds=50, out="runs/fed")
    run.model.predict(raw_X), run.strategy.history_["val_score"]

The table is read as ``steepest train`` reads it; ``validation`` of its rows
(stratified for classes) is held out and scored with the global model after each
round. The features are standardised by the training rows' statistics before
they are split among the clients (a simulation may; real clients would agree on
them), and the saved model keeps those statistics, so it predicts from raw rows.
``out`` receives ``model.safetensors``, ``history.csv``, ``rounds.png`` and
``report.html``, each written atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from steepest._validation import check_choice, check_number
from steepest.data import train_validation_split
from steepest.errors import ParameterError
from steepest.federated import strategy as strategies
from steepest.federated.figures import add_runs_to_report, plot_runs, save_png
from steepest.federated.partition import SCHEMES
from steepest.federated.partition import partition as split_clients
from steepest.io import write_csv
from steepest.model_factory import make_model
from steepest.report import Report
from steepest.tables import load_dataset

__all__ = ["STRATEGIES", "FederatedRun", "federate", "make_strategy", "parse_partition"]

STRATEGIES = ("fedavg", "fedsgd", "fedprox", "fedadam", "fedyogi", "fedadagrad")


@dataclass
class FederatedRun:
    """What :func:`federate` made."""

    strategy: object
    model: object
    settings: dict
    scores: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0


def parse_partition(text: str) -> dict:
    """``"iid"``, ``"shards"`` / ``"shards:3"`` (shards per client) or ``"dirichlet:0.3"``
    (its α) as keyword arguments of :func:`~steepest.federated.partition`."""
    scheme, _, value = str(text).partition(":")
    check_choice(scheme, "--partition", "federate", SCHEMES)
    if not value:
        return {"scheme": scheme}
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if scheme == "iid" or not number > 0 or (scheme == "shards" and number != int(number)):
        raise ParameterError(
            f"--partition {text!r}: write iid, shards:K (K whole shards per client) or "
            "dirichlet:ALPHA (ALPHA > 0), e.g. dirichlet:0.3."
        )
    if scheme == "shards":
        return {"scheme": scheme, "shards_per_client": int(number)}
    return {"scheme": scheme, "alpha": number}


def make_strategy(name: str, estimator, *, fraction=0.1, local_epochs=1, local_batch_size=10,
                  mu=0.01, server_lr=None, seed=0):
    """The strategy a name gives: ``fedsgd`` is FedAvg with one epoch on the whole local
    set; the FedOpt ones take their papers' server rates unless ``server_lr`` is given."""
    check_choice(name, "--strategy", "federate", STRATEGIES)
    common = {"fraction": fraction, "local_epochs": local_epochs,
              "local_batch_size": local_batch_size, "random_state": seed}
    if name == "fedsgd":
        return strategies.FedAvg(estimator, **{**common, "local_epochs": 1,
                                               "local_batch_size": None})
    if name == "fedavg":
        return strategies.FedAvg(estimator, **common)
    if name == "fedprox":
        return strategies.FedProx(estimator, mu=mu, **common)
    cls = {"fedadam": strategies.FedAdam, "fedyogi": strategies.FedYogi,
           "fedadagrad": strategies.FedAdagrad}[name]
    return cls(estimator, **common) if server_lr is None else cls(estimator, lr=server_lr,
                                                                  **common)


def federate(data_path, target: str, *, clients: int = 100, partition: str = "dirichlet:0.3",
             strategy: str = "fedavg", rounds: int = 50, fraction: float = 0.1,
             local_epochs: int = 1, local_batch_size: int | None = 10, hidden=(64,),
             lr: float = 0.05, mu: float = 0.01, server_lr: float | None = None,
             validation: float = 0.2, task: str | None = None, seed: int = 0,
             out=None) -> FederatedRun:
    """Federated training of an MLP (local SGD at ``lr``) on a CSV or Parquet table.

    Parameters
    ----------
    data_path : path
        CSV or Parquet; every column but ``target`` is a numeric feature.
    target : str
    clients : int, default=100
    partition : str, default="dirichlet:0.3"
        See :func:`parse_partition`.
    strategy : {"fedavg", "fedsgd", "fedprox", "fedadam", "fedyogi", "fedadagrad"}
    rounds, fraction, local_epochs, local_batch_size, mu
        As for :class:`~steepest.federated.FedAvg` / :class:`~steepest.federated.FedProx`.
    hidden : tuple of int, default=(64,)
    lr : float, default=0.05
        The clients' SGD rate.
    server_lr : float, optional
        The FedOpt strategies' server rate (default: theirs).
    validation : float, default=0.2
        The share of rows held out (0: none).
    task : {"classification", "regression"}, optional
        Detected from the target when not given.
    seed : int, default=0
    out : path, optional
        The folder for the model, the history, the figure and the report.

    Returns
    -------
    FederatedRun
    """
    check_number(clients, "--clients", "federate", low=1, integer=True)
    check_number(validation, "--validation", "federate", low=0.0, high=1.0)
    split = parse_partition(partition)
    data = load_dataset(data_path, target, task)
    classify = data.task == "classification"
    if validation > 0:
        X_train, X_val, y_train, y_val = train_validation_split(
            data.X, data.y, validation, stratify=classify, random_state=seed)
    else:
        X_train, X_val, y_train, y_val = data.X, None, data.y, None
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    estimator = make_model(data.task, "mlp", hidden=hidden, optimizer="sgd", lr=lr,
                           batch_size=local_batch_size, seed=seed, scale=False)
    fed = make_strategy(strategy, estimator, fraction=fraction, local_epochs=local_epochs,
                        local_batch_size=local_batch_size, mu=mu, server_lr=server_lr,
                        seed=seed)
    if split["scheme"] != "iid" and not classify:
        raise ParameterError(
            f"--partition {partition} splits by label, but the target {target!r} is "
            "numeric (regression); use --partition iid."
        )
    pieces = split_clients((X_train - mean) / scale, y_train, clients, random_state=seed,
                           **split)
    validation_data = None if X_val is None else ((X_val - mean) / scale, y_val)
    start = time.perf_counter()
    fed.fit(pieces, rounds, validation_data=validation_data)
    model = fed.estimator_
    model.set_params(scale=True)  # the network saw standardised rows: keep the statistics
    model.input_mean_, model.input_scale_ = mean, scale
    model.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    settings = {"data": str(data.source), "target": target, "task": data.task,
                "clients": clients, "partition": partition, "strategy": strategy,
                "rounds": rounds, "fraction": fraction, "local_epochs": local_epochs,
                "local_batch_size": local_batch_size, "hidden": ",".join(map(str, hidden)),
                "lr": lr, "mu": mu if strategy == "fedprox" else "", "seed": seed}
    run = FederatedRun(fed, model, settings, seconds=time.perf_counter() - start)
    run.scores["train"] = float(model.score(X_train, y_train))
    if X_val is not None:
        run.scores["validation"] = float(model.score(X_val, y_val))
    if out is not None:
        _write_outputs(run, Path(out))
    return run


def _write_outputs(run: FederatedRun, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    history = run.strategy.history_
    run.files["model"] = run.model.save(out / "model.safetensors")
    run.files["history"] = write_csv(out / "history.csv", {
        "round": np.asarray(history["round"]),
        "clients": np.asarray([len(c) for c in history["clients"]]),
        "dropped": np.asarray([len(d) for d in history["dropped"]]),
        **{key: np.asarray(history[key], dtype=float)
           for key in ("loss", "val_loss", "val_score", "time")},
        "bytes": np.asarray(history["bytes"]),
        "cumulative_bytes": np.cumsum(history["bytes"])})
    label = run.settings["strategy"]
    metric = "accuracy" if run.settings["task"] == "classification" else "R²"
    run.files["figure"] = save_png(plot_runs({label: history}, metric=metric),
                                   out / "rounds.png")
    report = Report(f"steepest federate: {Path(run.settings['data']).name} → "
                    f"{run.settings['target']}",
                    subtitle=f"{label}, {run.settings['clients']} clients "
                             f"({run.settings['partition']}), {run.seconds:.1f} s")
    report.add_heading("Result")
    scores = ", ".join(f"{name} {value:.4g}" for name, value in run.scores.items())
    report.add_paragraph(f"{run.settings['rounds']} rounds; global model's {metric}: "
                         f"{scores}.")
    add_runs_to_report(report, {label: history}, metric=metric,
                       caption="The global model's validation score after each round, "
                               "against rounds and against the parameters sent to and "
                               "from the clients.")
    report.add_heading("Settings")
    report.add_table([[k, str(v)] for k, v in run.settings.items()], ["setting", "value"])
    run.files["report"] = report.write(out / "report.html")
