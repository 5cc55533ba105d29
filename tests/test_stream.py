"""ParquetStream: every row once, reproducible shuffles, exact statistics, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyarrow import csv, parquet

from steepest.errors import FileFormatError, ParameterError
from steepest.stream import ParquetStream


def _table(n: int, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    rng = np.random.default_rng(seed)
    X = rng.normal(3.0, 2.0, size=(n, d)) * np.arange(1, d + 1)
    y = np.arange(n, dtype=np.float64)  # the row number: every row is recognisable
    columns = {f"x{j}": X[:, j] for j in range(d)}
    columns["y"] = y
    return X, y, pa.table(columns)


def _parquet(path, table: pa.Table, row_group_size: int):
    parquet.write_table(table, path, row_group_size=row_group_size)
    return path


def test_blocks_are_the_file_in_order(tmp_path):
    X, y, table = _table(1000)
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 128), "y", batch_rows=100)
    blocks = list(stream.blocks())
    assert max(b[0].shape[0] for b in blocks) <= 100
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), X)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), y)
    assert stream.n_rows == 1000 and stream.feature_names == ["x0", "x1", "x2"]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 600), group=st.integers(1, 200), buffer=st.integers(0, 700),
       batch=st.integers(1, 97), seed=st.integers(0, 2**16))
def test_an_epoch_sees_every_row_exactly_once(tmp_path_factory, n, group, buffer, batch, seed):
    _, _, table = _table(n, d=2)
    path = _parquet(tmp_path_factory.mktemp("p") / "a.parquet", table, group)
    stream = ParquetStream(path, "y", batch_rows=50, shuffle_buffer=buffer, random_state=seed)
    batches = [(X.copy(), y.copy()) for X, y in stream.batches(batch)]  # overwritten next
    seen = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    assert all(b[0].shape[0] == batch for b in batches[:-1])
    for X, y in batches:  # features travel with their target
        np.testing.assert_array_equal(X[:, 0], table.column("x0").to_numpy()[y.astype(int)])


@settings(max_examples=15, deadline=None)
@given(groups=st.lists(st.integers(1, 90), min_size=1, max_size=4),
       buffer=st.integers(0, 300), batch=st.integers(1, 70),
       dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 2**16))
def test_batches_standardise_the_rows_of_files_with_other_row_groups(
        tmp_path_factory, groups, buffer, batch, dtype, seed):
    """Files of several row-group sizes; the features standardised as they join the buffer
    equal (X - mean) / scale of the rounded rows, the target prepared alongside."""
    folder = tmp_path_factory.mktemp("p")
    X, y, table = _table(sum(groups) * 3, d=3, seed=seed)
    start = 0
    for k, group in enumerate(groups):  # file k: 3 row groups of `group` rows
        _parquet(folder / f"part{k}.parquet", table.slice(start, 3 * group), group)
        start += 3 * group
    mean, scale = np.array([1.0, -2.0, 0.5]), np.array([2.0, 3.0, 0.25])
    stream = ParquetStream(folder, "y", shuffle_buffer=buffer, random_state=seed)
    batches = [(Xb.copy(), yb.copy()) for Xb, yb in stream.batches(
        batch, mean=mean, scale=scale, dtype=dtype, prepare_target=lambda v: v + 0.5)]
    seen = np.concatenate([b[1] for b in batches]) - 0.5
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(y)))
    assert all(b[0].shape[0] == batch for b in batches[:-1])
    expected = ((X.astype(dtype) - mean) / scale).astype(dtype)
    rows = seen.astype(int)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), expected[rows])
    assert batches[0][0].dtype == np.dtype(dtype)


def test_integer_and_boolean_columns_stream_as_numbers(tmp_path):
    n = 300
    table = pa.table({"i": pa.array(np.arange(n) % 7, pa.int32()),
                      "f": pa.array(np.linspace(0, 1, n), pa.float32()),
                      "b": np.arange(n) % 2 == 0, "y": np.arange(n, dtype=np.float64)})
    X = np.column_stack([np.arange(n) % 7, np.linspace(0, 1, n).astype(np.float32),
                         np.arange(n) % 2 == 0]).astype(np.float64)
    path = _parquet(tmp_path / "a.parquet", table, 64)
    for columns in (["i", "f"], ["i", "f", "b"]):  # pyarrow's one call; column by column
        stream = ParquetStream(path, "y", columns, shuffle_buffer=100, random_state=0)
        np.testing.assert_array_equal(np.concatenate([b[0] for b in stream.blocks()]),
                                      X[:, :len(columns)])
        for Xb, yb in stream.batches(50):
            np.testing.assert_array_equal(Xb, X[yb.astype(int), :len(columns)])


def test_an_epoch_left_early_stops_its_reading_thread(tmp_path):
    import threading

    _, _, table = _table(3000)
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 100), "y",
                           shuffle_buffer=300, random_state=0)
    for _ in range(3):
        batches = stream.batches(32)
        next(batches)
        batches.close()  # as when a diverging fit stops mid-epoch
    assert not [t for t in threading.enumerate() if t.name == "steepest-stream"]
    seen = np.concatenate([y.copy() for _, y in stream.batches(32)])
    np.testing.assert_array_equal(np.sort(seen), np.arange(3000))


def test_a_bad_value_in_a_later_row_group_is_raised_by_the_epoch(tmp_path):
    _, _, table = _table(1000)
    x0 = table.column("x0").to_numpy().copy()
    x0[777] = np.nan
    table = table.set_column(0, "x0", pa.array(x0))
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 100), "y",
                           shuffle_buffer=200, random_state=0)
    with pytest.raises(FileFormatError, match="column 'x0' .* holds nan at row 777"):
        for _ in stream.batches(16, mean=np.zeros(3), scale=np.ones(3)):
            pass


def test_epochs_are_shuffled_reproducibly_and_differ(tmp_path):
    _, _, table = _table(2000)
    path = _parquet(tmp_path / "a.parquet", table, 100)

    def orders(seed):
        stream = ParquetStream(path, "y", shuffle_buffer=300, random_state=seed)
        return [np.concatenate([y.copy() for _, y in stream.epoch()]) for _ in range(2)]

    first, second = orders(7)
    again = orders(7)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(2000))
    # rows are mixed across row groups within the buffer, not only within one group
    assert len({int(v) // 100 for v in first[:50]}) > 1


def test_an_epoch_can_draw_from_the_callers_generator(tmp_path):
    _, _, table = _table(500)
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 64), "y", random_state=0)
    a = np.concatenate([y.copy() for _, y in stream.epoch(np.random.default_rng(3))])
    b = np.concatenate([y.copy() for _, y in stream.epoch(np.random.default_rng(3))])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_statistics_equal_the_in_memory_ones(tmp_path, dtype):
    X, y, table = _table(3001, d=4, seed=1)
    X = X + 1e6  # a large offset: the naive sum-of-squares formula would lose digits here
    table = table.set_column(0, "x0", pa.array(X[:, 0]))
    for j in range(1, 4):
        table = table.set_column(j, f"x{j}", pa.array(X[:, j]))
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 97), "y", batch_rows=250,
                           dtype=dtype)
    stats = stream.statistics()
    X_ = X.astype(dtype).astype(np.float64)
    assert stats.n_rows == 3001
    np.testing.assert_allclose(stats.mean, X_.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats.std, X_.std(axis=0), rtol=1e-9)
    assert stats.target_mean == pytest.approx(y.mean(), rel=1e-13)
    assert stats.target_std == pytest.approx(y.std(), rel=1e-12)
    assert stats.labels is not None and stats.labels.size == 3001


def test_several_files_and_a_folder(tmp_path):
    X, y, table = _table(900)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(3):
        _parquet(folder / f"part{k}.parquet", table.slice(300 * k, 300), 64)
    stream = ParquetStream(folder, "y")
    assert stream.n_rows == 900
    np.testing.assert_array_equal(np.concatenate([b[1] for b in stream.blocks()]), y)
    pattern = ParquetStream(str(folder / "part*.parquet"), "y")
    assert pattern.files == stream.files


def test_csv_streams_in_blocks(tmp_path):
    X, y, table = _table(5000)
    path = tmp_path / "a.csv"
    csv.write_csv(table, path)
    stream = ParquetStream(path, "y", shuffle_buffer=1000, random_state=0)
    assert stream.n_rows is None
    np.testing.assert_allclose(np.concatenate([b[0] for b in stream.blocks()]), X, rtol=1e-15)
    seen = np.concatenate([y.copy() for _, y in stream.epoch()])
    np.testing.assert_array_equal(np.sort(seen), y)
    assert stream.statistics().n_rows == 5000 and stream.n_rows == 5000


def test_string_labels_are_kept(tmp_path):
    table = pa.table({"a": [1.0, 2.0, 3.0, 4.0], "label": ["cat", "dog", "cat", "emu"]})
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 2), "label")
    stats = stream.statistics()
    assert stats.target_mean is None
    assert stats.labels.tolist() == ["cat", "dog", "emu"]


@pytest.mark.parametrize("table, target, columns, message", [
    (pa.table({"a": [1.0], "y": [1.0]}), "z", None, "The target column 'z' is not in"),
    (pa.table({"a": [1.0], "y": [1.0]}), "y", ["b"], "The column(s) 'b' are not in"),
    (pa.table({"a": ["x"], "y": [1.0]}), "y", None, "The column 'a' of"),
    (pa.table({"y": [1.0]}), "y", None, "has no feature column beside 'y'"),
])
def test_bad_columns_are_refused_clearly(tmp_path, table, target, columns, message):
    path = _parquet(tmp_path / "a.parquet", table, 10)
    with pytest.raises((ParameterError, FileFormatError), match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        ParquetStream(path, target, columns)


def test_missing_and_non_finite_values_name_the_column_and_row(tmp_path):
    table = pa.table({"a": [1.0, 2.0, None, 4.0], "b": [1.0, np.inf, 3.0, 4.0],
                      "y": [0.0, 1.0, 0.0, 1.0]})
    stream = ParquetStream(_parquet(tmp_path / "a.parquet", table, 10), "y", ["a"])
    with pytest.raises(FileFormatError, match="column 'a' .* empty value at row 2"):
        list(stream.blocks())
    stream = ParquetStream(tmp_path / "a.parquet", "y", ["b"])
    with pytest.raises(FileFormatError, match="column 'b' .* holds inf at row 1"):
        list(stream.blocks())


def test_duplicate_columns_and_mixed_files_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,y\n1,2,3\n")
    with pytest.raises(FileFormatError, match="has two columns named 'a'; give every column"):
        ParquetStream(path, "y")
    _parquet(tmp_path / "b.parquet", pa.table({"a": [1.0], "y": [1.0]}), 1)
    with pytest.raises(FileFormatError, match="Parquet files or CSV files, not both"):
        ParquetStream([tmp_path / "b.parquet", path], "y")
    _parquet(tmp_path / "c.parquet", pa.table({"c": [1.0], "y": [1.0]}), 1)
    with pytest.raises(FileFormatError, match="does not have the columns of"):
        ParquetStream([tmp_path / "b.parquet", tmp_path / "c.parquet"], "y")
    with pytest.raises(FileFormatError, match="No such file"):
        ParquetStream(tmp_path / "nope.parquet", "y")


_MEMORY_PROBE = textwrap.dedent("""
    import json, os, sys, threading
    import numpy as np
    import pyarrow as pa
    pa.set_memory_pool(pa.system_memory_pool())  # freed Arrow buffers go back at once
    from steepest.stream import ParquetStream

    page = os.sysconf("SC_PAGE_SIZE")
    def resident():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page
    peak, done = [0], threading.Event()
    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], resident())
            done.wait(0.002)
    stream = ParquetStream(sys.argv[1], "y", batch_rows=8192, shuffle_buffer=int(sys.argv[2]),
                           random_state=0)
    stream.statistics()  # one pass a row group at a time: pyarrow's code and pools warm up
    before = resident()
    sampler = threading.Thread(target=sample)
    sampler.start()
    rows = sum(len(y) for _, y in stream.batches(256))
    done.set()
    sampler.join()
    print(json.dumps({"rows": rows, "growth_mib": (max(peak[0], resident()) - before) / 2**20}))
""")



def test_peak_memory_is_bounded_by_the_buffer_not_the_file(tmp_path):
    """Streaming a 100 MiB file with a 6.7 MiB buffer and 1.7 MiB row groups: the resident
    memory grows by about the buffer and two row groups, far below the file."""
    n, d, group, buffer = 1_200_000, 10, 20_000, 80_000
    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(0)
    with parquet.ParquetWriter(path, pa.schema([(f"x{j}", pa.float64()) for j in range(d)]
                                               + [("y", pa.float64())])) as writer:
        for _ in range(n // group):
            block = rng.normal(size=(group, d + 1))
            writer.write_table(pa.table({**{f"x{j}": block[:, j] for j in range(d)},
                                         "y": block[:, d]}))
    file_mib = n * (d + 1) * 8 / 2**20
    bound_mib = (buffer + 2 * group) * (d + 1) * 8 / 2**20
    assert file_mib >= 5 * bound_mib
    run = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path), str(buffer)],
                         capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(run.stdout)
    assert result["rows"] == n
    peak_growth_mib = result["growth_mib"]
    # measured after a warm-up pass (pyarrow's code pages and pools): about the bound plus
    # 1-6 MiB of index arrays and allocator slack; reading the whole file costs ~400 MiB
    assert peak_growth_mib <= bound_mib + 12, (peak_growth_mib, bound_mib, file_mib)


# -- the estimators on a stream ---------------------------------------------------------------


def _classification_file(path, n=3000, d=4, classes=2, group=256):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=d, n_informative=d, n_redundant=0,
                               n_classes=classes, random_state=0)
    X = X * np.arange(1, d + 1) + 2.0
    table = pa.table({**{f"f{j}": X[:, j] for j in range(d)}, "label": y})
    return X, y, _parquet(path, table, group)


@pytest.mark.parametrize("method, classes", [("lbfgs", 2), ("lbfgs", 3), ("newton", 2)])
def test_full_batch_fits_on_a_stream_equal_the_in_memory_ones(tmp_path, method, classes):
    from steepest import LogisticRegression

    X, y, path = _classification_file(tmp_path / "a.parquet", classes=classes)
    settings = dict(optimizer=method, alpha=1e-3, scale=True, tol=1e-10, epochs=300)
    local = LogisticRegression(**settings).fit(X, y)
    streamed = LogisticRegression(**settings).fit(ParquetStream(path, "label", batch_rows=500))
    np.testing.assert_allclose(streamed.coef_, local.coef_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(streamed.predict(X), local.predict(X))
    assert streamed.feature_names_in_.tolist() == ["f0", "f1", "f2", "f3"]
    assert streamed.fitted_on_ == "streamed from 1 file(s)"


def test_mini_batch_epochs_on_a_stream_see_every_row_once(tmp_path):
    from steepest import MLPClassifier

    X, y, path = _classification_file(tmp_path / "a.parquet", n=2000)
    settings = dict(hidden_layer_sizes=(16,), batch_size=64, epochs=4, tol=None, scale=True,
                    random_state=0)
    model = MLPClassifier(**settings).fit(ParquetStream(path, "label", shuffle_buffer=600,
                                                        random_state=0))
    assert model.history_["updates"] == [32, 64, 96, 128]  # ceil(2000 / 64) per epoch
    assert model.history_["loss"][-1] < model.history_["loss"][0]
    # another order of the same rows: as good as the in-memory epochs (0.646 vs 0.648 here)
    assert model.score(X, y) > MLPClassifier(**settings).fit(X, y).score(X, y) - 0.03


def test_a_stream_with_a_y_is_refused():
    from steepest import LinearRegression
    from steepest.errors import ParameterError

    with pytest.raises(ParameterError, match="holds its target column"):
        LinearRegression().fit(object.__new__(ParquetStream), np.zeros(3))
