"""What a federated run shows: accuracy against rounds and against bytes, rounds to a target."""

from __future__ import annotations

import io
import math

import numpy as np

from steepest.io import atomic_write_bytes
from steepest.plot import plot_federated_rounds as plot_runs

__all__ = ["add_runs_to_report", "plot_runs", "rounds_to_target", "save_png", "speedup"]

def rounds_to_target(history: dict, target: float) -> int | None:
    """The first round whose ``val_score`` reaches ``target`` (None if none does)."""
    for round_, score in zip(history["round"], history["val_score"], strict=True):
        if score >= target:
            return int(round_)
    return None


def add_runs_to_report(report, histories: dict, *, target: float | None = None,
                       metric: str = "accuracy", caption: str = ""):
    """The figure of :func:`plot_runs` and a table of each run's outcome; returns the figure."""
    figure = plot_runs(histories, target=target, metric=metric)
    report.add_figure(figure, caption=caption)
    rows = []
    for label, history in histories.items():
        reached = None if target is None else rounds_to_target(history, target)
        megabytes = float(np.sum(history["bytes"])) / 1e6
        dropped = sum(len(d) for d in history["dropped"])
        rows.append([label, float(history["val_score"][-1]), float(np.nanmax(
            history["val_score"])), "not reached" if reached is None else reached,
            megabytes, dropped, float(np.sum(history["time"]))])
    columns = ["run", f"final {metric}", f"best {metric}",
               "rounds to target" if target is None else f"rounds to {target:g}",
               "MB", "dropped updates", "seconds"]
    report.add_table(rows, columns, formats={columns[1]: ".4f", columns[2]: ".4f",
                                             "MB": ".1f", "seconds": ".1f"})
    return figure


def save_png(figure, path):
    """Write a matplotlib figure as a PNG file, atomically; returns the path."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())


def speedup(histories: dict, baseline: str, target: float) -> dict:
    """Rounds to ``target`` of ``baseline`` divided by each run's (NaN when one misses)."""
    base = rounds_to_target(histories[baseline], target)
    out = {}
    for label, history in histories.items():
        reached = rounds_to_target(history, target)
        out[label] = math.nan if base is None or reached is None else base / reached
    return out
