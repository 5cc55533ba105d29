"""Write torch's outputs and gradients of conv2d, max_pool2d and avg_pool2d that
tests/test_conv.py checks steepest's image layers against.

Run from the repository root with torch installed (the ``reference`` extra)::

    .venv/bin/python scripts/make_conv_references.py

Every case is float64 with a seeded input ``X``, parameters and output gradient
``dY``; the file holds them with torch's ``Y``, ``dX`` (and ``dW``, ``db`` for the
convolutions), and torch's fans of a few kernel shapes. The max-pool inputs are
small integers, so windows hold tied maxima (and one NaN), where torch's choice of
the position that gets the gradient is what is under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "conv_references.npz"

# (n, C, H, W, out_channels, (kh, kw), (sh, sw), (ph, pw))
CONVS = [
    (2, 3, 7, 6, 4, (3, 3), (1, 1), (0, 0)),
    (2, 2, 8, 5, 3, (3, 2), (2, 1), (1, 2)),
    (3, 1, 6, 9, 2, (1, 4), (3, 2), (0, 1)),
    (1, 4, 5, 5, 5, (5, 5), (1, 1), (2, 2)),
]
# (n, C, H, W, (kh, kw), (sh, sw))
POOLS = [
    (2, 3, 6, 7, (2, 2), (2, 2)),
    (2, 2, 7, 7, (3, 3), (2, 2)),
    (1, 2, 5, 8, (2, 3), (1, 2)),
]
KERNEL_SHAPES = [(16, 3, 5, 2), (8, 1, 3, 3), (4, 6, 1, 1)]


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(11)
    arrays: dict[str, np.ndarray] = {}
    for k, (n, c, h, w, out, kernel, stride, padding) in enumerate(CONVS):
        X = torch.tensor(rng.normal(size=(n, c, h, w)), requires_grad=True)
        W = torch.tensor(rng.normal(size=(out, c, *kernel)), requires_grad=True)
        b = torch.tensor(rng.normal(size=out), requires_grad=True)
        Y = torch.nn.functional.conv2d(X, W, b, stride=stride, padding=padding)
        dY = torch.tensor(rng.normal(size=Y.shape))
        Y.backward(dY)
        arrays.update({
            f"conv{k}.config": np.array([n, c, h, w, out, *kernel, *stride, *padding]),
            f"conv{k}.X": X.detach().numpy(), f"conv{k}.W": W.detach().numpy(),
            f"conv{k}.b": b.detach().numpy(), f"conv{k}.dY": dY.numpy(),
            f"conv{k}.Y": Y.detach().numpy(), f"conv{k}.dX": X.grad.numpy(),
            f"conv{k}.dW": W.grad.numpy(), f"conv{k}.db": b.grad.numpy(),
        })
    for kind, pool in (("max", torch.nn.functional.max_pool2d),
                       ("avg", torch.nn.functional.avg_pool2d)):
        for k, (n, c, h, w, kernel, stride) in enumerate(POOLS):
            if kind == "max":
                values = rng.integers(-2, 3, size=(n, c, h, w)).astype(float)
                values[0, 0, 1, 1] = np.nan
            else:
                values = rng.normal(size=(n, c, h, w))
            X = torch.tensor(values, requires_grad=True)
            Y = pool(X, kernel, stride)
            dY = torch.tensor(rng.normal(size=Y.shape))
            Y.backward(dY)
            arrays.update({
                f"{kind}{k}.config": np.array([n, c, h, w, *kernel, *stride]),
                f"{kind}{k}.X": X.detach().numpy(), f"{kind}{k}.dY": dY.numpy(),
                f"{kind}{k}.Y": Y.detach().numpy(), f"{kind}{k}.dX": X.grad.numpy(),
            })
    arrays["fans.shapes"] = np.array(KERNEL_SHAPES)
    arrays["fans.values"] = np.array([torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(shape)) for shape in KERNEL_SHAPES])
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
