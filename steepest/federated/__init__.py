"""Federated learning on the flat θ: clients train with the one step loop, the server
averages flat vectors (FedAvg, FedProx) or steps an optimizer on their mean update (FedOpt).
"""

from steepest.federated.partition import SCHEMES, partition, partition_indices

__all__ = ["SCHEMES", "partition", "partition_indices"]
