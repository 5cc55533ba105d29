"""steepest.pages: the HTML, CSS and JS of the explorer and the reports as package data."""

from __future__ import annotations

import ast
import fnmatch
import re
import string
from pathlib import Path

import pytest

import steepest
from steepest.errors import SteepestError
from steepest.pages import ASSETS, read_asset
from steepest.report import Report

PACKAGE = Path(steepest.__file__).parent
PAGES = PACKAGE / "pages"
ROOT = PACKAGE.parent


def test_every_asset_file_is_listed_and_read_as_it_is_on_disk():
    on_disk = sorted(p.name for p in PAGES.iterdir() if p.suffix in (".html", ".css", ".js"))
    assert sorted(ASSETS) == on_disk
    for name in ASSETS:
        text = read_asset(name)
        assert text and text == (PAGES / name).read_text(encoding="utf-8").removesuffix("\n")


def test_the_wheel_takes_every_asset_file():
    # setuptools puts in the wheel what [tool.setuptools.package-data] names: every asset
    # must match one of the patterns given for steepest.pages.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["steepest.pages"]
    for name in ASSETS:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_the_explorer_template_has_exactly_the_fields_the_writer_fills():
    template = read_asset("explore.html")
    fields = {m.group("named") or m.group("braced")
              for m in string.Template.pattern.finditer(template) if not m.group("escaped")}
    assert fields == {"css", "js", "data", "version", "max_steps"}


def test_an_unknown_asset_is_refused_by_name():
    with pytest.raises(SteepestError, match=r"'explore\.ts' is not one of steepest's page "
                                            r"assets \(explore\.css, .*report\.css\)"):
        read_asset("explore.ts")


def test_the_report_uses_the_report_css():
    report = Report("t")
    report.add_paragraph("p")
    page = report.to_html()
    assert f"<style>\n{read_asset('report.css')}\n</style>" in page


@pytest.mark.parametrize("module", ["explore.py", "report.py"])
def test_no_page_asset_is_left_in_a_python_string(module):
    # What the house tool counts as an asset: a string of 15+ lines with 3+ of these.
    asset = re.compile(r"<script|<style|<html|function\s*\(|\{\s*[a-z-]+\s*:\s*[^;{}]+;", re.I)
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value.count("\n") < 15 or len(asset.findall(node.value)) < 3, \
                node.lineno
