"""Per-sample SGD on a sparse TF-IDF matrix: steepest against scikit-learn's SGDClassifier.

The Rotten Tomatoes reviews (``steepest.datasets.fetch_rotten_tomatoes``), split 3:1
(stratified, seed 0), as ``TfidfVectorizer(sublinear_tf=True, min_df=2)`` features (and,
with ``--bigrams``, also of words and word pairs), in the same run:

- epoch time: ``LogisticRegression(optimizer="sgd", batch_size=1, lr=0.1, alpha=1/n)``
  (the compiled loop over each row's non-zeros, L2 decay in a scale of the weights)
  against ``SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.1,
  alpha=1/n, max_iter=EPOCHS, tol=None)``: the same objective, the same constant step,
  one review per update, reshuffled every epoch. Two figures per implementation: the
  whole ``fit`` divided by the epochs, and (steepest) the median epoch from
  ``history_["time"]`` (no checks, no setup); scikit-learn's fit has no per-epoch clock.
  Medians and minima over ``--repeats`` fits, the implementations alternating (on a
  shared machine the minimum is the steadier figure); one small fit first loads
  steepest's compiled loop from Numba's cache.
- test accuracy: steepest's L-BFGS, mini-batch Adam and per-sample SGD fits against
  scikit-learn's ``LogisticRegression()`` (C=1: the same objective as alpha = 1/n) and
  ``SGDClassifier(loss="log_loss")`` with its defaults.

    .venv/bin/python bench/sparse_text.py                  # about 20 s
    .venv/bin/python bench/sparse_text.py --repeats 15 --bigrams

(Named sparse_text.py, not sparse.py: a script of that name in bench/ shadows the PyPI
package ``sparse``, which Dask and Numba look for, and broke bench/dask_fit.py.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

import steepest
from steepest import LogisticRegression
from steepest.datasets import fetch_rotten_tomatoes

SEED = 0
EPOCHS = 10
LR = 0.1


def features(bigrams: bool):
    bunch = fetch_rotten_tomatoes()
    train, test, y_train, y_test = train_test_split(
        bunch.data, bunch.target, test_size=0.25, stratify=bunch.target, random_state=SEED)
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2,
                                 ngram_range=(1, 2) if bigrams else (1, 1))
    return vectorizer.fit_transform(train), vectorizer.transform(test), y_train, y_test


def time_epochs(X, y, repeats: int) -> dict:
    """Seconds per epoch: ``{measure: (median, min)}`` over the repeats."""
    alpha = 1.0 / X.shape[0]
    ours_fit, ours_epoch, theirs_fit = [], [], []
    LogisticRegression(batch_size=1, epochs=50, alpha=alpha, random_state=0).fit(X[:50], y[:50])
    for r in range(repeats):
        for first in ((True, False) if r % 2 == 0 else (False, True)):
            if first:
                model = LogisticRegression(optimizer="sgd", lr=LR, batch_size=1, epochs=EPOCHS,
                                           alpha=alpha, tol=None, random_state=r)
                start = time.perf_counter()
                model.fit(X, y)
                ours_fit.append((time.perf_counter() - start) / EPOCHS)
                ours_epoch.append(statistics.median(np.diff([0.0] + model.history_["time"])))
            else:
                model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=LR,
                                      alpha=alpha, max_iter=EPOCHS, tol=None, random_state=r)
                start = time.perf_counter()
                model.fit(X, y)
                theirs_fit.append((time.perf_counter() - start) / EPOCHS)
    return {name: (statistics.median(values), min(values)) for name, values in
            (("steepest fit / epochs", ours_fit), ("steepest epoch (history)", ours_epoch),
             ("scikit-learn fit / epochs", theirs_fit))}


def accuracies(X, X_test, y, y_test) -> dict:
    alpha = 1.0 / X.shape[0]
    models = {
        "steepest L-BFGS": LogisticRegression(optimizer="lbfgs", alpha=alpha, epochs=500,
                                              tol=1e-8),
        "steepest mini-batch Adam (32, 10 epochs)": LogisticRegression(
            optimizer="adam", lr=0.01, batch_size=32, epochs=EPOCHS, alpha=alpha, tol=None,
            random_state=SEED),
        "steepest per-sample SGD (10 epochs)": LogisticRegression(
            optimizer="sgd", lr=LR, batch_size=1, epochs=EPOCHS, alpha=alpha, tol=None,
            random_state=SEED),
        "scikit-learn LogisticRegression()": SkLogisticRegression(),
        "scikit-learn SGDClassifier(log_loss)": SGDClassifier(loss="log_loss",
                                                              random_state=SEED),
    }
    return {name: float(model.fit(X, y).score(X_test, y_test))
            for name, model in models.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bigrams", action="store_true",
                        help="also time the matrix of words and word pairs")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"# bench/sparse_text.py, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"steepest {steepest.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}")
    for bigrams in ((False, True) if args.bigrams else (False,)):
        X, X_test, y, y_test = features(bigrams)
        print(f"\n## TF-IDF of {'words and word pairs' if bigrams else 'words'}: "
              f"{X.shape[0]} x {X.shape[1]}, {X.nnz / X.shape[0]:.1f} non-zeros a row")
        times = time_epochs(X, y, args.repeats)
        print(f"{'ms per epoch':28s} {'median':>8s} {'min':>8s}")
        for name, (median, least) in times.items():
            print(f"{name:28s} {median * 1e3:8.2f} {least * 1e3:8.2f}")
        ours, theirs = times["steepest fit / epochs"], times["scikit-learn fit / epochs"]
        print(f"steepest / scikit-learn, whole fits: {ours[0] / theirs[0]:.2f}x median, "
              f"{ours[1] / theirs[1]:.2f}x min  (target <= 1.0x)")
        if not bigrams:
            print("\ntest accuracy, same split:")
            for name, accuracy in accuracies(X, X_test, y, y_test).items():
                print(f"  {name:42s} {accuracy:.4f}")


if __name__ == "__main__":
    main()
