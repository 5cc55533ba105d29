"""The `steepest` command as a user runs it: exit codes and the exact lines they read."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from steepest.cli import app

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
