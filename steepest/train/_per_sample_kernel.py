"""The compiled loop of :mod:`steepest.train._per_sample` (importing this imports Numba).

Scalars arrive rounded to the parameters' dtype, so float32 models compute in
float32 as the NumPy loop does; the code is cached on disk like
:mod:`steepest.optim._kernels`. Numba's cache checks only this file: after editing
``_sgd`` or ``_penalized`` in ``steepest/optim/_kernels.py`` (compiled into the loop
here), touch this file or delete its entries in ``__pycache__``, or the old code
stays (an installed upgrade rewrites both files, so users never meet this).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from steepest.optim._kernels import _grad, _penalized, _sgd

_MSE, _LOGISTIC = 0, 1  # the loss codes of _per_sample; else softmax
_BLOCK = 64
"""Rows gathered at a time into a buffer that stays in cache (random rows one by one
wait on memory in turn: 2-3 times slower here)."""
_kernel = njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
_inline = njit(inline="always", fastmath=False, error_model="numpy")


@_kernel
def _dot(x, w, zero):
    """``Σ x_j w_j`` over ``x``'s length, in eight interleaved partial sums (a chain of
    one sum would wait on each addition; BLAS reorders its sum too)."""
    n = x.size
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
    j = 0
    while j + 8 <= n:
        s0 += x[j] * w[j]
        s1 += x[j + 1] * w[j + 1]
        s2 += x[j + 2] * w[j + 2]
        s3 += x[j + 3] * w[j + 3]
        s4 += x[j + 4] * w[j + 4]
        s5 += x[j + 5] * w[j + 5]
        s6 += x[j + 6] * w[j + 6]
        s7 += x[j + 7] * w[j + 7]
        j += 8
    while j < n:
        s0 += x[j] * w[j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@_kernel
def _weight_gradient(a, b, theta, grad, l1, l2):
    """``grad = a·b + ∂P/∂θ`` (the penalty as :class:`~steepest.train.Penalty` adds it);
    returns how many entries are not finite."""
    nonfinite = 0
    for q in range(a.size):
        g = _penalized(a[q] * b, theta[q], l1, l2)
        grad[q] = g
        nonfinite += not (g - g == 0)  # inf - inf and nan - nan are nan
    return nonfinite


@_inline
def _loss_gradient(kind, z, values, labels, sample, units, zero, one, two_over_units,
                   one_over_units):
    """The loss of one sample from its outputs ``z``, whose place it takes with the
    gradient ``∂ℓ/∂z``: the arithmetic of :mod:`steepest.losses`."""
    if kind == _MSE:
        squares = zero
        for c in range(units):
            r = z[c] - values[sample, c]
            squares += r * r
            z[c] = r * two_over_units
        value = float(squares) / units
    elif kind == _LOGISTIC:
        terms = zero
        for c in range(units):
            t, target = z[c], values[sample, c]
            e = np.exp(-np.abs(t))
            terms += np.log1p(e) + max(t, zero) - target * t
            # σ(t) = e^{min(t, 0)} / (1 + e^{-|t|}), and e^{min(t, 0)} is e for t <= 0
            z[c] = ((e if t <= zero else one) / (e + one) - target) * one_over_units
        value = float(terms) / units
    else:  # the mean over one sample: no division
        label = labels[sample]
        logit = z[label]
        m = z[0]
        for c in range(1, units):
            m = max(m, z[c])
        exps = zero
        for c in range(units):
            z[c] = np.exp(z[c] - m)
            exps += z[c]
        for c in range(units):
            z[c] = z[c] / exps
        z[label] -= one
        value = float((m - logit) + np.log(exps))
    return value


@_kernel
def epoch(total, X, order, values, labels, neg_rates, theta, grad, buffer, first, kind,
          units, n_weights, bias, l1, l2, weight_decay, decay, sign, momentum_on, momentum,
          one_minus_dampening, nesterov, one, two_over_units, one_over_units):
    """Per-sample SGD over the rows ``order`` of ``X``, in that order.

    Returns ``(total plus the losses, updates done, status, bad loss)``: status 0 when
    every row was used, 1 when a loss was not finite, 2 when a gradient was not
    (the update of that row is not done).
    """
    d = X.shape[1]
    z = np.empty(units, theta.dtype)
    rows = np.empty((_BLOCK, d), X.dtype)
    zero = one - one  # typed like the parameters: float32 arithmetic stays float32
    for i in range(order.size):
        if i % _BLOCK == 0:  # gather the next rows: independent loads, in flight together
            for r in range(min(_BLOCK, order.size - i)):
                source = X[order[i + r]]
                for j in range(d):
                    rows[r, j] = source[j]
        sample = order[i]
        x = rows[i % _BLOCK]
        # forward, z = x W + b: W is (d, units), row-major, at the start of theta
        if units == 1:
            z[0] = _dot(x, theta, zero)
        else:
            for c in range(units):
                z[c] = zero
            for j in range(d):
                xj = x[j]
                at = j * units
                for c in range(units):
                    z[c] += xj * theta[at + c]
        if bias:
            for c in range(units):
                z[c] += theta[n_weights + c]
        value = _loss_gradient(kind, z, values, labels, sample, units, zero, one,
                               two_over_units, one_over_units)
        if not np.isfinite(value):
            return total, i, 1, value
        # backward, dW = xᵀ dz and db = dz, and the penalty on the weights
        if units == 1:
            nonfinite = _weight_gradient(x, z[0], theta, grad, l1, l2)
        else:
            nonfinite = 0
            for j in range(d):
                at = j * units
                nonfinite += _weight_gradient(z, x[j], theta[at:at + units],
                                              grad[at:at + units], l1, l2)
        if bias:
            for c in range(units):
                grad[n_weights + c] = z[c]
                nonfinite += not (z[c] - z[c] == 0)
        if nonfinite:
            return total, i, 2, value
        _sgd(theta, grad, buffer, weight_decay, decay, sign, momentum_on, first and i == 0,
             momentum, one_minus_dampening, nesterov, neg_rates[i])
        total += value
    return total, order.size, 0, 0.0


@_kernel
def sparse_epoch(total, data, indices, indptr, order, values, labels, neg_rates, theta, grad,
                 buffer, first, kind, units, n_weights, bias, l1, l2, weight_decay, decay,
                 sign, momentum_on, momentum, one_minus_dampening, nesterov, one,
                 two_over_units, one_over_units, lazy):
    r"""Per-sample SGD over the rows ``order`` of the CSR matrix ``(data, indices, indptr)``.

    The forward pass and the data gradient ``xᵀ dz`` run over the row's non-zeros only.
    With ``lazy`` (plain SGD: no momentum, no L1, not maximising) the weights are held
    as ``w = s·v`` (``v`` in ``theta``): the decay of the L2 penalty and of
    ``weight_decay``, ``w ← (1 − lr (l2 + λ)) w``, multiplies the scalar ``s``, and the
    data step adds ``−lr·x_j dz / s`` to the row's ``v_j``, so an update costs
    O(non-zeros · units), as scikit-learn's SGD; ``theta`` holds ``s·v`` again on
    return (and whenever ``s`` falls below 1e-9), and ``grad`` the gradient of the last
    update (written in full for that one only). Without ``lazy`` the penalty and the
    step touch every weight, as the dense loop's do (O(n_features · units)), with the
    same arithmetic.

    Returns what :func:`epoch` returns.
    """
    z = np.empty(units, theta.dtype)
    step = np.empty(units, theta.dtype)
    zero = one - one
    scale = 1.0  # w = scale · v in lazy mode (float64, so its rounding stays small)
    for i in range(order.size):
        sample = order[i]
        start, stop = indptr[sample], indptr[sample + 1]
        largest = zero  # max |x_j| of the row: |x_j dz| <= largest·|dz| bounds the products
        if units == 1:
            s = zero
            for p in range(start, stop):
                xj = data[p]
                s += xj * theta[indices[p]]
                largest = max(largest, abs(xj))
            z[0] = s
        else:
            for c in range(units):
                z[c] = zero
            for p in range(start, stop):
                xj = data[p]
                largest = max(largest, abs(xj))
                at = indices[p] * units
                for c in range(units):
                    z[c] += xj * theta[at + c]
        if lazy and scale != 1.0:
            for c in range(units):
                z[c] = z[c] * scale
        if bias:
            for c in range(units):
                z[c] += theta[n_weights + c]
        value = _loss_gradient(kind, z, values, labels, sample, units, zero, one,
                               two_over_units, one_over_units)
        if not np.isfinite(value):
            _unscale(theta, n_weights, scale)
            return total, i, 1, value
        rate = neg_rates[i]
        if lazy:
            nonfinite = 0
            for c in range(units):  # every x_j dz finite, without a pass over the row
                bound = largest * abs(z[c])
                nonfinite += not (z[c] - z[c] == 0) or not (bound - bound == 0)
            if nonfinite:
                _unscale(theta, n_weights, scale)
                return total, i, 2, value
            if i == order.size - 1:  # leave grad as the dense loop does: the last gradient
                for q in range(n_weights):
                    grad[q] = _penalized(zero, theta[q] * scale, l1, l2)
                for p in range(start, stop):
                    at = indices[p] * units
                    for c in range(units):
                        q = at + c
                        grad[q] = _penalized(data[p] * z[c], theta[q] * scale, l1, l2)
                if bias:
                    for c in range(units):
                        grad[n_weights + c] = z[c]
            scale *= 1.0 + rate * (l2 + weight_decay)  # the decay of every weight at once
            if scale < 1e-9:  # fold s into the weights before it underflows (or is <= 0)
                _unscale(theta, n_weights, scale)
                scale = 1.0
            if units == 1:
                step0 = (rate * z[0]) / scale
                for p in range(start, stop):
                    theta[indices[p]] += data[p] * step0
            else:
                for c in range(units):
                    step[c] = (rate * z[c]) / scale
                for p in range(start, stop):
                    xj = data[p]
                    at = indices[p] * units
                    for c in range(units):
                        theta[at + c] += xj * step[c]
            if bias:
                for c in range(units):
                    q = n_weights + c
                    t = theta[q]
                    theta[q] = t + _grad(t, z[c], weight_decay, decay, sign) * rate
        else:
            nonfinite = 0
            for q in range(n_weights):  # the penalty of the weights this row does not touch
                g = _penalized(zero, theta[q], l1, l2)
                grad[q] = g
                nonfinite += not (g - g == 0)
            for p in range(start, stop):
                xj = data[p]
                at = indices[p] * units
                for c in range(units):
                    q = at + c
                    g = _penalized(xj * z[c], theta[q], l1, l2)
                    grad[q] = g
                    nonfinite += not (g - g == 0)
            if bias:
                for c in range(units):
                    grad[n_weights + c] = z[c]
                    nonfinite += not (z[c] - z[c] == 0)
            if nonfinite:
                return total, i, 2, value
            _sgd(theta, grad, buffer, weight_decay, decay, sign, momentum_on,
                 first and i == 0, momentum, one_minus_dampening, nesterov, rate)
        total += value
    _unscale(theta, n_weights, scale)
    return total, order.size, 0, 0.0


@_kernel
def _unscale(theta, n_weights, scale):
    """``w = s·v``: write the weights back into ``theta`` (nothing when ``s`` is 1)."""
    if scale != 1.0:
        for q in range(n_weights):
            theta[q] = theta[q] * scale
