"""Write the torch ReduceLROnPlateau rate sequences that tests/test_schedules.py checks.

Run from the repository root with torch installed::

    .venv/bin/python scripts/make_plateau_references.py

Each case stores the scheduler's keyword arguments, the starting ``lr``, the metrics
fed to ``scheduler.step(metric)`` (a deterministic noisy descent with plateaus, or a
rising accuracy for ``mode="max"``) and ``lr``: torch's
``optimizer.param_groups[0]["lr"]`` after each step, which
``steepest.plateau.ReduceLROnPlateau`` must reproduce bit for bit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch.optim import lr_scheduler

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "plateau.json"
STEPS = 120


def falling(seed: int) -> list[float]:
    """A loss that falls, stalls, and wobbles: 1/(1+t/10) held flat in stretches, plus a
    deterministic ripple (no random numbers, so the file never changes)."""
    values = []
    for t in range(STEPS):
        held = t - t % (7 + seed)                   # flat stretches of 7 + seed epochs
        values.append(1.0 / (1.0 + held / 10.0) + 1e-3 * math.sin(1.7 * t + seed))
    return values


def rising(seed: int) -> list[float]:
    return [1.0 - value for value in falling(seed)]


CASES = [
    ({}, 0.1, falling(8)),
    ({"factor": 0.5, "patience": 3}, 0.1, falling(1)),
    ({"factor": 0.5, "patience": 2, "cooldown": 4}, 0.3, falling(2)),
    ({"factor": 0.2, "patience": 1, "min_lr": 1e-3}, 0.1, falling(3)),
    ({"patience": 0, "threshold": 0.0}, 1.0, falling(4)),
    ({"patience": 2, "threshold": 0.01, "threshold_mode": "abs"}, 0.05, falling(5)),
    ({"patience": 2, "threshold": 0.05}, 0.05, falling(6)),
    ({"mode": "max", "factor": 0.5, "patience": 3}, 0.1, rising(7)),
    ({"mode": "max", "patience": 2, "threshold": 0.002, "threshold_mode": "abs",
      "cooldown": 1}, 0.1, rising(8)),
    ({"factor": 0.9, "patience": 0, "eps": 0.005}, 0.1, falling(9)),
]


def torch_rates(kwargs: dict, lr: float, metrics: list[float]) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=lr)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    rates = []
    for metric in metrics:
        optimizer.step()
        scheduler.step(metric)
        rates.append(float(optimizer.param_groups[0]["lr"]))
    return rates


def main() -> None:
    cases = [{"kwargs": kwargs, "lr": lr, "metrics": metrics,
              "rates": torch_rates(kwargs, lr, metrics)} for kwargs, lr, metrics in CASES]
    text = json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n"
    partial = OUT.with_suffix(".json.partial")
    partial.write_text(text)
    partial.replace(OUT)
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
