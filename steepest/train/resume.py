"""A fit's checkpoint file: the settings it was made with, and its state after every step.

The in-memory epoch loop checkpoints through :meth:`Trainer.save_checkpoint
<steepest.train.Trainer.save_checkpoint>`; the fits that run a loop of their own (L-BFGS
and Newton, in memory or out of core, and the epochs over a Dask cluster or a
:class:`~steepest.stream.ParquetStream`) through a :class:`FitCheckpoint`. Its file has
:mod:`steepest.train.state`'s format (safetensors + JSON, a digest of the arrays, written
atomically) and holds

* ``settings``: the estimator's class and parameters and a description of the data
  (rows, features, dtype, a digest of the values or of their statistics, the
  partitioning), as :func:`estimator_settings` makes them;
* ``state``: what the fit saved last (for L-BFGS its point, value, gradient and
  ``(s, y, rho)`` pairs; for epochs the parameters, the optimizer's state, the
  generator's state), with the history so far.

Resuming from a file whose settings differ from the fit's is refused, naming what
differs: the same state under other settings would not end where either run would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from steepest.errors import StateError
from steepest.train.state import load_state, save_state

__all__ = ["FitCheckpoint", "data_digest", "estimator_settings"]

FIT = "steepest.fit"
"""The ``fit`` entry of a :class:`FitCheckpoint`'s file (a Trainer's checkpoint has none)."""

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def data_digest(*arrays) -> str:
    """A SHA-256 digest (hex, 16 characters) of arrays' dtypes, shapes and values; a SciPy
    sparse matrix counts by its format, ``data``, ``indices`` and ``indptr``, an object
    array (labels) by its values' text; None is skipped."""
    sha = hashlib.sha256()
    for array in arrays:
        if array is None:
            continue
        parts = ((array.data, array.indices, array.indptr) if hasattr(array, "indptr")
                 else (array,))
        sha.update(f"{getattr(array, 'format', 'dense')}|{array.shape}|".encode())
        for part in parts:
            part = np.ascontiguousarray(part)
            if part.dtype.kind == "O":          # labels: by their text, not their addresses
                part = part.astype(str)
            sha.update(f"{part.dtype.str}|".encode())
            sha.update(part.tobytes())
    return sha.hexdigest()[:16]


def _setting(value):
    """A parameter as JSON: numbers, strings, None and lists of them as they are, anything
    else (an optimizer, a schedule, layers) by its ``repr`` without memory addresses."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(
            v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return _ADDRESS.sub("", repr(value))


def estimator_settings(estimator, data: dict) -> dict:
    """What a fit's result depends on: ``estimator``'s class name and parameters
    (``get_params(deep=False)``, ``verbose`` left out) and ``data``, a JSON-safe
    description of the data (see :func:`data_digest`)."""
    params = {name: _setting(value) for name, value in
              sorted(estimator.get_params(deep=False).items()) if name != "verbose"}
    return {"estimator": type(estimator).__name__, "params": params, "data": data}


def _differences(saved, current, where: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(current, dict):
        return [line for key in sorted(set(saved) | set(current)) for line in _differences(
            saved.get(key), current.get(key), f"{where}.{key}" if where else key)]
    if saved != current:
        return [f"{where} is {saved!r} in the file, {current!r} here"]
    return []


class FitCheckpoint:
    """The checkpoint file of one fit, saved after every iteration or epoch.

    Parameters
    ----------
    path : str or path-like
        The file.
    settings : dict
        What the fit depends on (:func:`estimator_settings`), JSON-safe.
    resume : bool
        Whether :meth:`load` continues from an existing file (else the fit starts
        afresh and its first save replaces the file).
    """

    def __init__(self, path: str | os.PathLike, settings: dict, *, resume: bool) -> None:
        self.path = Path(path)
        # as the file will give them back (tuples become lists)
        self.settings = json.loads(json.dumps(settings))
        self.resume = resume

    def load(self) -> dict | None:
        """The state saved last, when resuming from an existing file; None to start afresh.

        Raises
        ------
        FileFormatError
            The file is not a steepest checkpoint, or was truncated or altered.
        StateError
            It is a checkpoint of another kind of fit, or of this fit with other
            settings or data.
        """
        if not (self.resume and self.path.exists()):
            return None
        saved = load_state(self.path)
        if saved.get("fit") != FIT:
            raise StateError(
                f"'{self.path}' is the checkpoint of an in-memory epoch-by-epoch fit (a "
                f"Trainer's), not of this {self.settings['estimator']} fit. Resume it with "
                "the data and optimizer that wrote it, or fit without resume to start afresh."
            )
        differ = _differences(saved["settings"], self.settings)
        if differ:
            shown = "; ".join(differ[:3]) + ("; ..." if len(differ) > 3 else "")
            raise StateError(
                f"The checkpoint '{self.path}' was written by a fit with other settings or "
                f"data ({shown}). Resume with the settings and data of that run, or fit "
                "without resume to start afresh (the file is then replaced)."
            )
        return saved["state"]

    def save(self, state: dict) -> Path:
        """Write ``state`` (nested dicts of arrays, numbers and strings) with the settings,
        atomically: a crash while writing leaves the previous file whole."""
        return save_state(self.path, {"fit": FIT, "settings": self.settings, "state": state})

    def __repr__(self) -> str:
        return f"FitCheckpoint({str(self.path)!r}, resume={self.resume!r})"
