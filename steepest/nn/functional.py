r"""The math of the layers, as small functions writing into arrays they are given.

Each forward function has its derivative right beside it. Arrays named ``out``,
``mask`` and ``scratch`` are the caller's preallocated buffers and are filled and
returned; no function here allocates an array of the batch's size. Shapes:
``X``, ``Y``, ``dY``, ``dX`` are ``(n_samples, n_features)``; parameters and
per-feature statistics are ``(n_features,)`` unless stated.

The derivative functions take ``dY`` = ∂J/∂Y and return ``dX`` = ∂J/∂X (and fill
the parameter gradients they are given).
"""

from __future__ import annotations

import numpy as np

from steepest.sparse import is_sparse

# -- Dense: Y = X W + b ---------------------------------------------------------------


def dense(X, W, b, out):
    """``Y = X W + b``. ``W`` has shape (n_in, n_out), ``b`` (n_out,) or None; a sparse
    ``X`` (SciPy CSR) is multiplied as it is, O(non-zeros · n_out)."""
    if is_sparse(X):
        out[...] = X @ W
    else:
        np.matmul(X, W, out=out)
    if b is not None:
        out += b
    return out


def dense_backward(X, W, dY, dW, db, dX):
    r"""``dW = Xᵀ dY``, ``db = Σᵢ dYᵢ``, ``dX = dY Wᵀ`` (``db``, ``dX`` skipped when None).

    A sparse ``X`` gives ``dW`` by the sparse product ``Xᵀ dY``; its ``dX`` (dense) is
    never asked for (see :class:`~steepest.nn.Dense`)."""
    if is_sparse(X):
        dW[...] = X.T @ dY
    else:
        np.matmul(X.T, dY, out=dW)
    if db is not None:
        np.sum(dY, axis=0, out=db)
    if dX is not None:
        np.matmul(dY, W.T, out=dX)
    return dX


# -- activations ----------------------------------------------------------------------


def relu(X, out):
    """``Y = max(X, 0)``."""
    return np.maximum(X, 0, out=out)


def relu_backward(Y, dY, out):
    """``dX = dY · [Y > 0]`` (0 at X = 0, as torch)."""
    np.greater(Y, 0, out=out)
    out *= dY
    return out


def leaky_relu(X, negative_slope, mask, out):
    """``Y = X`` where X > 0, else ``a X``; ``mask`` keeps ``X > 0`` for the derivative."""
    np.greater(X, 0, out=mask)
    np.multiply(X, negative_slope, out=out)
    np.copyto(out, X, where=mask)
    return out


def leaky_relu_backward(mask, negative_slope, dY, out):
    """``dX = dY`` where X > 0, else ``a dY``."""
    np.multiply(dY, negative_slope, out=out)
    np.copyto(out, dY, where=mask)
    return out


def elu(X, alpha, mask, out):
    """``Y = X`` where X > 0, else ``α (eˣ − 1)``; ``mask`` keeps ``X > 0``."""
    np.minimum(X, 0, out=out)
    np.expm1(out, out=out)
    out *= alpha
    np.greater(X, 0, out=mask)
    np.copyto(out, X, where=mask)
    return out


def elu_backward(Y, mask, alpha, dY, out):
    """``dX = dY`` where X > 0, else ``α eˣ dY = (Y + α) dY``."""
    np.add(Y, alpha, out=out)
    out *= dY
    np.copyto(out, dY, where=mask)
    return out


def tanh(X, out):
    """``Y = tanh X``."""
    return np.tanh(X, out=out)


def tanh_backward(Y, dY, out):
    """``dX = (1 − Y²) dY``."""
    np.multiply(Y, Y, out=out)
    np.subtract(1, out, out=out)
    out *= dY
    return out


def sigmoid(X, out, scratch):
    r"""``Y = σ(X) = e^{min(X, 0)} / (1 + e^{−|X|})``: no overflow, full relative precision."""
    np.abs(X, out=scratch)
    np.negative(scratch, out=scratch)
    np.exp(scratch, out=scratch)
    scratch += 1
    np.minimum(X, 0, out=out)
    np.exp(out, out=out)
    out /= scratch
    return out


def sigmoid_backward(Y, dY, out):
    """``dX = Y (1 − Y) dY``."""
    np.subtract(1, Y, out=out)
    out *= Y
    out *= dY
    return out


# -- dropout --------------------------------------------------------------------------


def dropout_mask(rng, p, out):
    """Fill ``out`` with inverted-dropout factors: 0 with probability p, else 1 / (1 − p)."""
    rng.random(dtype=out.dtype, out=out)
    np.greater_equal(out, p, out=out)
    out *= 1.0 / (1.0 - p) if p < 1 else 0.0
    return out


# -- batch normalisation --------------------------------------------------------------


def batch_moments(X, mean, var, centered):
    """Batch mean and biased variance, per feature; ``centered`` receives ``X − mean``."""
    np.mean(X, axis=0, out=mean)
    np.subtract(X, mean, out=centered)
    np.einsum("ij,ij->j", centered, centered, out=var)
    var *= 1.0 / X.shape[0]
    return mean, var


def inverse_std(var, eps, out):
    """``1 / sqrt(var + ε)``."""
    np.add(var, eps, out=out)
    np.sqrt(out, out=out)
    np.reciprocal(out, out=out)
    return out


def batch_norm(centered, inv_std, gamma, beta, x_hat, out):
    """``X̂ = (X − μ) / sqrt(σ² + ε)`` into ``x_hat`` (it may be ``centered``), ``Y = γ X̂ + β``."""
    np.multiply(centered, inv_std, out=x_hat)
    np.multiply(x_hat, gamma, out=out)
    out += beta
    return out


def batch_norm_backward(x_hat, gamma, inv_std, dY, dgamma, dbeta, dX, scale, training):
    r"""Gradients of ``Y = γ X̂ + β``.

    ``dβ = Σᵢ dYᵢ`` and ``dγ = Σᵢ dYᵢ X̂ᵢ``. With batch statistics (``training``) the
    mean and variance depend on X too, which gives

    .. math:: dX = \frac{\gamma}{\sqrt{\sigma^2 + \varepsilon}}
                   \Bigl(dY - \frac{1}{n}\bigl(d\beta + \hat X\, d\gamma\bigr)\Bigr);

    with running statistics they are constants and :math:`dX = \gamma\, dY / \sqrt{\sigma^2 +
    \varepsilon}`. ``scale`` is a (n_features,) scratch array; ``dX`` is skipped when None.
    """
    np.sum(dY, axis=0, out=dbeta)
    np.einsum("ij,ij->j", dY, x_hat, out=dgamma)
    if dX is None:
        return None
    np.multiply(gamma, inv_std, out=scale)
    if not training:
        return np.multiply(dY, scale, out=dX)
    np.multiply(x_hat, dgamma, out=dX)
    dX += dbeta
    dX *= -1.0 / dY.shape[0]
    dX += dY
    dX *= scale
    return dX
