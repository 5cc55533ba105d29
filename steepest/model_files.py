"""Reading a saved model back: the file names the class that wrote it.

``model.save(path)`` writes safetensors with JSON metadata (:mod:`steepest.io`), never
pickle; :func:`load` rebuilds the model from it, for every kind of steepest model.
"""

from __future__ import annotations

import os

from steepest.errors import FileFormatError
from steepest.estimators import ESTIMATORS
from steepest.factorization import MatrixFactorization
from steepest.io import load_arrays

__all__ = ["MODELS", "load"]

MODELS = {**ESTIMATORS, "MatrixFactorization": MatrixFactorization}
"""Every class whose fitted models ``load`` reads, by the name its files give."""


def load(path: str | os.PathLike):
    """Read a model written by ``model.save(path)``; it predicts what the saved one did."""
    arrays, metadata = load_arrays(path)
    cls = MODELS.get(metadata.get("class")) if metadata.get("format") == "steepest-model" \
        else None
    if cls is None:
        raise FileFormatError(f"'{path}' is a steepest file but not a saved model.")
    return cls._from_file(path, arrays, metadata)
