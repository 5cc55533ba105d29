"""The ``steepest`` command.

A thin layer over the library: each command parses its options, calls one
function and prints what it made. Errors from the library
(:class:`~steepest.errors.SteepestError`) and from the file system become one
line, ``Error: ...``, on stderr and exit status 1, never a traceback; every
message names the flag the user typed. Advice from the diagnosis is spelled as
flags (``--lr 0.01``). matplotlib and scikit-learn load inside the commands
(scikit-learn alone costs 0.8 s), so that ``steepest --help`` answers at once.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from steepest import __version__
from steepest.cli_values import (
    check_flag,
    flag_form,
    parse_hidden,
    parse_input_shape,
    parse_layers,
    parse_list,
)
from steepest.errors import ParameterError, SteepestError
from steepest.examples import run as run_example
from steepest.methods import LINE_SEARCH

# The modules that do a command's work (runs, demo, compare, explore, diagnose, tables,
# model_factory) load NumPy and more: imported inside the commands, so that `steepest
# --help` stays under 0.5 s (measured with bench/startup.py: 483 ms with them at the top,
# of which NumPy ~100 ms and steepest's own modules ~130 ms).

app = typer.Typer(
    name="steepest",
    help="Gradient descent you can see: optimizers, test functions and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_DATA = "A CSV or Parquet file, one row per sample."
_TARGET = "The column to predict."
_MODEL = "linear, logistic or mlp."
_HIDDEN = "Hidden layer widths of the mlp, e.g. 64,32."
_ALPHA = "L2 penalty on the weights (default: the model's, 0 for linear, 1e-4 otherwise)."
_DROPOUT = "Share of hidden units dropped while training the mlp, in [0, 1)."
_CLIP = "Clip the gradient to this global norm (default: no clipping)."
_DECAY = "The optimizer's weight decay (L2 in the update, as torch.optim's)."
_NOT_SAVED = ("Note: the model was not saved; add --out DIR to keep it, with its history, "
              "curves and report.")


def _version(value: bool) -> None:
    if value:
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
    with _errors():
        out.mkdir(parents=True, exist_ok=True)  # fail before the work, not after
        with Console(stderr=True).status("Running the optimizers on surfaces and digits..."):
            from steepest import demo as demos

            results = demos.collect()
            path = demos.write_report(results, out / "report.html")
    console = Console(soft_wrap=True)
    console.print(_summary(results))
    if results.digits is not None:
        console.print(_digits_summary(results))
    console.print(f"Report: [bold]{escape(str(path.resolve()))}[/bold]", highlight=False)


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help=_DATA)],
    target: Annotated[str, typer.Option("--target", "-t", help=_TARGET)],
    task: Annotated[str | None, typer.Option(
        help="classification or regression (detected from the target when omitted).")] = None,
    model: Annotated[str, typer.Option(help=_MODEL)] = "mlp",
    hidden: Annotated[str | None, typer.Option(
        help=_HIDDEN + " Default: 64.", show_default=False)] = None,
    layers: Annotated[str | None, typer.Option(
        help="Any network instead of the mlp, layer by layer, e.g. "
             "conv:32:3,relu,maxpool:2,flatten,dense:10 (conv, maxpool, avgpool, flatten, "
             "dense, dropout, batchnorm and the activations).")] = None,
    input_shape: Annotated[str | None, typer.Option(
        help="With --layers: read each row as one sample of this shape, e.g. 1,28,28 "
             "(channels, rows, columns) for a table of 28x28 grey pixels.")] = None,
    optimizer: Annotated[str, typer.Option(
        help="sgd, adam, rmsprop, ... (steepest.optim), or lbfgs / newton for linear models "
             "(these take whole-data steps: full batch).")] = "adam",
    lr: Annotated[str | None, typer.Option(
        help="Learning rate, or 'auto' for an LR range test. Default: 0.001; for lbfgs / "
             "newton 1, the full step.", show_default=False)] = None,
    schedule: Annotated[str, typer.Option(
        help="constant, cosine, exponential[:gamma], step[:epochs[:gamma]], one-cycle, "
             "warmup-cosine.")] = "constant",
    batch_size: Annotated[str | None, typer.Option(
        help="'full' (batch), 1 (stochastic) or k (mini-batches). Default: 32; full for "
             "lbfgs / newton.", show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option(
        help="Passes over the data. Default: 200, or with fewer than 800 training rows enough to "
             "pass 160,000 rows or make 5,000 updates, whichever comes first; for lbfgs / "
             "newton at most 200 iterations.", show_default=False)] = None,
    momentum: Annotated[float | None, typer.Option(
        help="Momentum of --optimizer sgd or rmsprop (e.g. 0.9).")] = None,
    weight_decay: Annotated[float | None, typer.Option(help=_DECAY)] = None,
    alpha: Annotated[float | None, typer.Option(help=_ALPHA)] = None,
    dropout: Annotated[float | None, typer.Option(help=_DROPOUT)] = None,
    activation: Annotated[str | None, typer.Option(
        help="Hidden activation of the mlp: relu, leaky_relu, elu, tanh or sigmoid. Default: "
             "relu.", show_default=False)] = None,
    batch_norm: Annotated[bool, typer.Option(
        "--batch-norm", help="Batch normalisation after each hidden layer of the mlp.")
                          ] = False,
    clip_norm: Annotated[float | None, typer.Option(help=_CLIP)] = None,
    early_stopping: Annotated[bool, typer.Option(
        "--early-stopping", help="Stop when the validation loss stops improving, and keep "
                                 "the best epoch's weights.")] = False,
    validation: Annotated[float | None, typer.Option(
        help="Share of rows held out to validate each epoch (0 for none). Default: 0.2; 0 "
             "with --stream, --workers or --scheduler.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split, the start and the batches.")
                    ] = 0,
    stream: Annotated[bool, typer.Option(
        "--stream", help="Read DATA a row group at a time (larger than memory).")] = False,
    workers: Annotated[int | None, typer.Option(
        help="Fit on a Dask cluster of this many worker processes on this machine.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Fit on the Dask cluster whose scheduler is at this address "
             "(tcp://host:8786).")] = None,
    scale: Annotated[bool, typer.Option(
        "--scale/--no-scale", help="Standardise the inputs inside the model.")] = True,
    refit: Annotated[bool, typer.Option(
        "--refit/--no-refit", help="After the run scored on the --validation rows, train the "
                                   "model that is saved on all the rows, with the same "
                                   "settings; --no-refit saves the validated run's model "
                                   "(half the time). Not with --early-stopping, whose "
                                   "validated best epoch is the model saved.")] = True,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", file_okay=False,
        help="Directory for the model, history.csv, curves.png, report.html and the "
             "checkpoint.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run saved in --out (after a crash or Ctrl-C).")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the run that --out already holds.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print a machine-readable summary instead of tables.")] = False,
) -> None:
    """Train a model on a table, then say how the descent went and what to fix."""
    from steepest import runs

    with _errors(show_warnings=not (quiet or json_output)):
        if hidden is not None and model != "mlp":
            raise ParameterError(f"--hidden applies to --model mlp, not to --model {model}.")
        if hidden is not None and layers is not None:
            raise ParameterError("--hidden and --layers both describe the network; give one.")
        run = runs.train(
            data, target, task=task, model=model, hidden=parse_hidden(hidden or "64"),
            optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size,
            epochs=epochs, early_stopping=early_stopping, validation=validation, seed=seed,
            scale=scale, alpha=alpha, dropout=dropout, clip_norm=clip_norm, momentum=momentum,
            weight_decay=weight_decay, batch_norm=batch_norm, activation=activation, out=out,
            resume=resume, force=force, verbose=not (quiet or json_output), stream=stream,
            workers=workers, scheduler=scheduler,
            refit=refit and out is not None,    # without --out the refit would be thrown away
            layers=None if layers is None else parse_layers(layers),
            input_shape=None if input_shape is None else parse_input_shape(input_shape))
    if json_output:
        typer.echo(_json_summary(run))
    elif not quiet:
        _print_run(run)
    if run.interrupted:
        typer.echo("Interrupted: the checkpoint of the last complete epoch is in "
                   f"{out}; continue with --resume." if out else "Interrupted.", err=True)
        raise typer.Exit(130)
    if out is None and not quiet:
        typer.echo(_NOT_SAVED, err=True)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="A model file written by 'steepest train'.")],
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file with the same columns.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", dir_okay=False, help="Write the predictions to this CSV file.")] = None,
) -> None:
    """Predict with a saved model (and class probabilities for classifiers)."""
    from steepest import runs

    with _errors():
        columns = runs.predict(model, data, out)
    if out is not None:
        typer.echo(f"Wrote {len(columns['prediction'])} predictions to {out}")
    else:
        names = list(columns)
        typer.echo(",".join(names))
        for row in zip(*(columns[n] for n in names), strict=True):
            typer.echo(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))


@app.command()
def compare(
    data: Annotated[Path, typer.Argument(help=_DATA)],
    target: Annotated[str, typer.Option("--target", "-t", help=_TARGET)],
    optimizers: Annotated[str, typer.Option(
        help="Comma-separated: sgd, momentum, nesterov, adam, rmsprop, ...")
                          ] = "sgd,momentum,adam",
    batch_sizes: Annotated[str, typer.Option(
        help="Comma-separated batch sizes to compare: full, 1, k.")] = "32",
    schedules: Annotated[str, typer.Option(
        help="Comma-separated schedules to compare (see train --schedule).")] = "constant",
    task: Annotated[str | None, typer.Option(help="classification or regression.")] = None,
    model: Annotated[str, typer.Option(help=_MODEL)] = "mlp",
    hidden: Annotated[str, typer.Option(help=_HIDDEN)] = "64",
    lr: Annotated[float | None, typer.Option(
        help="One rate for every run (default: each optimizer's usual rate).")] = None,
    epochs: Annotated[int, typer.Option(help="The same budget for every run.")] = 30,
    weight_decay: Annotated[float | None, typer.Option(help=_DECAY)] = None,
    alpha: Annotated[float | None, typer.Option(help=_ALPHA)] = None,
    dropout: Annotated[float | None, typer.Option(help=_DROPOUT)] = None,
    clip_norm: Annotated[float | None, typer.Option(help=_CLIP)] = None,
    seed: Annotated[int, typer.Option(help="The same seed for every run.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for comparison.html.")
                   ] = Path("steepest-compare"),
) -> None:
    """Train optimizers, batch sizes or schedules side by side: same data, budget, seed."""
    from steepest.compare import compare as run_comparison
    from steepest.compare import comparison_table, write_comparison_report
    from steepest.model_factory import comparison_models
    from steepest.tables import load_dataset

    with _errors():
        check_flag(seed, "--seed", low=0, integer=True)
        table = load_dataset(data, target, task)
        held_out = 0.2
        models = comparison_models(
            table.task, parse_list(optimizers) or [], parse_list(batch_sizes) or [],
            parse_list(schedules) or [],
            n_train=len(table.X) - math.ceil(held_out * len(table.X)), model=model,
            hidden=parse_hidden(hidden), lr=lr, epochs=epochs, seed=seed, alpha=alpha,
            dropout=dropout, clip_norm=clip_norm, weight_decay=weight_decay)
        if not models:
            raise ParameterError("--optimizers, --batch-sizes and --schedules each need at "
                                 "least one entry.")
        out.mkdir(parents=True, exist_ok=True)
        result = run_comparison(models, table.X, table.y, validation_fraction=held_out,
                                random_state=seed)
        path = write_comparison_report(result, out / "comparison.html")
    _print_table(*comparison_table(result), title=f"{len(models)} runs, {epochs} epochs each")
    typer.echo(f"Report: {path.resolve()}")


@app.command("lr-find")
def lr_find(
    data: Annotated[Path, typer.Argument(help=_DATA)],
    target: Annotated[str, typer.Option("--target", "-t", help=_TARGET)],
    task: Annotated[str | None, typer.Option(help="classification or regression.")] = None,
    model: Annotated[str, typer.Option(help=_MODEL)] = "mlp",
    hidden: Annotated[str, typer.Option(help=_HIDDEN)] = "64",
    optimizer: Annotated[str, typer.Option(help="The optimizer whose rate to find.")
                         ] = "adam",
    batch_size: Annotated[str | None, typer.Option(
        help="'full', 1 or k. Default: 32.", show_default=False)] = None,
    momentum: Annotated[float | None, typer.Option(
        help="Momentum of --optimizer sgd or rmsprop (e.g. 0.9).")] = None,
    weight_decay: Annotated[float | None, typer.Option(help=_DECAY)] = None,
    alpha: Annotated[float | None, typer.Option(help=_ALPHA)] = None,
    dropout: Annotated[float | None, typer.Option(help=_DROPOUT)] = None,
    clip_norm: Annotated[float | None, typer.Option(help=_CLIP)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the start and the batches.")] = 0,
    scale: Annotated[bool, typer.Option(
        "--scale/--no-scale", help="Standardise the inputs inside the model.")] = True,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for lr-find.png.")
                   ] = Path("steepest-lr-find"),
) -> None:
    """Ramp the learning rate up over a few hundred batches and suggest one."""
    from steepest import runs

    with _errors():
        result, files = runs.find_rate(
            data, target, task=task, model=model, hidden=parse_hidden(hidden),
            optimizer=optimizer, batch_size=batch_size, seed=seed, scale=scale, alpha=alpha,
            dropout=dropout, clip_norm=clip_norm, momentum=momentum,
            weight_decay=weight_decay, out=out)
    ended = "stopped when the loss blew up" if result.stopped_early else "ran to the end"
    typer.echo(f"Suggested learning rate: {result.suggestion:.3g} ({result.rule}); the test "
               f"tried {len(result.lrs)} rates from {result.lrs[0]:.1e} to "
               f"{result.lrs[-1]:.1e} and {ended}.")
    typer.echo(f"Train with it: --lr {result.suggestion:.3g}")
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
    from steepest.explore import write_explorer

    with _errors():
        check_flag(steps, "--steps", low=1, integer=True)
        out.mkdir(parents=True, exist_ok=True)
        with _progress("Running the descents") as progress:
            path = write_explorer(out / "explore.html", parse_list(functions),
                                  parse_list(methods), max_steps=steps, n_jobs=-1,
                                  progress=progress)
    typer.echo(f"Explorer: {path.resolve()} (open it in a browser; it works offline)")


@app.command()
def federate(
    data: Annotated[Path, typer.Argument(help=_DATA)],
    target: Annotated[str, typer.Option("--target", "-t", help=_TARGET)],
    clients: Annotated[int, typer.Option(help="How many clients share the rows.")] = 100,
    partition: Annotated[str, typer.Option(
        help="iid, shards[:k] (k label shards a client) or dirichlet:alpha (label skew).")
                         ] = "dirichlet:0.3",
    strategy: Annotated[str, typer.Option(
        help="fedavg, fedsgd, fedprox, fedadam, fedyogi or fedadagrad.")] = "fedavg",
    rounds: Annotated[int, typer.Option(help="Communication rounds.")] = 50,
    fraction: Annotated[float, typer.Option(help="Share of the clients drawn each round.")
                        ] = 0.1,
    local_epochs: Annotated[int, typer.Option(help="Epochs each drawn client trains.")] = 1,
    local_batch_size: Annotated[str, typer.Option(
        help="'full' or k: the clients' batch size.")] = "10",
    lr: Annotated[float, typer.Option(help="The clients' SGD rate.")] = 0.05,
    mu: Annotated[float, typer.Option(help="FedProx's proximal strength.")] = 0.01,
    validation: Annotated[float, typer.Option(
        help="Share of rows held out to score the global model each round.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split, the draws and the start.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", file_okay=False,
        help="Directory for the model, history.csv, rounds.png and report.html.")] = None,
) -> None:
    """Train one model over simulated clients that keep their rows (federated learning)."""
    from steepest.federated.run import federate as run_federated

    with _errors():
        batch = None if local_batch_size.strip().lower() == "full" else check_flag(
            _integer(local_batch_size, "--local-batch-size"), "--local-batch-size", low=1,
            integer=True)
        run = run_federated(data, target, clients=clients, partition=partition,
                            strategy=strategy, rounds=rounds, fraction=fraction,
                            local_epochs=local_epochs, local_batch_size=batch, lr=lr, mu=mu,
                            validation=validation, seed=seed, out=out)
    scores = ", ".join(f"{name} {value:.4g}" for name, value in run.scores.items())
    typer.echo(f"{strategy}: {rounds} rounds over {clients} clients in {run.seconds:.2f} s; "
               f"{scores}.")
    for kind, path in run.files.items():
        typer.echo(f"{kind}: {path}")


def _integer(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"{flag} must be 'full' or a whole number; got {text!r}.") from None


@app.command()
def example(
    name: Annotated[str, typer.Argument(help="The example's name.")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Directory for the report.")] = Path("."),
    quick: Annotated[bool, typer.Option(
        "--quick", help="A few seconds on a part of the data, to see that it works.")] = False,
) -> None:
    """Run one of the worked examples and write its report: image, sentiment, recommend,
    federated or meta (steepest example meta --out runs)."""
    with _errors():
        report = run_example(name, out / f"example-{name.lower()}", quick=quick)
    typer.echo(f"report: {report}")


@contextmanager
def _progress(what: str) -> Iterator:
    """A ``progress(done, total)`` callback for long work: a transient bar on a terminal;
    elsewhere (a pipe, a log) a plain line on stderr at every tenth of the work."""
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    if console.is_terminal:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(what, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    start, shown = time.perf_counter(), [0]

    def line(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if tenth > shown[0] or done == total:
            shown[0] = tenth
            console.print(f"{what}: {done}/{total} done, "
                          f"{time.perf_counter() - start:.0f} s", markup=False)

    yield line


def _print_table(rows, columns, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("—" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
                        for v in row))
    Console(soft_wrap=True).print(table)


def _json_summary(run) -> str:
    from steepest.diagnose import format_suggest

    history = run.validated.history_
    return json.dumps({
        "task": run.data.task, "settings": run.settings, "epochs": len(history["loss"]),
        "seconds": round(run.seconds, 3), "final_loss": history["loss"][-1],
        "final_val_loss": history.get("val_loss", [None])[-1], "scores": run.scores,
        "n_train": run.n_train, "refit_on": run.data.n_rows if run.refit_seconds else None,
        "interrupted": run.interrupted,
        "files": {k: str(v) for k, v in run.files.items()},
        "findings": [{"code": f.code, "severity": f.severity, "title": f.title,
                      "evidence": f.evidence, "advice": f.advice,
                      "suggest": {k: v if v is None or isinstance(v, (bool, int, float, str))
                                  else repr(v) for k, v in f.suggest.items()},
                      "flags": format_suggest(f.suggest, spell=flag_form) if f.suggest else None}
                     for f in run.findings],
    }, indent=2, default=float)


def _print_run(run) -> None:
    from steepest.diagnose import format_findings

    console = Console(soft_wrap=True, highlight=False)
    history = run.validated.history_
    metric = "accuracy" if run.data.task == "classification" else "R²"
    scores = ", ".join(f"{name} {value:.4g}" for name, value in run.scores.items())
    steps = "iterations" if run.settings["optimizer"] in LINE_SEARCH else "epochs"
    console.print(f"[bold]{run.data.task}[/bold] on {run.data.n_rows} rows "
                  f"({escape(run.data.detected or 'task given')}): {len(history['loss'])} "
                  f"{steps} in {run.seconds:.1f} s, final loss {history['loss'][-1]:.4g}, "
                  f"{metric} {scores}.")
    console.print(escape(format_findings(run.findings, spell=flag_form)))
    if run.refit_seconds:
        console.print(f"Then refit on all {run.data.n_rows} rows (the {run.n_train} trained on "
                      f"and the {run.data.n_rows - run.n_train} validated on), same settings, "
                      f"in {run.refit_seconds:.1f} s"
                      f"{': that is the model saved' if run.files else ''}.")
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
    table = Table(title=f"steepest demo: {results.seconds:.1f} s of descent", title_justify="left",
                  caption="fastest: to a minimum, or out of the plotted box where there is none",
                  caption_justify="left")
    table.add_column("function")
    table.add_column("reached a minimum", justify="right")
    table.add_column("fastest")
    from steepest import demo as demos

    for line in demos.summary(results):
        table.add_row(*line)
    return table


def _digits_summary(results):
    """A rich table of the digits runs: final training loss, test accuracy and time."""
    digits = results.digits
    table = Table(title=f"digits: {digits.epochs} epochs each, {digits.n_test} test digits",
                  title_justify="left")
    table.add_column("run", no_wrap=True)
    for name in ("lr", "batch", "training loss", "test accuracy", "time"):
        table.add_column(name, justify="right")
    from steepest import demo as demos

    for line in demos.digits_summary(results):
        table.add_row(*line)
    return table
