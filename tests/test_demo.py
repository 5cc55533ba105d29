"""The demo, its figures and the ``steepest demo`` command, on a small step budget."""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pytest
from sklearn.metrics import log_loss
from typer.testing import CliRunner

from steepest import MLPClassifier, functions, optim
from steepest.cli import app
from steepest.demo import (
    OPTIMIZERS,
    PROBLEMS,
    VARIANTS,
    DemoResults,
    DigitsResults,
    Problem,
    Training,
    collect,
    collect_digits,
    digits_summary,
    run_demo,
    summary,
    write_report,
)
from steepest.errors import ParameterError
from steepest.methods import METHODS as TABLE
from steepest.methods import suggested_rate
from steepest.plot import (
    optimizer_style,
    plot_comparison,
    plot_loss_curves,
    plot_training_curves,
    plot_trajectories,
    variant_style,
)

QUICK = 40  # steps per run: enough to draw every figure, fast enough for the test suite
EPOCHS = 2  # epochs per digits run: stochastic descent makes 1,347 updates an epoch
METHODS = sorted({m for problem in PROBLEMS for m in problem.learning_rates})
FUNCTIONS = [functions.get(problem.function) for problem in PROBLEMS]
LABELS = [d.label for d in VARIANTS] + [d.label for d in OPTIMIZERS]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    path = run_demo(tmp_path_factory.mktemp("demo"), max_iter=QUICK, epochs=EPOCHS)
    return path, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def digits():
    return collect_digits(epochs=EPOCHS)


def test_run_demo_writes_one_self_contained_report(report_page):
    path, page = report_page
    assert path.name == "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    # each surface, the two digits comparisons, and the lesson's range test and fixed run
    assert page.count("<img ") == len(PROBLEMS) + 2 + 2
    assert "A run gone wrong, diagnosed, and fixed" in page
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page)


def test_report_has_a_section_per_function_and_every_optimizer(report_page):
    _, page = report_page
    for function in FUNCTIONS:
        assert re.search(rf"<h2 id=\"[a-z0-9-]+\">{re.escape(function.title)}</h2>", page)
    for method in METHODS:
        assert f"<td>{method}</td>" in page


def test_collect_runs_every_optimizer_on_every_function():
    demo = collect(max_iter=5, digits=False)
    assert demo.digits is None
    assert list(demo.runs) == [f.name for f in FUNCTIONS]
    for name, runs in demo.runs.items():
        problem = next(p for p in PROBLEMS if p.function == name)
        assert list(runs) == list(problem.learning_rates)
        for run in runs.values():
            assert run.result.nit <= 5
            np.testing.assert_array_equal(run.path[0], demo.functions[name].start)
            assert (run.distance is None) == (name == "saddle")


def test_the_demos_rates_are_the_tables():
    for problem in PROBLEMS:
        assert problem.learning_rates, problem.function
        for method, lr in problem.learning_rates.items():
            entry = TABLE[method]
            assert lr == suggested_rate(method, problem.function)
            assert lr is None if entry.line_search else lr == entry.surface_rates.get(
                problem.function, entry.minimize_lr)


def test_a_problem_takes_method_names_or_rates_of_its_own():
    named = Problem("booth", ["adam", "LBFGS", "adadelta"], max_iter=5)
    assert named.learning_rates == {"adam": TABLE["adam"].surface_rates["booth"],
                                    "lbfgs": None, "adadelta": TABLE["adadelta"].minimize_lr}
    own = Problem("booth", {"adam": 0.3}, max_iter=5)
    assert own.learning_rates == {"adam": 0.3}
    with pytest.raises(ParameterError, match="Unknown minimize method 'adma'.*'adam'"):
        Problem("booth", ["adma"], max_iter=5)


def test_collect_is_deterministic():
    problems = [Problem("rosenbrock", {"adam": 0.05, "gd": 1e-3}, max_iter=30)]
    first, second = collect(problems, digits=False), collect(problems, digits=False)
    for method in ("adam", "gd"):
        a, b = first.runs["rosenbrock"][method].path, second.runs["rosenbrock"][method].path
        np.testing.assert_array_equal(a, b)


def test_summary_has_a_line_per_function():
    demo = collect(max_iter=QUICK, digits=False)
    lines = summary(demo)
    assert [line[0] for line in lines] == [f.title for f in FUNCTIONS]
    for (_, count, fastest), function in zip(lines, FUNCTIONS, strict=True):
        expected = "no minimum" if function.name == "saddle" else rf"\d+ of {len(METHODS)}"
        assert re.fullmatch(expected, count)
        assert fastest == "\N{EM DASH}" or re.fullmatch(r"[a-z]+ \(\d+ steps?\)", fastest)


def test_collect_checks_max_iter_and_epochs():
    with pytest.raises(ParameterError, match="The 'max_iter' parameter of collect"):
        collect(max_iter=0)
    with pytest.raises(ParameterError, match="The 'epochs' parameter of collect"):
        collect(epochs=0)
    with pytest.raises(ParameterError, match="The 'epochs' parameter of collect_digits"):
        collect_digits(epochs=1.5)


def test_cli_demo_writes_the_report_and_prints_its_path(tmp_path, monkeypatch):
    import steepest.demo

    quick = steepest.demo.collect

    def quick_collect(*args, **kwargs):
        return quick(*args, **{**kwargs, "max_iter": QUICK, "epochs": EPOCHS})

    monkeypatch.setattr(steepest.demo, "collect", quick_collect)
    out = tmp_path / "out dir"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.html").resolve()
    assert report.is_file()
    assert f"Report: {report}" in result.stdout
    for function in FUNCTIONS:
        assert function.title in result.stdout
    assert f"digits: {EPOCHS} epochs each" in result.stdout
    for label in ("batch", "stochastic", "mini-batch / SGD", "SGD + momentum", "Adam"):
        assert re.search(rf"│ {re.escape(label)} +│", result.stdout)


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


# -- the digits -----------------------------------------------------------------------


def test_report_has_the_digits_sections_and_their_tables(report_page):
    _, page = report_page
    variants = "Digits: batch, stochastic and mini-batch descent"
    optimizers = "Digits: SGD, SGD + momentum and Adam"
    for heading in (variants, optimizers):
        assert re.search(rf"<h2 id=\"[a-z0-9-]+\">{re.escape(heading)}</h2>", page)
    text = html.unescape(page)
    for label in LABELS:
        assert f"<td>{label}</td>" in text
    assert text.count('<th scope="col">variant</th>') == 1
    assert text.count('<th scope="col">optimizer</th>') == len(PROBLEMS) + 1  # with the surfaces
    for column in ("lr", "batch size", "epochs", "updates", "final training loss",
                   "test accuracy", "time (s)"):
        assert text.count(f'<th class="num" scope="col">{column}</th>') >= 2
    accuracies = re.findall(r'<td class="num">(\d+\.\d)%</td>', page)
    assert len(accuracies) == len(LABELS)
    assert all(0 <= float(a) <= 100 for a in accuracies)
    assert "1,347 for training and 450 for testing" in page


def test_collect_digits_trains_every_run_on_the_same_budget(digits):
    assert list(digits.variants) == [d.label for d in VARIANTS]
    assert list(digits.optimizers) == [d.label for d in OPTIMIZERS]
    assert (digits.n_train, digits.n_test, digits.n_features, digits.n_classes) == \
        (1347, 450, 64, 10)
    assert digits.epochs == EPOCHS
    for descent in (*VARIANTS, *OPTIMIZERS):
        run = {**digits.variants, **digits.optimizers}[descent.label]
        assert run.epochs == EPOCHS and run.model.n_iter_ == EPOCHS
        assert run.loss.shape == run.time.shape == (EPOCHS,)
        assert np.isfinite(run.loss).all() and (run.loss > 0).all()
        assert np.isfinite(run.time).all() and (np.diff(run.time) >= 0).all()
        assert 0.0 <= run.accuracy <= 1.0
        assert run.accuracy == run.model.score(*_test_digits())
        batches = 1 if descent.batch_size is None else math.ceil(1347 / descent.batch_size)
        assert run.updates == EPOCHS * batches
        assert repr(run.optimizer) == repr(descent.optimizer)
    assert digits.variants["stochastic"].updates == EPOCHS * 1347
    # the same optimizer and batch size in both comparisons: trained once
    assert digits.variants["mini-batch"] is digits.optimizers["SGD"]


def test_digits_curves_measure_the_loss_fit_would_end_with(digits):
    run = digits.optimizers["Adam"]
    X_train, y_train = _train_digits()
    model = MLPClassifier((32,), optimizer=optim.Adam(lr=run.optimizer.lr), batch_size=32,
                          epochs=EPOCHS, alpha=0.0, tol=None, random_state=0).fit(X_train, y_train)
    assert log_loss(y_train, model.predict_proba(X_train)) == pytest.approx(run.loss[-1],
                                                                             rel=1e-12)


def test_collect_digits_is_deterministic():
    only = OPTIMIZERS[:1]
    first, second = (collect_digits((), only, epochs=1) for _ in range(2))
    a, b = first.optimizers[only[0].label], second.optimizers[only[0].label]
    np.testing.assert_array_equal(a.loss, b.loss)
    assert a.accuracy == b.accuracy


def test_digits_summary_has_a_line_per_run(digits):
    assert digits_summary(DemoResults({}, {}, 0.0)) == []
    lines = digits_summary(DemoResults({}, {}, 0.0, digits=digits))
    assert [line[0] for line in lines] == ["batch", "stochastic", "mini-batch / SGD",
                                          "SGD + momentum", "Adam"]
    for *_, accuracy, seconds in lines:
        assert re.fullmatch(r"\d+(\.\d+)?%", accuracy) and seconds.endswith(" s")
    assert lines[0][2] == "1347"


def _fake(loss, seconds, accuracy, batch_size=32, optimizer=None):
    loss = np.asarray(loss, dtype=float)
    updates = {None: 1, 1: 1347}.get(batch_size, 43)
    return Training(optimizer or optim.SGD(lr=0.1), batch_size, updates, loss,
                    np.linspace(seconds / len(loss), seconds, len(loss)),
                    np.full(len(loss), 0.1), accuracy, model=None)


def _page(tmp_path, variants=None, optimizers=None):
    digits = DigitsResults(variants or {}, optimizers or {}, n_train=1347, n_test=450,
                           n_features=64, n_classes=10, seconds=1.0)
    path = write_report(DemoResults({}, {}, 1.0, digits=digits), tmp_path / "report.html")
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def test_variant_findings_follow_the_numbers(tmp_path):
    # batch gains least per epoch but is the fastest to the loss where it ends
    runs = {"batch": _fake([1.0, 0.5], 0.01, 0.90, None),
            "stochastic": _fake([0.2, 0.1], 2.0, 0.97, 1),
            "mini-batch": _fake([0.6, 0.3], 0.1, 0.96)}
    text = _page(tmp_path, variants=runs)
    assert "Per epoch, stochastic descent went furthest: after 2 epochs its training loss " \
           "was 0.1, against 0.3 for mini-batch and 0.5 for batch." in text
    assert "1,347 updates for stochastic, 43 updates for mini-batch and 1 update for batch" \
        in text
    assert "Per second the order changes: the training loss of 0.5, where batch descent " \
           "ended, was reached first by batch descent, after 0.01 s, against 0.1 s for " \
           "mini-batch and 1 s for stochastic" in text
    assert "accuracy was 97.0% for stochastic (436 right), 96.0% for mini-batch (432 right) " \
           "and 90.0% for batch (405 right)." in text
    assert "too small to rank" not in text

    runs["batch"] = _fake([1.0, 0.5], 5.0, 0.90, None)
    runs["mini-batch"] = _fake([0.6, 0.3], 3.0, 0.96)
    assert "Per second the winner is the same" in _page(tmp_path, variants=runs)


def test_optimizer_findings_follow_the_numbers(tmp_path):
    runs = {"SGD": _fake([0.5, 0.4, 0.3], 1.0, 0.960),
            "SGD + momentum": _fake([0.3, 0.1, 0.05], 1.1, 0.962,
                                    optimizer=optim.SGD(lr=0.1, momentum=0.9)),
            "Adam": _fake([0.6, 0.5, 0.45], 3.0, 0.958, optimizer=optim.Adam(lr=1e-3))}
    text = _page(tmp_path, optimizers=runs)
    assert "the lowest training loss was SGD + momentum's, 0.05, against 0.3 for SGD and " \
           "0.45 for Adam." in text
    assert "SGD's final loss, 0.3, was reached by SGD + momentum after 1 epoch; Adam never " \
           "reached it." in text
    assert "SGD and SGD + momentum share their learning rate, so momentum is the only " \
           "difference between them; Adam scales" in text
    assert "the slowest took 3 times as long as the fastest" in text
    assert "A gap of 2 digits is too small to rank them by" in text
    assert "did not give the best test accuracy" not in text

    runs["SGD"] = _fake([0.5, 0.4, 0.3], 1.0, 0.99)  # far ahead on the test digits
    text = _page(tmp_path, optimizers=runs)
    assert "The lowest training loss (SGD + momentum) did not give the best test accuracy" \
        in text


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)


def _train_digits():
    X_train, _, y_train, _ = _digits()
    return X_train, y_train


def _test_digits():
    _, X_test, _, y_test = _digits()
    return X_test, y_test


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


def test_training_curves_share_the_loss_axis_and_keep_the_styles():
    histories = {"batch": {"loss": [2.0, 1.0, 0.5], "time": [0.001, 0.002, 0.003]},
                 "stochastic": {"loss": [0.5, 0.2, 0.1], "time": [1.0, 2.0, 3.0]}}
    fig = plot_training_curves(histories)
    by_epoch, by_time = fig.axes
    assert by_epoch.get_yscale() == by_time.get_yscale() == "log"
    assert by_time.get_xscale() == "log"  # 3 ms against 3 s
    for ax in (by_epoch, by_time):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for name in histories:
            assert lines[name].get_color() == variant_style(name)["color"]
    np.testing.assert_array_equal(by_epoch.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(by_time.get_lines()[1].get_xdata(), [1.0, 2.0, 3.0])
    assert fig.legends


def test_training_curves_take_a_history_and_styles_of_ones_own():
    model = MLPClassifier((4,), epochs=3, tol=None, random_state=0, batch_size=50)
    X, y = _train_digits()
    model.fit(X[:200], y[:200])
    style = optimizer_style("adam")
    fig = plot_training_curves({"mine": model.history_}, styles={"mine": style})
    by_epoch, by_time = fig.axes
    assert by_time.get_xscale() == "linear"
    (line,) = by_epoch.get_lines()
    assert line.get_color() == style["color"] and line.get_marker() == style["marker"]
    np.testing.assert_allclose(line.get_ydata(), model.history_["loss"])


def test_variants_have_styles_of_their_own():
    colours = {variant_style(name)["color"] for name in ("batch", "stochastic", "mini-batch")}
    assert len(colours) == 3
    assert not colours & {optimizer_style(m)["color"] for m in METHODS + ["adam", "adamw",
                                                                          "radam", "adamax",
                                                                          "adadelta"]}
    assert variant_style("Batch") == variant_style("batch")
    assert variant_style("adam") == optimizer_style("adam")


def test_the_lesson_diagnoses_the_bad_run_and_fixes_it():
    from steepest.lesson import collect_lesson

    lesson = collect_lesson(epochs=30)
    codes = {finding.code for finding in lesson.bad_findings}
    assert {"diverged", "unscaled_inputs"} <= codes
    assert lesson.bad_error is not None and "learning rate" in lesson.bad_error
    assert [finding.code for finding in lesson.fixed_findings] == ["healthy"]
    assert lesson.fixed.score(lesson.X, lesson.y) > 0.95
    assert np.all(np.isfinite(lesson.bad._network.theta))
