r"""Layers: forward and backward passes whose parameters live in a network's flat ``theta``.

A layer is described by its hyperparameters when it is made (``Dense(64)``) and
comes to life inside a :class:`~steepest.nn.Network`, which tells it the shape
of its input samples and the dtype and hands it *views* into the network's
``theta`` and ``grad``:
a Dense layer's ``W`` and ``b`` are slices of ``theta``, its ``dW`` and ``db``
slices of ``grad``. ``backward`` writes the parameter gradients into those views
(overwriting them) and returns ``dX`` for the layer below.

The public ``forward``/``backward`` do the bookkeeping (buffers, what backward
needs from forward); the math is in :mod:`steepest.nn.functional`. Every layer
writes into arrays it keeps per batch size, so a training loop that repeats one
batch size allocates nothing after its first step; an array returned by
``forward`` or ``backward`` is overwritten by the next call with the same batch
size (copy it to keep it).

Hessian-vector products (:meth:`steepest.nn.Network.hvp`) run the R-operator
(Pearlmutter, 1994) through every layer. A layer takes part by defining, on top
of ``forward``/``backward``:

- ``r_forward(RX)``, called right after ``forward``: return :math:`R\{Y\}` (the
  derivative of ``Y`` along the direction) from :math:`R\{X\}` (None for zero, at
  the network's input) and the direction's parts of the layer's parameters, the
  views ``self.r<name>`` (``rW``, ``rb``, ``rgamma``, ...) into the network's
  direction buffer; keep what ``r_backward`` needs.
- ``r_backward(dY, RdY, need_dX=True)``, called right after ``backward(dY)``:
  write :math:`R\{d\theta\}` into the views ``self.rd<name>`` (``rdW``, ...) into
  the network's Hessian-vector buffer (overwriting them) and return
  :math:`R\{dX\}`, or None when ``need_dX`` is false.

Arrays returned are buffers, as for ``forward``/``backward``. A layer without
them (the base class's) makes ``hvp`` raise a :class:`~steepest.errors.ParameterError`.
"""

from __future__ import annotations

import math

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError, StateError
from steepest.nn import functional as F
from steepest.nn import init
from steepest.sparse import is_sparse

__all__ = ["BatchNorm", "Dense", "Dropout", "ELU", "Layer", "LeakyReLU", "ReLU", "Sigmoid", "Tanh"]

_KEEP_BATCH_SIZES = 4
"""How many batch sizes a layer keeps buffers for (the least recently used go first)."""


class Layer:
    """Base class of the layers.

    Subclasses list their hyperparameters in ``_hyperparameters`` (they make
    ``repr``), validate them in ``__init__``, and define ``forward``/``backward``;
    layers with parameters also define ``_parameter_shapes`` and
    ``_reset_parameters``, layers with untrained state ``state_dict`` and
    ``load_state_dict``. A layer on flat samples says its output width with
    ``_output_width``; a layer on images (:mod:`steepest.nn.conv`) its output
    shape with ``_output_shape``.

    Attributes (set when a Network is built)
    ----------------------------------------
    in_shape, out_shape : tuple of int
        The shape of one input and one output sample: ``(n_in,)`` for flat
        samples, ``(C, H, W)`` for images.
    n_in, n_out : int
        Input and output widths, the number of values in one sample
        (``C · H · W`` for an image).
    dtype : numpy.dtype
        The network's float dtype.
    """

    _hyperparameters: tuple[str, ...] = ()
    _elementwise: bool = False
    """True for layers that treat every value on its own (activations, Dropout): they take
    samples of any shape and keep it. The others take flat samples unless they say otherwise
    in ``_output_shape``."""
    accepts_sparse: bool = False
    """Whether the layer takes a SciPy sparse input as the first layer of a network."""

    def __init__(self) -> None:
        self.n_in: int | None = None
        self.n_out: int | None = None
        self.in_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None
        self._buffers: dict[int, dict[str, np.ndarray]] = {}

    # -- what subclasses define -------------------------------------------------------

    def _output_width(self, n_in: int) -> int:
        """The output width for an input of ``n_in`` features (the same by default)."""
        return n_in

    def _output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of an output sample for input samples of shape ``in_shape``.

        Flat samples ``(n_in,)`` give ``(_output_width(n_in),)``; an elementwise
        layer keeps any shape; other layers refuse images.
        """
        if len(in_shape) == 1:
            return (self._output_width(in_shape[0]),)
        if self._elementwise:
            return in_shape
        name = type(self).__name__
        raise ParameterError(
            f"{name} takes flat samples, but the layer before it gives samples of shape "
            f"{in_shape}; put a Flatten() before the {name}."
        )

    def _parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of each trained parameter, in their order in ``theta``."""
        return {}

    def _reset_parameters(self, rng: np.random.Generator) -> None:
        """Fill the parameter views with their initial values."""

    def _build_state(self, rng: np.random.Generator) -> None:
        """Make the untrained state (running statistics, random generators)."""

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` of shape (n_samples, n_out) from ``X`` of shape (n_samples, n_in)."""
        raise NotImplementedError

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill the parameter gradients from ``dY`` (n_samples, n_out) and return ``dX``
        (n_samples, n_in), or None when ``need_dX`` is false."""
        raise NotImplementedError

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray:
        """``R{Y}`` (n_samples, n_out) from ``R{X}`` (n_samples, n_in, or None for zero)
        and the direction views ``self.r<name>``; called right after ``forward``."""
        raise ParameterError(
            f"{type(self).__name__} has no R-operator, so Network.hvp cannot run through it; "
            "define r_forward and r_backward (see steepest.nn.layers) or use other layers."
        )

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """Fill ``self.rd<name>`` with ``R{dθ}`` from ``dY`` and ``R{dY}`` (n_samples, n_out);
        return ``R{dX}`` (n_samples, n_in) or None; called right after ``backward(dY)``."""
        raise ParameterError(
            f"{type(self).__name__} has no R-operator, so Network.hvp cannot run through it; "
            "define r_forward and r_backward (see steepest.nn.layers) or use other layers."
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """The untrained state (copies), e.g. BatchNorm's running statistics; none by default."""
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a state made by :meth:`state_dict`."""
        self._check_state(state)

    # -- called by the Network ---------------------------------------------------------

    def _configure(self, in_shape: int | tuple[int, ...] | None,
                   dtype) -> dict[str, tuple[int, ...]]:
        """Take the input sample shape (an int: a flat width) and the dtype; return the
        parameter shapes. ``None`` leaves the network (and resets the layer)."""
        if in_shape is None:
            self.n_in = self.n_out = self.in_shape = self.out_shape = self.dtype = None
            return {}
        self.in_shape = (in_shape,) if isinstance(in_shape, int) else tuple(in_shape)
        self.dtype = np.dtype(dtype)
        self.n_in = math.prod(self.in_shape)
        self.out_shape = self._output_shape(self.in_shape)
        self.n_out = math.prod(self.out_shape)
        return self._parameter_shapes()

    def _bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
              rng: np.random.Generator) -> None:
        """Take the views; set ``self.<name>`` and ``self.d<name>``; initialise them."""
        for name in params:
            setattr(self, name, params[name])
            setattr(self, "d" + name, grads[name])
        self._buffers = {}
        self._reset_parameters(rng)
        self._build_state(rng)

    def _bind_directions(self, directions: dict[str, np.ndarray],
                         products: dict[str, np.ndarray]) -> None:
        """Take the views into the direction and Hessian-vector buffers: ``self.r<name>``
        and ``self.rd<name>``."""
        for name in directions:
            setattr(self, "r" + name, directions[name])
            setattr(self, "rd" + name, products[name])

    @property
    def n_params(self) -> int:
        """The number of trained parameters (0 before the layer is in a Network)."""
        if self.n_in is None:
            return 0
        return sum(int(np.prod(shape)) for shape in self._parameter_shapes().values())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({args})"

    # -- helpers -----------------------------------------------------------------------

    def _buffer(self, name: str, shape: tuple[int, ...], dtype=None) -> np.ndarray:
        """An array for batches of ``shape[0]`` rows, made on first use and reused after."""
        n = shape[0]
        arrays = self._buffers.pop(n, None)
        if arrays is None:
            arrays = {}
            if len(self._buffers) >= _KEEP_BATCH_SIZES:
                del self._buffers[next(iter(self._buffers))]
        self._buffers[n] = arrays                          # most recently used last
        array = arrays.get(name)
        if array is None:
            array = arrays[name] = np.empty(shape, self.dtype if dtype is None else dtype)
        return array

    def _check_state(self, state: dict, expected: dict | None = None) -> None:
        expected = {} if expected is None else expected
        if set(state) != set(expected):
            raise StateError(
                f"The state given to {type(self).__name__}.load_state_dict holds {sorted(state)}; "
                f"expected {sorted(expected)}."
            )
        for key, like in expected.items():
            array = np.asarray(state[key])
            if array.shape != like.shape:
                raise StateError(
                    f"The state array {key!r} given to {type(self).__name__}.load_state_dict "
                    f"has shape {array.shape}; expected {like.shape}."
                )


class Dense(Layer):
    r"""Fully connected layer, :math:`Y = X W + b`.

    Parameters
    ----------
    units : int
        The number of outputs, >= 1.
    bias : bool, default=True
        Whether to add the bias ``b``.
    weight_init : str or callable, default="glorot_uniform"
        An initialiser name from :mod:`steepest.nn.init` or ``init(array, rng)``.
        (torch's ``Linear`` draws :math:`U(\pm 1/\sqrt{\text{fan\_in}})` instead;
        Keras uses ``glorot_uniform`` as here.)
    bias_init : str or callable, default="zeros"

    Attributes
    ----------
    W, dW : ndarray of shape (n_in, units)
        The weights and their gradient: views into the network's theta and grad.
    b, db : ndarray of shape (units,)
        The bias and its gradient (absent when ``bias=False``).

    Notes
    -----
    As the first layer it takes a SciPy sparse ``X`` (CSR): ``X W`` and ``dW = Xᵀ dY``
    are sparse products, O(non-zeros · units), and ``dX`` (which would be dense) is not
    formed: asking for it raises.
    """

    _hyperparameters = ("units", "bias", "weight_init", "bias_init")
    accepts_sparse = True

    def __init__(self, units: int, *, bias: bool = True, weight_init="glorot_uniform",
                 bias_init="zeros") -> None:
        super().__init__()
        check_number(units, "units", "Dense", low=1, integer=True)
        init.get(weight_init)
        init.get(bias_init)
        self.units, self.bias = units, bool(bias)
        self.weight_init, self.bias_init = weight_init, bias_init

    def _output_width(self, n_in):
        return self.units

    def _parameter_shapes(self):
        shapes = {"W": (self.n_in, self.units)}
        if self.bias:
            shapes["b"] = (self.units,)
        return shapes

    def _reset_parameters(self, rng):
        init.get(self.weight_init)(self.W, rng)
        if self.bias:
            init.get(self.bias_init)(self.b, rng)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, units) from ``X`` (n_samples, n_in); keeps ``X`` for backward."""
        self._X = X
        return F.dense(X, self.W, self.b if self.bias else None,
                       self._buffer("Y", (X.shape[0], self.units)))

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill ``dW`` (n_in, units) and ``db`` (units,); return ``dX`` (n_samples, n_in)."""
        if need_dX and is_sparse(self._X):
            raise ParameterError(
                "Dense.backward was asked for the gradient with respect to a sparse input, "
                "which would be a dense (n_samples, n_features) array; a sparse input has no "
                "use for it. Call Network.backward without return_dX."
            )
        dX = self._buffer("dX", (dY.shape[0], self.n_in)) if need_dX else None
        return F.dense_backward(self._X, self.W, dY, self.dW, self.db if self.bias else None, dX)

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray:
        """``R{Y} = R{X} W + X rW + rb``, shape (n_samples, units)."""
        self._RX = RX
        return F.dense_r_forward(self._X, RX, self.rW, self.rb if self.bias else None, self.W,
                                 self._buffer("RY", (self._X.shape[0], self.units)))

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """Fill ``rdW``, ``rdb``; return ``R{dX} = R{dY} Wᵀ + dY rWᵀ`` (n_samples, n_in)."""
        RdX = self._buffer("RdX", (dY.shape[0], self.n_in)) if need_dX else None
        return F.dense_r_backward(self._X, self._RX, self.W, self.rW, dY, RdY, self.rdW,
                                  self.rdb if self.bias else None, RdX)


class _Activation(Layer):
    """An elementwise function: ``_apply`` makes Y from X, ``_derivative`` dX from dY."""

    _elementwise = True

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` of the shape of ``X`` (n_samples, n_in)."""
        self._Y = self._apply(X, self._buffer("Y", X.shape))
        return self._Y

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """``dX`` of the shape of ``dY`` (n_samples, n_in); no parameters."""
        return self._derivative(dY, self._buffer("dX", dY.shape)) if need_dX else None

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray | None:
        """``R{Y} = f'(X) R{X}`` (None when ``R{X}`` is None: zero)."""
        self._RX = RX
        return None if RX is None else self._derivative(RX, self._buffer("RY", RX.shape))

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """``R{dX} = f'(X) R{dY} + f''(X) R{X} dY``; no parameters."""
        if not need_dX:
            return None
        curvature = None if self._RX is None else self._curvature(self._buffer("f''", dY.shape))
        return F.activation_r_backward(self._derivative, curvature, self._RX, dY, RdY,
                                       self._buffer("RdX", dY.shape))

    def _apply(self, X, out):
        raise NotImplementedError

    def _derivative(self, dY, out):
        raise NotImplementedError

    def _curvature(self, out):
        """``f''(X)`` into ``out``, or None where ``f`` is piecewise linear (zero a.e.)."""
        return None


class ReLU(_Activation):
    r""":math:`\max(x, 0)`, with derivative 0 at 0."""

    def _apply(self, X, out):
        return F.relu(X, out)

    def _derivative(self, dY, out):
        return F.relu_backward(self._Y, dY, out)


class LeakyReLU(_Activation):
    r""":math:`x` for :math:`x > 0`, else :math:`a x`.

    Parameters
    ----------
    negative_slope : float, default=0.01
        The slope :math:`a` for negative inputs.
    """

    _hyperparameters = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        check_number(negative_slope, "negative_slope", "LeakyReLU")
        self.negative_slope = negative_slope

    def _apply(self, X, out):
        self._mask = self._buffer("positive", X.shape, bool)
        return F.leaky_relu(X, self.negative_slope, self._mask, out)

    def _derivative(self, dY, out):
        return F.leaky_relu_backward(self._mask, self.negative_slope, dY, out)


class ELU(_Activation):
    r""":math:`x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)` (Clevert et al., 2016).

    Parameters
    ----------
    alpha : float, default=1.0
        The limit :math:`-\alpha` for very negative inputs.
    """

    _hyperparameters = ("alpha",)

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        check_number(alpha, "alpha", "ELU")
        self.alpha = alpha

    def _apply(self, X, out):
        self._mask = self._buffer("positive", X.shape, bool)
        return F.elu(X, self.alpha, self._mask, out)

    def _derivative(self, dY, out):
        return F.elu_backward(self._Y, self._mask, self.alpha, dY, out)

    def _curvature(self, out):
        return F.elu_curvature(self._Y, self._mask, self.alpha, out)


class Tanh(_Activation):
    r""":math:`\tanh x`, with derivative :math:`1 - \tanh^2 x`."""

    def _apply(self, X, out):
        return F.tanh(X, out)

    def _derivative(self, dY, out):
        return F.tanh_backward(self._Y, dY, out)

    def _curvature(self, out):
        return F.tanh_curvature(self._Y, out)


class Sigmoid(_Activation):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`, computed without overflow; derivative
    :math:`\sigma(x)(1 - \sigma(x))`."""

    def _apply(self, X, out):
        return F.sigmoid(X, out, self._buffer("scratch", X.shape))

    def _derivative(self, dY, out):
        return F.sigmoid_backward(self._Y, dY, out)

    def _curvature(self, out):
        return F.sigmoid_curvature(self._Y, out)


class Dropout(Layer):
    r"""Inverted dropout (Srivastava et al., 2014), as torch's ``Dropout``.

    In training each entry is zeroed with probability :math:`p` and the others
    are scaled by :math:`1 / (1 - p)`, so the expected output equals the input;
    in inference the layer is the identity and returns its input array itself.

    Parameters
    ----------
    p : float, default=0.5
        The probability of dropping an entry, in [0, 1].
    random_state : int or None, default=None
        Seed of the layer's generator; None draws one from the network's
        ``random_state``. The generator's state is part of the network's
        ``state_dict``, so a resumed run draws the same masks. Masks are drawn
        in the network's dtype, so a float32 and a float64 network with the
        same seed draw different masks.

    Attributes
    ----------
    mask : ndarray of shape (n_samples, n_in)
        The factors of the last training forward (0 or 1 / (1 - p)).
    """

    _hyperparameters = ("p", "random_state")
    _elementwise = True

    def __init__(self, p: float = 0.5, *, random_state: int | None = None) -> None:
        super().__init__()
        check_number(p, "p", "Dropout", low=0.0, high=1.0, closed="both")
        if random_state is not None:
            check_number(random_state, "random_state", "Dropout", low=0, integer=True)
        self.p, self.random_state = p, random_state

    def _build_state(self, rng):
        seed = self.random_state if self.random_state is not None else rng.integers(2**63)
        self._rng = np.random.default_rng(seed)

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``X · mask`` in training, ``X`` itself in inference; shape (n_samples, n_in)."""
        self._training = training
        if not training:
            return X
        self.mask = F.dropout_mask(self._rng, self.p, self._buffer("mask", X.shape))
        return np.multiply(X, self.mask, out=self._buffer("Y", X.shape))

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """``dY · mask`` after a training forward, ``dY`` itself after an inference one."""
        if not need_dX:
            return None
        if not self._training:
            return dY
        return np.multiply(dY, self.mask, out=self._buffer("dX", dY.shape))

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray | None:
        """``R{X} · mask`` with the mask of the last forward (the mask does not move with θ)."""
        if RX is None or not self._training:
            return RX
        return np.multiply(RX, self.mask, out=self._buffer("RY", RX.shape))

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """``R{dY} · mask`` (``R{dY}`` itself after an inference forward)."""
        if not need_dX:
            return None
        if not self._training:
            return RdY
        return np.multiply(RdY, self.mask, out=self._buffer("RdX", RdY.shape))

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"rng": uint64 array}``: the generator's PCG64 state."""
        state = self._rng.bit_generator.state
        words = [state["state"]["state"], state["state"]["inc"]]
        packed = [w >> s & 0xFFFFFFFFFFFFFFFF for w in words for s in (64, 0)]
        return {"rng": np.array(packed + [state["has_uint32"], state["uinteger"]], np.uint64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._check_state(state, {"rng": np.zeros(6)})
        s = [int(v) for v in np.asarray(state["rng"], dtype=np.uint64)]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": s[0] << 64 | s[1], "inc": s[2] << 64 | s[3]},
            "has_uint32": s[4],
            "uinteger": s[5],
        }


class BatchNorm(Layer):
    r"""Batch normalisation (Ioffe & Szegedy, 2015) over the samples, as torch's ``BatchNorm1d``.

    .. math::

        Y = \gamma\, \frac{X - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta

    In training :math:`\mu, \sigma^2` are the batch mean and biased variance, and
    the running estimates move towards the batch's:
    ``running_mean ← (1 − momentum)·running_mean + momentum·μ`` and
    ``running_var ← (1 − momentum)·running_var + momentum·σ²·n/(n − 1)`` (the
    unbiased variance, as torch). In inference :math:`\mu, \sigma^2` are the
    running estimates. Training needs at least two samples per batch.

    Parameters
    ----------
    momentum : float, default=0.1
        The weight of the new batch in the running estimates, in [0, 1].
    eps : float, default=1e-5
        Added to the variance, > 0.

    Attributes
    ----------
    gamma, dgamma : ndarray of shape (n_in,)
        The scale (initially 1) and its gradient: views into theta and grad.
    beta, dbeta : ndarray of shape (n_in,)
        The shift (initially 0) and its gradient.
    running_mean, running_var : ndarray of shape (n_in,)
        The running estimates (initially 0 and 1). Not trained, so not in theta;
        they are in the network's ``state_dict``.
    """

    _hyperparameters = ("momentum", "eps")

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        check_number(momentum, "momentum", "BatchNorm", low=0.0, high=1.0, closed="both")
        check_number(eps, "eps", "BatchNorm", low=0.0, closed="neither")
        self.momentum, self.eps = momentum, eps

    def _parameter_shapes(self):
        return {"gamma": (self.n_in,), "beta": (self.n_in,)}

    def _reset_parameters(self, rng):
        init.ones(self.gamma)
        init.zeros(self.beta)

    def _build_state(self, rng):
        self.running_mean = np.zeros(self.n_in, self.dtype)
        self.running_var = np.ones(self.n_in, self.dtype)
        self._mean, self._var, self._inv_std, self._scale = (
            np.empty(self.n_in, self.dtype) for _ in range(4))

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """``Y`` (n_samples, n_in); in training also updates the running estimates."""
        n = X.shape[0]
        self._training = training
        centered = self._x_hat = self._buffer("x_hat", X.shape)
        if training:
            if n < 2:
                raise ParameterError(
                    f"BatchNorm needs at least 2 samples per batch in training; got {n}. Use a "
                    "larger batch size, or drop or merge the last incomplete batch."
                )
            F.batch_moments(X, self._mean, self._var, centered)
            self._update_running(n)
        else:
            np.subtract(X, self.running_mean, out=centered)
        F.inverse_std(self._var if training else self.running_var, self.eps, self._inv_std)
        return F.batch_norm(centered, self._inv_std, self.gamma, self.beta, self._x_hat,
                            self._buffer("Y", X.shape))

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill ``dgamma``, ``dbeta`` (n_in,); return ``dX`` (n_samples, n_in)."""
        dX = self._buffer("dX", dY.shape) if need_dX else None
        return F.batch_norm_backward(self._x_hat, self.gamma, self._inv_std, dY, self.dgamma,
                                     self.dbeta, dX, self._scale, self._training)

    def r_forward(self, RX: np.ndarray | None) -> np.ndarray:
        """``R{Y}`` (n_samples, n_in); in training through the batch statistics too."""
        RY, self._r_x_hat, self._r_inv_std = F.batch_norm_r_forward(
            self._x_hat, self._inv_std, self.gamma, RX, self.rgamma, self.rbeta, self._training,
            self._buffer("RY", self._x_hat.shape))
        return RY

    def r_backward(self, dY: np.ndarray, RdY: np.ndarray,
                   need_dX: bool = True) -> np.ndarray | None:
        """Fill ``rdgamma``, ``rdbeta``; return ``R{dX}`` (n_samples, n_in)."""
        RdX = self._buffer("RdX", dY.shape) if need_dX else None
        return F.batch_norm_r_backward(self._x_hat, self._r_x_hat, self._inv_std,
                                       self._r_inv_std, self.gamma, self.rgamma, dY, RdY,
                                       self.dgamma, self.dbeta, self.rdgamma, self.rdbeta, RdX,
                                       self._training)

    def _update_running(self, n: int) -> None:
        m = self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * self._mean
        self.running_var *= 1 - m
        self.running_var += (m * n / (n - 1)) * self._var

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"running_mean": ..., "running_var": ...}``, copies of shape (n_in,)."""
        return {"running_mean": self.running_mean.copy(), "running_var": self.running_var.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._check_state(state, {"running_mean": self.running_mean,
                                  "running_var": self.running_var})
        self.running_mean[...] = state["running_mean"]
        self.running_var[...] = state["running_var"]
