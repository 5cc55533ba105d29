r"""The penalty on the weights: L2, L1 or the elastic net, never on biases.

.. math::

    P(\theta) = \alpha \Bigl(\rho \lVert w \rVert_1 + \frac{1 - \rho}{2} \lVert w \rVert_2^2\Bigr),
    \qquad
    \frac{\partial P}{\partial w} = \alpha \bigl(\rho \operatorname{sign}(w) + (1 - \rho)\, w\bigr)

with :math:`\alpha` = ``alpha``, :math:`\rho` = ``l1_ratio`` (0 for ``"l2"``, 1 for
``"l1"``) and :math:`w` the weights of the Dense layers (their ``W``): biases and
BatchNorm's scale and shift are not penalised. The L1 term has no derivative at
:math:`w = 0`; the subgradient :math:`\operatorname{sign}(0) = 0` is used, so plain
gradient descent brings L1-penalised weights near zero, not exactly to it.
"""

from __future__ import annotations

import numpy as np

from steepest._validation import check_choice, check_number
from steepest.nn import Dense, Network

__all__ = ["Penalty", "weight_mask"]

PENALTIES = ("l2", "l1", "elasticnet", None)


def _weight_ranges(network: Network) -> list[tuple[int, int]]:
    """``[start, stop)`` of every Dense layer's ``W`` in ``theta``, adjacent ranges merged."""
    ranges: list[tuple[int, int]] = []
    offset = 0
    for key, view in network.parameters().items():
        index, name = key.split(".", 1)
        stop = offset + view.size
        if name == "W" and isinstance(network.layers[int(index)], Dense) and view.size:
            if ranges and ranges[-1][1] == offset:
                ranges[-1] = (ranges[-1][0], stop)
            else:
                ranges.append((offset, stop))
        offset = stop
    return ranges


def weight_mask(network: Network) -> np.ndarray:
    """A boolean array over ``network.theta``: True at the penalised weights."""
    mask = np.zeros(network.n_params, bool)
    for start, stop in _weight_ranges(network):
        mask[start:stop] = True
    return mask


class Penalty:
    r"""The penalty :math:`P(\theta)` on a network's weights and its gradient.

    Parameters
    ----------
    network : Network
        Its ``theta`` and ``grad`` are read and written through views made once.
    alpha : float, default=0.0
        The strength :math:`\alpha \ge 0`; 0 turns the penalty off.
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
        None turns the penalty off.
    l1_ratio : float, default=0.15
        The share :math:`\rho` of L1 in the elastic net, in [0, 1]; ignored for
        ``"l2"`` (:math:`\rho = 0`) and ``"l1"`` (:math:`\rho = 1`).

    Attributes
    ----------
    active : bool
        Whether there is anything to add (alpha > 0, a penalty, some weights).
    """

    def __init__(self, network: Network, alpha: float = 0.0, penalty: str | None = "l2",
                 l1_ratio: float = 0.15) -> None:
        check_number(alpha, "alpha", "Penalty", low=0.0)
        check_choice(penalty, "penalty", "Penalty", PENALTIES)
        check_number(l1_ratio, "l1_ratio", "Penalty", low=0.0, high=1.0, closed="both")
        self.alpha, self.penalty = float(alpha), penalty
        self.l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, float(l1_ratio))
        ranges = _weight_ranges(network)
        self.active = penalty is not None and self.alpha > 0 and bool(ranges)
        self._weights = [network.theta[a:b] for a, b in ranges]
        self._grads = [network.grad[a:b] for a, b in ranges]
        work = np.empty(max((b - a for a, b in ranges), default=0), network.dtype)
        self._work = [work[:b - a] for a, b in ranges]
        self._l1 = self.alpha * self.l1_ratio
        self._l2 = self.alpha * (1.0 - self.l1_ratio)

    def value(self) -> float:
        r""":math:`P(\theta)` at the network's current parameters (0.0 when inactive)."""
        if not self.active:
            return 0.0
        l1 = l2 = 0.0
        for w, work in zip(self._weights, self._work, strict=True):
            if self._l1:
                l1 += float(np.abs(w, out=work).sum())
            if self._l2:
                l2 += float(np.dot(w, w))
        return self._l1 * l1 + 0.5 * self._l2 * l2

    def add_gradient(self) -> None:
        r"""``grad += ∂P/∂θ`` in place, on the weights only; no allocation.

        Blocks of weights as long as the optimizers' ``fused_min_size`` take one
        compiled pass (the same arithmetic, to the bit) instead of two ufuncs per term.
        """
        if not self.active:
            return
        from steepest.optim.optimizer import _FUSED_DTYPES, Optimizer

        fuse = Optimizer.fused_min_size
        for w, g, work in zip(self._weights, self._grads, self._work, strict=True):
            if fuse is not None and w.size >= fuse and w.dtype in _FUSED_DTYPES:
                from steepest.optim import _kernels

                _kernels.add_penalty_gradient(w, g, self._l1, self._l2)
                continue
            if self._l2:
                np.multiply(w, self._l2, out=work)
                g += work
            if self._l1:
                np.sign(w, out=work)
                work *= self._l1
                g += work

    def __repr__(self) -> str:
        return f"Penalty(alpha={self.alpha!r}, penalty={self.penalty!r}, " \
               f"l1_ratio={self.l1_ratio!r})"
