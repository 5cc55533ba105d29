"""One simulated FedAvg round: 100 clients × the 2NN of McMahan et al., C = 0.1, E = 1, B = 10.

The round of issue 13's target (≤ 0.5 s on 2 cores): Fashion-MNIST's 60,000 training
images (Debian's dataset-fashion-mnist, else downloaded; ``--synthetic`` draws random
pixels of the same shape instead) split IID over 100 clients of 600, the 2NN (784 →
200 → 200 → 10, ReLU, 199,210 parameters, float32 and float64), SGD at lr 0.05, so
each drawn client takes 60 local steps: 600 steps per round. Rounds are timed after
one warm-up round; the median of ``--rounds`` is reported with the minimum.

    PYTHONPATH=. .venv/bin/python bench/federated.py           # about half a minute
    PYTHONPATH=. .venv/bin/python bench/federated.py --rounds 3 --synthetic
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

# Batches of 10 make small matrix products: BLAS threads only contend for the cores
# (measured on the shared 2-core machine: 3.3 ms per 10x784 @ 784x200 with threads,
# 0.21 ms with one), so the simulation runs single-threaded, like one device.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402


def images(synthetic: bool):
    if synthetic:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, size=(60000, 784)).astype(np.uint8), \
            rng.integers(0, 10, size=60000)
    from steepest.datasets import fetch_fashion_mnist

    return fetch_fashion_mnist(return_X_y=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()

    from steepest import MLPClassifier
    from steepest.federated import FedAvg, partition

    X, y = images(args.synthetic)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}; 1 warm-up round, then {args.rounds}")
    for dtype in (np.float32, np.float64):
        clients = partition((X / 255).astype(dtype), y, 100, scheme="iid", random_state=0)
        model = MLPClassifier((200, 200), optimizer="sgd", lr=0.05, alpha=0.0,
                              random_state=0)
        times = []
        for round_ in range(args.rounds + 1):
            fed = FedAvg(model, fraction=0.1, local_epochs=1, local_batch_size=10,
                         random_state=round_)
            start = time.perf_counter()
            fed.fit(clients, rounds=1)
            times.append(time.perf_counter() - start)
        timed = times[1:]
        inner = fed.history_["time"][0]
        print(f"{np.dtype(dtype).name}: one round (fit of 1 round) median "
              f"{statistics.median(timed):.3f} s, min {min(timed):.3f} s; the round itself "
              f"(history_['time']) {inner:.3f} s; {fed.estimator_._network.n_params} "
              f"parameters, {len(fed.history_['clients'][0])} clients × 60 steps")


if __name__ == "__main__":
    main()
