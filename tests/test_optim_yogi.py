"""Yogi's rule on hand-computed steps (it is not in torch.optim, so there is no stored
trajectory); its state, dtypes and errors are covered with the others in test_optim.py."""

from __future__ import annotations

import numpy as np
import pytest

from steepest import optim
from steepest.errors import ParameterError


def test_two_steps_by_hand():
    opt = optim.Yogi(lr=0.1, betas=(0.9, 0.99), eps=1e-3)
    theta = np.array([1.0, -2.0])
    opt.step(theta, np.array([0.5, -1.0]))
    # m = 0.1 g = (0.05, -0.1); v = 0 - 0.01 g² sign(0 - g²) = 0.01 g² = (0.0025, 0.01)
    expected = np.array([1.0 - 0.1 * 0.05 / (0.05 + 1e-3), -2.0 + 0.1 * 0.1 / (0.1 + 1e-3)])
    np.testing.assert_allclose(theta, expected, rtol=1e-15)
    opt.step(theta, np.array([0.0, 2.0]))
    # m = 0.9 m + 0.1 g = (0.045, 0.11); v₀: g² = 0 leaves 0.0025; v₁: 0.01 + 0.01·4 = 0.05
    expected -= 0.1 * np.array([0.045 / (0.05 + 1e-3), 0.11 / (np.sqrt(0.05) + 1e-3)])
    np.testing.assert_allclose(theta, expected, rtol=1e-14)
    state = opt.state_dict()
    np.testing.assert_allclose(state["exp_avg"], [0.045, 0.11], rtol=1e-14)
    np.testing.assert_allclose(state["exp_avg_sq"], [0.0025, 0.05], rtol=1e-14)


def test_second_moment_falls_additively_not_multiplicatively():
    """From v = 1 and g² = 0.25 Yogi's v falls by (1 - β₂) g² = 0.0025 (Adam's by 0.0075)."""
    opt = optim.Yogi(lr=0.5, betas=(0.0, 0.99), eps=0.0, initial_accumulator_value=1.0)
    theta = np.array([3.0])
    opt.step(theta, np.array([0.5]))
    np.testing.assert_allclose(opt.state_dict()["exp_avg_sq"], [0.9975], rtol=1e-15)
    np.testing.assert_allclose(theta, [3.0 - 0.5 * 0.5 / np.sqrt(0.9975)], rtol=1e-15)


def test_weight_decay_and_maximize_change_the_gradient_it_sees():
    decayed = optim.Yogi(lr=0.1, weight_decay=0.5)
    theta = np.array([2.0])
    decayed.step(theta, np.array([1.0]))  # g = 1 + 0.5·2 = 2
    np.testing.assert_allclose(decayed.state_dict()["exp_avg"], [0.2], rtol=1e-15)
    ascending = optim.Yogi(lr=0.1, maximize=True)
    theta = np.array([2.0])
    ascending.step(theta, np.array([1.0]))
    assert theta[0] > 2.0


def test_registry_and_bad_values():
    assert isinstance(optim.get("yogi", lr=0.01), optim.Yogi)
    assert "yogi" in optim.names()
    with pytest.raises(ParameterError, match="initial_accumulator_value"):
        optim.Yogi(initial_accumulator_value=-1.0)
    with pytest.raises(ParameterError, match="betas"):
        optim.Yogi(betas=(0.9, 1.0))
