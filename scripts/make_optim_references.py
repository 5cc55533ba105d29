"""Write the torch.optim reference trajectories that tests/test_optim_reference.py checks.

Run from the repository root with torch installed (``make references``)::

    .venv/bin/python scripts/make_optim_references.py

For every case below, and in float64 and float32, torch.optim runs ``STEPS`` updates
on a fixed nonlinear gradient field; the script stores the start point, the
gradient torch saw at each step and the parameters after each step. The test
feeds the same gradients to steepest and compares the parameters step by step,
so the optimizer rule alone is under test. float64 runs set torch's default dtype
to float64 (torch keeps scalar state such as NAdam's momentum product and the
step count in the default dtype); float32 runs use torch's usual float32 default.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

STEPS = 60
N = 16
OUT = Path(__file__).resolve().parent.parent / "tests" / "data"

CASES: list[tuple[str, dict]] = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05,
                 "initial_accumulator_value": 0.1, "eps": 1e-8}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.01}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.01,
              "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "betas": [0.9, 0.99], "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": [0.8, 0.99], "weight_decay": 0.1}),
]

# Optimizers driven by a learning-rate schedule: (optimizer, kwargs, steepest schedule,
# its arguments, the torch scheduler, its arguments). torch steps the scheduler after
# each update; steepest calls the schedule with the number of updates done.
SCHEDULED: list[tuple[str, dict, str, dict, str, dict]] = [
    ("Adam", {"lr": 0.05}, "exponential", {"lr": 0.05, "gamma": 0.95},
     "ExponentialLR", {"gamma": 0.95}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, "step", {"lr": 0.05, "step_size": 10, "gamma": 0.5},
     "StepLR", {"step_size": 10, "gamma": 0.5}),
    ("RMSprop", {"lr": 0.01}, "one_cycle", {"max_lr": 0.01, "total_steps": STEPS},
     "OneCycleLR", {"max_lr": 0.01, "total_steps": STEPS, "cycle_momentum": False}),
]


def gradient_field(theta: torch.Tensor, a: torch.Tensor, c: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    """∇ of Σ mask·(a θ²/2 − cos(3θ)/3 + c θ): curved and sign-changing, two coordinates
    always zero, one scaled by 1e-3 and one pulled by a constant of order 1e3."""
    return mask * (a * theta + torch.sin(3 * theta) + c)


def torch_kwargs(kwargs: dict) -> dict:
    return {k: tuple(v) if k == "betas" else v for k, v in kwargs.items()}


def run(name: str, kwargs: dict, dtype: torch.dtype, rng: np.random.Generator,
        scheduler: tuple[str, dict] | None = None) -> dict:
    torch.set_default_dtype(dtype)
    theta0 = rng.normal(0, 1.5, N)
    a = torch.tensor(rng.uniform(0.1, 5.0, N), dtype=dtype)
    c = torch.tensor(rng.normal(0, 1, N) * np.r_[1, 1, 1, 1e3, np.ones(N - 4)], dtype=dtype)
    mask = torch.tensor(np.r_[0.0, 0.0, 1e-3, np.ones(N - 3)], dtype=dtype)
    param = torch.tensor(theta0, dtype=dtype, requires_grad=True)
    optimizer = getattr(torch.optim, name)([param], foreach=False, **torch_kwargs(kwargs))
    if scheduler is not None:
        scheduler = getattr(torch.optim.lr_scheduler, scheduler[0])(optimizer, **scheduler[1])
    grads, thetas = [], []
    for _ in range(STEPS):
        with torch.no_grad():
            param.grad = gradient_field(param, a, c, mask).clone()
        grads.append(param.grad.detach().numpy().copy())
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        thetas.append(param.detach().numpy().copy())
    return {"theta0": theta0.astype(str(dtype).removeprefix("torch.")), "grads": np.stack(grads),
            "thetas": np.stack(thetas)}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    arrays, manifest = {}, []
    cases = [(name, kwargs, None, None) for name, kwargs in CASES]
    cases += [(name, kwargs, (schedule, schedule_kwargs), (scheduler, scheduler_kwargs))
              for name, kwargs, schedule, schedule_kwargs, scheduler, scheduler_kwargs
              in SCHEDULED]
    for index, (name, kwargs, schedule, scheduler) in enumerate(cases):
        case_id = f"{index:02d}-{name}"
        manifest.append({"id": case_id, "optimizer": name, "kwargs": kwargs})
        if schedule is not None:
            manifest[-1]["schedule"] = {"name": schedule[0], "kwargs": schedule[1]}
        for dtype in (torch.float64, torch.float32):
            result = run(name, kwargs, dtype, np.random.default_rng(index), scheduler)
            for key, value in result.items():
                arrays[f"{case_id}/{str(dtype).removeprefix('torch.')}/{key}"] = value
    torch.set_default_dtype(torch.float32)
    np.savez_compressed(OUT / "optim_references.npz", **arrays)
    (OUT / "optim_references.json").write_text(json.dumps(
        {"torch": torch.__version__, "steps": STEPS, "cases": manifest}, indent=1) + "\n")
    print(f"wrote {len(manifest)} cases to {OUT}")


if __name__ == "__main__":
    main()
