"""Running tasks on the cluster: one round trip, and a clear error when it is gone."""

from __future__ import annotations

import time

from steepest.errors import SteepestError

__all__ = ["ClusterLostError", "compute", "gather"]


class ClusterLostError(SteepestError, RuntimeError):
    """The Dask cluster lost all its workers (or a task kept killing them)."""


def compute(tasks: list, client, *, lost_timeout: float = 30.0) -> list:
    """The results of Dask delayed ``tasks``, in order.

    On a ``distributed.Client`` the tasks go in one graph and come back together (one
    round trip, see :func:`gather`). Without a client, Dask's local threaded scheduler
    runs them here.
    """
    import dask

    if client is None:
        return list(dask.compute(*tasks, scheduler="threads"))
    return gather(client.compute(tasks), client, lost_timeout=lost_timeout)


def gather(futures: list, client, *, lost_timeout: float = 30.0) -> list:
    """The results of ``futures`` (already sent to ``client``'s cluster), in order.

    While waiting, a cluster with no worker for ``lost_timeout`` seconds raises
    :class:`ClusterLostError` instead of waiting for ever, and so does a task whose
    workers kept dying; the futures not done are cancelled on the way out. The results
    come straight from the workers that hold them (the scheduler only says where).
    """
    from distributed import wait
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    alone_since = None
    try:
        while True:
            try:
                wait(futures, timeout=0.5)
                break
            except TimeoutError:
                if client.scheduler_info().get("workers"):
                    alone_since = None
                    continue
                alone_since = alone_since or time.monotonic()
                if time.monotonic() - alone_since > lost_timeout:
                    raise ClusterLostError(
                        f"The Dask cluster at {client.scheduler.address} has had no worker for "
                        f"{lost_timeout:g} s, so the fit cannot go on. Start workers (or a "
                        "new cluster) and fit again."
                    ) from None
        return client.gather(futures, direct=True)
    except (KilledWorker, FutureCancelledError) as error:
        raise ClusterLostError(
            f"The Dask cluster could not finish a task ({type(error).__name__}: {error}); its "
            "workers died while computing it. Check their memory limits and logs, then fit "
            "again."
        ) from None
    finally:
        client.cancel([f for f in futures if not f.done()])
