"""The fused kernels (steepest.optim._kernels) against the NumPy rules they replace.

The NumPy rule is the reference, as torch tests its foreach and fused paths
against its for-loop one. The kernels compute the same operations in the same
order in the arrays' dtype, with no fused multiply-adds, so they are held to bit
equality: parameters and every state array, float64 and float32 alike (the test
data stay clear of denormals, which the kernels flush to zero).
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import numpy as np
import pytest
from test_optim_reference import ARRAYS, MANIFEST, TOLERANCE, replay

from steepest import optim
from steepest.errors import NonFiniteError
from steepest.optim import _kernels

# Every rule with every option that changes its kernel's path: decay (coupled and
# decoupled), maximize, amsgrad, nesterov, dampening, centered, momentum, betas whose
# 1 - beta1 takes lerp's other form, and a schedule.
CONFIGS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01,
             "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.5, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.9), "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
              "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.05, "betas": (0.2, 0.99), "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("RAdam", {"lr": 0.05, "betas": (0.4, 0.999), "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": (0.3, 0.9), "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": lambda t: 0.05 * 0.8**t}),
]
IDS = [f"{name}{ {k: 'schedule' if callable(v) else v for k, v in kwargs.items()} }"
       for name, kwargs in CONFIGS]
DTYPES = [np.float64, np.float32]
STEPS = 10  # past step 6, where RAdam starts rectifying


def problem(size: int, dtype, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """A start and STEPS gradients over many magnitudes, with zeros of both signs."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=size)
    theta[::7] = 0.0
    grads = []
    for _ in range(STEPS):
        g = rng.normal(size=size) * 10.0 ** rng.uniform(-4, 2, size)
        g[::11] = 0.0
        g[5::11] = -0.0
        grads.append(g.astype(dtype))
    return theta.astype(dtype), grads


def run(name: str, kwargs: dict, theta: np.ndarray, grads: list[np.ndarray],
        fused_min_size: int | None) -> tuple[np.ndarray, dict]:
    opt = optim.get(name, **kwargs)
    opt.fused_min_size = fused_min_size
    for grad in grads:
        opt.step(theta, grad)
    return theta, opt.state_dict()


def assert_bitwise_equal(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Equal to the last bit (so +0.0 differs from -0.0); the ulps apart otherwise."""
    got, expected = np.atleast_1d(got), np.atleast_1d(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    as_int = np.dtype(f"int{got.dtype.itemsize * 8}")
    differ = got.view(as_int) != expected.view(as_int)
    if differ.any():
        ulps = np.abs(got.view(as_int)[differ].astype(float) - expected.view(as_int)[differ])
        raise AssertionError(f"{what}: {differ.sum()} of {got.size} entries differ, by up to "
                             f"{ulps.max():.0f} ulp (first at index {np.flatnonzero(differ)[0]})")


class Tagged(np.ndarray):
    """An ndarray subclass."""


def uses_kernels(opt: optim.Optimizer, theta: np.ndarray, grad: np.ndarray) -> bool:
    return opt._kernels(theta, grad) is not None


@pytest.fixture(params=[1, 3], ids=["1-thread", "3-threads"])
def threads(request, monkeypatch):
    """Every fused step on this many threads, however short the vector (parts of any
    length, remainders included)."""
    from numba import config

    from steepest.optim import _kernels

    monkeypatch.setattr(_kernels, "PARALLEL_MIN_SIZE", 0)
    monkeypatch.setattr(config, "NUMBA_NUM_THREADS", request.param)
    return request.param


# -- the fused path computes what the NumPy rule computes -----------------------------------


@pytest.mark.parametrize("size", [1, 1031, 40_009])  # odd: vector and thread remainders
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_fused_path_equals_the_numpy_rule_bit_for_bit(name, kwargs, dtype, size, threads):
    theta0, grads = problem(size, dtype)
    reference, reference_state = run(name, kwargs, theta0.copy(), grads, None)
    fused, fused_state = run(name, kwargs, theta0.copy(), grads, 0)
    assert_bitwise_equal(fused, reference, "theta")
    assert fused_state.keys() == reference_state.keys()
    for key, value in reference_state.items():
        if key != "step":
            assert_bitwise_equal(fused_state[key], value, key)


def test_a_long_vector_is_cut_into_one_part_per_thread(threads, monkeypatch):
    from steepest.optim import _kernels

    parts = []
    kernel = _kernels._sgd
    monkeypatch.setattr(_kernels, "_sgd",
                        lambda theta, *rest: parts.append(theta.size) or kernel(theta, *rest))
    theta = np.zeros(1000)
    opt = optim.SGD(lr=0.1, momentum=0.9)
    opt.fused_min_size = 0
    opt.step(theta, np.ones_like(theta))
    assert sum(parts) == 1000 and len(parts) == threads
    assert sum(size % 64 != 0 for size in parts) <= 1  # the last part takes the rest
    np.testing.assert_array_equal(theta, -0.1)


def test_ctrl_c_while_waiting_returns_only_when_every_part_is_done(monkeypatch):
    import threading

    from numba import config

    from steepest.optim import _kernels

    monkeypatch.setattr(_kernels, "PARALLEL_MIN_SIZE", 0)
    monkeypatch.setattr(config, "NUMBA_NUM_THREADS", 2)
    release, done = threading.Event(), []

    def kernel(part):  # the second part waits until the first has been interrupted
        if part[0] > 0:
            release.wait(5)
            done.append(part[0])

    real_wait = _kernels.wait

    def interrupted_wait(futures):
        monkeypatch.setattr(_kernels, "wait", real_wait)
        release.set()
        raise KeyboardInterrupt

    monkeypatch.setattr(_kernels, "wait", interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        _kernels._split(kernel, 1, np.arange(1000.0))
    assert done == [448.0]  # the other thread's part had finished when Ctrl-C surfaced


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_fused_and_numpy_steps_can_alternate(name, kwargs):
    """Either path continues the other's state: switching leaves the trajectory as it was."""
    theta0, grads = problem(4099, np.float32, seed=1)
    reference, _ = run(name, kwargs, theta0.copy(), grads, None)
    opt, theta = optim.get(name, **kwargs), theta0.copy()
    for t, grad in enumerate(grads):
        opt.fused_min_size = 0 if t % 3 else None
        opt.step(theta, grad)
    assert_bitwise_equal(theta, reference, "theta")


def test_multidimensional_c_contiguous_parameters_are_fused_and_seen_flat():
    theta0, grads = problem(64 * 257, np.float32, seed=2)
    flat, _ = run("Adam", {"lr": 0.05}, theta0.copy(), grads, None)
    opt, theta = optim.Adam(lr=0.05), theta0.reshape(64, 257).copy()
    opt.fused_min_size = 0
    assert uses_kernels(opt, theta, grads[0].reshape(64, 257))
    for grad in grads:
        opt.step(theta, grad.reshape(64, 257))
    assert_bitwise_equal(theta.reshape(-1), flat, "theta")


def test_an_empty_vector_is_a_no_op_on_the_fused_path():
    opt, theta = optim.Adam(), np.zeros(0, np.float32)
    opt.fused_min_size = 0
    opt.step(theta, np.zeros(0, np.float32))
    assert opt.steps == 1


# -- which path a step takes --------------------------------------------------------------


def test_the_default_threshold_keeps_small_vectors_on_numpy():
    opt = optim.Adam()
    limit = optim.Optimizer.fused_min_size
    assert limit == 2**14
    small, large = np.zeros(limit - 1), np.zeros(limit)
    assert not uses_kernels(opt, small, np.ones_like(small))
    assert uses_kernels(opt, large, np.ones_like(large))
    opt.fused_min_size = None
    assert not uses_kernels(opt, large, np.ones_like(large))


@pytest.mark.parametrize("case", [
    "strided", "fortran", "float16", "aliased", "subclass", "noncontiguous state"])
def test_arrays_a_kernel_cannot_take_go_to_the_numpy_rule(case):
    n = 2**15
    theta, grad = np.zeros(n), np.ones(n)
    opt = optim.Adam(lr=0.1)
    opt.fused_min_size = 0
    if case == "strided":
        theta, grad = np.zeros(2 * n)[::2], np.ones(2 * n)[::2]
    elif case == "fortran":
        theta, grad = np.zeros((128, n // 128), order="F"), np.ones((128, n // 128), order="F")
    elif case == "float16":
        theta, grad = theta.astype(np.float16), grad.astype(np.float16)
    elif case == "aliased":
        grad = theta
    elif case == "subclass":  # it may override ufuncs, which a kernel would bypass
        theta = theta.view(Tagged)
    elif case == "noncontiguous state":
        opt.step(theta, grad)
        opt._state = {k: np.zeros(2 * n)[::2] for k in opt._state}
    assert not uses_kernels(opt, theta, grad)
    before = theta.copy()
    opt.step(theta, grad)  # and the NumPy rule does the work
    assert not np.array_equal(theta, before) or case == "aliased"


# -- a bad gradient changes nothing ---------------------------------------------------------


@pytest.mark.parametrize(("dtype", "bad"), [(np.float64, np.nan), (np.float32, np.inf),
                                            (np.float32, -np.inf)],
                         ids=["float64-nan", "float32-inf", "float32-minus-inf"])
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_non_finite_gradient_leaves_theta_and_state_unchanged_on_the_fused_path(
        name, kwargs, dtype, bad, threads):
    theta, grads = problem(20_011, dtype, seed=3)
    opt = optim.get(name, **kwargs)
    opt.fused_min_size = 0
    for grad in grads[:3]:
        opt.step(theta, grad)
    before_theta, before_state = theta.copy(), opt.state_dict()
    grad = grads[3].copy()
    grad[-1] = bad  # the last element: the loop's scalar remainder
    assert uses_kernels(opt, theta, grad)
    message = rf"1 non-finite entry \(first at index {grad.size - 1}: "
    with pytest.raises(NonFiniteError, match=message):
        opt.step(theta, grad)
    assert_bitwise_equal(theta, before_theta, "theta")
    assert opt.steps == 3
    for key, value in opt.state_dict().items():
        assert_bitwise_equal(np.asarray(value), np.asarray(before_state[key]), key)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_count_nonfinite_finds_every_bad_entry(dtype, threads):
    from steepest.optim._kernels import count_nonfinite

    rng = np.random.default_rng(4)
    for size in (1, 15, 16, 17, 1000, 2**16 + 1):
        grad = rng.normal(size=size).astype(dtype)
        grad[0] = np.finfo(dtype).max  # large but finite: a sum would overflow
        assert count_nonfinite(grad) == 0
        where = rng.choice(size, size=min(size, 3), replace=False)
        grad[where] = [np.nan, np.inf, -np.inf][: where.size]
        assert count_nonfinite(grad) == where.size


@pytest.mark.skipif(not _kernels._X86, reason="the kernels flush denormals on x86 only")
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_denormals_are_flushed_in_the_kernels_and_only_there(dtype, threads):
    tiny = np.finfo(dtype).tiny  # the smallest normal number
    theta, grad = np.ones(2000, dtype), np.zeros(2000, dtype)
    opt = optim.SGD(lr=0.1, momentum=0.5)
    opt.fused_min_size = 0
    opt.load_state_dict({"step": 1, "momentum_buffer": np.full(2000, 1.5 * tiny, dtype)})
    opt.step(theta, grad)  # the buffer decays below tiny: flushed to zero
    assert np.all(opt.state_dict()["momentum_buffer"] == 0)
    np.testing.assert_array_equal(theta, 1.0)
    # the caller's floating-point state is as it was: NumPy still makes denormals
    assert np.array(1.5 * tiny, dtype) * dtype(0.5) > 0
    reference = optim.SGD(lr=0.1, momentum=0.5)
    reference.fused_min_size = None
    reference.load_state_dict({"step": 1, "momentum_buffer": np.full(2000, 1.5 * tiny, dtype)})
    reference.step(np.ones(2000, dtype), grad)
    assert np.all(reference.state_dict()["momentum_buffer"] == dtype(1.5 * tiny) * dtype(0.5))


# -- the torch trajectories hold on the fused path --------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", MANIFEST["cases"],
                         ids=lambda c: f"{c['id']}{c['kwargs']}{c.get('schedule', '')}")
def test_torch_trajectory_holds_on_the_fused_path(case, dtype, monkeypatch):
    monkeypatch.setattr(optim.Optimizer, "fused_min_size", 0)
    paths = []
    choose = optim.Optimizer._kernels
    monkeypatch.setattr(optim.Optimizer, "_kernels",
                        lambda self, *arrays: paths.append(choose(self, *arrays)) or paths[-1])
    expected = ARRAYS[f"{case['id']}/{dtype}/thetas"]
    got = replay(case, dtype)
    assert paths and None not in paths
    scale = np.maximum(np.abs(expected), 1.0)
    worst = np.max(np.abs(got - expected) / scale)
    assert worst <= TOLERANCE[dtype], f"largest relative difference {worst:.3g}"
    monkeypatch.setattr(optim.Optimizer, "fused_min_size", None)
    assert_bitwise_equal(got, replay(case, dtype), "the NumPy rule's trajectory")


# -- imports and processes --------------------------------------------------------------------


def test_importing_steepest_does_not_import_numba():
    code = ("import sys, steepest, steepest.optim; from steepest import optim; "
            "optim.Adam().step(__import__('numpy').zeros(3), __import__('numpy').ones(3)); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _fused_step_in_child(queue) -> None:
    opt, theta = optim.Adam(lr=0.1), np.zeros(2**15, np.float32)
    opt.step(theta, np.ones_like(theta))
    queue.put(float(theta[0]))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_forked_after_a_fused_step_can_still_step(threads):
    # A forked child (a multiprocessing pool) steps on the fused path like its parent: the
    # parent's pool of threads is not copied by fork, and the child makes its own.
    opt, theta = optim.Adam(lr=0.1), np.zeros(2**15, np.float32)
    opt.step(theta, np.ones_like(theta))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_fused_step_in_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == float(theta[0])
