r"""The server's side: FedAvg, FedProx and FedOpt (FedAdam, FedYogi, FedAdagrad) on the flat θ.

::

    from steepest import MLPClassifier, optim
    from steepest.federated import FedAvg, FedProx, FedOpt, partition

    clients = partition(X, y, 100, scheme="shards", random_state=0)
    model = MLPClassifier((200, 200), optimizer="sgd", lr=0.05, random_state=0)
    fed = FedAvg(model, fraction=0.1, local_epochs=5, local_batch_size=10, random_state=0)
    fed.fit(clients, rounds=50, validation_data=(X_test, y_test))
    fed.score(X_test, y_test), fed.history_["val_score"]
    fed.estimator_.save("global.safetensors")

Round :math:`t` (McMahan et al. 2017; Li et al. 2020; Reddi et al. 2021):

1. draw :math:`m = \max(1, \operatorname{round}(C K))` of the :math:`K` clients
   without replacement (:math:`C` = ``fraction``);
2. each drawn client :math:`k` trains from :math:`\theta_t` for :math:`E` epochs of
   batch :math:`B` (:class:`~steepest.federated.client.LocalTraining`), FedProx with
   :math:`\frac{\mu}{2}\lVert\theta - \theta_t\rVert^2` added to its objective, and
   sends back :math:`\theta_k` and :math:`n_k`; a client that raises, diverges or
   times out is dropped from this round (``history_["dropped"]``);
3. the server averages, :math:`\bar\theta = \sum_k n_k \theta_k / \sum_k n_k` over
   the clients that answered, and steps: FedAvg and FedProx take
   :math:`\theta_{t+1} = \bar\theta`; FedOpt gives its optimizer the pseudo-gradient
   :math:`\Delta_t = \theta_t - \bar\theta` (``optimizer.step(θ_t, Δ_t)``), so
   ``FedOpt(model, optim.SGD(lr=1))`` is FedAvg (to rounding) and Adam, Yogi or
   Adagrad make FedAdam, FedYogi and FedAdagrad.

State beyond θ: BatchNorm's running statistics travel with θ and are averaged the
same way (size-weighted; FedOpt too, without its optimizer). Models with dropout,
feature scaling (``scale=True``: each client would standardise by its own
statistics) or a full-batch optimizer (``lbfgs``, ``newton``) are refused.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import ClassifierMixin, clone

from steepest import losses, optim
from steepest._validation import check_number
from steepest.errors import ParameterError
from steepest.federated.client import LocalTraining, model_state, set_model_state
from steepest.federated.runners import InProcessClients

__all__ = ["FedAdagrad", "FedAdam", "FedAvg", "FedOpt", "FedProx", "FedYogi", "weighted_mean"]

HISTORY_KEYS = ("round", "clients", "dropped", "loss", "val_loss", "val_score", "bytes",
                "time")


def weighted_mean(arrays, weights) -> np.ndarray:
    r""":math:`\sum_k n_k a_k / \sum_k n_k`, summed in the order given.

    Parameters
    ----------
    arrays : sequence of ndarray, all of one shape
    weights : sequence of int
        :math:`n_k > 0`, the clients' sample counts.

    Returns
    -------
    ndarray
        In the arrays' dtype (Flower's ``aggregate`` computes the same expression in
        the same order, so the two agree to the bit on the same inputs).
    """
    total = None
    for array, weight in zip(arrays, weights, strict=True):
        term = array * weight
        total = term if total is None else np.add(total, term, out=total)
    return total / sum(weights)


class FedAvg:
    """Federated averaging (McMahan et al., 2017): the clients' θ, weighted by their sizes.

    Parameters
    ----------
    estimator : steepest estimator
        The global model (a :class:`~steepest.MLPClassifier`, ...): its parameters
        (optimizer and ``lr`` of the local steps, penalty, clipping, ``random_state``
        for the starting θ) are used; it is cloned, never changed.
    fraction : float, default=0.1
        :math:`C`, the share of clients drawn each round (at least one).
    local_epochs : int or sequence of int, default=1
        :math:`E`; or one count per client (devices that do different amounts of
        work, the systems heterogeneity FedProx was made for).
    local_batch_size : int or None, default=10
        :math:`B`; ``None`` is each client's whole data (FedSGD with ``local_epochs=1``).
    client_timeout : float or None, default=None
        Seconds after which a client's update is dropped from its round.
    random_state : int, Generator or None, default=None
        Seeds the drawing of clients and every client's batch orders.

    Attributes
    ----------
    estimator_ : steepest estimator
        The global model after ``fit``, an ordinary fitted estimator (``predict``,
        ``score``, ``save``), its ``history_`` this one's.
    history_ : dict of lists
        Per round: ``round`` (from 1), ``clients`` (indices that answered),
        ``dropped`` (``[index, reason]`` pairs), ``loss`` (the answering clients'
        size-weighted mean local training loss), ``val_loss`` and ``val_score`` of
        the global model on ``validation_data`` (NaN without), ``bytes`` (parameters
        sent to and received from clients, in the model's dtype), ``time`` (s).
    """

    def __init__(self, estimator, fraction: float = 0.1, local_epochs=1,
                 local_batch_size: int | None = 10, *, client_timeout: float | None = None,
                 random_state=None) -> None:
        self.estimator = estimator
        self.fraction = fraction
        self.local_epochs = local_epochs
        self.local_batch_size = local_batch_size
        self.client_timeout = client_timeout
        self.random_state = random_state

    # -- what subclasses change -------------------------------------------------------

    _mu: float | None = None
    """FedProx's μ given to the clients (None: no proximal term)."""

    def _server_step(self, theta: np.ndarray, thetas: list, sizes: list) -> None:
        """θ_{t+1} from θ_t (in place) and the answering clients' θ_k and n_k."""
        theta[...] = weighted_mean(thetas, sizes)

    def _start_server(self, n_clients: int, per_round: int) -> None:
        """Reset the server's own state before the first round."""

    def _round_extras(self) -> dict:
        """More per-round entries of ``history_`` (none by default)."""
        return {}

    # -- fitting ------------------------------------------------------------------------

    def fit(self, clients, rounds: int, validation_data=None):
        """Run ``rounds`` rounds of federated training from the estimator's start.

        Parameters
        ----------
        clients : sequence of (X_k, y_k), or a client pool
            A list of the clients' data runs them in this process; a
            :class:`~steepest.federated.on_dask.DaskClients` runs them on Dask workers.
        rounds : int
        validation_data : (X_val, y_val), optional
            Scored with the global model after every round.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        check_number(rounds, "rounds", owner, low=1, integer=True)
        self._check_params()
        pool = clients if hasattr(clients, "train") else InProcessClients(
            clients, client_timeout=self.client_timeout)
        model = self._start_model(pool)
        validation = None if validation_data is None else model._check_validation(
            validation_data)
        epochs = self._epochs(len(pool.sizes))
        training = LocalTraining(model, 1, self.local_batch_size)
        pool.start(training)
        seed = self._seed()
        sampler = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
        network = model._network
        theta, n_clients = network.theta, len(pool.sizes)
        payload = theta.nbytes + sum(a.nbytes for a in model_state(network).values())
        m = max(1, round(self.fraction * n_clients))
        self._start_server(n_clients, m)
        history = {key: [] for key in HISTORY_KEYS}
        for round_ in range(rounds):
            start = time.perf_counter()
            selected = np.sort(sampler.choice(n_clients, size=m, replace=False)).tolist()
            updates, dropped = pool.train(theta.copy(), model_state(network), selected, round_,
                                          seed, self._mu, {k: epochs[k] for k in selected})
            answered = sorted(updates)
            if answered:
                sizes = [updates[k].n_samples for k in answered]
                self._server_step(theta, [updates[k].theta for k in answered], sizes)
                state = {key: weighted_mean([updates[k].state[key] for k in answered], sizes)
                         for key in updates[answered[0]].state}
                set_model_state(network, state)
                loss = float(np.dot(sizes, [updates[k].loss for k in answered]) / sum(sizes))
            else:
                loss = float("nan")
            val_loss, val_score = self._validate(model, validation)
            history["round"].append(round_ + 1)
            history["clients"].append(answered)
            history["dropped"].append([[k, dropped[k]] for k in sorted(dropped)])
            history["loss"].append(loss)
            history["val_loss"].append(val_loss)
            history["val_score"].append(val_score)
            history["bytes"].append(payload * (len(selected) + len(answered)))
            history["time"].append(time.perf_counter() - start)
            for key, value in self._round_extras().items():
                history.setdefault(key, []).append(value)
        model._check_finite_parameters()
        model.history_, model.n_iter_ = history, rounds
        self.estimator_, self.history_ = model, history
        return self

    def _start_model(self, pool):
        """The global model started on the shapes of the pool's data and every label."""
        model = clone(self.estimator)
        name = type(model).__name__
        if not hasattr(model, "_prepare"):
            raise ParameterError(
                f"{type(self).__name__} trains a steepest estimator (MLPClassifier, "
                f"LogisticRegression, ...); got {name}."
            )
        if model.scale:
            raise ParameterError(
                f"{type(self).__name__} cannot use {name}(scale=True): each client would "
                "standardise by its own statistics. Standardise the features before "
                "partitioning, and set scale=False."
            )
        if getattr(model, "dropout", 0) > 0:
            raise ParameterError(
                f"{type(self).__name__} does not support dropout yet (its masks' generators "
                f"are state beyond theta); use {name}(dropout=0.0)."
            )
        if isinstance(model.optimizer, str) and model.optimizer.lower() in ("lbfgs", "newton"):
            raise ParameterError(
                f"Clients take local steps with a first-order optimizer; "
                f"optimizer={model.optimizer!r} has none. Use 'sgd' (McMahan et al.) or 'adam'."
            )
        X, y = pool.template()
        classes = pool.labels() if isinstance(model, ClassifierMixin) else None
        model._prepare(X, y, classes=classes)
        return model

    def _validate(self, model, validation) -> tuple[float, float]:
        if validation is None:
            return float("nan"), float("nan")
        X_val, y_val = validation
        outputs = model._network.forward(X_val, training=False)
        return (float(losses.get(model._loss).value(y_val, outputs)),
                model._validation_score(y_val, outputs))

    def _epochs(self, n_clients: int) -> list[int]:
        """Each client's local epochs."""
        owner = type(self).__name__
        if not hasattr(self.local_epochs, "__len__"):
            check_number(self.local_epochs, "local_epochs", owner, low=1, integer=True)
            return [int(self.local_epochs)] * n_clients
        counts = list(self.local_epochs)
        if len(counts) != n_clients:
            raise ParameterError(
                f"The 'local_epochs' parameter of {owner} must be an int >= 1 or one int per "
                f"client ({n_clients}); got {self.local_epochs!r}."
            )
        for k, count in enumerate(counts):
            check_number(count, f"local_epochs[{k}]", owner, low=1, integer=True)
        return [int(c) for c in counts]

    def _seed(self) -> int:
        """One integer seed for the whole run (client draws and every batch order)."""
        if isinstance(self.random_state, np.random.Generator):
            return int(self.random_state.integers(2**63))
        if self.random_state is None:
            return int(np.random.SeedSequence().entropy)
        return int(self.random_state)

    def _check_params(self) -> None:
        owner = type(self).__name__
        check_number(self.fraction, "fraction", owner, low=0.0, high=1.0, closed="right")
        if self.local_batch_size is not None:
            check_number(self.local_batch_size, "local_batch_size", owner, low=1, integer=True)
        if self.client_timeout is not None:
            check_number(self.client_timeout, "client_timeout", owner, low=0.0,
                         closed="neither")

    # -- the fitted model ---------------------------------------------------------------

    def predict(self, X):
        """The global model's predictions (``estimator_.predict``)."""
        return self._fitted().predict(X)

    def score(self, X, y):
        """The global model's score (accuracy for classifiers, R² for regressors)."""
        return self._fitted().score(X, y)

    def _fitted(self):
        if not hasattr(self, "estimator_"):
            raise ParameterError(
                f"This {type(self).__name__} is not fitted yet; call fit(clients, rounds) first."
            )
        return self.estimator_

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.estimator!r}, fraction={self.fraction!r}, "
                f"local_epochs={self.local_epochs!r}, "
                f"local_batch_size={self.local_batch_size!r})")


class FedProx(FedAvg):
    r"""FedAvg whose clients add :math:`\frac{\mu}{2}\lVert\theta - \theta_t\rVert_2^2`
    (Li et al., 2020), the exact squared norm over all of θ.

    :math:`\mu = 0` is FedAvg to the bit. Parameters are FedAvg's, plus

    Parameters
    ----------
    mu : float, default=0.01
        :math:`\mu \ge 0`.
    """

    def __init__(self, estimator, mu: float = 0.01, fraction: float = 0.1,
                 local_epochs=1, local_batch_size: int | None = 10, *,
                 client_timeout: float | None = None, random_state=None) -> None:
        super().__init__(estimator, fraction, local_epochs, local_batch_size,
                         client_timeout=client_timeout, random_state=random_state)
        self.mu = mu

    @property
    def _mu(self) -> float:
        return float(self.mu)

    def _check_params(self) -> None:
        super()._check_params()
        check_number(self.mu, "mu", type(self).__name__, low=0.0)


class FedOpt(FedAvg):
    r"""A server optimizer on the pseudo-gradient :math:`\Delta_t = \theta_t - \bar\theta`
    (Reddi et al., 2021).

    Parameters are FedAvg's, plus

    Parameters
    ----------
    server_optimizer : Optimizer, default=Adam(lr=0.1, betas=(0.9, 0.99), eps=1e-3)
        Any :mod:`steepest.optim` rule; a fresh copy (same hyperparameters) is used
        by every ``fit``. ``SGD(lr=1)`` is FedAvg; the default is FedAdam's.

    Attributes
    ----------
    server_optimizer_ : Optimizer
        The copy that stepped, with its state after the last round.
    """

    def __init__(self, estimator, server_optimizer: optim.Optimizer | None = None,
                 fraction: float = 0.1, local_epochs=1,
                 local_batch_size: int | None = 10, *, client_timeout: float | None = None,
                 random_state=None) -> None:
        super().__init__(estimator, fraction, local_epochs, local_batch_size,
                         client_timeout=client_timeout, random_state=random_state)
        self.server_optimizer = server_optimizer

    def _start_server(self, n_clients: int, per_round: int) -> None:
        rule = self.server_optimizer or optim.Adam(lr=0.1, betas=(0.9, 0.99), eps=1e-3)
        if not isinstance(rule, optim.Optimizer):
            raise ParameterError(
                f"The 'server_optimizer' parameter of {type(self).__name__} must be a "
                f"steepest.optim optimizer such as optim.Adam(lr=0.1); got {rule!r}."
            )
        settings = {k: getattr(rule, k) for k in rule._hyperparameters}
        self.server_optimizer_ = type(rule)(**settings)

    def _server_step(self, theta: np.ndarray, thetas: list, sizes: list) -> None:
        self.server_optimizer_.step(theta, theta - weighted_mean(thetas, sizes))


class FedAdam(FedOpt):
    r"""FedOpt with :class:`~steepest.optim.Adam` (torch's bias correction and
    :math:`\epsilon` placement) at Reddi et al.'s settings: :math:`\eta = 0.1`,
    :math:`\beta = (0.9, 0.99)`, :math:`\tau = 10^{-3}` as ``eps``.

    Flower 1.42's ``FedAdam`` has the same :math:`\eta, \beta` but ``tau=1e-9``, adds
    :math:`\tau` before the bias correction and counts its steps from 2.
    """

    def __init__(self, estimator, lr: float = 0.1, betas: tuple[float, float] = (0.9, 0.99),
                 eps: float = 1e-3, **kwargs) -> None:
        super().__init__(estimator, optim.Adam(lr=lr, betas=betas, eps=eps), **kwargs)


class FedYogi(FedOpt):
    r"""FedOpt with :class:`~steepest.optim.Yogi` at Flower's ``FedYogi`` defaults:
    :math:`\eta = 10^{-2}`, :math:`\beta = (0.9, 0.99)`, :math:`\tau = 10^{-3}`
    (the same update as Flower's, without bias correction, from :math:`v_0 = 0`)."""

    def __init__(self, estimator, lr: float = 1e-2, betas: tuple[float, float] = (0.9, 0.99),
                 eps: float = 1e-3, **kwargs) -> None:
        super().__init__(estimator, optim.Yogi(lr=lr, betas=betas, eps=eps), **kwargs)


class FedAdagrad(FedOpt):
    r"""FedOpt with :class:`~steepest.optim.Adagrad` at Flower's ``FedAdagrad`` defaults:
    :math:`\eta = 0.1`, :math:`\tau = 10^{-9}` (Flower's update with :math:`\beta_1 = 0`:
    :math:`v \mathrel{+}= \Delta^2`, :math:`\theta \mathrel{-}= \eta\Delta/(\sqrt v + \tau)`)."""

    def __init__(self, estimator, lr: float = 0.1, eps: float = 1e-9, **kwargs) -> None:
        super().__init__(estimator, optim.Adagrad(lr=lr, eps=eps), **kwargs)
