"""McMahan et al.'s federated MNIST experiment on MNIST-5k (FedSGD, FedAvg, FedProx, FedAdam).

    python examples/federated_learning.py runs/federated          # a few minutes
    python examples/federated_learning.py runs/federated --quick  # seconds

Writes report.html (accuracy against rounds and bytes, rounds to 0.88) and results.json.
"""

from __future__ import annotations

import argparse

from steepest.examples import federated

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(federated.run(args.out_dir, quick=args.quick))
