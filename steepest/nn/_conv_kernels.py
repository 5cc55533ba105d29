"""Compiled loops of the image layers: im2col, col2im and the pooling windows.

Every kernel reads and writes C-contiguous arrays it is given and allocates
nothing. Images are ``(n, C, H, W)``; the column matrix of a convolution with a
``kh × kw`` kernel, stride ``(sh, sw)`` and zero padding ``(ph, pw)`` is stored
as ``cols[c, i, j, s, oh, ow] = X[s, c, oh·sh + i − ph, ow·sw + j − pw]`` (0
outside the image), a ``(C·kh·kw, n·OH·OW)`` matrix, so that the convolution is
one matrix product ``W.reshape(O, C·kh·kw) @ cols``.

For every kernel offset ``(i, j)`` the output rows and columns whose input lies
inside the image are worked out once (:func:`_inside`), so the innermost loops
run over a fixed range without a test per element and LLVM vectorises them;
with stride 1 they are contiguous copies and adds.

These loops are single-threaded: the matrix products around them use
OpenBLAS's threads, and Numba's own thread pool would fight them (see
:mod:`steepest.optim._kernels`). Importing this module imports Numba; the image
layers import it on their first forward pass. Compiled code is cached on disk
(``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_kernel = njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
_inline = njit(inline="always", fastmath=False, error_model="numpy")


@_inline
def _inside(offset, pad, stride, size, n_out):
    """The range ``[first, stop)`` of outputs ``o`` with ``0 <= o·stride + offset − pad < size``."""
    # ceil((pad - offset) / stride), with floor division rounding towards -inf
    first = max(0, (pad - offset + stride - 1) // stride)
    stop = min(n_out, (size - 1 + pad - offset) // stride + 1)
    return first, max(first, stop)


@_kernel
def im2col(X, kh, kw, sh, sw, ph, pw, cols):
    """Fill ``cols`` (C, kh, kw, n, OH, OW) from the images ``X`` (n, C, H, W)."""
    n, C, H, W = X.shape
    OH, OW = cols.shape[4], cols.shape[5]
    for c in range(C):
        for i in range(kh):
            oh0, oh1 = _inside(i, ph, sh, H, OH)
            for j in range(kw):
                ow0, ow1 = _inside(j, pw, sw, W, OW)
                w0 = ow0 * sw + j - pw
                for s in range(n):
                    for oh in range(OH):
                        if oh < oh0 or oh >= oh1:
                            for ow in range(OW):
                                cols[c, i, j, s, oh, ow] = 0
                            continue
                        h = oh * sh + i - ph
                        for ow in range(ow0):
                            cols[c, i, j, s, oh, ow] = 0
                        for ow in range(ow0, ow1):
                            cols[c, i, j, s, oh, ow] = X[s, c, h, w0 + (ow - ow0) * sw]
                        for ow in range(ow1, OW):
                            cols[c, i, j, s, oh, ow] = 0
    return cols


@_kernel
def col2im(dcols, kh, kw, sh, sw, ph, pw, dX):
    """``dX`` (n, C, H, W) = the sum of every column entry ``dcols`` (C, kh, kw, n, OH, OW)
    into the pixel it was copied from (the adjoint of :func:`im2col`; padding is dropped)."""
    n, C, H, W = dX.shape
    OH, OW = dcols.shape[4], dcols.shape[5]
    for s in range(n):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    dX[s, c, h, w] = 0
    for c in range(C):
        for s in range(n):
            for i in range(kh):
                oh0, oh1 = _inside(i, ph, sh, H, OH)
                for j in range(kw):
                    ow0, ow1 = _inside(j, pw, sw, W, OW)
                    w0 = ow0 * sw + j - pw
                    for oh in range(oh0, oh1):
                        h = oh * sh + i - ph
                        for ow in range(ow0, ow1):
                            dX[s, c, h, w0 + (ow - ow0) * sw] += dcols[c, i, j, s, oh, ow]
    return dX


@_kernel
def max_pool(X, kh, kw, sh, sw, Y, argmax):
    """``Y`` (n, C, OH, OW): the largest value of each window of ``X`` (n, C, H, W);
    ``argmax`` holds its flat index ``h·W + w`` in the image, the first in the window's
    row-major order on ties, and a NaN wins over any number (the last NaN), as torch."""
    n, C, H, W = X.shape
    OH, OW = Y.shape[2], Y.shape[3]
    for s in range(n):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    Y[s, c, oh, ow] = -np.inf
                    argmax[s, c, oh, ow] = oh * sh * W + ow * sw
                for i in range(kh):
                    h = oh * sh + i
                    for j in range(kw):
                        for ow in range(OW):
                            value = X[s, c, h, ow * sw + j]
                            if value > Y[s, c, oh, ow] or value != value:
                                Y[s, c, oh, ow] = value
                                argmax[s, c, oh, ow] = h * W + ow * sw + j
    return Y


@_kernel
def max_pool_backward(dY, argmax, dX):
    """``dX`` (n, C, H·W): each ``dY`` (n, C, OH, OW) added at its window's ``argmax``."""
    n, C, OH, OW = dY.shape
    for s in range(n):
        for c in range(C):
            for k in range(dX.shape[2]):
                dX[s, c, k] = 0
            for oh in range(OH):
                for ow in range(OW):
                    dX[s, c, argmax[s, c, oh, ow]] += dY[s, c, oh, ow]
    return dX


@_kernel
def avg_pool(X, kh, kw, sh, sw, size, Y):
    """``Y`` (n, C, OH, OW): the sum of each window of ``X`` (n, C, H, W) over ``size``
    (``kh·kw``, a scalar of X's dtype)."""
    n, C, H, W = X.shape
    OH, OW = Y.shape[2], Y.shape[3]
    for s in range(n):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    Y[s, c, oh, ow] = 0
                for i in range(kh):
                    h = oh * sh + i
                    for j in range(kw):
                        for ow in range(OW):
                            Y[s, c, oh, ow] += X[s, c, h, ow * sw + j]
                for ow in range(OW):
                    Y[s, c, oh, ow] /= size
    return Y


@_kernel
def avg_pool_backward(dY, kh, kw, sh, sw, size, dX):
    """``dX`` (n, C, H, W): each ``dY`` (n, C, OH, OW) over ``size`` (``kh·kw``, a scalar of
    dY's dtype), added to every pixel of its window."""
    n, C, H, W = dX.shape
    OH, OW = dY.shape[2], dY.shape[3]
    for s in range(n):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    dX[s, c, h, w] = 0
            for oh in range(OH):
                for i in range(kh):
                    h = oh * sh + i
                    for j in range(kw):
                        for ow in range(OW):
                            dX[s, c, h, ow * sw + j] += dY[s, c, oh, ow] / size
    return dX
