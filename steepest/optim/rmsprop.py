"""RMSprop: rates divided by a running root mean square of the gradient."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import add_scaled_, addcdiv_, addcmul_, lerp_, prepared_grad
from steepest.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), optionally centered and with momentum, as torch computes it.

    .. math::

        g_t &= \nabla_\theta J(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        v_t &= \rho\, v_{t-1} + (1 - \rho)\, g_t^2 \\
        \bar g_t &= \rho\, \bar g_{t-1} + (1 - \rho)\, g_t \quad\text{(centered only)} \\
        s_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)} \quad\text{or}\quad
               \sqrt{v_t} + \epsilon \\
        b_t &= \mu\, b_{t-1} + g_t / s_t, \qquad \theta_t = \theta_{t-1} - \alpha\, b_t
               \quad\text{(momentum > 0)} \\
        \theta_t &= \theta_{t-1} - \alpha\, g_t / s_t \quad\text{(otherwise)}

    with :math:`\rho` = ``alpha`` (torch's name for the smoothing constant) and
    :math:`\mu` = ``momentum``.

    Parameters
    ----------
    lr : float or schedule, default=1e-2
    alpha : float, default=0.99
    eps : float, default=1e-8
    weight_decay : float, default=0.0
    momentum : float, default=0.0
    centered : bool, default=False
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(self, lr: ScalarOrSchedule = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(lr)
        for name, value in (("alpha", alpha), ("eps", eps), ("weight_decay", weight_decay),
                            ("momentum", momentum)):
            check_number(value, name, "RMSprop", low=0.0)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered, self.maximize = momentum, centered, maximize

    def _init_state(self, theta):
        state = {"square_avg": np.zeros_like(theta)}
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(theta)
        if self.centered:
            state["grad_avg"] = np.zeros_like(theta)
        return state

    def _update(self, theta, grad, state, lr, step, kernels=None):
        if kernels is not None:
            kernels.rmsprop(theta, grad, state["square_avg"], state.get("grad_avg"),
                            state.get("momentum_buffer"), lr=lr, alpha=self.alpha, eps=self.eps,
                            weight_decay=self.weight_decay, momentum=self.momentum,
                            maximize=self.maximize)
            return
        work, avg, out = self._buffers(theta, 3)
        g = prepared_grad(theta, grad, self.weight_decay, self.maximize, work)
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        addcmul_(square_avg, 1 - self.alpha, g, g, out)
        if self.centered:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1 - self.alpha, out)
            np.copyto(avg, square_avg)
            addcmul_(avg, -1, grad_avg, grad_avg, out)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(square_avg, out=avg)
        avg += self.eps
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            addcdiv_(buf, 1, g, avg, out)
            add_scaled_(theta, -lr, buf, out)
        else:
            addcdiv_(theta, -lr, g, avg, out)
