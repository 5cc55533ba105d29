r"""Losses: the mean loss over a batch and its gradient with respect to the predictions.

Every loss is an object with one method that does the work::

    from steepest import losses

    loss = losses.get("mse")                       # or losses.MeanSquaredError()
    value, dY = loss.value_and_grad(y_true, y_pred)
    loss.value_and_grad(y_true, y_pred, out=dY)    # the training loop's form: no allocation
    loss(y_true, y_pred)                           # the value alone, a Python float

``y_pred`` has shape ``(n_samples,)`` or ``(n_samples, n_outputs)``; ``dY`` has
the shape and dtype of ``y_pred`` (float32 in, float32 out; integer predictions
are computed in float64). The value is a Python float: the mean over samples,
and for elementwise losses with several outputs the mean over all
``n_samples * n_outputs`` entries. Targets of shape ``(n,)`` are accepted for
predictions of shape ``(n, 1)`` and the other way round.

The cross-entropies take logits (scores before the sigmoid or softmax) and are
written in their log-sum-exp and softplus forms, so logits of any size, even
:math:`|z| = 1000`, give a finite value and a finite gradient.

``loss.hvp(y_true, y_pred, direction)`` is the Hessian of the mean loss with
respect to the predictions times ``direction`` (shaped like ``y_pred``): the
:math:`R\{dY\} = \nabla^2_{\hat y} J \cdot R\{Y\}` that
:meth:`steepest.nn.Network.hvp` needs. It is zero almost everywhere for the
piecewise linear losses (absolute error, hinge).

``out``, when given, is filled with the gradient and returned; it must have the
shape and dtype of ``y_pred`` and share no memory with the inputs. A loss keeps
its scratch arrays between calls, so a training loop that passes ``out`` allocates
nothing of the batch's size (the categorical cross-entropy allocates a few arrays
of ``n_samples`` entries; targets of another dtype than ``y_pred`` are converted,
a copy, on each call).
"""

from __future__ import annotations

import numpy as np

from steepest._validation import check_number, lookup
from steepest.errors import ParameterError

__all__ = [
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "Hinge",
    "Huber",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "get",
    "names",
]


class Loss:
    """Base class: a mean loss and its gradient with respect to the predictions.

    Subclasses state their math in ``_compute``, which fills ``out`` with the
    gradient and returns the value, and may check their targets in ``_targets``.
    """

    _hyperparameters: tuple[str, ...] = ()
    """Constructor arguments in signature order (they make ``repr``)."""

    def __init__(self) -> None:
        self._work: dict[str, np.ndarray] = {}

    # -- what subclasses define -------------------------------------------------------

    def _compute(self, y_true: np.ndarray, y_pred: np.ndarray, out: np.ndarray) -> float:
        """Fill ``out`` with the gradient w.r.t. ``y_pred`` and return the mean loss."""
        raise NotImplementedError

    def _hessian_product(self, y_true: np.ndarray, y_pred: np.ndarray, direction: np.ndarray,
                         out: np.ndarray) -> np.ndarray:
        """Fill ``out`` with the Hessian w.r.t. ``y_pred`` times ``direction``; zero by default
        (the piecewise linear losses)."""
        out[...] = 0
        return out

    def _targets(self, y_true, y_pred: np.ndarray) -> np.ndarray:
        """``y_true`` as an array the shape and dtype of ``y_pred`` (elementwise losses)."""
        y_true = np.asarray(y_true)
        if y_true.shape != y_pred.shape:
            same_column = (y_true.ndim + y_pred.ndim == 3 and y_true.size == y_pred.size
                           and y_true.shape[0] == y_pred.shape[0])
            if not same_column:
                raise ParameterError(
                    f"{type(self).__name__} needs y_true shaped like y_pred; got y_true of shape "
                    f"{y_true.shape} and y_pred of shape {y_pred.shape}."
                )
            y_true = y_true.reshape(y_pred.shape)
        return np.asarray(y_true, dtype=y_pred.dtype)

    # -- the public surface ----------------------------------------------------------

    _weighted = False
    """Whether ``_compute`` takes ``weight`` (per-sample weights of the mean)."""

    def value_and_grad(self, y_true, y_pred, out: np.ndarray | None = None, *,
                       sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        r"""The mean loss and its gradient ``dY`` with respect to ``y_pred``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets; see each loss for what it accepts.
        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The predictions (logits for the cross-entropies and the hinge).
        out : ndarray shaped like y_pred, optional
            Where to write the gradient; a new array when omitted.
        sample_weight : ndarray of shape (n_samples,), optional
            Weights :math:`w_i` of the samples in the mean: the value becomes
            :math:`\frac{1}{N}\sum_i w_i \ell_i` (the same :math:`N` as unweighted, so
            weights of mean 1 give the weighted mean :math:`\sum w\ell / \sum w`) and
            each sample's gradient is multiplied by :math:`w_i`. Mean squared error and
            the cross-entropies only.

        Returns
        -------
        value : float
        dY : ndarray shaped like y_pred
            ``out`` when it was given.
        """
        y_pred = self._predictions(y_pred)
        y_true = self._targets(y_true, y_pred)
        out = np.empty_like(y_pred) if out is None else self._check_out(out, y_true, y_pred)
        if sample_weight is None:
            return self._compute(y_true, y_pred, out), out
        return self._compute(y_true, y_pred, out, self._check_weight(sample_weight, y_pred)), out

    def hvp(self, y_true, y_pred, direction, out: np.ndarray | None = None) -> np.ndarray:
        r"""The Hessian of the mean loss with respect to ``y_pred``, times ``direction``.

        :math:`\bigl(\nabla^2_{\hat y} J\bigr)\, d`: the derivative of the gradient
        :meth:`grad` along ``d``, exact (zero almost everywhere for the absolute error
        and the hinge, whose gradients are piecewise constant).

        Parameters
        ----------
        y_true : array-like, as for :meth:`value_and_grad`
        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        direction : array-like shaped like y_pred
        out : ndarray shaped like y_pred, optional
            Where to write the product; a new array when omitted.

        Returns
        -------
        ndarray shaped like y_pred
        """
        y_pred = self._predictions(y_pred)
        y_true = self._targets(y_true, y_pred)
        direction = np.asarray(direction, dtype=y_pred.dtype)
        if direction.shape != y_pred.shape:
            if direction.size != y_pred.size:
                raise ParameterError(
                    f"{type(self).__name__}.hvp needs a direction shaped like y_pred "
                    f"{y_pred.shape}; got shape {direction.shape}."
                )
            direction = direction.reshape(y_pred.shape)
        out = np.empty_like(y_pred) if out is None else self._check_out(out, y_true, y_pred)
        return self._hessian_product(y_true, y_pred, direction, out)

    def value(self, y_true, y_pred, *, sample_weight: np.ndarray | None = None) -> float:
        """The mean loss, a Python float (weighted as in :meth:`value_and_grad`)."""
        y_pred = self._predictions(y_pred)
        y_true = self._targets(y_true, y_pred)
        out = self._scratch("dY", y_pred.shape, y_pred.dtype)
        if sample_weight is None:
            return self._compute(y_true, y_pred, out)
        return self._compute(y_true, y_pred, out, self._check_weight(sample_weight, y_pred))

    def _check_weight(self, sample_weight, y_pred: np.ndarray) -> np.ndarray:
        if not self._weighted:
            raise ParameterError(
                f"{type(self).__name__} does not take sample weights; use the mean squared "
                "error or a cross-entropy, or drop sample_weight."
            )
        weight = np.asarray(sample_weight, dtype=y_pred.dtype)
        if weight.shape != (y_pred.shape[0],):
            raise ParameterError(
                f"sample_weight must hold one weight per sample, shape ({y_pred.shape[0]},); "
                f"got shape {weight.shape}."
            )
        return weight

    def grad(self, y_true, y_pred, out: np.ndarray | None = None) -> np.ndarray:
        """The gradient with respect to ``y_pred`` (see :meth:`value_and_grad`)."""
        return self.value_and_grad(y_true, y_pred, out)[1]

    __call__ = value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({args})"

    # -- helpers -----------------------------------------------------------------------

    def _predictions(self, y_pred) -> np.ndarray:
        y_pred = np.asarray(y_pred)
        if not np.issubdtype(y_pred.dtype, np.floating):
            y_pred = y_pred.astype(np.float64)
        if y_pred.ndim not in (1, 2) or y_pred.shape[0] == 0:
            raise ParameterError(
                f"{type(self).__name__} needs y_pred of shape (n_samples,) or (n_samples, "
                f"n_outputs) with at least one sample; got shape {y_pred.shape}."
            )
        return y_pred

    def _check_out(self, out, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        if not isinstance(out, np.ndarray) or out.shape != y_pred.shape \
                or out.dtype != y_pred.dtype or not out.flags.writeable:
            got = (f"{out.dtype}{list(out.shape)}" if isinstance(out, np.ndarray)
                   else type(out).__name__)
            raise ParameterError(
                f"The 'out' array given to {name} must be a writeable {y_pred.dtype} array of "
                f"shape {y_pred.shape} like y_pred; got {got}."
            )
        if np.may_share_memory(out, y_pred) or np.may_share_memory(out, y_true):
            raise ParameterError(
                f"The 'out' array given to {name} shares memory with y_true or y_pred; "
                "pass a separate array."
            )
        return out

    def _scratch(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A work array kept between calls (made again when the shape or dtype change)."""
        array = self._work.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._work[name] = np.empty(shape, dtype)
        return array

    def _range_error(self, y_true: np.ndarray, wanted: str, remedy: str) -> ParameterError:
        return ParameterError(
            f"{type(self).__name__} needs y_true {wanted}; got values from {y_true.min()!r} to "
            f"{y_true.max()!r}. {remedy}"
        )


class MeanSquaredError(Loss):
    r"""Mean squared error, without the ½.

    .. math::

        J = \frac{1}{N} \sum_i (y_i - \hat y_i)^2, \qquad
        \frac{\partial J}{\partial \hat y_i} = -\frac{2}{N}\,(y_i - \hat y_i)

    :math:`N` is the number of entries: ``n_samples`` for one output,
    ``n_samples * n_outputs`` for several (as scikit-learn's ``mean_squared_error``
    with ``multioutput="uniform_average"``).
    """

    _weighted = True

    def _compute(self, y_true, y_pred, out, weight=None):
        size = y_pred.size
        np.subtract(y_pred, y_true, out=out)
        if weight is None:
            flat = out.reshape(-1)
            value = float(np.dot(flat, flat)) / size
        else:
            rows = out.reshape(out.shape[0], -1)
            value = float(np.dot(weight, np.einsum("ij,ij->i", rows, rows))) / size
            rows *= weight[:, None]
        out *= 2.0 / size
        return value

    def _hessian_product(self, y_true, y_pred, direction, out):
        return np.multiply(direction, 2.0 / y_pred.size, out=out)  # H = 2 I / N


class MeanAbsoluteError(Loss):
    r"""Mean absolute error.

    .. math::

        J = \frac{1}{N} \sum_i |y_i - \hat y_i|, \qquad
        \frac{\partial J}{\partial \hat y_i} = \frac{1}{N}\,\operatorname{sign}(\hat y_i - y_i)

    with the subgradient 0 where :math:`\hat y_i = y_i` (as torch's ``L1Loss``).
    :math:`N` counts all entries.
    """

    def _compute(self, y_true, y_pred, out):
        size = y_pred.size
        residual = np.subtract(y_pred, y_true, out=out)
        value = float(np.abs(residual, out=self._scratch("abs", out.shape, out.dtype)).sum())
        np.sign(residual, out=out)
        out *= 1.0 / size
        return value / size


class Huber(Loss):
    r"""Huber loss: squared near the target, absolute far from it (as torch's ``HuberLoss``).

    With :math:`r_i = \hat y_i - y_i`,

    .. math::

        \ell_i = \begin{cases} \tfrac12 r_i^2 & |r_i| \le \delta \\
                 \delta\,(|r_i| - \tfrac12 \delta) & |r_i| > \delta \end{cases},
        \qquad J = \frac{1}{N} \sum_i \ell_i, \qquad
        \frac{\partial J}{\partial \hat y_i} = \frac{1}{N}\operatorname{clip}(r_i, -\delta, \delta)

    :math:`N` counts all entries.

    Parameters
    ----------
    delta : float, default=1.0
        Where the loss turns from squared to absolute, > 0.
    """

    _hyperparameters = ("delta",)

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        check_number(delta, "delta", "Huber", low=0.0, closed="neither")
        self.delta = delta

    def _compute(self, y_true, y_pred, out):
        size, delta = y_pred.size, self.delta
        residual = np.subtract(y_pred, y_true, out=out)
        a = np.abs(residual, out=self._scratch("abs", out.shape, out.dtype)).reshape(-1)
        c = np.minimum(a, delta, out=self._scratch("clipped", a.shape, a.dtype))
        # ℓ = |c| (|r| − |c|/2) with c = clip(r, −δ, δ), which is both branches at once.
        value = float(np.dot(c, a)) - 0.5 * float(np.dot(c, c))
        np.clip(residual, -delta, delta, out=out)
        out *= 1.0 / size
        return value / size

    def _hessian_product(self, y_true, y_pred, direction, out):
        # H = diag([|r_i| <= δ]) / N: the clip's slope.
        np.subtract(y_pred, y_true, out=out)
        np.abs(out, out=out)
        np.less_equal(out, self.delta, out=out)
        out *= direction
        out *= 1.0 / y_pred.size
        return out


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy (log loss) from logits, as torch's ``BCEWithLogitsLoss``.

    With the logit :math:`z_i` and :math:`\sigma(z) = 1 / (1 + e^{-z})`,

    .. math::

        \ell_i &= -y_i \log\sigma(z_i) - (1 - y_i) \log(1 - \sigma(z_i))
               = \max(z_i, 0) - y_i z_i + \log\bigl(1 + e^{-|z_i|}\bigr) \\
        J &= \frac{1}{N} \sum_i \ell_i, \qquad
        \frac{\partial J}{\partial z_i} = \frac{1}{N}\,(\sigma(z_i) - y_i)

    The right-hand form never exponentiates a positive number, and
    :math:`\sigma(z) = e^{\min(z, 0)} / (1 + e^{-|z|})` neither, so any finite
    logit gives a finite value and gradient. ``y_true`` holds 0/1 labels or
    probabilities in [0, 1]; :math:`N` counts all entries (one per sample for a
    single output).
    """

    def _targets(self, y_true, y_pred):
        y_true = super()._targets(y_true, y_pred)
        if y_true.min() < 0 or y_true.max() > 1:
            raise self._range_error(y_true, "in [0, 1] (0/1 labels or probabilities)",
                                    "For -1/+1 labels pass (y + 1) / 2.")
        return y_true

    _weighted = True

    def _compute(self, y_true, y_pred, out, weight=None):
        size, z = y_pred.size, y_pred
        e = self._scratch("exp", z.shape, z.dtype)
        work = self._scratch("work", z.shape, z.dtype)
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)                                   # e^{-|z|}
        np.log1p(e, out=out)
        out += np.maximum(z, 0, out=work)
        out -= np.multiply(y_true, z, out=work)            # ℓ_i, term by term
        if weight is None:
            value = float(out.sum()) / size
        else:
            value = float(np.dot(weight, out.reshape(out.shape[0], -1).sum(axis=1))) / size
        e += 1
        np.minimum(z, 0, out=out)
        np.exp(out, out=out)
        out /= e                                           # σ(z)
        out -= y_true
        if weight is not None:
            out *= weight.reshape(-1, *(1,) * (out.ndim - 1))
        out *= 1.0 / size
        return value

    def _hessian_product(self, y_true, y_pred, direction, out):
        # H = diag(σ(z_i)(1 − σ(z_i))) / N, with σ(1 − σ) = e^{-|z|} / (1 + e^{-|z|})².
        e = np.exp(-np.abs(y_pred))
        np.divide(e, np.square(1 + e), out=out)
        out *= direction
        out *= 1.0 / y_pred.size
        return out


class CategoricalCrossEntropy(Loss):
    r"""Categorical cross-entropy from logits, as torch's ``CrossEntropyLoss``.

    With logits :math:`z_{ic}` for ``n_classes`` classes, integer labels
    :math:`y_i \in \{0, \dots, k - 1\}` and :math:`m_i = \max_c z_{ic}`,

    .. math::

        J = \frac{1}{n} \sum_i \Bigl(m_i + \log \sum_c e^{z_{ic} - m_i} - z_{i y_i}\Bigr),
        \qquad
        \frac{\partial J}{\partial z_{ic}} = \frac{1}{n}\,
            \bigl(\operatorname{softmax}(z_i)_c - [c = y_i]\bigr)

    The mean is over samples (not over entries). Shifting by the row maximum
    keeps every exponent :math:`\le 0`, so any finite logits give a finite value
    and gradient; the softmax and the gradient are computed together in ``out``.

    ``y_true`` holds class indices of shape ``(n_samples,)`` (integers, or floats
    with integer values); ``y_pred`` the logits, of shape ``(n_samples, n_classes)``.
    """

    def _targets(self, y_true, y_pred):
        name = type(self).__name__
        y_true = np.asarray(y_true)
        if y_pred.ndim != 2:
            raise ParameterError(
                f"{name} needs logits of shape (n_samples, n_classes); got shape {y_pred.shape}."
            )
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true.reshape(-1)
        if y_true.shape != (y_pred.shape[0],):
            raise ParameterError(
                f"{name} needs y_true as class indices of shape ({y_pred.shape[0]},) for logits "
                f"of shape {y_pred.shape}; got shape {y_true.shape}. One-hot targets can be "
                "turned into indices with y.argmax(axis=1)."
            )
        if y_true.dtype.kind == "f" and np.all(y_true == np.round(y_true)):
            y_true = y_true.astype(np.intp)
        if y_true.dtype.kind not in "iu":
            raise ParameterError(
                f"{name} needs y_true as integer class indices; got dtype {y_true.dtype}. "
                "Encode the labels first, e.g. with sklearn.preprocessing.LabelEncoder."
            )
        n_classes = y_pred.shape[1]
        if y_true.min() < 0 or y_true.max() >= n_classes:
            raise self._range_error(y_true, f"in 0..{n_classes - 1} (one logit per class)",
                                    "Check that y_pred has one column per class.")
        return y_true

    _weighted = True

    def _compute(self, y_true, y_pred, out, weight=None):
        n, z = y_pred.shape[0], y_pred
        m = np.max(z, axis=1, out=self._scratch("max", (n,), z.dtype))
        np.subtract(z, m[:, None], out=out)
        np.exp(out, out=out)
        s = np.sum(out, axis=1, out=self._scratch("sum", (n,), z.dtype))
        out /= s[:, None]                                  # softmax(z)
        rows = np.arange(n)
        terms = m - z[rows, y_true]
        terms += np.log(s, out=s)                          # per-sample loss
        value = float(terms.sum() if weight is None else np.dot(weight, terms)) / n
        out[rows, y_true] -= 1
        if weight is not None:
            out *= weight[:, None]
        out *= 1.0 / n
        return value

    def _hessian_product(self, y_true, y_pred, direction, out):
        # Per sample H = (diag(p) − p pᵀ) / n with p = softmax(z): p ⊙ d − p (p · d).
        p = np.exp(y_pred - y_pred.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        np.multiply(p, direction, out=out)
        out -= p * out.sum(axis=1, keepdims=True)
        out *= 1.0 / y_pred.shape[0]
        return out


class Hinge(Loss):
    r"""Hinge loss of a linear classifier's score, as scikit-learn's ``hinge_loss``.

    With labels mapped to :math:`t_i \in \{-1, +1\}`,

    .. math::

        J = \frac{1}{N} \sum_i \max(0,\, 1 - t_i z_i), \qquad
        \frac{\partial J}{\partial z_i} = -\frac{1}{N}\, t_i\, [t_i z_i < 1]

    (the subgradient 0 at the kink :math:`t_i z_i = 1`). ``y_true`` holds labels in
    {-1, +1} or in {0, 1}: a label of 1 is the positive class and a label of 0 or
    -1 the negative class, so both encodings give the same loss. :math:`N` counts
    all entries.
    """

    def _targets(self, y_true, y_pred):
        y_true = super()._targets(y_true, y_pred)
        if np.any((y_true != 1) & (y_true != 0) & (y_true != -1)):
            raise self._range_error(y_true, "with labels in {-1, +1} or {0, 1}",
                                    "Encode the two classes as -1/+1 or 0/1.")
        return y_true

    def _compute(self, y_true, y_pred, out):
        size = y_pred.size
        t = self._scratch("sign", y_pred.shape, y_pred.dtype)
        np.greater(y_true, 0, out=t)
        t *= 2
        t -= 1                                             # t ∈ {−1, +1}
        np.multiply(t, y_pred, out=out)
        np.subtract(1, out, out=out)                       # 1 − t z
        np.maximum(out, 0, out=out)
        value = float(out.sum()) / size
        np.greater(out, 0, out=out)
        out *= t
        out *= -1.0 / size
        return value


_REGISTRY: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossEntropy,
    "log_loss": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "hinge": Hinge,
}


def names() -> list[str]:
    """The names :func:`get` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name: str | Loss, **hyperparameters) -> Loss:
    """Build a loss by name (case-insensitive); a :class:`Loss` instance is returned as is.

    >>> get("huber", delta=0.5)
    Huber(delta=0.5)
    """
    if isinstance(name, Loss):
        return name
    return lookup(name, _REGISTRY, "loss")(**hyperparameters)
