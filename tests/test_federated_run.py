"""steepest.federated.run.federate (behind ``steepest federate``) and the worked example."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import csv

import steepest
from steepest.errors import DatasetUnavailableError, ParameterError
from steepest.federated import FedAdam, FedAvg, FedProx
from steepest.federated.run import federate, make_strategy, parse_partition


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=5.0, scale=[1.0, 10.0, 0.1], size=(300, 3))
    label = (X[:, 0] - 5 + (X[:, 1] - 5) / 10 > 0).astype(int)
    path = tmp_path / "points.csv"
    csv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": label}), path)
    return path, X, label


def test_federate_writes_a_model_that_predicts_from_raw_rows(table, tmp_path):
    path, X, label = table
    out = tmp_path / "run"
    run = federate(path, "label", clients=10, partition="dirichlet:0.5", strategy="fedprox",
                   rounds=6, fraction=0.5, local_epochs=2, hidden=(8,), lr=0.1, out=out)
    assert isinstance(run.strategy, FedProx)
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "history.csv",
                                               "rounds.png", "report.html"}
    model = steepest.load(out / "model.safetensors")
    np.testing.assert_array_equal(model.predict(X), run.model.predict(X))
    assert run.scores["validation"] > 0.8 and model.score(X, label) > 0.8
    history = csv.read_csv(out / "history.csv")
    assert history.num_rows == 6 and history.column("round").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert history.column("cumulative_bytes").to_pylist()[-1] == sum(
        run.strategy.history_["bytes"])
    assert "federate" in (out / "report.html").read_text()


def test_partition_specs_and_strategy_names():
    assert parse_partition("iid") == {"scheme": "iid"}
    assert parse_partition("shards:3") == {"scheme": "shards", "shards_per_client": 3}
    assert parse_partition("dirichlet:0.3") == {"scheme": "dirichlet", "alpha": 0.3}
    for bad in ("dirichlet:-1", "shards:1.5", "iid:2", "dirichlet:x"):
        with pytest.raises(ParameterError, match="--partition"):
            parse_partition(bad)
    with pytest.raises(ParameterError, match="--partition"):
        parse_partition("sorted")
    model = steepest.MLPClassifier()
    fedsgd = make_strategy("fedsgd", model, local_epochs=5, local_batch_size=10)
    assert isinstance(fedsgd, FedAvg) and fedsgd.local_batch_size is None
    assert fedsgd.local_epochs == 1
    adam = make_strategy("fedadam", model, server_lr=0.01)
    assert isinstance(adam, FedAdam) and adam.server_optimizer.lr == 0.01
    with pytest.raises(ParameterError, match="--strategy"):
        make_strategy("fedsvrg", model)


def test_label_partitions_need_a_classification_target(table, tmp_path):
    path, X, _ = table
    rng = np.random.default_rng(1)
    numeric = tmp_path / "numeric.csv"
    csv.write_csv(pa.table({"a": X[:, 0], "y": rng.normal(size=300)}), numeric)
    with pytest.raises(ParameterError, match="use --partition iid"):
        federate(numeric, "y", clients=5, partition="shards", rounds=1)


def test_the_worked_example_runs_quickly(tmp_path):
    from steepest.examples import federated

    try:
        report = federated.run(tmp_path, quick=True)
    except DatasetUnavailableError as error:
        pytest.skip(f"MNIST-5k is not reachable here: {error}")
    assert report.name == "report.html" and "FedProx" in report.read_text()
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert set(summary) == {"IID", "pathological non-IID"}
    assert len(summary["IID"]) == 4 and len(summary["pathological non-IID"]) == 6
    fedavg = summary["IID"]["FedAvg (E=5, B=10)"]
    assert 0.0 < fedavg["final_accuracy"] <= 1.0 and fedavg["megabytes"] > 0
