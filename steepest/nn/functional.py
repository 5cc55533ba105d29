r"""The math of the layers, as small functions writing into arrays they are given.

Each forward function has its derivative right beside it. Arrays named ``out``,
``mask`` and ``scratch`` are the caller's preallocated buffers and are filled and
returned; no function here allocates an array of the batch's size. Shapes:
``X``, ``Y``, ``dY``, ``dX`` are ``(n_samples, n_features)``; parameters and
per-feature statistics are ``(n_features,)`` unless stated.

The derivative functions take ``dY`` = ∂J/∂Y and return ``dX`` = ∂J/∂X (and fill
the parameter gradients they are given).

The ``*_curvature`` functions give the second derivative :math:`f''(x)` of an
elementwise activation from its output ``Y``, and the ``*_r_forward`` and
``*_r_backward`` functions the R-operator of a layer (Pearlmutter, 1994):
:math:`R\{Z\} = \frac{d}{dt} Z(\theta + t v)\big|_{t=0}` for every quantity ``Z``
of a forward and backward pass, written ``RX``, ``RY``, ``RdY``, ``RdX`` and, for the
direction ``v``'s own parameter parts, ``rW``, ``rb``; ``rdW``, ``rdb`` receive
:math:`R\{dW\}, R\{db\}`, the layer's part of the Hessian-vector product.
An ``RX`` of None stands for zero (the network's input does not move with θ).
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


def dense_r_forward(X, RX, rW, rb, W, out):
    """``R{Y} = R{X} W + X rW + rb`` (``RX`` None: zero; ``rb`` None: no bias)."""
    np.matmul(X, rW, out=out)
    if RX is not None:
        out += RX @ W
    if rb is not None:
        out += rb
    return out


def dense_r_backward(X, RX, W, rW, dY, RdY, rdW, rdb, RdX):
    r"""R of :func:`dense_backward`: ``R{dW} = R{X}ᵀ dY + Xᵀ R{dY}``, ``R{db} = Σᵢ R{dY}ᵢ``,
    ``R{dX} = R{dY} Wᵀ + dY rWᵀ`` (``rdb``, ``RdX`` skipped when None)."""
    np.matmul(X.T, RdY, out=rdW)
    if RX is not None:
        rdW += RX.T @ dY
    if rdb is not None:
        np.sum(RdY, axis=0, out=rdb)
    if RdX is not None:
        np.matmul(RdY, W.T, out=RdX)
        RdX += dY @ rW.T
    return RdX


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


def elu_curvature(Y, mask, alpha, out):
    """``f''(X) = 0`` where X > 0, else ``α eˣ = Y + α``."""
    np.add(Y, alpha, out=out)
    out[mask] = 0
    return out


def tanh_curvature(Y, out):
    """``f''(X) = −2 Y (1 − Y²)``."""
    np.multiply(Y, Y, out=out)
    np.subtract(1, out, out=out)
    out *= Y
    out *= -2
    return out


def sigmoid_curvature(Y, out):
    """``f''(X) = Y (1 − Y)(1 − 2Y)``."""
    np.subtract(1, Y, out=out)
    out *= Y
    out *= 1 - 2 * Y
    return out


def activation_r_backward(derivative, curvature, RX, dY, RdY, out):
    r"""R of an elementwise ``dX = f'(X) dY``: ``R{dX} = f'(X) R{dY} + f''(X) R{X} dY``.

    ``derivative(dY, out)`` is the activation's backward (multiplies by ``f'``);
    ``curvature`` is ``f''(X)`` (an array), or None for a piecewise linear ``f``.
    """
    derivative(RdY, out)
    if curvature is not None and RX is not None:
        out += curvature * RX * dY
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


def batch_norm_r_forward(x_hat, inv_std, gamma, RX, rgamma, rbeta, training, out):
    r"""R of :func:`batch_norm`; returns ``(R{Y}, R{X̂}, R{s})``.

    With :math:`s = 1/\sqrt{\sigma^2 + \varepsilon}` and batch statistics,
    :math:`R\{\mu\} = \overline{R\{X\}}` and :math:`R\{s\} = -s^2\,\overline{\hat X R\{X\}}`
    (bars: means over the samples), so :math:`R\{\hat X\} = s\,(R\{X\} - \overline{R\{X\}})
    + \hat X R\{s\} / s`; with running statistics :math:`R\{s\} = 0` and
    :math:`R\{\hat X\} = s\, R\{X\}`. Then :math:`R\{Y\} = r_\gamma \hat X + \gamma
    R\{\hat X\} + r_\beta`. ``RX`` None (zero) gives :math:`R\{\hat X\} = 0`; ``R{s}``
    has shape (n_features,).
    """
    r_inv_std = np.zeros_like(inv_std)
    if RX is None:
        r_x_hat = np.zeros_like(x_hat)
    else:
        r_x_hat = RX * inv_std
        if training:
            r_x_hat -= r_x_hat.mean(axis=0)                # s (R{X} − R{μ})
            r_inv_std -= inv_std * np.einsum("ij,ij->j", x_hat, r_x_hat) / x_hat.shape[0]
            r_x_hat += x_hat * (r_inv_std / inv_std)
    np.multiply(x_hat, rgamma, out=out)
    out += gamma * r_x_hat
    out += rbeta
    return out, r_x_hat, r_inv_std


def batch_norm_r_backward(x_hat, r_x_hat, inv_std, r_inv_std, gamma, rgamma, dY, RdY, dgamma,
                          dbeta, rdgamma, rdbeta, RdX, training):
    r"""R of :func:`batch_norm_backward`, given its ``dgamma``, ``dbeta`` and
    :func:`batch_norm_r_forward`'s ``R{X̂}`` and ``R{s}``.

    :math:`R\{d\beta\} = \Sigma_i R\{dY\}_i`, :math:`R\{d\gamma\} = \Sigma_i (R\{dY\}_i
    \hat X_i + dY_i R\{\hat X\}_i)`. With batch statistics, writing :math:`G = dY -
    (d\beta + \hat X d\gamma)/n` (so that :math:`dX = \gamma s G`),

    .. math:: R\{dX\} = (r_\gamma s + \gamma R\{s\})\, G + \gamma s\, \Bigl(R\{dY\} -
              \frac{1}{n}\bigl(R\{d\beta\} + R\{\hat X\} d\gamma + \hat X R\{d\gamma\}\bigr)\Bigr);

    with running statistics :math:`R\{dX\} = s\,(r_\gamma dY + \gamma R\{dY\})`.
    ``RdX`` is skipped when None.
    """
    np.sum(RdY, axis=0, out=rdbeta)
    np.einsum("ij,ij->j", RdY, x_hat, out=rdgamma)
    rdgamma += np.einsum("ij,ij->j", dY, r_x_hat)
    if RdX is None:
        return None
    if not training:
        np.multiply(dY, rgamma, out=RdX)
        RdX += gamma * RdY
        RdX *= inv_std
        return RdX
    n = dY.shape[0]
    G = dY - (dbeta + x_hat * dgamma) / n
    np.multiply(G, rgamma * inv_std + gamma * r_inv_std, out=RdX)
    RdX += gamma * inv_std * (RdY - (rdbeta + r_x_hat * dgamma + x_hat * rdgamma) / n)
    return RdX
