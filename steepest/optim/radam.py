"""RAdam: Adam with the variance of the adaptive rate rectified in the first steps."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import adam_moments_, decay_split
from steepest.optim.optimizer import Optimizer


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020), as torch.optim.RAdam computes it.

    .. math::

        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        \hat m_t &= m_t / (1 - \beta_1^t) \\
        \theta_t &= \theta_{t-1} - \alpha\, \hat m_t\, r_t\,
                    \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}
                    \quad\text{if } \rho_t > 5,
        \qquad r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
                                 {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
        \theta_t &= \theta_{t-1} - \alpha\, \hat m_t \quad\text{otherwise (SGD with momentum)}

    with :math:`m_t, v_t` Adam's moment estimates.

    Parameters
    ----------
    lr : float or schedule, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0.0
    decoupled_weight_decay : bool, default=False
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay",
                        "maximize")

    def __init__(self, lr: ScalarOrSchedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        super().__init__(lr)
        self._check_betas(betas)
        check_number(eps, "eps", "RAdam", low=0.0)
        check_number(weight_decay, "weight_decay", "RAdam", low=0.0)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        self.decoupled_weight_decay, self.maximize = decoupled_weight_decay, maximize

    def _init_state(self, theta):
        return {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}

    def _update(self, theta, grad, state, lr, step, kernels=None):
        beta1, beta2 = self.betas
        shrink, coupled = decay_split(self.weight_decay, self.decoupled_weight_decay, lr)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        rect = None  # the rectification factor, or None for the SGD-with-momentum branch
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if kernels is not None:
            kernels.radam(theta, grad, exp_avg, exp_avg_sq, shrink=shrink,
                          weight_decay=coupled, maximize=self.maximize, beta1=beta1,
                          beta2=beta2, bias_correction1=bias_correction1, lr=lr, rect=rect,
                          eps=self.eps, bias_correction2_sqrt=bias_correction2**0.5)
            return
        work, update, out = self._buffers(theta, 3)
        adam_moments_(theta, grad, exp_avg, exp_avg_sq, shrink=shrink, coupled=coupled,
                      maximize=self.maximize, beta1=beta1, beta2=beta2, work=work, out=out)
        np.divide(exp_avg, bias_correction1, out=update)
        update *= lr
        if rect is not None:
            np.sqrt(exp_avg_sq, out=out)
            out += self.eps
            np.reciprocal(out, out=out)  # torch evaluates scalar / tensor as reciprocal · scalar
            out *= bias_correction2**0.5
            update *= out
            update *= rect
        theta -= update
