"""Fused optimizer steps: one compiled pass over θ, the gradient and the state.

The NumPy rules (``_update`` in each optimizer's file, built from ``_ops``) are the
reference. Each of them makes one pass over memory per ufunc, 6 to 14 per step;
the kernels here read θ, the gradient and the state arrays once and write θ and
the state once, in one compiled loop.

Each kernel is a plain loop; :func:`_split` runs it on every core for long vectors
(``PARALLEL_MIN_SIZE``), each thread on its own contiguous part. The threads are a
pool of Python threads, and the kernels release the GIL (``nogil``): a waiting
thread sleeps on a lock instead of spinning. That is the point: Numba's own
``prange`` threads (OpenMP) keep spinning after each step and fought OpenBLAS's
threads in the next ``np.matmul`` (a 784-256-256-10 MLP epoch ran 7-12× slower,
BENCHMARKS.md). The elementwise rules give the same numbers however the vector is
cut. The pool is dropped in a forked child (its threads do not survive ``fork``)
and made again on first use.

Every kernel computes, element by element, the same operations in the same order
as its NumPy rule, with no contraction into fused multiply-adds and no
reassociation (``fastmath=False``), so it rounds as the reference does, with one
exception: the kernels run with denormal numbers (below about 1.2e-38 in float32,
2.2e-308 in float64) flushed to zero (x86's FTZ and DAZ flags, set for the call
and then put back). Wherever a gradient stays exactly zero (a dead ReLU unit, an
input pixel that is always 0) Adam's first moment decays by β₁ per step into that
range, and each operation on a denormal costs about a hundred cycles: a
784-256-256-10 MLP epoch at batch 32 ran 2.8× slower (5.4 s instead of 1.9 s on
60,000 samples). What is lost is below 1.2e-38 before the rules divide by a
√v + ε (ε of 1e-10 and more by default), so an update changes by less than 1e-28.

The Python wrappers compute nothing: the optimizer works out its scalars (step size,
bias corrections, NAdam's momentum schedule, RAdam's rectification branch) in
float64 exactly as the NumPy rule does, and the wrappers round them to the
arrays' dtype, as NumPy does when a Python float meets a float32 array, so that
float32 parameters are updated in float32 arithmetic (as torch does). Booleans
select branches; they are loop-invariant, and LLVM takes them out of the loop
before vectorising it.

Before the kernel, ``count_nonfinite`` reads the gradient once so that a NaN or
inf is refused before θ or the state is touched.

Importing this module imports Numba; the optimizers import it on their first
fused step. Compiling takes about a second per rule and dtype (10 to 15 s for all
of them, as the test suite does); the code is cached on disk (``cache=True``, in
``__pycache__`` beside this file), so only the first run after installing, editing
this file or upgrading Numba pays for it, and later processes load it in about
half a second.
"""

from __future__ import annotations

import os
import platform
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np
from llvmlite import ir
from numba import config, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

PARALLEL_MIN_SIZE = 2**20
"""Vectors of at least this many elements are split over ``NUMBA_NUM_THREADS`` threads
(the CPUs this process may use, unless that environment variable says otherwise).
Below it a step takes under ~0.3 ms on one core and handing out parts costs more
than it saves."""

_pool: ThreadPoolExecutor | None = None

# error_model="numpy": a division by zero gives inf or nan, as in NumPy, instead of
# raising, and the loop stays free of checks that would stop it vectorising.
_fused = njit(parallel=False, fastmath=False, cache=True, error_model="numpy", nogil=True)
_inline = njit(inline="always", fastmath=False, error_model="numpy")


# -- denormals: flushed to zero while a kernel runs ------------------------------------------
#
# x86's MXCSR register holds, per thread, the flags FTZ (flush results below the smallest
# normal number to zero) and DAZ (read such inputs as zero); 0x8040 sets both.

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
_FTZ_DAZ = 0x8040


def _mxcsr_call(builder, name: str, slot) -> None:
    """Call the LLVM intrinsic ``llvm.x86.sse.{st,ld}mxcsr`` on the 32-bit ``slot``."""
    pointer = ir.IntType(8).as_pointer()
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [pointer]), f"llvm.x86.sse.{name}")
    builder.call(function, [builder.bitcast(slot, pointer)])


@intrinsic
def _read_mxcsr(typingctx):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "stmxcsr", slot)
        return builder.zext(builder.load(slot), ir.IntType(64))
    return types.int64(), codegen


@intrinsic
def _write_mxcsr(typingctx, value):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(builder.trunc(args[0], ir.IntType(32)), slot)
        _mxcsr_call(builder, "ldmxcsr", slot)
        return context.get_dummy_value()
    return types.none(types.int64), codegen


if _X86:
    @_fused
    def _flush_denormals():
        old = _read_mxcsr()
        _write_mxcsr(old | _FTZ_DAZ)
        return old

    @_fused
    def _restore_mxcsr(old):
        _write_mxcsr(old)
else:  # elsewhere denormals are computed as they are, slowly where the CPU is slow at them
    def _flush_denormals():
        return 0

    def _restore_mxcsr(old):
        pass


@contextmanager
def denormals_flushed():
    """Run the block with this thread's denormals flushed to zero (on x86), then put the
    floating-point state back as it was."""
    old = _flush_denormals()
    try:
        yield
    finally:
        _restore_mxcsr(old)


def _flushed(kernel, *args):
    with denormals_flushed():
        return kernel(*args)


# -- element-wise pieces, in the operation order of steepest.optim._ops ------------------


@_inline
def _grad(t, g, weight_decay, decay, sign):
    """``prepared_grad``: ``±g``, or ``t·λ ± g`` when ``decay``.

    ``sign`` is -1 to maximize, else 1: multiplying by it is exact, as is negating, and
    ``d + (-g)`` is ``d - g`` in IEEE arithmetic.
    """
    g = g * sign
    return t * weight_decay + g if decay else g


@_inline
def _lerp(a, b, weight, low):
    """``lerp_``: ``a + (b - a)·w`` if ``low`` (w < 0.5) else ``b - (b - a)·(1 - w)``.

    ``weight`` is w or 1 - w accordingly, as the caller rounded it.
    """
    d = b - a
    return a + d * weight if low else b - d * weight


@_inline
def _penalized(g, w, l1, l2):
    """``g + ∂P/∂w`` as :class:`steepest.train.Penalty` adds it: ``+ w·l2``, then
    ``+ sign(w)·l1``, each skipped when 0."""
    if l2 != 0:
        g = g + w * l2
    if l1 != 0:
        g = g + np.sign(w) * l1
    return g


@_inline
def _average_square(avg, x, decay, one_minus_decay):
    """``addcmul_`` after a decay: ``avg·decay + (x·(1 − decay))·x`` (Adam's v, RMSprop's
    and Adadelta's square averages)."""
    return avg * decay + (x * one_minus_decay) * x


# -- the kernels ---------------------------------------------------------------------------


@_fused
def _count_nonfinite(x):
    # two halves read side by side: two streams from memory keep more reads in flight
    # than one (15.8 against 12.8 GB/s on one core here)
    half = x.size // 2
    n = 0
    for i in range(half):
        v, w = x[i], x[half + i]
        n += not (v - v == 0)  # inf - inf and nan - nan are nan, never 0
        n += not (w - w == 0)
    for i in range(2 * half, x.size):
        v = x[i]
        n += not (v - v == 0)
    return n


@_fused
def _add_penalty_gradient(weights, grad, l1, l2):
    for i in range(weights.size):
        grad[i] = _penalized(grad[i], weights[i], l1, l2)


@_fused
def _sgd(theta, grad, buf, weight_decay, decay, sign, momentum_on, first, momentum,
         one_minus_dampening, nesterov, neg_lr):
    for i in range(theta.size):
        t = theta[i]
        d = _grad(t, grad[i], weight_decay, decay, sign)
        if momentum_on:
            if first:
                b = d
            else:
                b = buf[i] * momentum
                b = b + d * one_minus_dampening
            buf[i] = b
            d = b * momentum + d if nesterov else b
        theta[i] = t + d * neg_lr


@_fused
def _adam(theta, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, shrink, weight_decay,
          decay, sign, weight, low, beta2, one_minus_beta2, amsgrad,
          bias_correction2_sqrt, eps, step_size):
    for i in range(theta.size):
        t = theta[i] * shrink  # shrink is 1 unless decoupled, and t·1 is t
        g = _grad(t, grad[i], weight_decay, decay, sign)
        m = _lerp(exp_avg[i], g, weight, low)
        v = _average_square(exp_avg_sq[i], g, beta2, one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v = np.maximum(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        denom = np.sqrt(v) / bias_correction2_sqrt
        denom = denom + eps
        theta[i] = t + (m * step_size) / denom


@_fused
def _rmsprop(theta, grad, square_avg, grad_avg, momentum_buffer, weight_decay, decay, sign,
             alpha, one_minus_alpha, centered, weight, low, eps, momentum_on, momentum,
             neg_lr):
    for i in range(theta.size):
        t = theta[i]
        g = _grad(t, grad[i], weight_decay, decay, sign)
        sq = _average_square(square_avg[i], g, alpha, one_minus_alpha)
        square_avg[i] = sq
        if centered:
            ga = _lerp(grad_avg[i], g, weight, low)
            grad_avg[i] = ga
            avg = np.sqrt(sq + (-ga) * ga)
        else:
            avg = np.sqrt(sq)
        avg = avg + eps
        if momentum_on:
            b = momentum_buffer[i] * momentum
            b = b + g / avg
            momentum_buffer[i] = b
            theta[i] = t + b * neg_lr
        else:
            theta[i] = t + (g * neg_lr) / avg


@_fused
def _adagrad(theta, grad, state_sum, weight_decay, decay, sign, eps, neg_clr):
    for i in range(theta.size):
        t = theta[i]
        g = _grad(t, grad[i], weight_decay, decay, sign)
        s = state_sum[i] + g * g
        state_sum[i] = s
        std = np.sqrt(s) + eps
        theta[i] = t + (g * neg_clr) / std


@_fused
def _adadelta(theta, grad, square_avg, acc_delta, weight_decay, decay, sign, rho,
              one_minus_rho, eps, neg_lr):
    for i in range(theta.size):
        t = theta[i]
        g = _grad(t, grad[i], weight_decay, decay, sign)
        sq = _average_square(square_avg[i], g, rho, one_minus_rho)
        square_avg[i] = sq
        std = np.sqrt(sq + eps)
        delta = np.sqrt(acc_delta[i] + eps)
        delta = delta / std
        delta = delta * g
        acc_delta[i] = _average_square(acc_delta[i], delta, rho, one_minus_rho)
        theta[i] = t + delta * neg_lr


@_fused
def _nadam(theta, grad, exp_avg, exp_avg_sq, shrink, weight_decay, decay, sign,
           weight, low, beta2, one_minus_beta2, bias_correction2, eps, grad_step, avg_step):
    for i in range(theta.size):
        t = theta[i] * shrink  # shrink is 1 unless decoupled, and t·1 is t
        g = _grad(t, grad[i], weight_decay, decay, sign)
        m = _lerp(exp_avg[i], g, weight, low)
        v = _average_square(exp_avg_sq[i], g, beta2, one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        denom = np.sqrt(v / bias_correction2) + eps
        t = t + (g * grad_step) / denom
        theta[i] = t + (m * avg_step) / denom


@_fused
def _radam(theta, grad, exp_avg, exp_avg_sq, shrink, weight_decay, decay, sign,
           weight, low, beta2, one_minus_beta2, bias_correction1, lr, rectify, eps, one,
           bias_correction2_sqrt, rect):
    for i in range(theta.size):
        t = theta[i] * shrink  # shrink is 1 unless decoupled, and t·1 is t
        g = _grad(t, grad[i], weight_decay, decay, sign)
        m = _lerp(exp_avg[i], g, weight, low)
        v = _average_square(exp_avg_sq[i], g, beta2, one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        update = (m / bias_correction1) * lr
        if rectify:
            scale = one / (np.sqrt(v) + eps)
            update = (update * (scale * bias_correction2_sqrt)) * rect
        theta[i] = t - update


@_fused
def _adamax(theta, grad, exp_avg, exp_inf, weight_decay, decay, sign, weight, low, beta2,
            eps, step_size):
    for i in range(theta.size):
        t = theta[i]
        g = _grad(t, grad[i], weight_decay, decay, sign)
        m = _lerp(exp_avg[i], g, weight, low)
        exp_avg[i] = m
        u = np.maximum(exp_inf[i] * beta2, np.abs(g) + eps)
        exp_inf[i] = u
        theta[i] = t + (m * step_size) / u


# -- what the optimizers call ----------------------------------------------------------------
#
# Arrays: C-contiguous, of one dtype (float32 or float64), any shape; they are seen
# flat. A state array an option does without is passed as None. Scalars: Python
# floats and bools as the NumPy rule has them; here they are rounded to the arrays'
# dtype, and flags made plain bools (one compiled version per dtype, whatever the
# caller passed).


class _Scalars:
    """Rounds the NumPy rule's Python scalars to the dtype of ``theta``."""

    def __init__(self, theta: np.ndarray) -> None:
        self.cast = theta.dtype.type
        self.empty = theta.reshape(-1)[:0]

    def __call__(self, value: float):
        return self.cast(value)

    def grad(self, weight_decay: float, maximize: bool) -> tuple:
        """``_grad``'s ``weight_decay, decay, sign``."""
        return self.cast(weight_decay), bool(weight_decay != 0), self.cast(-1 if maximize else 1)

    def lerp(self, weight: float) -> tuple:
        """``_lerp``'s ``weight, low``: the scalar ``lerp_`` multiplies by, and its form."""
        return (self.cast(weight), True) if weight < 0.5 else (self.cast(1.0 - weight), False)

    def shrink(self, shrink: float | None):
        return self.cast(1.0 if shrink is None else shrink)

    def array(self, array: np.ndarray | None) -> np.ndarray:
        return self.empty if array is None else array.reshape(-1)


def _forget_pool() -> None:
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def _split(kernel, n_arrays: int, *args) -> list:
    """``kernel(*args)``, on every core when the vectors are long: the first ``n_arrays``
    arguments (flat, all of one length, or empty when unused) are cut into one
    contiguous part per thread, at multiples of 64 elements. Returns the parts' results.
    """
    global _pool
    size, threads = args[0].size, max(1, int(config.NUMBA_NUM_THREADS))
    if size < PARALLEL_MIN_SIZE or threads == 1:
        return [_flushed(kernel, *args)]
    if _pool is None:
        _pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="steepest-step")
    arrays, scalars = args[:n_arrays], args[n_arrays:]
    cuts = [size * k // threads // 64 * 64 for k in range(threads)] + [size]

    def part(k: int) -> list:
        lo, hi = cuts[k], cuts[k + 1]
        return [a[lo:hi] if a.size else a for a in arrays] + list(scalars)

    others = [_pool.submit(_flushed, kernel, *part(k)) for k in range(1, threads)]
    try:
        first = _flushed(kernel, *part(0))
    finally:
        _wait_through_interrupts(others)
    return [first] + [future.result() for future in others]


def _wait_through_interrupts(futures) -> None:
    """Wait until every part is done, even through Ctrl-C, then re-raise it: a part still
    running must not write into θ after the caller (the trainer) has put θ back."""
    interrupt = None
    while True:
        try:
            wait(futures)
            break
        except KeyboardInterrupt as error:
            interrupt = error
    if interrupt is not None:
        raise interrupt


def count_nonfinite(grad: np.ndarray) -> int:
    """How many entries of ``grad`` are NaN or infinite: one read, on all cores."""
    return sum(int(n) for n in _split(_count_nonfinite, 1, grad.reshape(-1)))


def add_penalty_gradient(weights: np.ndarray, grad: np.ndarray, l1: float, l2: float) -> None:
    """``grad += weights·l2``, then ``grad += sign(weights)·l1`` (each skipped when 0), in
    place, in one pass: what :class:`steepest.train.Penalty` does with two ufuncs each."""
    c = _Scalars(weights)
    _split(_add_penalty_gradient, 2, c.array(weights), c.array(grad), c(l1), c(l2))


def sgd(theta, grad, momentum_buffer, *, lr, momentum, dampening, weight_decay, nesterov,
        maximize, first):
    c = _Scalars(theta)
    _split(_sgd, 3, c.array(theta), c.array(grad), c.array(momentum_buffer),
           *c.grad(weight_decay, maximize), momentum_buffer is not None, bool(first),
           c(momentum), c(1 - dampening), bool(nesterov), c(-lr))


def adam(theta, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, shrink, weight_decay, maximize,
         beta1, beta2, bias_correction2_sqrt, eps, step_size):
    """``shrink`` is ``1 - lr·λ`` for decoupled decay, with ``weight_decay`` then 0."""
    c = _Scalars(theta)
    _split(_adam, 5, c.array(theta), c.array(grad), c.array(exp_avg), c.array(exp_avg_sq),
           c.array(max_exp_avg_sq), c.shrink(shrink), *c.grad(weight_decay, maximize),
           *c.lerp(1 - beta1), c(beta2), c(1 - beta2), max_exp_avg_sq is not None,
           c(bias_correction2_sqrt), c(eps), c(step_size))


def rmsprop(theta, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps,
            weight_decay, momentum, maximize):
    """``grad_avg`` is None unless centered, ``momentum_buffer`` None without momentum."""
    c = _Scalars(theta)
    _split(_rmsprop, 5, c.array(theta), c.array(grad), c.array(square_avg), c.array(grad_avg),
           c.array(momentum_buffer), *c.grad(weight_decay, maximize), c(alpha),
           c(1 - alpha), grad_avg is not None, *c.lerp(1 - alpha), c(eps),
           momentum_buffer is not None, c(momentum), c(-lr))


def adagrad(theta, grad, state_sum, *, clr, eps, weight_decay, maximize):
    c = _Scalars(theta)
    _split(_adagrad, 3, c.array(theta), c.array(grad), c.array(state_sum),
           *c.grad(weight_decay, maximize), c(eps), c(-clr))


def adadelta(theta, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize):
    c = _Scalars(theta)
    _split(_adadelta, 4, c.array(theta), c.array(grad), c.array(square_avg), c.array(acc_delta),
           *c.grad(weight_decay, maximize), c(rho), c(1 - rho), c(eps), c(-lr))


def nadam(theta, grad, exp_avg, exp_avg_sq, *, shrink, weight_decay, maximize, beta1, beta2,
          bias_correction2, eps, grad_step, avg_step):
    c = _Scalars(theta)
    _split(_nadam, 4, c.array(theta), c.array(grad), c.array(exp_avg), c.array(exp_avg_sq),
           c.shrink(shrink), *c.grad(weight_decay, maximize), *c.lerp(1 - beta1), c(beta2),
           c(1 - beta2), c(bias_correction2), c(eps), c(grad_step), c(avg_step))


def radam(theta, grad, exp_avg, exp_avg_sq, *, shrink, weight_decay, maximize, beta1, beta2,
          bias_correction1, lr, rect, eps, bias_correction2_sqrt):
    """``rect`` is the rectification factor, or None for the un-rectified (SGD) branch."""
    c = _Scalars(theta)
    _split(_radam, 4, c.array(theta), c.array(grad), c.array(exp_avg), c.array(exp_avg_sq),
           c.shrink(shrink), *c.grad(weight_decay, maximize), *c.lerp(1 - beta1), c(beta2),
           c(1 - beta2), c(bias_correction1), c(lr), rect is not None, c(eps), c(1),
           c(bias_correction2_sqrt), c(0.0 if rect is None else rect))


def adamax(theta, grad, exp_avg, exp_inf, *, weight_decay, maximize, beta1, beta2, eps,
           step_size):
    c = _Scalars(theta)
    _split(_adamax, 4, c.array(theta), c.array(grad), c.array(exp_avg), c.array(exp_inf),
           *c.grad(weight_decay, maximize), *c.lerp(1 - beta1), c(beta2), c(eps),
           c(step_size))
