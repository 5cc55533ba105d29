"""partition: every sample once, reproducible, and each scheme's shape of skew."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from steepest.errors import ParameterError
from steepest.federated import partition, partition_indices


def _labels(n, k, seed=0):
    return np.random.default_rng(seed).integers(0, k, size=n)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(10, 400), clients=st.integers(1, 10), k=st.integers(1, 6),
       scheme=st.sampled_from(["iid", "shards", "dirichlet"]), seed=st.integers(0, 999))
def test_every_sample_goes_to_exactly_one_client(n, clients, k, scheme, seed):
    assume(scheme != "shards" or n >= 2 * clients)   # two shards each, a sample per shard
    assume(scheme != "dirichlet" or n >= 10 * clients)  # else a client may stay empty
    y = _labels(n, k, seed)
    parts = partition_indices(y, clients, scheme, alpha=1.0, random_state=seed)
    assert len(parts) == clients
    assert all(p.size > 0 for p in parts)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))


@pytest.mark.parametrize("scheme", ["iid", "shards", "dirichlet"])
def test_the_same_seed_gives_the_same_split(scheme):
    y = _labels(500, 10)
    a = partition_indices(y, 20, scheme, random_state=3)
    b = partition_indices(y, 20, scheme, random_state=3)
    c = partition_indices(y, 20, scheme, random_state=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_iid_sizes_differ_by_at_most_one():
    sizes = [p.size for p in partition_indices(_labels(1003, 10), 10, "iid", random_state=0)]
    assert max(sizes) - min(sizes) <= 1


def test_shards_follow_mcmahan_two_labels_per_client():
    """60,000 samples, 100 clients, 2 shards of 300: most clients hold at most 2 labels."""
    y = np.repeat(np.arange(10), 6000)
    parts = partition_indices(y, 100, "shards", shards_per_client=2, random_state=0)
    assert {p.size for p in parts} == {600}
    labels_per_client = [np.unique(y[p]).size for p in parts]
    assert max(labels_per_client) <= 2
    assert np.mean(np.array(labels_per_client) == 2) > 0.5


def test_dirichlet_skew_grows_as_alpha_shrinks():
    y = _labels(5000, 10)

    def skew(alpha):  # the mean share of each client's most common label
        parts = partition_indices(y, 20, "dirichlet", alpha=alpha, random_state=0)
        return np.mean([np.bincount(y[p]).max() / p.size for p in parts])

    assert skew(0.1) > skew(1.0) > skew(100.0)
    assert skew(100.0) < 0.2  # close to IID's 0.1 share
    sizes = [p.size for p in partition_indices(y, 20, "dirichlet", alpha=0.3, random_state=0)]
    assert max(sizes) > 2 * min(sizes)  # unequal client sizes


def test_partition_returns_the_rows_of_x_and_y_together():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100) % 4
    for X_i, y_i in partition(X, y, 7, "shards", random_state=1):
        np.testing.assert_array_equal(X_i[:, 0] // 2 % 4, y_i)


def test_partition_of_a_dataframe_keeps_it_a_dataframe():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) * 2})
    y = pd.Series(np.arange(30) % 3)
    parts = partition(X, y, 3, random_state=0)
    assert isinstance(parts[0][0], pd.DataFrame) and list(parts[0][0].columns) == ["a", "b"]
    assert sum(len(X_i) for X_i, _ in parts) == 30


@pytest.mark.parametrize("kwargs, message", [
    ({"n_clients": 0}, "'n_clients' parameter of partition"),
    ({"n_clients": 11}, "cannot give each of 11 clients a sample"),
    ({"n_clients": 3, "scheme": "random"}, "'scheme' parameter of partition must be one of"),
    ({"n_clients": 4, "scheme": "shards", "shards_per_client": 3},
     "at least one sample per shard"),
    ({"n_clients": 2, "scheme": "dirichlet", "alpha": 0.0}, "'alpha' parameter of partition"),
])
def test_bad_arguments_are_refused_in_one_sentence(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        partition_indices(np.arange(10) % 2, **kwargs)


def test_a_hopeless_dirichlet_split_says_what_to_change():
    with pytest.raises(ParameterError, match="Use a larger alpha or fewer clients"):
        partition_indices(np.zeros(12, int), 12, "dirichlet", alpha=0.01, random_state=0)
