"""The same fits on a Dask cluster: row partitions stay on the workers, θ travels.

:class:`DaskData` persists the partitions of a Dask array or DataFrame once and
learns their statistics in one pass; :class:`DaskObjective` evaluates the mean loss
and its gradient at a θ in exactly one round trip (one task per partition, the sums
reduced on the driver in partition order, so a rerun is bit-identical). Dask is an
optional extra (``pip install steepest[dask]``); this package imports it on use.
"""

from steepest.distributed.data import DaskData, is_dask
from steepest.distributed.objective import ClusterLostError, DaskObjective

__all__ = ["ClusterLostError", "DaskData", "DaskObjective", "is_dask"]
