"""A network's forward, backward and R-passes for many parameter vectors at once.

The meta-batch of MAML holds a few dozen small tasks (10 samples through a
1-40-40-1 net): one NumPy call per layer per task costs more in overhead than in
arithmetic. Here the tasks' parameter vectors are the rows of ``Phi`` (n_tasks,
n_params) and every layer runs once for all of them, with batched matmuls over a
leading task axis. It covers networks of :class:`~steepest.nn.Dense` layers and
elementwise activations (what MAML's networks are); the elementwise math is
:mod:`steepest.nn.functional`'s, the Dense layer's is written here for the extra
axis. :func:`steepest.meta.maml_gradient` uses it when it applies and runs the
tasks one by one through :meth:`~steepest.nn.Network.hvp` otherwise; the tests
check both against finite differences.
"""

from __future__ import annotations

import numpy as np

from steepest.nn import ELU, Dense, LeakyReLU, Network, ReLU, Sigmoid, Tanh
from steepest.nn import functional as F

_ELEMENTWISE = (ReLU, LeakyReLU, ELU, Tanh, Sigmoid)


def supports(network: Network) -> bool:
    """Whether every layer of ``network`` is a Dense layer or an elementwise activation."""
    return all(type(layer) in (Dense, *_ELEMENTWISE) for layer in network.layers)


def _slope_and_curvature(layer, X):
    """``(Y, f'(X), f''(X) or None)`` of an elementwise activation, any shape."""
    Y, slope = np.empty_like(X), np.empty_like(X)
    if isinstance(layer, ReLU):
        F.relu(X, Y)
        return Y, F.relu_backward(Y, 1.0, slope), None
    mask = np.empty(X.shape, bool)
    if isinstance(layer, LeakyReLU):
        F.leaky_relu(X, layer.negative_slope, mask, Y)
        return Y, F.leaky_relu_backward(mask, layer.negative_slope, 1.0, slope), None
    if isinstance(layer, ELU):
        F.elu(X, layer.alpha, mask, Y)
        return (Y, F.elu_backward(Y, mask, layer.alpha, 1.0, slope),
                F.elu_curvature(Y, mask, layer.alpha, np.empty_like(X)))
    if isinstance(layer, Tanh):
        F.tanh(X, Y)
        return Y, F.tanh_backward(Y, 1.0, slope), F.tanh_curvature(Y, np.empty_like(X))
    F.sigmoid(X, Y, np.empty_like(X))
    return Y, F.sigmoid_backward(Y, 1.0, slope), F.sigmoid_curvature(Y, np.empty_like(X))


def _mm(A, B):
    """``A @ B`` per task; a ``B`` of one row (the tasks share it: the meta-parameters before
    the first inner step) makes one matmul of all the tasks' rows instead of one per task."""
    if B.shape[0] == 1 and A.shape[0] != 1:
        return (A.reshape(-1, A.shape[-1]) @ B[0]).reshape(*A.shape[:-1], B.shape[-1])
    return A @ B


def _mm_t(A, B):
    """``A @ Bᵀ`` per task (a shared ``B`` as in :func:`_mm`)."""
    return _mm(A, B.transpose(0, 2, 1))


class TaskBatch:
    """Forward, gradient and Hessian-vector products of one loss for rows of parameters.

    ``Phi`` is (n_tasks, n_params), or (1, n_params) for parameters every task shares
    (then the layers' matmuls run once over all the tasks' rows); inputs are
    (n_tasks, n_samples, n_features) and the gradients (n_tasks, n_params).

    Parameters
    ----------
    network : Network
        Gives the layers and theta's layout (its own theta is not read or written).
    loss : Loss
        The loss; each task's value is its mean over that task's samples.
    """

    def __init__(self, network: Network, loss) -> None:
        self.layers, self.loss, self.n_params = network.layers, loss, network.n_params
        self._slices = []                  # per layer: (W slice, W shape, b slice or None)
        offset = 0
        for layer in self.layers:
            if isinstance(layer, Dense):
                w_stop = offset + layer.n_in * layer.units
                b_stop = w_stop + (layer.units if layer.bias else 0)
                self._slices.append((slice(offset, w_stop), (layer.n_in, layer.units),
                                     slice(w_stop, b_stop) if layer.bias else None))
                offset = b_stop
            else:
                self._slices.append(None)

    def _weights(self, Phi, index):
        w_slice, shape, b_slice = self._slices[index]
        W = Phi[:, w_slice].reshape(-1, *shape)
        return W, None if b_slice is None else Phi[:, b_slice][:, None, :]

    def _forward(self, Phi, X):
        """Outputs (n_tasks, n, n_outputs) and the tape: per layer its input and slopes."""
        tape = []
        for index, layer in enumerate(self.layers):
            if self._slices[index] is not None:
                W, b = self._weights(Phi, index)
                tape.append((X, None, None))
                X = _mm(X, W) if b is None else _mm(X, W) + b
            else:
                X_in = X
                X, slope, curvature = _slope_and_curvature(layer, X)
                tape.append((X_in, slope, curvature))
        return X, tape

    def _loss_gradient(self, Y, y):
        """Per-task mean loss of the stacked outputs, its mean over tasks, and ∂/∂Y per task."""
        n_tasks = Y.shape[0]
        flat = Y.reshape(-1, Y.shape[-1])
        value, dY = self.loss.value_and_grad(y.reshape(flat.shape[0], *y.shape[2:]), flat)
        dY *= n_tasks                        # each task's gradient of its own mean loss
        return value, dY.reshape(Y.shape)

    def value(self, Phi, X, y) -> float:
        """The mean over tasks of each task's mean loss at its row of ``Phi``."""
        Y, _ = self._forward(Phi, X)
        return self.loss.value(y.reshape(-1, *y.shape[2:]), Y.reshape(-1, Y.shape[-1]))

    def gradient(self, Phi, X, y, tape: list | None = None):
        """``(mean loss over tasks, G)``: row t of G (n_tasks, n_params) is task t's gradient.

        With ``tape`` (a list), what :meth:`hvp` needs at this point is appended to it:
        the forward's layer inputs and slopes, and the backward's ``dY`` into each layer.
        """
        Y, forward = self._forward(Phi, X)
        value, dY = self._loss_gradient(Y, y)
        G = np.empty((X.shape[0], self.n_params), Phi.dtype)
        gradients = [None] * len(self.layers)
        for index in range(len(self.layers) - 1, -1, -1):
            gradients[index] = dY
            X_in, slope, _ = forward[index]
            if self._slices[index] is None:
                dY = dY * slope
                continue
            w_slice, _, b_slice = self._slices[index]
            W, _ = self._weights(Phi, index)
            G[:, w_slice] = (X_in.transpose(0, 2, 1) @ dY).reshape(len(G), -1)
            if b_slice is not None:
                G[:, b_slice] = dY.sum(axis=1)
            if index:
                dY = _mm_t(dY, W)
        if tape is not None:
            tape.append((Phi, Y, y, forward, gradients))
        return value, G

    def hvp(self, point, V):
        """Row t: task t's Hessian times row t of ``V`` (n_tasks, n_params), at a ``point``
        that :meth:`gradient` put on its tape (the R-operator: an R-forward and an
        R-backward pass over the kept forward and backward)."""
        Phi, Y, y, forward, gradients = point
        r_inputs, RX = [], None             # R{X} into every layer
        for index in range(len(self.layers)):
            r_inputs.append(RX)
            X_in, slope, _ = forward[index]
            if self._slices[index] is None:
                RX = None if RX is None else RX * slope
                continue
            W, _ = self._weights(Phi, index)
            rW, rb = self._weights(V, index)
            RY = X_in @ rW
            if RX is not None:
                RY += _mm(RX, W)
            if rb is not None:
                RY += rb
            RX = RY
        flat = Y.reshape(-1, Y.shape[-1])
        RdY = self.loss.hvp(y.reshape(flat.shape[0], *y.shape[2:]), flat,
                            RX.reshape(flat.shape)).reshape(Y.shape)
        RdY *= len(V)                       # each task's own mean loss, as in the gradient
        HV = np.empty_like(V)
        for index in range(len(self.layers) - 1, -1, -1):
            X_in, slope, curvature = forward[index]
            RX, dY = r_inputs[index], gradients[index]
            if self._slices[index] is None:
                RdX = RdY * slope
                if curvature is not None and RX is not None:
                    RdX += curvature * RX * dY
                RdY = RdX
                continue
            w_slice, _, b_slice = self._slices[index]
            rdW = X_in.transpose(0, 2, 1) @ RdY
            if RX is not None:
                rdW += RX.transpose(0, 2, 1) @ dY
            HV[:, w_slice] = rdW.reshape(len(V), -1)
            if b_slice is not None:
                HV[:, b_slice] = RdY.sum(axis=1)
            if index:
                W, _ = self._weights(Phi, index)
                rW, _ = self._weights(V, index)
                RdY = _mm_t(RdY, W) + dY @ rW.transpose(0, 2, 1)
        return HV
