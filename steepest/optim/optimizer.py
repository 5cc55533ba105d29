"""The stateful shell shared by every first-order update rule.

An optimizer updates one flat parameter vector ``theta`` in place from a gradient
``grad`` of the same shape and dtype::

    opt = Adam(lr=1e-3)
    for t in range(n_steps):
        opt.step(theta, grad_of(theta))

Subclasses state their rule in ``_update`` (one file per algorithm, as torch.optim
does) and the names of their state arrays in ``_init_state``; this class holds the
learning rate or schedule, the update count, the state and ``state_dict``.

Each rule has two implementations: the NumPy one, a chain of in-place ufuncs that
reads like torch.optim's single-tensor code and is the reference, and a fused
kernel (``steepest.optim._kernels``, compiled with Numba) that makes one pass over
memory (on all cores for long vectors) and rounds exactly as the reference does,
except that it flushes denormal numbers to zero (they cost ~100 cycles each, and
nothing an update can feel). ``step`` takes the
kernel for C-contiguous float32 and float64 arrays of at least
``Optimizer.fused_min_size`` elements, and the NumPy rule otherwise.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from steepest._types import ScalarOrSchedule
from steepest._validation import check_number
from steepest.errors import ParameterError, StateError
from steepest.transforms import check_finite

_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Optimizer:
    """Base class: ``step(theta, grad)`` applies one update of the rule in place.

    Parameters
    ----------
    lr : float or callable, default set by the subclass
        The learning rate, or a schedule ``t -> lr`` called with the number of
        updates done before this one (0 for the first update).
    """

    _hyperparameters: tuple[str, ...] = ("lr",)
    """Constructor arguments in signature order (they make ``repr``)."""

    fused_min_size: int | None = 2**14
    """Parameter vectors of at least this many elements take the fused kernel.

    Below about 4096 elements the NumPy rule is as fast or faster (calling the
    kernel and waking its threads costs about as much as the passes it saves); at
    2**14 the kernel is about twice as fast, and small models do not pay for
    importing Numba (about half a second) for a few microseconds a step. ``0``
    fuses every float32 and float64 step that can be fused, ``None`` never fuses.
    Set it on the class or on one optimizer; either path gives the same numbers,
    to the bit (denormals aside: the kernels flush them to zero).
    """

    def __init__(self, lr: ScalarOrSchedule) -> None:
        self.lr = lr
        self._check_lr(lr)
        self._state: dict[str, np.ndarray] | None = None
        self._scratch: tuple[np.ndarray, ...] = ()
        self._steps = 0

    # -- what subclasses define -------------------------------------------------------

    def _init_state(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """The state arrays for parameters shaped like ``theta`` (none by default)."""
        return {}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                lr: float, step: int, kernels=None) -> None:
        """Apply the rule in place; ``step`` counts updates from 1, as torch's state does.

        ``kernels`` is the module ``steepest.optim._kernels`` when this step is to be
        fused (the arrays are then C-contiguous float32 or float64 and do not
        overlap), else None for the NumPy rule.
        """
        raise NotImplementedError

    # -- the public surface ----------------------------------------------------------

    @property
    def steps(self) -> int:
        """The number of updates applied so far."""
        return self._steps

    @property
    def current_lr(self) -> float:
        """The learning rate the next ``step`` will use."""
        if not callable(self.lr):
            return float(self.lr)
        lr = self.lr(self._steps)
        if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr >= 0):
            raise ParameterError(
                f"The learning-rate schedule of {type(self).__name__} returned {lr!r} at update "
                f"{self._steps}; a rate must be a finite float >= 0. Check the schedule."
            )
        return float(lr)

    def step(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """Update ``theta`` in place from ``grad``; ``grad`` is left untouched.

        Raises :class:`~steepest.errors.NonFiniteError`, leaving ``theta`` and the
        state as they were, when ``grad`` holds a NaN or an infinity.
        """
        self._check_arrays(theta, grad)
        kernels = self._kernels(theta, grad)
        self._check_finite(grad, kernels)
        if self._state is None:
            self._state = self._init_state(theta)
        lr = self.current_lr
        self._steps += 1
        self._update(theta, grad, self._state, lr, self._steps, kernels)

    def state_dict(self) -> dict[str, np.ndarray | int]:
        """The optimizer's state as plain arrays and numbers: ``step`` plus the rule's arrays.

        The arrays are copies; ``load_state_dict`` of this dictionary into a fresh
        optimizer with the same hyperparameters continues bit for bit.
        """
        state = {"step": self._steps}
        state.update({k: v.copy() for k, v in (self._state or {}).items()})
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state made by :meth:`state_dict` (the arrays are copied in)."""
        name = type(self).__name__
        if "step" not in state_dict:
            raise StateError(f"The state given to {name}.load_state_dict has no 'step' entry.")
        steps = int(np.asarray(state_dict["step"]))
        arrays = {k: np.asarray(v) for k, v in state_dict.items() if k != "step"}
        if steps == 0 and not arrays:  # saved before the first step
            self._state, self._steps = None, 0
            return
        like = next((a for a in arrays.values() if a.ndim), np.zeros(1))
        template = self._init_state(np.zeros(like.shape, like.dtype))
        if set(arrays) != set(template) or steps < 0:
            raise StateError(
                f"The state given to {name}.load_state_dict holds step={steps} and arrays "
                f"{sorted(arrays)}, but {self!r} keeps {sorted(template)}. Was it saved from "
                "another optimizer or with other options?"
            )
        for key, expected in template.items():
            if arrays[key].shape != expected.shape or arrays[key].dtype != expected.dtype:
                raise StateError(
                    f"The state array {key!r} given to {name}.load_state_dict is "
                    f"{arrays[key].dtype}{list(arrays[key].shape)}; expected "
                    f"{expected.dtype}{list(expected.shape)} like the other arrays."
                )
        self._state = {k: arrays[k].copy() for k in template} if template else None
        self._steps = steps

    def __repr__(self) -> str:
        """The call that makes this optimizer, with the arguments that differ from the
        defaults (as scikit-learn shows estimators): ``Adam(lr=0.01)``."""
        import inspect

        defaults = inspect.signature(type(self)).parameters
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters
                         if getattr(self, k) != defaults[k].default)
        return f"{type(self).__name__}({args})"

    # -- helpers for subclasses --------------------------------------------------------

    def _buffers(self, theta: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
        """``n`` scratch arrays shaped like ``theta``, allocated once and reused."""
        scratch = self._scratch
        if len(scratch) < n or scratch[0].shape != theta.shape or scratch[0].dtype != theta.dtype:
            self._scratch = scratch = tuple(np.empty_like(theta) for _ in range(n))
        return scratch[:n]

    def _check_lr(self, lr) -> None:
        if not callable(lr):
            check_number(lr, "lr", type(self).__name__, low=0.0)

    def _check_betas(self, betas) -> None:
        name = type(self).__name__
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ParameterError(
                f"The 'betas' parameter of {name} must be a pair of floats in [0.0, 1.0). "
                f"Got {betas!r} instead."
            )
        for i, beta in enumerate(betas):
            check_number(beta, f"betas[{i}]", name, low=0.0, high=1.0)

    def _check_arrays(self, theta, grad) -> None:
        name = type(self).__name__
        for label, array in (("theta", theta), ("grad", grad)):
            if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
                raise ParameterError(
                    f"{name}.step needs {label} as a NumPy array of floats; got "
                    f"{type(array).__name__}"
                    + (f" of dtype {array.dtype}" if isinstance(array, np.ndarray) else "")
                    + ". Convert it with np.asarray(..., dtype=np.float64)."
                )
        if not theta.flags.writeable:
            raise ParameterError(f"{name}.step updates theta in place, but theta is read-only.")
        if grad.shape != theta.shape or grad.dtype != theta.dtype:
            raise ParameterError(
                f"{name}.step needs grad shaped like theta: theta is "
                f"{theta.dtype}{list(theta.shape)}, grad is {grad.dtype}{list(grad.shape)}."
            )
        if self._state:
            first = next(iter(self._state.values()))
            if first.ndim and (first.shape != theta.shape or first.dtype != theta.dtype):
                raise ParameterError(
                    f"{name} was started on parameters {first.dtype}{list(first.shape)} and is "
                    f"now given {theta.dtype}{list(theta.shape)}; use one optimizer per "
                    "parameter vector."
                )

    def _kernels(self, theta: np.ndarray, grad: np.ndarray):
        """``steepest.optim._kernels`` if this step can and should be fused, else None.

        Numba is imported here, on the first fused step, not with steepest.
        """
        limit = self.fused_min_size
        if (limit is None or theta.size < limit or theta.dtype not in _FUSED_DTYPES
                or type(theta) is not np.ndarray or type(grad) is not np.ndarray
                or not (theta.flags.c_contiguous and theta.flags.aligned)
                or not (grad.flags.c_contiguous and grad.flags.aligned)
                or np.may_share_memory(theta, grad)):
            return None
        if any(not a.flags.c_contiguous for a in (self._state or {}).values() if a.ndim):
            return None
        from steepest.optim import _kernels

        return _kernels

    def _check_finite(self, grad: np.ndarray, kernels) -> None:
        """Refuse a gradient holding NaN or inf before anything is changed."""
        if kernels is not None and kernels.count_nonfinite(grad) == 0:
            return  # one compiled read; a bad gradient takes the path that names it
        check_finite(grad, where=f"gradient given to {type(self).__name__}.step")
