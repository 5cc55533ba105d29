"""The scikit-learn compatible models: reference results, compatibility, files, errors."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as ScikitLogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import steepest
from steepest import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor, schedules
from steepest.errors import FileFormatError, ParameterError


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def textbook_descent(x, y, lr, epochs):
    """The derivation every course shows: w ← w + lr·(2/n)Σx(y − ŷ), b ← b + lr·(2/n)Σ(y − ŷ)."""
    w = b = 0.0
    for _ in range(epochs):
        residual = y - (w * x + b)
        w, b = w + lr * 2 * np.mean(x * residual), b + lr * 2 * np.mean(residual)
    return w, b


def test_the_seeds_example_runs_every_epoch_and_equals_the_textbook_loop():
    """With the defaults (tol=None: epochs keeps Keras's meaning) the seed's example runs
    its 1000 epochs and is the textbook loop to 1e-12 (it stopped at 998 by tol before)."""
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no ConvergenceWarning without a tol
        model = LinearRegression(lr=0.01, epochs=1000, batch_size=None).fit(x.reshape(-1, 1),
                                                                            y)
    w, b = textbook_descent(x, y, 0.01, 1000)
    assert model.n_iter_ == 1000 and len(model.history_["loss"]) == 1000
    assert abs(model.coef_[0] - w) <= 1e-12 and abs(model.intercept_ - b) <= 1e-12


@pytest.mark.parametrize("cls", [LinearRegression, LogisticRegression, MLPClassifier,
                                 MLPRegressor])
def test_tol_defaults_to_none_and_a_tol_still_warns_when_epochs_run_out(cls):
    assert cls().tol is None
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = X[:, 0] > 0 if issubclass(cls, (LogisticRegression, MLPClassifier)) else X[:, 0]
    small = {"hidden_layer_sizes": (4,)} if cls in (MLPClassifier, MLPRegressor) else {}
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 epochs"):
        cls(epochs=3, tol=1e-12, patience=5, **small).fit(X, y)


def test_textbook_linear_regression():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0])
    model = LinearRegression(lr=0.01, epochs=1000, tol=None).fit(x.reshape(-1, 1), y)
    assert model.coef_[0] == pytest.approx(1.98966, abs=5e-6)
    assert model.intercept_ == pytest.approx(0.03040, abs=5e-6)
    w, b = textbook_descent(x, y, 0.01, 1000)
    assert model.coef_[0] == pytest.approx(w, abs=1e-9)
    assert model.intercept_ == pytest.approx(b, abs=1e-9)
    assert model.n_iter_ == 1000 and len(model.history_["loss"]) == 1000


def logistic_objective(X, y, alpha, coef, intercept):
    z = X @ coef + intercept
    return np.mean(np.logaddexp(0, z) - y * z) + alpha / 2 * coef @ coef


@pytest.mark.parametrize(("optimizer", "kwargs"), [
    ("lbfgs", {"epochs": 500, "tol": 1e-10}),
    ("newton", {"epochs": 50, "tol": 1e-10}),
    ("sgd", {"lr": 0.5, "epochs": 3000, "tol": None}),
])
def test_logistic_regression_reaches_scikit_learns_objective(cancer, optimizer, kwargs):
    X, y = cancer
    alpha = 1e-2
    reference = ScikitLogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    reference.fit(X, y)
    best = logistic_objective(X, y, alpha, reference.coef_[0], reference.intercept_[0])
    model = LogisticRegression(optimizer=optimizer, alpha=alpha, **kwargs).fit(X, y)
    ours = logistic_objective(X, y, alpha, model.coef_[0], model.intercept_[0])
    assert (ours - best) / best < 1e-6


def test_mlp_classifier_on_digits(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier((64,), batch_size=32, epochs=40, tol=None, random_state=0)
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.96
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X_test))


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((16,), dropout=0.2, batch_norm=True, batch_size=16, epochs=3,
                          tol=None, random_state=7),
    lambda: LogisticRegression(batch_size=1, epochs=2, tol=None, random_state=7),
])
def test_same_seed_same_model_bit_for_bit(digits, make):
    X_train, _, y_train, _ = digits
    first, second = make().fit(X_train, y_train), make().fit(X_train, y_train)
    np.testing.assert_array_equal(first._network.theta, second._network.theta)
    assert first.history_["loss"] == second.history_["loss"]


def test_batch_variants_all_learn(digits):
    X_train, X_test, y_train, y_test = digits
    for batch_size, lr in ((None, 0.5), (1, 0.01), (32, 0.1)):
        model = LogisticRegression(batch_size=batch_size, lr=lr, epochs=20, tol=None,
                                   random_state=0).fit(X_train, y_train)
        assert model.score(X_test, y_test) > 0.9, batch_size


def test_regressors_fit_a_linear_target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    linear = LinearRegression(optimizer="lbfgs", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(linear.coef_, [1.0, -2.0, 0.5], atol=1e-6)
    assert linear.intercept_ == pytest.approx(3.0, abs=1e-6)
    mlp = MLPRegressor((32,), lr=1e-2, batch_size=32, epochs=200, random_state=0).fit(X, y)
    assert mlp.score(X, y) > 0.99
    two = LinearRegression(optimizer="lbfgs").fit(X, np.column_stack([y, -y]))
    assert two.predict(X).shape == (200, 2) and two.coef_.shape == (2, 3)


def test_early_stopping_keeps_the_best_validation_loss(digits):
    X_train, _, y_train, _ = digits
    model = MLPClassifier((32,), early_stopping=True, patience=3, epochs=200, lr=1e-2,
                          random_state=0).fit(X_train, y_train)
    assert model.n_iter_ < 200
    assert np.nanmin(model.history_["val_loss"]) <= model.history_["val_loss"][-1]
    assert "val_score" in model.history_


def test_pipeline_grid_search_and_clone(digits):
    X_train, X_test, y_train, y_test = digits
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(epochs=30, tol=None))
    search = GridSearchCV(pipeline, {"logisticregression__lr": [0.01, 0.1]}, cv=2)
    search.fit(X_train, y_train)
    assert search.best_params_["logisticregression__lr"] in (0.01, 0.1)
    assert search.score(X_test, y_test) > 0.9
    scheduled = LogisticRegression(lr=schedules.cosine(0.1, total_steps=30))
    assert repr(clone(scheduled).lr) == repr(scheduled.lr)


def test_partial_fit_runs_one_epoch_at_a_time(digits):
    X_train, X_test, y_train, y_test = digits
    model = LogisticRegression(lr=0.1)
    for _ in range(5):
        model.partial_fit(X_train, y_train, classes=np.arange(10))
    assert model.n_iter_ == 5 and len(model.history_["loss"]) == 5
    assert model.score(X_test, y_test) > 0.85


def test_pickle_keeps_parameters_shared_with_theta(digits):
    X_train, _, y_train, _ = digits
    model = MLPClassifier((8,), epochs=2, tol=None, random_state=0).fit(X_train, y_train)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X_train), model.predict_proba(X_train))
    copy._network.theta[:] = 0.0  # every layer must see it
    assert np.all(copy._network.layers[0].W == 0.0)


@pytest.mark.parametrize("model", [
    LinearRegression(epochs=20),
    LogisticRegression(epochs=20, lr=schedules.warmup(schedules.cosine(0.1, 20), steps=3)),
    MLPClassifier((8,), batch_norm=True, epochs=3, random_state=0),
    MLPRegressor((8,), epochs=3, random_state=0),
], ids=lambda m: type(m).__name__)
def test_save_and_load_give_the_same_predictions(tmp_path, digits, model):
    X_train, X_test, y_train, _ = digits
    y = y_train if hasattr(model, "predict_proba") else y_train.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y)
    path = model.save(tmp_path / "model.safetensors")
    loaded = steepest.load(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert loaded.history_ == model.history_


def test_a_custom_callable_rate_cannot_be_saved(tmp_path):
    model = LinearRegression(lr=lambda t: 0.01, epochs=2, tol=None).fit([[0.0], [1.0]],
                                                                         [0.0, 1.0])
    with pytest.raises(ParameterError, match="cannot be saved: a model file holds no code"):
        model.save(tmp_path / "m.safetensors")


def test_load_refuses_damaged_files(tmp_path):
    model = LinearRegression(epochs=2, tol=None).fit([[0.0], [1.0]], [0.0, 1.0])
    path = model.save(tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(FileFormatError, match="not a readable steepest file"):
        steepest.load(path)


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError):
        LogisticRegression().predict([[0.0, 1.0]])


@pytest.mark.parametrize(("model", "message"), [
    (LogisticRegression(lr=-0.1),
     "The 'lr' parameter of LogisticRegression must be a float in the range (0.0, inf). "
     "Got -0.1 instead."),
    (MLPClassifier(hidden_layer_sizes=(8, 0)),
     "The 'hidden_layer_sizes[1]' parameter of MLPClassifier must be an int in the range "
     "[1, inf). Got 0 instead."),
    (LinearRegression(optimizer="adma"),
     "The 'optimizer' parameter of LinearRegression must be an optimizer of steepest.optim or "
     "one of adadelta, adagrad, adam, adamax, adamw, nadam, radam, rmsprop, sgd, yogi, lbfgs, "
     "newton. "
     "Got 'adma' instead."),
    (LogisticRegression(optimizer="lbfgs", penalty="l1", alpha=0.1),
     "optimizer='lbfgs' needs a smooth objective, and the l1 penalty is not differentiable "
     "at 0; use penalty='l2', or a first-order optimizer such as 'sgd' or 'adam'."),
])
def test_bad_parameters_are_named_in_fit(model, message):
    with pytest.raises(ParameterError) as error:
        model.fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1])
    assert str(error.value) == message


def test_bad_data_is_named():
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(ParameterError, match=r"column 1 \(first at row 2\)"):
        LinearRegression().fit(X, np.ones(4))
    with pytest.raises(ParameterError, match="a classifier needs at least two"):
        LogisticRegression().fit(np.ones((4, 2)), np.zeros(4))
    model = LinearRegression(epochs=2, tol=None).fit(np.ones((4, 2)), np.ones(4))
    with pytest.raises(ParameterError, match="X has 3 features"):
        model.predict(np.ones((2, 3)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_string_labels_round_trip(digits):
    X_train, _, y_train, _ = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                       "nine"])[y_train]
    model = LogisticRegression(optimizer="lbfgs", epochs=100).fit(X_train, labels)
    assert set(model.predict(X_train)) <= set(labels)
    assert model.score(X_train, labels) > 0.95


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("model", [
    LinearRegression(), LogisticRegression(),
    MLPClassifier((16,), lr=1e-2, epochs=100), MLPRegressor((16,), lr=1e-2, epochs=100),
], ids=lambda m: type(m).__name__)
def test_scikit_learn_estimator_checks(model):
    """Every check passes, none expected to fail (check_dtype_object included: a
    non-numeric X is a NonNumericError, a TypeError as well as steepest's message)."""
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(model)


def test_scale_standardizes_inside_the_model_and_its_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) * np.array([1.0, 1e3, 1e-3]) + np.array([0.0, 5e3, 1.0])
    y = (X[:, 0] + (X[:, 1] - 5e3) / 1e3 + (X[:, 2] - 1.0) * 1e3 > 0).astype(int)
    scaled = LogisticRegression(scale=True, lr=0.5, epochs=300, tol=None).fit(X, y)
    assert scaled.score(X, y) > 0.95
    np.testing.assert_allclose(scaled.input_mean_, X.mean(axis=0))
    loaded = steepest.load(scaled.save(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(loaded.predict_proba(X), scaled.predict_proba(X))
    reference = make_pipeline(StandardScaler(), LogisticRegression(lr=0.5, epochs=300,
                                                                   tol=None)).fit(X, y)
    np.testing.assert_allclose(scaled.predict_proba(X), reference.predict_proba(X), rtol=1e-10)


class _Kill(Exception):
    pass


def test_checkpoint_resume_ends_bit_identical(tmp_path, digits, monkeypatch):
    X_train, _, y_train, _ = digits
    make = lambda: MLPClassifier((16,), dropout=0.1, batch_size=64, epochs=6,  # noqa: E731
                                 early_stopping=True, tol=None, random_state=3)
    uninterrupted = make().fit(X_train, y_train)

    from steepest.train import Checkpoint

    original = Checkpoint.on_epoch_end

    def kill_after_epoch_3(self, epoch, logs):
        original(self, epoch, logs)
        if epoch == 3:
            raise _Kill

    path = tmp_path / "run.ckpt"
    monkeypatch.setattr(Checkpoint, "on_epoch_end", kill_after_epoch_3)
    with pytest.raises(_Kill):
        make().fit(X_train, y_train, checkpoint=path)
    monkeypatch.setattr(Checkpoint, "on_epoch_end", original)
    resumed = make().fit(X_train, y_train, checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed._network.theta, uninterrupted._network.theta)
    assert resumed.history_["loss"] == uninterrupted.history_["loss"]


def test_validation_data_is_recorded_every_epoch(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier((16,), epochs=4, tol=None, scale=True, random_state=0)
    model.fit(X_train, y_train, validation_data=(X_test, y_test))
    assert len(model.history_["val_loss"]) == 4 and len(model.history_["val_score"]) == 4
    assert model.history_["val_score"][-1] == pytest.approx(model.score(X_test, y_test))


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((16,), epochs=3, tol=None, random_state=0),
    lambda: LogisticRegression(epochs=20, tol=None),
    lambda: MLPRegressor((8,), epochs=3, tol=None, random_state=0),
], ids=["mlp-classifier", "logistic", "mlp-regressor"])
def test_float32_data_trains_in_float32(tmp_path, digits, make):
    X_train, X_test, y_train, _ = digits
    X32 = X_train.astype(np.float32)
    y = y_train if "Regressor" not in type(make()).__name__ else y_train.astype(np.float32)
    model = make().fit(X32, y)
    assert model._network.theta.dtype == np.float32
    assert np.all(np.isfinite(model._network.theta))
    loaded = steepest.load(model.save(tmp_path / "m.safetensors"))
    assert loaded._network.theta.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert make().fit(X_train, y)._network.theta.dtype == np.float64


def test_a_divergence_warning_names_the_line_that_called_fit():
    from steepest.train import DivergenceWarning

    X = np.linspace(0, 10, 40).reshape(-1, 1)
    with pytest.warns(DivergenceWarning) as caught:
        LinearRegression(optimizer="sgd", lr=0.5, epochs=30, tol=None).fit(X, 3 * X.ravel())
    assert caught and all(warning.filename == __file__ for warning in caught)


def test_history_records_updates_and_events_as_json(tmp_path):
    import json

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    model = MLPClassifier((6,), batch_size=50, epochs=40, early_stopping=True, patience=2,
                          tol=0.5, random_state=0).fit(X, y)
    history = model.history_
    # 108 training rows (validation_fraction=0.1 held out): batches of 50, 50 and 8
    assert history["updates"] == [3 * e for e in range(1, model.n_iter_ + 1)]
    assert [event["event"] for event in history["events"]][:1] == ["early_stop"]
    stop = history["events"][0]
    assert stop["epoch"] == model.n_iter_ and stop["monitor"] == "val_loss"
    assert 1 <= stop["best_epoch"] <= model.n_iter_
    assert all(0.0 <= share <= 1.0 for share in history["dead_units/1"])
    json.dumps(history, allow_nan=True)              # a model file holds it as JSON
    loaded = steepest.load(model.save(tmp_path / "m.safetensors"))
    assert loaded.history_ == history


def test_full_batch_fitting_counts_one_update_an_iteration():
    X = np.random.default_rng(1).normal(size=(50, 2))
    model = LogisticRegression(optimizer="lbfgs", epochs=30).fit(X, X[:, 0] > 0.1)
    assert model.history_["updates"] == list(range(1, model.n_iter_ + 1))
    assert model.history_["events"] == [] and len(model.history_["loss"]) == model.n_iter_


def test_non_finite_parameters_are_a_non_finite_error_the_cli_shows_in_one_line(capsys):
    import typer

    from steepest.cli import _errors
    from steepest.errors import NonFiniteError

    model = LinearRegression(epochs=2, tol=None).fit([[0.0], [1.0]], [0.0, 1.0])
    model._network.theta[0] = np.inf
    with pytest.raises(NonFiniteError, match="produced non-finite parameters") as error:
        model._check_finite_parameters()
    with pytest.raises(typer.Exit), _errors():
        raise error.value
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"Error: {error.value}"] and "\n" not in str(error.value)


# -- data like scikit-learn: names, weights, classes, scaling -----------------------------


@pytest.fixture(scope="module")
def iris_frame():
    pytest.importorskip("pandas")
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    return data.data.rename(columns=lambda name: name.replace(" (cm)", "")), data.target


def test_a_data_frame_names_the_features_and_reordered_columns_are_refused(iris_frame):
    X, y = iris_frame
    model = LogisticRegression(scale=True).fit(X, y)
    assert model.feature_names_in_.tolist() == list(X.columns) and model.n_features_in_ == 4
    reordered = X[X.columns[::-1]]
    np.testing.assert_array_equal(model.predict(reordered[model.feature_names_in_]),
                                  model.predict(X))
    with pytest.raises(ParameterError, match=r"X has the columns of fit in another order "
                                             r"\('petal width', .*pass X\[model"):
        model.predict(reordered)
    with pytest.raises(ParameterError, match="in another order"):
        model.score(reordered, y)


def test_missing_or_renamed_columns_are_refused_naming_them(iris_frame):
    X, y = iris_frame
    model = LinearRegression().fit(X, y)
    renamed = X.rename(columns={"sepal length": "length"})
    with pytest.raises(ParameterError, match="lacks the column.s. 'sepal length' seen in fit and "
                                             "has the column.s. 'length' not seen in fit"):
        model.predict(renamed)
    with pytest.raises(ParameterError, match="lacks the column.s. 'petal width'"):
        model.predict(X.drop(columns="petal width"))


def test_names_in_fit_and_none_at_predict_warn_as_scikit_learn(iris_frame):
    X, y = iris_frame
    model = MLPClassifier((4,), epochs=2, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but "
                                         "MLPClassifier was fitted with feature names"):
        model.predict(X.to_numpy())
    plain = MLPClassifier((4,), epochs=2, random_state=0).fit(X.to_numpy(), y)
    assert not hasattr(plain, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but MLPClassifier was fitted "
                                         "without"):
        plain.predict(X)


def test_partial_fit_checks_the_columns_by_name(iris_frame):
    X, y = iris_frame
    model = MLPClassifier((4,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ParameterError, match="in another order"):
        model.partial_fit(X[X.columns[::-1]], y)


def test_duplicate_column_names_are_refused_in_one_line():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.ones((3, 2)), columns=["a", "a"])
    with pytest.raises(ParameterError, match="^X has two columns named 'a'; give every column "
                                             "its own name.$"):
        LinearRegression().fit(frame, [1.0, 2.0, 3.0])


def test_the_first_partial_fit_of_a_classifier_needs_the_classes():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(int)
    for cls in (LogisticRegression, MLPClassifier):
        with pytest.raises(ParameterError, match="first partial_fit of .* needs classes="):
            cls().partial_fit(X, y)
        model = cls().partial_fit(X, y, classes=[0, 1])
        model.partial_fit(X, y)                       # later calls need none
        with pytest.raises(ParameterError, match="is not the same as on the first call"):
            model.partial_fit(X, y, classes=[0, 1, 2])


def test_a_column_whose_squares_overflow_gets_a_finite_scale_and_keeps_its_weight(tmp_path):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=60) * 1e300, rng.normal(size=60)])
    y = X[:, 0] / 1e300 + 0.5 * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # no "overflow encountered in square"
        model = LinearRegression(optimizer="lbfgs", scale=True).fit(X, y)
    assert np.isfinite(model.input_scale_).all()
    assert model.input_scale_[0] == pytest.approx(np.std(X[:, 0] / 1e300) * 1e300, rel=1e-12)
    assert model.score(X, y) > 0.999                  # the column was not zeroed
    loaded = steepest.load(model.save(tmp_path / "big.safetensors"))
    assert np.isfinite(loaded.input_scale_).all()
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-12)


def test_regression_targets_are_standardised_with_scale_and_restored_at_predict(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = 1e4 * (X @ [1.0, -2.0, 0.5]) + 3e5
    model = LinearRegression(scale=True, lr=0.1, epochs=300).fit(X, y)
    assert model.y_mean_ == pytest.approx([y.mean()]) and model.y_scale_ == pytest.approx(
        [y.std()])
    assert model.history_["loss"][-1] < 1e-6          # in standardised units: 1 is the mean
    assert model.score(X, y) > 0.9999
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-5)
    loaded = steepest.load(model.save(tmp_path / "y.safetensors"))
    np.testing.assert_allclose(loaded.y_scale_, model.y_scale_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    two = MLPRegressor((8,), scale=True, epochs=50, random_state=0).fit(
        X, np.column_stack([y, -y]))
    assert two.y_mean_.shape == (2,) and two.predict(X).shape == (80, 2)


def test_integer_sample_weights_equal_repeated_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=30)
    counts = rng.integers(0, 4, size=30)
    repeated = np.repeat(np.arange(30), counts)
    for settings in ({"optimizer": "lbfgs", "tol": 1e-12}, {"lr": 0.05, "epochs": 200}):
        weighted = LinearRegression(scale=True, **settings).fit(X, y, sample_weight=counts)
        copies = LinearRegression(scale=True, **settings).fit(X[repeated], y[repeated])
        np.testing.assert_allclose(weighted.coef_, copies.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(weighted.input_mean_, copies.input_mean_, rtol=1e-12)
        np.testing.assert_allclose(weighted.input_scale_, copies.input_scale_, rtol=1e-12)
        np.testing.assert_allclose(weighted.y_scale_, copies.y_scale_, rtol=1e-12)
    # the weighted mean loss Σwℓ/Σw is the loss of the copies
    np.testing.assert_allclose(weighted.history_["loss"], copies.history_["loss"], rtol=1e-9)


def test_sample_weight_in_mini_batches_and_partial_fit():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    weight = np.where(y == 1, 5.0, 1.0)
    plain = LogisticRegression(batch_size=16, epochs=20, random_state=0).fit(X, y)
    heavy = LogisticRegression(batch_size=16, epochs=20, random_state=0).fit(
        X, y, sample_weight=weight)
    assert heavy.predict(X).mean() > plain.predict(X).mean()   # leans to the heavy class
    ones = LogisticRegression(batch_size=16, epochs=20, random_state=0).fit(
        X, y, sample_weight=np.ones(200))
    np.testing.assert_allclose(ones.coef_, plain.coef_, rtol=1e-10)
    model = MLPClassifier((4,), random_state=0)
    for _ in range(3):
        model.partial_fit(X, y, classes=[0, 1], sample_weight=weight)
    assert model.n_iter_ == 3
    with pytest.raises(ParameterError, match="negative weight -1.0 at row 0"):
        LinearRegression().fit(X, X[:, 0], sample_weight=np.r_[-1.0, np.ones(199)])
    with pytest.raises(ParameterError, match=r"one weight per sample, shape \(200,\)"):
        LinearRegression().fit(X, X[:, 0], sample_weight=np.ones(3))


def test_class_weight_balanced_and_a_dict_are_sample_weights():
    from sklearn.utils.class_weight import compute_class_weight

    rng = np.random.default_rng(4)
    X = rng.normal(size=(90, 2))
    y = np.where(X[:, 0] > 0.8, "rare", "common")
    balanced = LogisticRegression(optimizer="lbfgs", class_weight="balanced").fit(X, y)
    per_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    weights = per_class[np.searchsorted(np.unique(y), y)]
    by_hand = LogisticRegression(optimizer="lbfgs").fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(balanced.coef_, by_hand.coef_, rtol=1e-9)
    as_dict = LogisticRegression(optimizer="lbfgs", class_weight={"rare": 3.0}).fit(X, y)
    three = LogisticRegression(optimizer="lbfgs").fit(X, y, sample_weight=np.where(
        y == "rare", 3.0, 1.0))
    np.testing.assert_allclose(as_dict.coef_, three.coef_, rtol=1e-9)
    with pytest.raises(ParameterError, match="class_weight names the class 'other'"):
        LogisticRegression(class_weight={"other": 2.0}).fit(X, y)
    with pytest.raises(ParameterError, match="'balanced' needs the counts of all the data"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=["common", "rare"])
    with pytest.raises(ParameterError, match="'class_weight' parameter of LogisticRegression"):
        LogisticRegression(class_weight="even").fit(X, y)


def test_an_object_column_holding_a_dict_is_a_type_error_with_steepests_words():
    from steepest.errors import NonNumericError

    X = np.ones((4, 2), dtype=object)
    X[1, 1] = {"foo": "bar"}
    with pytest.raises(TypeError, match="non-numeric value {'foo': 'bar'} in column 1 "
                                        r"\(first at row 1\)") as error:
        LinearRegression().fit(X, np.ones(4))
    assert isinstance(error.value, NonNumericError) and isinstance(error.value, ParameterError)
