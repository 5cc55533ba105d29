"""The demo, its figures and the ``steepest demo`` command, on a small step budget."""

from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from steepest import functions
from steepest.cli import app
from steepest.demo import PROBLEMS, Problem, collect, run_demo, summary
from steepest.errors import ParameterError
from steepest.plot import optimizer_style, plot_comparison, plot_loss_curves, plot_trajectories

QUICK = 40  # steps per run: enough to draw every figure, fast enough for the test suite
METHODS = sorted({m for problem in PROBLEMS for m in problem.learning_rates})
FUNCTIONS = [functions.get(problem.function) for problem in PROBLEMS]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    path = run_demo(tmp_path_factory.mktemp("demo"), max_iter=QUICK)
    return path, path.read_text(encoding="utf-8")


def test_run_demo_writes_one_self_contained_report(report_page):
    path, page = report_page
    assert path.name == "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    assert page.count("<img ") == len(PROBLEMS)
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page)


def test_report_has_a_section_per_function_and_every_optimizer(report_page):
    _, page = report_page
    for function in FUNCTIONS:
        assert re.search(rf"<h2 id=\"[a-z0-9-]+\">{re.escape(function.title)}</h2>", page)
    for method in METHODS:
        assert f"<td>{method}</td>" in page


def test_collect_runs_every_optimizer_on_every_function():
    demo = collect(max_iter=5)
    assert list(demo.runs) == [f.name for f in FUNCTIONS]
    for name, runs in demo.runs.items():
        problem = next(p for p in PROBLEMS if p.function == name)
        assert list(runs) == list(problem.learning_rates)
        for run in runs.values():
            assert run.result.nit <= 5
            np.testing.assert_array_equal(run.path[0], demo.functions[name].start)
            assert (run.distance is None) == (name == "saddle")


def test_collect_is_deterministic():
    problems = [Problem("rosenbrock", {"adam": 0.05, "gd": 1e-3}, max_iter=30)]
    first, second = collect(problems), collect(problems)
    for method in ("adam", "gd"):
        a, b = first.runs["rosenbrock"][method].path, second.runs["rosenbrock"][method].path
        np.testing.assert_array_equal(a, b)


def test_summary_has_a_line_per_function():
    demo = collect(max_iter=QUICK)
    lines = summary(demo)
    assert [line[0] for line in lines] == [f.title for f in FUNCTIONS]
    for (_, count, fastest), function in zip(lines, FUNCTIONS, strict=True):
        expected = "no minimum" if function.name == "saddle" else rf"\d+ of {len(METHODS)}"
        assert re.fullmatch(expected, count)
        assert fastest == "\N{EM DASH}" or re.fullmatch(r"[a-z]+ \(\d+ steps?\)", fastest)


def test_collect_checks_max_iter():
    with pytest.raises(ParameterError, match="The 'max_iter' parameter of collect"):
        collect(max_iter=0)


def test_cli_demo_writes_the_report_and_prints_its_path(tmp_path, monkeypatch):
    import steepest.demo

    quick = steepest.demo.collect

    def quick_collect(*args, **kwargs):
        return quick(*args, **{**kwargs, "max_iter": QUICK})

    monkeypatch.setattr(steepest.demo, "collect", quick_collect)
    out = tmp_path / "out dir"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.html").resolve()
    assert report.is_file()
    assert f"Report: {report}" in result.stdout
    for function in FUNCTIONS:
        assert function.title in result.stdout


def test_cli_turns_library_errors_into_one_line(tmp_path, monkeypatch):
    import steepest.demo

    def failing(*args, **kwargs):
        raise ParameterError("The 'lr' parameter of Adam must be positive. Got -1 instead.")

    monkeypatch.setattr(steepest.demo, "collect", failing)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The 'lr' parameter of Adam must be positive. Got -1 instead.\n")
    assert "Traceback" not in result.output


def test_cli_reports_an_unwritable_directory_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(app, ["demo", "--out", str(blocker / "sub")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1


def test_cli_help_lists_demo_only():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.stdout


# -- figures --------------------------------------------------------------------------


class _Path:
    def __init__(self, points):
        self.path = np.asarray(points, dtype=float)


def test_each_optimizer_keeps_its_style_everywhere():
    f = functions.rosenbrock
    results = {"adam": _Path([f.start, [0.0, 0.0], [1.0, 1.0]]),
               "gd": _Path([f.start, [-1.0, 1.0]])}
    fig = plot_comparison(f, results)
    paths, losses = fig.axes
    for ax in (paths, losses):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for name in results:
            assert lines[name].get_color() == optimizer_style(name)["color"]
    assert optimizer_style("adam") != optimizer_style("gd")
    assert optimizer_style("Adam") == optimizer_style("adam")
    assert optimizer_style("my-own") == optimizer_style("my-own")


def test_loss_curves_use_the_gap_on_a_log_axis_or_the_value_without_minimum():
    bowl = functions.quadratic
    ax = plot_loss_curves(bowl, {"gd": _Path([bowl.start, [0.0, 0.0]])})
    assert ax.get_yscale() == "log"
    (line,) = ax.get_lines()
    assert line.get_ydata()[-1] == pytest.approx(1e-16)  # an exact zero sits on the floor
    saddle = functions.saddle
    ax = plot_loss_curves(saddle, {"gd": _Path([saddle.start, [0.0, 5.0], [np.nan, 0.0]])})
    assert ax.get_yscale() == "linear"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2.2499, -25.0])
    assert ax.get_ylim()[0] > -5  # the escape runs off the axes instead of squashing them


def test_trajectories_are_cut_to_the_functions_bounds():
    f = functions.himmelblau
    ax = plot_trajectories(f, {"gd": _Path([f.start, [40.0, 40.0]])})
    assert ax.get_xlim() == f.bounds[0] and ax.get_ylim() == f.bounds[1]
    assert ax.figure.legends  # beside the axes, in a figure of its own
