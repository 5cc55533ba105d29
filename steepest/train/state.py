"""Nested training state to and from a checkpoint file (arrays + JSON metadata).

A trainer's state is a nested dict of arrays, numbers, strings and lists. In the
file, every array becomes a safetensors tensor named by its path
(``"network/theta"``, ``"callbacks/EarlyStopping/best/theta"``) and its place in
the JSON metadata holds ``{"__array__": path, "shape": [...]}``; everything else
is JSON, where Python's float ``repr`` makes every float round-trip exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from steepest.errors import FileFormatError
from steepest.io import load_arrays, save_arrays

__all__ = ["load_state", "save_state"]

FORMAT = "steepest.train.checkpoint"
VERSION = 1


def _split(value, path: str, arrays: dict[str, np.ndarray]):
    if isinstance(value, np.ndarray):
        arrays[path] = value
        # the shape is kept apart: 0-d arrays come back from the file as 1-d ones
        return {"__array__": path, "shape": list(value.shape)}
    if isinstance(value, dict):
        return {str(k): _split(v, f"{path}/{k}" if path else str(k), arrays)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _join(value, arrays: dict[str, np.ndarray]):
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]].reshape(value["shape"])
        return {k: _join(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value


def save_state(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` (a nested dict) to ``path`` atomically."""
    arrays: dict[str, np.ndarray] = {}
    tree = _split(state, "", arrays)
    return save_arrays(path, arrays, {"format": FORMAT, "version": VERSION, "state": tree})


def load_state(path: str | os.PathLike) -> dict:
    """Read a state written by :func:`save_state`."""
    arrays, metadata = load_arrays(path)
    if metadata.get("format") != FORMAT:
        raise FileFormatError(
            f"'{path}' is a steepest file but not a training checkpoint (it holds "
            f"{metadata.get('format', 'a model')!r}). Resume from the checkpoint file the "
            "trainer wrote."
        )
    if metadata.get("version") != VERSION:
        raise FileFormatError(
            f"'{path}' is a checkpoint of format version {metadata.get('version')!r}; this "
            f"steepest reads version {VERSION}. Resume with the steepest that wrote it."
        )
    return _join(metadata["state"], arrays)
