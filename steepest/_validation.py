"""One way to check a parameter and one sentence to say what is wrong with it.

Every bad value in the library is reported the same way::

    The 'lr' parameter of Adam must be a float in the range [0.0, inf). Got -0.1 instead.
"""

from __future__ import annotations

import math
import numbers

from steepest.errors import ParameterError


def _interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    lo = "-inf" if low is None else repr(float(low)) if isinstance(low, float) else str(low)
    hi = "inf" if high is None else repr(float(high)) if isinstance(high, float) else str(high)
    return f"{left}{lo}, {hi}{right}"


def check_number(
    value,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: str = "left",
    integer: bool = False,
) -> float | int:
    """Return ``value`` if it is a real number in the interval, else raise :class:`ParameterError`.

    ``closed`` is one of ``"left"``, ``"right"``, ``"both"``, ``"neither"`` and says
    which ends of ``[low, high]`` belong to the interval (an absent end is open).
    """
    kind = "an int" if integer else "a float"
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not ok_type:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be {kind} in the range "
            f"{_interval(low, high, closed)}. Got {value!r} of type {type(value).__name__} instead."
        )
    inside = not (isinstance(value, float) and math.isnan(value))
    if inside and low is not None:
        inside = value >= low if closed in ("left", "both") else value > low
    if inside and high is not None:
        inside = value <= high if closed in ("right", "both") else value < high
    if not inside:
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be {kind} in the range "
            f"{_interval(low, high, closed)}. Got {value!r} instead."
        )
    return value


def check_choice(value, name: str, owner: str, choices) -> object:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ParameterError`."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be one of {listed}. Got {value!r} instead."
        )
    return value


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps
    of neighbours each cost 1 (so the typo 'adma' is 1 away from 'adam')."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1,
                         rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def lookup(name, table, kind: str):
    """``table[name]`` for a name given in any case, with ``-`` or spaces for ``_``.

    An unknown name raises :class:`ParameterError` in one sentence for every
    registry: "Unknown optimizer 'adma'. Valid names are: adadelta, ... Did you
    mean 'adam'?"
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_") \
        if isinstance(name, str) else None
    if key in table:
        return table[key]
    guess = closest_name(str(name), table) if isinstance(name, str) else None
    hint = f" Did you mean {guess!r}?" if guess else ""
    raise ParameterError(
        f"Unknown {kind} {name!r}. Valid names are: {', '.join(sorted(table))}.{hint}"
    )


def closest_name(name: str, names) -> str | None:
    """The entry of ``names`` nearest to ``name`` (for "did you mean ...?"), or None when
    nothing is close (more than a third of the letters would have to change)."""
    name = str(name).lower()
    best = min(names, key=lambda n: (_edit_distance(name, n.lower()), n), default=None)
    if best is None or _edit_distance(name, best.lower()) > max(1, len(name) // 3):
        return None
    return best
