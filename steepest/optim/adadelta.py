"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import add_scaled_, addcmul_, prepared_grad
from steepest.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as torch.optim.Adadelta computes it.

    .. math::

        g_t &= \nabla_\theta J(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        v_t &= \rho\, v_{t-1} + (1 - \rho)\, g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho\, u_{t-1} + (1 - \rho)\, \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \alpha\, \Delta_t

    The paper has no learning rate; torch's ``lr`` (default 1.0) scales the step.

    Parameters
    ----------
    lr : float or schedule, default=1.0
    rho : float, default=0.9
        Decay of both running averages, in [0, 1].
    eps : float, default=1e-6
    weight_decay : float, default=0.0
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "rho", "eps", "weight_decay", "maximize")

    def __init__(self, lr: ScalarOrSchedule = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(lr)
        check_number(rho, "rho", "Adadelta", low=0.0, high=1.0, closed="both")
        check_number(eps, "eps", "Adadelta", low=0.0)
        check_number(weight_decay, "weight_decay", "Adadelta", low=0.0)
        self.rho, self.eps, self.weight_decay, self.maximize = rho, eps, weight_decay, maximize

    def _init_state(self, theta):
        return {"square_avg": np.zeros_like(theta), "acc_delta": np.zeros_like(theta)}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        if kernels is not None:
            kernels.adadelta(theta, grad, state["square_avg"], state["acc_delta"], lr=lr,
                             rho=self.rho, eps=self.eps, weight_decay=self.weight_decay,
                             maximize=self.maximize)
            return
        work, std, delta, out = self._buffers(theta, 4)
        g = prepared_grad(theta, grad, self.weight_decay, self.maximize, work)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= self.rho
        addcmul_(square_avg, 1 - self.rho, g, g, out)
        np.add(square_avg, self.eps, out=std)
        np.sqrt(std, out=std)
        np.add(acc_delta, self.eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        acc_delta *= self.rho
        addcmul_(acc_delta, 1 - self.rho, delta, delta, out)
        add_scaled_(theta, -lr, delta, out)
