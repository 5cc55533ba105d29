"""The HTML report builder: escaping, self-contained figures, tables, atomic writes."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from steepest.errors import ParameterError
from steepest.report import Report


@pytest.fixture
def figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [2, 1, 0], label="<adam>")
    ax.set_title("loss & <steps>")
    return fig


def test_text_is_escaped():
    report = Report("<script>alert(1)</script>", subtitle='a "quoted" & <b>')
    report.add_heading("<h2> & co")
    report.add_paragraph("x < y & y > z")
    report.add_table([["<td>", 1.5]], columns=["<th>", "lr"], caption="<i>")
    page = report.to_html()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &quot;quoted&quot; &amp; &lt;b&gt;" in page
    assert "&lt;h2&gt; &amp; co" in page
    assert "x &lt; y &amp; y &gt; z" in page
    assert "&lt;td&gt;" in page and "&lt;th&gt;" in page and "&lt;i&gt;" in page


@pytest.mark.parametrize("format", ["svg", "png"])
def test_figures_are_embedded_without_network(tmp_path, figure, format):
    report = Report("Figures")
    report.add_figure(figure, caption="A line", format=format)
    page = report.write(tmp_path / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 1
    mime = {"svg": "image/svg+xml", "png": "image/png"}[format]
    assert sources[0].startswith(f"data:{mime};base64,")
    data = base64.b64decode(sources[0].split(",", 1)[1])
    assert data.startswith(b"\x89PNG") if format == "png" else b"<svg" in data
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<figcaption>A line</figcaption>" in page


def test_svg_output_is_reproducible(figure):
    pages = []
    for _ in range(2):
        report = Report("Twice")
        report.add_figure(figure)
        pages.append(report.to_html())
    assert pages[0] == pages[1]


def test_table_formats_and_aligns_numbers():
    report = Report("Table")
    report.add_table(
        [["adam", 0.05, 120, 1.23456789e-9, True, None, np.float32(2.5), float("nan")],
         ["gd", 1e-3, 3000, 0.3125, False, "max_iter", np.int64(7), float("inf")]],
        columns=["optimizer", "lr", "steps", "final f", "success", "message", "x", "y"],
        formats={"lr": "g"},
    )
    page = report.to_html()
    assert '<td class="num">0.05</td>' in page
    assert '<td class="num">0.001</td>' in page
    assert '<td class="num">3000</td>' in page
    assert '<td class="num">1.235e-09</td>' in page
    assert '<td class="num">2.5</td>' in page and '<td class="num">7</td>' in page
    assert '<td class="num">nan</td>' in page and '<td class="num">inf</td>' in page
    assert "<td>yes</td>" in page and "<td>no</td>" in page
    assert '<td class="none">\N{EM DASH}</td>' in page
    assert '<th class="num" scope="col">steps</th>' in page
    assert '<th scope="col">optimizer</th>' in page
    assert '<th scope="col">message</th>' in page


def test_table_rows_must_match_the_columns():
    with pytest.raises(ParameterError, match=r"one cell per column \(2\). Got 3 cells"):
        Report("Bad").add_table([[1, 2, 3]], columns=["a", "b"])


def test_bad_heading_level_is_a_parameter_error():
    with pytest.raises(ParameterError, match="The 'level' parameter of Report.add_heading"):
        Report("Bad").add_heading("x", level=1)


def test_sections_get_unique_anchors_and_contents():
    report = Report("Sections")
    for title in ("Rosenbrock", "Saddle", "Rosenbrock"):
        report.add_heading(title)
    page = report.to_html()
    assert '<h2 id="rosenbrock">' in page and '<h2 id="rosenbrock-2">' in page
    assert '<a href="#saddle">Saddle</a>' in page


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "out" / "report.html"
    Report("First").write(target)
    Report("Second").write(target)
    assert "<title>Second</title>" in target.read_text(encoding="utf-8")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_failed_write_keeps_the_old_report_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    Report("Old").write(target)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("steepest.report.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        Report("New").write(target)
    assert "<title>Old</title>" in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
