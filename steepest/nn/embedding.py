r"""Token embeddings, averaged over each sample's tokens: an embedding bag.

::

    from steepest import nn

    net = nn.Network([nn.Embedding(n_tokens=20_000, dim=50), nn.Dense(1)], n_features=64)
    # X: (n_samples, 64) token ids, each row padded with -1 after its last token

For sample :math:`i` with token ids :math:`t_{i1}, \dots, t_{im_i}` (the entries of its
row that are not negative),

.. math::

    Y_i = \frac{1}{m_i} \sum_{k=1}^{m_i} E_{t_{ik}}, \qquad
    \frac{\partial J}{\partial E_t} = \sum_i \frac{c_{it}}{m_i} \frac{\partial J}{\partial Y_i}

with :math:`c_{it}` the number of times token :math:`t` occurs in row :math:`i`, and
:math:`Y_i = 0` for a row with no token. This is torch's ``EmbeddingBag(mode="mean")``
(and ``nn.Embedding`` followed by a mean over the non-padding positions). Both products go
through the sparse ``(n_samples, n_tokens)`` matrix :math:`A` of the weights
:math:`c_{it} / m_i`: ``Y = A E`` and ``dE = Aᵀ dY``, O(tokens · dim) per batch whatever
the vocabulary.
"""

from __future__ import annotations

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError
from steepest.nn import init
from steepest.nn.layers import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    r"""The mean of the embeddings of a sample's tokens (an embedding bag); the first layer.

    Parameters
    ----------
    n_tokens : int
        The size of the vocabulary: ids run from 0 to ``n_tokens - 1``.
    dim : int
        The width of each embedding (the layer's output).
    weight_init : str, callable or None, default=None
        None: :math:`N(0, 1)` as torch's ``nn.Embedding``; else an initialiser of
        :mod:`steepest.nn.init` or ``init(array, rng)``.

    Attributes
    ----------
    E, dE : ndarray of shape (n_tokens, dim)
        The embeddings (row ``t`` is token ``t``'s) and their gradient: views into the
        network's theta and grad.

    Notes
    -----
    The input ``X`` has shape ``(n_samples, length)``: token ids (integers; floats with
    integer values, as a network's input arrives), padded with any negative number. The
    ids are not differentiable, so the layer has no ``dX``: it goes first in a network.
    """

    _hyperparameters = ("n_tokens", "dim", "weight_init")

    def __init__(self, n_tokens: int, dim: int, *, weight_init=None) -> None:
        super().__init__()
        check_number(n_tokens, "n_tokens", "Embedding", low=1, integer=True)
        check_number(dim, "dim", "Embedding", low=1, integer=True)
        if weight_init is not None:
            init.get(weight_init)
        self.n_tokens, self.dim, self.weight_init = int(n_tokens), int(dim), weight_init

    def _output_width(self, n_in):
        return self.dim

    def _parameter_shapes(self):
        return {"E": (self.n_tokens, self.dim)}

    def _reset_parameters(self, rng):
        if self.weight_init is None:
            self.E[...] = rng.standard_normal(self.E.shape)
        else:
            init.get(self.weight_init)(self.E, rng)

    def bag(self, X: np.ndarray):
        """The sparse matrix :math:`A` of shape (n_samples, n_tokens) of the weights
        :math:`c_{it} / m_i` (a CSR matrix; duplicate ids are separate entries)."""
        import scipy.sparse as sp

        ids = X.astype(np.intp)
        if not np.array_equal(ids, X):
            raise ParameterError(
                "Embedding needs token ids (integers) as its input; got values with a "
                "fractional part. Map the tokens to ids 0..n_tokens-1 first."
            )
        if ids.size and ids.max() >= self.n_tokens:
            raise ParameterError(
                f"Embedding got the token id {int(ids.max())}, but its vocabulary holds "
                f"n_tokens={self.n_tokens} ids (0..{self.n_tokens - 1}); make the layer with "
                "the vocabulary's size."
            )
        present = ids >= 0
        counts = present.sum(axis=1)
        weights = np.repeat(1.0 / np.maximum(counts, 1), counts).astype(self.dtype)
        indptr = np.concatenate(([0], np.cumsum(counts)))
        return sp.csr_matrix((weights, ids[present], indptr), shape=(len(ids), self.n_tokens))

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, dim): each row the mean embedding of its tokens (0 for none)."""
        self._A = self.bag(X)
        out = self._buffer("Y", (X.shape[0], self.dim))
        out[...] = self._A @ self.E
        return out

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill ``dE = Aᵀ dY``; token ids have no gradient, so ``need_dX`` is refused."""
        if need_dX:
            raise ParameterError(
                "Embedding has no gradient with respect to its input (token ids); it must be "
                "the first layer of the network with parameters."
            )
        self.dE[...] = self._A.T @ dY
        return None
