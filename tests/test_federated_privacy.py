"""DP-FedAvg: the clipped, noised sum, and the privacy spent from dp-accounting."""

from __future__ import annotations

import numpy as np
import pytest

dp_accounting = pytest.importorskip("dp_accounting")

from dp_accounting.rdp import RdpAccountant  # noqa: E402

from steepest import MLPClassifier  # noqa: E402
from steepest.errors import ParameterError  # noqa: E402
from steepest.federated import DPFedAvg, FedAvg, partition  # noqa: E402


def clients(n_clients=4):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40 * n_clients, 3))
    y = (X[:, 0] > 0).astype(int)
    return partition(X, y, n_clients, random_state=0)  # equal sizes


def model():
    return MLPClassifier((5,), optimizer="sgd", lr=0.1, random_state=0)


def test_without_noise_or_clipping_it_is_fedavg_of_equal_clients():
    common = {"fraction": 1.0, "local_epochs": 2, "random_state": 1}
    dp = DPFedAvg(model(), clip_norm=1e9, noise_multiplier=0.0, **common).fit(clients(), 3)
    avg = FedAvg(model(), **common).fit(clients(), 3)
    np.testing.assert_allclose(dp.estimator_._network.theta, avg.estimator_._network.theta,
                               rtol=1e-12, atol=1e-14)
    assert dp.history_["clipped"] == [0, 0, 0]
    assert dp.history_["epsilon"] == [float("inf")] * 3


def test_clipped_updates_move_the_model_at_most_the_clip_norm():
    start = FedAvg(model(), fraction=1.0, client_timeout=1e-12, random_state=0).fit(
        clients(), 1).estimator_._network.theta  # every client dropped: the start
    dp = DPFedAvg(model(), clip_norm=0.01, noise_multiplier=0.0, fraction=1.0,
                  random_state=0).fit(clients(), 1)
    step = np.linalg.norm(dp.estimator_._network.theta - start)
    assert 0.0 < step <= 0.01 * (1 + 1e-12)
    assert dp.history_["clipped"] == [4]


def test_noise_has_the_stated_scale():
    quiet = DPFedAvg(model(), clip_norm=0.5, noise_multiplier=0.0, fraction=0.5,
                     random_state=3).fit(clients(8), 1)
    noisy = DPFedAvg(model(), clip_norm=0.5, noise_multiplier=2.0, fraction=0.5,
                     random_state=3).fit(clients(8), 1)
    noise = (noisy.estimator_._network.theta - quiet.estimator_._network.theta) * 4  # m = 4
    assert noise.std() == pytest.approx(2.0 * 0.5, rel=0.25)  # 41 draws of N(0, (σS)²)


def test_epsilon_is_the_accountants_for_the_rounds_run():
    dp = DPFedAvg(model(), noise_multiplier=1.1, delta=1e-5, fraction=0.25,
                  random_state=0).fit(clients(8), 4)
    epsilons = dp.history_["epsilon"]
    assert all(a < b for a, b in zip(epsilons[:-1], epsilons[1:], strict=True))
    accountant = RdpAccountant(
        neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    accountant.compose(dp_accounting.SampledWithoutReplacementDpEvent(
        8, 2, dp_accounting.GaussianDpEvent(1.1)), 4)
    assert dp.epsilon_ == pytest.approx(accountant.get_epsilon(1e-5), rel=1e-12)


def test_bad_settings():
    for kwargs, name in (({"clip_norm": 0.0}, "clip_norm"), ({"delta": 1.0}, "delta"),
                         ({"noise_multiplier": -1.0}, "noise_multiplier")):
        with pytest.raises(ParameterError, match=name):
            DPFedAvg(model(), **kwargs).fit(clients(), 1)
    with pytest.raises(ParameterError, match="BatchNorm"):
        DPFedAvg(MLPClassifier((4,), batch_norm=True)).fit(clients(), 1)
