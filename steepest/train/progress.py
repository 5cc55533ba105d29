"""A progress display for the fit loop (rich, imported when training starts).

On a terminal (or in a notebook) a live bar shows the epoch, the latest
``loss``, ``val_loss`` and ``lr``, and the time left; elsewhere (output piped to
a file or a CI log) a plain line with the same numbers is printed every
twentieth of the run and at its last epoch, so logs stay short and readable.
"""

from __future__ import annotations

import math
import time

from steepest.train.callbacks import Callback

__all__ = ["ProgressBar"]

_SHOWN = ("loss", "val_loss", "val_score", "lr")


def _metrics(logs: dict[str, float]) -> str:
    return "  ".join(f"{key} {logs[key]:.4g}" for key in _SHOWN if key in logs)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class ProgressBar(Callback):
    """Show training progress.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw; by default a console on standard error, so the program's
        own output stays clean.
    """

    order = 50

    def __init__(self, console=None) -> None:
        self.console = console
        self._console = None
        self._progress = None

    def on_train_begin(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = self.console if self.console is not None else Console(stderr=True)
        self._console = console
        trainer = self.trainer
        self._total = trainer.target_epochs
        self._every = max(1, math.ceil(self._total / 20))
        self._start, self._first = time.perf_counter(), trainer.epoch
        if console.is_terminal or console.is_jupyter:
            self._progress = Progress(
                TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
                TextColumn("{task.fields[metrics]}"), TimeRemainingColumn(),
                console=console,
            )
            self._task = self._progress.add_task("fit", total=self._total,
                                                 completed=trainer.epoch, metrics="")
            self._progress.start()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=epoch, metrics=_metrics(logs))
        elif epoch % self._every == 0 or epoch >= self._total or self.trainer.stopped:
            line = f"epoch {epoch}/{self._total}  {_metrics(logs)}"
            if epoch < self._total and not self.trainer.stopped:
                per_epoch = (time.perf_counter() - self._start) / max(epoch - self._first, 1)
                line += f"  {_duration(per_epoch * (self._total - epoch))} left"
            self._console.print(line, highlight=False, markup=False, soft_wrap=True)

    def on_train_end(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        trainer = self.trainer
        if trainer.stopped_by and self._console is not None:
            self._console.print(f"stopped by {trainer.stopped_by} after epoch {trainer.epoch}",
                                highlight=False, markup=False, soft_wrap=True)
