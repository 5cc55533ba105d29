"""The ``steepest`` command.

A thin layer over the library: each command parses its options, calls one
function and prints what it made. Errors from the library
(:class:`~steepest.errors.SteepestError`) and from the file system become one
line, ``Error: ...``, on stderr and exit status 1, never a traceback. Heavy
modules (matplotlib, the optimizers) load inside the commands, so that
``steepest --help`` answers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="steepest",
    help="Gradient descent you can see: optimizers, test functions and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from steepest import __version__

        typer.echo(f"steepest {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.",
                                          callback=_version, is_eager=True)] = False,
) -> None:
    """Gradient descent you can see: optimizers, test functions and reports."""


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for report.html; created when missing.")
                   ] = Path("steepest-demo"),
) -> None:
    """Run optimizers on classic test functions and on handwritten digits; write a report."""
    from rich.console import Console
    from rich.markup import escape

    with _errors():
        from steepest.demo import collect, write_report

        out.mkdir(parents=True, exist_ok=True)  # fail before the work, not after
        with Console(stderr=True).status("Running the optimizers on surfaces and digits..."):
            results = collect()
            path = write_report(results, out / "report.html")
    console = Console(soft_wrap=True)
    console.print(_summary(results))
    if results.digits is not None:
        console.print(_digits_summary(results))
    console.print(f"Report: [bold]{escape(str(path.resolve()))}[/bold]", highlight=False)


def main() -> None:
    """Entry point of the ``steepest`` console script."""
    app()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn library and file-system errors into ``Error: ...`` on stderr and exit status 1."""
    from steepest.errors import SteepestError

    try:
        yield
    except SteepestError as error:
        _fail(str(error))
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        _fail(f"{error.strerror or error}{where}")


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def _summary(results):
    """A rich table of the demo: per function, how many runs got there and the fastest."""
    from rich.table import Table

    from steepest.demo import summary

    table = Table(title=f"steepest demo: {results.seconds:.1f} s of descent", title_justify="left",
                  caption="fastest: to a minimum, or out of the plotted box where there is none",
                  caption_justify="left")
    table.add_column("function")
    table.add_column("reached a minimum", justify="right")
    table.add_column("fastest")
    for line in summary(results):
        table.add_row(*line)
    return table


def _digits_summary(results):
    """A rich table of the digits runs: final training loss, test accuracy and time."""
    from rich.table import Table

    from steepest.demo import digits_summary

    digits = results.digits
    table = Table(title=f"digits: {digits.epochs} epochs each, {digits.n_test} test digits",
                  title_justify="left")
    table.add_column("run", no_wrap=True)
    for name in ("lr", "batch", "training loss", "test accuracy", "time"):
        table.add_column(name, justify="right")
    for line in digits_summary(results):
        table.add_row(*line)
    return table
