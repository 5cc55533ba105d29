"""Recommendation: matrix factorisation of the MovieLens 100K ratings.

::

    from steepest.examples import recommend

    recommend.run("out/recommend")             # writes out/recommend/report.html

The 100,000 ratings (:func:`steepest.datasets.fetch_movielens_100k`) are split 4:1 at
random. :class:`steepest.MatrixFactorization` with its defaults (Surprise's ``SVD``: 100
factors, 20 epochs, lr 0.005, regularisation 0.02) learns by per-rating SGD, and the same
model by Adam on mini-batches of 1,024 ratings at torch's default rate. The report plots
the test RMSE of every epoch against Surprise's published figure (0.934 in its README,
0.9359 measured here, both 5-fold cross-validation; ``bench/mf.py`` runs that protocol)
and lists the top recommendations for a few users: the unseen films with the highest
predicted ratings, by item id (RecBole's file of the ratings carries no titles).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from steepest import MatrixFactorization, optim
from steepest.datasets import fetch_movielens_100k
from steepest.plot import plot_train_validation
from steepest.report import Report

__all__ = ["run"]

SEED = 0
TEST_SIZE = 0.2
SURPRISE_README_RMSE = 0.934
SURPRISE_MEASURED_RMSE = 0.9359
"""Surprise 1.1.5 ``SVD()``, 5-fold CV on MovieLens 100K, measured on this project's
machine (issue 15)."""
USERS_SHOWN = 3
TOP_N = 5


def _models(quick: bool) -> dict:
    settings = dict(n_factors=20, epochs=5) if quick else {}
    return {
        "per-rating SGD (the defaults)": MatrixFactorization(random_state=SEED, **settings),
        "mini-batch Adam (1,024 ratings, lr 0.001)": MatrixFactorization(
            optimizer=optim.Adam(lr=0.001), random_state=SEED, **settings),
    }


def _recommendations(model, X_train, users) -> list[list]:
    """For each user, the ``TOP_N`` items they did not rate with the highest predictions."""
    rows = []
    items = model.items_
    for user in users:
        seen = set(X_train[X_train[:, 0] == user, 1].tolist())
        candidates = np.array([item for item in items if item not in seen])
        pairs = np.column_stack([np.full(len(candidates), user), candidates])
        predicted = model.predict(pairs)
        best = np.argsort(-predicted, kind="stable")[:TOP_N]
        for rank, k in enumerate(best, start=1):
            rows.append([user, rank, candidates[k], float(predicted[k])])
    return rows


def run(out_dir: str | os.PathLike = "steepest-recommend", *, quick: bool = False) -> Path:
    """Train the factorisations and write ``out_dir/report.html``; return its path.

    Parameters
    ----------
    out_dir : str or path-like
        Created when missing; ``report.html`` in it is replaced.
    quick : bool, default=False
        A tenth of the ratings, 20 factors and 5 epochs, for a test (seconds).
    """
    from sklearn.metrics import mean_absolute_error
    from sklearn.model_selection import train_test_split


    bunch = fetch_movielens_100k()
    X, y = np.asarray(bunch.data), np.asarray(bunch.target, dtype=np.float64)
    if quick:
        X, _, y, _ = train_test_split(X, y, train_size=0.1, random_state=SEED)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE,
                                                        random_state=SEED)
    rows, histories, fitted = [], {}, {}
    for name, model in _models(quick).items():
        start = time.perf_counter()
        model.fit(X_train, y_train, validation_data=(X_test, y_test))
        seconds = time.perf_counter() - start
        predicted = model.predict(X_test)
        rmse = float(np.sqrt(np.mean((predicted - y_test) ** 2)))
        rows.append([name, rmse, float(mean_absolute_error(y_test, predicted)), seconds])
        histories[name], fitted[name] = model.history_, model

    report = Report("Recommendation: MovieLens 100K",
                    subtitle=f"{len(y_train):,} training and {len(y_test):,} test ratings"
                             + (" (quick run: a tenth of the data)" if quick else ""))
    report.add_paragraph(
        "Biased matrix factorisation predicts user u's rating of item i as "
        "μ + b_u + b_i + q_iᵀ p_u. With its defaults, steepest's MatrixFactorization is "
        "Surprise's SVD: 100 factors, 20 epochs of per-rating SGD at lr 0.005 with "
        "regularisation 0.02, factors drawn from N(0, 0.1²). The same model is also trained "
        "by Adam on shuffled mini-batches of 1,024 ratings. Both are scored on the same "
        "held-out fifth of the ratings after every epoch.")
    report.add_heading("Test error")
    report.add_table(rows, columns=["training", "test RMSE", "test MAE", "fit time (s)"],
                     formats={"test RMSE": ".4f", "test MAE": ".4f", "fit time (s)": ".2f"})
    sgd = rows[0][1]
    report.add_note("Against Surprise", {
        "seen": f"per-rating SGD reaches a test RMSE of {sgd:.4f} on this split; Surprise's SVD "
                f"scores {SURPRISE_README_RMSE} in its README and {SURPRISE_MEASURED_RMSE} "
                "measured here.",
        "note": "Those figures are means over 5-fold cross-validation, this is one 80/20 "
                "split, so they compare within the spread of splits (about ±0.005); "
                "bench/mf.py runs Surprise itself on the same folds."})
    report.add_heading("RMSE per epoch")
    references = {} if quick else {f"Surprise SVD, README ({SURPRISE_README_RMSE})":
                                   SURPRISE_README_RMSE,
                                   f"Surprise SVD, measured ({SURPRISE_MEASURED_RMSE})":
                                   SURPRISE_MEASURED_RMSE}
    report.add_figure(plot_train_validation(histories, "rmse", "val_rmse", ylabel="RMSE",
                                            validation_label="test", references=references),
                      caption="Test RMSE (solid) and training RMSE as the epoch went "
                              "(dotted), epoch by epoch.")
    report.add_heading("Top recommendations")
    model = fitted[rows[0][0]]
    users = model.users_[:USERS_SHOWN]
    report.add_table(_recommendations(model, X_train, users),
                     columns=["user id", "rank", "item id", "predicted rating"],
                     caption=f"The {TOP_N} films each user has not rated with the highest "
                             "predicted rating (per-rating SGD model). Item ids only: "
                             "RecBole's ml-100k.inter file has no titles.",
                     formats={"predicted rating": ".2f"})
    report.add_heading("Data")
    report.add_paragraph("\n\n".join(bunch.DESCR.strip().split("\n\n")[1:]))
    return report.write(Path(out_dir) / "report.html")
