"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import addcdiv_, lerp_, prepared_grad
from steepest.optim.optimizer import Optimizer


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1), as torch.optim.Adamax computes it.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\alpha}{1 - \beta_1^t}\, \frac{m_t}{u_t}

    Parameters
    ----------
    lr : float or schedule, default=2e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0.0
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "maximize")

    def __init__(self, lr: ScalarOrSchedule = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        super().__init__(lr)
        self._check_betas(betas)
        check_number(eps, "eps", "Adamax", low=0.0)
        check_number(weight_decay, "weight_decay", "Adamax", low=0.0)
        self.betas, self.eps, self.weight_decay, self.maximize = (
            tuple(betas), eps, weight_decay, maximize)

    def _init_state(self, theta):
        return {"exp_avg": np.zeros_like(theta), "exp_inf": np.zeros_like(theta)}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        beta1, beta2 = self.betas
        if kernels is not None:
            kernels.adamax(theta, grad, state["exp_avg"], state["exp_inf"],
                           weight_decay=self.weight_decay, maximize=self.maximize, beta1=beta1,
                           beta2=beta2, eps=self.eps, step_size=-lr / (1 - beta1**step))
            return
        work, out = self._buffers(theta, 2)
        g = prepared_grad(theta, grad, self.weight_decay, self.maximize, work)
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        lerp_(exp_avg, g, 1 - beta1, out)
        exp_inf *= beta2
        np.abs(g, out=out)
        out += self.eps
        np.maximum(exp_inf, out, out=exp_inf)
        addcdiv_(theta, -lr / (1 - beta1**step), exp_avg, exp_inf, out)
