"""Gradient transforms: clipping by value and by global norm, and the finite guard."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steepest import optim
from steepest.errors import NonFiniteError, ParameterError
from steepest.transforms import check_finite, clip_by_global_norm, clip_by_value, global_norm

finite_vectors = hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(-1e6, 1e6))


def test_clip_by_global_norm_follows_torch():
    # torch.nn.utils.clip_grad_norm_ scales by max_norm / (norm + 1e-6) when that is < 1.
    grad = np.array([3.0, 4.0])
    assert clip_by_global_norm(grad, 1.0) == 5.0
    np.testing.assert_allclose(grad, np.array([3.0, 4.0]) / (5.0 + 1e-6))


def test_clip_by_global_norm_leaves_small_gradients_alone():
    grad = np.array([0.3, 0.4])
    assert clip_by_global_norm(grad, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grad, [0.3, 0.4])


@given(grad=finite_vectors, max_norm=st.floats(1e-3, 1e3))
def test_clipped_norm_never_exceeds_max_norm(grad, max_norm):
    before = grad.copy()
    norm = clip_by_global_norm(grad, max_norm)
    assert norm == pytest.approx(np.linalg.norm(before), rel=1e-12)
    assert np.linalg.norm(grad) <= max_norm * (1 + 1e-12)
    # Direction is kept: clipping only rescales.
    np.testing.assert_allclose(grad * max(norm, 1e-300), before * np.linalg.norm(grad),
                               rtol=1e-9, atol=1e-9 * np.abs(before * np.linalg.norm(grad)).max())


def test_clip_by_global_norm_other_norms():
    grad = np.array([-3.0, 1.0, 2.0])
    assert clip_by_global_norm(grad.copy(), 10.0, norm_type=math.inf) == 3.0
    assert clip_by_global_norm(grad.copy(), 10.0, norm_type=1.0) == 6.0
    assert global_norm(np.zeros(0)) == 0.0


def test_clip_by_global_norm_keeps_float32():
    grad = np.full(10, 2.0, dtype=np.float32)
    clip_by_global_norm(grad, 1.0)
    assert grad.dtype == np.float32
    assert np.linalg.norm(grad) == pytest.approx(1.0, rel=1e-6)


def test_clip_by_global_norm_can_refuse_non_finite():
    with pytest.raises(NonFiniteError, match="total gradient norm is inf"):
        clip_by_global_norm(np.array([np.inf, 1.0]), 1.0, error_if_nonfinite=True)


def test_clip_by_value():
    grad = np.array([-5.0, 0.5, 7.0])
    assert clip_by_value(grad, 1.0) is grad
    np.testing.assert_array_equal(grad, [-1.0, 0.5, 1.0])
    with pytest.raises(ParameterError, match="'clip_value' parameter of clip_by_value"):
        clip_by_value(grad, -1.0)


def test_check_finite_names_the_first_bad_entry():
    grad = np.array([1.0, 2.0, np.inf, np.nan])
    with pytest.raises(NonFiniteError) as error:
        check_finite(grad)
    assert str(error.value) == (
        "The gradient has 2 non-finite entries (first at index 2: inf). The loss has probably "
        "diverged: lower the learning rate, clip the gradient or scale the inputs."
    )


def test_check_finite_accepts_large_finite_values_whose_sum_overflows():
    grad = np.full(4, np.finfo(np.float64).max)
    assert check_finite(grad) is grad


def test_clip_by_global_norm_spreads_a_nan_norm_as_torch_does():
    # torch.nn.utils.clip_grad_norm_ multiplies by clamp(max_norm / (norm + 1e-6), max=1):
    # a NaN norm makes every entry NaN, an infinite one zeroes the finite entries
    grad = np.array([1.0, np.nan, -3.0])
    norm = clip_by_global_norm(grad, 1.0)
    assert math.isnan(norm) and np.isnan(grad).all()
    grad = np.array([np.inf, 2.0, -1.0])
    assert clip_by_global_norm(grad, 1.0) == math.inf
    assert math.isnan(grad[0]) and grad[1:].tolist() == [0.0, -0.0]


def test_a_nan_gradient_clipped_is_still_refused_by_the_step():
    grad = np.array([1.0, np.nan])
    clip_by_global_norm(grad, 1.0)
    theta = np.zeros(2)
    with pytest.raises(NonFiniteError):
        optim.SGD(lr=0.1).step(theta, grad)
    assert theta.tolist() == [0.0, 0.0]
