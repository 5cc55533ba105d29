"""Central finite differences for the gradient tests, independent of the library's own."""

from __future__ import annotations

import numpy as np


def numerical_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar ``f()`` w.r.t. every entry of ``x`` (in place)."""
    g = np.empty_like(x)
    flat, g_flat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        g_flat[i] = (up - down) / (2 * h)
    return g
