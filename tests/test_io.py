"""Atomic safetensors files with metadata, and clear errors for bad files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from steepest.errors import FileFormatError
from steepest.io import atomic_write_bytes, load_arrays, save_arrays


def test_round_trip_keeps_arrays_dtypes_and_metadata(tmp_path):
    arrays = {"theta": np.linspace(0, 1, 7, dtype=np.float32), "step": np.array(12),
              "mu_product": np.array(0.5, dtype=np.float32),
              "grid": np.arange(6.0).reshape(2, 3)}
    path = save_arrays(tmp_path / "model.safetensors", arrays, {"model": "Adam", "lr": 0.1})
    loaded, metadata = load_arrays(path)
    assert metadata == {"model": "Adam", "lr": 0.1}
    assert set(loaded) == set(arrays)
    for name, value in arrays.items():
        assert loaded[name].dtype == value.dtype and loaded[name].shape == value.shape
        np.testing.assert_array_equal(loaded[name], value)


def test_atomic_write_leaves_no_temporary_files_and_replaces(tmp_path):
    path = tmp_path / "sub" / "file.bin"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(path.parent) == ["file.bin"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "file.bin"
    atomic_write_bytes(path, b"old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="No such file: '.*nothing.safetensors'"):
        load_arrays(tmp_path / "nothing.safetensors")


def test_truncated_file_is_refused(tmp_path):
    path = save_arrays(tmp_path / "m.safetensors", {"theta": np.ones(100)})
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FileFormatError, match="not a readable steepest file"):
        load_arrays(path)


def test_tampered_file_is_refused(tmp_path):
    path = save_arrays(tmp_path / "m.safetensors", {"theta": np.ones(100)})
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="has been altered or damaged"):
        load_arrays(path)


def test_other_files_are_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(FileFormatError, match="not a readable steepest file"):
        load_arrays(path)
    from safetensors.numpy import save_file

    save_file({"a": np.ones(2)}, tmp_path / "plain.safetensors")
    with pytest.raises(FileFormatError, match="not a readable steepest file"):
        load_arrays(tmp_path / "plain.safetensors")


def test_a_table_with_two_columns_of_one_name_is_refused_in_one_line(tmp_path):
    import pyarrow as pa
    from pyarrow import parquet

    from steepest.io import read_table

    csv = tmp_path / "twice.csv"
    csv.write_text("a,a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(FileFormatError, match=r"^'.*twice.csv' has two columns named 'a'; give "
                                              r"every column its own name.$"):
        read_table(csv)
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"])
    path = tmp_path / "twice.parquet"
    with parquet.ParquetWriter(path, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(FileFormatError, match="has two columns named 'x'"):
        read_table(path)


@pytest.mark.parametrize("command", ["train", "compare", "lr-find"])
def test_the_commands_say_so_in_one_line_instead_of_a_traceback(tmp_path, command):
    from typer.testing import CliRunner

    from steepest.cli import app

    path = tmp_path / "twice.csv"
    path.write_text("a,a,b\n1,2,0\n4,5,1\n3,3,0\n")
    result = CliRunner().invoke(app, [command, str(path), "--target", "b"])
    assert result.exit_code != 0
    assert "has two columns named 'a'; give every column its own name." in result.output
    assert "Traceback" not in result.output
