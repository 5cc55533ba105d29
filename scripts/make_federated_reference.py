"""Regenerate tests/data/federated_adam_reference.npz: torch.optim.Adam as FedAdam's server.

The clients are scripted (no training): with the global parameters θ_t, client k
answers θ_k = θ_t + s_k (a_k − θ_t), with n_k samples. The server averages,
θ̄ = Σ n_k θ_k / Σ n_k, and torch.optim.Adam(lr=0.1, betas=(0.9, 0.99), eps=1e-3)
steps on the pseudo-gradient Δ_t = θ_t − θ̄ (FedAdam's settings). tests/test_federated.py
runs steepest's FedAdam with the same scripted clients and compares θ after every
round. Needs torch (the [reference] extra): ``python scripts/make_federated_reference.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "federated_adam_reference.npz"
N_PARAMS, N_CLIENTS, ROUNDS = 4, 3, 12
SETTINGS = {"lr": 0.1, "betas": (0.9, 0.99), "eps": 1e-3}


def main() -> None:
    rng = np.random.default_rng(2026)
    targets = rng.normal(size=(N_CLIENTS, N_PARAMS))
    shares = rng.uniform(0.2, 0.9, size=N_CLIENTS)
    sizes = np.array([5, 11, 7])
    theta = torch.zeros(N_PARAMS, dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([theta], **SETTINGS)
    thetas = []
    for _ in range(ROUNDS):
        current = theta.detach().clone()
        answers = [current + shares[k] * (torch.from_numpy(targets[k]) - current)
                   for k in range(N_CLIENTS)]
        total = None
        for answer, n in zip(answers, sizes, strict=True):
            term = answer * int(n)
            total = term if total is None else total + term
        mean = total / int(sizes.sum())
        theta.grad = current - mean
        adam.step()
        thetas.append(theta.detach().numpy().copy())
    np.savez(OUT, targets=targets, shares=shares, sizes=sizes, thetas=np.stack(thetas),
             torch_version=np.array(torch.__version__))
    print(f"wrote {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
