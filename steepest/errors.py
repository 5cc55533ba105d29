"""The exceptions steepest raises, and where its warnings point.

Every error is a :class:`SteepestError`; the subclasses also derive from the
built-in exception a Python user would expect (``ValueError`` for a bad
argument), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` in the calling function name the
    first line outside steepest (the user's ``fit`` call, however deep the warning)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


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


class DatasetUnavailableError(SteepestError, OSError):
    """A data set's file is neither on disk nor fetchable; the message says what to put where."""
