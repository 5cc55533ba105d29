"""The explorer page: its data against steepest.minimize, and the page in a real browser.

The browser tests load the page in headless Chromium and read what it drew from its
hidden ``<pre id="state">``; they are skipped when Chromium is not installed
(``.ci/run`` installs it).
"""

from __future__ import annotations

import base64
import html
import json
import re
import warnings
import zlib

import numpy as np
import pytest
from browser import browser, chromium

import steepest
from steepest import functions
from steepest.errors import ParameterError
from steepest.explore import (
    DEFAULT_FUNCTIONS,
    DEFAULT_METHODS,
    _box,
    learning_rates,
    write_explorer,
)
from steepest.methods import LINE_SEARCH, suggested_rate
from steepest.methods import METHODS as TABLE
from steepest.pages import read_asset

FUNCTIONS = ["rosenbrock", "beale", "saddle"]
METHODS = ["gd", "momentum", "adam", "lbfgs"]
MAX_STEPS = 200  # small, so that the page is quick to write


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    return write_explorer(tmp_path_factory.mktemp("explore") / "explorer.html",
                          functions=FUNCTIONS, methods=METHODS, max_steps=MAX_STEPS)


def page_data(path) -> dict:
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script id="explorer-data" type="application/json">(.*?)</script>',
                      text, re.S)
    return json.loads(found.group(1).replace("<\\/", "</"))


def decode(entry: dict) -> dict:
    """Each run's points and values, unpacked as the page's script unpacks them."""
    raw = zlib.decompress(base64.b64decode(entry["blob"]))
    total = sum(run["n"] for m in entry["methods"] for run in m["runs"])
    values = np.frombuffer(raw, "<f4", total)
    codes = np.frombuffer(raw, "<u2", 2 * total, offset=4 * total)
    x0, x1, y0, y1 = entry["box"]
    out, vo, co = {}, 0, 0
    for m in entry["methods"]:
        for lr, run in zip(m["lrs"], m["runs"], strict=True):
            n = run["n"]
            a = np.cumsum(codes[co:co + n].astype(np.int64)) % 65536
            b = np.cumsum(codes[co + n:co + 2 * n].astype(np.int64)) % 65536
            points = np.column_stack([x0 + a * (x1 - x0) / 65535, y0 + b * (y1 - y0) / 65535])
            out[m["method"], lr] = (points, values[vo:vo + n], run)
            vo, co = vo + n, co + 2 * n
    return out


def quantum(function) -> float:
    """The largest error of a stored coordinate: half a step of the 16-bit grid."""
    x0, x1, y0, y1 = _box(function)
    return 0.5 * max(x1 - x0, y1 - y0) / 65535 + 1e-12


def expected_path(function, method, lr, steps):
    """What the page should draw for ``steps`` steps: minimize's path, cut as the page cuts
    it (where it leaves the stored box), and whether it was cut."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # some rates are meant to diverge
        result = steepest.minimize(function.value_and_grad, function.start, method=method,
                                   jac=True, lr=lr, max_iter=steps)
    path = result.path
    x0, x1, y0, y1 = _box(function)
    outside = (path[:, 0] < x0) | (path[:, 0] > x1) | (path[:, 1] < y0) | (path[:, 1] > y1)
    if outside.any():
        return path[: int(np.argmax(outside)) + 1], True
    return path, False


# -- the data, without a browser ---------------------------------------------------------


def test_learning_rates_are_a_1_2_5_grid_around_the_suggested_rate():
    grid, suggested = learning_rates("rosenbrock", "adam")
    assert suggested == 0.1  # the demo's rate for Adam on Rosenbrock
    assert grid == sorted(grid) and suggested in grid
    assert grid[0] >= suggested / 20 and grid[-1] <= suggested * 20
    assert {0.005, 0.01, 0.02, 0.05, 0.2, 0.5, 1.0, 2.0} <= set(grid)
    grid, suggested = learning_rates(functions.quadratic, "gd")
    assert suggested == 0.018 and 0.018 in grid and 0.02 in grid  # not on 1-2-5: added
    assert learning_rates("booth", "lbfgs") == ([1.0], 1.0)
    assert learning_rates("ackley", "adagrad")[1] == 0.5  # minimize's default


@pytest.mark.parametrize("method", list(TABLE))
def test_the_offered_rates_are_the_tables(method):
    for name in DEFAULT_FUNCTIONS:
        grid, suggested = learning_rates(name, method)
        if method in LINE_SEARCH:
            assert (grid, suggested) == ([1.0], 1.0)
            continue
        entry = TABLE[method]
        assert suggested == suggested_rate(method, name) == \
            entry.surface_rates.get(name, entry.minimize_lr)
        assert suggested in grid


def test_the_page_lists_the_tables_methods_with_its_descriptions(page):
    assert DEFAULT_METHODS == tuple(TABLE)
    data = page_data(page)
    for shown in data["methods"]:
        entry = TABLE[shown["name"]]
        assert shown["description"] == entry.description
        assert shown["line_search"] == entry.line_search == shown["dashed"]


def test_the_page_is_made_of_the_asset_files(page):
    text = page.read_text(encoding="utf-8")
    for name in ("explore.css", "explore.js"):
        assert read_asset(name) in text, name
    head = read_asset("explore.html").split("${css}")[0]
    assert text.startswith(head.replace("${version}", steepest.__version__))
    assert "${" not in text.split('<script id="explorer-data"')[0]  # every field filled in


def test_every_stored_run_is_minimizes_path(page):
    data = page_data(page)
    assert [f["name"] for f in data["functions"]] == FUNCTIONS
    assert [m["name"] for m in data["methods"]] == METHODS
    for entry in data["functions"]:
        function = functions.get(entry["name"])
        for (method, lr), (points, values, run) in decode(entry).items():
            path, cut = expected_path(function, method, lr, MAX_STEPS)
            assert len(points) == len(values) == len(path) == run["n"], (method, lr)
            big = float(np.finfo(np.float32).max)  # float32 on the page: larger is clipped
            np.testing.assert_allclose(values, np.clip(function(path.T), -big, big),
                                       rtol=1e-6)
            if cut:  # the last point drawn is where the path crossed the box's edge
                assert run["status"] == "left"
                path = path[:-1]
            else:
                assert run["end"][:2] == path[-1].tolist()
            np.testing.assert_allclose(points[: len(path)], path, rtol=0,
                                       atol=quantum(function))


def test_page_works_offline_and_is_small(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert page.stat().st_size < 1_000_000
    assert text.count('<pre id="state" hidden>') == 1


def test_page_is_the_same_whatever_the_number_of_processes(tmp_path):
    one = write_explorer(tmp_path / "one.html", ["booth", "saddle"], ["gd", "adam"],
                         max_steps=50)
    two = write_explorer(tmp_path / "two.html", ["booth", "saddle"], ["gd", "adam"],
                         max_steps=50, n_jobs=2)
    assert one.read_bytes() == two.read_bytes()


def test_progress_counts_every_run(tmp_path):
    calls = []
    write_explorer(tmp_path / "p.html", ["booth"], ["adam", "lbfgs"], max_steps=20,
                   progress=lambda done, total: calls.append((done, total)))
    total = len(learning_rates("booth", "adam")[0]) + 1
    assert calls[-1] == (total, total) and all(t == total for _, t in calls)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"functions": ["rosenbrok"]}, "Did you mean 'rosenbrock'"),
    ({"functions": [functions.make_rastrigin(3)]}, "has 3 coordinates"),
    ({"functions": ["booth", "booth"]}, "names 'booth' twice"),
    ({"functions": []}, "at least one function"),
    ({"methods": ["adma"]}, "Did you mean 'adam'"),
    ({"methods": []}, "at least one method"),
    ({"max_steps": 0}, "'max_steps' parameter of write_explorer"),
    ({"n_jobs": 0}, "'n_jobs' parameter of write_explorer"),
])
def test_bad_arguments_say_what_to_do(tmp_path, kwargs, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        write_explorer(tmp_path / "x.html", **kwargs)
    assert not (tmp_path / "x.html").exists()


# -- in the browser ----------------------------------------------------------------------

def state(tmp_path, path, hash_: str = "") -> dict:
    """The page's ``<pre id="state">`` after loading ``path#hash_``, as JSON."""
    dom = chromium(tmp_path, path.as_uri() + hash_, "--dump-dom")
    found = re.search(r'<pre id="state"[^>]*>(.*?)</pre>', dom, re.S)
    assert found and found.group(1), "the page wrote no state: " + dom[:500]
    return json.loads(html.unescape(found.group(1)))


def check_drawn(function, methods: dict, steps: int, step: int) -> None:
    """Each optimizer's drawn path ends where minimize's path is at ``step``."""
    for method, drawn in methods.items():
        path, cut = expected_path(function, method, drawn["lr"], steps)
        assert drawn["points"] == drawn["loss_points"] == min(len(path), step + 1), method
        last = path[drawn["points"] - 1]
        if cut and drawn["points"] == len(path):  # on the box's edge, towards that point
            assert drawn["status"] == "left"
            x0, x1, y0, y1 = _box(function)
            assert np.isclose(drawn["last"], [x0, y0], atol=quantum(function)).any() or \
                np.isclose(drawn["last"], [x1, y1], atol=quantum(function)).any()
        else:
            np.testing.assert_allclose(drawn["last"], last, rtol=0, atol=quantum(function))
            np.testing.assert_allclose(drawn["f"], function(last), rtol=1e-6)


@browser
def test_autoplay_from_the_address_draws_minimizes_paths(page, tmp_path):
    s = state(tmp_path, page, "#fn=rosenbrock&lr=0.01&methods=adam,gd,lbfgs&steps=150"
                              "&autoplay=1&speed=1000")
    assert s["ready"] and s["finished"] and not s["playing"]
    assert s["fn"] == "rosenbrock" and s["steps"] == 150 and s["step"] == s["end"] == 150
    assert set(s["methods"]) == {"adam", "gd", "lbfgs"}
    assert s["methods"]["adam"]["lr"] == s["methods"]["gd"]["lr"] == 0.01
    assert s["methods"]["lbfgs"]["lr"] == 1.0  # line search: the slider does not apply
    # lr=0.01 is far too large for gd here: f passes a million times its start (minimize's
    # divergence bound) before the path leaves the stored box
    assert s["methods"]["gd"]["status"] == "diverged"
    check_drawn(functions.rosenbrock, s["methods"], 150, 150)
    assert s["methods"]["adam"]["points"] == 151
    # the page rewrote its address to the settings in force, for a bookmark
    assert "fn=rosenbrock" in s["address"] and "lr.adam=0.01" in s["address"]


@browser
def test_address_snaps_rates_to_the_grid_and_sets_the_step(page, tmp_path):
    s = state(tmp_path, page, "#fn=Beale&methods=momentum,gd&lr.momentum=0.0013&steps=80"
                              "&step=35")
    assert s["fn"] == "beale" and s["step"] == 35 and not s["finished"]
    assert s["methods"]["momentum"]["lr"] == 0.001  # the nearest rate of its grid
    grid, suggested = learning_rates("beale", "gd")
    assert s["methods"]["gd"]["lr"] == suggested  # not named: the suggested rate
    check_drawn(functions.beale, s["methods"], 80, 35)


@browser
def test_the_controls_drive_the_page(page, tmp_path):
    """Choose the function, tick optimizers, move a slider and press Play, as a user would
    (a script added to a copy of the page dispatches the same events a user makes)."""
    driver = """<script>
window.addEventListener("load", () => setTimeout(async () => {
  const $ = (id) => document.getElementById(id);
  const fire = (el, type) => el.dispatchEvent(new Event(type, {bubbles: true}));
  $("fn").value = "saddle"; fire($("fn"), "change");
  await new Promise((r) => setTimeout(r, 300));
  for (const box of document.querySelectorAll(".method input[type=checkbox]")) {
    if (box.checked !== ["m-gd", "m-adam"].includes(box.id)) box.click();
  }
  $("lr-adam").value = String(+$("lr-adam").value - 2); fire($("lr-adam"), "input");
  $("steps").value = "120"; fire($("steps"), "change");
  $("speed").value = "1000"; fire($("speed"), "change");
  $("play").click();
}, 50));
</script>"""
    copy = tmp_path / "driven.html"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", driver + "</body>"),
                    encoding="utf-8")
    s = state(tmp_path, copy)
    grid, suggested = learning_rates("saddle", "adam")
    assert s["fn"] == "saddle" and s["steps"] == 120 and s["finished"]
    assert set(s["methods"]) == {"gd", "adam"}
    assert s["methods"]["adam"]["lr"] == grid[grid.index(suggested) - 2]
    assert s["methods"]["gd"]["lr"] == learning_rates("saddle", "gd")[1]
    assert s["step"] == s["end"] == min(120, max(m["n"] - 1 for m in s["methods"].values()))
    check_drawn(functions.saddle, s["methods"], 120, s["step"])


@browser
def test_screenshot_shows_the_contours_and_each_optimizers_colour(page, tmp_path):
    from PIL import Image

    from steepest.plot import optimizer_style

    shot = tmp_path / "explorer.png"
    chromium(tmp_path, page.as_uri() + "#fn=rosenbrock&methods=gd,momentum,adam,lbfgs"
             "&steps=200&step=200", "--window-size=1366,768", f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == (1366, 768)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    grey = (np.ptp(pixels, axis=1) < 4) & (pixels[:, 0] > 90) & (pixels[:, 0] < 250)
    assert grey.mean() > 0.05, "no contour image"
    for method in ("momentum", "adam", "lbfgs"):
        colour = np.array([int(optimizer_style(method)["color"][i:i + 2], 16)
                           for i in (1, 3, 5)])
        near = np.abs(pixels - colour).sum(axis=1) < 40
        assert near.sum() > 60, f"{method}'s colour is not drawn"
