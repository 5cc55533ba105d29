r"""DP-FedAvg: clipped client updates, Gaussian noise on their sum, the privacy spent.

McMahan et al. (2018), "Learning Differentially Private Recurrent Language
Models", with fixed clipping. In round :math:`t`, with :math:`m` of the :math:`K`
clients drawn (without replacement) and :math:`S` = ``clip_norm``:

.. math::

    \Delta_k &= \theta_k - \theta_t, \qquad
    \tilde\Delta_k = \Delta_k \min\Bigl(1, \frac{S}{\lVert\Delta_k\rVert_2}\Bigr) \\
    \theta_{t+1} &= \theta_t + \frac{1}{m}\Bigl(\sum_k \tilde\Delta_k
                    + \mathcal N(0, \sigma^2 S^2 I)\Bigr)

(unweighted: a client's influence is bounded by :math:`S` whatever its size; the
divisor is :math:`m`, not the number that answered, so a dropped client changes
nothing of the noise's calibration). Each round is a Gaussian mechanism of noise
multiplier :math:`\sigma` on clients sampled without replacement; the privacy spent
for the whole federation, client-level :math:`(\varepsilon, \delta)` with
"replace one client" neighbours, is computed by Google's ``dp-accounting`` RDP
accountant (``pip install steepest[privacy]``), never by hand.
"""

from __future__ import annotations

import logging

import numpy as np

from steepest._validation import check_number
from steepest.errors import ParameterError
from steepest.federated.strategy import FedAvg

__all__ = ["DPFedAvg"]


class DPFedAvg(FedAvg):
    r"""FedAvg with each client's update clipped to norm ``clip_norm`` and Gaussian noise.

    Parameters are FedAvg's, plus

    Parameters
    ----------
    clip_norm : float, default=1.0
        :math:`S > 0`, the bound on each client's :math:`\lVert\theta_k - \theta_t\rVert_2`.
    noise_multiplier : float, default=1.0
        :math:`\sigma \ge 0`; the noise on the sum has standard deviation :math:`\sigma S`.
    delta : float, default=1e-5
        The :math:`\delta` at which ``history_["epsilon"]`` is reported.

    Attributes
    ----------
    history_ : dict of lists
        FedAvg's, plus ``epsilon``: the client-level :math:`\varepsilon` spent after
        each round (at ``delta``; infinite without noise), and ``clipped``: how many
        updates were clipped.
    epsilon_ : float
        After the last round.
    """

    def __init__(self, estimator, clip_norm: float = 1.0, noise_multiplier: float = 1.0,
                 delta: float = 1e-5, fraction: float = 0.1, local_epochs=1,
                 local_batch_size: int | None = 10, *, client_timeout: float | None = None,
                 random_state=None) -> None:
        super().__init__(estimator, fraction, local_epochs, local_batch_size,
                         client_timeout=client_timeout, random_state=random_state)
        self.clip_norm = clip_norm
        self.noise_multiplier = noise_multiplier
        self.delta = delta

    def _check_params(self) -> None:
        super()._check_params()
        owner = type(self).__name__
        check_number(self.clip_norm, "clip_norm", owner, low=0.0, closed="neither")
        check_number(self.noise_multiplier, "noise_multiplier", owner, low=0.0)
        check_number(self.delta, "delta", owner, low=0.0, high=1.0, closed="neither")
        if getattr(self.estimator, "batch_norm", False):
            raise ParameterError(
                f"{owner} privatises theta only, and BatchNorm's running statistics would "
                "leak the clients' data unprotected; use batch_norm=False."
            )

    def _start_server(self, n_clients: int, per_round: int) -> None:
        try:
            import dp_accounting
            from dp_accounting.rdp import RdpAccountant
        except ImportError:
            raise ParameterError(
                f"{type(self).__name__} reports the privacy spent with Google's dp-accounting "
                "library, which is not installed: pip install 'steepest[privacy]'."
            ) from None
        self._accountant = RdpAccountant(
            neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
        self._event = dp_accounting.SampledWithoutReplacementDpEvent(
            n_clients, per_round, dp_accounting.GaussianDpEvent(self.noise_multiplier))
        self._per_round = per_round
        self._noise = np.random.default_rng(np.random.SeedSequence(self._seed_used,
                                                                   spawn_key=(2,)))
        self._clipped = 0

    def _seed(self) -> int:
        self._seed_used = super()._seed()
        return self._seed_used

    def _server_step(self, theta: np.ndarray, thetas: list, sizes: list) -> None:
        total = np.zeros(theta.shape, np.float64)
        self._clipped = 0
        for answer in thetas:
            update = answer.astype(np.float64) - theta
            norm = float(np.linalg.norm(update))
            if norm > self.clip_norm:
                update *= self.clip_norm / norm
                self._clipped += 1
            total += update
        total += self._noise.normal(0.0, self.noise_multiplier * self.clip_norm, theta.shape)
        theta += (total / self._per_round).astype(theta.dtype)

    def _round_extras(self) -> dict:
        clipped, self._clipped = self._clipped, 0
        if self.noise_multiplier == 0:  # no noise: no privacy
            self.epsilon_ = float("inf")
            return {"epsilon": self.epsilon_, "clipped": clipped}
        self._accountant.compose(self._event)
        absl = logging.getLogger("absl")
        level = absl.level
        absl.setLevel(logging.ERROR)  # orders whose series do not converge are skipped, noisily
        try:
            self.epsilon_ = float(self._accountant.get_epsilon(self.delta))
        finally:
            absl.setLevel(level)
        return {"epsilon": self.epsilon_, "clipped": clipped}
