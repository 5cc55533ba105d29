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

import numpy as np

from steepest._validation import check_number, lookup
from steepest.errors import ParameterError
from steepest.functions import TestFunction, get

__all__ = ["DEFAULT_FUNCTIONS", "DEFAULT_METHODS", "learning_rates", "write_explorer"]

DEFAULT_FUNCTIONS: tuple[str, ...] = (
    "rosenbrock", "beale", "himmelblau", "saddle", "quadratic", "rastrigin", "booth",
)
"""The functions of the explorer by default: each shows one difficulty of descent."""

DEFAULT_METHODS: tuple[str, ...] = (
    "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam",
    "radam", "adamax", "newton", "lbfgs",
)
"""Every method of :func:`steepest.minimize`, in the order the page lists them."""

_CHECKED = ("gd", "momentum", "adam", "lbfgs")
"""The optimizers ticked when the page opens (those of them on the page)."""

_LINE_SEARCH = frozenset({"newton", "lbfgs"})

_MAX_STEPS = 500
_BOX = 1.0
"""The stored box extends the plotted bounds by this many widths on each side."""
_LEVELS = 65535
_F32_MAX = float(np.finfo(np.float32).max)
_SPEEDS = (10, 30, 60, 120, 300, 1000)
"""Playback speeds offered, in steps per second; 60 to start with."""
_IMAGE_PIXELS = 720
"""The longer side of the contour image, in pixels."""

# Suggested learning rates for functions the demo does not cover (steepest.demo.PROBLEMS
# gives Rosenbrock, the saddle, Himmelblau and the quadratic); other methods keep
# minimize's defaults. Each rate makes the method's behaviour visible in a few hundred
# steps without diverging.
_MORE_RATES: dict[str, dict[str, float]] = {
    "beale": {"gd": 0.01, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.5,
              "rmsprop": 0.01, "adam": 0.05, "nadam": 0.05},
    "booth": {"gd": 0.01, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 1.0,
              "rmsprop": 0.02, "adam": 0.1, "nadam": 0.1},
}

_DESCRIPTIONS = {
    "gd": "plain gradient descent",
    "momentum": "SGD, momentum 0.9",
    "nesterov": "SGD, Nesterov momentum 0.9",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamw": "Adam, weight decay 0.01",
    "nadam": "NAdam",
    "radam": "RAdam",
    "adamax": "Adamax",
    "newton": "Newton's method",
    "lbfgs": "L-BFGS",
}


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
        Where the slider starts: the demo's rate for that function and method when it
        has one (:data:`steepest.demo.PROBLEMS`), else minimize's default.
    """
    from steepest._minimize import _FIRST_ORDER, METHODS

    method = lookup(method, {m: m for m in METHODS}, "minimize method")
    if method in _LINE_SEARCH:
        return [1.0], 1.0
    name = function.name if isinstance(function, TestFunction) else get(function).name
    suggested = _suggested_rates().get(name, {}).get(method) or _FIRST_ORDER[method][1]
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
    from steepest.io import atomic_write_bytes

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
    from steepest._minimize import METHODS

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


def _suggested_rates() -> dict[str, dict[str, float]]:
    from steepest.demo import PROBLEMS

    rates = {p.function: {m: lr for m, lr in p.learning_rates.items() if lr is not None}
             for p in PROBLEMS}
    for name, extra in _MORE_RATES.items():
        rates.setdefault(name, {}).update(extra)
    return rates


# -- the runs ---------------------------------------------------------------------------


def _explorer_data(functions: list[TestFunction], methods: list[str], max_steps: int,
                   n_jobs: int, progress) -> dict:
    from steepest import __version__
    from steepest.plot import optimizer_style

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
                       "dashed": style["linestyle"] != "-", "line_search": method in _LINE_SEARCH,
                       "description": _DESCRIPTIONS[method]})
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
    from steepest import minimize

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
    from steepest.plot import _grid, _value_range

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
        entry["value_range"] = list(_value_range(function))
    else:  # the loss plot's axis stops at ten times this, whatever diverging runs reach
        entry["value_max"] = float(np.nanmax(_grid(function)[2]) - minimum)
    return entry


def _contour_png(function: TestFunction) -> dict:
    """The filled contours over ``function.bounds``, edge to edge, as a PNG data URI."""
    from matplotlib.figure import Figure

    from steepest.plot import _draw_surface

    (x0, x1), (y0, y1) = function.bounds
    scale = _IMAGE_PIXELS / max(x1 - x0, y1 - y0)
    width, height = round((x1 - x0) * scale), round((y1 - y0) * scale)
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        _draw_surface(ax, function, (x0, x1), (y0, y1))
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
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    version = html.escape(data["version"])
    return _HTML.format(css=_CSS, js=_JS, data=payload, version=version,
                        max_steps=data["max_steps"])


_CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #555d6e; --line: #e3e6eb;
  --accent: #0b5cad; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { background: #f4f5f7; color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header { padding: .55rem 1.2rem .45rem; background: #fff; border-bottom: 1px solid var(--line);
  display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.25rem; margin: 0; }
header p { margin: 0; color: var(--muted); font-size: .9rem; }
main { display: grid; grid-template-columns: minmax(330px, 390px) minmax(0, 1fr);
  gap: 1rem; padding: .8rem 1.2rem 1rem; max-width: 1760px; margin: 0 auto; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: .7rem .85rem; }
#controls { display: flex; flex-direction: column; gap: .6rem; align-self: start; }
label, legend { font-weight: 600; }
select, input[type=number], button { font: inherit; }
select { padding: .2rem .3rem; max-width: 100%; }
.field { display: flex; align-items: center; gap: .5rem; flex-wrap: wrap; }
.formula { overflow-x: auto; margin: .2rem 0; }
#formula { display: block; max-width: none; }
#description { margin: 0; color: var(--muted); font-size: .9rem; }
input[type=number] { width: 5.5rem; padding: .15rem .3rem; }
.playback { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; }
button { padding: .3rem .75rem; border: 1px solid #b8bfcc; border-radius: 4px;
  background: #f7f8fa; color: var(--ink); cursor: pointer; }
button:hover { background: #eef0f4; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff;
  min-width: 5.2rem; }
button.primary:hover { background: #094a8c; }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 1px; }
.scrub { display: grid; grid-template-columns: 1fr; gap: .15rem; }
.scrub input { width: 100%; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { padding: 0; margin-bottom: .3rem; }
.hint { color: var(--muted); font-size: .82rem; margin: 0; }
.method { display: grid; grid-template-columns: auto 1fr; column-gap: .5rem;
  padding: .32rem 0; border-top: 1px solid #eef0f3; }
.method .name { display: flex; align-items: center; gap: .4rem; font-weight: 600;
  cursor: pointer; }
.method .name input { margin: 0; width: 1rem; height: 1rem; }
.method > .hint { align-self: center; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.method canvas { width: 34px; height: 14px; }
.method .rate { grid-column: 1 / -1; display: grid; align-items: center;
  grid-template-columns: 1fr 4.8rem auto; gap: .4rem; }
.method .rate input { width: 100%; min-width: 0; }
.method .rate output { font-variant-numeric: tabular-nums; text-align: right; }
.method .rate button { padding: .05rem .4rem; font-size: .78rem; }
.method .fixed { grid-column: 1 / -1; color: var(--muted); font-size: .85rem; }
.method .status { grid-column: 1 / -1; color: var(--muted); font-size: .84rem;
  font-variant-numeric: tabular-nums; min-height: 1.2em; }
.method.off .rate, .method.off .status, .method.off .fixed { display: none; }
#plots { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); gap: .8rem;
  min-width: 0; position: sticky; top: .8rem; align-self: start; }
figure { margin: 0; display: flex; flex-direction: column; min-width: 0; }
figcaption { color: var(--muted); font-size: .84rem; margin-top: .3rem; line-height: 1.35; }
#contour-box { width: 100%; aspect-ratio: 1 / 1; max-height: max(360px, calc(100vh - 190px)); }
#loss-box { flex: 1 1 auto; min-height: 300px; }
canvas.plot { display: block; width: 100%; height: 100%; }
#error { color: #a40000; font-weight: 600; }
@media (max-width: 1100px) {
  #plots { grid-template-columns: 1fr; }
  #contour-box { max-height: max(360px, calc(100vh - 320px)); }
  #loss-box { flex: none; height: 230px; min-height: 0; }
}
@media (max-width: 760px) {
  main { grid-template-columns: 1fr; }
  #plots { position: static; }
  #contour-box { max-height: 560px; }
}
""".strip()


_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="generator" content="steepest {version}">
<title>steepest explorer: gradient descent, step by step</title>
<style>
{css}
</style>
</head>
<body>
<header>
<h1>steepest explorer</h1>
<p>Gradient descent step by step. Every path was computed by <code>steepest.minimize</code>
(steepest {version}) when this page was written.</p>
</header>
<main>
<section id="controls" class="panel" aria-label="Settings">
<div>
<div class="field"><label for="fn">Function</label><select id="fn"></select></div>
<div class="formula"><img id="formula" alt=""></div>
<p id="description"></p>
</div>
<div class="field">
<label for="steps">Steps</label>
<input id="steps" type="number" min="1" max="{max_steps}" step="1" inputmode="numeric">
<span class="hint">at most {max_steps}</span>
</div>
<div class="playback" role="group" aria-label="Playback">
<button id="play" type="button" class="primary" aria-pressed="false">Play</button>
<button id="step" type="button">Step</button>
<button id="reset" type="button">Reset</button>
</div>
<div class="field"><label for="speed">Speed</label><select id="speed"></select></div>
<div class="scrub">
<label for="scrub">Step <output id="step-now">0</output> of <span id="step-total">0</span></label>
<input id="scrub" type="range" min="0" max="1" step="1" value="0">
</div>
<p class="hint">Keys: Space plays or pauses, \u2190 and \u2192 step back and forward.</p>
<fieldset id="methods">
<legend>Optimizers and learning rates</legend>
</fieldset>
<p id="error" role="alert" hidden></p>
</section>
<section id="plots" aria-label="Plots">
<figure class="panel">
<div id="contour-box" class="plot-box"><canvas id="contour" class="plot" role="img"
aria-label="Contour plot"></canvas></div>
<figcaption>Contours of f: light is low. Stars: minima; white circle: start; markers: where
each optimizer is now. Newton and L-BFGS (dashed) pick their steps by line search.</figcaption>
</figure>
<figure class="panel">
<div id="loss-box" class="plot-box"><canvas id="loss" class="plot" role="img"
aria-label="Loss plot"></canvas></div>
<figcaption id="loss-caption"></figcaption>
</figure>
</section>
</main>
<pre id="state" hidden></pre>
<script id="explorer-data" type="application/json">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""

_JS = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
const $ = (id) => document.getElementById(id);
const FLOOR = 1e-16;
const METHODS = new Map(DATA.methods.map((m) => [m.name, m]));
const FUNCTIONS = new Map(DATA.functions.map((f) => [f.name, f]));
const S = {
  fn: DATA.functions[0].name, steps: DATA.max_steps, step: 0, speed: DATA.speed,
  checked: new Set(DATA.checked), lr: {}, playing: false, finished: false, ready: false,
  timer: null, last: 0, carry: 0, drawn: {},
};
const unpacked = new Map();
const images = new Map();

// -- numbers ---------------------------------------------------------------------------
function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "\u2014";
  if (!Number.isFinite(v)) return v > 0 ? "\u221e" : "\u2212\u221e";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1).replace("-", "\u2212");
  return String(+v.toPrecision(digits)).replace("-", "\u2212");
}
function fmtLr(v) { return v < 1e-3 ? v.toExponential().replace("e-", "e\u2212") : String(v); }

// -- data --------------------------------------------------------------------------------
async function inflate(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Response(stream).arrayBuffer();
}
function unpack(fn) {
  if (!unpacked.has(fn.name)) {
    unpacked.set(fn.name, inflate(fn.blob).then((buffer) => {
      let total = 0;
      for (const m of fn.methods) for (const r of m.runs) total += r.n;
      const values = new Float32Array(buffer, 0, total);
      const codes = new Uint16Array(buffer, 4 * total, 2 * total);
      const [x0, x1, y0, y1] = fn.box;
      const sx = (x1 - x0) / fn.levels, sy = (y1 - y0) / fn.levels;
      let vo = 0, co = 0;
      for (const m of fn.methods) {
        for (const r of m.runs) {
          r.f = values.subarray(vo, vo + r.n); vo += r.n;
          r.x = new Float64Array(r.n); r.y = new Float64Array(r.n);
          let a = 0, b = 0;
          for (let i = 0; i < r.n; i++) {
            a = (a + codes[co + i]) & 0xffff; b = (b + codes[co + r.n + i]) & 0xffff;
            r.x[i] = x0 + a * sx; r.y[i] = y0 + b * sy;
          }
          co += 2 * r.n;
        }
      }
      return fn;
    }));
  }
  return unpacked.get(fn.name);
}
function image(fn) {
  if (!images.has(fn.name)) {
    const img = new Image();
    img.src = fn.image.src;
    images.set(fn.name, img);
    img.onload = () => draw();
  }
  return images.get(fn.name);
}
function methodsOf(fn) { return fn.methods.filter((m) => S.checked.has(m.method)); }
function lrIndex(fn, m) {
  const key = fn.name + "/" + m.method;
  return key in S.lr ? S.lr[key] : m.default;
}
function runOf(fn, m) { return m.runs[lrIndex(fn, m)]; }
function nearest(lrs, value) {
  let best = 0;
  for (let i = 1; i < lrs.length; i++)
    if (Math.abs(Math.log(lrs[i] / value)) < Math.abs(Math.log(lrs[best] / value))) best = i;
  return best;
}

// -- markers: matplotlib's shapes, in units of the marker's radius -----------------------
function regular(n, r, turn) {
  const pts = [];
  for (let k = 0; k < n; k++) {
    const a = turn + (2 * Math.PI * k) / n;
    pts.push([r * Math.sin(a), -r * Math.cos(a)]);
  }
  return pts;
}
function star(n, outer, inner) {
  const pts = [];
  for (let k = 0; k < 2 * n; k++) {
    const a = (Math.PI * k) / n, r = k % 2 ? inner : outer;
    pts.push([r * Math.sin(a), -r * Math.cos(a)]);
  }
  return pts;
}
function cross(w, turn) {
  const base = [[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1],
    [-w, w], [-1, w], [-1, -w], [-w, -w]];
  const c = Math.cos(turn), s = Math.sin(turn);
  return base.map(([x, y]) => [x * c - y * s, x * s + y * c]);
}
const SHAPES = {
  s: [[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]],
  D: [[0, -1], [1, 0], [0, 1], [-1, 0]],
  d: [[0, -1], [0.6, 0], [0, 1], [-0.6, 0]],
  "^": [[0, -1], [1, 0.75], [-1, 0.75]],
  v: [[0, 1], [1, -0.75], [-1, -0.75]],
  "<": [[-1, 0], [0.75, -1], [0.75, 1]],
  ">": [[1, 0], [-0.75, -1], [-0.75, 1]],
  P: cross(0.34, 0), X: cross(0.3, Math.PI / 4),
  h: regular(6, 1, 0), p: regular(5, 1, 0), "*": star(5, 1.15, 0.48),
};
function marker(ctx, shape, x, y, r) {
  ctx.beginPath();
  const pts = SHAPES[shape];
  if (!pts) ctx.arc(x, y, r * 0.85, 0, 2 * Math.PI);
  else pts.forEach(([px, py], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x + r * px,
    y + r * py));
  ctx.closePath();
}

// -- canvases ------------------------------------------------------------------------------
function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return [ctx, w, h];
}
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
    out.push(Math.abs(v) < 1e-12 * step ? 0 : v);
  return out;
}
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
const AXIS = "#555d6e";

function drawContour(fn) {
  const canvas = $("contour");
  const [ctx, w, h] = setup(canvas);
  const [[x0, x1], [y0, y1]] = fn.bounds;
  const left = 46, bottom = 34, top = 10, right = 12;
  const scale = Math.min((w - left - right) / (x1 - x0), (h - top - bottom) / (y1 - y0));
  const pw = (x1 - x0) * scale, ph = (y1 - y0) * scale;
  const ox = left + (w - left - right - pw) / 2, oy = top + (h - top - bottom - ph) / 2;
  const X = (x) => ox + (x - x0) * scale, Y = (y) => oy + ph - (y - y0) * scale;
  const img = image(fn);
  if (img.complete && img.naturalWidth) ctx.drawImage(img, ox, oy, pw, ph);
  ctx.strokeStyle = "#8a919e"; ctx.lineWidth = 1; ctx.strokeRect(ox, oy, pw, ph);
  ctx.fillStyle = AXIS; ctx.font = FONT;
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(x0, x1, Math.max(3, Math.floor(pw / 80)))) {
    ctx.fillRect(X(t), oy + ph, 1, 4); ctx.fillText(fmt(t), X(t), oy + ph + 6);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(y0, y1, Math.max(3, Math.floor(ph / 70)))) {
    ctx.fillRect(ox - 4, Y(t), 4, 1); ctx.fillText(fmt(t), ox - 7, Y(t));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "bottom";
  ctx.fillText("x", ox + pw / 2, oy + ph + 32);
  ctx.save(); ctx.translate(ox - 36, oy + ph / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText("y", 0, 0); ctx.restore();

  ctx.save();
  ctx.beginPath(); ctx.rect(ox, oy, pw, ph); ctx.clip();
  const drawn = {};
  for (const m of methodsOf(fn)) {
    const style = METHODS.get(m.method), run = runOf(fn, m);
    if (!run.x) continue;
    const n = Math.min(run.n, S.step + 1);
    ctx.strokeStyle = style.color; ctx.lineWidth = 2; ctx.lineJoin = "round";
    ctx.setLineDash(style.dashed ? [7, 4] : []);
    ctx.beginPath();
    for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(run.x[i]), Y(run.y[i]));
    ctx.stroke(); ctx.setLineDash([]);
    drawn[m.method] = n;
  }
  for (const [mx, my] of fn.minima) {  // above the paths, below where the optimizers are
    ctx.fillStyle = "#F0E442"; ctx.strokeStyle = "#000"; ctx.lineWidth = 1;
    marker(ctx, "*", X(mx), Y(my), 9); ctx.fill(); ctx.stroke();
  }
  ctx.fillStyle = "#fff"; ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
  marker(ctx, "o", X(fn.start[0]), Y(fn.start[1]), 6); ctx.fill(); ctx.stroke();
  for (const m of methodsOf(fn)) {
    const style = METHODS.get(m.method), run = runOf(fn, m);
    if (!run.x) continue;
    const i = drawn[m.method] - 1;
    ctx.fillStyle = style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5;
    marker(ctx, style.marker, X(run.x[i]), Y(run.y[i]), 7); ctx.fill(); ctx.stroke();
  }
  ctx.restore();
  return drawn;
}

function lossValues(fn, run, n) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = fn.minimum === null ? run.f[i] : Math.max(run.f[i] - fn.minimum, FLOOR);
  return out;
}

function drawLoss(fn) {
  const canvas = $("loss");
  const [ctx, w, h] = setup(canvas);
  const left = 70, right = 14, top = 10, bottom = 36;
  const pw = w - left - right, ph = h - top - bottom;
  const log = fn.minimum !== null;
  const series = [];
  let lo = Infinity, hi = -Infinity;
  for (const m of methodsOf(fn)) {
    const run = runOf(fn, m);
    if (!run.f) continue;
    const all = lossValues(fn, run, Math.min(run.n, S.steps + 1));
    for (const v of all) { if (v < lo) lo = v; if (v > hi) hi = v; }
    series.push([m, all, Math.min(run.n, S.step + 1)]);
  }
  if (log) {
    if (!(hi > 0)) { lo = 1e-3; hi = 1; }
    hi = Math.min(hi, 10 * fn.value_max);  // a run that diverged is cut at the top
    lo = Math.min(lo, hi / 10);
    lo = Math.floor(Math.log10(lo)); hi = Math.ceil(Math.log10(hi));
    if (hi - lo < 1) hi = lo + 1;
  } else {
    [lo, hi] = fn.value_range;
  }
  const X = (k) => left + (k / Math.max(S.steps, 1)) * pw;
  const Y = (v) => {
    const t = log ? (Math.log10(v) - lo) / (hi - lo) : (v - lo) / (hi - lo);
    return top + ph - t * ph;
  };
  ctx.strokeStyle = "#c9ced8"; ctx.lineWidth = 1; ctx.strokeRect(left, top, pw, ph);
  ctx.fillStyle = AXIS; ctx.font = FONT;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  if (log) {
    const every = Math.max(1, Math.ceil((hi - lo) / Math.max(2, Math.floor(ph / 26))));
    for (let e = lo; e <= hi; e += every) {
      ctx.fillStyle = "#eef0f3"; ctx.fillRect(left + 1, Y(10 ** e), pw - 2, 1);
      ctx.fillStyle = AXIS; ctx.fillText(e === 0 ? "1" : "1e" + String(e).replace("-", "\u2212"),
        left - 6, Y(10 ** e));
    }
  } else {
    for (const t of ticks(lo, hi, 4)) {
      ctx.fillStyle = "#eef0f3"; ctx.fillRect(left + 1, Y(t), pw - 2, 1);
      ctx.fillStyle = AXIS; ctx.fillText(fmt(t), left - 6, Y(t));
    }
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(0, S.steps, Math.max(3, Math.floor(pw / 90)))) {
    if (t !== Math.round(t)) continue;
    ctx.fillRect(X(t), top + ph, 1, 4); ctx.fillText(String(t), X(t), top + ph + 6);
  }
  ctx.fillText("step k", left + pw / 2, top + ph + 19);
  ctx.save(); ctx.translate(12, top + ph / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText(log ? "f(x\u2096) \u2212 f*" : "f(x\u2096)", 0, 0);
  ctx.restore();
  ctx.save(); ctx.beginPath(); ctx.rect(left, top, pw, ph); ctx.clip();
  ctx.fillStyle = "rgba(11,92,173,0.08)"; ctx.fillRect(left, top, X(S.step) - left, ph);
  const drawn = {};
  for (const [m, all, n] of series) {
    const style = METHODS.get(m.method);
    ctx.strokeStyle = style.color; ctx.lineWidth = 1.8; ctx.setLineDash(style.dashed ? [7, 4] : []);
    ctx.beginPath();
    for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(i), Y(all[i]));
    ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.2;
    marker(ctx, style.marker, X(n - 1), Y(all[n - 1]), 5); ctx.fill(); ctx.stroke();
    drawn[m.method] = n;
  }
  ctx.restore();
  $("loss-caption").textContent = log
    ? "f(x\u2096) \u2212 f* against the step k, log scale (gaps below 1e\u221216 drawn " +
      "at 1e\u221216). Shaded: the steps played so far."
    : "f(x\u2096) against the step k. This function has no minimum: lower is better; the " +
      "axis spans the values f takes inside the plot.";
  return drawn;
}

// -- the controls ------------------------------------------------------------------------
function statusText(fn, m, run) {
  const i = Math.min(run.n, S.step + 1) - 1;
  const gap = fn.minimum === null ? "f = " + fmt(run.f[i])
    : "f \u2212 f* = " + fmt(Math.max(run.f[i] - fn.minimum, 0));
  const ended = run.n - 1 <= S.step && run.n - 1 <= S.steps;
  const at = " at step " + (run.n - 1);
  const why = { converged: "converged" + at, diverged: "diverged" + at,
    left: "left the plot" + at, stopped: "stopped" + at, running: "" }[run.status];
  return gap + (ended && why ? " \u00b7 " + why : "");
}
function swatch(style) {
  const c = document.createElement("canvas");
  c.width = 68; c.height = 28; c.setAttribute("aria-hidden", "true");
  const ctx = c.getContext("2d");
  ctx.scale(2, 2);
  ctx.strokeStyle = style.color; ctx.lineWidth = 2; ctx.setLineDash(style.dashed ? [5, 3] : []);
  ctx.beginPath(); ctx.moveTo(1, 7); ctx.lineTo(33, 7); ctx.stroke(); ctx.setLineDash([]);
  ctx.fillStyle = style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.2;
  marker(ctx, style.marker, 17, 7, 5.5); ctx.fill(); ctx.stroke();
  return c;
}
function buildMethods() {
  const box = $("methods");
  for (const style of DATA.methods) {
    const name = style.name;
    const row = document.createElement("div");
    row.className = "method"; row.dataset.method = name;
    const label = document.createElement("label");
    label.className = "name"; label.title = style.description;
    const box2 = document.createElement("input");
    box2.type = "checkbox"; box2.id = "m-" + name; box2.checked = S.checked.has(name);
    box2.addEventListener("change", () => {
      if (box2.checked) S.checked.add(name); else S.checked.delete(name);
      changed();
    });
    label.append(box2, swatch(style), document.createTextNode(name));
    const desc = document.createElement("span");
    desc.className = "hint"; desc.textContent = style.description;
    row.append(label, desc);
    if (style.line_search) {
      const fixed = document.createElement("div");
      fixed.className = "fixed"; fixed.textContent = "step length chosen by line search";
      row.append(fixed);
    } else {
      const rate = document.createElement("div");
      rate.className = "rate";
      const slider = document.createElement("input");
      slider.type = "range"; slider.id = "lr-" + name; slider.min = "0"; slider.step = "1";
      slider.setAttribute("aria-label", "learning rate of " + name);
      const out = document.createElement("output");
      out.id = "lrv-" + name; out.htmlFor = slider.id;
      const reset = document.createElement("button");
      reset.type = "button"; reset.id = "lrd-" + name;
      reset.setAttribute("aria-label", "learning rate of " + name + " back to the suggested value");
      slider.addEventListener("input", () => {
        S.lr[S.fn + "/" + name] = +slider.value;
        changed();
      });
      reset.addEventListener("click", () => {
        const fn = FUNCTIONS.get(S.fn);
        delete S.lr[fn.name + "/" + name];
        changed();
      });
      rate.append(slider, out, reset);
      row.append(rate);
    }
    const status = document.createElement("div");
    status.className = "status"; status.id = "st-" + name; status.setAttribute("aria-live", "off");
    row.append(status);
    box.append(row);
  }
}
function syncControls() {
  const fn = FUNCTIONS.get(S.fn);
  $("fn").value = fn.name;
  const f = $("formula");
  f.src = fn.formula_image.src; f.width = fn.formula_image.width;
  f.height = fn.formula_image.height; f.alt = "f(x, y) = " + fn.formula;
  $("description").textContent = fn.description;
  $("steps").value = S.steps;
  $("speed").value = String(S.speed);
  $("scrub").max = String(S.steps); $("scrub").value = String(S.step);
  $("step-now").textContent = S.step; $("step-total").textContent = S.steps;
  $("play").textContent = S.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(S.playing));
  for (const style of DATA.methods) {
    const name = style.name, m = fn.methods.find((x) => x.method === name);
    const row = document.querySelector('.method[data-method="' + name + '"]');
    row.classList.toggle("off", !S.checked.has(name));
    $("m-" + name).checked = S.checked.has(name);
    if (!style.line_search) {
      const slider = $("lr-" + name), i = lrIndex(fn, m);
      slider.max = String(m.lrs.length - 1); slider.value = String(i);
      slider.setAttribute("aria-valuetext", fmtLr(m.lrs[i]));
      $("lrv-" + name).textContent = fmtLr(m.lrs[i]);
      $("lrd-" + name).textContent = "suggested " + fmtLr(m.lrs[m.default]);
      $("lrd-" + name).disabled = i === m.default;
    }
    const run = m.runs[lrIndex(fn, m)];
    $("st-" + name).textContent = run.f ? statusText(fn, m, run) : "";
    $("st-" + name).title = run.message;
  }
}

// -- drawing, state and the address --------------------------------------------------------
function draw() {
  const fn = FUNCTIONS.get(S.fn);
  syncControls();
  if (!S.ready) return;
  const paths = drawContour(fn);
  const curves = drawLoss(fn);
  const methods = {};
  const words = [];
  for (const m of methodsOf(fn)) {
    const run = runOf(fn, m), n = paths[m.method] || 0, i = n - 1;
    methods[m.method] = {
      lr: m.lrs[lrIndex(fn, m)], lr_index: lrIndex(fn, m), points: n,
      loss_points: curves[m.method] || 0, last: i >= 0 ? [run.x[i], run.y[i]] : null,
      f: i >= 0 ? run.f[i] : null, n: run.n, status: run.status, end: run.end,
    };
    if (i >= 0) {  // the exact end where there is one, not its 16-bit copy
      const [x, y] = i === run.n - 1 ? run.end : [run.x[i], run.y[i]];
      words.push(m.method + " at (" + fmt(x) + ", " + fmt(y) + "), " + statusText(fn, m, run));
    }
  }
  $("contour").setAttribute("aria-label", fn.title + ", step " + S.step + " of " + S.steps +
    ": " + (words.join("; ") || "no optimizer chosen"));
  $("loss").setAttribute("aria-label", "Loss against step for " +
    (Object.keys(methods).join(", ") || "no optimizer"));
  $("state").textContent = JSON.stringify({
    ready: S.ready, fn: fn.name, steps: S.steps, step: S.step, end: lastStep(),
    playing: S.playing, finished: S.finished, speed: S.speed, address: location.hash, methods,
  });
}
function lastStep() {
  const fn = FUNCTIONS.get(S.fn);
  let end = 0;
  for (const m of methodsOf(fn)) end = Math.max(end, runOf(fn, m).n - 1);
  return Math.min(end, S.steps);
}
function writeAddress() {
  const fn = FUNCTIONS.get(S.fn);
  const parts = ["fn=" + fn.name, "methods=" + [...S.checked].join(","), "steps=" + S.steps];
  for (const m of methodsOf(fn)) {
    if (!METHODS.get(m.method).line_search) {
      parts.push("lr." + m.method + "=" + m.lrs[lrIndex(fn, m)]);
    }
  }
  if (S.step) parts.push("step=" + S.step);
  try {
    history.replaceState(null, "", "#" + parts.join("&"));
  } catch (e) { /* some browsers refuse it for file: pages; the page works without */ }
}
function changed() {
  if (S.step > S.steps) S.step = S.steps;
  S.finished = false;
  if (!S.playing) writeAddress();
  draw();
}
function readAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fname = (params.get("fn") || "").toLowerCase().replace(/[- ]/g, "_");
  if (FUNCTIONS.has(fname)) S.fn = fname;
  if (params.has("methods")) {
    const names = params.get("methods").toLowerCase().split(",").filter((n) => METHODS.has(n));
    S.checked = new Set(names);
  }
  if (params.has("steps")) {
    S.steps = clamp(Math.round(+params.get("steps")), 1, DATA.max_steps, S.steps);
  }
  const speed = +params.get("speed");
  if (speed > 0) S.speed = DATA.speeds[nearest(DATA.speeds, speed)];
  const fn = FUNCTIONS.get(S.fn);
  for (const m of fn.methods) {
    const v = +(params.get("lr." + m.method) || params.get("lr") || NaN);
    if (v > 0 && !METHODS.get(m.method).line_search) {
      S.lr[fn.name + "/" + m.method] = nearest(m.lrs, v);
    }
  }
  S.step = params.has("step") ? clamp(Math.round(+params.get("step")), 0, S.steps, 0) : 0;
  S.finished = false;
  return params.get("autoplay") === "1";
}
function clamp(v, lo, hi, fallback) {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
}

// -- playback: a timer, not requestAnimationFrame, so that it also runs in background tabs
// and headless browsers; each tick advances by the time elapsed times the speed.
function play() {
  if (S.playing) return;
  if (S.step >= lastStep()) S.step = 0;
  S.playing = true; S.finished = false; S.last = performance.now(); S.carry = 0;
  S.timer = setTimeout(tick, 16);
  draw();
}
function pause() {
  S.playing = false; clearTimeout(S.timer); S.timer = null;
  writeAddress(); draw();
}
function tick() {
  const now = performance.now();
  S.carry += ((now - S.last) / 1000) * S.speed; S.last = now;
  const advance = Math.floor(S.carry);
  S.carry -= advance;
  const end = lastStep();
  S.step = Math.min(end, S.step + advance);
  if (S.step >= end) { S.finished = true; pause(); return; }
  draw();
  S.timer = setTimeout(tick, 16);
}
function stepBy(k) {
  if (S.playing) pause();
  S.step = clamp(S.step + k, 0, S.steps, 0);
  changed();
}

async function selectFunction(name, autoplay) {
  if (S.playing) pause();
  S.fn = name; S.ready = false;
  draw();
  const fn = FUNCTIONS.get(name);
  try {
    await unpack(fn);
  } catch (err) {
    const e = $("error");
    e.hidden = false;
    e.textContent = typeof DecompressionStream === "undefined"
      ? "This browser cannot unpack the page's data (it has no DecompressionStream): open " +
        "the page in a recent Chrome, Edge, Firefox (113 or later) or Safari (16.4 or later)."
      : "The page's data could not be unpacked: " + err;
    return;
  }
  if (S.fn !== name) return;
  S.ready = true;
  changed();
  if (autoplay) play();
}

function init() {
  for (const fn of DATA.functions) $("fn").add(new Option(fn.title, fn.name));
  for (const v of DATA.speeds) $("speed").add(new Option(v + " steps/s", String(v)));
  buildMethods();
  $("fn").addEventListener("change", () => { S.step = 0; selectFunction($("fn").value, false); });
  $("steps").addEventListener("change", () => {
    S.steps = clamp(Math.round(+$("steps").value), 1, DATA.max_steps, S.steps);
    changed();
  });
  $("speed").addEventListener("change", () => { S.speed = +$("speed").value; draw(); });
  $("play").addEventListener("click", () => (S.playing ? pause() : play()));
  $("step").addEventListener("click", () => stepBy(1));
  $("reset").addEventListener("click", () => { if (S.playing) pause(); S.step = 0; changed(); });
  $("scrub").addEventListener("input", () => {
    if (S.playing) pause();
    S.step = +$("scrub").value; changed();
  });
  document.addEventListener("keydown", (e) => {
    const tag = e.target.tagName;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === " " && tag !== "BUTTON") {
      e.preventDefault();
      if (S.playing) pause(); else play();
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      stepBy(e.key === "ArrowRight" ? 1 : -1);
    }
  });
  window.addEventListener("resize", () => draw());
  window.addEventListener("hashchange", () => {
    const autoplay = readAddress();
    selectFunction(S.fn, autoplay);
  });
  const autoplay = readAddress();
  selectFunction(S.fn, autoplay);
}
init();
""".strip()
