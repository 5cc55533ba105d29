"""NetworkClassifier and NetworkRegressor: any layer list, as scikit-learn estimators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

import steepest
from steepest import NetworkClassifier, NetworkRegressor, nn
from steepest.errors import FileFormatError, ParameterError
from steepest.nn.spec import layer_from_spec, layer_spec


def _blobs(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


def _images(n=120, seed=0):
    """Tiny 1×6×6 images: class 1 has a bright top half, class 0 a bright bottom half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    images = rng.uniform(0, 0.3, size=(n, 1, 6, 6))
    images[y == 1, :, :3] += 0.7
    images[y == 0, :, 3:] += 0.7
    return images, y


def _small_cnn():
    return [nn.Conv2D(3, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten()]


def test_clone_and_get_params_keep_the_layer_list_untrained():
    layers = [nn.Dense(8), nn.ReLU()]
    model = NetworkClassifier(layers, epochs=3, random_state=0)
    assert model.get_params()["layers"] is layers
    X, y = _blobs()
    model.fit(X, y)
    assert all(layer.n_in is None for layer in layers)        # never bound to a network
    twin = clone(model)
    assert not hasattr(twin, "n_features_in_")
    assert [repr(a) for a in twin.layers] == [repr(b) for b in layers]
    assert twin.get_params()["epochs"] == 3
    # the same seed on a clone trains the same model
    np.testing.assert_array_equal(twin.fit(X, y).predict_proba(X), model.predict_proba(X))


def test_an_output_layer_is_added_unless_the_list_ends_with_one():
    X, y = _blobs()
    added = NetworkClassifier([nn.Dense(8), nn.ReLU()], epochs=1, random_state=0).fit(X, y)
    assert [type(layer).__name__ for layer in added._network.layers] == ["Dense", "ReLU",
                                                                           "Dense"]
    assert added._network.n_outputs == 3
    kept = NetworkClassifier([nn.Dense(8), nn.ReLU(), nn.Dense(3)], epochs=1,
                             random_state=0).fit(X, y)
    assert len(kept._network.layers) == 3


def test_save_and_load_give_the_same_predictions(tmp_path):
    images, y = _images()
    model = NetworkClassifier(_small_cnn() + [nn.Dropout(0.1), nn.Dense(2)],
                              input_shape=(1, 6, 6), epochs=2, batch_size=16,
                              random_state=0).fit(images.reshape(len(y), -1), y)
    path = model.save(tmp_path / "cnn.safetensors")
    loaded = steepest.load(path)
    assert type(loaded) is NetworkClassifier and loaded.input_shape == (1, 6, 6)
    assert [repr(a) for a in loaded.layers] == [repr(b) for b in model.layers]
    np.testing.assert_array_equal(loaded.predict_proba(images), model.predict_proba(images))
    regressor = NetworkRegressor([nn.Dense(5), nn.Tanh()], epochs=2, random_state=0)
    X, target = _blobs()
    regressor.fit(X, target.astype(float))
    reloaded = steepest.load(regressor.save(tmp_path / "reg.safetensors"))
    np.testing.assert_array_equal(reloaded.predict(X), regressor.predict(X))


def test_a_layer_with_code_cannot_be_saved(tmp_path):
    X, y = _blobs()
    model = NetworkClassifier([nn.Dense(4, weight_init=lambda W, rng: W.fill(0.1))],
                              epochs=1).fit(X, y)
    with pytest.raises(ParameterError, match="a model file holds no code"):
        model.save(tmp_path / "m.safetensors")


def test_layer_specs_round_trip():
    for layer in (nn.Conv2D(4, (3, 2), stride=2, padding=(1, 0)), nn.MaxPool2D(2, 1),
                  nn.AvgPool2D(3), nn.Flatten(), nn.Dense(7, bias=False), nn.LeakyReLU(0.2),
                  nn.ELU(0.5), nn.Dropout(0.3, random_state=4), nn.BatchNorm(0.2, 1e-3)):
        assert repr(layer_from_spec(layer_spec(layer))) == repr(layer)
    with pytest.raises(ParameterError, match="'class' is one of"):
        layer_from_spec({"class": "Lambda"})


def test_a_model_file_with_an_unknown_layer_is_refused(tmp_path):
    from steepest.io import load_arrays, save_arrays

    X, y = _blobs()
    path = NetworkClassifier([nn.Dense(4)], epochs=1).fit(X, y).save(tmp_path / "m.safetensors")
    arrays, metadata = load_arrays(path)
    metadata["params"]["layers"][0]["class"] = "Lambda"
    save_arrays(tmp_path / "edited.safetensors", arrays, metadata)
    with pytest.raises(FileFormatError, match="'class' is one of .* got .*'Lambda'"):
        steepest.load(tmp_path / "edited.safetensors")


def test_input_shape_reads_flat_rows_as_images():
    images, y = _images()
    flat = images.reshape(len(y), -1)
    model = NetworkClassifier(_small_cnn(), input_shape=(1, 6, 6), epochs=15, batch_size=16,
                              lr=1e-2, random_state=0).fit(flat, y)
    assert model.n_features_in_ == 36 and model._network.input_shape == (1, 6, 6)
    assert model.score(flat, y) > 0.95          # the two classes differ by a whole half
    np.testing.assert_array_equal(model.predict(images), model.predict(flat))
    from_images = clone(model).fit(images, y)          # images of input_shape train the same
    np.testing.assert_array_equal(from_images.predict_proba(flat), model.predict_proba(flat))
    with pytest.raises(ParameterError, match=r"input_shape=\(1, 5, 5\) holds 25 values"):
        NetworkClassifier(_small_cnn(), input_shape=(1, 5, 5), epochs=1).fit(flat, y)


def test_predict_runs_in_batches_with_the_same_results(monkeypatch):
    from steepest import estimators

    X, y = _blobs(n=250)
    model = NetworkClassifier([nn.Dense(8), nn.ReLU()], epochs=2, random_state=0).fit(X, y)
    whole = model.predict_proba(X)
    monkeypatch.setattr(estimators, "_PREDICT_BATCH", 7)
    np.testing.assert_allclose(model.predict_proba(X), whole, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("layers, message", [
    ([], "must be a non-empty list of steepest.nn layers"),
    (nn.Dense(3), "must be a non-empty list of steepest.nn layers"),
    ([nn.Dense(3), "relu"], "the entry at position 1 is 'relu' of type str"),
])
def test_a_bad_layer_list_is_refused_in_one_sentence(layers, message):
    X, y = _blobs()
    with pytest.raises(ParameterError, match=message) as error:
        NetworkClassifier(layers).fit(X, y)
    assert str(error.value).count(". ") <= 1


def test_a_bad_input_shape_is_refused():
    X, y = _blobs()
    with pytest.raises(ParameterError, match="must be None or the shape of one sample"):
        NetworkRegressor([nn.Dense(2)], input_shape=(2, 0)).fit(X, y.astype(float))


def test_training_features_carry_over(tmp_path):
    """Early stopping, checkpoints with resume, schedules and optimizer instances."""
    from steepest import optim, schedules

    X, y = _blobs()
    model = NetworkClassifier([nn.Dense(8), nn.ReLU()],
                              optimizer=optim.SGD(lr=0.05, momentum=0.9),
                              early_stopping=True, patience=3, epochs=300, random_state=0)
    model.fit(X, y)
    assert "val_loss" in model.history_ and model.n_iter_ < 300
    assert [event["event"] for event in model.history_["events"]] == ["early_stop",
                                                                      "best_restored"]
    scheduled = NetworkClassifier([nn.Dense(8), nn.ReLU()], optimizer="sgd",
                                  lr=schedules.step(0.05, step_size=4, gamma=0.5),
                                  batch_size=None,
                                  epochs=9, random_state=0).fit(X, y)
    assert scheduled.history_["lr"][0] == 0.05 and scheduled.history_["lr"][-1] == 0.0125
    path = tmp_path / "run.ckpt"
    full = NetworkClassifier([nn.Dense(8), nn.ReLU()], epochs=4, random_state=1)
    full.fit(X, y)
    first = NetworkClassifier([nn.Dense(8), nn.ReLU()], epochs=2, random_state=1)
    first.fit(X, y, checkpoint=path)
    resumed = NetworkClassifier([nn.Dense(8), nn.ReLU()], epochs=4, random_state=1)
    resumed.fit(X, y, checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed.predict_proba(X), full.predict_proba(X))


def test_diagnose_reads_a_network_estimator():
    from steepest.diagnose import diagnose

    X, y = _blobs()
    model = NetworkClassifier([nn.Dense(8), nn.ReLU()], lr=1e-6, epochs=3,
                              random_state=0).fit(X, y)
    findings = diagnose(model, X=X, y=y, find_lr=False)
    assert isinstance(findings, list)
    assert any("learning rate" in str(finding).lower() or "loss" in str(finding).lower()
               for finding in findings)


def test_a_cnn_learns_fashion_mnist():
    """3,000 training images, 5 epochs, one 16-channel convolution: ≥ 0.80 on 1,000 test
    images.

    It cannot flake: every random draw (weights, batch order) comes from ``random_state=0``
    and the data are the first images of the official split, so the run is the same every
    time. Seed 0 measured 0.848 here (float32); seeds 0-5 gave 0.828-0.852, so the
    threshold also leaves room for a different BLAS's rounding.
    """
    from steepest.datasets import fetch_fashion_mnist

    try:
        X_train, y_train = fetch_fashion_mnist(return_X_y=True, download_if_missing=False)
        X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True,
                                             download_if_missing=False)
    except steepest.errors.SteepestError as error:
        pytest.skip(f"Fashion-MNIST is not on this machine: {error}")
    X_train = (X_train[:3000] / 255).astype(np.float32)
    X_test = (X_test[:1000] / 255).astype(np.float32)
    model = NetworkClassifier([nn.Conv2D(16, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                               nn.Dense(10)], input_shape=(1, 28, 28), batch_size=32, lr=2e-3,
                              epochs=5, random_state=0)
    model.fit(X_train, y_train[:3000])
    assert model.score(X_test, y_test[:1000]) >= 0.80


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("model", [
    NetworkClassifier([nn.Dense(16), nn.ReLU()], lr=1e-2, epochs=100, random_state=0),
    NetworkRegressor([nn.Dense(16), nn.ReLU()], lr=1e-2, epochs=100, random_state=0),
], ids=lambda m: type(m).__name__)
def test_scikit_learn_estimator_checks(model):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(model, expected_failed_checks={
        # scikit-learn wants a TypeError quoting float(); ours is a ValueError that names
        # the column, the row and the value, and says what to do (as for the MLPs).
        "check_dtype_object": "steepest's own message for non-numeric values",
    })


def test_the_divergence_guard_rolls_back_and_lowers_the_rate():
    from steepest.train import DivergenceWarning

    X = np.linspace(0, 10, 60).reshape(-1, 1)
    with pytest.warns(DivergenceWarning):
        model = NetworkRegressor([nn.Dense(1)], optimizer="sgd", lr=0.5, batch_size=None,
                                 epochs=30, random_state=0).fit(X, 3 * X.ravel())
    events = [event for event in model.history_["events"] if event["event"] == "divergence"]
    assert events and all(np.isfinite(model.predict(X)))


def test_partial_fit_continues_a_cnn_epoch_by_epoch():
    images, y = _images()
    stepwise = NetworkClassifier(_small_cnn(), input_shape=(1, 6, 6), batch_size=16,
                                 random_state=0)
    for _ in range(3):
        stepwise.partial_fit(images, y, classes=[0, 1])
    at_once = NetworkClassifier(_small_cnn(), input_shape=(1, 6, 6), batch_size=16, epochs=3,
                                random_state=0).fit(images, y)
    assert stepwise.n_iter_ == 3
    np.testing.assert_allclose(stepwise.predict_proba(images), at_once.predict_proba(images),
                               rtol=1e-6, atol=1e-9)
