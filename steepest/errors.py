"""The exceptions steepest raises.

Every error is a :class:`SteepestError`; the subclasses also derive from the
built-in exception a Python user would expect (``ValueError`` for a bad
argument), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class SteepestError(Exception):
    """Base class of every error raised by steepest."""


class ParameterError(SteepestError, ValueError):
    """A parameter has a value outside its valid range or of the wrong type."""


class NonFiniteError(SteepestError, FloatingPointError):
    """A gradient, loss or parameter became NaN or infinite."""


class StateError(SteepestError, ValueError):
    """A saved state does not fit the object it is loaded into."""


class FileFormatError(SteepestError, ValueError):
    """A model or checkpoint file is missing, truncated, tampered with or not steepest's."""
