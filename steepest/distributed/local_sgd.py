r"""Mini-batch descent on a Dask cluster: local SGD with periodic averaging.

Every partition :math:`k` trains its own copy of the model with the one step loop
(:class:`~steepest.train.StepLoop`: forward, loss, backward, penalty, clip, step) on its
own rows, ``sync_every`` mini-batches at a time, from the same parameters and optimizer
state; then the driver averages what came back, weighted by the rows each partition
stepped through in the round (:math:`m_k`):

.. math::

    \theta \leftarrow \frac{\sum_k m_k\, \theta_k}{\sum_k m_k},\qquad
    s \leftarrow \frac{\sum_k m_k\, s_k}{\sum_k m_k}

for every array :math:`s` of the optimizer's state (momentum, Adam's moments), and the
step count advances by the most local steps any partition took, so a schedule sees the
round as that many updates. One round is one round trip. An epoch is every partition
passing once over its rows in its own shuffled order, drawn from ``(seed, epoch,
partition)``: the tasks are deterministic, so a task recomputed after a worker died
gives the same numbers, and so does the fit. With one partition and ``sync_every``
covering the epoch this is exactly the in-memory mini-batch descent over that order.
The driver's state between two rounds is θ, the optimizer's state and the epoch's sums
so far (:meth:`LocalSGD.epoch`'s ``on_round``), so a checkpoint taken there lets a killed
driver go on after that round (:mod:`steepest.outofcore`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from steepest.data import prepare_block
from steepest.distributed.objective import Recipe, ship, step_loop

__all__ = ["DEFAULT_SYNC_EVERY", "LocalSGD"]

DEFAULT_SYNC_EVERY = 32
"""Local steps between two averages, by default: each round trip then carries 32
mini-batches of work per partition, and the copies drift apart little in 32 steps of a
rate that suits mini-batch descent."""


def _epoch_order(n: int, seed: int, epoch: int, part: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, part]).permutation(n)


def _local_steps(blob, X, y, theta, state, mean, scale, classes, batch_size, seed, epoch,
                 part, first_batch, n_batches):
    """Steps ``first_batch`` to ``first_batch + n_batches`` of partition ``part``'s epoch,
    from ``theta`` and the optimizer ``state``: ``(theta, state, loss sum, rows, updates,
    failure)``."""
    steps = step_loop(blob)
    network, optimizer = steps.network, steps.optimizer
    X, y = prepare_block(X, y, mean, scale, classes, network.dtype)
    order = _epoch_order(X.shape[0], seed, epoch, part)
    network.theta[...] = theta
    optimizer.load_state_dict(state)
    stop = min((first_batch + n_batches) * batch_size, X.shape[0])
    batches = ((np.take(X, rows, axis=0), np.take(y, rows, axis=0))
               for rows in (order[a:a + batch_size]
                            for a in range(first_batch * batch_size, stop, batch_size)))
    result = steps.run(batches)
    return (network.theta.copy(), optimizer.state_dict(), result.total, result.count,
            result.updates, result.failure)


class LocalSGD:
    """Epochs of local SGD over the partitions of a :class:`DaskData`.

    Parameters
    ----------
    data : DaskData
    network : Network
        The driver's copy: its ``theta`` holds the averaged parameters after each round.
    loss : Loss
    optimizer : Optimizer
        The driver's optimizer, not yet stepped: its state is the averaged state after
        each round.
    batch_size : int
    sync_every : int, default=DEFAULT_SYNC_EVERY
        Local steps of each partition between two averages.
    alpha, penalty, l1_ratio, clip_norm
        The penalty and clipping of every local step.
    mean, scale, classes
        As :class:`~steepest.distributed.DaskObjective`.
    seed : int
        Seeds each partition's order in each epoch.
    lost_timeout : float, default=30.0

    Attributes
    ----------
    round_trips : int
    """

    def __init__(self, data, network, loss, optimizer, *, batch_size: int,
                 sync_every: int = DEFAULT_SYNC_EVERY, alpha: float = 0.0,
                 penalty: str | None = None, l1_ratio: float = 0.15,
                 clip_norm: float | None = None, mean=None, scale=None, classes=None,
                 seed: int = 0, lost_timeout: float = 30.0) -> None:
        self.data, self.network, self.optimizer = data, network, optimizer
        self.batch_size, self.sync_every = int(batch_size), int(sync_every)
        self.mean, self.scale, self.classes = mean, scale, classes
        self.seed, self.lost_timeout = int(seed), lost_timeout
        # pickled now, before its first step: each task loads the round's state into it
        self._blob = ship(Recipe(network, loss, optimizer, alpha, penalty, l1_ratio,
                                 clip_norm), data.client)
        self.round_trips = 0

    def epoch(self, epoch: int, progress: dict | None = None,
              on_round: Callable[[dict], object] | None = None
              ) -> tuple[float, int, tuple[float, str] | None]:
        """Run epoch number ``epoch`` (from 0): ``(mean loss, updates, failure)``, failure
        as :class:`~steepest.train.step.EpochSteps` gives it (None when all went well; on
        a failure the parameters are those of the last good round).

        ``on_round(progress)`` is called after every round but the epoch's last, once the
        network and the optimizer hold the round's average, with ``progress`` =
        ``{"round": rounds done, "total": loss sum, "count": rows, "updates": updates}``
        so far in the epoch; given back as ``progress`` (with the network and optimizer
        as they were then), the epoch goes on after that round, to the same numbers."""
        from dask import delayed

        sizes = self.data.summary().sizes
        batches = [math.ceil(n / self.batch_size) for n in sizes]
        task = delayed(_local_steps, pure=True)
        total, count, updates, done = 0.0, 0, 0, 0
        if progress is not None:
            total, count = float(progress["total"]), int(progress["count"])
            updates, done = int(progress["updates"]), int(progress["round"])
        rounds = range(0, max(batches), self.sync_every)
        for index, first in enumerate(rounds):
            if index < done:
                continue
            parts = [k for k, b in enumerate(batches) if b > first]
            theta, state = self.network.theta.copy(), self.optimizer.state_dict()
            results = self.data.run(
                [task(self._blob, *self.data.parts[k], theta, state, self.mean, self.scale,
                      self.classes, self.batch_size, self.seed, epoch, k, first,
                      min(self.sync_every, batches[k] - first)) for k in parts],
                lost_timeout=self.lost_timeout)
            self.round_trips += 1
            failure = next((r[5] for r in results if r[5] is not None), None)
            if failure is not None:
                return (total / count if count else math.nan), updates, failure
            self._average(results, state)
            total += sum(r[2] for r in results)
            count += sum(r[3] for r in results)
            updates += max(r[4] for r in results)
            if on_round is not None and index + 1 < len(rounds):
                on_round({"round": index + 1, "total": total, "count": count,
                          "updates": updates})
        return total / count, updates, None

    def _average(self, results, before: dict) -> None:
        """Parameters and optimizer state: the means of the partitions', weighted by rows."""
        weights = np.array([r[3] for r in results], dtype=np.float64)
        weights /= weights.sum()
        theta = sum(w * r[0].astype(np.float64) for w, r in zip(weights, results, strict=True))
        self.network.theta[...] = theta
        state = {"step": int(before["step"]) + max(r[4] for r in results)}
        for key in results[0][1]:
            if key != "step":
                dtype = results[0][1][key].dtype
                state[key] = sum(w * np.asarray(r[1][key], dtype=np.float64)
                                 for w, r in zip(weights, results, strict=True)).astype(dtype)
        self.optimizer.load_state_dict(state)
