"""Adam and AdamW: bias-corrected first and second moment estimates."""

from __future__ import annotations

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.optim._ops import adam_moments_, addcdiv_, decay_split
from steepest.optim.optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with AMSGrad and decoupled decay, as torch.optim.Adam.

    .. math::

        g_t &= \nabla_\theta J(\theta_{t-1}) + \lambda\,\theta_{t-1}
               \quad\text{(or } \theta_{t-1} \leftarrow (1 - \alpha\lambda)\,\theta_{t-1}
               \text{ when decoupled)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad)} \quad\text{or}\quad v_t \\
        \theta_t &= \theta_{t-1} - \frac{\alpha}{1 - \beta_1^t}\,
                    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    :math:`\epsilon` is added after the bias correction of :math:`\sqrt{v}` (the
    paper's and torch's placement; TensorFlow adds an :math:`\hat\epsilon` before it).

    Parameters
    ----------
    lr : float or schedule, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
        Decay rates :math:`\beta_1, \beta_2`, each in [0, 1).
    eps : float, default=1e-8
    weight_decay : float, default=0.0
    amsgrad : bool, default=False
        Use the running maximum of :math:`v` (Reddi et al., 2018).
    maximize : bool, default=False
    decoupled_weight_decay : bool, default=False
        Shrink θ by :math:`1 - \alpha\lambda` instead of adding :math:`\lambda\theta`
        to the gradient: this is AdamW.
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                        "decoupled_weight_decay")

    def __init__(self, lr: ScalarOrSchedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        super().__init__(lr)
        self._check_betas(betas)
        check_number(eps, "eps", type(self).__name__, low=0.0)
        check_number(weight_decay, "weight_decay", type(self).__name__, low=0.0)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        self.amsgrad, self.maximize = amsgrad, maximize
        self.decoupled_weight_decay = decoupled_weight_decay

    def _init_state(self, theta):
        state = {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(theta)
        return state

    def _update(self, theta, grad, state, lr, step, kernels=None):
        beta1, beta2 = self.betas
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        shrink, coupled = decay_split(self.weight_decay, self.decoupled_weight_decay, lr)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if kernels is not None:
            kernels.adam(theta, grad, exp_avg, exp_avg_sq, state.get("max_exp_avg_sq"),
                         shrink=shrink, weight_decay=coupled, maximize=self.maximize,
                         beta1=beta1, beta2=beta2, bias_correction2_sqrt=bias_correction2_sqrt,
                         eps=self.eps, step_size=-lr / bias_correction1)
            return
        work, denom, out = self._buffers(theta, 3)
        adam_moments_(theta, grad, exp_avg, exp_avg_sq, shrink=shrink, coupled=coupled,
                      maximize=self.maximize, beta1=beta1, beta2=beta2, work=work, out=out)
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            np.sqrt(state["max_exp_avg_sq"], out=denom)
        else:
            np.sqrt(exp_avg_sq, out=denom)
        denom /= bias_correction2_sqrt
        denom += self.eps
        addcdiv_(theta, -lr / bias_correction1, exp_avg, denom, out)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as torch.optim.AdamW.

    Each step first shrinks the parameters, :math:`\theta \leftarrow (1 - \alpha\lambda)\,\theta`,
    then applies Adam's update to the undecayed gradient (see :class:`Adam`).

    Parameters
    ----------
    lr : float or schedule, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=1e-2
    amsgrad : bool, default=False
    maximize : bool, default=False
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")

    def __init__(self, lr: ScalarOrSchedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
