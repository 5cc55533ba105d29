"""Yogi: Adam's first moment with an additive, sign-controlled second moment."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import add_scaled_, addcdiv_, prepared_grad
from steepest.optim.optimizer import Optimizer


class Yogi(Optimizer):
    r"""Yogi (Zaheer et al., 2018), the server rule of FedYogi (Reddi et al., 2021).

    .. math::

        g_t &= \nabla_\theta J(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= v_{t-1} - (1 - \beta_2)\, g_t^2\,
               \operatorname{sign}(v_{t-1} - g_t^2) \\
        \theta_t &= \theta_{t-1} - \alpha\, \frac{m_t}{\sqrt{v_t} + \epsilon}

    Where Adam's :math:`v` moves a fraction :math:`1 - \beta_2` of the way to
    :math:`g^2` (multiplicatively), Yogi's moves by :math:`(1 - \beta_2) g^2`
    towards it (additively), so a burst of large gradients raises the effective
    rate more slowly. There is no bias correction (the paper's Algorithm 2 and
    Flower's ``FedYogi``): :math:`m_0 = 0`, :math:`v_0` =
    ``initial_accumulator_value``, and :math:`v` stays :math:`\ge 0` when it
    starts so. Not in torch.optim; checked on hand-computed steps.

    Parameters
    ----------
    lr : float or schedule, default=1e-2
    betas : (float, float), default=(0.9, 0.999)
        :math:`\beta_1, \beta_2`, each in [0, 1). FedYogi uses (0.9, 0.99).
    eps : float, default=1e-3
        :math:`\epsilon`, added to :math:`\sqrt{v}` (FedYogi's :math:`\tau`).
    initial_accumulator_value : float, default=0.0
        :math:`v_0` (>= 0) in every coordinate.
    weight_decay : float, default=0.0
        :math:`\lambda`, L2 decay folded into the gradient.
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "betas", "eps", "initial_accumulator_value", "weight_decay",
                        "maximize")
    fused_min_size = None  # the NumPy rule only: no fused kernel for Yogi

    def __init__(self, lr: ScalarOrSchedule = 1e-2, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-3, initial_accumulator_value: float = 0.0,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(lr)
        self._check_betas(betas)
        name = type(self).__name__
        check_number(eps, "eps", name, low=0.0)
        check_number(initial_accumulator_value, "initial_accumulator_value", name, low=0.0)
        check_number(weight_decay, "weight_decay", name, low=0.0)
        self.betas, self.eps = tuple(betas), eps
        self.initial_accumulator_value = initial_accumulator_value
        self.weight_decay, self.maximize = weight_decay, maximize

    def _init_state(self, theta):
        return {"exp_avg": np.zeros_like(theta),
                "exp_avg_sq": np.full_like(theta, self.initial_accumulator_value)}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        beta1, beta2 = self.betas
        work, square, out = self._buffers(theta, 3)
        g = prepared_grad(theta, grad, self.weight_decay, self.maximize, work)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        add_scaled_(exp_avg, 1 - beta1, g, out)
        np.multiply(g, g, out=square)
        np.subtract(exp_avg_sq, square, out=out)
        np.sign(out, out=out)
        out *= square
        out *= 1 - beta2
        exp_avg_sq -= out
        np.sqrt(exp_avg_sq, out=square)
        square += self.eps
        addcdiv_(theta, -lr, exp_avg, square, out)
