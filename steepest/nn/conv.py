r"""Layers on images: convolution, max and average pooling, and Flatten.

Images are batches of shape ``(n_samples, C, H, W)`` (channels, rows, columns),
as in torch; a :class:`~steepest.nn.Network` takes them when its ``n_features``
is a shape ``(C, H, W)``::

    from steepest import nn

    net = nn.Network([nn.Conv2D(32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                      nn.Dense(10)], n_features=(1, 28, 28), dtype="float32")

A convolution with kernel :math:`W` of shape ``(O, C, kh, kw)``, stride
:math:`(s_h, s_w)` and zero padding :math:`(p_h, p_w)` computes (a
cross-correlation, as every deep-learning library does)

.. math::

    Y_{s,o,h,w} = b_o + \sum_{c,i,j} W_{o,c,i,j}\,
                  X_{s,\,c,\,h s_h + i - p_h,\,w s_w + j - p_w}

over an output of :math:`\lfloor (H + 2p_h - k_h) / s_h \rfloor + 1` rows (and
likewise columns). It is computed as one matrix product per batch: the patches
of every output pixel are copied into a column matrix (:func:`im2col`) of
shape ``(C·kh·kw, n·OH·OW)`` and multiplied
by ``W.reshape(O, C·kh·kw)`` (BLAS ``gemm``, in the network's dtype). The
backward pass is two more products, :math:`\partial W = \partial Y\,
\text{cols}^\top` and :math:`\partial\,\text{cols} = W^\top \partial Y`, and
col2im, which adds every column entry back to the pixel it came from. As in
every layer, the arrays are buffers kept per batch size.

The column matrix is ``kh·kw`` times the size of the input (after padding),
and a forward pass keeps it for backward: at batch 64 the second convolution
of a small Fashion-MNIST network (32 → 64 channels, 3×3, on 13×13) holds 8.9 MB
of float32 columns. Run inference on a large set in batches.

Pooling windows have no padding and drop the rows and columns that do not fill
a window (torch's defaults). The compiled loops (col2im, the pools) are
in :mod:`steepest.nn._conv_kernels`; Numba is imported on the first pass of one
of these layers.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError
from steepest.nn import init
from steepest.nn.layers import Layer

__all__ = ["AvgPool2D", "Conv2D", "Flatten", "MaxPool2D", "im2col"]


def _pair(value, name: str, owner: str, low: int) -> tuple[int, int]:
    """``(rows, columns)`` from an int or a pair of ints, each >= ``low``."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
            for v in pair)):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be an int >= {low} or a pair of them "
            f"(rows, columns). Got {value!r} instead."
        )
    return int(pair[0]), int(pair[1])


def im2col(X: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           padding: tuple[int, int], padded: np.ndarray | None, cols: np.ndarray) -> np.ndarray:
    """Fill ``cols`` (C, kh, kw, n, OH, OW) with
    ``cols[c, i, j, s, oh, ow] = X[s, c, oh·sh + i − ph, ow·sw + j − pw]`` (0 in the padding).

    ``X`` is (n, C, H, W); ``padded`` is a buffer (n, C, H + 2ph, W + 2pw) for the
    zero-padded images (None without padding). One strided slice copy per kernel
    offset ``(i, j)``.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH, OW = cols.shape[4], cols.shape[5]
    if padded is not None:
        H, W = X.shape[2], X.shape[3]
        padded[:, :, :ph] = 0
        padded[:, :, ph + H:] = 0
        padded[:, :, ph:ph + H, :pw] = 0
        padded[:, :, ph:ph + H, pw + W:] = 0
        padded[:, :, ph:ph + H, pw:pw + W] = X
        X = padded
    by_channel = X.transpose(1, 0, 2, 3)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = by_channel[:, :, i:i + sh * (OH - 1) + 1:sh,
                                       j:j + sw * (OW - 1) + 1:sw]
    return cols


def _kernels():
    """The compiled loops (imports Numba on first use)."""
    from steepest.nn import _conv_kernels

    return _conv_kernels


class _ImageLayer(Layer):
    """A layer on images ``(n, C, H, W)``: checks its input shape, keeps its buffers."""

    def _image_shape(self, in_shape: tuple[int, ...]) -> tuple[int, int, int]:
        if len(in_shape) != 3:
            raise ParameterError(
                f"{type(self).__name__} takes images of shape (channels, height, width), but "
                f"its input samples have shape {in_shape}; give the Network n_features=(C, H, "
                "W) for images, and put image layers before the Flatten."
            )
        return in_shape

    def _windows(self, size: int, kernel: int, stride: int, pad: int, axis: str) -> int:
        """The number of windows along one axis; refuses a kernel larger than the input."""
        if size + 2 * pad < kernel:
            raise ParameterError(
                f"{type(self).__name__}'s kernel of {kernel} {axis} does not fit its input of "
                f"{size} {axis}" + (f" padded by {pad} on each side" if pad else "")
                + f" (samples of shape {self.in_shape}); use a smaller kernel or more padding."
            )
        return (size + 2 * pad - kernel) // stride + 1

    def _batch_buffer(self, name: str, n: int, shape: tuple[int, ...], dtype=None) -> np.ndarray:
        """A buffer of ``shape`` kept for batches of ``n`` samples (``shape`` need not start
        with ``n``: a column matrix is ``(C·kh·kw, n·OH·OW)``)."""
        return self._buffer(name, (n, math.prod(shape) // n), dtype).reshape(shape)


class Conv2D(_ImageLayer):
    r"""2-D convolution (cross-correlation) over images, as torch's ``Conv2d``.

    :math:`Y_{s,o} = b_o + \sum_c W_{o,c} \star X_{s,c}`, with stride and zero
    padding (the formula is in :mod:`steepest.nn.conv`).

    Parameters
    ----------
    out_channels : int
        The number of output channels (filters), >= 1.
    kernel_size : int or (int, int)
        ``(kh, kw)``, the kernel's rows and columns (an int: square), >= 1.
    stride : int or (int, int), default=1
        The step between windows along rows and columns, >= 1.
    padding : int or (int, int), default=0
        Zeros added on each side of the rows and of the columns, >= 0.
    bias : bool, default=True
        Whether to add the bias ``b``.
    weight_init : str or callable, default="glorot_uniform"
        An initialiser from :mod:`steepest.nn.init`, with torch's fans for a
        kernel: ``fan_in = in_channels·kh·kw``, ``fan_out = out_channels·kh·kw``.
        Glorot, as :class:`~steepest.nn.Dense` and Keras's ``Conv2D``, so that one
        rule initialises the whole network; ``"he_uniform"`` suits deep ReLU
        stacks. (torch's ``Conv2d`` draws :math:`U(\pm 1/\sqrt{\text{fan\_in}})`,
        ``kaiming_uniform_`` with :math:`a = \sqrt 5`, for both W and b.)
    bias_init : str or callable, default="zeros"

    Attributes
    ----------
    W, dW : ndarray of shape (out_channels, in_channels, kh, kw)
        The kernel and its gradient, torch's layout: views into the network's
        theta and grad (``"<i>.W"`` in ``Network.parameters()``).
    b, db : ndarray of shape (out_channels,)
        The bias and its gradient (absent when ``bias=False``).

    Notes
    -----
    Input samples ``(C, H, W)`` give output samples ``(out_channels, OH, OW)``
    with :math:`OH = \lfloor (H + 2 p_h - k_h) / s_h \rfloor + 1`. A forward
    pass keeps the column matrix, ``C·kh·kw × n·OH·OW`` values, for backward.
    """

    _hyperparameters = ("out_channels", "kernel_size", "stride", "padding", "bias",
                        "weight_init", "bias_init")

    def __init__(self, out_channels: int, kernel_size: int | tuple[int, int], stride=1,
                 padding=0, *, bias: bool = True, weight_init="glorot_uniform",
                 bias_init="zeros") -> None:
        super().__init__()
        self.out_channels = check_number(out_channels, "out_channels", "Conv2D", low=1,
                                         integer=True)
        self._kernel = _pair(kernel_size, "kernel_size", "Conv2D", 1)
        self._stride = _pair(stride, "stride", "Conv2D", 1)
        self._padding = _pair(padding, "padding", "Conv2D", 0)
        init.get(weight_init)
        init.get(bias_init)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.bias, self.weight_init, self.bias_init = bool(bias), weight_init, bias_init

    def _output_shape(self, in_shape):
        _, H, W = self._image_shape(in_shape)
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        return (self.out_channels, self._windows(H, kh, sh, ph, "rows"),
                self._windows(W, kw, sw, pw, "columns"))

    def _parameter_shapes(self):
        shapes = {"W": (self.out_channels, self.in_shape[0], *self._kernel)}
        if self.bias:
            shapes["b"] = (self.out_channels,)
        return shapes

    def _reset_parameters(self, rng):
        init.get(self.weight_init)(self.W, rng)
        if self.bias:
            init.get(self.bias_init)(self.b, rng)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, out_channels, OH, OW) from ``X`` (n_samples, C, H, W)."""
        n, (O, OH, OW), (C, H, W) = X.shape[0], self.out_shape, self.in_shape
        (kh, kw), (ph, pw) = self._kernel, self._padding
        cols = self._batch_buffer("cols", n, (C, kh, kw, n, OH, OW))
        padded = self._buffer("padded", (n, C, H + 2 * ph, W + 2 * pw)) if ph or pw else None
        im2col(X, self._kernel, self._stride, self._padding, padded, cols)
        self._cols = cols = cols.reshape(C * kh * kw, n * OH * OW)
        products = self._batch_buffer("products", n, (O, n * OH * OW))
        np.matmul(self.W.reshape(O, -1), cols, out=products)
        return self._images(products, self.b if self.bias else None, "Y")

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill ``dW`` (out_channels, C, kh, kw) and ``db`` (out_channels,) from ``dY``
        (n_samples, out_channels, OH, OW); return ``dX`` (n_samples, C, H, W)."""
        n, (O, OH, OW) = dY.shape[0], self.out_shape
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        C = self.in_shape[0]
        # ∂Y by channel, (O, n·OH·OW): the products' buffer, free after forward
        dY_by_channel = self._batch_buffer("products", n, (O, n * OH * OW))
        np.copyto(dY_by_channel.reshape(O, n, OH * OW),
                  dY.reshape(n, O, OH * OW).transpose(1, 0, 2))
        np.matmul(dY_by_channel, self._cols.T, out=self.dW.reshape(O, -1))
        if self.bias:
            np.sum(dY_by_channel, axis=1, out=self.db)
        if not need_dX:
            return None
        dcols = self._batch_buffer("dcols", n, (C * kh * kw, n * OH * OW))
        np.matmul(self.W.reshape(O, -1).T, dY_by_channel, out=dcols)
        dX = self._buffer("dX", (n, *self.in_shape))
        return _kernels().col2im(dcols.reshape(C, kh, kw, n, OH, OW), kh, kw, sh, sw, ph, pw,
                                 dX)

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray:
        """``R{Y} = conv(R{X}, W) + conv(X, rW) + rb`` (bilinear in the input and the
        weights): two matmuls on the columns, ``X``'s kept by forward."""
        (O, OH, OW), (C, H, W) = self.out_shape, self.in_shape
        n = self._cols.shape[1] // (OH * OW)
        (kh, kw), (ph, pw) = self._kernel, self._padding
        products = self._batch_buffer("Rproducts", n, (O, n * OH * OW))
        np.matmul(self.rW.reshape(O, -1), self._cols, out=products)
        self._Rcols = None
        if RX is not None:
            Rcols = self._batch_buffer("Rcols", n, (C, kh, kw, n, OH, OW))
            padded = self._buffer("padded", (n, C, H + 2 * ph, W + 2 * pw)) if ph or pw \
                else None
            im2col(RX, self._kernel, self._stride, self._padding, padded, Rcols)
            self._Rcols = Rcols = Rcols.reshape(C * kh * kw, n * OH * OW)
            products += self.W.reshape(O, -1) @ Rcols
        return self._images(products, self.rb if self.bias else None, "RY")

    def _images(self, products: np.ndarray, bias: np.ndarray | None, name: str) -> np.ndarray:
        """The products by channel (O, n·OH·OW) as images (n, O, OH, OW), plus ``bias`` per
        channel, in the buffer ``name``."""
        O, OH, OW = self.out_shape
        n = products.shape[1] // (OH * OW)
        images = self._buffer(name, (n, O, OH, OW))
        by_channel = products.reshape(O, n, OH * OW).transpose(1, 0, 2)
        if bias is not None:
            np.add(by_channel, bias[:, None], out=images.reshape(n, O, OH * OW))
        else:
            np.copyto(images.reshape(n, O, OH * OW), by_channel)
        return images

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """``R{dW} = R{dY}·colsᵀ + dY·R{cols}ᵀ``, ``R{db} = Σ R{dY}``; return
        ``R{dX} = col2im(Wᵀ R{dY} + rWᵀ dY)``."""
        n, (O, OH, OW) = dY.shape[0], self.out_shape
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        C = self.in_shape[0]

        def by_channel(array, name):
            out = self._batch_buffer(name, n, (O, n * OH * OW))
            np.copyto(out.reshape(O, n, OH * OW),
                      array.reshape(n, O, OH * OW).transpose(1, 0, 2))
            return out

        dY_c, RdY_c = by_channel(dY, "dY_c"), by_channel(RdY, "RdY_c")
        rdW = self.rdW.reshape(O, -1)
        np.matmul(RdY_c, self._cols.T, out=rdW)
        if self._Rcols is not None:
            rdW += dY_c @ self._Rcols.T
        if self.bias:
            np.sum(RdY_c, axis=1, out=self.rdb)
        if not need_dX:
            return None
        Rdcols = self._batch_buffer("Rdcols", n, (C * kh * kw, n * OH * OW))
        np.matmul(self.W.reshape(O, -1).T, RdY_c, out=Rdcols)
        Rdcols += self.rW.reshape(O, -1).T @ dY_c
        RdX = self._buffer("RdX", (n, *self.in_shape))
        return _kernels().col2im(Rdcols.reshape(C, kh, kw, n, OH, OW), kh, kw, sh, sw, ph,
                                 pw, RdX)


class _Pool2D(_ImageLayer):
    """A pooling window of ``kernel_size`` moved by ``stride`` (default: the kernel)."""

    _hyperparameters = ("kernel_size", "stride")

    def __init__(self, kernel_size: int | tuple[int, int], stride=None) -> None:
        super().__init__()
        owner = type(self).__name__
        self._kernel = _pair(kernel_size, "kernel_size", owner, 1)
        self._stride = self._kernel if stride is None else _pair(stride, "stride", owner, 1)
        self.kernel_size, self.stride = kernel_size, stride

    def _output_shape(self, in_shape):
        C, H, W = self._image_shape(in_shape)
        (kh, kw), (sh, sw) = self._kernel, self._stride
        return (C, self._windows(H, kh, sh, 0, "rows"), self._windows(W, kw, sw, 0, "columns"))


class MaxPool2D(_Pool2D):
    r"""The largest value of each window, per channel, as torch's ``MaxPool2d``.

    :math:`Y_{s,c,h,w} = \max_{i,j} X_{s,c,h s_h + i,\,w s_w + j}`. The gradient
    goes to the position of the maximum (kept by forward): on ties the first in
    the window's row-major order, as torch; a NaN counts as the maximum.

    Parameters
    ----------
    kernel_size : int or (int, int)
        The window's rows and columns, >= 1.
    stride : int or (int, int), optional
        The step between windows; default the kernel size (windows side by side).

    Attributes
    ----------
    argmax : ndarray of int32 of shape (n_samples, C, OH, OW)
        After a forward pass: for each output, the flat index ``h·W + w`` of its
        maximum in the input image.
    """

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, C, OH, OW) from ``X`` (n_samples, C, H, W)."""
        n = X.shape[0]
        (kh, kw), (sh, sw) = self._kernel, self._stride
        Y = self._buffer("Y", (n, *self.out_shape))
        self.argmax = self._buffer("argmax", Y.shape, np.int32)
        return _kernels().max_pool(np.ascontiguousarray(X), kh, kw, sh, sw, Y, self.argmax)

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """``dX`` (n_samples, C, H, W): each ``dY`` at its window's maximum, 0 elsewhere
        (summed where windows overlap)."""
        if not need_dX:
            return None
        dX = self._buffer("dX", (dY.shape[0], *self.in_shape))
        return _kernels().max_pool_backward(np.ascontiguousarray(dY), self.argmax, dX)

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray | None:
        """``R{Y}``: ``R{X}`` at each window's maximum (the max is linear where it does
        not switch)."""
        if RX is None:
            return None
        n, C = RX.shape[0], self.in_shape[0]
        RY = self._buffer("RY", (n, *self.out_shape))
        np.copyto(RY.reshape(n, C, -1), np.take_along_axis(
            RX.reshape(n, C, -1), self.argmax.reshape(n, C, -1).astype(np.intp), axis=2))
        return RY

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """``R{dX}``: ``R{dY}`` at each window's maximum, as backward routes ``dY``."""
        if not need_dX:
            return None
        RdX = self._buffer("RdX", (RdY.shape[0], *self.in_shape))
        return _kernels().max_pool_backward(np.ascontiguousarray(RdY), self.argmax, RdX)


class AvgPool2D(_Pool2D):
    r"""The mean of each window, per channel, as torch's ``AvgPool2d`` (no padding).

    :math:`Y_{s,c,h,w} = \frac{1}{k_h k_w} \sum_{i,j} X_{s,c,h s_h + i,\,w s_w + j}`.

    Parameters
    ----------
    kernel_size : int or (int, int)
        The window's rows and columns, >= 1.
    stride : int or (int, int), optional
        The step between windows; default the kernel size (windows side by side).
    """

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, C, OH, OW) from ``X`` (n_samples, C, H, W)."""
        (kh, kw), (sh, sw) = self._kernel, self._stride
        Y = self._buffer("Y", (X.shape[0], *self.out_shape))
        return _kernels().avg_pool(np.ascontiguousarray(X), kh, kw, sh, sw,
                                   self.dtype.type(kh * kw), Y)

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """``dX`` (n_samples, C, H, W): each ``dY / (kh·kw)`` spread over its window."""
        if not need_dX:
            return None
        (kh, kw), (sh, sw) = self._kernel, self._stride
        dX = self._buffer("dX", (dY.shape[0], *self.in_shape))
        return _kernels().avg_pool_backward(np.ascontiguousarray(dY), kh, kw, sh, sw,
                                            self.dtype.type(kh * kw), dX)

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray | None:
        """``R{Y}``: the window means of ``R{X}`` (the layer is linear)."""
        if RX is None:
            return None
        (kh, kw), (sh, sw) = self._kernel, self._stride
        RY = self._buffer("RY", (RX.shape[0], *self.out_shape))
        return _kernels().avg_pool(np.ascontiguousarray(RX), kh, kw, sh, sw,
                                   self.dtype.type(kh * kw), RY)

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """``R{dX}``: ``R{dY} / (kh·kw)`` spread over its window."""
        if not need_dX:
            return None
        (kh, kw), (sh, sw) = self._kernel, self._stride
        RdX = self._buffer("RdX", (RdY.shape[0], *self.in_shape))
        return _kernels().avg_pool_backward(np.ascontiguousarray(RdY), kh, kw, sh, sw,
                                            self.dtype.type(kh * kw), RdX)


class Flatten(Layer):
    """Samples of any shape, such as images ``(C, H, W)``, as flat rows of ``C·H·W`` values
    in C order (channel by channel, each row by row), as torch's ``Flatten``.

    Forward and backward are reshapes: views, no copy, for contiguous arrays.
    """

    def _output_shape(self, in_shape):
        return (math.prod(in_shape),)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, n_in), a view of ``X`` (n_samples, *in_shape)."""
        return X.reshape(X.shape[0], self.n_in)

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """``dX`` (n_samples, *in_shape), a view of ``dY`` (n_samples, n_in)."""
        return dY.reshape(dY.shape[0], *self.in_shape) if need_dX else None

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray | None:
        """``R{Y}``: ``R{X}`` flattened (a view)."""
        return None if RX is None else RX.reshape(RX.shape[0], self.n_in)

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """``R{dX}``: ``R{dY}`` in the input's shape (a view)."""
        return RdY.reshape(RdY.shape[0], *self.in_shape) if need_dX else None
