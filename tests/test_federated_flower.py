"""Real Flower processes on 127.0.0.1: a server running Flower's own FedAvg and two
client processes holding SteepestClient end with the in-process FedAvg's model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("flwr")

from steepest import MLPClassifier  # noqa: E402
from steepest.errors import ParameterError  # noqa: E402
from steepest.federated import FedAvg, FedProx, partition  # noqa: E402
from steepest.federated.flower import SteepestClient, fit_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ROUNDS, SEED = 2, 11
BOUND = 180  # seconds any process may take before the test fails (and kills them)

MODEL = "MLPClassifier((6,), optimizer='sgd', lr=0.05, random_state=3)"
SERVER = f"""
import sys
import numpy as np
import flwr
from flwr.common import ndarrays_to_parameters
from steepest import MLPClassifier
from steepest.federated.flower import SteepestClient, fit_config

port, out, rounds, strategy_name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = np.load(out + "/data.npz")
start = SteepestClient({MODEL}, data["X0"], data["y0"], classes=data["classes"])

def keep(server_round, arrays, config):
    np.savez(out + f"/global{{server_round}}.npz", *arrays)
    return None

settings = dict(fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=2,
                min_available_clients=2, on_fit_config_fn=fit_config, evaluate_fn=keep,
                initial_parameters=ndarrays_to_parameters(start.get_parameters({{}})))
if strategy_name == "fedprox":
    strategy = flwr.server.strategy.FedProx(proximal_mu=0.5, **settings)
else:
    strategy = flwr.server.strategy.FedAvg(**settings)
flwr.server.start_server(server_address="127.0.0.1:" + port, strategy=strategy,
                         config=flwr.server.ServerConfig(num_rounds=rounds))
"""
CLIENT = f"""
import sys
import numpy as np
import flwr
from steepest import MLPClassifier
from steepest.federated.flower import SteepestClient

port, out, k, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = np.load(out + "/data.npz")
client = SteepestClient({MODEL}, data[f"X{{k}}"], data[f"y{{k}}"], local_epochs=2,
                        local_batch_size=5, classes=data["classes"], client_id=k,
                        random_state=seed)
flwr.client.start_client(server_address="127.0.0.1:" + port, client=client.to_client(),
                         insecure=True)
"""


def model():
    return MLPClassifier((6,), optimizer="sgd", lr=0.05, random_state=3)


def clients():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return partition(X, y, 2, scheme="dirichlet", alpha=1.0, random_state=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Flower server exited early:\n{server.communicate()[0]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail("the Flower server did not listen in time")


def run_flower(tmp_path: Path, strategy: str) -> list[np.ndarray]:
    data = clients()
    np.savez(tmp_path / "data.npz", X0=data[0][0], y0=data[0][1], X1=data[1][0],
             y1=data[1][1], classes=np.array([0, 1, 2]))
    (tmp_path / "server.py").write_text(textwrap.dedent(SERVER))
    (tmp_path / "client.py").write_text(textwrap.dedent(CLIENT))
    port = str(free_port())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launch = {"cwd": tmp_path, "env": env, "stdout": subprocess.PIPE,
              "stderr": subprocess.STDOUT, "text": True}
    processes = []
    try:
        server = subprocess.Popen([sys.executable, "server.py", port, str(tmp_path),
                                   str(ROUNDS), strategy], **launch)
        processes.append(server)
        deadline = time.monotonic() + BOUND
        wait_for_port(int(port), server, deadline)
        for k in (0, 1):
            processes.append(subprocess.Popen(
                [sys.executable, "client.py", port, str(tmp_path), str(k), str(SEED)], **launch))
        output, _ = server.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert server.returncode == 0, output
        for client in processes[1:]:
            client.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    final = np.load(tmp_path / f"global{ROUNDS}.npz")
    return [final[f"arr_{i}"] for i in range(len(final.files))]


@pytest.mark.parametrize("strategy", ["fedavg", "fedprox"])
def test_real_flower_processes_give_the_simulations_model(tmp_path, strategy):
    arrays = run_flower(tmp_path, strategy)
    common = {"fraction": 1.0, "local_epochs": 2, "local_batch_size": 5, "random_state": SEED}
    simulated = (FedAvg(model(), **common) if strategy == "fedavg"
                 else FedProx(model(), mu=0.5, **common)).fit(clients(), ROUNDS)
    expected = list(simulated.estimator_._network.parameters().values())
    assert len(arrays) == len(expected)
    for got, want in zip(arrays, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    start = SteepestClient(model(), *clients()[0], classes=[0, 1, 2])
    assert not np.allclose(start.get_parameters({})[0], expected[0])  # training moved θ


def test_client_parameters_round_trip_and_refuse_another_model():
    X, y = clients()[0]
    client = SteepestClient(model(), X, y, classes=[0, 1, 2])
    arrays = client.get_parameters({})
    assert [a.shape for a in arrays] == [(4, 6), (6,), (6, 3), (3,)]
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in arrays]),
                                  client.estimator_._network.theta)
    trained, n, metrics = client.fit(arrays, fit_config(1))
    assert n == len(y) and np.isfinite(metrics["loss"])
    client.set_parameters(trained)
    loss, count, scores = client.evaluate(trained, {})
    assert count == len(y) and scores["score"] == pytest.approx(client.estimator_.score(X, y))
    with pytest.raises(ParameterError, match="same model"):
        client.set_parameters(arrays[:2])
