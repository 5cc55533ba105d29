r"""Split one data set among simulated clients: IID, label shards, or Dirichlet label skew.

::

    from steepest.federated import partition

    clients = partition(X, y, 100, scheme="shards", shards_per_client=2, random_state=0)
    X_0, y_0 = clients[0]

* ``"iid"``: a random permutation cut into ``n_clients`` parts whose sizes differ by at
  most one (McMahan et al. 2017's IID setting).
* ``"shards"``: the pathological non-IID setting of McMahan et al.: the samples sorted
  by label (ties in a random order), cut into ``n_clients · shards_per_client`` shards of
  equal size (±1), and each client given ``shards_per_client`` of them at random, so most
  clients see only a couple of labels.
* ``"dirichlet"``: for every class :math:`c`, client shares
  :math:`p_c \sim \operatorname{Dir}(\alpha \mathbf{1}_K)` split the class's samples
  (Hsu et al. 2019); a small ``alpha`` gives each client a few dominant labels and
  unequal sizes, a large one approaches IID. Draws that leave a client with no sample
  are redrawn.

Every sample goes to exactly one client; the same ``random_state`` gives the same split.
"""

from __future__ import annotations

import numpy as np

from steepest._validation import check_choice, check_number
from steepest.data import as_generator
from steepest.errors import ParameterError

__all__ = ["SCHEMES", "partition", "partition_indices"]

SCHEMES = ("iid", "shards", "dirichlet")
_DIRICHLET_TRIES = 100


def _take(values, rows: np.ndarray):
    """Rows of an array or a pandas DataFrame/Series (by position)."""
    if hasattr(values, "iloc"):
        return values.iloc[rows]
    return np.take(np.asarray(values), rows, axis=0)


def partition_indices(y, n_clients: int, scheme: str = "iid", *, shards_per_client: int = 2,
                      alpha: float = 0.5, random_state=None) -> list[np.ndarray]:
    """The sample indices of each client (see :func:`partition`), each sorted."""
    owner = "partition"
    check_number(n_clients, "n_clients", owner, low=1, integer=True)
    check_choice(scheme, "scheme", owner, SCHEMES)
    y = np.asarray(y)
    n = y.shape[0]
    if n < n_clients:
        raise ParameterError(
            f"partition cannot give each of {n_clients} clients a sample: there are only {n}. "
            "Use fewer clients."
        )
    rng = as_generator(random_state, owner)
    if scheme == "iid":
        parts = np.array_split(rng.permutation(n), n_clients)
    elif scheme == "shards":
        check_number(shards_per_client, "shards_per_client", owner, low=1, integer=True)
        n_shards = n_clients * shards_per_client
        if n < n_shards:
            raise ParameterError(
                f"partition needs at least one sample per shard: {n} samples for {n_clients} "
                f"clients x {shards_per_client} shards. Use fewer shards per client."
            )
        by_label = np.lexsort((rng.random(n), y))  # sorted by label, ties shuffled
        shards = np.array_split(by_label, n_shards)
        dealt = rng.permutation(n_shards).reshape(n_clients, shards_per_client)
        parts = [np.concatenate([shards[s] for s in row]) for row in dealt]
    else:
        check_number(alpha, "alpha", owner, low=0.0, closed="neither")
        parts = _dirichlet(y, n_clients, alpha, rng)
    return [np.sort(part) for part in parts]


def _dirichlet(y: np.ndarray, n_clients: int, alpha: float, rng) -> list[np.ndarray]:
    classes = np.unique(y)
    members = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    for _ in range(_DIRICHLET_TRIES):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
        for rows in members:
            shares = rng.dirichlet(np.full(n_clients, alpha))
            cuts = np.round(np.cumsum(shares)[:-1] * rows.size).astype(np.intp)
            for client, piece in enumerate(np.split(rows, cuts)):
                parts[client].append(piece)
        joined = [np.concatenate(p) for p in parts]
        if min(p.size for p in joined) > 0:
            return joined
    raise ParameterError(
        f"partition(scheme='dirichlet', alpha={alpha:g}) left a client without samples in "
        f"{_DIRICHLET_TRIES} draws: {y.shape[0]} samples are too few for {n_clients} clients "
        "at this alpha. Use a larger alpha or fewer clients."
    )


def partition(X, y, n_clients: int, scheme: str = "iid", *, shards_per_client: int = 2,
              alpha: float = 0.5, random_state=None) -> list[tuple]:
    """Split ``(X, y)`` among ``n_clients`` clients.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...) or DataFrame
    y : array-like of shape (n_samples,)
        The labels decide the non-IID schemes.
    n_clients : int
        >= 1, and at most n_samples.
    scheme : {"iid", "shards", "dirichlet"}, default="iid"
        See the module's docstring.
    shards_per_client : int, default=2
        For ``"shards"``.
    alpha : float, default=0.5
        The Dirichlet concentration (> 0), for ``"dirichlet"``.
    random_state : int, numpy.random.Generator or None, default=None

    Returns
    -------
    list of (X_i, y_i)
        One pair per client, rows in their original order.
    """
    n = len(y)
    if len(X) != n:
        raise ParameterError(
            f"X has {len(X)} samples but y has {n}; pass one target per sample."
        )
    indices = partition_indices(y, n_clients, scheme, shards_per_client=shards_per_client,
                                alpha=alpha, random_state=random_state)
    return [(_take(X, rows), _take(y, rows)) for rows in indices]
