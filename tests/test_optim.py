"""Behaviour of steepest.optim beyond the torch trajectories: state, dtypes, schedules, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from steepest import optim
from steepest.errors import NonFiniteError, ParameterError, StateError

# One table of configurations drives the tests below: every optimizer, with the
# options that add state (momentum buffers, amsgrad maxima, centered averages).
CONFIGS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adadelta", {"weight_decay": 0.01}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05}),
    ("Yogi", {"lr": 0.05, "initial_accumulator_value": 1e-6, "weight_decay": 0.01}),
]
IDS = [f"{name}{kwargs}" for name, kwargs in CONFIGS]


def gradient(theta: np.ndarray) -> np.ndarray:
    """A nonlinear gradient field, so that trajectories depend on every earlier step."""
    return (np.linspace(0.5, 3.0, theta.size, dtype=theta.dtype) * theta
            + np.sin(3 * theta) + theta.dtype.type(0.3))


def run(opt: optim.Optimizer, theta: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        opt.step(theta, gradient(theta))
    return theta


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_resume_from_state_dict_is_bit_identical(name, kwargs):
    start = np.random.default_rng(0).normal(size=50)
    uninterrupted = run(optim.get(name, **kwargs), start.copy(), 40)

    first = optim.get(name, **kwargs)
    theta = run(first, start.copy(), 17)
    # Through the file format checkpoints use: safetensors holds only arrays.
    blob = save_safetensors({k: np.asarray(v) for k, v in first.state_dict().items()})
    second = optim.get(name, **kwargs)
    second.load_state_dict(load_safetensors(blob))
    assert second.steps == 17
    np.testing.assert_array_equal(run(second, theta, 23), uninterrupted)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_is_a_copy(name, kwargs):
    opt = optim.get(name, **kwargs)
    theta = run(opt, np.ones(4), 3)
    saved = opt.state_dict()
    run(opt, theta, 3)
    fresh = optim.get(name, **kwargs)
    fresh.load_state_dict(saved)
    assert fresh.steps == 3
    for key, value in saved.items():
        if key != "step":
            assert not np.shares_memory(value, fresh.state_dict()[key])


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_dtype_is_preserved(name, kwargs, dtype):
    opt = optim.get(name, **kwargs)
    theta = run(opt, np.full(8, 0.5, dtype=dtype), 5)
    assert theta.dtype == dtype
    assert np.all(np.isfinite(theta))
    for key, value in opt.state_dict().items():
        if key != "step":
            assert value.dtype == dtype, key


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_grad_is_left_untouched(name, kwargs):
    opt = optim.get(name, **kwargs)
    theta, grad = np.ones(6), np.linspace(-1, 1, 6)
    before = grad.copy()
    opt.step(theta, grad)
    opt.step(theta, grad)
    np.testing.assert_array_equal(grad, before)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_maximize_is_minimizing_the_negated_gradient(name, kwargs):
    up, down = optim.get(name, maximize=True, **kwargs), optim.get(name, **kwargs)
    a, b = np.linspace(-1, 1, 7), np.linspace(-1, 1, 7)
    for _ in range(5):
        up.step(a, -gradient(a))
        down.step(b, gradient(b))
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_schedule_is_called_with_the_update_count(name, kwargs):
    rates = [kwargs.get("lr", 1.0) * 0.9**t for t in range(6)]
    calls = []

    def schedule(t):
        calls.append(t)
        return rates[t]

    scheduled = optim.get(name, **{**kwargs, "lr": schedule})
    theta_scheduled = np.linspace(-1, 1, 5)
    theta_manual = theta_scheduled.copy()
    manual = optim.get(name, **kwargs)
    for t in range(6):
        scheduled.step(theta_scheduled, gradient(theta_scheduled))
        manual.lr = rates[t]
        manual.step(theta_manual, gradient(theta_manual))
    assert calls == list(range(6))
    np.testing.assert_array_equal(theta_scheduled, theta_manual)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_non_finite_gradient_is_refused_and_nothing_changes(name, kwargs):
    opt = optim.get(name, **kwargs)
    theta = run(opt, np.ones(5), 2)
    before_theta, before_state = theta.copy(), opt.state_dict()
    grad = np.ones(5)
    grad[3] = np.nan
    with pytest.raises(NonFiniteError, match=r"1 non-finite entry \(first at index 3: nan\)"):
        opt.step(theta, grad)
    np.testing.assert_array_equal(theta, before_theta)
    assert opt.steps == 2
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(value, before_state[key])


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, len(CONFIGS) - 1),
    theta=hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(max_dims=3),
                     elements=st.floats(-1e3, 1e3, width=32)),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_shape_and_finite_values_give_finite_parameters(index, theta, seed):
    name, kwargs = CONFIGS[index]
    opt = optim.get(name, **kwargs)
    grad = np.random.default_rng(seed).normal(size=theta.shape).astype(theta.dtype)
    theta_before = theta.copy()
    opt.step(theta, grad)
    assert theta.shape == theta_before.shape and theta.dtype == theta_before.dtype
    assert np.all(np.isfinite(theta))


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_repr_reads_like_the_call(name, kwargs):
    opt = optim.get(name, **kwargs)
    rebuilt = eval(repr(opt), {**vars(optim)})  # noqa: S307 - our own repr
    assert repr(rebuilt) == repr(opt)
    assert repr(opt).startswith(f"{name}(")


def test_repr_shows_only_what_differs_from_the_defaults():
    assert repr(optim.Adam()) == "Adam()"
    assert repr(optim.SGD(lr=0.1, momentum=0.9)) == "SGD(lr=0.1, momentum=0.9)"
    assert repr(optim.AdamW(weight_decay=0.1)) == "AdamW(weight_decay=0.1)"


def test_get_is_case_insensitive_and_passes_hyperparameters():
    opt = optim.get("AdamW", lr=0.5, betas=(0.8, 0.9))
    assert isinstance(opt, optim.AdamW) and opt.lr == 0.5 and opt.betas == (0.8, 0.9)


def test_unknown_name_lists_the_valid_ones_and_the_closest():
    with pytest.raises(ParameterError) as error:
        optim.get("adma")
    assert str(error.value) == (
        "Unknown optimizer 'adma'. Valid names are: adadelta, adagrad, adam, adamax, adamw, "
        "nadam, radam, rmsprop, sgd, yogi. Did you mean 'adam'?"
    )


@pytest.mark.parametrize(("call", "message"), [
    (lambda: optim.Adam(lr=-0.1),
     "The 'lr' parameter of Adam must be a float in the range [0.0, inf). Got -0.1 instead."),
    (lambda: optim.Adam(betas=(0.9, 1.0)),
     "The 'betas[1]' parameter of Adam must be a float in the range [0.0, 1.0). "
     "Got 1.0 instead."),
    (lambda: optim.SGD(lr=0.1, nesterov=True),
     "SGD with nesterov=True needs momentum > 0 and dampening == 0; got momentum=0.0 and "
     "dampening=0.0. Set momentum (e.g. 0.9) and dampening=0, or nesterov=False."),
    (lambda: optim.Adadelta(rho=1.5),
     "The 'rho' parameter of Adadelta must be a float in the range [0.0, 1.0]. "
     "Got 1.5 instead."),
    (lambda: optim.RMSprop(lr="fast"),
     "The 'lr' parameter of RMSprop must be a float in the range [0.0, inf). "
     "Got 'fast' of type str instead."),
])
def test_bad_hyperparameters_are_refused_with_one_sentence(call, message):
    with pytest.raises(ParameterError) as error:
        call()
    assert str(error.value) == message


def test_step_refuses_mismatched_arrays():
    opt = optim.Adam()
    with pytest.raises(ParameterError, match=r"theta is float32\[3\], grad is float64\[3\]"):
        opt.step(np.zeros(3, np.float32), np.zeros(3))
    with pytest.raises(ParameterError, match="NumPy array of floats; got list"):
        opt.step([0.0, 1.0], np.zeros(2))
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ParameterError, match="one optimizer per parameter vector"):
        opt.step(np.zeros(4), np.ones(4))


def test_schedule_returning_a_bad_rate_is_named():
    opt = optim.SGD(lr=lambda t: -1.0)
    with pytest.raises(ParameterError, match="returned -1.0 at update 0"):
        opt.step(np.zeros(2), np.ones(2))


def test_load_state_dict_refuses_another_optimizers_state():
    adam = optim.Adam()
    adam.step(np.zeros(3), np.ones(3))
    with pytest.raises(StateError, match="Was it saved from another optimizer"):
        optim.RMSprop().load_state_dict(adam.state_dict())
    state = adam.state_dict()
    state["exp_avg"] = state["exp_avg"][:2]
    with pytest.raises(StateError, match=r"'exp_avg_sq' .* is float64\[3\]; expected float64\[2\]"):
        optim.Adam().load_state_dict(state)


def test_fresh_state_dict_round_trips():
    opt = optim.Adam()
    opt.load_state_dict(optim.Adam().state_dict())
    assert opt.steps == 0
    opt.step(np.zeros(2), np.ones(2))
    assert opt.steps == 1


def test_sgd_momentum_buffer_starts_at_the_first_gradient():
    # torch initialises the buffer with the first gradient, not with (1 - dampening)·g.
    opt = optim.SGD(lr=1.0, momentum=0.9, dampening=0.5)
    theta = np.zeros(2)
    opt.step(theta, np.array([1.0, -2.0]))
    np.testing.assert_array_equal(theta, [-1.0, 2.0])
    opt.step(theta, np.array([1.0, -2.0]))
    np.testing.assert_allclose(theta, [-1.0 - 1.4, 2.0 + 2.8])
