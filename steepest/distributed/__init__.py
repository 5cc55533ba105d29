"""The same fits on a Dask cluster: row partitions stay on the workers, θ travels.

:class:`DaskData` persists the partitions of a Dask array or DataFrame once and
learns their statistics in one pass; :class:`Blocks` holds them prepared once for a
network (scaled, labels indexed), grouped by worker; :class:`DaskObjective` evaluates
the mean loss and its gradient at a θ in exactly one round trip (one task per worker's
group, each partition's sums reduced on the driver in partition order, so a rerun is
bit-identical). Dask is an
optional extra (``pip install steepest[dask]``); this package imports it on use.
"""

from steepest.distributed.cluster import ClusterLostError
from steepest.distributed.data import Blocks, DaskData, is_dask
from steepest.distributed.local_sgd import DEFAULT_SYNC_EVERY, LocalSGD
from steepest.distributed.objective import DaskObjective

__all__ = ["DEFAULT_SYNC_EVERY", "Blocks", "ClusterLostError", "DaskData", "DaskObjective",
           "LocalSGD", "is_dask"]
