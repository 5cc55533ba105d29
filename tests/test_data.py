"""steepest.data: batches for batch, stochastic and mini-batch descent, seeded splits
(stratified or not), and the input checks with the exact messages users see."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from steepest.data import (
    Batcher,
    as_generator,
    check_sample_weight,
    check_X,
    check_X_y,
    check_y,
    feature_names,
    split_indices,
    standardization,
    train_validation_split,
)
from steepest.errors import ParameterError


def indexed(n: int, d: int = 3):
    """X whose row i is i, i + 0.1, ...; y = i: a batch says which samples it holds."""
    X = np.arange(n, dtype=float)[:, None] + 0.1 * np.arange(d)
    return X, np.arange(n, dtype=float)


def epoch_rows(batcher: Batcher) -> list[np.ndarray]:
    """The sample indices of each batch of one epoch, checking X and y stay aligned."""
    rows = []
    for X_batch, y_batch in batcher.epoch():
        np.testing.assert_array_equal(X_batch[:, 0], y_batch)
        rows.append(y_batch.astype(int).copy())
    return rows


# -- batches --------------------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size, sizes", [
    (10, None, [10]),
    (10, 1, [1] * 10),
    (10, 4, [4, 4, 2]),
    (10, 5, [5, 5]),
    (10, 10, [10]),
    (10, 64, [10]),
])
def test_every_sample_once_per_epoch(n, batch_size, sizes):
    batcher = Batcher(*indexed(n), batch_size, random_state=0)
    assert batcher.n_batches == len(batcher) == len(sizes)
    for _ in range(3):
        rows = epoch_rows(batcher)
        assert [len(r) for r in rows] == sizes
        np.testing.assert_array_equal(np.sort(np.concatenate(rows)), np.arange(n))


def test_full_batch_is_the_data_itself_never_copied_or_shuffled():
    X, y = indexed(7)
    batcher = Batcher(X, y, None, random_state=0)
    state = batcher.rng.bit_generator.state
    ((X_batch, y_batch),) = list(batcher.epoch())
    assert X_batch is X and y_batch is y
    assert batcher.rng.bit_generator.state == state          # no draw at all
    assert batcher.batch_size == 7 and not batcher.shuffle


def test_each_epoch_has_a_new_order_and_the_same_seed_gives_the_same_orders():
    first = Batcher(*indexed(50), 8, random_state=3)
    second = Batcher(*indexed(50), 8, random_state=3)
    other = Batcher(*indexed(50), 8, random_state=4)
    orders = [np.concatenate(epoch_rows(first)) for _ in range(3)]
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    for order in orders:
        np.testing.assert_array_equal(np.concatenate(epoch_rows(second)), order)
    assert not np.array_equal(np.concatenate(epoch_rows(other)), orders[0])


def test_shuffle_false_keeps_the_order():
    rows = epoch_rows(Batcher(*indexed(9), 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate(rows), np.arange(9))


def test_batches_are_contiguous_views_of_one_buffer_reused_every_epoch():
    X, y = indexed(20, 4)
    batcher = Batcher(X, y, 6, random_state=0)
    buffers = set()
    for _ in range(3):
        for X_batch, y_batch in batcher.epoch():
            assert X_batch.flags.c_contiguous and y_batch.flags.c_contiguous
            assert X_batch.base is not None and y_batch.base is not None
            assert not np.shares_memory(X_batch, X)
            buffers.add((id(X_batch.base), id(y_batch.base)))
    assert len(buffers) == 1


def test_the_order_is_drawn_when_the_epoch_is_asked_for():
    batcher = Batcher(*indexed(10), 3, random_state=0)
    state = batcher.rng.bit_generator.state
    batcher.epoch()
    assert batcher.rng.bit_generator.state != state


def test_a_shared_generator_is_used_and_advanced():
    rng = np.random.default_rng(0)
    batcher = Batcher(*indexed(10), 3, random_state=rng)
    assert batcher.rng is rng
    expected = np.random.default_rng(0).permutation(10)
    np.testing.assert_array_equal(np.concatenate(epoch_rows(batcher)), expected)


def test_dtypes_and_2d_targets_are_kept():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(12, dtype=np.int64).reshape(6, 2)
    for X_batch, y_batch in Batcher(X, y, 4, random_state=0).epoch():
        assert X_batch.dtype == np.float32 and y_batch.dtype == np.int64
        np.testing.assert_array_equal(X_batch, y_batch)


@pytest.mark.parametrize("n, batch_size, sizes", [(9, 4, [4, 4]), (10, 4, [4, 4, 2]),
                                                  (5, None, [5])])
def test_drop_single_leaves_out_a_last_batch_of_one(n, batch_size, sizes):
    batcher = Batcher(*indexed(n), batch_size, drop_single=True, random_state=0)
    left_out = set()
    for _ in range(20):
        rows = epoch_rows(batcher)
        assert [len(r) for r in rows] == sizes
        left_out |= set(range(n)) - set(np.concatenate(rows))
    assert len(left_out) > 1 or sum(sizes) == n          # a different sample each time


def test_drop_single_that_leaves_nothing_is_refused():
    with pytest.raises(ParameterError) as error:
        Batcher(*indexed(5), 1, drop_single=True)
    assert str(error.value) == (
        "drop_single=True cannot help here: every batch holds a single sample "
        "(n_samples=5, batch_size=1). Use batch_size >= 2 and at least 2 samples."
    )
    with pytest.raises(ParameterError, match="n_samples=1, batch_size=1"):
        Batcher(*indexed(1), None, drop_single=True)


def test_batcher_errors():
    X, y = indexed(5)
    with pytest.raises(ParameterError, match=r"^The 'batch_size' parameter of Batcher must be "
                                             r"an int in the range \[1, inf\)\. Got 0 instead"):
        Batcher(X, y, 0)
    with pytest.raises(ParameterError) as error:
        Batcher(X, y[:4])
    assert str(error.value) == "X has 5 samples but y has 4; pass one target per sample."
    with pytest.raises(ParameterError, match="2-D array"):
        Batcher(X[:, 0], y)
    assert repr(Batcher(X, y, 2)) == \
        "Batcher(n_samples=5, batch_size=2, shuffle=True, drop_single=False)"


def test_as_generator():
    rng = np.random.default_rng(1)
    assert as_generator(rng) is rng
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    with pytest.raises(ParameterError) as error:
        as_generator(-1, "Trainer")
    assert str(error.value) == ("The 'random_state' parameter of Trainer must be an int >= 0, "
                                "a numpy.random.Generator or None. Got -1 instead.")


# -- splits -----------------------------------------------------------------------------


def test_split_sizes_and_seeding():
    train, val = split_indices(10, 0.25, random_state=0)
    assert len(val) == math.ceil(2.5) and len(train) == 7
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(10))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    again = split_indices(10, 0.25, random_state=0)
    np.testing.assert_array_equal(again[1], val)
    others = {tuple(split_indices(10, 0.25, random_state=s)[1]) for s in range(10)}
    assert len(others) > 1


def test_split_that_leaves_no_training_sample_is_refused():
    with pytest.raises(ParameterError) as error:
        split_indices(3, 0.9)
    assert str(error.value) == ("validation_fraction=0.9 of 3 samples leaves no sample for "
                                "training; use a smaller fraction or more data.")
    with pytest.raises(ParameterError, match="'validation_fraction' parameter"):
        split_indices(10, 1.0)


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(2, 40), min_size=1, max_size=5),
       fraction=st.floats(0.05, 0.9), seed=st.integers(0, 2**32 - 1))
def test_stratified_split_keeps_class_proportions(counts, fraction, seed):
    labels = np.repeat(np.array(["a", "b", "c", "d", "e"][:len(counts)]), counts)
    labels = np.random.default_rng(seed).permutation(labels)
    n = len(labels)
    if math.ceil(fraction * n) >= n:
        return
    train, val = split_indices(n, fraction, stratify=labels, random_state=seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    for label, count in zip("abcde", counts, strict=False):
        in_val = int(np.sum(labels[val] == label))
        assert abs(in_val - fraction * count) < 1
        assert 1 <= in_val <= count - 1


def test_stratified_split_with_a_lonely_class_says_which():
    labels = np.array([0, 0, 1, 1, 1, 2, 0, 1])
    with pytest.raises(ParameterError) as error:
        split_indices(8, 0.25, stratify=labels)
    assert str(error.value) == (
        "Cannot stratify the validation split: class 2 has only 1 sample, and every class "
        "needs at least 2 (one for training, one for validation). Collect more samples of that "
        "class, remove it, or validate without stratifying."
    )


def test_train_validation_split_keeps_rows_and_targets_together():
    X, y = indexed(40)
    labels = (np.arange(40) % 4 == 0).astype(int)
    X_train, X_val, y_train, y_val = train_validation_split(X, y, 0.25, random_state=1)
    assert X_train.shape == (30, 3) and X_val.shape == (10, 3)
    np.testing.assert_array_equal(X_train[:, 0], y_train)
    np.testing.assert_array_equal(X_val[:, 0], y_val)
    parts = train_validation_split(X, labels, 0.25, stratify=True, random_state=1)
    assert parts[3].sum() == 2 and parts[2].sum() == 8
    with pytest.raises(ParameterError, match="X has 40 samples but y has 39"):
        train_validation_split(X, y[:-1], 0.25)


# -- input checks -------------------------------------------------------------------------


def test_check_X_converts_to_contiguous_float():
    X = np.arange(12).reshape(3, 4)[:, ::2]
    checked = check_X(X)
    assert checked.dtype == np.float64 and checked.flags.c_contiguous
    np.testing.assert_array_equal(checked, X)
    same = np.zeros((2, 2), np.float32)
    assert check_X(same, dtype="float32") is same
    assert check_X([[True, False]]).dtype == np.float64
    assert check_X([["1.5", "2"]]).tolist() == [[1.5, 2.0]]


def test_check_X_names_the_column_and_first_row_of_a_nan():
    X = np.ones((20, 5))
    X[17, 3] = X[19, 3] = X[18, 4] = np.nan
    with pytest.raises(ParameterError) as error:
        check_X(X)
    assert str(error.value) == \
        "X has a NaN in column 3 (first at row 17); remove or impute missing values."


def test_check_X_names_infinities_and_overflow():
    X = np.ones((4, 3))
    X[2, 1] = -np.inf
    with pytest.raises(ParameterError) as error:
        check_X(X)
    assert str(error.value) == \
        "X has an infinity in column 1 (first at row 2); replace it or drop those rows."
    X[2, 1] = 1e300
    assert check_X(X)[2, 1] == 1e300
    with pytest.raises(ParameterError) as error:
        check_X(X, dtype="float32")
    assert str(error.value) == (
        "X has a value too large for float32 in column 1 (first at row 2) (1e+300); scale it "
        "(e.g. sklearn.preprocessing.StandardScaler) or use float64."
    )
    big = np.full((3, 2), 1e308)                        # the sum overflows, the values are fine
    assert check_X(big) is big


def test_check_X_shapes():
    cases = {
        "X must be a 2-D array of shape (n_samples, n_features); got a 1-D array of shape (3,). "
        "Reshape your data: X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a "
        "single sample.":
            np.ones(3),
        "X must be a 2-D array of shape (n_samples, n_features); got a scalar.": 5.0,
        "X must be a 2-D array of shape (n_samples, n_features); got a 3-D array of shape "
        "(2, 2, 2). Flatten each sample's features, e.g. X.reshape(len(X), -1).":
            np.ones((2, 2, 2)),
        "X has 0 sample(s) (shape=(0, 3)) while a minimum of 1 is required.": np.ones((0, 3)),
        "X has 0 feature(s) (shape=(3, 0)) while a minimum of 1 is required.": np.ones((3, 0)),
        "X could not be read as an array: its rows have different lengths, or it mixes numbers "
        "and sequences. Pass a rectangular array.": [[1, 2], [3]],
    }
    for message, X in cases.items():
        with pytest.raises(ParameterError) as error:
            check_X(X)
        assert str(error.value) == message


def test_check_X_non_numeric_missing_complex_sparse():
    cases = {
        "X has a non-numeric value 'red' in column 1 (first at row 2), where each argument "
        "must be a number or a string holding a number; encode categorical columns as "
        "numbers first (e.g. sklearn.preprocessing.OneHotEncoder).":
            np.array([[1, 1.0], [2, 3], [3, "red"]], dtype=object),
        "X has a missing value (None) in column 0 (first at row 1); remove or impute missing "
        "values.": np.array([[1, 2], [None, 3]], dtype=object),
        "X has complex values: Complex data not supported. Pass the real and imaginary parts "
        "as separate columns (X.real, X.imag).": np.ones((2, 2), complex),
        "X is a sparse matrix; steepest needs a dense array. Convert it with X.toarray() if it "
        "fits in memory.": scipy.sparse.csr_matrix(np.eye(3)),
    }
    for message, X in cases.items():
        with pytest.raises(ParameterError) as error:
            check_X(X)
        assert str(error.value) == message


def test_check_X_names_labelled_columns():
    class Frame:
        columns = ["age", "height"]

        def __array__(self, dtype=None, copy=None):
            return np.array([[1.0, 2.0], [3.0, np.nan]])

    with pytest.raises(ParameterError) as error:
        check_X(Frame())
    assert str(error.value) == \
        "X has a NaN in column 'height' (first at row 1); remove or impute missing values."


def test_check_X_feature_count():
    with pytest.raises(ParameterError) as error:
        check_X(np.ones((2, 3)), n_features=4, owner="LinearRegression")
    assert str(error.value) == ("X has 3 features, but LinearRegression is expecting 4 features "
                                "as input; pass the same columns as in fit.")


def test_check_y():
    np.testing.assert_array_equal(check_y([[1], [2], [3]], 3), [1.0, 2.0, 3.0])
    labels = check_y(np.array(["a", "b"]), 2, numeric=False)
    assert labels.tolist() == ["a", "b"]
    assert check_y(np.ones((3, 2)), 3, multi_output=True).shape == (3, 2)
    cases = [
        (dict(y=np.ones(4), n_samples=5),
         "X has 5 samples but y has 4; pass one target per sample."),
        (dict(y=np.array([1.0, np.nan, 2.0]), n_samples=3),
         "y has a NaN at row 1; remove those samples or impute the target."),
        (dict(y=np.array([1.0, 2.0, np.inf]), n_samples=3),
         "y has an infinity at row 2; replace it or drop those rows."),
        (dict(y=np.ones((3, 2)), n_samples=3),
         "y must have shape (n_samples,); got a 2-D array of shape (3, 2). This model "
         "predicts one target; fit one model per column."),
        (dict(y=None), "This model requires y to be passed, but the target y is None; pass "
                       "the targets, one per sample."),
        (dict(y=np.array(["a", "b"]), n_samples=2),
         "y has a non-numeric value 'a' in row 0; the targets must be numbers here."),
        (dict(y=np.array(["a", None], dtype=object), n_samples=2, numeric=False),
         "y has a missing label at row 1; remove those samples."),
        (dict(y=np.array([0.0, np.nan]), n_samples=2, numeric=False),
         "y has a NaN at row 1; remove those samples."),
    ]
    for kwargs, message in cases:
        with pytest.raises(ParameterError) as error:
            check_y(**kwargs)
        assert str(error.value) == message


def test_check_X_y():
    X, y = check_X_y([[1, 2], [3, 4]], [1, 0], dtype="float32")
    assert X.dtype == y.dtype == np.float32
    with pytest.raises(ParameterError, match="^X has 2 samples but y has 3"):
        check_X_y([[1, 2], [3, 4]], [1, 0, 1])


# -- sample weights, names and scaling statistics -----------------------------------------


@given(st.integers(1, 30), st.one_of(st.none(), st.integers(1, 12)), st.booleans(),
       st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_weighted_batches_carry_the_weights_of_their_rows(n, batch_size, shuffle, seed):
    X, y = indexed(n)
    weight = 1.0 + np.arange(n) / 10
    batcher = Batcher(X, y, batch_size, shuffle=shuffle, random_state=seed, sample_weight=weight)
    seen = []
    for _ in range(2):
        for X_batch, y_batch, w_batch in batcher.epoch():
            np.testing.assert_array_equal(X_batch[:, 0], y_batch)
            np.testing.assert_array_equal(w_batch, weight[y_batch.astype(int)])
            seen.append(y_batch.astype(int).copy())
    assert sorted(np.concatenate(seen).tolist()) == sorted(list(range(n)) * 2)
    unweighted = Batcher(X, y, batch_size, shuffle=shuffle, random_state=seed)
    assert all(len(batch) == 2 for batch in unweighted.epoch())
    with pytest.raises(ParameterError, match="sample_weight has shape"):
        Batcher(X, y, sample_weight=np.ones(n + 1))


def test_check_sample_weight():
    assert check_sample_weight(None, 3) is None
    np.testing.assert_array_equal(check_sample_weight(2, 3), [2.0, 2.0, 2.0])
    given = [1, 0, 3]
    weights = check_sample_weight(given, 3, dtype="float32")
    assert weights.dtype == np.float32 and given == [1, 0, 3]
    for bad, message in [([1.0, -2.0, 1.0], "negative weight -2.0 at row 1"),
                         ([1.0, np.nan, 1.0], "sample_weight has a NaN at row 1"),
                         ([0, 0, 0], "zero for every sample"),
                         ([[1.0, 1.0, 1.0]], "one weight per sample, shape \\(3,\\)")]:
        with pytest.raises(ParameterError, match=message):
            check_sample_weight(bad, 3)


def test_feature_names_as_scikit_learn_keeps_them():
    pd = pytest.importorskip("pandas")
    assert feature_names(np.ones((2, 2))) is None
    assert feature_names(pd.DataFrame(np.ones((2, 2)))) is None        # integer labels
    assert feature_names(pd.DataFrame(np.ones((2, 2)), columns=["a", "b"])).tolist() == [
        "a", "b"]
    with pytest.raises(ParameterError, match="mixed types: strings and 1 of type int"):
        feature_names(pd.DataFrame(np.ones((2, 2)), columns=["a", 1]))
    with pytest.raises(ParameterError, match="^X has two columns named 'a'; give every column "
                                             "its own name.$"):
        check_X(pd.DataFrame(np.ones((2, 2)), columns=["a", "a"]))


@given(st.integers(2, 20), st.floats(-300, 300), st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_standardization_is_the_weighted_mean_and_std_at_any_magnitude(n, exponent, seed):
    rng = np.random.default_rng(seed)
    unit = rng.normal(size=(n, 3))
    unit[:, 2] = 1.5                                  # a constant column: scale 1
    weight = rng.uniform(0.1, 2.0, size=n)
    magnitude = 10.0 ** min(exponent, 307 - 1)
    mean, scale = standardization(unit * magnitude, weight)
    expected_mean = np.average(unit, axis=0, weights=weight)
    expected_std = np.sqrt(np.average((unit - expected_mean) ** 2, axis=0, weights=weight))
    np.testing.assert_allclose(mean / magnitude, expected_mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scale[:2] / magnitude, expected_std[:2], rtol=1e-9)
    assert scale[2] == 1.0 and np.isfinite(scale).all()
    plain_mean, plain_scale = standardization(unit)
    np.testing.assert_allclose(plain_mean, unit.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(plain_scale[:2], unit.std(axis=0)[:2], rtol=1e-12)
