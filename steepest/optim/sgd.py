"""Stochastic gradient descent with optional momentum, dampening and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.errors import ParameterError
from steepest.optim._ops import add_scaled_, prepared_grad
from steepest.optim.optimizer import Optimizer


class SGD(Optimizer):
    r"""Gradient descent, with momentum when ``momentum > 0`` (torch.optim.SGD's rule).

    .. math::

        g_t &= \nabla_\theta J(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        b_1 &= g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t \\
        d_t &= g_t + \mu\, b_t \ \text{(nesterov)} \quad\text{or}\quad d_t = b_t \\
        \theta_t &= \theta_{t-1} - \alpha_t\, d_t

    with :math:`\alpha` = ``lr``, :math:`\mu` = ``momentum``, :math:`\tau` =
    ``dampening`` and :math:`\lambda` = ``weight_decay``; without momentum
    :math:`d_t = g_t`. This is the Sutskever et al. (2013) form of momentum that
    torch uses (the rate multiplies the whole velocity), not the form
    :math:`v \leftarrow \mu v - \alpha g` of some textbooks: the two agree for a
    constant rate.

    Parameters
    ----------
    lr : float or schedule, default=1e-3
        Learning rate :math:`\alpha \ge 0`, or a schedule ``t -> lr``.
    momentum : float, default=0.0
        Momentum factor :math:`\mu \ge 0`.
    dampening : float, default=0.0
        Dampening :math:`\tau` of the gradient added to the velocity.
    weight_decay : float, default=0.0
        L2 penalty :math:`\lambda \ge 0` added to the gradient.
    nesterov : bool, default=False
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool, default=False
        Ascend instead of descend.
    """

    _hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

    def __init__(self, lr: ScalarOrSchedule = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(lr)
        check_number(momentum, "momentum", "SGD", low=0.0)
        check_number(dampening, "dampening", "SGD")
        check_number(weight_decay, "weight_decay", "SGD", low=0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ParameterError(
                "SGD with nesterov=True needs momentum > 0 and dampening == 0; got "
                f"momentum={momentum!r} and dampening={dampening!r}. Set momentum (e.g. 0.9) "
                "and dampening=0, or nesterov=False."
            )
        self.momentum, self.dampening, self.weight_decay = momentum, dampening, weight_decay
        self.nesterov, self.maximize = nesterov, maximize

    def _init_state(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        return {"momentum_buffer": np.zeros_like(theta)} if self.momentum != 0 else {}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        if kernels is not None:
            kernels.sgd(theta, grad, state.get("momentum_buffer"), lr=lr, momentum=self.momentum,
                        dampening=self.dampening, weight_decay=self.weight_decay,
                        nesterov=self.nesterov, maximize=self.maximize, first=step == 1)
            return
        work, out = self._buffers(theta, 2)
        direction = prepared_grad(theta, grad, self.weight_decay, self.maximize, work)
        if self.momentum != 0:
            buf = state["momentum_buffer"]
            if step == 1:
                np.copyto(buf, direction)
            else:
                buf *= self.momentum
                add_scaled_(buf, 1 - self.dampening, direction, out)
            if self.nesterov:
                np.multiply(buf, self.momentum, out=out)
                out += direction
                direction = out
            else:
                direction = buf
        add_scaled_(theta, -lr, direction, out)
