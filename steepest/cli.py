"""The ``steepest`` command.

A thin layer over the library: each command parses its options, calls one
function and prints what it made. Errors from the library
(:class:`~steepest.errors.SteepestError`) and from the file system become one
line, ``Error: ...``, on stderr and exit status 1, never a traceback. Heavy
modules (matplotlib, the optimizers) load inside the commands, so that
``steepest --help`` answers at once.
"""

from __future__ import annotations

import math
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


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file, one row per sample.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    task: Annotated[str | None, typer.Option(
        help="classification or regression (detected from the target when omitted).")] = None,
    model: Annotated[str, typer.Option(help="linear, logistic or mlp.")] = "mlp",
    hidden: Annotated[str, typer.Option(help="Hidden layer widths of the mlp, e.g. 64,32.")
                      ] = "64",
    optimizer: Annotated[str, typer.Option(
        help="sgd, adam, rmsprop, ... (steepest.optim), or lbfgs / newton for linear models.")
                         ] = "adam",
    lr: Annotated[str, typer.Option(help="Learning rate, or 'auto' for an LR range test.")
                  ] = "0.001",
    schedule: Annotated[str, typer.Option(
        help="constant, cosine, exponential[:gamma], step[:epochs[:gamma]], one-cycle, "
             "warmup-cosine.")] = "constant",
    batch_size: Annotated[str, typer.Option(
        help="'full' (batch), 1 (stochastic) or k (mini-batches).")] = "32",
    epochs: Annotated[int, typer.Option(help="Passes over the data.")] = 50,
    early_stopping: Annotated[bool, typer.Option(
        "--early-stopping", help="Stop when the validation loss stops improving.")] = False,
    validation: Annotated[float, typer.Option(
        help="Share of rows held out to validate each epoch (0 for none).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split, the start and the batches.")
                    ] = 0,
    no_scale: Annotated[bool, typer.Option(
        "--no-scale", help="Do not standardise the inputs.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", file_okay=False,
        help="Directory for the model, history.csv, curves.png, report.html and the "
             "checkpoint.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run saved in --out (after a crash or Ctrl-C).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print a machine-readable summary instead of tables.")] = False,
) -> None:
    """Train a model on a table, then say how the descent went and what to fix."""
    with _errors(show_warnings=not (quiet or json_output)):
        from steepest.workflow import parse_hidden
        from steepest.workflow import train as run_training

        run = run_training(
            data, target, task=task, model=model, hidden=parse_hidden(hidden),
            optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
            epochs=epochs, early_stopping=early_stopping, validation=validation, seed=seed,
            scale=not no_scale, out=out, resume=resume, verbose=not (quiet or json_output))
    if json_output:
        typer.echo(_json_summary(run))
    elif not quiet:
        _print_run(run)
    if run.interrupted:
        typer.echo("Interrupted: the checkpoint of the last complete epoch is in "
                   f"{out}; continue with --resume." if out else "Interrupted.", err=True)
        raise typer.Exit(130)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="A model file written by 'steepest train'.")],
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file with the same columns.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", dir_okay=False, help="Write the predictions to this CSV file.")] = None,
) -> None:
    """Predict with a saved model (and class probabilities for classifiers)."""
    with _errors():
        from steepest.workflow import predict as run_prediction

        columns = run_prediction(model, data, out)
    if out is not None:
        typer.echo(f"Wrote {len(columns['prediction'])} predictions to {out}")
    else:
        names = list(columns)
        typer.echo(",".join(names))
        for row in zip(*(columns[n] for n in names), strict=True):
            typer.echo(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))


@app.command()
def compare(
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file, one row per sample.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    optimizers: Annotated[str, typer.Option(
        help="Comma-separated: sgd, momentum, nesterov, adam, rmsprop, ...")
                          ] = "sgd,momentum,adam",
    batch_sizes: Annotated[str, typer.Option(
        help="Comma-separated batch sizes to compare: full, 1, k.")] = "32",
    schedules: Annotated[str, typer.Option(
        help="Comma-separated schedules to compare (see train --schedule).")] = "constant",
    task: Annotated[str | None, typer.Option(help="classification or regression.")] = None,
    model: Annotated[str, typer.Option(help="linear, logistic or mlp.")] = "mlp",
    hidden: Annotated[str, typer.Option(help="Hidden layer widths of the mlp.")] = "64",
    lr: Annotated[float | None, typer.Option(
        help="One rate for every run (default: each optimizer's usual rate).")] = None,
    epochs: Annotated[int, typer.Option(help="The same budget for every run.")] = 30,
    seed: Annotated[int, typer.Option(help="The same seed for every run.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for comparison.html.")
                   ] = Path("steepest-compare"),
) -> None:
    """Train optimizers, batch sizes or schedules side by side: same data, budget, seed."""
    with _errors():
        from steepest.compare import compare as run_comparison
        from steepest.compare import comparison_table, write_comparison_report
        from steepest.workflow import comparison_models, load_dataset, parse_hidden

        def split(text: str) -> list[str]:
            return [part.strip() for part in text.split(",") if part.strip()]

        table = load_dataset(data, target, task)
        held_out = 0.2
        models = comparison_models(
            table.task, split(optimizers), split(batch_sizes), split(schedules),
            n_train=len(table.X) - math.ceil(held_out * len(table.X)), model=model,
            hidden=parse_hidden(hidden), lr=lr, epochs=epochs, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        result = run_comparison(models, table.X, table.y, validation_fraction=held_out,
                                random_state=seed)
        path = write_comparison_report(result, out / "comparison.html")
    _print_table(*comparison_table(result), title=f"{len(models)} runs, {epochs} epochs each")
    typer.echo(f"Report: {path.resolve()}")


@app.command("lr-find")
def lr_find(
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file, one row per sample.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    task: Annotated[str | None, typer.Option(help="classification or regression.")] = None,
    model: Annotated[str, typer.Option(help="linear, logistic or mlp.")] = "mlp",
    hidden: Annotated[str, typer.Option(help="Hidden layer widths of the mlp.")] = "64",
    optimizer: Annotated[str, typer.Option(help="The optimizer whose rate to find.")
                         ] = "adam",
    batch_size: Annotated[str, typer.Option(help="'full', 1 or k.")] = "32",
    seed: Annotated[int, typer.Option(help="Seed of the start and the batches.")] = 0,
    no_scale: Annotated[bool, typer.Option("--no-scale", help="Do not standardise inputs.")
                        ] = False,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for lr-find.png.")
                   ] = Path("steepest-lr-find"),
) -> None:
    """Ramp the learning rate up over a few hundred batches and suggest one."""
    with _errors():
        from steepest.workflow import find_rate, parse_hidden

        result, files = find_rate(data, target, task=task, model=model,
                                  hidden=parse_hidden(hidden), optimizer=optimizer,
                                  batch_size=batch_size, seed=seed, scale=not no_scale, out=out)
    ended = "stopped when the loss blew up" if result.stopped_early else "ran to the end"
    typer.echo(f"Suggested learning rate: {result.suggestion:.3g} ({result.rule}); the test "
               f"tried {len(result.lrs)} rates from {result.lrs[0]:.1e} to "
               f"{result.lrs[-1]:.1e} and {ended}.")
    typer.echo(f"Curve: {files['curve'].resolve()}")


@app.command()
def explore(
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for explore.html.")
                   ] = Path("steepest-explore"),
    functions: Annotated[str | None, typer.Option(
        help="Comma-separated test functions (default: rosenbrock, beale, himmelblau, "
             "saddle, quadratic, rastrigin, booth).")] = None,
    methods: Annotated[str | None, typer.Option(
        help="Comma-separated methods (default: all of steepest.minimize's).")] = None,
    steps: Annotated[int, typer.Option(help="The most steps of each descent.")] = 500,
) -> None:
    """Write an interactive page: pick a surface and optimizers, slide the rate, play."""
    with _errors():
        from rich.progress import Progress

        from steepest.explore import write_explorer

        def split(text: str | None) -> list[str] | None:
            return [t.strip() for t in text.split(",") if t.strip()] if text else None

        out.mkdir(parents=True, exist_ok=True)
        with Progress(transient=True) as progress:
            task = progress.add_task("Running the descents", total=None)
            path = write_explorer(
                out / "explore.html", split(functions), split(methods), max_steps=steps,
                n_jobs=-1, progress=lambda done, total: progress.update(task, completed=done,
                                                                        total=total))
    typer.echo(f"Explorer: {path.resolve()} (open it in a browser; it works offline)")


def _print_table(rows, columns, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("—" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
                        for v in row))
    Console(soft_wrap=True).print(table)


def _json_summary(run) -> str:
    import json

    history = run.model.history_
    return json.dumps({
        "task": run.data.task, "settings": run.settings, "epochs": len(history["loss"]),
        "seconds": round(run.seconds, 3), "final_loss": history["loss"][-1],
        "final_val_loss": history.get("val_loss", [None])[-1], "scores": run.scores,
        "interrupted": run.interrupted, "files": {k: str(v) for k, v in run.files.items()},
        "findings": [{"code": f.code, "severity": f.severity, "title": f.title,
                      "evidence": f.evidence, "advice": f.advice} for f in run.findings],
    }, indent=2, default=float)


def _print_run(run) -> None:
    from rich.console import Console
    from rich.markup import escape

    from steepest.diagnose import format_findings

    console = Console(soft_wrap=True, highlight=False)
    history = run.model.history_
    metric = "accuracy" if run.data.task == "classification" else "R²"
    scores = ", ".join(f"{name} {value:.4g}" for name, value in run.scores.items())
    console.print(f"[bold]{run.data.task}[/bold] on {len(run.data.X)} rows "
                  f"({escape(run.data.detected or 'task given')}): {len(history['loss'])} "
                  f"epochs in {run.seconds:.1f} s, final loss {history['loss'][-1]:.4g}, "
                  f"{metric} {scores}.")
    console.print(escape(format_findings(run.findings)))
    for name, path in run.files.items():
        console.print(f"{name}: [bold]{escape(str(path))}[/bold]")


def main() -> None:
    """Entry point of the ``steepest`` console script."""
    app()


@contextmanager
def _errors(show_warnings: bool = True) -> Iterator[None]:
    """Turn library and file-system errors into ``Error: ...`` on stderr and exit status 1.

    Warnings raised meanwhile become ``Warning: ...`` lines on stderr (without
    Python's source line), once each; after an error only the error is shown,
    since it says what the warnings led to.
    """
    import warnings

    from steepest.errors import SteepestError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except SteepestError as error:
            _fail(str(error))
        except OSError as error:
            where = f": {error.filename}" if error.filename else ""
            _fail(f"{error.strerror or error}{where}")
    if show_warnings:
        for message in dict.fromkeys(str(w.message) for w in caught):
            typer.echo(f"Warning: {message}", err=True)


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
