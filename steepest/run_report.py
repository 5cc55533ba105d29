"""The sections of a ``steepest train`` run's report: result, diagnosis, curves, settings
and data, added to a :class:`~steepest.report.Report`.

The settings and the advice of the diagnosis are spelled as the command line's
flags (``--lr 0.01``), since the run came from its options.
"""

from __future__ import annotations

from steepest.cli_values import flag_form
from steepest.diagnose import add_findings
from steepest.plot import plot_history

__all__ = ["add_run_to_report"]


def add_run_to_report(report, run, figure=None) -> None:
    """Add the settings, the data summary, the curves and the diagnosis of one run.

    Parameters
    ----------
    report : Report
    run : TrainRun
        What :func:`steepest.runs.train` made.
    figure : matplotlib Figure, optional
        The run's curves (:func:`steepest.plot.plot_history`), drawn when omitted.
    """
    data, model = run.data, run.validated
    report.add_heading("Result")
    scores = ", ".join(f"{name} {value:.4g}" for name, value in run.scores.items())
    metric = "accuracy" if data.task == "classification" else "R²"
    report.add_paragraph(
        f"{len(model.history_['loss'])} epochs in {run.seconds:.2f} s; final training loss "
        f"{model.history_['loss'][-1]:.4g}; {metric}: {scores}."
    )
    report.add_heading("Diagnosis")
    add_findings(report, run.findings, spell=flag_form)
    report.add_heading("Curves")
    report.add_figure(figure if figure is not None else plot_history(model.history_),
                      caption="Per epoch: loss (training and validation), the learning rate of "
                              "the epoch's last update, the norm of the last gradient (in all "
                              "and per layer's weights: a first layer far below the last one "
                              "means vanishing gradients).")
    report.add_heading("Settings")
    report.add_table([["DATA" if k == "data" else f"--{k.replace('_', '-')}", str(v)]
                      for k, v in run.settings.items()], ["flag", "value"])
    report.add_heading("Data")
    held_out = data.n_rows - run.n_train
    report.add_paragraph(
        f"{data.n_rows} rows ({run.n_train} trained on"
        + (f", {held_out} held out to validate" if held_out else "")
        + f"), {len(data.feature_names)} features, target {data.target!r} "
        f"({data.task}{'; ' + data.detected if data.detected else ''})"
        + (f"; fitted {run.model.fitted_on_}." if hasattr(run.model, "fitted_on_") else ".")
        + (f" The saved model was then refit on all {data.n_rows} rows with the same settings "
           f"({run.refit_seconds:.2f} s)." if run.refit_seconds else "")
    )
    if data.X is None:
        return
    std = data.X.std(axis=0)
    rows = [[name, float(data.X[:, j].mean()), float(std[j]), float(data.X[:, j].min()),
             float(data.X[:, j].max())] for j, name in enumerate(data.feature_names)]
    report.add_table(rows, ["feature", "mean", "std", "min", "max"],
                     formats={"mean": ".4g", "std": ".4g", "min": ".4g", "max": ".4g"})
