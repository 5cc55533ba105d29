r"""The compiled copy of :mod:`steepest.stream` (importing this imports Numba).

A row group's feature columns arrive side by side in a C-ordered matrix ``source`` of
shape (n, d) (pyarrow's ``to_tensor``, float64 for mixed columns); it is written row by
row into ``out`` (C order, any float dtype), into the rows ``places`` (or rows 0..n-1),
each value first rounded to ``out``'s dtype, then, with a ``mean`` and ``scale`` of
shape (d,), standardised:

.. math:: \text{out}_{p_i, j} = (\operatorname{round}(x_{ij}) - \mu_j) / s_j,

the operations of ``(X - mean) / scale`` on the rounded block, in one pass over the
memory instead of four (copy, finiteness check, subtraction, division), without the GIL
(``nogil``: the stream's reading thread runs it while the training runs). The code is
cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_kernel = njit(cache=True, fastmath=False, error_model="numpy", nogil=True)


@_kernel
def place_rows(source, places, out, mean, scale):
    """Write the rows of ``source`` (n, d) into the rows ``places`` of ``out`` (None: rows
    0..n-1), standardised when ``mean`` and ``scale`` are given (None: as they are).

    ``source`` is best C-ordered: reading it row by row is then one stream (a
    column-major source, read across its columns, runs at half the speed).

    Returns
    -------
    bool
        Whether every value, rounded to ``out``'s dtype, is finite (when not, ``out`` holds
        some of the rows and the caller reports the first bad value).
    """
    n, d = source.shape
    finite = True
    for i in range(n):
        row = out[i if places is None else places[i]]
        values = source[i]
        for j in range(d):
            row[j] = values[j]
            value = row[j]
            finite &= np.isfinite(value)
            if mean is not None:
                row[j] = (value - mean[j]) / scale[j]
    return finite
