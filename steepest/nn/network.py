"""The network: a stack of layers whose parameters are one flat vector.

::

    from steepest import losses, nn, optim

    net = nn.Network([nn.Dense(64), nn.BatchNorm(), nn.ReLU(), nn.Dense(1)],
                     n_features=10, dtype="float32", random_state=0)
    loss, opt = losses.get("mse"), optim.Adam(lr=1e-3)
    for X, y in batches:
        Y = net.forward(X, training=True)
        value, dY = loss.value_and_grad(y, Y)
        net.backward(dY)                  # fills net.grad
        opt.step(net.theta, net.grad)     # updates every layer at once

    Hv = net.hvp(X, y, loss, v)           # ∇²J(θ) v, exact, in net.hessian_product

``theta`` and ``grad`` are made once and never replaced: every layer's
parameters are views into them (see DESIGN.md, "θ is one flat vector"), so
an optimizer, a gradient clip or a checkpoint works on the whole model through
one array. Update them in place (``theta[...] = saved``), never by rebinding.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError, StateError
from steepest.nn.layers import Layer
from steepest.sparse import is_sparse

__all__ = ["Network"]


class Network:
    """A feed-forward stack of layers owning one ``theta`` and one ``grad``.

    Parameters
    ----------
    layers : sequence of Layer
        Applied in order. Each layer object belongs to one network.
    n_features : int or tuple of int
        The input width, >= 1, or the shape of one input sample, such as
        ``(C, H, W)`` for images of ``C`` channels, ``H`` rows and ``W``
        columns (the layers after a :class:`~steepest.nn.Flatten` see flat
        samples of ``C · H · W`` values).
    dtype : {"float64", "float32"} or numpy float dtype, default="float64"
        The dtype of theta, grad, every buffer and every output; inputs of
        another dtype are converted (a copy) on the way in.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the parameter initialisation and the dropout generators.

    Attributes
    ----------
    theta : ndarray of shape (n_params,)
        Every trained parameter, layer after layer, each layer's in the order of
        its ``_parameter_shapes`` (Dense: ``W`` row-major, then ``b``; BatchNorm:
        ``gamma`` then ``beta``).
    grad : ndarray of shape (n_params,)
        ∂J/∂theta, filled (overwritten) by :meth:`backward`.
    layers : list of Layer
    input_shape, output_shape : tuple of int
        The shape of one input sample and of one output sample: ``(n_features,)``
        for flat ones.
    n_features, n_outputs : int
        The number of values in one input sample and one output sample.
    n_params : int
    dtype : numpy.dtype
    """

    def __init__(self, layers: Sequence[Layer], n_features: int | tuple[int, ...], *,
                 dtype="float64", random_state=None) -> None:
        self.layers = self._check_layers(layers)
        self.input_shape = self._check_input_shape(n_features)
        self.n_features = math.prod(self.input_shape)
        self.dtype = self._check_dtype(dtype)
        self.random_state = random_state
        rng = self._check_random_state(random_state)
        self._last_batch: int | None = None
        self._flat_input = False

        self._names: list[tuple[str, Layer, str]] = []
        try:
            shapes, sample_shape = [], self.input_shape
            for layer in self.layers:
                shapes.append(layer._configure(sample_shape, self.dtype))
                sample_shape = layer.out_shape
            self.output_shape, self.n_outputs = sample_shape, math.prod(sample_shape)
            self.n_params = sum(int(np.prod(shape)) for layer_shapes in shapes
                                for shape in layer_shapes.values())
            self.theta = np.zeros(self.n_params, self.dtype)
            self.grad = np.zeros(self.n_params, self.dtype)
            offset = 0
            for index, (layer, layer_shapes) in enumerate(zip(self.layers, shapes, strict=True)):
                params, grads = {}, {}
                for name, shape in layer_shapes.items():
                    stop = offset + int(np.prod(shape))
                    params[name] = self.theta[offset:stop].reshape(shape)
                    grads[name] = self.grad[offset:stop].reshape(shape)
                    self._names.append((f"{index}.{name}", layer, name))
                    offset = stop
                layer._bind(params, grads, rng)
        except BaseException:
            for layer in self.layers:      # leave the layers free for another network
                layer._configure(None, None)
            raise
        self._first_trained = next(
            (i for i, layer in enumerate(self.layers) if layer.n_params), len(self.layers))

    def __setstate__(self, state: dict) -> None:
        """After unpickling (or ``copy.deepcopy``), make the layers' parameters views again.

        Pickle stores each view as an array of its own; the values are right but no
        longer shared with ``theta``, so an optimizer step would not reach them.
        """
        self.__dict__.update(state)
        self.__dict__.pop("_hvp_buffers", None)     # hvp binds its views again when called
        # A read-only copy (joblib memory-maps large arrays) could not be trained or
        # even run: take writeable copies, and let the batch buffers be made anew.
        self.theta, self.grad = np.array(self.theta), np.array(self.grad)
        for layer in self.layers:
            layer._buffers = {}
            for key, value in list(vars(layer).items()):
                if isinstance(value, np.ndarray) and not value.flags.writeable:
                    setattr(layer, key, value.copy())
        offset = 0
        for _, layer, name in self._names:
            shape = getattr(layer, name).shape
            stop = offset + int(np.prod(shape))
            setattr(layer, name, self.theta[offset:stop].reshape(shape))
            setattr(layer, "d" + name, self.grad[offset:stop].reshape(shape))
            offset = stop

    # -- forward and backward --------------------------------------------------------

    def forward(self, X, training: bool = False) -> np.ndarray:
        """The network's output for a batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            For images, also (n_samples, n_features): each row is read as one
            image in C order (channel by channel, each row by row), as a table
            of pixels is laid out; the reshape is a view.
        training : bool, default=False
            Training mode: Dropout drops, BatchNorm uses and updates batch
            statistics. Inference mode: Dropout is the identity, BatchNorm uses
            its running statistics.

        Returns
        -------
        Y : ndarray of shape (n_samples, *output_shape)
            A buffer the next forward with the same batch size overwrites; copy
            it to keep it.
        """
        X = self._check_input(X)
        for layer in self.layers:
            X = layer.forward(X, training)
        self._last_batch = X.shape[0]
        return X

    def backward(self, dY, *, return_dX: bool = False) -> np.ndarray | None:
        """Fill :attr:`grad` with ∂J/∂theta from ``dY`` = ∂J/∂Y of the last forward.

        ``grad`` is overwritten, not accumulated: one backward per step. The
        layers below the first one with parameters are skipped unless
        ``return_dX`` asks for ∂J/∂X.

        Parameters
        ----------
        dY : array-like of shape (n_samples, *output_shape)
            (shape (n_samples,) is accepted when n_outputs is 1).
        return_dX : bool, default=False

        Returns
        -------
        dX : ndarray of the shape of the last forward's X, or None
            A buffer, as the output of :meth:`forward`.
        """
        dY = self._check_output_gradient(dY)
        start = 0 if return_dX else self._first_trained
        for index in range(len(self.layers) - 1, start - 1, -1):
            dY = self.layers[index].backward(dY, need_dX=return_dX or index > start)
        if not return_dX:
            return None
        return dY.reshape(dY.shape[0], self.n_features) if self._flat_input else dY

    def hvp(self, X, y, loss, v, *, training: bool = True, out: np.ndarray | None = None
            ) -> np.ndarray:
        r"""The exact Hessian-vector product :math:`\nabla^2_\theta J(\theta)\, v` of a mean loss.

        :math:`J(\theta) = \mathrm{loss}(y, f(X; \theta))`, the loss's mean over the
        batch, differentiated twice through every layer by the R-operator
        (Pearlmutter, 1994; forward-over-reverse): a forward and an R-forward pass give
        :math:`R\{Y\} = \frac{d}{dt} f(X; \theta + t v)|_{t=0}`, the loss gives
        :math:`R\{dY\} = \nabla^2_{\hat y}\,\mathrm{loss} \cdot R\{Y\}`, and a backward
        and an R-backward pass give :math:`R\{\nabla J\} = \nabla^2 J\, v`. It costs
        about two gradient evaluations and needs no Hessian. The protocol each layer
        implements is in :mod:`steepest.nn.layers`.

        The network's state is left as it was: ``theta`` and ``grad`` (saved and
        put back bit for bit), BatchNorm's running estimates and Dropout's generator.
        So two calls with the same arguments give the same product, with the same
        Dropout masks, and a gradient computed after restoring the same generator
        state (``load_state_dict``) sees those masks too. A penalty is not part of
        ``J``: for ``alpha (1 - l1_ratio)/2 ||w||²`` add ``alpha (1 - l1_ratio) v`` on
        the weights yourself (the L1 part has zero curvature almost everywhere).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like
            The targets, as ``loss`` takes them.
        loss : Loss or str
            A :mod:`steepest.losses` loss (or its name); it needs ``hvp``.
        v : array-like of shape (n_params,)
            The direction, in theta's layout.
        training : bool, default=True
            The mode of the forward pass (as :meth:`forward`): with True, Dropout's
            masks are fixed to the ones its generator draws now and BatchNorm's batch
            statistics are differentiated as functions of θ.
        out : ndarray of shape (n_params,), optional
            Where to write the product (the network's dtype); by default the
            network's own buffer :attr:`hessian_product`, overwritten by the next call.

        Returns
        -------
        Hv : ndarray of shape (n_params,)
        """
        from steepest import losses

        loss = losses.get(loss)
        direction, product = self._hvp_views()
        v = np.asarray(v)
        if v.shape != (self.n_params,):
            raise ParameterError(
                f"Network.hvp expects a direction v of shape ({self.n_params},) like theta; "
                f"got shape {v.shape}."
            )
        direction[...] = v
        saved_grad = self.grad.copy()
        saved_states = [layer.state_dict() for layer in self.layers]
        try:
            X = self._check_input(X)
            RX = None
            for layer in self.layers:
                X = layer.forward(X, training)
                RX = layer.r_forward(RX)
            self._last_batch = X.shape[0]
            dY = loss.grad(y, X)
            RdY = loss.hvp(y, X, np.zeros_like(X) if RX is None else RX)
            dY, RdY = self._check_output_gradient(dY), self._check_output_gradient(RdY)
            start = self._first_trained
            for index in range(len(self.layers) - 1, start - 1, -1):
                layer, below = self.layers[index], index > start
                dX = layer.backward(dY, need_dX=below)
                RdY = layer.r_backward(dY, RdY, need_dX=below)
                dY = dX
        finally:
            self.grad[...] = saved_grad
            for layer, state in zip(self.layers, saved_states, strict=True):
                layer.load_state_dict(state)
        if out is None:
            return product
        out[...] = product
        return out

    @property
    def hessian_product(self) -> np.ndarray:
        """The buffer of shape (n_params,) where :meth:`hvp` writes by default."""
        return self._hvp_views()[1]

    def _hvp_views(self) -> tuple[np.ndarray, np.ndarray]:
        """The direction and product buffers, made and bound to the layers on first use."""
        buffers = getattr(self, "_hvp_buffers", None)
        if buffers is None:
            buffers = self._hvp_buffers = (np.zeros(self.n_params, self.dtype),
                                           np.zeros(self.n_params, self.dtype))
            direction, product = buffers
            offset, views = 0, {id(layer): ({}, {}) for layer in self.layers}
            for _, layer, name in self._names:
                shape = getattr(layer, name).shape
                stop = offset + int(np.prod(shape))
                views[id(layer)][0][name] = direction[offset:stop].reshape(shape)
                views[id(layer)][1][name] = product[offset:stop].reshape(shape)
                offset = stop
            for layer in self.layers:
                layer._bind_directions(*views[id(layer)])
        return buffers

    # -- parameters and state -----------------------------------------------------------

    def parameters(self) -> dict[str, np.ndarray]:
        """``"<layer index>.<name>"`` → the parameter's view into theta, in theta's order
        (``"0.W"``, ``"0.b"``, ``"1.gamma"``, ...)."""
        return {key: getattr(layer, name) for key, layer, name in self._names}

    def gradients(self) -> dict[str, np.ndarray]:
        """The same keys as :meth:`parameters`, with views into grad."""
        return {key: getattr(layer, "d" + name) for key, layer, name in self._names}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything the network's outputs depend on, as plain arrays (copies).

        ``"theta"``, plus each layer's untrained state under ``"<layer index>.<key>"``:
        BatchNorm's ``running_mean`` and ``running_var``, Dropout's generator
        ``rng``. safetensors can store it as it is.
        """
        state = {"theta": self.theta.copy()}
        for index, layer in enumerate(self.layers):
            state.update({f"{index}.{key}": value for key, value in layer.state_dict().items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a state made by :meth:`state_dict`; theta is copied into, not replaced."""
        expected = set(self.state_dict())
        if set(state) != expected:
            raise StateError(
                f"The state given to Network.load_state_dict holds {sorted(state)}; this network "
                f"keeps {sorted(expected)}. Was it saved from another architecture?"
            )
        theta = np.asarray(state["theta"])
        if theta.shape != self.theta.shape:
            raise StateError(
                f"The 'theta' given to Network.load_state_dict has shape {theta.shape}; this "
                f"network has {self.n_params} parameters."
            )
        backup = self.state_dict()
        try:
            for index, layer in enumerate(self.layers):
                prefix = f"{index}."
                layer.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                       if k.startswith(prefix)})
        except BaseException:
            if state is not backup:
                self.load_state_dict(backup)
            raise
        self.theta[...] = theta

    def __repr__(self) -> str:
        n_features = self.input_shape if len(self.input_shape) > 1 else self.n_features
        return (f"Network({self.layers!r}, n_features={n_features!r}, "
                f"dtype={self.dtype.name!r}, random_state={self.random_state!r})")

    # -- checks ------------------------------------------------------------------------

    @staticmethod
    def _check_layers(layers) -> list[Layer]:
        if isinstance(layers, Layer) or not isinstance(layers, Sequence) or not layers:
            raise ParameterError(
                f"The 'layers' parameter of Network must be a non-empty list of layers. Got "
                f"{layers!r} instead."
            )
        seen: set[int] = set()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ParameterError(
                    f"The 'layers' parameter of Network must hold layers; the entry at position "
                    f"{index} is {layer!r} of type {type(layer).__name__}."
                )
            if id(layer) in seen or layer.n_in is not None:
                raise ParameterError(
                    f"The {type(layer).__name__} at position {index} of 'layers' already belongs "
                    "to a network; its parameters are views into that network's theta. Make a "
                    "new layer object for each place it is used."
                )
            seen.add(id(layer))
        return list(layers)

    @staticmethod
    def _check_input_shape(n_features) -> tuple[int, ...]:
        if isinstance(n_features, numbers.Integral) and not isinstance(n_features, bool):
            return (check_number(n_features, "n_features", "Network", low=1, integer=True),)
        if (isinstance(n_features, tuple) and n_features and all(
                isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1
                for size in n_features)):
            return tuple(int(size) for size in n_features)
        raise ParameterError(
            "The 'n_features' parameter of Network must be an int >= 1 or a tuple of ints >= 1 "
            f"(the shape of one sample, such as (1, 28, 28)). Got {n_features!r} instead."
        )

    @staticmethod
    def _check_dtype(dtype) -> np.dtype:
        try:
            resolved = np.dtype(dtype) if dtype is not None else None
        except TypeError:
            resolved = None
        if resolved is None or resolved.name not in ("float32", "float64"):
            raise ParameterError(
                "The 'dtype' parameter of Network must be one of 'float32', 'float64'. Got "
                f"{dtype!r} instead."
            )
        return resolved

    @staticmethod
    def _check_random_state(random_state) -> np.random.Generator:
        if isinstance(random_state, np.random.Generator):
            return random_state
        if random_state is not None and (isinstance(random_state, bool) or not isinstance(
                random_state, numbers.Integral) or random_state < 0):
            raise ParameterError(
                "The 'random_state' parameter of Network must be an int >= 0, a "
                f"numpy.random.Generator or None. Got {random_state!r} instead."
            )
        return np.random.default_rng(random_state)

    def _check_input(self, X) -> np.ndarray:
        if is_sparse(X):
            return self._check_sparse_input(X)
        X = np.asarray(X)
        if len(self.input_shape) == 1:
            self._check_flat_input(X)
        elif X.shape[1:] != self.input_shape:
            if X.ndim != 2:
                shape = ", ".join(map(str, self.input_shape))
                raise ParameterError(
                    f"Network expects X of shape (n_samples, {shape}), or rows of "
                    f"{self.n_features} values, each an image in C order; got shape {X.shape}."
                )
            self._check_flat_input(X)
        if X.shape[0] == 0:
            raise ParameterError(
                f"Network expects X with at least one sample; got shape {X.shape}."
            )
        if X.dtype.kind not in "biuf":
            raise ParameterError(
                f"Network expects numeric input; got an array of dtype {X.dtype}."
            )
        self._flat_input = X.shape[1:] != self.input_shape
        if self._flat_input:
            X = X.reshape(X.shape[0], *self.input_shape)
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def _check_flat_input(self, X: np.ndarray) -> None:
        if X.ndim != 2 or X.shape[0] == 0:
            raise ParameterError(
                f"Network expects X of shape (n_samples, {self.n_features}) with at least one "
                f"sample; got shape {X.shape}."
                + (" Reshape a single sample with X.reshape(1, -1)." if X.ndim == 1 else "")
            )
        if X.shape[1] != self.n_features:
            raise ParameterError(
                f"Network expects {self.n_features} input features, got {X.shape[1]}."
            )

    def _check_sparse_input(self, X):
        """A SciPy sparse ``X`` as CSR of the network's dtype, for a first layer that takes
        it (Dense); converted (a copy of the non-zeros) only when it is not already."""
        first = self.layers[0]
        if not first.accepts_sparse:
            raise ParameterError(
                f"Network got a sparse X, but its first layer is {type(first).__name__}; sparse "
                "input goes into a first Dense layer. Put a Dense layer first, or pass "
                "X.toarray() if it fits in memory."
            )
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] != self.n_features:
            raise ParameterError(
                f"Network expects X of shape (n_samples, {self.n_features}) with at least one "
                f"sample; got a sparse matrix of shape {X.shape}."
            )
        if X.format == "csr" and X.dtype == self.dtype:
            return X
        return X.tocsr().astype(self.dtype)

    def _check_output_gradient(self, dY) -> np.ndarray:
        if self._last_batch is None:
            raise ParameterError(
                "Network.backward needs the outputs of a forward pass; call forward first."
            )
        dY = np.asarray(dY)
        if dY.ndim == 1 and self.n_outputs == 1:
            dY = dY.reshape(-1, *self.output_shape)
        expected = (self._last_batch, *self.output_shape)
        if dY.shape != expected:
            raise ParameterError(
                f"Network.backward expects dY of shape {expected} like the output of the last "
                f"forward; got shape {dY.shape}."
            )
        return dY if dY.dtype == self.dtype else dY.astype(self.dtype)
