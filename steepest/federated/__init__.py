"""Federated learning on the flat θ: clients train with the one step loop, the server
averages flat vectors (FedAvg, FedProx) or steps an optimizer on their mean update (FedOpt).

In one process (a list of clients' data), on Dask workers
(:class:`~steepest.federated.on_dask.DaskClients`) or with real Flower clients
(:mod:`steepest.federated.flower`, the ``steepest[flower]`` extra).
"""

from steepest.federated.client import LocalTraining, LocalUpdate, ProximalTerm
from steepest.federated.partition import SCHEMES, partition, partition_indices
from steepest.federated.privacy import DPFedAvg
from steepest.federated.runners import InProcessClients
from steepest.federated.strategy import (
    FedAdagrad,
    FedAdam,
    FedAvg,
    FedOpt,
    FedProx,
    FedYogi,
    weighted_mean,
)

__all__ = ["SCHEMES", "DPFedAvg", "FedAdagrad", "FedAdam", "FedAvg", "FedOpt", "FedProx", "FedYogi",
           "InProcessClients", "LocalTraining", "LocalUpdate", "ProximalTerm", "partition",
           "partition_indices", "weighted_mean"]
