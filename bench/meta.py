"""Time MAML's meta-iteration on Finn et al.'s sine protocol: steepest against torch.func.

One meta-iteration: draw 25 sine tasks of 10 support and 10 query points, take one
inner SGD step of rate 0.01 on each support set, compute the mean query loss's
gradient with respect to θ (exact: through the inner step's Hessian-vector
product; first-order: without it) and take one Adam step (1e-3) on θ, for Finn's
1-40-40-1 ReLU network in float64. Timed:

- ``steepest``: ``steepest.meta.MAML(...).fit(sine_tasks(10), n)``: meta-batches drawn
  stacked and run vectorised over the tasks (batched matmuls);
- ``steepest task-by-task``: the same through ``maml_gradient(..., vectorize=False)``,
  one task at a time through ``Network.hvp`` (the path before vectorising);
- ``torch loop``: learn2learn's way (its ``MAML.adapt`` is this): a Python loop over the
  tasks, ``torch.autograd.grad(..., create_graph=True)`` for the inner step (``False``
  for first-order), one ``backward`` of the mean query loss; float64;
- ``torch.func``: ``vmap`` over the tasks of ``grad`` of the query loss after a
  functional inner step (``torch.func.grad`` inside), float64.

torch runs on ``--torch-threads`` threads (default 1: on this shared 2-core machine
two threads made torch 20x slower, 1.5 s per meta-iteration), and a fifth of the
iterations (it is slower).

Each implementation runs ``--iterations`` meta-iterations per round, the rounds
interleaved (the order rotating), after one warm-up round; the figure is the
median over rounds of the time per meta-iteration, wall clock and process CPU.
``--protocol`` also times the whole worked example (steepest.examples.meta.run, the
full 70,000 meta-iterations for each of MAML, first-order MAML and Reptile), once.

    python bench/meta.py                     # 200 iterations x 3 rounds, a minute or two
    python bench/meta.py --quick             # 30 x 2
    python bench/meta.py --markdown          # the table BENCHMARKS.md records
    python bench/meta.py --protocol OUT_DIR  # + the whole example (minutes)

The machine is shared: the load average at the start and end is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from steepest import MLPRegressor  # noqa: E402
from steepest.meta import MAML, maml_gradient, sine_tasks  # noqa: E402
from steepest.optim import Adam  # noqa: E402

META_BATCH, K_SHOT, INNER_LR, META_LR = 25, 10, 0.01, 1e-3
FINN_ITERATIONS = 70_000


def steepest_vectorised(first_order: bool, iterations: int) -> None:
    MAML(MLPRegressor((40, 40), random_state=0), inner_lr=INNER_LR, first_order=first_order,
         meta_lr=META_LR, meta_batch_size=META_BATCH, random_state=0).fit(sine_tasks(K_SHOT),
                                                                           iterations)


def steepest_task_by_task(first_order: bool, iterations: int) -> None:
    maml = MAML(MLPRegressor((40, 40), random_state=0), random_state=0).fit(sine_tasks(K_SHOT),
                                                                          0)
    network, tasks = maml.estimator_._network, sine_tasks(K_SHOT)
    optimizer, rng = Adam(lr=META_LR), np.random.default_rng(0)
    for _ in range(iterations):
        batch = [tasks(rng) for _ in range(META_BATCH)]
        _, grad = maml_gradient(network, "mse", batch, INNER_LR, 1, first_order,
                                vectorize=False)
        optimizer.step(network.theta, grad)


def torch_parameters():
    """Finn's 1-40-40-1 network's parameters, He-uniform weights, zero biases, float64."""
    import torch

    generator = torch.Generator().manual_seed(0)
    params = {}
    for i, (n_in, n_out) in enumerate([(1, 40), (40, 40), (40, 1)]):
        bound = (6.0 / n_in) ** 0.5
        params[f"W{i}"] = (torch.rand(n_in, n_out, generator=generator, dtype=torch.float64)
                           * 2 - 1) * bound
        params[f"b{i}"] = torch.zeros(n_out, dtype=torch.float64)
    for value in params.values():
        value.requires_grad_(True)
    return params


def torch_forward(p, x):
    import torch

    h = torch.relu(x @ p["W0"] + p["b0"])
    h = torch.relu(h @ p["W1"] + p["b1"])
    return (h @ p["W2"] + p["b2"])[:, 0]


def torch_loop(first_order: bool, iterations: int) -> None:
    import torch

    params = torch_parameters()
    optimizer = torch.optim.Adam(list(params.values()), lr=META_LR)
    tasks, rng = sine_tasks(K_SHOT), np.random.default_rng(0)
    for _ in range(iterations // 5 or 1):
        X_s, y_s, X_q, y_q = (torch.from_numpy(a) for a in tasks.batch(rng, META_BATCH))
        optimizer.zero_grad()
        total = 0.0
        for t in range(META_BATCH):
            support = (torch_forward(params, X_s[t]) - y_s[t]).pow(2).mean()
            grads = torch.autograd.grad(support, list(params.values()),
                                        create_graph=not first_order)
            adapted = {k: v - INNER_LR * g for (k, v), g in zip(params.items(), grads,
                                                                strict=True)}
            total = total + (torch_forward(adapted, X_q[t]) - y_q[t]).pow(2).mean()
        (total / META_BATCH).backward()
        optimizer.step()


def torch_func(first_order: bool, iterations: int) -> None:
    import torch
    from torch.func import grad, vmap

    params = torch_parameters()
    optimizer = torch.optim.Adam(list(params.values()), lr=META_LR)
    tasks, rng = sine_tasks(K_SHOT), np.random.default_rng(0)

    def loss(p, x, y):
        return (torch_forward(p, x) - y).pow(2).mean()

    def query_loss(p, xs, ys, xq, yq):
        g = grad(loss)(p, xs, ys)
        if first_order:
            g = {k: v.detach() for k, v in g.items()}
        return loss({k: p[k] - INNER_LR * g[k] for k in p}, xq, yq)

    def meta_loss(p, xs, ys, xq, yq):
        return vmap(query_loss, in_dims=(None, 0, 0, 0, 0))(p, xs, ys, xq, yq).mean()

    meta_grad = grad(meta_loss)
    for _ in range(iterations // 5 or 1):
        batch = [torch.from_numpy(a) for a in tasks.batch(rng, META_BATCH)]
        grads = meta_grad({k: v.detach() for k, v in params.items()}, *batch)
        for k, v in params.items():
            v.grad = grads[k]
        optimizer.step()


IMPLEMENTATIONS = {"steepest": steepest_vectorised,
                   "steepest task-by-task": steepest_task_by_task,
                   "torch loop": torch_loop,
                   "torch.func": torch_func}
RUN_FRACTION = {"torch loop": 5, "torch.func": 5}
"""Implementations that run a fifth of the iterations (the time is per iteration they ran)."""


def measure(iterations: int, rounds: int, names) -> dict:
    samples = {(name, order): ([], []) for name in names for order in ("first-order", "exact")}
    keys = list(samples)
    for name, order in keys:                                          # warm-up
        IMPLEMENTATIONS[name](order == "first-order", max(2, iterations // 10))
    for r in range(rounds):
        for name, order in keys[r % len(keys):] + keys[:r % len(keys)]:
            wall, cpu = time.perf_counter(), time.process_time()
            IMPLEMENTATIONS[name](order == "first-order", iterations)
            ran = iterations // RUN_FRACTION.get(name, 1) or 1
            samples[name, order][0].append((time.perf_counter() - wall) / ran)
            samples[name, order][1].append((time.process_time() - cpu) / ran)
            print(f"  round {r + 1}: {name}, {order}: {samples[name, order][0][-1] * 1e3:.2f} "
                  "ms/iteration", file=sys.stderr)
    return {key: (statistics.median(w), statistics.median(c)) for key, (w, c) in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-task-by-task", action="store_true",
                        help="skip the slow task-by-task path")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--protocol", metavar="OUT_DIR",
                        help="also time the whole worked example, writing its report there")
    args = parser.parse_args()
    iterations, rounds = (30, 2) if args.quick else (args.iterations, args.rounds)
    names = [n for n in IMPLEMENTATIONS if not (args.no_task_by_task and "task" in n)]
    try:
        import torch

        torch.set_num_threads(args.torch_threads)
    except ImportError:
        names = [n for n in names if not n.startswith("torch")]
    load_before = os.getloadavg()
    results = measure(iterations, rounds, names)
    load_after = os.getloadavg()
    print(f"{iterations} meta-iterations x {rounds} rounds, meta-batch {META_BATCH}, "
          f"1-40-40-1 ReLU, float64, torch on {args.torch_threads} thread(s); load average "
          f"(1 min) {load_before[0]:.1f} at the start, "
          f"{load_after[0]:.1f} at the end, on {os.cpu_count()} cores")
    print("| implementation | MAML | ms / iteration (wall) | ms / iteration (CPU) | "
          f"{FINN_ITERATIONS:,} iterations (s, wall) |")
    print("|---|---|---:|---:|---:|")
    for (name, order), (wall, cpu) in results.items():
        print(f"| {name} | {order} | {wall * 1e3:.2f} | {cpu * 1e3:.2f} | "
              f"{wall * FINN_ITERATIONS:.0f} |")
    for name in names:
        exact, first = results[name, "exact"][0], results[name, "first-order"][0]
        print(f"{name}: exact / first-order = {exact / first:.2f}")
    if args.protocol:
        from steepest.examples import meta

        start = time.perf_counter()
        path = meta.run(args.protocol, overwrite=True)
        print(f"whole protocol (steepest.examples.meta.run): {time.perf_counter() - start:.0f} s"
              f" wall -> {path}")


if __name__ == "__main__":
    main()
