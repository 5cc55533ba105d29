"""Driver checkpoints: L-BFGS and Newton (in memory, streamed, on Dask) and the epochs over a
stream or a Dask cluster save their state after every iteration; a killed fit resumes to
the model of an uninterrupted one, and a checkpoint of another fit is refused."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import parquet
from sklearn.datasets import make_classification

from steepest import LinearRegression, LogisticRegression, MLPClassifier
from steepest.errors import FileFormatError, StateError
from steepest.functions import rosenbrock
from steepest.optim.lbfgs import lbfgs
from steepest.optim.newton import newton
from steepest.stream import ParquetStream
from steepest.train.state import load_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rosenbrock(x):
    return rosenbrock(x), rosenbrock.gradient(x)


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_the_methods_resume_from_every_saved_state_to_the_same_result(method):
    def run(**options):
        if method == "lbfgs":
            return lbfgs(_rosenbrock, rosenbrock.start, history_size=3, **options)
        return newton(_rosenbrock, rosenbrock.hessian, rosenbrock.start, **options)

    states = []
    whole = run(checkpoint=states.append)
    assert len(states) == whole.nit > 10
    for k, state in enumerate(states):
        assert state["nit"] == k + 1
        resumed = run(state=state)
        np.testing.assert_array_equal(resumed.x, whole.x)
        assert (resumed.nit, resumed.nfev, resumed.njev) == (whole.nit, whole.nfev, whole.njev)
        assert (resumed.success, resumed.message) == (whole.success, whole.message)
        np.testing.assert_array_equal(resumed.path, whole.path[k + 1:])


def test_a_state_of_another_size_is_refused():
    states = []
    lbfgs(_rosenbrock, rosenbrock.start, max_iter=2, checkpoint=states.append)
    with pytest.raises(StateError, match=r"point of shape \(2,\); x0 has shape \(3,\)"):
        lbfgs(lambda x: (x @ x, 2 * x), np.ones(3), state=states[-1])


class _Crash(BaseException):
    """The driver dying (not an Exception: nothing in the fit may catch it)."""


@contextlib.contextmanager
def _crash_at_save(monkeypatch, n: int):
    """The ``n``-th checkpoint write dies after its bytes are written, before the rename:
    a crash mid-write. The file must then still hold the ``n - 1``-th save, whole."""
    replace, calls = os.replace, []

    def dying(source, target):
        calls.append(target)
        if len(calls) == n:
            raise _Crash
        return replace(source, target)
    monkeypatch.setattr(os, "replace", dying)
    with pytest.raises(_Crash):
        yield
    monkeypatch.setattr(os, "replace", replace)


def _saved_steps(path) -> int:
    return load_state(path)["state"]["history"]["epochs"]


def _assert_same_fit(resumed, whole, atol: float = 0.0):
    """The same model and history: bit for bit, or within ``atol`` where two uninterrupted
    fits already differ in the last bits (Dask's)."""
    np.testing.assert_allclose(resumed._network.theta, whole._network.theta, rtol=0,
                               atol=atol)
    np.testing.assert_allclose(resumed.history_["loss"], whole.history_["loss"], rtol=atol,
                               atol=0)
    assert resumed.history_["updates"] == whole.history_["updates"]
    assert resumed.n_iter_ == whole.n_iter_


def _interrupted_and_resumed(monkeypatch, make, fit, path, k: int = 2):
    """Fit once whole; once dying at its checkpoint write ``k + 1`` (the file then holds
    ``k`` steps, none of them torn); then resume."""
    whole = fit(make(), None, False)
    assert whole.n_iter_ > k + 1, "the fit must outlast the interruption"
    with _crash_at_save(monkeypatch, k + 1):
        fit(make(), path, False)
    assert _saved_steps(path) == k
    assert not [name for name in os.listdir(path.parent) if name.endswith(".tmp")]
    return fit(make(), path, True), whole


@pytest.mark.parametrize("method", ["lbfgs", "newton"])
def test_an_in_memory_line_search_resumes_to_the_same_model(monkeypatch, tmp_path, method):
    X, y = make_classification(n_samples=400, n_features=5, random_state=0)
    resumed, whole = _interrupted_and_resumed(
        monkeypatch, lambda: LogisticRegression(optimizer=method, alpha=1e-3, tol=1e-10),
        lambda model, path, resume: model.fit(X, y, checkpoint=path, resume=resume),
        tmp_path / "fit.ckpt")
    _assert_same_fit(resumed, whole)
    # a resumed finished run is that run
    again = LogisticRegression(optimizer=method, alpha=1e-3, tol=1e-10).fit(
        X, y, checkpoint=tmp_path / "fit.ckpt", resume=True)
    _assert_same_fit(again, whole)


# -- on a stream ------------------------------------------------------------------------------

PATHS = {  # every path of fit_out_of_core, small
    "lbfgs": (LogisticRegression, dict(optimizer="lbfgs", alpha=1e-3, tol=1e-10)),
    "newton": (LogisticRegression, dict(optimizer="newton", alpha=1e-3, tol=1e-10)),
    "full-batch adam": (LogisticRegression, dict(optimizer="adam", lr=0.05, batch_size=None,
                                                 epochs=8, tol=None)),
    "mini-batch sgd": (LogisticRegression, dict(optimizer="sgd", lr=0.05, batch_size=32,
                                                epochs=6, tol=None, random_state=0)),
    "mini-batch mlp, dropout, tol": (MLPClassifier, dict(
        hidden_layer_sizes=(6,), dropout=0.2, optimizer="adam", lr=0.01, batch_size=50,
        epochs=30, tol=1e-3, patience=2, random_state=3)),
}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = make_classification(n_samples=900, n_features=4, n_informative=3, n_redundant=0,
                               random_state=0)
    X = X * np.arange(1, 5) + 2.0
    path = tmp_path_factory.mktemp("data") / "a.parquet"
    parquet.write_table(pa.table({**{f"f{j}": X[:, j] for j in range(4)}, "label": y}), path,
                        row_group_size=128)
    return X, y, path


def _stream(path, **options):
    return ParquetStream(path, "label", batch_rows=200, shuffle_buffer=300, **options)


@pytest.mark.parametrize("name", list(PATHS))
def test_a_streamed_fit_interrupted_resumes_to_the_same_model(monkeypatch, tmp_path, table,
                                                              name):
    kind, settings = PATHS[name]
    resumed, whole = _interrupted_and_resumed(
        monkeypatch, lambda: kind(**settings),
        lambda model, path, resume: model.fit(_stream(table[2]), checkpoint=path,
                                              resume=resume),
        tmp_path / "fit.ckpt")
    _assert_same_fit(resumed, whole)


def test_a_random_state_none_mini_batch_run_keeps_its_seed(monkeypatch, tmp_path, table):
    path = tmp_path / "fit.ckpt"
    settings = dict(optimizer="sgd", lr=0.05, batch_size=32, epochs=5, tol=None)
    with _crash_at_save(monkeypatch, 3):
        LogisticRegression(**settings).fit(_stream(table[2]), checkpoint=path)
    seed = load_state(path)["state"]["seed"]
    resumed = LogisticRegression(**settings).fit(_stream(table[2]), checkpoint=path,
                                                 resume=True)
    # the uninterrupted run that drew the same seed for its batch orders
    whole, draw = LogisticRegression(**settings), LogisticRegression._seed

    class Drawn:
        def integers(self, high):
            return seed
    monkeypatch.setattr(whole, "_seed", lambda stream: Drawn() if stream == 2
                        else draw(whole, stream))
    _assert_same_fit(resumed, whole.fit(_stream(table[2])))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_checkpoint_of_another_fit_is_refused_saying_what_differs(tmp_path, table):
    X, y, path = table
    ckpt = tmp_path / "fit.ckpt"
    settings = dict(optimizer="lbfgs", alpha=1e-3, epochs=3)
    LogisticRegression(**settings).fit(_stream(path), checkpoint=ckpt)
    with pytest.raises(StateError, match=r"params\.alpha is 0\.001 in the file, 0\.01 here"):
        LogisticRegression(**{**settings, "alpha": 1e-2}).fit(_stream(path), checkpoint=ckpt,
                                                              resume=True)
    other = tmp_path / "b.parquet"
    table_b = parquet.read_table(path).slice(0, 800)
    parquet.write_table(table_b, other, row_group_size=128)
    with pytest.raises(StateError, match=r"data\.rows is 900 in the file, 800 here"):
        LogisticRegression(**settings).fit(_stream(other), checkpoint=ckpt, resume=True)
    with pytest.raises(StateError, match="other settings or data"):
        LogisticRegression(**settings).fit(X[:, ::-1], y, checkpoint=ckpt, resume=True)
    with pytest.raises(StateError, match=r"data\.batch_rows is 200 in the file, 100 here"):
        LogisticRegression(**settings).fit(
            ParquetStream(path, "label", batch_rows=100, shuffle_buffer=300),
            checkpoint=ckpt, resume=True)
    # an in-memory Trainer's checkpoint is not this fit's
    trainer_ckpt = tmp_path / "trainer.ckpt"
    LogisticRegression(optimizer="adam", epochs=2).fit(X, y, checkpoint=trainer_ckpt)
    with pytest.raises(StateError, match="checkpoint of an in-memory epoch-by-epoch fit"):
        LogisticRegression(**settings).fit(_stream(path), checkpoint=trainer_ckpt, resume=True)
    # an altered file
    blob = bytearray(ckpt.read_bytes())
    blob[-3] ^= 0xFF
    ckpt.write_bytes(bytes(blob))
    with pytest.raises(FileFormatError):
        LogisticRegression(**settings).fit(_stream(path), checkpoint=ckpt, resume=True)


# the driver, slowed after each save so that the kill lands between two epochs
_SLOW_SAVES = """
import time
from steepest.train import FitCheckpoint
save = FitCheckpoint.save
def slow(self, state):
    path = save(self, state)
    time.sleep(0.3)
    return path
FitCheckpoint.save = slow
"""


def _kill_after_two_saves(script: str, arguments: list[str], ckpt) -> None:
    """Run ``script`` (after :data:`_SLOW_SAVES`) in a new Python process, and SIGKILL it
    once ``ckpt`` holds two steps."""
    driver = subprocess.Popen([sys.executable, "-c", _SLOW_SAVES + script, *arguments],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 120
    while not (ckpt.exists() and _saved_steps(ckpt) >= 2):
        assert driver.poll() is None, driver.communicate()
        assert time.monotonic() < deadline, "no checkpoint of 2 steps appeared"
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    assert driver.wait(timeout=60) == -signal.SIGKILL


def test_a_streaming_driver_killed_by_sigkill_resumes_to_the_same_model(tmp_path, table):
    ckpt = tmp_path / "fit.ckpt"
    settings = dict(optimizer="sgd", lr=0.05, batch_size=32, epochs=12, tol=None,
                    random_state=0)
    _kill_after_two_saves(textwrap.dedent(f"""
        from steepest import LogisticRegression
        from steepest.stream import ParquetStream
        LogisticRegression(**{settings!r}).fit(
            ParquetStream({str(table[2])!r}, "label", batch_rows=200, shuffle_buffer=300),
            checkpoint={str(ckpt)!r})
    """), [], ckpt)
    assert 2 <= _saved_steps(ckpt) < 12
    resumed = LogisticRegression(**settings).fit(_stream(table[2]), checkpoint=ckpt,
                                                 resume=True)
    _assert_same_fit(resumed, LogisticRegression(**settings).fit(_stream(table[2])))


def test_a_resumed_linear_regression_keeps_its_target_scaling(monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) * 50 + 7
    path = tmp_path / "t.parquet"
    parquet.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), path,
                        row_group_size=64)
    resumed, whole = _interrupted_and_resumed(
        monkeypatch, lambda: LinearRegression(optimizer="adam", lr=0.1, batch_size=None,
                                              epochs=10, scale=True),
        lambda model, ckpt, resume: model.fit(ParquetStream(path, "y"), checkpoint=ckpt,
                                              resume=resume),
        tmp_path / "fit.ckpt")
    _assert_same_fit(resumed, whole)


# -- on a Dask cluster ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


@pytest.mark.parametrize("name", ["lbfgs", "newton", "full-batch adam", "mini-batch sgd"])
def test_a_fit_on_dask_interrupted_resumes_to_the_same_model(monkeypatch, tmp_path, table,
                                                             client, name):
    import dask.array as da

    kind, settings = PATHS[name]
    X, y, _ = table
    Xd, yd = da.from_array(X, chunks=300), da.from_array(y, chunks=300)
    resumed, whole = _interrupted_and_resumed(
        monkeypatch, lambda: kind(**settings),
        # one round an epoch (10 batches a partition): rounds are the next test's
        lambda model, path, resume: model.fit(Xd, yd, checkpoint=path, resume=resume,
                                              sync_every=16),
        tmp_path / "fit.ckpt")
    # Two uninterrupted fits on the cluster differ by about 1e-16 already (a partition's
    # gradient at the same theta varies in its last bit from task to task), so: 1e-10.
    _assert_same_fit(resumed, whole, atol=1e-10)


def test_local_sgd_killed_mid_epoch_resumes_after_its_last_round(monkeypatch, tmp_path,
                                                                 table, client):
    import dask.array as da

    X, y, _ = table
    Xd, yd = da.from_array(X, chunks=300), da.from_array(y, chunks=300)
    path = tmp_path / "fit.ckpt"
    settings = dict(optimizer="adam", lr=0.01, batch_size=32, epochs=3, random_state=0)
    whole = LogisticRegression(**settings).fit(Xd, yd, sync_every=4)
    # 3 partitions of 10 batches: rounds of 4, 4 and 2 batches; saves after the first two
    # rounds and at the epoch's end. The 5th save dies: the file holds epoch 2's round 1.
    with _crash_at_save(monkeypatch, 5):
        LogisticRegression(**settings).fit(Xd, yd, checkpoint=path, sync_every=4)
    saved = load_state(path)["state"]
    assert saved["history"]["epochs"] == 1
    assert (saved["progress"]["epoch"], saved["progress"]["round"]) == (1, 1)
    assert saved["progress"]["updates"] == 4
    resumed = LogisticRegression(**settings).fit(Xd, yd, checkpoint=path, resume=True,
                                                 sync_every=4)
    _assert_same_fit(resumed, whole, atol=1e-10)
    assert resumed.history_["updates"] == [10, 20, 30]


def test_a_dask_checkpoint_of_another_partitioning_or_sync_is_refused(tmp_path, table,
                                                                      client):
    import dask.array as da

    X, y, _ = table
    ckpt = tmp_path / "fit.ckpt"
    settings = dict(optimizer="sgd", lr=0.05, batch_size=32, epochs=1, random_state=0)
    LogisticRegression(**settings).fit(da.from_array(X, chunks=300), da.from_array(y, chunks=300),
                                       checkpoint=ckpt, sync_every=4)
    with pytest.raises(StateError, match=r"data\.partitions is \[300, 300, 300\] in the file, "
                                         r"\[450, 450\] here"):
        LogisticRegression(**settings).fit(da.from_array(X, chunks=450),
                                           da.from_array(y, chunks=450), checkpoint=ckpt,
                                           resume=True, sync_every=4)
    with pytest.raises(StateError, match=r"data\.sync_every is 4 in the file, 32 here"):
        LogisticRegression(**settings).fit(da.from_array(X, chunks=300),
                                           da.from_array(y, chunks=300), checkpoint=ckpt,
                                           resume=True)


# -- steepest train --stream / --workers --out DIR, then --resume -----------------------------


def test_a_killed_stream_run_of_the_cli_resumes_to_the_same_model(tmp_path, table):
    import steepest
    from steepest.runs import train

    options = dict(model="linear", optimizer="sgd", lr="0.05", batch_size="32", epochs=10)
    train(table[2], "label", stream=True, out=tmp_path / "whole", **options)
    part = tmp_path / "part"
    _kill_after_two_saves("from steepest.cli import main; main()", [
        "train", str(table[2]), "--target", "label", "--stream", "--model", "linear",
        "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "32", "--epochs", "10",
        "--out", str(part), "--quiet"], part / "checkpoint.ckpt")
    assert not (part / "model.safetensors").exists()
    run = train(table[2], "label", stream=True, out=part, resume=True, **options)
    assert run.files["checkpoint"] == part / "checkpoint.ckpt"
    first, second = (steepest.load(p / "model.safetensors") for p in (tmp_path / "whole", part))
    np.testing.assert_array_equal(first._network.theta, second._network.theta)
    assert first.history_["loss"] == second.history_["loss"]


def test_a_dask_line_search_run_resumes_to_the_same_model(monkeypatch, tmp_path, table,
                                                          client):
    from steepest.runs import train

    # --scheduler: the module's cluster (--workers N would start one per run)
    options = dict(model="linear", optimizer="lbfgs", scheduler=client.scheduler.address)
    whole = train(table[2], "label", **options).model
    with _crash_at_save(monkeypatch, 3):
        train(table[2], "label", out=tmp_path / "part", **options)
    resumed = train(table[2], "label", out=tmp_path / "part", resume=True, **options).model
    _assert_same_fit(resumed, whole, atol=1e-10)
