"""Logistic regression on a Dask cluster: steepest against dask-ml, same cluster, same run.
(Not bench/distributed.py: a script of that name, run from bench/, would shadow the
``distributed`` package it needs.)

The problem of issue 12: 1,000,000 × 20 float64, binary, L2 with scikit-learn's C = 1
(steepest: ``alpha = 1 / n``, the same objective divided by n; dask-ml also penalises
its intercept, which moves the coefficients by ~1e-6 here), on a ``LocalCluster`` of 2
worker processes × 1 thread, the data persisted on the workers before any timing.

* steepest ``LogisticRegression(optimizer="lbfgs")`` and ``optimizer="newton"``,
  fitted on the Dask arrays (one round trip per evaluation);
* dask-ml ``LogisticRegression(solver="lbfgs")`` and ``solver="newton"``;
* steepest L-BFGS again with one worker SIGKILLed after the third iteration (the
  nanny restarts it; Dask recomputes its partitions from their lineage).

Each fit's coefficients are compared with scikit-learn's ``LogisticRegression(C=1)`` on
the same data in memory. Contestants are interleaved round by round; medians. Before
the first round every contestant fits once, untimed, on the rows of the first partition
(``--no-warmup`` skips it), so that no contestant's time holds the workers' first
imports of its code.

    .venv/bin/python bench/dask_fit.py              # about 5 minutes
    .venv/bin/python bench/dask_fit.py --rows 200000 --rounds 1   # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import statistics
import sys
import threading
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")


def problem(n: int, d: int, partitions: int, seed: int = 0):
    import dask.array as da

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d) * 3
    y = (X @ w + rng.standard_normal(n) > 0).astype(np.int64)
    chunk = -(-n // partitions)
    return X, y, da.from_array(X, chunks=(chunk, d)), da.from_array(y, chunks=chunk)


def steepest_fit(method: str, X, y, n: int):
    from steepest import LogisticRegression

    model = LogisticRegression(optimizer=method, alpha=1.0 / n, epochs=200, tol=1e-6)
    model.fit(X, y)
    return np.concatenate([model.coef_.ravel(), model.intercept_.ravel()])


def dask_ml_fit(solver: str, X, y):
    from dask_ml.linear_model import LogisticRegression

    model = LogisticRegression(solver=solver, C=1.0, max_iter=200, tol=1e-6)
    model.fit(X, y)
    return np.concatenate([np.ravel(model.coef_), np.ravel(model.intercept_)])


def killing_one_worker(client, after_s: float):
    """A thread that SIGKILLs one worker process ``after_s`` seconds from now."""
    pid = next(iter(client.run(os.getpid).values()))
    timer = threading.Timer(after_s, os.kill, (pid, signal.SIGKILL))
    timer.start()
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()

    from distributed import Client, LocalCluster
    from sklearn.linear_model import LogisticRegression as SkLogistic

    n = args.rows
    X, y, Xd, yd = problem(n, args.features, args.partitions)
    reference = SkLogistic(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    reference = np.concatenate([reference.coef_.ravel(), reference.intercept_])

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        Xd, yd = client.persist([Xd, yd])

        def fits(Xd, yd, n):
            return {"steepest lbfgs": lambda: steepest_fit("lbfgs", Xd, yd, n),
                    "steepest newton": lambda: steepest_fit("newton", Xd, yd, n),
                    "dask-ml lbfgs": lambda: dask_ml_fit("lbfgs", Xd, yd),
                    "dask-ml newton": lambda: dask_ml_fit("newton", Xd, yd)}

        if not args.no_warmup:
            first = Xd.chunks[0][0]
            for fit in fits(Xd[:first], yd[:first], first).values():
                fit()
        contestants = fits(Xd, yd, n)
        times = {name: [] for name in [*contestants, "steepest lbfgs, a worker killed"]}
        errors = {}
        for r in range(args.rounds):
            names = list(contestants)
            names = names[r % len(names):] + names[:r % len(names)]
            for name in names:
                began = time.perf_counter()
                coef = contestants[name]()
                times[name].append(time.perf_counter() - began)
                errors[name] = float(np.max(np.abs(coef - reference)))
            undisturbed = statistics.median(times["steepest lbfgs"])
            timer = killing_one_worker(client, undisturbed / 3)
            began = time.perf_counter()
            coef = contestants["steepest lbfgs"]()
            times["steepest lbfgs, a worker killed"].append(time.perf_counter() - began)
            timer.cancel()
            errors["steepest lbfgs, a worker killed"] = float(np.max(np.abs(coef - reference)))
            client.wait_for_workers(2, timeout=60)

    medians = {name: statistics.median(values) for name, values in times.items()}
    header = (f"{dt.date.today()} · {platform.processor() or platform.machine()} · "
              f"{os.cpu_count()} CPUs · Python {sys.version.split()[0]} · "
              f"{n:,} x {args.features}, {args.partitions} partitions, 2 workers x 1 thread, "
              f"{args.rounds} rounds{'' if args.no_warmup else ', after a warm-up fit each'}")
    print(header)
    rows = [(name, medians[name], errors[name]) for name in times]
    peers = {"steepest lbfgs": ("dask-ml lbfgs", "dask-ml newton"),
             "steepest newton": ("dask-ml newton",),
             "steepest lbfgs, a worker killed": ("steepest lbfgs",)}
    if args.markdown:
        print("\n| fit | median s | max |coef - sklearn| | ratio |")
        print("|---|---|---|---|")
    for name, seconds, error in rows:
        ratios = ", ".join(f"{seconds / medians[p]:.2f}x {p}" for p in peers.get(name, ()))
        line = (f"| {name} | {seconds:.2f} | {error:.1e} | {ratios} |" if args.markdown
                else f"{name:34s} {seconds:8.2f} s   max|coef - sklearn| {error:.1e}   {ratios}")
        print(line)


if __name__ == "__main__":
    main()
