"""The `steepest` command as a user runs it: exit codes and the exact lines they read."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from steepest.cli import app
from steepest.train.state import load_state

runner = CliRunner()


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "points.csv"
    rows = [(x / 10, (x % 7) / 3, "big" if x % 3 else "small") for x in range(60)]
    path.write_text("x,z,size\n" + "".join(f"{x},{z},{s}\n" for x, z, s in rows))
    return path


def error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(("arguments", "line"), [
    (["nothing.csv", "--target", "y"], "Error: No such file: 'nothing.csv'."),
    (["{table}", "--target", "sise"],
     "Error: There is no column 'sise' in points.csv; its columns are 'x', 'z', 'size'. "
     "Did you mean 'size'?"),
    (["{table}", "--target", "size", "--lr", "-0.1"],
     "Error: --lr must be a positive number such as 0.01, or 'auto'; got '-0.1'."),
    (["{table}", "--target", "size", "--optimizer", "adma"],
     "Error: --optimizer must be one of adadelta, adagrad, adam, adamax, adamw, nadam, radam, "
     "rmsprop, sgd, yogi, lbfgs, newton; got 'adma'. Did you mean 'adam'?"),
    (["{table}", "--target", "size", "--model", "tree"],
     "Error: --model must be one of linear, logistic, mlp; got 'tree'."),
])
def test_bad_input_is_one_line_on_stderr(table, arguments, line):
    arguments = [a.format(table=table) for a in arguments]
    result = runner.invoke(app, ["train", *arguments])
    assert error_line(result) == line


def test_non_numeric_value_names_column_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,oops,1\n5,6,0\n")
    result = runner.invoke(app, ["train", str(path), "--target", "y"])
    assert error_line(result) == (
        "Error: Column 'b' has a non-numeric value 'oops' (first at row 2, line 3 of bad.csv); "
        "steepest trains on numbers: encode or drop that column.")


def test_train_then_predict(table, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(table), "--target", "size", "--epochs", "5",
                                 "--hidden", "8", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["task"] == "classification" and summary["epochs"] == 5
    assert {"model", "history", "curves", "report"} <= set(summary["files"])
    assert summary["findings"] and all("advice" in f for f in summary["findings"])

    predictions = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", str(out / "model.safetensors"), str(table),
                                 "--out", str(predictions)])
    assert result.exit_code == 0, result.output
    header = predictions.read_text().splitlines()[0]
    assert header == '"prediction","probability_big","probability_small"'


def test_a_failed_run_keeps_what_out_holds(table, tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["train", str(table), "--target", "size", "--epochs", "3",
                               "--out", str(out), "--quiet"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = runner.invoke(app, ["train", str(table), "--target", "nope", "--out", str(out)])
    assert result.exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "train", "predict"):
        assert command in result.stdout


def test_compare_writes_a_report(table, tmp_path):
    result = runner.invoke(app, ["compare", str(table), "--target", "size", "--optimizers",
                                 "sgd,adam", "--schedules", "constant,cosine", "--epochs", "3",
                                 "--hidden", "4", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "comparison.html").read_text()
    for label in ("sgd, constant", "sgd, cosine", "adam, constant", "adam, cosine"):
        assert label in html


def test_explore_writes_the_page(tmp_path):
    result = runner.invoke(app, ["explore", "--functions", "booth", "--methods", "gd,adam",
                                 "--steps", "20", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "explore.html").stat().st_size > 10_000
    result = runner.invoke(app, ["explore", "--functions", "rosenbrok", "--out", str(tmp_path)])
    assert error_line(result).startswith("Error: Unknown test function 'rosenbrok'.")


def test_lr_find_suggests_a_rate_and_draws_the_curve(table, tmp_path):
    result = runner.invoke(app, ["lr-find", str(table), "--target", "size", "--hidden", "8",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Suggested learning rate: ")
    assert (tmp_path / "lr-find.png").exists()


# -- a CLI that speaks CLI --------------------------------------------------------------------

NOT_SAVED = ("Note: the model was not saved; add --out DIR to keep it, with its history, curves "
             "and report.")


@pytest.mark.parametrize(("arguments", "line"), [
    (["--epochs", "0"], "Error: --epochs must be a whole number >= 1; got 0."),
    (["--seed", "-1"], "Error: --seed must be a whole number >= 0; got -1."),
    (["--validation", "1"], "Error: --validation must be a number in [0, 1); got 1."),
    (["--dropout", "1.5"], "Error: --dropout must be a number in [0, 1); got 1.5."),
    (["--clip-norm", "0"], "Error: --clip-norm must be a number > 0; got 0."),
    (["--alpha", "-1"], "Error: --alpha must be a number >= 0; got -1."),
    (["--model", "linear", "--dropout", "0.2"],
     "Error: --dropout applies to --model mlp, not to --model linear."),
    (["--activation", "relu6"],
     "Error: --activation must be one of relu, leaky_relu, elu, tanh, sigmoid; got 'relu6'. "
     "Did you mean 'relu'?"),
    (["--model", "logistic", "--activation", "tanh"],
     "Error: --activation applies to --model mlp, not to --model logistic."),
    (["--model", "logistic", "--hidden", "8"],
     "Error: --hidden applies to --model mlp, not to --model logistic."),
    (["--momentum", "0.9"],
     "Error: --momentum is a keyword of --optimizer rmsprop or sgd, not of --optimizer adam."),
    (["--model", "logistic", "--optimizer", "lbfgs", "--batch-size", "16"],
     "Error: --optimizer lbfgs uses the whole data set at every step, but --batch-size 16 asks "
     "for mini-batches; drop --batch-size (or give --batch-size full), or choose a first-order "
     "optimizer such as --optimizer adam."),
    (["--optimizer", "newton"],
     "Error: --optimizer newton fits --model linear or logistic (a smooth objective on the "
     "whole data set); for --model mlp choose a first-order optimizer such as --optimizer "
     "adam."),
    (["--model", "logistic", "--optimizer", "lbfgs", "--lr", "auto"],
     "Error: --lr auto runs the LR range test, which needs a first-order optimizer; "
     "--optimizer lbfgs chooses its own step lengths: drop --lr."),
    (["--model", "logistic", "--optimizer", "lbfgs", "--momentum", "0.9"],
     "Error: --momentum sets a first-order optimizer's update; --optimizer lbfgs has none: "
     "drop --momentum, or use e.g. --optimizer sgd."),
    (["--schedule", "step:0"],
     "Error: --schedule step:EPOCHS:GAMMA needs a whole number of epochs >= 1 and a gamma > "
     "0; got 'step:0'."),
])
def test_flag_errors_name_the_flag_the_user_typed(table, arguments, line):
    result = runner.invoke(app, ["train", str(table), "--target", "size", *arguments])
    assert error_line(result) == line


def test_one_valued_target_message_shows_the_value_as_typed(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,y\n1,0\n3,0\n")
    result = runner.invoke(app, ["train", str(path), "--target", "y", "--task",
                                 "classification"])
    assert error_line(result) == (
        "Error: The target 'y' has a single value (0) in all 2 rows; a classifier needs at "
        "least two classes. Check --target.")


def test_duplicate_column_names_are_one_line(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("a,a,y\n1,2,0\n3,4,1\n5,6,0\n")
    for command in (["train", str(path), "--target", "y"],
                    ["lr-find", str(path), "--target", "y", "--out", str(tmp_path)],
                    ["compare", str(path), "--target", "y", "--out", str(tmp_path)]):
        assert error_line(runner.invoke(app, command)) == (
            f"Error: '{path}' has two columns named 'a'; give every column its own name.")


def test_lbfgs_implies_full_batch_and_says_iterations(table):
    result = runner.invoke(app, ["train", str(table), "--target", "size", "--model",
                                 "logistic", "--optimizer", "lbfgs"])
    assert result.exit_code == 0, result.output
    assert " iterations in " in result.stdout
    assert result.stderr.strip().splitlines()[-1] == NOT_SAVED


def test_out_refuses_a_directory_that_holds_a_run_unless_forced(table, tmp_path):
    out = tmp_path / "run"
    first = ["train", str(table), "--target", "size", "--epochs", "3", "--hidden", "4",
             "--out", str(out), "--quiet"]
    assert runner.invoke(app, first).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = runner.invoke(app, [*first, "--epochs", "4"])
    assert error_line(result) == (
        f"Error: --out {out} already holds a run (model.safetensors, history.csv, curves.png, "
        "report.html, checkpoint.ckpt); give --resume to continue it, --force to replace it, "
        "or choose another --out directory.")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    forced = runner.invoke(app, ["train", str(table), "--target", "size", "--out", str(out),
                                 "--force", "--model", "logistic", "--optimizer", "lbfgs"])
    assert forced.exit_code == 0, forced.output
    # every file is the new run's: its checkpoint is L-BFGS's, not the replaced run's
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.ckpt", "curves.png", "history.csv", "model.safetensors", "report.html"]
    assert load_state(out / "checkpoint.ckpt")["settings"]["params"]["optimizer"] == "lbfgs"
    result = runner.invoke(app, first)
    assert error_line(result) == (
        f"Error: --out {out} already holds a run (model.safetensors, history.csv, curves.png, "
        "report.html, checkpoint.ckpt); give --resume to continue it, --force to replace it, "
        "or choose another --out directory.")


def test_the_note_on_an_unsaved_model_is_on_stderr_only_without_out(table, tmp_path):
    options = ["train", str(table), "--target", "size", "--epochs", "2", "--hidden", "4"]
    result = runner.invoke(app, options)
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1] == NOT_SAVED
    assert "not saved" not in result.stdout
    saved = runner.invoke(app, [*options, "--out", str(tmp_path / "run")])
    assert "not saved" not in saved.stderr
    assert "not saved" not in runner.invoke(app, [*options, "--quiet"]).output


def test_the_new_flags_reach_the_saved_model(table, tmp_path):
    import steepest

    out = tmp_path / "run"
    result = runner.invoke(app, [
        "train", str(table), "--target", "size", "--epochs", "6", "--hidden", "8",
        "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--weight-decay", "1e-4",
        "--alpha", "0.01", "--dropout", "0.2", "--batch-norm", "--clip-norm", "2",
        "--activation", "tanh",
        "--early-stopping", "--no-scale", "--batch-size", "full", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    model = steepest.load(out / "model.safetensors")
    params = model.get_params()
    assert (params["alpha"], params["dropout"], params["clip_norm"]) == (0.01, 0.2, 2.0)
    assert params["early_stopping"] is True and params["batch_norm"] is True
    assert params["activation"] == "tanh"
    assert params["scale"] is False and params["batch_size"] is None
    optimizer = params["optimizer"]
    assert type(optimizer).__name__ == "SGD"
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (0.05, 0.9, 1e-4)
    summary = json.loads(result.stdout)
    assert summary["settings"]["momentum"] == 0.9 and summary["settings"]["dropout"] == 0.2
    assert all({"suggest", "flags"} <= set(f) for f in summary["findings"])


def test_advice_is_given_in_flags(table):
    result = runner.invoke(app, ["train", str(table), "--target", "size", "--optimizer", "sgd",
                                 "--lr", "50", "--epochs", "10", "--hidden", "8"])
    assert result.exit_code == 0, result.output
    advice = result.stdout.split("\n", 1)[1]
    assert "(diverged)" in advice and "--lr " in advice
    assert not re.search(r"\b(lr|clip_norm|scale|alpha|early_stopping|dropout|optimizer|epochs|"
                         r"batch_size|momentum|weight_decay)=", advice), advice


def test_diagnosis_counts_the_training_rows_only(table, monkeypatch):
    from steepest import runs

    seen = {}

    def spy(model, *, X, **options):
        seen["rows"] = len(X)
        return diagnose(model, X=X, **options)

    diagnose = runs.diagnose
    monkeypatch.setattr(runs, "diagnose", spy)
    run = runs.train(table, "size", hidden=(4,), epochs=2, validation=0.5)
    assert seen["rows"] == run.n_train == 30


@pytest.mark.parametrize("saved", [True, False], ids=["out", "no-out"])
def test_progress_lines_do_not_wrap_when_stderr_is_not_a_terminal(table, tmp_path, saved):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = ["--out", str(tmp_path / "run")] if saved else []
    process = subprocess.run(
        [sys.executable, "-m", "steepest", "train", str(table), "--target", "size",
         "--epochs", "3", "--hidden", "4", "--batch-size", "1", "--schedule", "cosine", *out],
        capture_output=True, text=True, env=env, timeout=300)
    assert process.returncode == 0, process.stderr
    lines = process.stderr.strip().splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["epoch", "1/3"], ["epoch", "2/3"],
                                                       ["epoch", "3/3"]]
    assert all(line.startswith(("epoch ", "Note: ", "Warning: ", "Refit on all ")) for line in
               lines), lines
    assert max(map(len, lines)) > 80
    if saved:       # the refit on all rows, whose lines have their title
        assert lines[3].startswith("Refit on all ") and NOT_SAVED not in lines
    else:           # nothing is saved, so nothing is refit
        assert lines[-1] == NOT_SAVED and not any(line.startswith("Refit") for line in lines)


def test_explore_reports_progress_on_stderr(tmp_path):
    result = runner.invoke(app, ["explore", "--functions", "booth", "--methods", "gd,adam",
                                 "--steps", "20", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and all(re.fullmatch(r"Running the descents: \d+/\d+ done, \d+ s", line)
                         for line in lines), lines
    done, total = lines[-1].split(": ")[1].split(" ")[0].split("/")
    assert done == total
    assert error_line(runner.invoke(app, ["explore", "--steps", "0", "--out", str(tmp_path)])
                      ) == "Error: --steps must be a whole number >= 1; got 0."


@pytest.mark.parametrize(("arguments", "line"), [
    (["--epochs", "0"], "Error: --epochs must be a whole number >= 1; got 0."),
    (["--lr", "0"], "Error: --lr must be a number > 0; got 0."),
    (["--optimizers", "adma"],
     "Error: --optimizers must be one of sgd, momentum, nesterov, adagrad, rmsprop, adadelta, "
     "adam, adamw, nadam, radam, adamax; got 'adma'. Did you mean 'adam'?"),
])
def test_compare_flag_errors(table, tmp_path, arguments, line):
    result = runner.invoke(app, ["compare", str(table), "--target", "size", *arguments,
                                 "--out", str(tmp_path)])
    assert error_line(result) == line


# -- data that stay where they are: --stream, --workers, --scheduler -------------------------


@pytest.fixture
def parquet_table(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from pyarrow import parquet
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3000, n_features=5, random_state=0)
    path = tmp_path / "big.parquet"
    parquet.write_table(pa.table({**{f"f{j}": X[:, j] for j in range(5)}, "label": y}), path,
                        row_group_size=512)
    return path


def test_train_stream_fits_a_row_group_at_a_time_and_says_so(parquet_table, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(parquet_table), "--target", "label", "--stream",
                                 "--model", "linear", "--epochs", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "epoch 4/4" in result.stderr and "rows/s  (streamed from 1 file(s))" in result.stderr
    assert re.search(r"on 3000 rows .*: 4 epochs .*accuracy train 0\.\d+", result.stdout)
    report = (out / "report.html").read_text()
    assert "fitted streamed from 1 file(s)" in report and "3000 trained on" in report


def test_train_on_a_local_dask_cluster(parquet_table, tmp_path):
    pytest.importorskip("distributed")
    result = runner.invoke(app, ["train", str(parquet_table), "--target", "label", "--workers",
                                 "2", "--model", "linear", "--optimizer", "lbfgs", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["settings"]["where"].startswith("on the Dask cluster at tcp://127.0.0.1:")
    assert "(2 workers)" in summary["settings"]["where"]


@pytest.mark.parametrize("arguments, line", [
    (["--stream", "--workers", "2"],
     "Error: --stream and --workers are two ways to read the data: give one of them."),
    (["--stream", "--lr", "auto"], "Error: --stream fits where the data are, in passes over "
                                   "them; it does not take --lr auto yet: drop --lr."),
    (["--workers", "2", "--validation", "0.3"], "Error: --workers fits where the data are, in "
     "passes over them; it does not take --validation yet: drop --validation."),
    (["--workers", "0"], "Error: --workers must be a whole number >= 1; got 0."),
])
def test_out_of_core_flags_that_cannot_go_together(parquet_table, arguments, line):
    result = runner.invoke(app, ["train", str(parquet_table), "--target", "label", *arguments])
    assert result.exit_code != 0 and error_line(result) == line


def test_example_names_the_examples_when_the_name_is_wrong():
    result = runner.invoke(app, ["example", "imagee"])
    assert error_line(result) == (
        "Error: Unknown example 'imagee'. Valid names are: federated, image, meta, recommend, "
        "sentiment. Did you mean 'image'?")


def test_federate_trains_over_clients_and_writes_the_run(tmp_path):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    path = tmp_path / "iris.csv"
    path.write_text("a,b,c,d,species\n" + "".join(
        f"{','.join(map(str, row))},{label}\n" for row, label in zip(X, y, strict=True)))
    out = tmp_path / "fed"
    result = runner.invoke(app, ["federate", str(path), "--target", "species", "--clients",
                                 "10", "--rounds", "3", "--partition", "iid", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.match(r"fedavg: 3 rounds over 10 clients in [\d.]+ s; train 0\.\d+, validation",
                    result.stdout)
    assert (out / "report.html").exists() and (out / "model.safetensors").exists()


def test_federate_names_the_flag_of_a_bad_batch_size(table):
    result = runner.invoke(app, ["federate", str(table), "--target", "size",
                                 "--local-batch-size", "x"])
    assert error_line(result) == "Error: --local-batch-size must be 'full' or a whole number; " \
                                 "got 'x'."


# -- --layers and --input-shape ----------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "line"), [
    (["--layers", "conv:32"],
     "Error: --layers entry 1 ('conv:32') must have the form "
     "conv:OUT_CHANNELS:KERNEL[:STRIDE[:PADDING]], such as conv:32:3."),
    (["--layers", "dense:8,relu,dense:x"],
     "Error: --layers entry 3 ('dense:x') must have the form dense:UNITS, such as dense:10."),
    (["--layers", "conv:4:3,maxpol:2"],
     "Error: --layers entry 2 ('maxpol:2') is not a layer; did you mean 'maxpool'?"),
    (["--layers", "dense:8,,dense:2"],
     "Error: --layers entry 2 ('') is not a layer; the layers are conv, maxpool, avgpool, "
     "flatten, dense, dropout, batchnorm, relu, leaky_relu, elu, tanh, sigmoid."),
    (["--layers", "dropout:0.5:1"],
     "Error: --layers entry 1 ('dropout:0.5:1') must have the form dropout:P, such as "
     "dropout:0.25."),
    (["--layers", ","],
     "Error: --layers must list layers such as conv:32:3,relu,maxpool:2,flatten,dense:10; "
     "got ','."),
    (["--layers", "dense:0"],
     "Error: --layers entry 1: The 'units' parameter of Dense must be an int in the range "
     "[1, inf). Got 0 instead."),
    (["--layers", "conv:2:1", "--input-shape", "1,2,0"],
     "Error: --input-shape must be the shape of one sample, whole numbers >= 1 such as "
     "1,28,28 (channels, rows, columns); got '1,2,0'."),
    (["--input-shape", "1,1,2"], "Error: --input-shape applies with --layers; give both."),
    (["--layers", "dense:4", "--hidden", "8"],
     "Error: --hidden and --layers both describe the network; give one."),
    (["--layers", "dense:4", "--dropout", "0.2"],
     "Error: --dropout is a layer of the --layers list (dropout:P, batchnorm, relu, ...), not "
     "a flag with --layers."),
    (["--layers", "dense:4", "--model", "linear"],
     "Error: --layers describes a network; it replaces --model linear."),
])
def test_bad_layer_specs_are_one_line(table, arguments, line):
    result = runner.invoke(app, ["train", str(table), "--target", "size", *arguments])
    assert error_line(result) == line


def test_train_a_cnn_on_a_table_of_pixels(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 80)
    pixels = rng.uniform(0, 0.3, size=(80, 1, 4, 4))
    pixels[labels == 1, :, :2] += 0.7                 # class 1: a bright top half
    path = tmp_path / "pixels.csv"
    header = ",".join(f"p{i}" for i in range(16)) + ",label\n"
    path.write_text(header + "".join(",".join(f"{v:.3f}" for v in row) + f",{label}\n"
                                     for row, label in zip(pixels.reshape(80, -1), labels,
                                                           strict=True)))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(path), "--target", "label", "--layers",
                                 "conv:2:3:1:1,relu,maxpool:2,flatten,dense:2",
                                 "--input-shape", "1,4,4", "--epochs", "3", "--batch-size",
                                 "16", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 3

    import steepest

    model = steepest.load(out / "model.safetensors")
    assert type(model).__name__ == "NetworkClassifier" and model.input_shape == (1, 4, 4)
    assert [type(layer).__name__ for layer in model.layers] == ["Conv2D", "ReLU", "MaxPool2D",
                                                                 "Flatten", "Dense"]
