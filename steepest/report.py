"""Self-contained HTML reports: one file, figures inside, nothing fetched from the network.

A :class:`Report` collects headings, paragraphs, figures and tables in order and
writes them as one HTML file that opens anywhere, offline, and can be mailed or
attached to a ticket as it is::

    from steepest.report import Report

    report = Report("Rosenbrock, five ways")
    report.add_heading("Paths")
    report.add_paragraph("Adam follows the valley; plain gradient descent crawls.")
    report.add_figure(fig, caption="Trajectories and loss curves.")
    report.add_table([["adam", 0.05, 1.2e-9], ["gd", 0.001, 0.31]],
                     columns=["optimizer", "lr", "final f"])
    report.write("out/report.html")

Figures are matplotlib figures, embedded as SVG (or PNG) data URIs, so each
keeps its own ids and nothing clashes. The page uses system fonts and inline CSS
only (the style sheet is ``report.css`` of :mod:`steepest.pages`). All text is
escaped: a parameter named ``<script>`` shows as text.
"""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from steepest._validation import check_choice
from steepest.pages import read_asset

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Report"]

_FIGURE_FORMATS = ("svg", "png")
_NUM = ' class="num"'
_LONG = 40
"""Text cells longer than this may wrap; shorter ones stay on one line."""


class Report:
    """An HTML report built block by block, written as one self-contained file.

    Parameters
    ----------
    title : str
        The page title and top heading.
    subtitle : str, optional
        One line under the title.

    Examples
    --------
    >>> report = Report("Demo")
    >>> report.add_heading("Results")
    >>> report.add_table([["adam", 3]], columns=["optimizer", "steps"])
    >>> "<td class=\\"num\\">3</td>" in report.to_html()
    True
    """

    def __init__(self, title: str, *, subtitle: str | None = None) -> None:
        self.title = title
        self.subtitle = subtitle
        self._blocks: list[str] = []
        self._sections: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"Report({self.title!r}, {len(self._blocks)} blocks)"

    # -- blocks -------------------------------------------------------------------------

    def add_heading(self, text: str, level: int = 2) -> None:
        """Add a heading; level-2 headings also get an entry in the table of contents.

        Parameters
        ----------
        text : str
            The heading, as plain text.
        level : {2, 3, 4}, default=2
            The HTML heading level (the title is the only level 1).
        """
        check_choice(level, "level", "Report.add_heading", (2, 3, 4))
        anchor = ""
        if level == 2:
            slug = self._unique_slug(text)
            self._sections.append((slug, text))
            anchor = f' id="{slug}"'
        self._blocks.append(f"<h{level}{anchor}>{_esc(text)}</h{level}>")

    def add_paragraph(self, text: str) -> None:
        """Add a paragraph of plain text (blank lines start a new paragraph)."""
        for part in re.split(r"\n\s*\n", str(text).strip()):
            self._blocks.append(f"<p>{_esc(part)}</p>")

    def add_note(self, title: str, lines: Mapping[str, str], *, kind: str = "info") -> None:
        """Add a boxed note: a bold title, then labelled lines (``{"seen": ..., "do": ...}``).

        ``kind`` (``"problem"``, ``"warning"`` or ``"info"``) sets its colour; the
        diagnosis of a training run is shown this way.
        """
        check_choice(kind, "kind", "Report.add_note", ("problem", "warning", "info"))
        body = "".join(f'<p><span class="label">{_esc(label)}</span> {_esc(text)}</p>'
                       for label, text in lines.items())
        self._blocks.append(f'<div class="note {kind}"><p><strong>{_esc(title)}</strong>'
                            f"</p>{body}</div>")

    def add_figure(self, figure: Figure, *, caption: str | None = None,
                   alt: str | None = None, format: str = "svg", dpi: float = 110) -> None:
        """Embed a matplotlib figure, rendered now, as an SVG or PNG data URI.

        Parameters
        ----------
        figure : matplotlib Figure
            The figure; it is rendered at once, so later changes do not show.
        caption : str, optional
            Text under the figure.
        alt : str, optional
            Text for readers who cannot see the image; defaults to the caption.
        format : {"svg", "png"}, default="svg"
            SVG stays sharp at any zoom; PNG is smaller for dense plots.
        dpi : float, default=110
            Resolution of the PNG, and of any rasterised parts of an SVG.
        """
        check_choice(format, "format", "Report.add_figure", _FIGURE_FORMATS)
        data = _render(figure, format, dpi)
        mime = "image/svg+xml" if format == "svg" else "image/png"
        width, height = (round(v * dpi) for v in figure.get_size_inches())
        src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        text = alt if alt is not None else caption or "figure"
        block = f'<figure><img src="{src}" width="{width}" height="{height}" alt="{_esc(text)}">'
        if caption:
            block += f"<figcaption>{_esc(caption)}</figcaption>"
        self._blocks.append(block + "</figure>")

    def add_table(self, rows: Iterable[Sequence[object]], columns: Sequence[str], *,
                  caption: str | None = None,
                  formats: Mapping[str, str] | None = None) -> None:
        """Add a table; numbers are right-aligned and formatted, the rest shown as text.

        Parameters
        ----------
        rows : iterable of sequences
            One sequence of cells per row, in the order of ``columns``. A cell is a
            number (``int``, ``float``, NumPy scalar), a ``bool`` (shown yes/no),
            ``None`` (shown as a dash) or anything else (shown as ``str(cell)``).
        columns : sequence of str
            The column headings.
        caption : str, optional
            A line above the table.
        formats : mapping of str to str, optional
            A format spec per column heading for its numbers, such as
            ``{"lr": "g", "time (s)": ".3f"}``; other numbers use ``".4g"``
            (integers are shown whole).
        """
        columns = [str(c) for c in columns]
        formats = dict(formats or {})
        body = []
        numeric = [True] * len(columns)
        for row in rows:
            row = list(row)
            if len(row) != len(columns):
                raise _table_error(len(columns), row)
            cells = []
            for i, (name, value) in enumerate(zip(columns, row, strict=True)):
                text, kind = _cell(value, formats.get(name))
                numeric[i] = numeric[i] and kind in ("num", "none")
                cls = f' class="{kind}"' if kind else ""
                cells.append(f"<td{cls}>{_esc(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        head = "".join(f'<th{_NUM if num else ""} scope="col">{_esc(name)}</th>'
                       for name, num in zip(columns, numeric, strict=True))
        cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
        self._blocks.append(
            f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    # -- output -------------------------------------------------------------------------

    def to_html(self) -> str:
        """The whole page as one HTML string."""
        from steepest import __version__

        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="steepest {_esc(__version__)}">',
            f"<title>{_esc(self.title)}</title>",
            f"<style>\n{read_asset('report.css')}\n</style>",
            "</head>",
            "<body>",
            "<main>",
            f"<header><h1>{_esc(self.title)}</h1>",
        ]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{_esc(self.subtitle)}</p>')
        parts.append("</header>")
        if len(self._sections) >= 2:
            items = "".join(f'<li><a href="#{slug}">{_esc(text)}</a></li>'
                            for slug, text in self._sections)
            parts.append(f'<nav class="toc" aria-label="Contents"><ul>{items}</ul></nav>')
        parts.extend(self._blocks)
        parts += [f"<footer>Made with steepest {_esc(__version__)}.</footer>", "</main>",
                  "</body>", "</html>", ""]
        return "\n".join(parts)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` atomically and return the path.

        The page goes to a temporary file in the same directory, which then
        replaces ``path`` in one step: a reader never sees half a report, and a
        failure leaves any earlier report in place. Missing parent directories
        are created.

        Raises
        ------
        OSError
            When the directory cannot be created or written to.
        """
        from steepest.io import atomic_write_bytes

        return atomic_write_bytes(path, self.to_html().encode("utf-8"))

    # -- helpers ------------------------------------------------------------------------

    def _unique_slug(self, text: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        taken = {slug for slug, _ in self._sections}
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell(value: object, spec: str | None) -> tuple[str, str]:
    """The text of a table cell and its CSS class: ``"num"``, ``"none"``, ``"long"`` (text
    that may wrap) or ``""`` (text kept on one line)."""
    if value is None:
        return "\N{EM DASH}", "none"
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), ""
    if isinstance(value, numbers.Integral):
        return format(int(value), spec or "d"), "num"
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            return str(value), "num"
        return format(value, spec or ".4g"), "num"
    text = str(value)
    return text, "long" if len(text) > _LONG else ""


def _table_error(n_columns: int, row: list) -> Exception:
    from steepest.errors import ParameterError

    return ParameterError(
        f"Every row of Report.add_table must have one cell per column ({n_columns}). "
        f"Got {len(row)} cells instead: {row!r}."
    )


def _render(figure: Figure, format: str, dpi: float) -> bytes:
    """The figure's bytes; SVG ids are salted by a constant so the output is reproducible."""
    import matplotlib

    buffer = io.BytesIO()
    metadata = {"Date": None} if format == "svg" else {"Software": None}
    with matplotlib.rc_context({"svg.hashsalt": "steepest", "svg.fonttype": "path"}):
        figure.savefig(buffer, format=format, dpi=dpi, metadata=metadata,
                       facecolor="white")
    return buffer.getvalue()
