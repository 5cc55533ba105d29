r"""A steepest estimator as a real Flower client (``pip install steepest[flower]``).

::

    import flwr
    from steepest.federated.flower import SteepestClient, fit_config

    # on each device:
    client = SteepestClient(model, X_k, y_k, local_epochs=5, local_batch_size=10,
                            classes=all_labels, client_id=k, random_state=0)
    flwr.client.start_client(server_address="10.0.0.1:8080", client=client.to_client(),
                             insecure=True)

    # on the server, any Flower strategy; on_fit_config_fn=fit_config sends the round:
    strategy = flwr.server.strategy.FedAvg(fraction_fit=0.1, on_fit_config_fn=fit_config)
    flwr.server.start_server(server_address="0.0.0.0:8080", strategy=strategy,
                             config=flwr.server.ServerConfig(num_rounds=50))

The parameters Flower sends and receives are the network's arrays in θ's order
(each layer's, e.g. a Dense layer's ``W`` then ``b``), then the untrained state
(BatchNorm's running statistics) sorted by name. Each ``fit`` is
:meth:`~steepest.federated.client.LocalTraining.run`, the same local training as
the in-process and Dask runs: with the same data, ``client_id`` (the client's index
there) and ``random_state``, Flower's ``FedAvg`` gives the in-process
:class:`~steepest.federated.FedAvg`'s model (to rounding: Flower sums
:math:`(n_k/N)\,\theta_k`, steepest :math:`n_k\theta_k` then divides). Flower's
``FedProx`` sends ``proximal_mu``; the client then adds steepest's exact
:math:`\frac{\mu}{2}\lVert\theta - \theta_g\rVert^2`.

Written against flwr 1.42's ``NumPyClient`` with its (deprecated but supported)
``start_server`` / ``start_client`` over gRPC; the same client object works in a
``ClientApp`` through ``client_fn`` returning ``SteepestClient(...).to_client()``.
"""

from __future__ import annotations

import numpy as np
from flwr.client import NumPyClient
from sklearn.base import ClassifierMixin, clone

from steepest.errors import ParameterError
from steepest.federated.client import (
    LocalTraining,
    client_generator,
    model_state,
    set_model_state,
)

__all__ = ["SteepestClient", "fit_config", "get_arrays", "set_arrays"]


def fit_config(server_round: int) -> dict:
    """``on_fit_config_fn`` for a Flower strategy: tells clients the round (from 1),
    which seeds their batch orders as in the in-process run."""
    return {"server_round": int(server_round)}


def get_arrays(network) -> list[np.ndarray]:
    """The network's parameters in θ's order, then its untrained state by name (copies)."""
    state = model_state(network)
    return ([view.copy() for view in network.parameters().values()]
            + [state[key] for key in sorted(state)])


def set_arrays(network, arrays) -> None:
    """Load arrays made by :func:`get_arrays` (from any client of the same model)."""
    views = list(network.parameters().values())
    state = model_state(network)
    keys = sorted(state)
    if len(arrays) != len(views) + len(keys):
        raise ParameterError(
            f"Flower sent {len(arrays)} arrays, but this model has {len(views)} parameter "
            f"arrays and {len(keys)} state arrays; every client must hold the same model."
        )
    for view, array in zip(views, arrays[:len(views)], strict=True):
        if view.shape != np.shape(array):
            raise ParameterError(
                f"Flower sent an array of shape {np.shape(array)} where this model has "
                f"{view.shape}; every client must hold the same model."
            )
        view[...] = array
    set_model_state(network, dict(zip(keys, arrays[len(views):], strict=True)))


class SteepestClient(NumPyClient):
    """A Flower ``NumPyClient`` that trains a steepest estimator on its own data.

    Parameters
    ----------
    estimator : steepest estimator
        The model (cloned, then started on ``X``'s shapes and ``classes``).
    X, y : array-like
        This client's data.
    local_epochs : int, default=1
    local_batch_size : int or None, default=10
    classes : array-like, optional
        Every label of the federation (classifiers); default: the labels in ``y``,
        right only when this client holds every class.
    client_id : int, default=0
        This client's index: with ``random_state``, it seeds its batch orders.
    random_state : int, default=0
        The federation's seed (the in-process strategy's ``random_state``).

    Attributes
    ----------
    estimator_ : steepest estimator
        The client's model; after :meth:`set_parameters`, an ordinary fitted model.
    """

    def __init__(self, estimator, X, y, local_epochs: int = 1,
                 local_batch_size: int | None = 10, *, classes=None, client_id: int = 0,
                 random_state: int = 0) -> None:
        model = clone(estimator)
        if isinstance(model, ClassifierMixin) and classes is None:
            classes = np.unique(np.asarray(y))
        model._prepare(X, y, classes=classes)
        model.n_iter_, model.history_ = 0, {}
        self.estimator_ = model
        self.training = LocalTraining(model, local_epochs, local_batch_size)
        self.data = self.training.prepare(X, y)
        self.client_id, self.random_state = int(client_id), int(random_state)
        self._fits = 0

    def get_parameters(self, config) -> list[np.ndarray]:
        """The current global model's arrays (see :func:`get_arrays`)."""
        return get_arrays(self.estimator_._network)

    def set_parameters(self, parameters) -> None:
        """Make ``estimator_`` the model Flower sent."""
        set_arrays(self.estimator_._network, parameters)

    def fit(self, parameters, config):
        """Train locally from the global ``parameters``; returns (arrays, n_k, metrics)."""
        self.set_parameters(parameters)
        network = self.estimator_._network
        round_ = int(config.get("server_round", self._fits + 1)) - 1
        self._fits += 1
        mu = config.get("proximal_mu")
        update = self.training.run(network.theta.copy(), *self.data,
                                   client_generator(self.random_state, self.client_id, round_),
                                   state=model_state(network),
                                   mu=None if mu is None else float(mu))
        trained = self.training.network
        return get_arrays(trained), update.n_samples, {"loss": float(update.loss)}

    def evaluate(self, parameters, config):
        """The global model's loss and score on this client's data."""
        from steepest import losses

        self.set_parameters(parameters)
        model = self.estimator_
        X, y = self.data
        outputs = model._network.forward(X, training=False)
        loss = float(losses.get(model._loss).value(y, outputs))
        return loss, int(X.shape[0]), {"score": float(model._validation_score(y, outputs))}
