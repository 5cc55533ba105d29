"""Write the Surprise ``SVD`` reference that tests/test_factorization.py checks.

Run from the repository root with Surprise installed
(``pip install scikit-surprise==1.1.5``)::

    .venv/bin/python scripts/make_mf_references.py

A few hundred ratings of a few dozen users and items (ids with gaps, in no sorted
order, so that first appearance and sorted order differ) are fitted by Surprise's
``SVD`` for ``EPOCHS`` epochs, biased and unbiased. The script stores the ratings,
Surprise's users and items in the order of its inner ids, the starting factors it
drew (``RandomState(SEED).normal(0, 0.1, ...)``, users then items, as ``SVD.sgd``
draws them), its final factors and biases, and its clipped predictions for pairs
that include unseen users and items. The test starts steepest from the same factors
and compares; it does not need Surprise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import surprise
from surprise import SVD, Dataset, Reader

SEED = 7
EPOCHS = 3
N_FACTORS = 4
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "mf_reference.npz"


def ratings(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """300 distinct (user, item) pairs of 30 users and 25 items, ratings 1-5."""
    user_ids = rng.choice(1000, size=30, replace=False)
    item_ids = rng.choice(1000, size=25, replace=False)
    pairs = rng.choice(30 * 25, size=300, replace=False)
    users, items = user_ids[pairs // 25], item_ids[pairs % 25]
    return users, items, rng.integers(1, 6, size=300).astype(np.float64)


def main() -> None:
    rng = np.random.default_rng(2026)
    users, items, r = ratings(rng)
    dataset = Dataset(Reader(rating_scale=(1, 5)))
    trainset = dataset.construct_trainset(
        [(int(u), int(i), float(v), None) for u, i, v in zip(users, items, r, strict=True)])
    inner_users = np.array([trainset.to_raw_uid(k) for k in range(trainset.n_users)])
    inner_items = np.array([trainset.to_raw_iid(k) for k in range(trainset.n_items)])
    start = np.random.RandomState(SEED)
    P0 = start.normal(0, 0.1, size=(trainset.n_users, N_FACTORS))
    Q0 = start.normal(0, 0.1, size=(trainset.n_items, N_FACTORS))
    unfitted = SVD(n_factors=N_FACTORS, n_epochs=0, random_state=SEED).fit(trainset)
    if not (np.array_equal(unfitted.pu, P0) and np.array_equal(unfitted.qi, Q0)):
        raise SystemExit("Surprise no longer draws its starting factors as this script does.")

    # pairs to predict: known, unseen user, unseen item, both unseen
    test_users = np.concatenate([users[:20], [5000, 5001], users[:2], [5002]])
    test_items = np.concatenate([items[:20], items[:2], [6000, 6001], [6002]])
    arrays = {"users": users, "items": items, "ratings": r,
              "inner_users": inner_users, "inner_items": inner_items,
              "user_factors_start": P0, "item_factors_start": Q0,
              "test_users": test_users, "test_items": test_items}
    for biased in (True, False):
        algo = SVD(n_factors=N_FACTORS, n_epochs=EPOCHS, biased=biased, random_state=SEED)
        algo.fit(trainset)
        tag = "biased" if biased else "unbiased"
        arrays[f"{tag}_pu"], arrays[f"{tag}_qi"] = algo.pu, algo.qi
        arrays[f"{tag}_bu"], arrays[f"{tag}_bi"] = algo.bu, algo.bi
        arrays[f"{tag}_predictions"] = np.array(
            [algo.predict(int(u), int(i)).est for u, i in zip(test_users, test_items,
                                                              strict=True)])
    arrays["global_mean"] = np.array(trainset.global_mean)
    arrays["surprise_version"] = np.array(surprise.__version__)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, Surprise {surprise.__version__})")


if __name__ == "__main__":
    main()
