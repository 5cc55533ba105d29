"""steepest.plot: the one module that draws figures, its styles against the table of methods,
the figures moved into it from compare, lr_find and the old workflow, and the surface helpers the
explorer draws with. (The surface figures themselves are tested with the demo.)"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

import steepest
from steepest import compare, functions, lr_find, plot
from steepest.errors import ParameterError
from steepest.methods import METHODS

PACKAGE = Path(steepest.__file__).parent


# -- styles against the table -------------------------------------------------------------


def test_every_method_of_the_table_has_a_style_of_its_own():
    styles = {name: plot.optimizer_style(name) for name in METHODS}
    colours = [style["color"] for style in styles.values()]
    markers = [style["marker"] for style in styles.values()]
    assert len(set(colours)) == len(set(markers)) == len(METHODS)
    for name, style in styles.items():
        assert (style["linestyle"] == "--") == METHODS[name].line_search, name


# -- one house for figures ----------------------------------------------------------------


def test_the_moved_figures_are_plots_under_their_old_names():
    assert compare.plot_comparison is plot.plot_run_comparison
    assert lr_find.plot_lr_find is plot.plot_lr_find
    assert "plot_comparison" in compare.__all__ and "plot_lr_find" in lr_find.__all__


_DRAWING = {"plot", "contour", "contourf", "scatter", "bar", "hist", "imshow", "axhline",
            "axvline", "annotate", "legend", "set_xscale", "set_yscale", "fill_between"}


def _is_dask_scatter(func: ast.Attribute) -> bool:
    """``client.scatter(...)`` sends data to Dask workers; it draws nothing."""
    owner = func.value
    name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
    return func.attr == "scatter" and name == "client"


def test_no_module_but_plot_draws():
    # Others may make a Figure to lay out (a report's panel for plot_lr_find's axes); the
    # lines, contours, scales and legends are drawn in plot.py only.
    drawers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in _DRAWING \
                    and not _is_dask_scatter(node.func):
                drawers.add(path.relative_to(PACKAGE).as_posix())
    assert drawers == {"plot.py"}


def test_plot_imports_none_of_the_modules_whose_figures_it_draws():
    tree = ast.parse((PACKAGE / "plot.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"steepest.compare", "steepest.lr_find", "steepest.runs"}


# -- plot_history -------------------------------------------------------------------------


def history(loss, layers=0):
    n = len(loss)
    out = {"loss": list(loss), "lr": [0.1] * n, "grad_norm": list(np.geomspace(1, 1e-3, n))}
    for layer in range(layers):
        out[f"grad_norm/{layer}"] = list(np.geomspace(1, 1e-2, n) * (layer + 1))
    return out


def test_history_has_loss_rate_and_gradient_panels():
    fig = plot.plot_history({**history([2.0, 1.0, 0.5, 0.4]), "val_loss": [2.1, 1.2, 0.7, 0.6]})
    loss_ax, lr_ax, grad_ax = fig.axes
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == [
        "Loss", "Learning rate (last update of the epoch)", "Gradient norm"]
    assert [line.get_label() for line in loss_ax.get_lines()] == ["training", "validation"]
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3, 4])
    assert loss_ax.get_yscale() == "linear"  # a fall of 5x: linear
    assert grad_ax.get_yscale() == "log"
    assert grad_ax.get_legend() is None  # one series: no legend


def test_history_turns_log_over_a_wide_fall_and_names_the_layers():
    fig = plot.plot_history(history([100.0, 1.0, 0.1], layers=2))
    loss_ax, _, grad_ax = fig.axes
    assert loss_ax.get_yscale() == "log"  # 1000x
    labels = [text.get_text() for text in grad_ax.get_legend().get_texts()]
    assert labels == ["all parameters", "layer 0", "layer 1"]


# -- plot_lr_find and plot_run_comparison on results of their own shape -------------------


def test_lr_find_figure_marks_the_suggestion_on_the_trend():
    lrs = np.geomspace(1e-4, 1, 50)
    trend = 2.0 - np.tanh(np.log10(lrs) + 2)  # falls, steepest at lr = 1e-2
    result = SimpleNamespace(lrs=lrs, losses=trend * 1.01, trend=trend, suggestion=1e-2,
                             rule="steepest descent of the smoothed loss", stopped_early=True)
    ax = plot.plot_lr_find(result)
    assert ax.get_xscale() == "log"
    (dot,) = [line for line in ax.get_lines() if line.get_label().startswith("suggestion")]
    assert dot.get_xdata()[0] == 1e-2
    assert dot.get_ydata()[0] == pytest.approx(np.interp(-2, np.log10(lrs), trend))
    assert "blew up at lr = 1" in ax.get_title()


def test_run_comparison_draws_every_run_in_both_panels_and_the_target():
    runs = [SimpleNamespace(name=name, estimator=None, target_epoch=epoch,
                            history={"loss": list(loss), "time": [0.1, 0.2, 0.3]})
            for name, loss, epoch in [("adam", [1.0, 0.1, 0.01], 2), ("mine", [1.0, 0.5, 0.4],
                                                                       None)]]
    fig = plot.plot_run_comparison(_Runs(runs, target_loss=0.1))
    by_epoch, by_time = fig.axes
    assert by_epoch.get_yscale() == "log"  # two decades
    for ax in (by_epoch, by_time):
        labels = [line.get_label() for line in ax.get_lines()]
        assert {"adam", "mine"} <= set(labels)
    adam = next(line for line in by_epoch.get_lines() if line.get_label() == "adam")
    assert adam.get_color() == plot.optimizer_style("adam")["color"]
    assert any(math.isclose(line.get_ydata()[0], 0.1) for line in by_epoch.get_lines()
               if line.get_label() == "target")


class _Runs(list):
    def __init__(self, runs, target_loss):
        super().__init__(runs)
        self.target_loss = target_loss


# -- the surface helpers ------------------------------------------------------------------


def test_surface_grid_is_the_function_on_a_regular_grid():
    f = functions.booth
    X, Y, Z = plot.surface_grid(f, (0.0, 1.0), (2.0, 4.0))
    assert X.shape == Y.shape == Z.shape
    assert (X[0, 0], X[0, -1], Y[0, 0], Y[-1, 0]) == (0.0, 1.0, 2.0, 4.0)
    i, j = 7, 11
    assert Z[i, j] == pytest.approx(f(np.array([X[i, j], Y[i, j]])))
    whole = plot.surface_grid(f)
    assert (whole[0].min(), whole[0].max()) == f.bounds[0]


def test_value_range_holds_the_surface_with_a_margin():
    f = functions.saddle
    low, high = plot.value_range(f)
    Z = plot.surface_grid(f)[2]
    margin = 0.05 * (Z.max() - Z.min())
    assert (low, high) == pytest.approx((Z.min() - margin, Z.max() + margin))


@pytest.mark.parametrize(("name", "log"), [("rosenbrock", True), ("booth", True),
                                           ("saddle", False), ("himmelblau", True)])
def test_draw_surface_picks_log_levels_for_surfaces_spanning_decades(name, log):
    f = functions.get(name)
    ax = Figure().add_subplot()
    plot.draw_surface(ax, f, *f.bounds)
    filled = ax.collections[0]
    levels = np.asarray(filled.levels)
    ratios = levels[1:] / levels[:-1] if log else np.diff(levels)
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)  # geometric or even steps


def test_history_with_a_validation_score_plots_it_next_to_the_loss_with_labelled_axes():
    fig = plot.plot_history({**history([2.0, 1.0, 0.5]), "val_loss": [2.1, 1.2, 0.7],
                             "val_score": [0.5, 0.8, 0.9]}, score_name="accuracy")
    loss_ax, score_ax, lr_ax, grad_ax = fig.axes
    assert [ax.get_title() for ax in fig.axes] == [
        "Loss", "Validation score", "Learning rate (last update of the epoch)",
        "Gradient norm"]
    np.testing.assert_array_equal(score_ax.get_lines()[0].get_ydata(), [0.5, 0.8, 0.9])
    assert score_ax.get_ylabel() == "accuracy"
    assert all(ax.get_xlabel() == "epoch" and ax.get_ylabel() for ax in fig.axes)
    plain = plot.plot_history(history([2.0, 1.0]))
    assert len(plain.axes) == 3 and all(ax.get_ylabel() for ax in plain.axes)


# -- plot_confusion_matrix and plot_image_grid ----------------------------------------------


def test_confusion_matrix_shows_every_count_and_colours_by_row_share():
    matrix = np.array([[8, 2, 0], [1, 1, 0], [0, 0, 5]])
    fig = plot.plot_confusion_matrix(matrix, ["a", "b", "c"], title="t")
    ax = fig.axes[0]
    assert [text.get_text() for text in ax.texts] == [str(v) for v in matrix.ravel()]
    shares = ax.images[0].get_array()
    np.testing.assert_allclose(shares[0], [0.8, 0.2, 0.0])
    np.testing.assert_allclose(shares[1], [0.5, 0.5, 0.0])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ParameterError, match="one label per row"):
        plot.plot_confusion_matrix(matrix, ["a", "b"])


def test_image_grid_draws_each_image_with_its_caption():
    images = np.arange(5 * 4 * 3, dtype=float).reshape(5, 4, 3)
    fig = plot.plot_image_grid(images, [f"n{i}" for i in range(5)], columns=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(drawn) == 5                # 3 rows of 2, one left blank
    assert [ax.get_title() for ax in drawn] == [f"n{i}" for i in range(5)]
    np.testing.assert_array_equal(drawn[4].images[0].get_array(), images[4])
    with pytest.raises(ParameterError, match="one caption each"):
        plot.plot_image_grid(images, ["only one"])
