"""NAdam: Adam with Nesterov momentum and a momentum warm-up schedule."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import adam_moments_, addcdiv_, decay_split
from steepest.optim.optimizer import Optimizer


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as torch.optim.NAdam computes it.

    .. math::

        \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr), \qquad
        \Pi_t = \prod_{i \le t} \mu_i \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \theta_t &= \theta_{t-1}
          - \alpha\,\frac{1 - \mu_t}{1 - \Pi_t}\,\frac{g_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}
          - \alpha\,\frac{\mu_{t+1}}{1 - \Pi_t\,\mu_{t+1}}\,
            \frac{m_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    with :math:`\psi` = ``momentum_decay``. The running product :math:`\Pi_t` is kept
    in the parameters' dtype, as torch keeps it in its default dtype.

    Parameters
    ----------
    lr : float or schedule, default=2e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0.0
    momentum_decay : float, default=4e-3
    decoupled_weight_decay : bool, default=False
        Shrink θ by :math:`1 - \alpha\lambda` instead of adding :math:`\lambda\theta` to
        the gradient (NAdamW).
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "momentum_decay",
                        "decoupled_weight_decay", "maximize")

    def __init__(self, lr: ScalarOrSchedule = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        super().__init__(lr)
        self._check_betas(betas)
        for name, value in (("eps", eps), ("weight_decay", weight_decay),
                            ("momentum_decay", momentum_decay)):
            check_number(value, name, "NAdam", low=0.0)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        self.momentum_decay, self.decoupled_weight_decay = momentum_decay, decoupled_weight_decay
        self.maximize = maximize

    def _init_state(self, theta):
        return {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta),
                "mu_product": np.ones((), dtype=theta.dtype)}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        beta1, beta2 = self.betas
        shrink, coupled = decay_split(self.weight_decay, self.decoupled_weight_decay, lr)
        bias_correction2 = 1 - beta2**step
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * self.momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * self.momentum_decay))
        mu_product = state["mu_product"]
        mu_product *= mu
        mu_product_next = float(mu_product) * mu_next
        grad_step = -lr * (1.0 - mu) / (1.0 - float(mu_product))
        avg_step = -lr * mu_next / (1.0 - mu_product_next)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if kernels is not None:
            kernels.nadam(theta, grad, exp_avg, exp_avg_sq, shrink=shrink,
                          weight_decay=coupled, maximize=self.maximize, beta1=beta1,
                          beta2=beta2, bias_correction2=bias_correction2, eps=self.eps,
                          grad_step=grad_step, avg_step=avg_step)
            return
        work, denom, out = self._buffers(theta, 3)
        g = adam_moments_(theta, grad, exp_avg, exp_avg_sq, shrink=shrink, coupled=coupled,
                          maximize=self.maximize, beta1=beta1, beta2=beta2, work=work, out=out)
        np.divide(exp_avg_sq, bias_correction2, out=denom)
        np.sqrt(denom, out=denom)
        denom += self.eps
        addcdiv_(theta, grad_step, g, denom, out)
        addcdiv_(theta, avg_step, exp_avg, denom, out)
