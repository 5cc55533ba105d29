"""steepest.nn.Embedding: the mean of a sample's token embeddings, its gradient checked
against central finite differences, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from steepest import losses, nn, optim
from steepest.errors import ParameterError
from steepest.train import Trainer


def token_rows(rng, n, length, n_tokens):
    """Ids with repeats, each row padded with -1 after a random number of tokens (maybe 0)."""
    ids = rng.integers(0, n_tokens, (n, length))
    for i, used in enumerate(rng.integers(0, length + 1, n)):
        ids[i, used:] = -1
    return ids


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), length=st.integers(1, 7), n_tokens=st.integers(1, 9),
       dim=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_the_gradient_is_the_finite_difference(n, length, n_tokens, dim, seed):
    rng = np.random.default_rng(seed)
    X = token_rows(rng, n, length, n_tokens)
    target = rng.normal(size=(n, 2))
    net = nn.Network([nn.Embedding(n_tokens, dim), nn.Tanh(), nn.Dense(2)], length,
                     random_state=seed)
    loss = losses.MeanSquaredError()
    _, dY = loss.value_and_grad(target, net.forward(X, training=True))
    net.backward(dY)
    expected = numerical_grad(lambda: loss.value(target, net.forward(X)), net.theta)
    np.testing.assert_allclose(net.grad, expected, rtol=1e-5, atol=1e-8)


def test_the_output_is_the_mean_of_the_rows_of_the_sample_s_tokens():
    X = np.array([[2, 2, 0, -1], [-1, -1, -1, -1], [3, 1, 4, 1]])
    net = nn.Network([nn.Embedding(5, 3)], 4, random_state=0)
    E = net.layers[0].E
    expected = np.stack([(2 * E[2] + E[0]) / 3, np.zeros(3), (E[3] + 2 * E[1] + E[4]) / 4])
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-15)
    assert net.parameters()["0.E"].shape == (5, 3) and net.n_params == 15
    assert np.std(net.theta) > 0.3  # N(0, 1) as torch's Embedding


def test_an_embedding_bag_learns_which_tokens_matter():
    """Rows holding token 0 are positive: the bag and a Dense layer learn it from ids."""
    rng = np.random.default_rng(1)
    X = token_rows(rng, 400, 6, 12)
    y = (X == 0).any(axis=1).astype(float)
    net = nn.Network([nn.Embedding(12, 4), nn.Dense(1)], 6, random_state=0)
    Trainer(net, "binary_crossentropy", optim.Adam(lr=0.05), batch_size=32,
            random_state=0).fit(X, y, epochs=40)
    accuracy = np.mean((net.forward(X)[:, 0] > 0) == (y == 1))
    assert accuracy > 0.95


def test_bad_ids_and_a_misplaced_layer_are_refused():
    net = nn.Network([nn.Embedding(5, 2)], 3)
    with pytest.raises(ParameterError, match="vocabulary holds n_tokens=5"):
        net.forward(np.array([[1, 5, -1]]))
    with pytest.raises(ParameterError, match="fractional part"):
        net.forward(np.array([[1.5, 2, -1]]))
    net.forward(np.array([[1, 2, -1]]), training=True)
    with pytest.raises(ParameterError, match="no gradient with respect to its input"):
        net.backward(np.ones((1, 2)), return_dX=True)
    with pytest.raises(ParameterError, match="'dim'"):
        nn.Embedding(5, 0)
