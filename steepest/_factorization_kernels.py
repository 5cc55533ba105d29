r"""The compiled loops of :mod:`steepest.factorization` (importing this imports Numba).

The model predicts rating :math:`\hat r_{ui} = \mu + b_u + b_i + q_i^\top p_u` (biased) or
:math:`q_i^\top p_u` (unbiased: ``biased=False`` passes ``mu = 0`` and biases that stay
zero). Each rating :math:`(u, i, r)` contributes

.. math:: \ell_{ui} = \tfrac12 (r - \hat r_{ui})^2
          + \tfrac{\alpha}{2} (b_u^2 + b_i^2 + \|p_u\|^2 + \|q_i\|^2)

to the objective (the biases' terms only when biased). Array shapes: ``P`` is
(n_users, n_factors), ``Q`` (n_items, n_factors), ``bu`` (n_users,), ``bi`` (n_items,);
``users``, ``items`` and ``ratings`` are (n_ratings,), the ids as dense indices.

Scalars arrive rounded to the parameters' dtype, so float32 factors are updated in
float32 arithmetic; sums reported to Python (losses) are float64. No fused
multiply-adds and no reassociation (``fastmath=False``): :func:`sgd_ratings`
performs Surprise's operations in Surprise's order (its dot product too: one sum,
factor by factor), so from the same start it gives Surprise's factors to the last
bit on the same machine. The code is cached on disk (``cache=True``).
"""

from __future__ import annotations

from numba import njit

_kernel = njit(cache=True, fastmath=False, error_model="numpy", nogil=True)

OK, NOT_FINITE = 0, 1
"""The status :func:`sgd_ratings` returns: every rating used, or stopped at a rating whose
error was NaN or infinite (before its update)."""


@_kernel
def _error(rating, mu, P, Q, bu, bi, u, i, zero):
    r"""``(e, n)``: the error :math:`e = r - \hat r_{ui}` (the dot product summed factor by
    factor, as Surprise does) and :math:`n = \|p_u\|^2 + \|q_i\|^2`, in the parameters'
    dtype (``zero`` is 0 in it)."""
    dot = zero
    norms = zero
    for f in range(P.shape[1]):
        dot += Q[i, f] * P[u, f]
        norms += P[u, f] * P[u, f] + Q[i, f] * Q[i, f]
    return rating - (mu + bu[u] + bi[i] + dot), norms


@_kernel
def sgd_ratings(users, items, ratings, order, rates, mu, P, Q, bu, bi, alpha, biased):
    r"""Surprise's ``SVD`` epoch: one SGD step per rating, for the ratings ``order``.

    For each rating, with :math:`e = r - \hat r_{ui}` at the current parameters and
    ``rates[t]`` the step size of the ``t``-th rating::

        b_u += lr (e - alpha b_u);   b_i += lr (e - alpha b_i)          # when biased
        p_u += lr (e q_i - alpha p_u);  q_i += lr (e p_u - alpha q_i)   # from the old p_u, q_i

    that is ``θ -= lr ∇ℓ_ui(θ)``.

    Returns
    -------
    squares : float
        :math:`\sum e^2` over the ratings done, each taken before its update.
    objective : float
        :math:`\sum \ell_{ui}` over the ratings done, each before its update.
    done : int
        The ratings used (``order.size`` unless one failed).
    status : int
        ``OK``, or ``NOT_FINITE`` when rating ``order[done]`` had a non-finite error.
    """
    k = P.shape[1]
    zero = alpha - alpha
    squares = 0.0
    objective = 0.0
    for t in range(order.size):
        j = order[t]
        u = users[j]
        i = items[j]
        err, norms = _error(ratings[j], mu, P, Q, bu, bi, u, i, zero)
        if not (err - err == 0):  # NaN and inf give NaN
            return squares, objective, t, NOT_FINITE
        if biased:
            norms += bu[u] * bu[u] + bi[i] * bi[i]
        squares += err * err
        objective += 0.5 * (float(err * err) + float(alpha * norms))
        lr = rates[t]
        if biased:
            bu[u] += lr * (err - alpha * bu[u])
            bi[i] += lr * (err - alpha * bi[i])
        for f in range(k):
            puf = P[u, f]
            qif = Q[i, f]
            P[u, f] += lr * (err * qif - alpha * puf)
            Q[i, f] += lr * (err * puf - alpha * qif)
    return squares, objective, order.size, OK


@_kernel
def batch_gradient(users, items, ratings, batch, scale, mu, P, Q, bu, bi, gP, gQ, gbu, gbi,
                   alpha, biased):
    r"""The mean objective over the ratings ``batch`` and its gradient.

    :math:`J_B = \frac{1}{|B|}\sum_{(u,i,r) \in B} \ell_{ui}`, whose gradient is, for
    instance, :math:`\partial J_B / \partial p_u = \frac{1}{|B|}\sum_{(u,i,r) \in B}
    (\alpha p_u - e\, q_i)`; ``scale`` is :math:`1/|B|` in the parameters' dtype. The
    gradient arrays (shaped as the parameters) must be zero on the batch's rows; the
    gradient is added there and nowhere else (:func:`clear_rows` puts the zeros back
    after the step).

    Returns
    -------
    value : float
        :math:`J_B`.
    squares : float
        :math:`\sum_B e^2`.
    """
    k = P.shape[1]
    zero = alpha - alpha
    decay = alpha * scale
    squares = 0.0
    value = 0.0
    for t in range(batch.size):
        j = batch[t]
        u = users[j]
        i = items[j]
        err, norms = _error(ratings[j], mu, P, Q, bu, bi, u, i, zero)
        if biased:
            norms += bu[u] * bu[u] + bi[i] * bi[i]
        squares += err * err
        value += 0.5 * (float(err * err) + float(alpha * norms))
        c = err * scale
        if biased:
            gbu[u] += decay * bu[u] - c
            gbi[i] += decay * bi[i] - c
        for f in range(k):
            gP[u, f] += decay * P[u, f] - c * Q[i, f]
            gQ[i, f] += decay * Q[i, f] - c * P[u, f]
    return value / batch.size, squares


@_kernel
def clear_rows(users, items, batch, gP, gQ, gbu, gbi):
    """Zero the gradient rows of the users and items of the ratings ``batch``."""
    for t in range(batch.size):
        u = users[batch[t]]
        i = items[batch[t]]
        gbu[u] = 0
        gbi[i] = 0
        gP[u, :] = 0
        gQ[i, :] = 0


@_kernel
def predict(users, items, mu, P, Q, bu, bi, biased, fallback, out):
    r"""``out[t]`` = the rating predicted for ``(users[t], items[t])``; ``-1`` is an unseen id.

    As Surprise's ``SVD.estimate``: :math:`\mu + b_u + b_i + q_i^\top p_u` when both ids
    are known; else, when biased, :math:`\mu` plus the biases that are known, and when
    unbiased, ``fallback`` (the mean rating, Surprise's default prediction).
    """
    k = P.shape[1]
    for t in range(users.size):
        u = users[t]
        i = items[t]
        if u >= 0 and i >= 0:
            dot = mu - mu
            for f in range(k):
                dot += Q[i, f] * P[u, f]
            out[t] = mu + bu[u] + bi[i] + dot
        elif not biased:
            out[t] = fallback
        else:
            estimate = mu
            if u >= 0:
                estimate += bu[u]
            if i >= 0:
                estimate += bi[i]
            out[t] = estimate
