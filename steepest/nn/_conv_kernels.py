"""Compiled loops of the image layers: col2im and the pooling windows.

Every kernel reads and writes C-contiguous arrays it is given and allocates
nothing. Images are ``(n, C, H, W)``; the column matrix of a convolution with a
``kh × kw`` kernel, stride ``(sh, sw)`` and zero padding ``(ph, pw)`` is stored
as ``cols[c, i, j, s, oh, ow] = X[s, c, oh·sh + i − ph, ow·sw + j − pw]`` (0
outside the image), a ``(C·kh·kw, n·OH·OW)`` matrix (im2col itself is kh·kw
NumPy slice copies, in :mod:`steepest.nn.conv`: faster than a loop here, whose
inner runs of OW values are too short to vectorise).

The kernels index flat views of their arrays. For every kernel offset ``(i, j)``
col2im works out once which output rows and columns read inside the image
(:func:`_inside`), so its inner loop has no test per element. The pooling loops
are inlined into a few copies with the common windows as constants (2×2 and 3×3
with stride 2), which LLVM unrolls; any other window takes the general copy.

These loops are single-threaded: the matrix products around them use
OpenBLAS's threads, and Numba's own thread pool would fight them (see
:mod:`steepest.optim._kernels`). Importing this module imports Numba; the image
layers import it on their first pass. Compiled code is cached on disk
(``cache=True``).
"""

from __future__ import annotations

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
def col2im(dcols, kh, kw, sh, sw, ph, pw, dX):
    """``dX`` (n, C, H, W) = the sum of every entry of ``dcols`` (C, kh, kw, n, OH, OW) into
    the pixel im2col copied it from (its adjoint; entries from the padding are dropped)."""
    n, C, H, W = dX.shape
    OH, OW = dcols.shape[4], dcols.shape[5]
    d, src = dX.reshape(-1), dcols.reshape(-1)
    d[:] = 0
    for c in range(C):
        for i in range(kh):
            oh0, oh1 = _inside(i, ph, sh, H, OH)
            for j in range(kw):
                ow0, ow1 = _inside(j, pw, sw, W, OW)
                block = ((c * kh + i) * kw + j) * n * OH * OW
                for s in range(n):
                    image = (s * C + c) * H * W
                    for oh in range(oh0, oh1):
                        to = image + (oh * sh + i - ph) * W + j - pw
                        at = block + (s * OH + oh) * OW
                        if sw == 1:
                            for ow in range(ow0, ow1):
                                d[to + ow] += src[at + ow]
                        else:
                            for ow in range(ow0, ow1):
                                d[to + ow * sw] += src[at + ow]
    return dX


@_inline
def _max_windows(x, y, argmax, planes, H, W, OH, OW, kh, kw, sh, sw):
    out = 0
    for plane in range(planes):
        image = plane * H * W
        for oh in range(OH):
            for ow in range(OW):
                first = oh * sh * W + ow * sw
                best, at = x[image + first], first
                for i in range(kh):
                    for j in range(kw):
                        k = first + i * W + j
                        value = x[image + k]
                        if value > best or value != value:
                            best, at = value, k
                y[out], argmax[out] = best, at
                out += 1


@_kernel
def max_pool(X, kh, kw, sh, sw, Y, argmax):
    """``Y`` (n, C, OH, OW): the largest value of each window of ``X`` (n, C, H, W);
    ``argmax`` holds its flat index ``h·W + w`` in the image: the first in the window's
    row-major order on ties, and a NaN wins over any number (the last NaN), as torch."""
    n, C, H, W = X.shape
    OH, OW = Y.shape[2], Y.shape[3]
    x, y, a = X.reshape(-1), Y.reshape(-1), argmax.reshape(-1)
    if kh == 2 and kw == 2 and sh == 2 and sw == 2:
        _max_windows(x, y, a, n * C, H, W, OH, OW, 2, 2, 2, 2)
    elif kh == 3 and kw == 3 and sh == 2 and sw == 2:
        _max_windows(x, y, a, n * C, H, W, OH, OW, 3, 3, 2, 2)
    else:
        _max_windows(x, y, a, n * C, H, W, OH, OW, kh, kw, sh, sw)
    return Y


@_kernel
def max_pool_backward(dY, argmax, dX):
    """``dX`` (n, C, H, W): each ``dY`` (n, C, OH, OW) added at its window's ``argmax``."""
    n, C, H, W = dX.shape
    d, g, a = dX.reshape(-1), dY.reshape(-1), argmax.reshape(-1)
    d[:] = 0
    per_plane = dY.shape[2] * dY.shape[3]
    k = 0
    for plane in range(n * C):
        image = plane * H * W
        for _ in range(per_plane):
            d[image + a[k]] += g[k]
            k += 1
    return dX


@_inline
def _mean_windows(x, y, size, planes, H, W, OH, OW, kh, kw, sh, sw):
    out = 0
    for plane in range(planes):
        image = plane * H * W
        for oh in range(OH):
            for ow in range(OW):
                first = image + oh * sh * W + ow * sw
                total = size - size                 # 0 in x's dtype
                for i in range(kh):
                    for j in range(kw):
                        total += x[first + i * W + j]
                y[out] = total / size
                out += 1


@_kernel
def avg_pool(X, kh, kw, sh, sw, size, Y):
    """``Y`` (n, C, OH, OW): the sum of each window of ``X`` (n, C, H, W) over ``size``
    (``kh·kw``, a scalar of X's dtype)."""
    n, C, H, W = X.shape
    OH, OW = Y.shape[2], Y.shape[3]
    x, y = X.reshape(-1), Y.reshape(-1)
    if kh == 2 and kw == 2 and sh == 2 and sw == 2:
        _mean_windows(x, y, size, n * C, H, W, OH, OW, 2, 2, 2, 2)
    else:
        _mean_windows(x, y, size, n * C, H, W, OH, OW, kh, kw, sh, sw)
    return Y


@_kernel
def avg_pool_backward(dY, kh, kw, sh, sw, size, dX):
    """``dX`` (n, C, H, W): each ``dY`` (n, C, OH, OW) over ``size`` (``kh·kw``, a scalar of
    dY's dtype), added to every pixel of its window."""
    n, C, H, W = dX.shape
    OH, OW = dY.shape[2], dY.shape[3]
    d, g = dX.reshape(-1), dY.reshape(-1)
    d[:] = 0
    k = 0
    for plane in range(n * C):
        image = plane * H * W
        for oh in range(OH):
            for ow in range(OW):
                share = g[k] / size
                first = image + oh * sh * W + ow * sw
                for i in range(kh):
                    for j in range(kw):
                        d[first + i * W + j] += share
                k += 1
    return dX
