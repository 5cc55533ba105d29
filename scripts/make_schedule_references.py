"""Write the torch.optim.lr_scheduler sequences that tests/test_schedules.py checks.

Run from the repository root with torch installed::

    .venv/bin/python scripts/make_schedule_references.py

Each case names a steepest schedule and its keyword arguments (a nested schedule is
``{"schedule": name, "kwargs": {...}}``, a number is a constant rate) and stores
``lr``: torch's ``optimizer.param_groups[0]["lr"]`` before the first
``scheduler.step()`` and after each of the following ones, which steepest must
reproduce as ``schedule(t)``. ``exact`` marks the cases where torch computes every
rate afresh from the hyperparameters, as steepest does, so the values must be equal
bit for bit; elsewhere torch multiplies the previous rate by a factor and rounding
differs. Cosine and one-cycle sequences stop where steepest departs from torch on
purpose (after ``t = total_steps`` and ``t = total_steps - 1``), and a cosine inside
``warmup`` or ``join`` ends within the recorded steps. The output is deterministic.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch.optim import lr_scheduler

STEPS = 300
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "schedules.json"


def S(name: str, **kwargs) -> dict:
    """A case, written like the steepest call it stands for."""
    return {"schedule": name, "kwargs": kwargs}


CASES: list[dict] = [
    S("constant", lr=0.1),
    S("exponential", lr=0.1, gamma=0.99),
    S("exponential", lr=1.0, gamma=0.5),
    S("exponential", lr=1e-5, gamma=1.05),
    S("step", lr=0.1, step_size=30),
    S("step", lr=0.05, step_size=7, gamma=0.5),
    S("step", lr=0.1, step_size=1, gamma=0.97),
    S("multistep", lr=0.1, milestones=[30, 80, 200]),
    S("multistep", lr=0.3, milestones=[1, 2, 150], gamma=0.5),
    S("inverse_time", lr=0.1, decay=0.01),
    S("inverse_time", lr=0.5, decay=1.0),
    S("polynomial", lr=0.1, total_steps=200),
    S("polynomial", lr=0.1, total_steps=250, power=2.0),
    S("polynomial", lr=0.01, total_steps=100, power=0.9),
    S("polynomial", lr=0.1, total_steps=1, power=0.5),
    S("linear", lr=0.1),
    S("linear", lr=0.1, start_factor=0.01, end_factor=1.0, total_steps=100),
    S("linear", lr=0.1, start_factor=1.0, end_factor=0.0, total_steps=250),
    S("linear", lr=0.2, start_factor=0.5, end_factor=0.25, total_steps=37),
    S("cosine", lr=0.1, total_steps=299),
    S("cosine", lr=0.1, total_steps=100, min_lr=0.001),
    S("cosine", lr=1.0, total_steps=1),
    S("cosine", lr=0.05, total_steps=7, min_lr=0.05),
    S("cosine_warm_restarts", lr=0.1, first_cycle=10),
    S("cosine_warm_restarts", lr=0.1, first_cycle=5, cycle_mult=2, min_lr=0.001),
    S("cosine_warm_restarts", lr=0.1, first_cycle=1, cycle_mult=3),
    S("cosine_warm_restarts", lr=0.1, first_cycle=1),
    S("one_cycle", max_lr=0.1, total_steps=300),
    S("one_cycle", max_lr=0.1, total_steps=100, anneal_strategy="linear"),
    S("one_cycle", max_lr=0.1, total_steps=300, three_phase=True),
    S("one_cycle", max_lr=0.1, total_steps=250, pct_start=0.25, anneal_strategy="linear",
      div_factor=10.0, final_div_factor=100.0, three_phase=True),
    S("one_cycle", max_lr=1.0, total_steps=7, pct_start=0.5),
    S("one_cycle", max_lr=1.0, total_steps=3, pct_start=0.1),
    S("one_cycle", max_lr=0.1, total_steps=1),
    S("cyclic", base_lr=0.001, max_lr=0.1, step_size_up=20),
    S("cyclic", base_lr=0.001, max_lr=0.1, step_size_up=15, step_size_down=35,
      mode="triangular2"),
    S("cyclic", base_lr=0.001, max_lr=0.1, step_size_up=10, mode="exp_range", gamma=0.99),
    S("cyclic", base_lr=0.01, max_lr=0.1, step_size_up=9, step_size_down=0),
    S("cyclic", base_lr=0.01, max_lr=0.1, step_size_up=1, mode="triangular2"),
    S("warmup", schedule=S("cosine", lr=0.1, total_steps=279), steps=20),
    S("warmup", schedule=S("cosine", lr=0.1, total_steps=269, min_lr=0.001), steps=30,
      start_factor=0.01),
    S("warmup", schedule=S("exponential", lr=0.1, gamma=0.98), steps=1, start_factor=0.5),
    S("warmup", schedule=S("multistep", lr=0.1, milestones=[50, 150]), steps=10,
      start_factor=0.1),
    S("warmup", schedule=S("cosine_warm_restarts", lr=0.1, first_cycle=10, cycle_mult=2),
      steps=25),
    S("warmup", schedule=0.1, steps=50, start_factor=0.1),
    S("join", schedules=[S("linear", lr=0.1, start_factor=0.1, end_factor=1.0, total_steps=10),
                         S("cosine", lr=0.1, total_steps=200, min_lr=0.001),
                         S("exponential", lr=0.1, gamma=0.95)], boundaries=[10, 210]),
    S("join", schedules=[S("constant", lr=0.1), S("step", lr=0.1, step_size=40, gamma=0.5),
                         S("polynomial", lr=0.1, total_steps=50)], boundaries=[5, 150]),
]

TORCH = {  # steepest name -> torch scheduler and the keywords torch names otherwise
    "exponential": (lr_scheduler.ExponentialLR, {}),
    "step": (lr_scheduler.StepLR, {}),
    "multistep": (lr_scheduler.MultiStepLR, {}),
    "polynomial": (lr_scheduler.PolynomialLR, {"total_steps": "total_iters"}),
    "linear": (lr_scheduler.LinearLR, {"total_steps": "total_iters"}),
    "cosine": (lr_scheduler.CosineAnnealingLR, {"total_steps": "T_max", "min_lr": "eta_min"}),
    "cosine_warm_restarts": (lr_scheduler.CosineAnnealingWarmRestarts,
                             {"first_cycle": "T_0", "cycle_mult": "T_mult", "min_lr": "eta_min"}),
    "one_cycle": (lr_scheduler.OneCycleLR, {}),
    "cyclic": (lr_scheduler.CyclicLR, {}),
}
EXACT = {"constant", "cosine_warm_restarts", "one_cycle", "cyclic"}


def base_lr(spec) -> float:
    """The optimizer's lr that torch's scheduler for ``spec`` starts from."""
    if not isinstance(spec, dict):
        return spec
    kwargs = spec["kwargs"]
    if spec["schedule"] == "warmup":
        return base_lr(kwargs["schedule"])
    if spec["schedule"] == "join":
        rates = {base_lr(part) for part in kwargs["schedules"]}
        assert len(rates) == 1, "torch's SequentialLR runs every part from one base lr"
        return rates.pop()
    return kwargs.get("lr", kwargs.get("max_lr", kwargs.get("base_lr")))


def scheduler(spec, optimizer: torch.optim.Optimizer) -> lr_scheduler.LRScheduler:
    """torch's scheduler for the steepest schedule ``spec``."""
    if not isinstance(spec, dict):
        return lr_scheduler.LambdaLR(optimizer, lambda t: 1.0)
    name, kwargs = spec["schedule"], dict(spec["kwargs"])
    if name == "warmup":
        steps = kwargs["steps"]
        ramp = lr_scheduler.LinearLR(optimizer, start_factor=kwargs.get("start_factor", 1 / 3),
                                     end_factor=1.0, total_iters=steps)
        main = scheduler(kwargs["schedule"], optimizer)
        return lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[steps])
    if name == "join":
        parts = [scheduler(part, optimizer) for part in kwargs["schedules"]]
        return lr_scheduler.SequentialLR(optimizer, parts, milestones=kwargs["boundaries"])
    if name == "constant":
        return lr_scheduler.LambdaLR(optimizer, lambda t: 1.0)
    if name == "inverse_time":
        return lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (1 + kwargs["decay"] * t))
    cls, renames = TORCH[name]
    kwargs = {renames.get(k, k): v for k, v in kwargs.items() if k != "lr"}
    if name in ("one_cycle", "cyclic"):
        kwargs["cycle_momentum"] = False
    return cls(optimizer, **kwargs)


def steps(spec: dict) -> int:
    """How many rates to record: up to where steepest departs from torch on purpose."""
    kwargs = spec["kwargs"]
    if spec["schedule"] == "cosine":
        return min(STEPS, kwargs["total_steps"] + 1)
    if spec["schedule"] == "one_cycle":
        return min(STEPS, kwargs["total_steps"])
    return STEPS


def is_exact(spec) -> bool:
    if not isinstance(spec, dict):
        return True
    if spec["schedule"] == "join":
        return all(is_exact(part) for part in spec["kwargs"]["schedules"])
    return spec["schedule"] in EXACT


def record(spec: dict) -> list[float]:
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr(spec))
    sched = scheduler(spec, optimizer)
    rates = [float(optimizer.param_groups[0]["lr"])]
    for _ in range(steps(spec) - 1):
        optimizer.step()  # no gradient: a no-op that keeps torch's call-order check quiet
        sched.step()
        rates.append(float(optimizer.param_groups[0]["lr"]))
    return rates


def main() -> None:
    warnings.simplefilter("error")  # a torch warning would mean the sequence is not torch's norm
    cases = [{**spec, "exact": is_exact(spec), "lr": record(spec)} for spec in CASES]
    lines = ",\n".join("  " + json.dumps(case) for case in cases)
    OUT.write_text(f'{{\n "torch": "{torch.__version__}",\n "cases": [\n{lines}\n ]\n}}\n')
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
