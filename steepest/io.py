"""Files: safetensors with JSON metadata, written atomically, checked when read.

A steepest file is a safetensors file (arrays only, never pickle) whose
``__metadata__`` holds one entry, ``"steepest"``: a JSON object with the caller's
metadata plus the SHA-256 digest of the arrays, so a truncated or altered file is
refused with a clear error instead of loading wrong numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from steepest.errors import FileFormatError

_KEY = "steepest"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same folder, are flushed to disk, and
    the temporary file is renamed over ``path`` (``os.replace`` is atomic on POSIX
    and Windows). On any failure the temporary file is removed and ``path`` is
    untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes the file private (0600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    sha = hashlib.sha256()
    for name in sorted(arrays):
        array = np.require(arrays[name], requirements="C")
        sha.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray],
                metadata: dict | None = None) -> Path:
    """Save ``arrays`` and JSON-serialisable ``metadata`` to ``path`` atomically.

    Returns the path written.
    """
    from safetensors.numpy import save

    arrays = {name: np.require(value, requirements="C") for name, value in arrays.items()}
    header = dict(metadata or {})
    header["sha256"] = _digest(arrays)
    blob = save(arrays, metadata={_KEY: json.dumps(header, sort_keys=True)})
    return atomic_write_bytes(path, blob)


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_arrays`: ``(arrays, metadata)``.

    Raises :class:`~steepest.errors.FileFormatError` naming the file and what is
    wrong when it is missing, not a steepest file, truncated or altered.
    """
    from safetensors.numpy import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(f"No such file: '{path}'.") from None
    except IsADirectoryError:
        raise FileFormatError(f"'{path}' is a folder, not a model file.") from None
    try:
        (header_size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + header_size])
        metadata = json.loads(header["__metadata__"][_KEY])
        arrays = load(data)
    except Exception as error:  # noqa: BLE001 - any parse failure means the same to the user
        raise FileFormatError(
            f"'{path}' is not a readable steepest file ({type(error).__name__}: {error}). "
            "It may be truncated, from another program, or damaged; save the model again."
        ) from None
    if metadata.pop("sha256", None) != _digest(arrays):
        raise FileFormatError(
            f"'{path}' has been altered or damaged: its arrays do not match the digest saved "
            "with them. Save the model again."
        )
    return arrays, metadata


# -- tables --------------------------------------------------------------------------------

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def read_table(path: str | os.PathLike):
    """A CSV or Parquet file as a ``pyarrow.Table`` (pyarrow loads on first use).

    Raises :class:`~steepest.errors.FileFormatError` for a missing file, an
    unknown suffix, a file that does not parse or two columns of the same name,
    naming the file and the cause.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"No such file: '{path}'.")
    if path.is_dir():
        raise FileFormatError(f"'{path}' is a folder; give a CSV or Parquet file.")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise FileFormatError(
            f"'{path}' has the suffix '{suffix}'; steepest reads CSV (.csv) and Parquet "
            "(.parquet, .pq) files."
        )
    import pyarrow as pa

    try:
        if suffix == ".csv":
            from pyarrow import csv

            table = csv.read_csv(path)
        else:
            from pyarrow import parquet

            _refuse_duplicate_columns(path, parquet.read_schema(path).names)
            table = parquet.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileFormatError(f"Could not read '{path}': {first}") from None
    _refuse_duplicate_columns(path, table.column_names)
    if table.num_rows == 0:
        raise FileFormatError(f"'{path}' has no data rows.")
    return table


def _refuse_duplicate_columns(path: Path, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FileFormatError(
                f"'{path}' has two columns named {name!r}; give every column its own name."
            )
        seen.add(name)


def write_csv(path: str | os.PathLike, columns: dict[str, np.ndarray]) -> Path:
    """Write named columns (equal lengths) as a CSV file, atomically."""
    import pyarrow as pa
    from pyarrow import csv

    sink = pa.BufferOutputStream()
    csv.write_csv(pa.table({name: np.asarray(values) for name, values in columns.items()}), sink)
    return atomic_write_bytes(path, sink.getvalue().to_pybytes())
