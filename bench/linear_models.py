"""Logistic regression: steepest against scikit-learn (and a plain NumPy loop).

1. Per-sample SGD, one epoch over 200,000 × 100 (float32 and float64):
   ``steepest.LogisticRegression(optimizer="sgd", batch_size=1, epochs=1, tol=None)``
   vs ``SGDClassifier(loss="log_loss", max_iter=1, tol=None)`` vs a NumPy loop, and
   steepest again with a rate that decays every update (``schedules.inverse_time``;
   scikit-learn's default ``optimal`` rate decays per update too).
2. Full-batch L-BFGS to the optimum, 100,000 × 100 float64:
   ``steepest.LogisticRegression(optimizer="lbfgs", alpha=a)`` vs
   ``LogisticRegression(C=1/(a·n), solver="lbfgs")`` -- the same objective,
   mean log-loss + a/2·||w||² (intercept unpenalised); both final objectives are
   evaluated by this script.

Implementations are interleaved round by round (order rotating); medians.

    .venv/bin/python bench/linear_models.py          # about 2 minutes
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.linear_model import SGDClassifier

import steepest
from steepest import optim, schedules

warnings.simplefilter("ignore", ConvergenceWarning)


def problem(n: int, d: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X @ rng.standard_normal(d) / np.sqrt(d) * 3 + rng.standard_normal(n) > 0).astype(int)
    return X, y


def numpy_sgd(X, y, lr=0.1):
    """Plain per-sample SGD on the mean log-loss, one epoch, shuffled order."""
    w, b = np.zeros(X.shape[1], X.dtype), 0.0
    for i in np.random.default_rng(0).permutation(len(X)):
        x = X[i]
        z = float(x @ w) + b
        g = 1.0 / (1.0 + np.exp(-z)) - y[i]
        w -= (lr * g) * x
        b -= lr * g
    return w, b


def objective(X, y, coef, intercept, alpha):
    z = X.astype(np.float64) @ np.ravel(coef).astype(np.float64) + float(np.ravel(intercept)[0])
    return float(np.mean(np.logaddexp(0, z) - y * z) + alpha / 2 * np.sum(np.ravel(coef) ** 2))


def time_rounds(impls: dict, rounds: int) -> dict:
    times = {name: [] for name in impls}
    extra = {}
    names = list(impls)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t = time.perf_counter()
            extra[name] = impls[name]()
            times[name].append(time.perf_counter() - t)
            print(f"round {r + 1} {name}: {times[name][-1]:.3f} s", file=sys.stderr)
    return {"times": times, "extra": extra}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sgd-samples", type=int, default=200_000)
    p.add_argument("--lbfgs-samples", type=int, default=100_000)
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    start = time.perf_counter()
    d = 100

    # warm-up: Numba loaded and the per-sample loop compiled (40,000 updates is above
    # steepest.train._per_sample.MIN_UPDATES, so the compiled epoch is taken)
    Xw, yw = problem(40_000, d, np.float64)
    for dtype in (np.float32, np.float64):
        steepest.LogisticRegression(optimizer="sgd", batch_size=1, epochs=1, tol=None).fit(
            Xw.astype(dtype), yw)
    steepest.LogisticRegression(optimizer="lbfgs", alpha=args.alpha).fit(Xw, yw)

    sgd_rows = []
    for dtype in (np.float32, np.float64):
        X, y = problem(args.sgd_samples, d, dtype)
        impls = {
            "steepest LogisticRegression(sgd, batch_size=1)": lambda X=X, y=y: steepest
            .LogisticRegression(optimizer="sgd", batch_size=1, epochs=1, tol=None,
                                random_state=0).fit(X, y),
            "sklearn SGDClassifier(log_loss, max_iter=1)": lambda X=X, y=y: SGDClassifier(
                loss="log_loss", max_iter=1, tol=None, random_state=0).fit(X, y),
            "NumPy per-sample loop": lambda X=X, y=y: numpy_sgd(X, y),
            "steepest, lr = inverse_time(0.1, 1e-4) (a rate per update)": lambda X=X, y=y:
            steepest.LogisticRegression(
                optimizer=optim.SGD(lr=schedules.inverse_time(0.1, 1e-4)), batch_size=1,
                epochs=1, tol=None, random_state=0).fit(X, y),
        }
        res = time_rounds(impls, args.rounds)
        ref = statistics.median(res["times"][next(iter(impls))])
        for name, ts in res["times"].items():
            med = statistics.median(ts)
            sgd_rows.append(f"| {np.dtype(dtype).name} | {name} | {med:.3f} | {min(ts):.3f} | "
                            f"{max(ts):.3f} | {med / args.sgd_samples * 1e6:.2f} | "
                            f"{ref / med:.2f}× |")

    n, a = args.lbfgs_samples, args.alpha
    X, y = problem(n, d, np.float64, seed=1)
    impls = {
        "steepest LogisticRegression(lbfgs)": lambda: steepest.LogisticRegression(
            optimizer="lbfgs", alpha=a).fit(X, y),
        "sklearn LogisticRegression(lbfgs)": lambda: SkLogistic(
            C=1 / (a * n), solver="lbfgs", max_iter=1000).fit(X, y),
    }
    res = time_rounds(impls, args.rounds)
    ref = statistics.median(res["times"][next(iter(impls))])
    lbfgs_rows = []
    for name, ts in res["times"].items():
        m = res["extra"][name]
        med = statistics.median(ts)
        obj = objective(X, y, m.coef_, m.intercept_, a)
        lbfgs_rows.append(f"| {name} | {med:.3f} | {min(ts):.3f} | {max(ts):.3f} | "
                          f"{int(np.max(m.n_iter_))} | {obj:.10f} | {ref / med:.2f}× |")

    print(f"`{' '.join(['.venv/bin/python', 'bench/linear_models.py', *sys.argv[1:]])}` — "
          f"{dt.datetime.now().isoformat(timespec='seconds')}, "
          f"{time.perf_counter() - start:.0f} s\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs; Python "
          f"{platform.python_version()}, NumPy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}")
    print(f"- median of {args.rounds} interleaved rounds (order rotating), after a warm-up "
          "fit on 40,000 samples; synthetic data from a noisy logistic model\n")
    print(f"Per-sample SGD, one epoch over {args.sgd_samples:,} × {d}:\n")
    print("| dtype | implementation | median s | min s | max s | µs/sample | "
          "steepest / this |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(sgd_rows))
    print(f"\nL-BFGS to the optimum, {n:,} × {d} float64, alpha = {a} "
          f"(sklearn C = 1/(alpha·n) = {1 / (a * n):g}); objective = mean log-loss + "
          "alpha/2·||w||², computed here for both:\n")
    print("| implementation | median s | min s | max s | iterations | final objective | "
          "steepest / this |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lbfgs_rows))


if __name__ == "__main__":
    main()
