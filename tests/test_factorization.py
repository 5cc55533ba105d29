"""MatrixFactorization: Surprise's SVD to the bit, the mini-batch gradient, ids, files, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

import steepest
from steepest import MatrixFactorization, _factorization_kernels, optim, schedules
from steepest.diagnose import diagnose
from steepest.errors import FileFormatError, NonFiniteError, ParameterError
from steepest.plot import plot_training_curves

REFERENCE = Path(__file__).parent / "data" / "mf_reference.npz"


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data}


@pytest.fixture(scope="module")
def ratings():
    """240 ratings of 20 users and 15 items, ids in no sorted order, ratings 1-5."""
    rng = np.random.default_rng(3)
    users = rng.choice(500, size=20, replace=False)
    items = rng.choice(500, size=15, replace=False)
    pairs = rng.choice(20 * 15, size=240, replace=False)
    X = np.column_stack([users[pairs // 15], items[pairs % 15]])
    return X, rng.integers(1, 6, size=240).astype(np.float64)


def surprise_loop(users, items, r, P, Q, bu, bi, mu, lr, alpha, epochs, biased=True):
    """Surprise's ``SVD.sgd``, line for line in Python, on dense indices; returns each
    epoch's errors (each taken before its rating's update) and penalties."""
    errors, penalties = [], []
    order = np.argsort(users, kind="stable")  # trainset.all_ratings(): grouped by user
    for _ in range(epochs):
        errs, pens = [], []
        for j in order:
            u, i = users[j], items[j]
            dot = 0.0
            for f in range(P.shape[1]):
                dot += Q[i, f] * P[u, f]
            err = r[j] - (mu + bu[u] + bi[i] + dot)
            errs.append(err)
            pens.append(alpha * (P[u] @ P[u] + Q[i] @ Q[i] + (bu[u] ** 2 + bi[i] ** 2
                                                              if biased else 0.0)))
            if biased:
                bu[u] += lr * (err - alpha * bu[u])
                bi[i] += lr * (err - alpha * bi[i])
            for f in range(P.shape[1]):
                puf, qif = P[u, f], Q[i, f]
                P[u, f] += lr * (err * qif - alpha * puf)
                Q[i, f] += lr * (err * puf - alpha * qif)
        errors.append(np.array(errs))
        penalties.append(np.array(pens))
    return errors, penalties


# -- Surprise ------------------------------------------------------------------------------


@pytest.mark.parametrize("biased", [True, False])
def test_same_start_and_order_give_surprises_factors(reference, biased):
    """scripts/make_mf_references.py ran Surprise 1.1.5's SVD; same start, same factors."""
    X = np.column_stack([reference["users"], reference["items"]])
    model = MatrixFactorization(4, epochs=3, biased=biased).fit(
        X, reference["ratings"], user_factors=reference["user_factors_start"],
        item_factors=reference["item_factors_start"])
    np.testing.assert_array_equal(model.users_, reference["inner_users"])
    np.testing.assert_array_equal(model.items_, reference["inner_items"])
    assert model.global_mean_ == pytest.approx(float(reference["global_mean"]), rel=1e-15)
    tag = "biased" if biased else "unbiased"
    for mine, theirs in ((model.user_factors_, "pu"), (model.item_factors_, "qi"),
                         (model.user_bias_, "bu"), (model.item_bias_, "bi")):
        np.testing.assert_allclose(mine, reference[f"{tag}_{theirs}"], rtol=1e-12, atol=1e-15)
    pairs = np.column_stack([reference["test_users"], reference["test_items"]])
    np.testing.assert_allclose(model.predict(pairs), reference[f"{tag}_predictions"],
                               rtol=1e-12)


def test_the_compiled_loop_is_surprises_loop_and_its_history(ratings):
    """Against the line-for-line Python loop: the factors, and ``loss``/``rmse`` per epoch
    as the errors before each update make them."""
    X, y = ratings
    rng = np.random.default_rng(5)
    P0, Q0 = rng.normal(0, 0.1, (20, 3)), rng.normal(0, 0.1, (15, 3))
    model = MatrixFactorization(3, epochs=4, lr=0.02, alpha=0.05).fit(
        X, y, user_factors=P0, item_factors=Q0)
    rank_u = {v: k for k, v in enumerate(model.users_.tolist())}
    rank_i = {v: k for k, v in enumerate(model.items_.tolist())}
    users = np.array([rank_u[v] for v in X[:, 0].tolist()])
    items = np.array([rank_i[v] for v in X[:, 1].tolist()])
    P, Q = P0.copy(), Q0.copy()
    bu, bi = np.zeros(len(rank_u)), np.zeros(len(rank_i))
    errors, penalties = surprise_loop(users, items, y, P, Q, bu, bi, y.mean(), 0.02, 0.05, 4)
    np.testing.assert_allclose(model.user_factors_, P, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.item_bias_, bi, rtol=1e-12, atol=1e-15)
    rmse = [np.sqrt(np.mean(e ** 2)) for e in errors]
    loss = [np.mean(0.5 * (e ** 2 + p)) for e, p in zip(errors, penalties, strict=True)]
    np.testing.assert_allclose(model.history_["rmse"], rmse, rtol=1e-12)
    np.testing.assert_allclose(model.history_["loss"], loss, rtol=1e-12)
    assert model.history_["lr"] == [0.02] * 4
    assert model.n_iter_ == 4 and len(model.history_["time"]) == 4


# -- the mini-batch objective ----------------------------------------------------------------


def _parameters(theta, n_users, n_items, k):
    P = theta[:n_users * k].reshape(n_users, k)
    Q = theta[n_users * k:(n_users + n_items) * k].reshape(n_items, k)
    bu = theta[(n_users + n_items) * k:(n_users + n_items) * k + n_users]
    return P, Q, bu, theta[theta.size - n_items:]


@settings(max_examples=30, deadline=None)
@given(n_users=st.integers(1, 4), n_items=st.integers(1, 4), k=st.integers(1, 3),
       n=st.integers(1, 10), biased=st.booleans(), alpha=st.floats(0.0, 2.0),
       seed=st.integers(0, 2**32 - 1))
def test_batch_gradient_matches_finite_differences(n_users, n_items, k, n, biased, alpha,
                                                   seed):
    rng = np.random.default_rng(seed)
    users, items = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
    r = rng.uniform(1, 5, n)
    batch = rng.permutation(n)[:rng.integers(1, n + 1)]
    theta = rng.normal(0, 0.5, (n_users + n_items) * (k + 1))
    P, Q, bu, bi = _parameters(theta, n_users, n_items, k)
    if not biased:
        bu[...] = bi[...] = 0.0
    mu = 3.0 if biased else 0.0
    grad = np.zeros_like(theta)
    gP, gQ, gbu, gbi = _parameters(grad, n_users, n_items, k)

    def value():  # J_B, written from its definition
        u, i = users[batch], items[batch]
        estimate = mu + np.sum(P[u] * Q[i], 1)
        norms = np.sum(P[u] ** 2 + Q[i] ** 2, 1)
        if biased:
            estimate += bu[u] + bi[i]
            norms += bu[u] ** 2 + bi[i] ** 2
        return np.mean(0.5 * ((r[batch] - estimate) ** 2 + alpha * norms))

    J, squares = _factorization_kernels.batch_gradient(
        users, items, r, batch, 1.0 / batch.size, mu, P, Q, bu, bi, gP, gQ, gbu, gbi, alpha,
        biased)
    assert J == pytest.approx(value(), rel=1e-12)
    np.testing.assert_allclose(grad, numerical_grad(value, theta), rtol=1e-6, atol=1e-8)
    touched_u, touched_i = np.zeros(n_users, bool), np.zeros(n_items, bool)
    touched_u[users[batch]], touched_i[items[batch]] = True, True
    assert not gP[~touched_u].any() and not gQ[~touched_i].any()
    _factorization_kernels.clear_rows(users, items, batch, gP, gQ, gbu, gbi)
    assert not grad.any()


def test_minibatch_sgd_of_one_rating_is_the_per_rating_loop(ratings):
    X, y = ratings
    loop = MatrixFactorization(3, epochs=3, random_state=0).fit(X, y)
    batched = MatrixFactorization(3, epochs=3, optimizer=optim.SGD(lr=0.005), batch_size=1,
                                  shuffle=False, random_state=0).fit(X, y)
    np.testing.assert_allclose(batched.user_factors_, loop.user_factors_, rtol=1e-10)
    np.testing.assert_allclose(batched.item_bias_, loop.item_bias_, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(batched.history_["loss"], loop.history_["loss"], rtol=1e-10)


def test_adam_on_mini_batches_lowers_the_objective(ratings):
    X, y = ratings
    model = MatrixFactorization(4, epochs=15, optimizer="adam", lr=0.01, batch_size=32,
                                random_state=0).fit(X, y, validation_data=(X[:40], y[:40]))
    loss = model.history_["loss"]
    assert loss[-1] < 0.7 * loss[0]  # from the mean-only start (1.0) to 0.56
    assert set(model.history_) == {"loss", "rmse", "val_loss", "val_rmse", "lr", "grad_norm",
                                   "time"}
    assert all(g > 0 for g in model.history_["grad_norm"])
    raw = model.predict(X[:40])  # every id of X[:40] is known, and clipping changes nothing
    assert model.history_["val_rmse"][-1] == pytest.approx(np.sqrt(np.mean((raw - y[:40]) ** 2)),
                                                           rel=1e-12)
    u = [list(model.users_).index(v) for v in X[:40, 0]]
    i = [list(model.items_).index(v) for v in X[:40, 1]]
    norms = (np.sum(model.user_factors_[u] ** 2 + model.item_factors_[i] ** 2, 1)
             + model.user_bias_[u] ** 2 + model.item_bias_[i] ** 2)
    J = np.mean(0.5 * ((y[:40] - raw) ** 2 + 0.02 * norms))
    assert model.history_["val_loss"][-1] == pytest.approx(J, rel=1e-12)


def test_a_schedule_sets_each_ratings_step(ratings):
    X, y = ratings
    schedule = schedules.exponential(0.01, 0.999)
    model = MatrixFactorization(2, epochs=2, lr=schedule, random_state=0).fit(X, y)
    assert model.history_["lr"] == pytest.approx([schedule(239), schedule(479)], rel=1e-15)


def test_shuffle_is_seeded_and_changes_the_order(ratings):
    X, y = ratings
    fixed = MatrixFactorization(3, epochs=2, random_state=0).fit(X, y)
    a = MatrixFactorization(3, epochs=2, shuffle=True, random_state=0).fit(X, y)
    b = MatrixFactorization(3, epochs=2, shuffle=True, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert not np.allclose(a.user_factors_, fixed.user_factors_)


def test_ctrl_c_keeps_the_last_completed_epoch(ratings, monkeypatch):
    X, y = ratings
    two = MatrixFactorization(3, epochs=2, random_state=0).fit(X, y)
    sgd_ratings, calls = _factorization_kernels.sgd_ratings, []

    def interrupted_in_epoch_three(*args):
        calls.append(1)
        if len(calls) == 3:
            sgd_ratings(*args)  # the epoch runs, then the user presses Ctrl-C
            raise KeyboardInterrupt
        return sgd_ratings(*args)

    monkeypatch.setattr(_factorization_kernels, "sgd_ratings", interrupted_in_epoch_three)
    with pytest.warns(UserWarning, match="parameters of epoch 2"):
        model = MatrixFactorization(3, epochs=5, random_state=0).fit(X, y)
    assert model.interrupted_ and model.n_iter_ == 2 and len(model.history_["loss"]) == 2
    np.testing.assert_array_equal(model.user_factors_, two.user_factors_)
    np.testing.assert_array_equal(model.item_bias_, two.item_bias_)


def test_float32_ratings_train_float32_factors(ratings):
    X, y = ratings
    single = MatrixFactorization(3, epochs=3, random_state=0).fit(X, y.astype(np.float32))
    double = MatrixFactorization(3, epochs=3, random_state=0).fit(X, y)
    assert single.user_factors_.dtype == single.item_bias_.dtype == np.float32
    assert single.predict(X[:5]).dtype == np.float32
    np.testing.assert_allclose(single.user_factors_, double.user_factors_, rtol=1e-4,
                               atol=1e-6)


def test_verbose_prints_a_line_per_epoch(ratings, capsys):
    X, y = ratings
    MatrixFactorization(2, epochs=3, verbose=True).fit(X, y, validation_data=(X[:9], y[:9]))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch 3/3  loss ")
    assert "val_rmse" in lines[0]


# -- ids and predictions -------------------------------------------------------------------


def test_unseen_users_and_items_get_the_mean_and_the_known_biases(ratings):
    X, y = ratings
    model = MatrixFactorization(3, epochs=5, lr=0.02, clip=False, random_state=0).fit(X, y)
    u, i = X[0]
    ku, ki = list(model.users_).index(u), list(model.items_).index(i)
    mu, bu, bi = model.global_mean_, model.user_bias_[ku], model.item_bias_[ki]
    known = mu + bu + bi + model.user_factors_[ku] @ model.item_factors_[ki]
    predicted = model.predict([[u, i], [u, -7], [-7, i], [-7, -8]])
    np.testing.assert_allclose(predicted, [known, mu + bu, mu + bi, mu], rtol=1e-13)

    unbiased = MatrixFactorization(3, epochs=5, biased=False, clip=False,
                                   random_state=0).fit(X, y)
    dot = unbiased.user_factors_[ku] @ unbiased.item_factors_[ki]
    np.testing.assert_allclose(unbiased.predict([[u, i], [u, -7], [-7, -8]]),
                               [dot, y.mean(), y.mean()], rtol=1e-13)
    assert not unbiased.user_bias_.any() and not unbiased.item_bias_.any()


def test_clip_keeps_predictions_in_the_training_range(ratings):
    X, y = ratings
    pairs = np.column_stack([np.repeat(X[:, 0], 3)[:300], np.tile(X[:, 1], 3)[:300]])
    free = MatrixFactorization(8, epochs=30, lr=0.05, alpha=0.0, clip=False,
                               random_state=0).fit(X, y)
    clipped = clone(free).set_params(clip=True).fit(X, y)
    raw = free.predict(pairs)
    assert raw.min() < 1.0 or raw.max() > 5.0  # else the test would test nothing
    np.testing.assert_array_equal(clipped.predict(pairs), np.clip(raw, 1.0, 5.0))
    assert clipped.rating_range_ == (1.0, 5.0)


def test_ids_of_any_hashable_type_give_the_same_model(ratings):
    X, y = ratings
    as_ints = MatrixFactorization(3, epochs=3, random_state=0).fit(X, y)
    strings = np.column_stack([[f"user {u}" for u in X[:, 0]], [f"item {i}" for i in X[:, 1]]])
    mixed = [(int(u) if u % 2 else f"u{u}", (i, "x")) for u, i in X.tolist()]
    for Z in (strings, strings.astype(object), mixed):
        model = MatrixFactorization(3, epochs=3, random_state=0).fit(Z, y)
        np.testing.assert_array_equal(model.user_factors_, as_ints.user_factors_)
        np.testing.assert_array_equal(model.predict(Z[:10]), as_ints.predict(X[:10]))
    assert mixed[0][1] in MatrixFactorization(2, epochs=1).fit(mixed, y).items_.tolist()
    assert as_ints.predict([["not a user", 1.5]])[0] == pytest.approx(as_ints.global_mean_)


class _Frame:
    """What MatrixFactorization reads of a data frame: named columns, indexed by name."""

    def __init__(self, **columns):
        self._columns = {name: np.asarray(values) for name, values in columns.items()}
        self.columns = list(self._columns)

    def __getitem__(self, name):
        return self._columns[name]


def test_a_two_column_frame_is_read_by_name(ratings):
    X, y = ratings
    array = MatrixFactorization(3, epochs=2, random_state=0).fit(X, y)
    frame = MatrixFactorization(3, epochs=2, random_state=0).fit(
        _Frame(user=X[:, 0], item=X[:, 1]), y)
    np.testing.assert_array_equal(frame.item_factors_, array.item_factors_)
    assert list(frame.feature_names_in_) == ["user", "item"]
    np.testing.assert_array_equal(frame.predict(_Frame(user=X[:5, 0], item=X[:5, 1])),
                                  array.predict(X[:5]))
    with pytest.raises(ParameterError, match=r"columns \['item', 'user'\]"):
        frame.predict(_Frame(item=X[:5, 1], user=X[:5, 0]))
    with pytest.raises(ParameterError, match="it has 3"):
        frame.fit(_Frame(user=X[:, 0], item=X[:, 1], time=X[:, 1]), y)


def test_a_pandas_frame(ratings):
    pd = pytest.importorskip("pandas")
    X, y = ratings
    frame = pd.DataFrame({"user": X[:, 0].astype(str), "item": X[:, 1]})
    model = MatrixFactorization(3, epochs=2, random_state=0).fit(frame, y)
    array = MatrixFactorization(3, epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict(frame.iloc[:5]), array.predict(X[:5]))


# -- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", ["ints", "strings"])
def test_save_and_load_give_the_same_predictions(tmp_path, ratings, ids):
    X, y = ratings
    Z = X if ids == "ints" else np.array([[f"u{u}", f"i{i}"] for u, i in X.tolist()],
                                         dtype=object)
    model = MatrixFactorization(3, epochs=3, optimizer=optim.Adam(lr=0.01), batch_size=16,
                                random_state=0).fit(Z, y.astype(np.float32))
    path = model.save(tmp_path / "mf.safetensors")
    loaded = steepest.load(path)
    assert type(loaded) is MatrixFactorization
    assert repr(loaded.get_params()["optimizer"]) == repr(model.get_params()["optimizer"])
    assert loaded.user_factors_.dtype == np.float32
    assert loaded.history_ == model.history_ and loaded.n_iter_ == 3
    pairs = np.concatenate([Z[:20], [[Z[0, 0], Z[1, 1]]]])
    unseen = [[-1, Z[0, 1]]] if ids == "ints" else [["nobody", Z[0, 1]]]
    np.testing.assert_array_equal(loaded.predict(pairs), model.predict(pairs))
    np.testing.assert_array_equal(loaded.predict(unseen), model.predict(unseen))


def test_save_refuses_ids_a_file_cannot_keep(tmp_path, ratings):
    X, y = ratings
    model = MatrixFactorization(2, epochs=1).fit([(u, (i, 0)) for u, i in X.tolist()], y)
    with pytest.raises(ParameterError, match=r"items_ holds \(\d+, 0\) \(tuple\)"):
        model.save(tmp_path / "mf.safetensors")
    assert not (tmp_path / "mf.safetensors").exists()
    floats = MatrixFactorization(2, epochs=1).fit(X + 0.5, y)
    with pytest.raises(ParameterError, match="ints .64-bit. or strings"):
        floats.save(tmp_path / "mf.safetensors")


def test_load_refuses_a_damaged_file(tmp_path, ratings):
    X, y = ratings
    path = MatrixFactorization(2, epochs=1).fit(X, y).save(tmp_path / "mf.safetensors")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError):
        steepest.load(path)


def test_pickle_round_trip(ratings):
    X, y = ratings
    model = MatrixFactorization(2, epochs=2, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X[:10]), model.predict(X[:10]))


# -- scikit-learn and errors -----------------------------------------------------------------


def test_clone_get_params_and_grid_search(ratings):
    X, y = ratings
    model = MatrixFactorization(5, lr=0.01, epochs=3, shuffle=True, random_state=4)
    assert clone(model).get_params() == model.get_params()
    assert model.get_params()["n_factors"] == 5 and not hasattr(model, "users_")
    search = GridSearchCV(model, {"n_factors": [2, 4]}, cv=2,
                          scoring="neg_root_mean_squared_error").fit(X, y)
    assert search.best_params_["n_factors"] in (2, 4)
    with pytest.raises(NotFittedError):
        MatrixFactorization().predict(X[:2])


@pytest.mark.parametrize(("params", "message"), [
    ({"n_factors": 0},
     "The 'n_factors' parameter of MatrixFactorization must be an int in the range [1, inf). "
     "Got 0 instead."),
    ({"lr": -0.1},
     "The 'lr' parameter of MatrixFactorization must be a float in the range (0.0, inf). "
     "Got -0.1 instead."),
    ({"shuffle": "yes"},
     "The 'shuffle' parameter of MatrixFactorization must be True, False or None. Got 'yes' "
     "instead."),
    ({"optimizer": "adma"},
     "The 'optimizer' parameter of MatrixFactorization must be an optimizer of steepest.optim "
     "or one of adadelta, adagrad, adam, adamax, adamw, nadam, radam, rmsprop, sgd, yogi. "
     "Got 'adma' instead."),
])
def test_bad_parameters_are_named_in_fit(ratings, params, message):
    X, y = ratings
    with pytest.raises(ParameterError) as error:
        MatrixFactorization(**params).fit(X, y)
    assert str(error.value) == message


def test_bad_ratings_and_ids_are_named(ratings):
    X, y = ratings
    model = MatrixFactorization(2, epochs=1)
    bad = y.copy()
    bad[7] = np.nan
    with pytest.raises(ParameterError, match="y has a NaN at row 7"):
        model.fit(X, bad)
    with pytest.raises(ParameterError, match=r"shape \(n_ratings, 2\).*shape \(240, 3\)"):
        model.fit(np.column_stack([X, X[:, 0]]), y)
    with pytest.raises(ParameterError, match=r"shape \(n_ratings, 2\).*shape \(240,\)"):
        model.fit(X[:, 0], y)
    with pytest.raises(ParameterError, match="X has 240 samples but y has 239"):
        model.fit(X, y[1:])
    ids = X.astype(float)
    ids[5, 1] = np.nan
    with pytest.raises(ParameterError, match=r"missing id \(NaN\) in column 1 \(first at row 5\)"):
        model.fit(ids, y)
    objects = X.astype(object)
    objects[3, 0] = None
    with pytest.raises(ParameterError, match=r"missing id \(None\) in column 0 \(first at row 3"):
        model.fit(objects, y)
    objects[3, 0] = [1, 2]
    with pytest.raises(ParameterError, match=r"unhashable id \[1, 2\] in column 0 \(row 3\)"):
        model.fit(objects, y)
    with pytest.raises(ParameterError, match="'user_factors' argument of fit must have shape"):
        model.fit(X, y, user_factors=np.zeros((3, 2)))


def test_divergence_raises_with_a_remedy(ratings):
    X, y = ratings
    with pytest.raises(NonFiniteError, match=r"diverged in epoch \d+: .* Lower lr \(now 50.0\)"):
        MatrixFactorization(4, lr=50.0, epochs=20, random_state=0).fit(X, y * 100)


def test_diagnose_and_the_plots_read_the_history(ratings):
    X, y = ratings
    model = MatrixFactorization(3, epochs=5, random_state=0).fit(X, y,
                                                                 validation_data=(X, y))
    findings = diagnose(model.history_)
    assert findings and all(finding.code and finding.evidence for finding in findings)
    figure = plot_training_curves({"sgd": model.history_})
    assert len(figure.axes[0].lines) == 1
