"""Matrix factorisation on MovieLens 100K: steepest against Surprise's SVD, 5-fold CV.

The same folds (scikit-learn ``KFold(5, shuffle=True, random_state=SEED)`` over the
100,000 ratings), the same hyperparameters (100 factors, 20 epochs, lr 0.005,
regularisation 0.02, factors from N(0, 0.1²), biases from 0), in the same run:

- ``steepest MatrixFactorization()`` (the defaults, ``random_state=seed``: its own draw);
- ``steepest, Surprise's start``: the same model started from the factors Surprise
  draws for ``SVD(random_state=seed)``, so its RMSE must equal Surprise's to rounding;
- ``Surprise SVD()`` (``random_state=seed``);
- with ``--adam``: steepest on mini-batches of 1024 ratings (the default) with Adam at
  torch's default rate, ``optimizer=optim.Adam(lr=0.001)`` (for information: no target).

RMSE and MAE are of the clipped predictions (Surprise clips to its rating scale
[1, 5]; steepest to the training ratings' range, the same here). Fit time: steepest's
whole ``fit(X, y)`` (id mapping and checks included) against Surprise's
``SVD.fit(trainset)`` only (its trainset is built before the clock starts). Per fold
the implementations run one after the other, the order rotating. ``--rounds`` repeats
the 5 folds with other seeds (``seed = fold + 5·round``), so the RMSE (a mean over all
fits) averages over starting draws too; fit times are medians over all fits. Before
timing, one small fit loads steepest's compiled loop (from Numba's cache; the load time
is reported).

    .venv/bin/python bench/mf.py                       # about 30 s a round
    .venv/bin/python bench/mf.py --data PATH           # ml-100k.inter or u.data

The data come from ``steepest.datasets.fetch_movielens_100k`` when it exists, else
from ``--data``: RecBole's ``ml-100k.inter`` (inside the ``recbole==1.2.1`` wheel at
``recbole/dataset_example/ml-100k/``) or GroupLens' ``u.data``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time

import numpy as np
from sklearn.model_selection import KFold

import steepest
from steepest import MatrixFactorization, optim

SEED = 0
HYPERPARAMETERS = {"n_factors": 100, "epochs": 20, "lr": 0.005, "alpha": 0.02,
                   "init_std": 0.1}


def load(path: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, source)``: X of shape (100000, 2) user and item ids, y the ratings."""
    if path is None:
        try:
            from steepest.datasets import fetch_movielens_100k
        except ImportError:
            raise SystemExit("steepest.datasets.fetch_movielens_100k is not there yet; pass "
                             "--data PATH (ml-100k.inter or u.data).") from None
        X, y = fetch_movielens_100k(return_X_y=True)
        return np.asarray(X), np.asarray(y, dtype=np.float64), "fetch_movielens_100k"
    with open(path) as file:
        first = file.readline()
    skip = 0 if first.split()[0].isdigit() else 1  # ml-100k.inter has a header line
    table = np.loadtxt(path, skiprows=skip, usecols=(0, 1, 2))
    return table[:, :2].astype(np.int64), table[:, 2], os.path.basename(path)


def surprise_start(seed: int, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """The factors ``SVD(random_state=seed)`` starts from (``SVD.sgd``: users, then items)."""
    rng = np.random.RandomState(seed)
    return (rng.normal(0, 0.1, (n_users, HYPERPARAMETERS["n_factors"])),
            rng.normal(0, 0.1, (n_items, HYPERPARAMETERS["n_factors"])))


def scores(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    error = y - predicted
    return float(np.sqrt(np.mean(error ** 2))), float(np.mean(np.abs(error)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="ml-100k.inter or u.data, when steepest.datasets has no "
                                  "fetch_movielens_100k")
    p.add_argument("--rounds", type=int, default=1, help="repetitions of the 5 folds")
    p.add_argument("--adam", action="store_true", help="add mini-batch Adam")
    args = p.parse_args()
    started = time.perf_counter()

    import surprise
    from surprise import SVD, Dataset, Reader

    X, y, source = load(args.data)
    t = time.perf_counter()
    MatrixFactorization(2, epochs=1).fit([[0, 0], [1, 1]], [1.0, 2.0]).predict([[0, 1]])
    load_time = time.perf_counter() - t
    if args.adam:
        MatrixFactorization(2, epochs=1, optimizer="adam").fit([[0, 0], [1, 1]], [1.0, 2.0])

    names = ["steepest MatrixFactorization()", "steepest, Surprise's start", "Surprise SVD()"]
    if args.adam:
        names.append("steepest, Adam(lr=0.001) on batches of 1024")
    results = {name: {"rmse": [], "mae": [], "time": []} for name in names}
    dataset = Dataset(Reader(rating_scale=(1, 5)))
    folds = list(KFold(5, shuffle=True, random_state=SEED).split(X))
    load_before = os.getloadavg()[0]
    for r in range(args.rounds):
        for fold, (train, test) in enumerate(folds):
            trainset = dataset.construct_trainset(
                [(int(u), int(i), float(v), None) for (u, i), v in zip(X[train], y[train],
                                                                        strict=True)])
            testset = [(int(u), int(i), float(v)) for (u, i), v in zip(X[test], y[test],
                                                                       strict=True)]
            seed = fold + 5 * r
            P0, Q0 = surprise_start(seed, trainset.n_users, trainset.n_items)

            def run_steepest(seed=seed, train=train, test=test):
                model = MatrixFactorization(**HYPERPARAMETERS, random_state=seed)
                t = time.perf_counter()
                model.fit(X[train], y[train])
                return time.perf_counter() - t, model.predict(X[test])

            def run_surprise_start(train=train, test=test, P0=P0, Q0=Q0):
                model = MatrixFactorization(**HYPERPARAMETERS)
                t = time.perf_counter()
                model.fit(X[train], y[train], user_factors=P0, item_factors=Q0)
                return time.perf_counter() - t, model.predict(X[test])

            def run_surprise(seed=seed, trainset=trainset, testset=testset):
                algo = SVD(n_factors=100, n_epochs=20, lr_all=0.005, reg_all=0.02,
                           init_std_dev=0.1, random_state=seed)
                t = time.perf_counter()
                algo.fit(trainset)
                return time.perf_counter() - t, np.array([p.est for p in algo.test(testset)])

            def run_adam(seed=seed, train=train, test=test):
                model = MatrixFactorization(**HYPERPARAMETERS, optimizer=optim.Adam(lr=0.001),
                                            random_state=seed)
                t = time.perf_counter()
                model.fit(X[train], y[train])
                return time.perf_counter() - t, model.predict(X[test])

            runs = dict(zip(names, (run_steepest, run_surprise_start, run_surprise, run_adam),
                            strict=False))
            k = (r * len(folds) + fold) % len(names)
            for name in names[k:] + names[:k]:
                seconds, predicted = runs[name]()
                rmse, mae = scores(y[test], predicted)
                for key, value in (("rmse", rmse), ("mae", mae), ("time", seconds)):
                    results[name][key].append(value)
                print(f"round {r + 1} fold {fold + 1} {name}: RMSE {rmse:.4f} MAE {mae:.4f} "
                      f"{seconds:.3f} s", file=sys.stderr)
    load_after = os.getloadavg()[0]

    reference = statistics.median(results["Surprise SVD()"]["time"])
    print(f"`{' '.join(['.venv/bin/python', 'bench/mf.py', *sys.argv[1:]])}` — "
          f"{dt.datetime.now().isoformat(timespec='seconds')}, "
          f"{time.perf_counter() - started:.0f} s\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs, load average "
          f"{load_before:.1f} before / {load_after:.1f} after; Python "
          f"{platform.python_version()}, NumPy {np.__version__}, steepest "
          f"{steepest.__version__}, Surprise {surprise.__version__}")
    print(f"- MovieLens 100K ({source}, {len(y):,} ratings), 5-fold CV (KFold shuffle, "
          f"seed {SEED}), {args.rounds} round(s); medians over "
          f"{5 * args.rounds} fits; steepest's compiled loop loaded in {load_time:.2f} s "
          "before timing\n")
    print("| implementation | RMSE (mean of fits) | ± (std of fits) | MAE | median fit s | "
          "min s | max s | fit time / Surprise's |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        res = results[name]
        med = statistics.median(res["time"])
        print(f"| {name} | {np.mean(res['rmse']):.4f} | {np.std(res['rmse']):.4f} | "
              f"{np.mean(res['mae']):.4f} | "
              f"{med:.3f} | {min(res['time']):.3f} | {max(res['time']):.3f} | "
              f"{med / reference:.2f}× |")
    same = np.abs(np.array(results["steepest, Surprise's start"]["rmse"])
                  - np.array(results["Surprise SVD()"]["rmse"])).max()
    print(f"\nLargest per-fold RMSE difference, Surprise's start vs Surprise: {same:.1e}")


if __name__ == "__main__":
    main()
