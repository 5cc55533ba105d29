"""Adagrad: per-coordinate rates shrinking with the accumulated squared gradient."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import addcdiv_, addcmul_, prepared_grad
from steepest.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), as torch.optim.Adagrad computes it.

    .. math::

        g_t &= \nabla_\theta J(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        \tilde\alpha_t &= \alpha / (1 + (t - 1)\,\eta) \\
        s_t &= s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        \theta_t &= \theta_{t-1} - \tilde\alpha_t\, g_t / (\sqrt{s_t} + \epsilon)

    with :math:`\eta` = ``lr_decay``. Note torch's (and our) :math:`\epsilon`
    sits outside the square root.

    Parameters
    ----------
    lr : float or schedule, default=1e-2
    lr_decay : float, default=0.0
    weight_decay : float, default=0.0
    initial_accumulator_value : float, default=0.0
    eps : float, default=1e-10
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                        "maximize")

    def __init__(self, lr: ScalarOrSchedule = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(lr)
        for name, value in (("lr_decay", lr_decay), ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value),
                            ("eps", eps)):
            check_number(value, name, "Adagrad", low=0.0)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        self.initial_accumulator_value, self.maximize = initial_accumulator_value, maximize

    def _init_state(self, theta):
        return {"sum": np.full_like(theta, self.initial_accumulator_value)}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        clr = lr / (1 + (step - 1) * self.lr_decay)
        if kernels is not None:
            kernels.adagrad(theta, grad, state["sum"], clr=clr, eps=self.eps,
                            weight_decay=self.weight_decay, maximize=self.maximize)
            return
        work, std, out = self._buffers(theta, 3)
        g = prepared_grad(theta, grad, self.weight_decay, self.maximize, work)
        addcmul_(state["sum"], 1, g, g, out)
        np.sqrt(state["sum"], out=std)
        std += self.eps
        addcdiv_(theta, -clr, g, std, out)
