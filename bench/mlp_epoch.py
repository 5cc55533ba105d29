"""One training epoch of an MLP 784-256-256-10 with Adam: steepest against PyTorch and
scikit-learn, on synthetic data of MNIST's shape (float32, 10 classes).

Every (implementation, batch size) sample runs in its own subprocess, so that each
reports its own peak memory (``ru_maxrss``) and no thread pool of one library leaks
into another's timing. Inside the subprocess the data are made, the model is warmed
up on two batches (Numba compilation, torch's first calls), then one epoch is timed.
Rounds are interleaved: every round runs every implementation once, the order
rotating; the table gives medians. The parent measures the float32 matmul rate
(NumPy, 2048³) between rounds; the FLOP floor is ~3 × the forward FLOPs per epoch
divided by that rate.

    .venv/bin/python bench/mlp_epoch.py              # 60,000 samples, about 2 minutes
    .venv/bin/python bench/mlp_epoch.py --samples 12000 --rounds 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

LAYERS = (784, 256, 256, 10)
FORWARD_FLOP_PER_SAMPLE = 2 * sum(a * b for a, b in zip(LAYERS[:-1], LAYERS[1:], strict=True))
# forward + dW + dX = 3x forward (the first layer's dX is not needed: ~25% less in practice)
EPOCH_FLOP_PER_SAMPLE = 3 * FORWARD_FLOP_PER_SAMPLE

IMPLS = {
    # name: (batch sizes it runs at, extra environment)
    "steepest MLPClassifier": ((32, 128, 1024), {}),
    "steepest Trainer float32": ((32, 128, 1024), {}),
    "steepest Trainer float32, OMP_WAIT_POLICY=PASSIVE": ((32, 128, 1024),
                                                          {"OMP_WAIT_POLICY": "PASSIVE"}),
    "torch eager (2 threads)": ((32, 128, 1024), {}),
    "sklearn MLPClassifier": ((128,), {}),
}


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def data(n: int):
    rng = np.random.default_rng(0)
    return rng.random((n, LAYERS[0]), dtype=np.float32), rng.integers(0, 10, n)


def worker(impl: str, batch: int, n: int) -> dict:
    X, y = data(n)
    warm = 2 * batch
    if impl.startswith("steepest MLPClassifier"):
        from sklearn.exceptions import ConvergenceWarning

        import steepest

        def make():
            return steepest.MLPClassifier((256, 256), optimizer="adam", lr=1e-3,
                                          batch_size=batch, epochs=1, tol=None, random_state=0)
        warnings.simplefilter("ignore", ConvergenceWarning)
        make().fit(X[:warm], y[:warm])
        run = lambda: make().fit(X, y)  # noqa: E731
    elif impl.startswith("steepest Trainer"):
        from steepest import nn, optim
        from steepest.train import Trainer

        def make():
            net = nn.Network([nn.Dense(256, weight_init="he_uniform"), nn.ReLU(),
                              nn.Dense(256, weight_init="he_uniform"), nn.ReLU(), nn.Dense(10)],
                             n_features=LAYERS[0], dtype="float32", random_state=0)
            return Trainer(net, "categorical_crossentropy", optim.Adam(lr=1e-3),
                           batch_size=batch, random_state=0)
        make().fit(X[:warm], y[:warm], epochs=1)
        run = lambda: make().fit(X, y, epochs=1)  # noqa: E731
    elif impl.startswith("torch"):
        import torch

        torch.set_num_threads(2)
        torch.manual_seed(0)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def epoch(count):
            model = torch.nn.Sequential(
                torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                torch.nn.ReLU(), torch.nn.Linear(256, 10))
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            lossf = torch.nn.CrossEntropyLoss()
            order = torch.randperm(count)
            for i in range(0, count, batch):
                idx = order[i:i + batch]
                opt.zero_grad()
                lossf(model(Xt[idx]), yt[idx]).backward()
                opt.step()
        epoch(warm)
        run = lambda: epoch(n)  # noqa: E731
    else:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        def make():
            return MLPClassifier((256, 256), solver="adam", learning_rate_init=1e-3,
                                 batch_size=batch, max_iter=1, random_state=0)
        warnings.simplefilter("ignore", ConvergenceWarning)
        make().fit(X[:warm], y[:warm])
        run = lambda: make().fit(X, y)  # noqa: E731
    before = rss_mib()
    t = time.perf_counter()
    run()
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_MiB": peak, "before_MiB": before}


def sgemm_gflops() -> float:
    rng = np.random.default_rng(1)
    a = rng.random((2048, 2048), dtype=np.float32)
    b = rng.random((2048, 2048), dtype=np.float32)
    a @ b
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * 2048**3 / (time.perf_counter() - t) / 1e9)
    return best


def other_load(fn):
    """Run fn(); return (result, cores other processes kept busy meanwhile)."""
    def snap():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        busy = sum(fields[:3]) + sum(fields[5:7])
        child = os.times()
        return busy, child.children_user + child.children_system + child.user + child.system
    s, t0 = snap(), time.perf_counter()
    result = fn()
    e, wall = snap(), time.perf_counter() - t0
    tick = os.sysconf("SC_CLK_TCK")
    return result, max(0.0, (e[0] - s[0]) / tick - (e[1] - s[1])) / wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=60000,
                   help="samples per epoch (default 60000, MNIST's size: about 2 min here)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", default="32,128,1024")
    p.add_argument("--worker", nargs=3, metavar=("IMPL", "BATCH", "N"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        impl, batch, n = args.worker
        print(json.dumps(worker(impl, int(batch), int(n))))
        return

    batches = [int(b) for b in args.batches.split(",")]
    jobs = [(impl, b) for impl, (bs, _) in IMPLS.items() for b in batches if b in bs]
    samples: dict = {job: [] for job in jobs}
    loads, gflops = [], []
    start = time.perf_counter()
    for r in range(args.rounds):
        gflops.append(sgemm_gflops())
        k = r % len(jobs)
        for impl, b in jobs[k:] + jobs[:k]:
            env = {**os.environ, **IMPLS[impl][1]}
            cmd = [sys.executable, __file__, "--worker", impl, str(b), str(args.samples)]
            out, load = other_load(lambda cmd=cmd, env=env: subprocess.run(
                cmd, env=env, check=True, capture_output=True, text=True).stdout)
            samples[impl, b].append(json.loads(out.strip().splitlines()[-1]))
            loads.append(load)
            print(f"round {r + 1} {impl} B={b}: {samples[impl, b][-1]['seconds']:.2f} s",
                  file=sys.stderr)
    gflops.append(sgemm_gflops())
    elapsed = time.perf_counter() - start

    import sklearn
    import torch

    rate = statistics.median(gflops)
    floor = EPOCH_FLOP_PER_SAMPLE * args.samples / (rate * 1e9)
    print(f"`{' '.join(['.venv/bin/python', 'bench/mlp_epoch.py', *sys.argv[1:]])}` — "
          f"{dt.datetime.now().isoformat(timespec='seconds')}, {elapsed:.0f} s\n")
    print(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"CPUs; Python {platform.python_version()}, NumPy {np.__version__}, "
          f"torch {torch.__version__}, scikit-learn {sklearn.__version__}")
    print(f"- data: {args.samples} × 784 float32, 10 classes, synthetic; one epoch, Adam "
          "lr 1e-3; median of "
          f"{args.rounds} interleaved rounds, one subprocess per sample (after a 2-batch warm-up)")
    print(f"- FLOP floor: {EPOCH_FLOP_PER_SAMPLE * args.samples / 1e9:.1f} GFLOP "
          f"(3 × forward) / {rate:.1f} GFLOP/s (NumPy float32 matmul 2048³, median over "
          f"rounds, min {min(gflops):.1f}, max {max(gflops):.1f}) = {floor:.2f} s")
    print(f"- other load (cores other processes kept busy, per sample): median "
          f"{statistics.median(loads):.2f}, max {max(loads):.2f}")
    print("- peak MiB: ru_maxrss of the subprocess (data 180 MiB included); "
          "Δ MiB: peak − RSS just before the timed epoch\n")
    print("| batch | implementation | median s | min s | max s | steepest MLPClassifier / "
          "this | of floor | s per 60k (scaled) | peak MiB | Δ MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b in batches:
        ref = statistics.median(s["seconds"] for s in samples[jobs[[j[1] for j in jobs]
                                                                   .index(b)]])
        for impl, bb in jobs:
            if bb != b:
                continue
            secs = [s["seconds"] for s in samples[impl, b]]
            med = statistics.median(secs)
            peak = max(s["peak_MiB"] for s in samples[impl, b])
            delta = max(s["peak_MiB"] - s["before_MiB"] for s in samples[impl, b])
            print(f"| {b} | {impl} | {med:.2f} | {min(secs):.2f} | {max(secs):.2f} | "
                  f"{ref / med:.2f}× | {floor / med * 100:.0f}% | "
                  f"{med * 60000 / args.samples:.1f} | {peak:.0f} | {delta:.0f} |")


if __name__ == "__main__":
    main()
