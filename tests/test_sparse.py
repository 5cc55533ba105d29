"""Sparse input (steepest.sparse): every linear estimator and the MLPs' first Dense layer fit
a SciPy CSR/CSC matrix to the model the dense fit gives on the same data, by full batch,
mini-batch and per-sample SGD, without ever forming the dense matrix."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from gradcheck import numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from steepest import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    losses,
    nn,
    optim,
)
from steepest.data import Batcher, train_validation_split
from steepest.errors import ParameterError
from steepest.sparse import check_sparse_X, column_std, is_sparse
from steepest.train import Trainer

COMPILED = []


@pytest.fixture(autouse=True)
def quiet_and_counted(monkeypatch):
    """Take the compiled per-sample epoch however short the run, and count its calls."""
    from steepest.train import _per_sample, _per_sample_kernel

    monkeypatch.setattr(_per_sample, "MIN_UPDATES", 0)
    monkeypatch.setattr(_per_sample, "MIN_SPARSE_UPDATES", 0)
    for name in ("epoch", "sparse_epoch"):
        kernel = getattr(_per_sample_kernel, name)
        monkeypatch.setattr(_per_sample_kernel, name,
                            lambda *args, _k=kernel, _n=name: COMPILED.append(_n) or _k(*args))
    COMPILED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def problem(kind: str, n=120, d=25, density=0.15, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr", dtype=dtype)
    X.data *= 3
    score = X @ rng.standard_normal(d)
    if kind == "regression":
        y = score + 0.1 * rng.standard_normal(n)
    elif kind == "binary":
        y = np.where(score > np.median(score), "yes", "no")
    else:
        y = np.digitize(score, np.quantile(score, [0.33, 0.66]))
    return X, y


ESTIMATORS = {
    "linear": (LinearRegression, "regression"),
    "logistic": (LogisticRegression, "binary"),
    "multinomial": (LogisticRegression, "multiclass"),
}
FITS = {
    # tol=1e-12: all the iterations (tol=None would stop at the method's own 1e-6)
    "lbfgs": dict(optimizer="lbfgs", epochs=50, tol=1e-12),
    "newton": dict(optimizer="newton", epochs=10, tol=1e-12),
    "batch gd": dict(optimizer="sgd", lr=0.05, epochs=30),
    "mini-batch adam": dict(optimizer="adam", lr=0.01, batch_size=16, epochs=4),
    "per-sample sgd": dict(optimizer="sgd", lr=0.01, batch_size=1, epochs=3),
    "per-sample sgd, weight decay": dict(optimizer=optim.SGD(lr=0.01, weight_decay=1e-2),
                                         batch_size=1, epochs=3),
    "per-sample momentum, elastic net": dict(optimizer=optim.SGD(lr=0.01, momentum=0.9),
                                             batch_size=1, epochs=2, penalty="elasticnet"),
}


@pytest.mark.parametrize("estimator", list(ESTIMATORS))
@pytest.mark.parametrize("fit", list(FITS))
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_a_sparse_fit_is_the_dense_fit(estimator, fit, fmt):
    cls, kind = ESTIMATORS[estimator]
    X, y = problem(kind)
    settings = dict(alpha=1e-2, random_state=0, **{"tol": None, **FITS[fit]})
    sparse = cls(**settings).fit(X.asformat(fmt), y)
    took = list(COMPILED)
    dense = cls(**settings).fit(X.toarray(), y)
    if fit.startswith("per-sample"):  # the compiled loops ran, the sparse one on the sparse X
        assert took and set(took) == {"sparse_epoch"} and "epoch" in COMPILED[len(took):]
    # equal but for the order of the sums; L-BFGS and Newton may stop an iteration apart
    # on it (the objectives themselves agree to 1e-12: the next test)
    rtol, atol = (1e-5, 1e-7) if fit in ("lbfgs", "newton") else (1e-9, 1e-12)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=rtol, atol=atol)
    if kind == "multiclass":  # softmax: the intercepts are known up to a common shift
        np.testing.assert_allclose(sparse.intercept_ - sparse.intercept_.mean(),
                                   dense.intercept_ - dense.intercept_.mean(), rtol=rtol,
                                   atol=atol)
    else:
        np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=rtol, atol=atol)
    if fit in ("lbfgs", "newton"):  # the last step may be judged converged on one side only
        np.testing.assert_allclose(sparse.history_["loss"][-1], dense.history_["loss"][-1],
                                   rtol=1e-9)
    else:
        np.testing.assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-9)
        np.testing.assert_allclose(sparse.history_["grad_norm"], dense.history_["grad_norm"],
                                   rtol=1e-9)
    if kind == "regression":
        np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), rtol=rtol,
                                   atol=atol)
    else:
        np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X.toarray()),
                                   rtol=rtol, atol=atol)
    assert is_sparse(X)  # the caller's matrix is untouched


@pytest.mark.parametrize("loss, units", [("mse", 2), ("binary_crossentropy", 1),
                                         ("categorical_crossentropy", 3)])
def test_the_full_batch_objective_of_a_sparse_x_is_the_dense_one(loss, units):
    from steepest.train import Penalty, StepLoop

    X, _ = problem("regression")
    rng = np.random.default_rng(1)
    y = rng.integers(0, units, X.shape[0]) if units == 3 else rng.random((X.shape[0], units))
    net = nn.Network([nn.Dense(units)], X.shape[1], random_state=0)
    steps = StepLoop(net, loss, penalty=Penalty(net, 0.1, "l2"))
    for _ in range(3):
        net.theta[...] = rng.normal(size=net.n_params)
        value, grad = steps.value_and_grad(*steps.inputs(X, y))
        grad = grad.copy()
        dense_value, dense_grad = steps.value_and_grad(*steps.inputs(X.toarray(), y))
        assert value == pytest.approx(dense_value, rel=1e-13)
        np.testing.assert_allclose(grad, dense_grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options", [dict(lr=0.05), dict(lr=0.02, momentum=0.9, nesterov=True)])
def test_the_sparse_per_sample_loop_is_the_numpy_loop(dtype, options):
    X, _ = problem("regression", dtype=dtype)
    y = np.random.default_rng(0).integers(0, 3, X.shape[0])
    thetas = []
    for compiled in (True, False):
        optimizer = optim.SGD(**options)
        optimizer.fused_min_size = optim.Optimizer.fused_min_size if compiled else None
        net = nn.Network([nn.Dense(3)], X.shape[1], dtype=dtype, random_state=0)
        COMPILED.clear()
        Trainer(net, "categorical_crossentropy", optimizer, batch_size=1, alpha=1e-2,
                random_state=3).fit(X, y, epochs=3)
        assert bool(COMPILED) == compiled
        thetas.append(net.theta)
    assert thetas[0].dtype == dtype
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(thetas[0], thetas[1], rtol=rtol, atol=rtol * 1e-2)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), d=st.integers(1, 30), density=st.floats(0.0, 1.0),
       units=st.integers(1, 3), loss=st.sampled_from(["mse", "binary_crossentropy"]),
       l2=st.sampled_from([0.0, 1e-3, 0.5]), seed=st.integers(0, 2**16))
def test_the_lazy_l2_decay_equals_the_dense_loop_on_any_shape(n, d, density, units, loss, l2,
                                                              seed):
    """w = s·v with the decay in s (large rates x l2 fold s back into the weights)."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr")
    y = rng.random((n, units)) if loss == "binary_crossentropy" else rng.normal(size=(n, units))
    thetas = []
    for data in (X, X.toarray()):
        net = nn.Network([nn.Dense(units)], d, random_state=seed)
        trainer = Trainer(net, loss, optim.SGD(lr=0.5), batch_size=1, alpha=l2 * 4,
                          random_state=seed, divergence=False)
        trainer.fit(data, y, epochs=2)
        thetas.append(net.theta.copy())
    np.testing.assert_allclose(thetas[0], thetas[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls, kind", [(MLPClassifier, "binary"), (MLPRegressor, "regression"),
                                       (MLPClassifier, "multiclass")])
def test_the_mlp_first_layer_takes_sparse_input(cls, kind):
    X, y = problem(kind)
    settings = dict(hidden_layer_sizes=(7,), batch_size=20, epochs=4, tol=None, random_state=0,
                    batch_norm=True)
    sparse, dense = cls(**settings).fit(X, y), cls(**settings).fit(X.toarray(), y)
    # (the first layer's biases, cancelled by BatchNorm, are rounding noise about 1e-11)
    np.testing.assert_allclose(sparse._network.theta, dense._network.theta, rtol=1e-9,
                               atol=1e-9)
    if kind == "regression":
        np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), rtol=1e-8)
    else:
        np.testing.assert_array_equal(sparse.predict(X), dense.predict(X.toarray()))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 8), units=st.integers(1, 4),
       density=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_the_sparse_dense_layer_gradient_is_the_finite_difference(n, d, units, density, seed):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr")
    target = rng.normal(size=(n, 2))
    net = nn.Network([nn.Dense(units), nn.Tanh(), nn.Dense(2)], d, random_state=seed)
    loss = losses.MeanSquaredError()

    def objective():
        return loss.value(target, net.forward(X))

    _, dY = loss.value_and_grad(target, net.forward(X, training=True))
    net.backward(dY)
    np.testing.assert_allclose(net.grad, numerical_grad(objective, net.theta), rtol=1e-5,
                               atol=1e-8)


def test_scale_divides_by_the_std_without_centering():
    X, y = problem("regression")
    model = LinearRegression(optimizer="lbfgs", scale=True, alpha=1e-3).fit(X, y)
    reference = StandardScaler(with_mean=False).fit(X)
    np.testing.assert_allclose(model.input_scale_, reference.scale_, rtol=1e-12)
    np.testing.assert_array_equal(model.input_mean_, 0.0)
    np.testing.assert_allclose(column_std(X), np.sqrt(reference.var_), rtol=1e-12)
    # scale=True standardises a regressor's target too: the same fit as on (y - ȳ) / s_y
    plain = LinearRegression(optimizer="lbfgs", alpha=1e-3).fit(reference.transform(X),
                                                                 (y - y.mean()) / y.std())
    np.testing.assert_allclose(model.coef_, plain.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(model.predict(X), model.predict(X.toarray()), rtol=1e-10)
    centered = LinearRegression(optimizer="lbfgs", scale=True).fit(X.toarray(), y)
    with pytest.raises(ParameterError, match="centers each feature"):
        centered.predict(X)


def test_early_stopping_splits_a_sparse_matrix_as_a_dense_one():
    X, y = problem("binary", n=200)
    parts = train_validation_split(X, y, 0.2, stratify=True, random_state=0)
    dense = train_validation_split(X.toarray(), y, 0.2, stratify=True, random_state=0)
    for a, b in zip(parts, dense, strict=True):
        np.testing.assert_array_equal(a.toarray() if is_sparse(a) else a, b)
    settings = dict(early_stopping=True, batch_size=10, epochs=5, random_state=0)
    np.testing.assert_allclose(LogisticRegression(**settings).fit(X, y).coef_,
                               LogisticRegression(**settings).fit(X.toarray(), y).coef_,
                               rtol=1e-10)


def test_batches_of_a_sparse_matrix_are_its_rows():
    X, y = problem("regression", n=23)
    for batch_size in (1, 5, None):
        sparse = Batcher(X, y, batch_size, random_state=4)
        dense = Batcher(X.toarray(), y, batch_size, random_state=4)
        for (Xs, ys), (Xd, yd) in zip(sparse.epoch(), dense.epoch(), strict=True):
            assert is_sparse(Xs)
            np.testing.assert_array_equal(Xs.toarray(), Xd)
            np.testing.assert_array_equal(ys, yd)


def test_bad_sparse_input_is_refused_clearly():
    X, y = problem("binary")
    bad = X.copy()
    bad.data[5] = np.nan
    row = int(np.searchsorted(bad.indptr, 5, side="right") - 1)
    with pytest.raises(ParameterError, match=rf"NaN in column {bad.indices[5]} \(first at row "
                                             rf"{row}\)"):
        LogisticRegression().fit(bad, y)
    model = LogisticRegression(optimizer="lbfgs").fit(X, y)
    narrow = sp.random(3, 24, format="csr")
    with pytest.raises(ParameterError, match="expecting 25 features"):
        model.predict(narrow)
    with pytest.raises(ParameterError, match="expecting 25 features"):
        LogisticRegression(epochs=2).fit(X, y, validation_data=(narrow, y[:3]))
    with pytest.raises(ParameterError, match="0 sample"):
        check_sparse_X(sp.csr_matrix((0, 4)))
    net = nn.Network([nn.Tanh(), nn.Dense(1)], 25)
    with pytest.raises(ParameterError, match="sparse input goes into a first Dense layer"):
        net.forward(X)
    net = nn.Network([nn.Dense(1)], 25)
    net.forward(X, training=True)
    with pytest.raises(ParameterError, match="gradient with respect to a sparse input"):
        net.backward(np.ones((X.shape[0], 1)), return_dX=True)


def test_a_matrix_too_large_to_densify_trains_in_little_memory():
    """2·10⁵ × 10⁶ with 10⁵ non-zeros: 1.6 TB dense, a few MB here, by every kind of fit."""
    n, d = 2 * 10**5, 10**6
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, n, 10**5), rng.integers(0, d, 10**5)
    X = sp.csr_matrix((rng.random(10**5), (rows, cols)), shape=(n, d))
    y = (np.bincount(rows, minlength=n) % 2).astype(float)
    tracemalloc.start()
    try:
        for settings in (dict(batch_size=1, epochs=1, optimizer="sgd", scale=True),
                         dict(optimizer="lbfgs", epochs=3),
                         dict(batch_size=50_000, epochs=1, optimizer="adam")):
            model = LogisticRegression(random_state=0, tol=None, **settings).fit(X, y)
            assert np.isfinite(model.coef_).all()
        COMPILED.clear()
        MLPClassifier((2,), batch_size=50_000, epochs=1, random_state=0).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 400 * 2**20  # a handful of n- and d-length vectors, never n × d
