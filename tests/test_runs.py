"""Training on a table and predicting from one (what `steepest train` and `predict` run)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from browser import browser, chromium
from sklearn.datasets import load_iris

import steepest
from steepest.cli_values import make_schedule
from steepest.errors import FileFormatError, ParameterError
from steepest.model_factory import alpha_for, epochs_for
from steepest.runs import predict, train
from steepest.tables import load_dataset


@pytest.fixture
def iris_csv(tmp_path):
    iris = load_iris()
    path = tmp_path / "iris.csv"
    header = ",".join(name.replace(" (cm)", "").replace(" ", "_") for name in iris.feature_names)
    path.write_text(header + ",species\n" + "".join(
        ",".join(map(str, row)) + f",{iris.target_names[label]}\n"
        for row, label in zip(iris.data, iris.target, strict=True)))
    return path


@pytest.fixture
def houses_csv(tmp_path):
    rng = np.random.default_rng(0)
    rooms, area = rng.integers(1, 8, 300), rng.uniform(20, 300, 300)
    price = 1e4 * rooms + 2e3 * area + rng.normal(0, 1e3, 300)
    path = tmp_path / "houses.csv"
    path.write_text("rooms,area,price\n" + "".join(
        f"{r},{a:.3f},{p:.2f}\n" for r, a, p in zip(rooms, area, price, strict=True)))
    return path


def test_task_is_detected_from_the_target(iris_csv, houses_csv):
    iris = load_dataset(iris_csv, "species")
    assert iris.task == "classification" and iris.X.shape == (150, 4)
    assert "labels" in iris.detected
    houses = load_dataset(houses_csv, "price")
    assert houses.task == "regression" and houses.feature_names == ["rooms", "area"]
    assert load_dataset(houses_csv, "rooms").task == "classification"
    assert load_dataset(houses_csv, "rooms", task="regression").task == "regression"


def test_whole_numbers_with_fewer_than_two_rows_a_value_are_a_regression_target(tmp_path):
    path = tmp_path / "weights.csv"               # load_linnerud's shape: 15 rows, 12 weights
    weights = [191, 189, 193, 162, 189, 182, 211, 167, 176, 154, 169, 166, 154, 247, 193]
    path.write_text("chins,weight\n" + "".join(f"{i},{w}\n" for i, w in enumerate(weights)))
    data = load_dataset(path, "weight")
    assert data.task == "regression"
    assert data.detected == "the target 'weight' holds 12 distinct numbers in 15 rows, too " \
                            "many to be classes"
    path.write_text("chins,size\n" + "".join(f"{i},{i % 7}\n" for i in range(14)))
    assert load_dataset(path, "size").task == "classification"     # two rows a value


@pytest.mark.parametrize("n_train, batch_size, epochs", [
    (89, 32, 1667),        # 3 batches an epoch: 5,000 updates come before 160,000 rows
    (112, 32, 1250),       # 4 batches: 5,000 updates at 1,250 epochs (140,000 rows)
    (112, None, 1429),     # full batch: 160,000 rows come first
    (12, 32, 5000),        # one batch an epoch
    (800, 32, 200), (100_000, 32, 200),
])
def test_the_default_epochs_pass_160000_rows_or_make_5000_updates(n_train, batch_size, epochs):
    assert epochs_for("adam", None, n_train, batch_size) == epochs
    assert epochs_for("adam", 7, n_train, batch_size) == 7             # given: kept
    assert epochs_for("lbfgs", None, n_train, None) == 200             # iterations at most


def test_the_default_penalty_of_a_classifier_is_scikit_learns_c_1_prior():
    assert alpha_for("classification", "mlp", None, 89, None) == 1 / 89
    assert alpha_for("classification", "logistic", None, 50_000, None) == 1e-4
    assert alpha_for("classification", "mlp", 0.5, 89, None) == 0.5   # given: kept
    assert alpha_for("regression", "mlp", None, 89, None) is None      # the model's own
    assert alpha_for("classification", "mlp", None, 89, [{"class": "Dense"}]) is None


@pytest.mark.filterwarnings("ignore:MLPClassifier did not converge")  # early stopping in 20
def test_the_saved_model_is_refit_on_all_the_rows_with_the_same_settings(iris_csv, tmp_path):
    from sklearn.base import clone

    run = train(iris_csv, "species", hidden=(8,), lr="0.01", epochs=20, out=tmp_path / "run")
    assert run.model is not run.validated and run.n_train == 120 and run.refit_seconds > 0
    assert "val_loss" in run.validated.history_ and "val_loss" not in run.model.history_
    assert run.model.get_params() == run.validated.get_params()
    assert run.model.alpha == run.validated.alpha == 1 / 150
    by_hand = clone(run.validated).fit(run.data.X, run.data.y)
    np.testing.assert_array_equal(run.model.predict_proba(run.data.X),
                                  by_hand.predict_proba(run.data.X))
    loaded = steepest.load(tmp_path / "run" / "model.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(run.data.X),
                                  run.model.predict_proba(run.data.X))
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert history[0].startswith('"epoch","loss","val_loss"')        # the validated run's
    kept = train(iris_csv, "species", hidden=(8,), lr="0.01", epochs=20, refit=False)
    np.testing.assert_array_equal(kept.model.predict_proba(run.data.X),
                                  run.validated.predict_proba(run.data.X))
    assert kept.model is kept.validated and kept.refit_seconds == 0
    stopped = train(iris_csv, "species", hidden=(8,), lr="0.01", epochs=20,
                    early_stopping=True)
    assert stopped.model is stopped.validated       # the best validated epoch is the model


def test_train_writes_model_history_figure_report_and_checkpoint(iris_csv, tmp_path):
    out = tmp_path / "run"
    run = train(iris_csv, "species", hidden=(16,), lr="0.01", epochs=30, out=out)
    for name in ("model.safetensors", "history.csv", "curves.png", "report.html",
                 "checkpoint.ckpt"):
        assert (out / name).exists(), name
    assert run.scores["validation"] > 0.8
    assert run.findings
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].startswith('"epoch","loss","val_loss","val_score","lr"')
    assert len(history) == 31
    html = (out / "report.html").read_text()
    assert "Diagnosis" in html and "species" in html and "http://" not in html
    assert "--batch-size" in html and "--optimizer" in html  # the settings, as flags
    assert "120 trained on, 30 held out to validate" in html


def test_predict_on_raw_data_uses_the_scaling_saved_in_the_model(houses_csv, tmp_path):
    out = tmp_path / "run"
    run = train(houses_csv, "price", model="linear", optimizer="lbfgs", lr="1",
                batch_size="full", epochs=200, validation=0.0, out=out)
    loaded = steepest.load(out / "model.safetensors")
    data = load_dataset(houses_csv, "price")
    np.testing.assert_array_equal(loaded.predict(data.X), run.model.predict(data.X))
    assert loaded.score(data.X, data.y) > 0.99
    columns = predict(out / "model.safetensors", houses_csv, out=tmp_path / "p.csv")
    np.testing.assert_allclose(columns["prediction"], run.model.predict(data.X))
    assert (tmp_path / "p.csv").read_text().startswith('"prediction"')


def test_resume_ends_with_the_model_an_uninterrupted_run_gives(iris_csv, tmp_path):
    settings = dict(hidden=(8,), lr="0.01", batch_size="16", epochs=6, seed=1)
    whole = train(iris_csv, "species", out=tmp_path / "whole", **settings)
    # A killed run leaves its checkpoint; pretend it died after 3 epochs.
    train(iris_csv, "species", out=tmp_path / "part", **{**settings, "epochs": 3})
    resumed = train(iris_csv, "species", out=tmp_path / "part", resume=True, **settings)
    np.testing.assert_array_equal(resumed.model._network.theta, whole.model._network.theta)


@pytest.mark.parametrize(("setup", "message"), [
    (lambda p: ("missing.csv", "species"), "No such file: "),
    (lambda p: (p, "specie"), "There is no column 'specie' in iris.csv; its columns are "),
    (lambda p: (p, "species", {"lr": "-0.1"}),
     "--lr must be a positive number such as 0.01, or 'auto'; got '-0.1'."),
    (lambda p: (p, "species", {"optimizer": "adma"}),
     "--optimizer must be one of "),
    (lambda p: (p, "species", {"batch_size": "zero"}),
     "--batch-size must be 'full', 1 or a whole number k >= 1; got 'zero'."),
    (lambda p: (p, "species", {"schedule": "cosin"}), "Did you mean 'cosine'?"),
])
def test_bad_options_fail_before_any_work(iris_csv, tmp_path, setup, message):
    data, target, *options = setup(iris_csv)
    with pytest.raises((ParameterError, FileFormatError)) as error:
        train(data, target, out=tmp_path / "out", **(options[0] if options else {}))
    assert message in str(error.value)
    assert not (tmp_path / "out").exists()


def test_bad_values_name_the_column_and_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,oops,1\n5,6,0\n")
    with pytest.raises(ParameterError) as error:
        load_dataset(path, "y")
    assert str(error.value) == ("Column 'b' has a non-numeric value 'oops' (first at row 2, "
                                "line 3 of bad.csv); steepest trains on numbers: encode or drop "
                                "that column.")
    path.write_text("a,b,y\n1,2,0\n3,,1\n5,6,0\n")
    with pytest.raises(ParameterError, match=r"Column 'b' has 1 missing value \(first at row 2"):
        load_dataset(path, "y")
    path.write_text("a,y\n1,0\n3,0\n")
    with pytest.raises(ParameterError, match="single value"):
        load_dataset(path, "y", task="classification")


def test_schedules_span_the_run():
    rate = make_schedule("cosine", 0.1, total_steps=100, steps_per_epoch=10)
    assert rate(0) == pytest.approx(0.1) and rate(100) == pytest.approx(0.0)
    assert make_schedule("constant", 0.1, 100, 10) == 0.1
    step = make_schedule("step:2:0.5", 0.1, 100, 10)
    assert step(19) == pytest.approx(0.1) and step(20) == pytest.approx(0.05)


@browser
def test_the_report_renders_in_chromium(iris_csv, tmp_path):
    from PIL import Image

    out = tmp_path / "run"
    train(iris_csv, "species", hidden=(8,), lr="0.01", epochs=5, out=out)
    shot = tmp_path / "report.png"
    chromium(tmp_path, (out / "report.html").as_uri(), f"--screenshot={shot}",
             "--window-size=1280,2200")
    pixels = np.asarray(Image.open(shot).convert("L"))
    dark = pixels < 100
    assert dark.mean() > 0.005, "the page looks blank"
    # The curves figure is drawn: many dark pixels in the band below the diagnosis.
    assert dark[:, 100:1180].sum() > 10_000


def run_cli(*arguments, **options):
    return subprocess.Popen([sys.executable, "-m", "steepest", *map(str, arguments)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **options)


def wait_for(path, process, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)


def test_a_run_killed_by_sigkill_resumes_to_the_same_model(iris_csv, tmp_path):
    options = ["--target", "species", "--hidden", "8", "--batch-size", "1", "--epochs", "60",
               "--lr", "0.01", "--quiet"]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert run_cli("train", iris_csv, *options, "--out", whole).wait(timeout=300) == 0
    process = run_cli("train", iris_csv, *options, "--out", part)
    wait_for(part / "checkpoint.ckpt", process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    resumed = run_cli("train", iris_csv, *options, "--out", part, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.communicate()
    first, second = (steepest.load(p / "model.safetensors") for p in (whole, part))
    np.testing.assert_array_equal(first._network.theta, second._network.theta)


def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(iris_csv, tmp_path):
    out = tmp_path / "run"
    process = run_cli("train", iris_csv, "--target", "species", "--batch-size", "1",
                      "--epochs", "500", "--out", out, "--quiet")
    wait_for(out / "checkpoint.ckpt", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "continue with --resume" in stderr
    assert (out / "checkpoint.ckpt").exists() and not (out / "model.safetensors").exists()


def test_predict_reads_the_model_columns_by_name_in_any_order(houses_csv, tmp_path):
    out = tmp_path / "run"
    train(houses_csv, "price", model="linear", optimizer="lbfgs", validation=0.0, out=out)
    lines = houses_csv.read_text().splitlines()
    rows = [line.split(",") for line in lines]
    reordered = tmp_path / "reordered.csv"
    reordered.write_text("".join(f"{price},extra,{area},{rooms}\n".replace(
        "extra", "note" if i == 0 else str(i)) for i, (rooms, area, price) in enumerate(rows)))
    expected = predict(out / "model.safetensors", houses_csv)["prediction"]
    np.testing.assert_array_equal(
        predict(out / "model.safetensors", reordered)["prediction"], expected)
    reordered.write_text("price,area\n1,2\n")
    with pytest.raises(ParameterError) as error:
        predict(out / "model.safetensors", reordered)
    assert str(error.value) == "reordered.csv lacks the column 'rooms' the model was trained on."


def test_a_line_search_run_takes_the_whole_data_and_its_full_step(houses_csv):
    run = train(houses_csv, "price", model="linear", optimizer="lbfgs", validation=0.0)
    assert run.model.batch_size is None and run.model.lr == 1.0
    assert run.settings["batch_size"] == "full" and run.scores["train"] > 0.99
    with pytest.raises(ParameterError, match="--optimizer newton uses the whole data set"):
        train(houses_csv, "price", model="linear", optimizer="newton", batch_size="32")
