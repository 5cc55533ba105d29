"""The explorer behind ``steepest explore``: descent played step by step in the browser.

:func:`write_explorer` writes one HTML file that works offline, with nothing fetched
from the network: pick a test function and some optimizers, slide each optimizer's
learning rate, set the number of steps, then play, pause, step or rewind the
descent over the contour plot while the loss curves grow beside it::

    from steepest.explore import write_explorer
    write_explorer("explorer.html")                         # open it in a browser
    write_explorer("small.html", functions=["rosenbrock", "saddle"],
                   methods=["gd", "momentum", "adam", "lbfgs"])

Every path on the page was computed by :func:`steepest.minimize` when the page
was written, on a grid of learning rates per function and optimizer: the slider
moves along that grid (1, 2, 5 in every decade, from 1/20 to 20 times the
suggested rate, plus the suggested rate itself), so what you see is exactly what
the library does, not a JavaScript re-implementation of the update rules that
could drift from it. Newton's method and L-BFGS choose their step lengths by line
search and get one run each (``lr=1``).

How the numbers travel, to keep the page small (2.3 MB for the default seven
functions and thirteen methods, about 700 runs of up to 500 steps): the points of
a path are stored as 16-bit fractions of a box three times the plotted one (much
finer than a pixel: about 1/20000 of the plotted side), delta-coded; the values
``f(x_k)`` as float32; the whole zlib-compressed, base64-encoded, unpacked by the
browser's own
``DecompressionStream`` (Chrome and Edge 80+, Firefox 113+, Safari 16.4+). A
path that leaves that box is cut where it crosses the edge ("left the plot");
one that overflows is cut at its last finite point ("diverged"). The exact
float64 end of every run is stored too. The contours are a PNG drawn by
matplotlib with the same colours as :func:`steepest.plot.plot_trajectories`, and
each optimizer keeps its colour and marker from :func:`steepest.plot.optimizer_style`.

The page's state can be set from its address, which it also keeps up to date, so
a view can be bookmarked or shared: ``explorer.html#fn=beale&methods=gd,adam&
steps=300&lr=0.01&lr.adam=0.05&step=120``; ``lr`` sets every optimizer's rate,
``lr.NAME`` one optimizer's (each snaps to the nearest rate of its grid),
``speed`` the playback in steps per second, ``autoplay=1`` starts playing. A
hidden ``<pre id="state">`` holds what is drawn as JSON (the function, each
optimizer's learning rate, the number of points drawn, the last point and its
value), which the tests read from a headless browser.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import warnings
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from string import Template

import numpy as np

from steepest import __version__, minimize
from steepest._validation import check_number, lookup
from steepest.errors import ParameterError
from steepest.functions import TestFunction, get
from steepest.io import atomic_write_bytes
from steepest.methods import LINE_SEARCH, METHODS, suggested_rate
from steepest.pages import read_asset
from steepest.plot import draw_surface, optimizer_style, surface_grid, value_range

__all__ = ["DEFAULT_FUNCTIONS", "DEFAULT_METHODS", "learning_rates", "write_explorer"]

DEFAULT_FUNCTIONS: tuple[str, ...] = (
    "rosenbrock", "beale", "himmelblau", "saddle", "quadratic", "rastrigin", "booth",
)
"""The functions of the explorer by default: each shows one difficulty of descent."""

DEFAULT_METHODS: tuple[str, ...] = tuple(METHODS)
"""Every method of :func:`steepest.minimize`, in the order the page lists them (the order
of :data:`steepest.methods.METHODS`)."""

_CHECKED = ("gd", "momentum", "adam", "lbfgs")
"""The optimizers ticked when the page opens (those of them on the page)."""

_MAX_STEPS = 500
_BOX = 1.0
"""The stored box extends the plotted bounds by this many widths on each side."""
_LEVELS = 65535
_F32_MAX = float(np.finfo(np.float32).max)
_SPEEDS = (10, 30, 60, 120, 300, 1000)
"""Playback speeds offered, in steps per second; 60 to start with."""
_IMAGE_PIXELS = 720
"""The longer side of the contour image, in pixels."""


# -- the public functions ---------------------------------------------------------------


def learning_rates(function: str | TestFunction, method: str) -> tuple[list[float], float]:
    """The learning rates the explorer offers for ``method`` on ``function``.

    Parameters
    ----------
    function : str or TestFunction
        A 2-D function of :mod:`steepest.functions`, or its name.
    method : str
        A method of :func:`steepest.minimize`.

    Returns
    -------
    grid : list of float
        Increasing: the rates 1, 2 and 5 times a power of ten from ``suggested / 20``
        to ``suggested * 20``, and ``suggested`` itself; ``[1.0]`` for ``newton`` and
        ``lbfgs``, whose ``lr`` only scales the first trial step of a line search.
    suggested : float
        Where the slider starts: the table's rate for that function and method,
        :func:`steepest.methods.suggested_rate` (its ``surface_rates`` entry, else
        minimize's default).
    """
    method = lookup(method, {m: m for m in METHODS}, "minimize method")
    if method in LINE_SEARCH:
        return [1.0], 1.0
    name = function.name if isinstance(function, TestFunction) else get(function).name
    suggested = suggested_rate(method, name)
    low, high = suggested / 20 * (1 - 1e-9), suggested * 20 * (1 + 1e-9)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    grid = {float(f"{m}e{e}") for e in decades for m in (1, 2, 5)}
    return sorted(v for v in grid | {suggested} if low <= v <= high), suggested


def write_explorer(
    path: str | os.PathLike[str],
    functions: Sequence[str | TestFunction] | None = None,
    methods: Sequence[str] | None = None,
    *,
    max_steps: int = _MAX_STEPS,
    n_jobs: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> Path:
    """Write the interactive explorer, one self-contained HTML file, to ``path``.

    Every run is computed now, by :func:`steepest.minimize` from the function's
    customary start, for each learning rate of :func:`learning_rates`: about a
    hundred runs per function with all thirteen methods, about two seconds of
    work per function (``n_jobs=-1`` spreads it over the processors).

    Parameters
    ----------
    path : str or path-like
        Where to write the page; missing parent directories are created, and the
        file is replaced in one step (a reader never sees half a page).
    functions : sequence of str or TestFunction, optional
        The 2-D test functions to offer, by name or as built by
        :mod:`steepest.functions` (``functions.make_quadratic(condition=1000)``);
        by default :data:`DEFAULT_FUNCTIONS`.
    methods : sequence of str, optional
        Methods of :func:`steepest.minimize`; by default all of them.
    max_steps : int, default=500
        The most steps of any run, and of the page's "steps" setting.
    n_jobs : int, optional
        How many processes compute the runs, as in scikit-learn: ``None`` or 1 for
        this process only, -1 for one per processor, -2 for all but one. The page
        is the same byte for byte whatever the number.
    progress : callable, optional
        Called as ``progress(done, total)`` (counting runs) as the runs finish, for a
        progress bar.

    Returns
    -------
    Path
        ``path``, as written.

    Raises
    ------
    ParameterError
        For an unknown function or method, a function that is not 2-D, two
        functions with the same name, an empty list, or a bad ``max_steps`` or
        ``n_jobs``.
    """
    functions, methods = _check_functions(functions), _check_methods(methods)
    max_steps = int(check_number(max_steps, "max_steps", "write_explorer", low=1, integer=True))
    data = _explorer_data(functions, methods, max_steps, _check_jobs(n_jobs), progress)
    return atomic_write_bytes(path, _page(data).encode("utf-8"))


# -- checks -----------------------------------------------------------------------------


def _check_functions(functions) -> list[TestFunction]:
    if functions is None:
        functions = DEFAULT_FUNCTIONS
    if isinstance(functions, (str, TestFunction)):
        functions = [functions]
    chosen = [f if isinstance(f, TestFunction) else get(f) for f in functions]
    if not chosen:
        raise ParameterError(
            "The 'functions' parameter of write_explorer must name at least one function; "
            "got an empty list. Leave it out for the default ones."
        )
    names = [f.name for f in chosen]
    for f in chosen:
        if f.dim != 2:
            raise ParameterError(
                f"The explorer draws 2-D functions; {f!r} has {f.dim} coordinates. Build it "
                "with dim=2."
            )
        if names.count(f.name) > 1:
            raise ParameterError(
                f"The 'functions' parameter of write_explorer names {f.name!r} twice; the page "
                "tells functions apart by name. Keep one of them."
            )
    return chosen


def _check_methods(methods) -> list[str]:
    if methods is None:
        return list(DEFAULT_METHODS)
    if isinstance(methods, str):
        methods = [methods]
    chosen = list(dict.fromkeys(lookup(m, {m: m for m in METHODS}, "minimize method")
                                for m in methods))
    if not chosen:
        raise ParameterError(
            "The 'methods' parameter of write_explorer must name at least one method of "
            "minimize; got an empty list. Leave it out for all of them."
        )
    return chosen


def _check_jobs(n_jobs) -> int:
    """The number of processes that ``n_jobs`` asks for, scikit-learn's way."""
    if n_jobs is None:
        return 1
    check_number(n_jobs, "n_jobs", "write_explorer", integer=True)
    if n_jobs == 0:
        raise ParameterError(
            "The 'n_jobs' parameter of write_explorer must be a positive number of processes, "
            "-1 for one per processor (-2 for all but one), or None. Got 0 instead."
        )
    cpus = os.cpu_count() or 1
    return int(n_jobs) if n_jobs > 0 else max(1, cpus + 1 + int(n_jobs))


# -- the runs ---------------------------------------------------------------------------


def _explorer_data(functions: list[TestFunction], methods: list[str], max_steps: int,
                   n_jobs: int, progress) -> dict:
    tasks = [(f, m, learning_rates(f, m)[0], max_steps) for f in functions for m in methods]
    total = sum(len(task[2]) for task in tasks)
    results = iter(_map(_runs, tasks, n_jobs, progress, total))
    entries = []
    for function in functions:
        values, coords, per_method = [], [], []
        for method in methods:
            grid, suggested = learning_rates(function, method)
            runs = []
            for run, f32, u16 in next(results):
                runs.append(run)
                values.append(f32)
                coords.append(u16)
            per_method.append({"method": method, "lrs": grid, "default": grid.index(suggested),
                               "runs": runs})
        blob = np.concatenate(values).astype("<f4").tobytes() + \
            np.concatenate(coords).astype("<u2").tobytes()
        entries.append({**_describe(function, _box(function)), "methods": per_method,
                        "blob": base64.b64encode(zlib.compress(blob, 9)).decode("ascii")})
    styles = []
    for method in methods:
        style = optimizer_style(method)
        styles.append({"name": method, "color": style["color"], "marker": style["marker"],
                       "dashed": style["linestyle"] != "-", "line_search": method in LINE_SEARCH,
                       "description": METHODS[method].description})
    checked = [m for m in _CHECKED if m in methods] or methods[:3]
    return {"version": __version__, "max_steps": max_steps, "speeds": list(_SPEEDS),
            "speed": 60, "checked": checked, "methods": styles, "functions": entries}


def _map(work: Callable, tasks: list, n_jobs: int, progress, total: int) -> list:
    """``[work(*task) for task in tasks]``, in ``n_jobs`` processes, reporting progress."""
    done, out = 0, []
    if n_jobs == 1 or len(tasks) == 1:
        outputs = (work(*task) for task in tasks)
        pool = None
    else:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=min(n_jobs, len(tasks)))
        outputs = pool.map(work, *zip(*tasks, strict=True))
    try:
        for output in outputs:
            out.append(output)
            done += len(output)
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return out


def _runs(function: TestFunction, method: str, grid: list[float], max_steps: int) -> list:
    """The runs of ``method`` on ``function``, one per learning rate of ``grid``."""
    box = _box(function)
    return [_run(function, method, lr, max_steps, box) for lr in grid]


def _box(function: TestFunction) -> tuple[float, float, float, float]:
    """The stored box ``(x0, x1, y0, y1)``: the bounds, widened by ``_BOX`` widths each side."""
    (x0, x1), (y0, y1) = function.bounds
    w, h = x1 - x0, y1 - y0
    return (x0 - _BOX * w, x1 + _BOX * w, y0 - _BOX * h, y1 + _BOX * h)


def _run(function: TestFunction, method: str, lr: float, max_steps: int, box
         ) -> tuple[dict, np.ndarray, np.ndarray]:
    """One minimize run: its summary, its values (float32) and its coded points (uint16)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = minimize(function.value_and_grad, function.start, method=method, jac=True,
                          lr=lr, max_iter=max_steps)
        path = np.array(result.path, dtype=np.float64).reshape(-1, 2)
        finite = np.isfinite(path).all(axis=1)
        if not finite.all():
            path = path[: int(np.argmin(finite))]
        values = np.asarray(function(path.T), dtype=np.float64).reshape(-1)
    if result.success:
        status = "converged"
    elif "diverged" in result.message:
        status = "diverged"
    elif result.nit >= max_steps:
        status = "running"
    else:
        status = "stopped"
    x0, x1, y0, y1 = box
    outside = (path[:, 0] < x0) | (path[:, 0] > x1) | (path[:, 1] < y0) | (path[:, 1] > y1)
    if outside.any():
        k = int(np.argmax(outside))  # >= 1: the start lies inside the plotted bounds
        path = np.concatenate([path[:k], [_clip(path[k - 1], path[k], box)]])
        values = values[: k + 1]
        status = "left"
    end = path[-1]
    run = {"lr": lr, "n": len(path), "status": status, "message": result.message,
           "end": [float(end[0]), float(end[1]), _finite_or_none(values[-1])]}
    q = np.stack([np.rint((path[:, 0] - x0) / (x1 - x0) * _LEVELS),
                  np.rint((path[:, 1] - y0) / (y1 - y0) * _LEVELS)]).astype(np.int64)
    deltas = np.diff(q, axis=1, prepend=0) % (_LEVELS + 1)  # the browser adds them up mod 2^16
    f32 = np.nan_to_num(np.clip(values, -_F32_MAX, _F32_MAX), nan=_F32_MAX)
    return run, f32, deltas.reshape(-1)


def _clip(a: np.ndarray, b: np.ndarray, box) -> np.ndarray:
    """Where the segment from ``a`` (inside ``box``) to ``b`` (outside) crosses its edge."""
    x0, x1, y0, y1 = box
    t = 1.0
    for i, (low, high) in enumerate(((x0, x1), (y0, y1))):
        if b[i] > high:
            t = min(t, (high - a[i]) / (b[i] - a[i]))
        elif b[i] < low:
            t = min(t, (low - a[i]) / (b[i] - a[i]))
    point = a + t * (b - a)
    return np.clip(point, [x0, y0], [x1, y1])


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# -- what the page shows of a function --------------------------------------------------


def _describe(function: TestFunction, box) -> dict:
    minimum = _finite_or_none(function.minimum)
    entry = {
        "name": function.name, "title": function.title, "description": function.description,
        "formula": function.formula, "bounds": [list(map(float, b)) for b in function.bounds],
        "box": list(map(float, box)), "levels": _LEVELS,
        "start": [float(v) for v in function.start],
        "minima": [[float(v) for v in point] for point in function.minima],
        "minimum": minimum, "image": _contour_png(function),
        "formula_image": _formula_png(function),
    }
    if minimum is None:  # no minimum: the loss plot shows f itself, over its range in bounds
        entry["value_range"] = list(value_range(function))
    else:  # the loss plot's axis stops at ten times this, whatever diverging runs reach
        entry["value_max"] = float(np.nanmax(surface_grid(function)[2]) - minimum)
    return entry


def _contour_png(function: TestFunction) -> dict:
    """The filled contours over ``function.bounds``, edge to edge, as a PNG data URI."""
    from matplotlib.figure import Figure

    (x0, x1), (y0, y1) = function.bounds
    scale = _IMAGE_PIXELS / max(x1 - x0, y1 - y0)
    width, height = round((x1 - x0) * scale), round((y1 - y0) * scale)
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        draw_surface(ax, function, (x0, x1), (y0, y1))
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    return {"src": _png_uri(fig, colors=64), "width": width, "height": height}


def _formula_png(function: TestFunction) -> dict:
    """The formula typeset by matplotlib's mathtext, as a PNG data URI at twice its size."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(0.1, 0.1), dpi=200)
    fig.text(0, 0, f"${function.formula}$", fontsize=12, color="#1d2330")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=200, bbox_inches="tight", pad_inches=0.03,
                transparent=True, metadata={"Software": None})
    from PIL import Image

    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        width, height = image.size
    src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"src": src, "width": width // 2, "height": height // 2}


def _png_uri(fig, *, colors: int) -> str:
    """A figure as a palette PNG of at most ``colors`` colours (a third of the RGB size)."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white", metadata={"Software": None})
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        small = image.convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


# -- the page ---------------------------------------------------------------------------


def _page(data: dict) -> str:
    """The page: ``explore.html`` of :mod:`steepest.pages` with its CSS, JS and ``data``."""
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return Template(read_asset("explore.html")).substitute(
        css=read_asset("explore.css"), js=read_asset("explore.js"), data=payload,
        version=html.escape(data["version"]), max_steps=data["max_steps"])
