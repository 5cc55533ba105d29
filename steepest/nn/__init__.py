"""Neural networks on one flat parameter vector: layers, initialisers and the network.

::

    from steepest import nn

    net = nn.Network([nn.Dense(32), nn.ReLU(), nn.Dense(1)], n_features=8, random_state=0)
    Y = net.forward(X, training=True)     # X: (n_samples, 8) -> Y: (n_samples, 1)
    net.backward(dY)                      # fills net.grad, the gradient of net.theta

Every layer's parameters are views into ``net.theta`` and their gradients views
into ``net.grad`` (``net.layers[0].W``, ``net.layers[0].dW``, or by name with
``net.parameters()``). The math of each layer is in :mod:`steepest.nn.functional`,
the initialisers in :mod:`steepest.nn.init`.
"""

from __future__ import annotations

from steepest.nn import functional, init
from steepest.nn.conv import AvgPool2D, Conv2D, Flatten, MaxPool2D
from steepest.nn.embedding import Embedding
from steepest.nn.layers import ELU, BatchNorm, Dense, Dropout, Layer, LeakyReLU, ReLU, Sigmoid, Tanh
from steepest.nn.network import Network

__all__ = [
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "ELU",
    "Flatten",
    "Embedding",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "Network",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
]
