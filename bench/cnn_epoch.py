"""One training epoch of a small CNN on Fashion-MNIST, steepest against PyTorch CPU eager,
and one Conv2D forward+backward alone against torch's ``conv2d``.

The network (the image example's)::

    Conv2D(32, 3) ReLU MaxPool2D(2)     1×28×28 → 32×26×26 → 32×13×13
    Conv2D(64, 3) ReLU MaxPool2D(2)             → 64×11×11 → 64×5×5
    Flatten Dense(128) ReLU Dense(10)           → 1600 → 128 → 10

float32, batch 64, Adam (lr 1e-3), categorical cross-entropy; steepest's defaults
(Glorot-uniform weights, zero biases) drawn with ``random_state=0`` and copied into
the torch model, so both start from the same θ. Every sample runs in its own
subprocess (so no thread pool of one library leaks into the other's timing) with
the same number of threads (``--threads``: OpenBLAS's for steepest, torch's
intra-op threads); inside it the data are loaded, the model warmed up on two
batches, then one epoch is timed. Rounds are interleaved, the order rotating; the
tables give medians. A subprocess measures the float32 matmul rate (NumPy, 2048³, same
threads) between rounds; the FLOP floor is the epoch's multiply-adds (forward, ∂W and ∂X,
no ∂X for the first layer) over that rate.

The images are the first ``--samples`` of Fashion-MNIST's training set, read from
the IDX files of Debian's ``dataset-fashion-mnist`` package
(/usr/share/datasets/fashion-mnist); without them, random images of the same shape.
The loss of the epoch and the accuracy on 2,000 test images are reported as a check
that both libraries train the same model, not as a result.

    .venv/bin/python bench/cnn_epoch.py                      # 10,000 images, 3 rounds
    .venv/bin/python bench/cnn_epoch.py --samples 60000 --rounds 5
    .venv/bin/python bench/cnn_epoch.py --profile --threads 1  # steepest's time per layer
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FASHION = Path("/usr/share/datasets/fashion-mnist")
BATCH = 64
LR = 1e-3
TEST = 2000

# (C, H, W) in → layer list; the FLOPs of each layer per sample are worked out below
CONV = ((32, 3), (64, 3))
DENSE = (128, 10)

# Conv2D alone: (name, batch, in_channels, size, out_channels, kernel, padding, need dX)
CONV_SHAPES = (
    ("first conv: 1→32, 28×28, 3×3", 64, 1, 28, 32, 3, 0, False),
    ("second conv: 32→64, 13×13, 3×3", 64, 32, 13, 64, 3, 0, True),
    ("32→32, 28×28, 3×3 padding 1", 64, 32, 28, 32, 3, 1, True),
)


def layer_flops() -> list[tuple[str, int, int]]:
    """``(layer, forward multiply-adds × 2 per sample, output values per sample)``."""
    flops, (c, h, w) = [], (1, 28, 28)
    for out, k in CONV:
        h, w = h - k + 1, w - k + 1
        flops.append((f"Conv2D({out}, {k})", 2 * out * c * k * k * h * w, out * h * w))
        c, h, w = out, h // 2, w // 2
    width = c * h * w
    for units in DENSE:
        flops.append((f"Dense({units})", 2 * width * units, units))
        width = units
    return flops


def epoch_flops_per_sample() -> int:
    """Forward + ∂W + ∂X (3× forward), without the first layer's ∂X."""
    forward = [f for _, f, _ in layer_flops()]
    return 3 * sum(forward) - forward[0]


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """``(X, y, X_test, y_test, source)``: images (n, 1, 28, 28) in [0, 1], float32."""
    if (FASHION / "train-images-idx3-ubyte.gz").exists():
        X = read_idx(FASHION / "train-images-idx3-ubyte.gz")[:n]
        y = read_idx(FASHION / "train-labels-idx1-ubyte.gz")[:n]
        X_test = read_idx(FASHION / "t10k-images-idx3-ubyte.gz")[:TEST]
        y_test = read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")[:TEST]
        source = f"Fashion-MNIST ({FASHION}), the first {n} training images"
    else:
        rng = np.random.default_rng(0)
        X, X_test = (rng.integers(0, 256, (m, 28, 28), np.uint8) for m in (n, TEST))
        y, y_test = (rng.integers(0, 10, m) for m in (n, TEST))
        source = f"random images of Fashion-MNIST's shape ({FASHION} not found)"
    images = [(a.reshape(-1, 1, 28, 28) / np.float32(255)).astype(np.float32)
              for a in (X, X_test)]
    return images[0], y.astype(np.intp), images[1], y_test.astype(np.intp), source


def steepest_network(random_state: int = 0):
    from steepest import nn

    layers = []
    for out, k in CONV:
        layers += [nn.Conv2D(out, k), nn.ReLU(), nn.MaxPool2D(2)]
    layers += [nn.Flatten(), nn.Dense(DENSE[0]), nn.ReLU(), nn.Dense(DENSE[1])]
    return nn.Network(layers, (1, 28, 28), dtype="float32", random_state=random_state)


def torch_model(net):
    """The same architecture in torch, with ``net``'s parameters copied in."""
    import torch

    modules, c = [], 1
    for out, k in CONV:
        modules += [torch.nn.Conv2d(c, out, k), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        c = out
    width = net.layers[len(CONV) * 3].n_out
    modules += [torch.nn.Flatten(), torch.nn.Linear(width, DENSE[0]), torch.nn.ReLU(),
                torch.nn.Linear(DENSE[0], DENSE[1])]
    model = torch.nn.Sequential(*modules)
    ours = [layer for layer in net.layers if layer.n_params]
    theirs = [m for m in modules if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        for layer, module in zip(ours, theirs, strict=True):
            W = layer.W if isinstance(module, torch.nn.Conv2d) else layer.W.T  # Linear: (out, in)
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
            module.bias.copy_(torch.from_numpy(layer.b))
    return model


def steepest_accuracy(net, X, y) -> float:
    right = sum(int(np.sum(np.argmax(net.forward(X[a:a + 500]), axis=1) == y[a:a + 500]))
                for a in range(0, len(X), 500))
    return right / len(X)


def epoch_worker(impl: str, n: int, threads: int) -> dict:
    X, y, X_test, y_test, source = load(n)
    warm = 2 * BATCH
    if impl == "steepest":
        from steepest import optim
        from steepest.train import Trainer

        def make():
            net = steepest_network()
            return net, Trainer(net, "categorical_crossentropy", optim.Adam(lr=LR),
                                batch_size=BATCH, random_state=0)
        make()[1].fit(X[:warm], y[:warm], epochs=1)
        net, trainer = make()
        start = time.perf_counter()
        trainer.fit(X, y, epochs=1)
        seconds = time.perf_counter() - start
        loss, accuracy = trainer.history["loss"][-1], steepest_accuracy(net, X_test, y_test)
    else:
        import torch

        torch.set_num_threads(threads)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def epoch(model, count, rng):
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            lossf = torch.nn.CrossEntropyLoss()
            order, total = torch.from_numpy(rng.permutation(count)), 0.0
            for a in range(0, count, BATCH):
                idx = order[a:a + BATCH]
                opt.zero_grad()
                value = lossf(model(Xt[idx]), yt[idx])
                value.backward()
                opt.step()
                total += float(value) * len(idx)
            return total / count
        epoch(torch_model(steepest_network()), warm, np.random.default_rng(1))
        model = torch_model(steepest_network())
        start = time.perf_counter()
        loss = epoch(model, n, np.random.default_rng(0))
        seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((model(torch.from_numpy(X_test)).argmax(1).numpy() == y_test)
                             .mean())
    return {"seconds": seconds, "loss": loss, "accuracy": accuracy, "source": source}


def conv_worker(impl: str, threads: int, repeats: int = 20) -> dict:
    """Median seconds of one forward+backward of each of CONV_SHAPES."""
    rng = np.random.default_rng(0)
    results = {}
    for name, n, c, size, out, k, pad, need_dX in CONV_SHAPES:
        X = rng.random((n, c, size, size), dtype=np.float32)
        if impl == "steepest":
            from steepest import nn

            net = nn.Network([nn.Conv2D(out, k, padding=pad)], (c, size, size),
                             dtype="float32", random_state=0)
            layer = net.layers[0]
            dY = rng.random((n, *net.output_shape), dtype=np.float32)

            def run(layer=layer, X=X, dY=dY, need_dX=need_dX):
                layer.forward(X, True)
                layer.backward(dY, need_dX=need_dX)
        else:
            import torch

            torch.set_num_threads(threads)
            x = torch.from_numpy(X).requires_grad_(need_dX)
            w = torch.randn(out, c, k, k, requires_grad=True)
            b = torch.zeros(out, requires_grad=True)
            g = torch.randn_like(torch.nn.functional.conv2d(x, w, b, padding=pad))

            def run(x=x, w=w, b=b, g=g, pad=pad):
                torch.nn.functional.conv2d(x, w, b, padding=pad).backward(g)
        for _ in range(3):
            run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        results[name] = statistics.median(times)
    return results


def profile(threads: int, repeats: int = 30) -> None:
    """steepest's median forward and backward time per layer at batch 64: CPU time of the
    process (``time.process_time``), which a busy machine disturbs less than the clock
    does; with 1 thread it is the time the layer computes."""
    X, *_ = load(BATCH)
    net = steepest_network()
    inputs = [X]
    for layer in net.layers:
        inputs.append(layer.forward(inputs[-1], True).copy())
    rows, dY = [], np.ones((BATCH, DENSE[-1]), np.float32)
    for index in range(len(net.layers) - 1, -1, -1):
        layer, x = net.layers[index], inputs[index]

        def forward(layer=layer, x=x):
            layer.forward(x, True)

        def backward(layer=layer, dY=dY, need=index > 0):
            layer.backward(dY, need_dX=need)
        times = []
        for step in (forward, backward):
            step()
            samples = []
            for _ in range(repeats):
                start = time.process_time()
                step()
                samples.append(time.process_time() - start)
            times.append(statistics.median(samples) * 1e3)
        layer.forward(x, True)
        dX = layer.backward(dY, need_dX=index > 0)
        dY = dX.copy() if dX is not None else None
        rows.append((index, repr(layer).split("(")[0], layer.out_shape, *times))
    total = sum(r[3] + r[4] for r in rows)
    print(f"steepest, batch {BATCH}, float32, {threads} BLAS thread(s): median CPU ms per call "
          f"of {repeats}\n")
    print("| layer | output | forward CPU ms | backward CPU ms | share |")
    print("|---|---|---:|---:|---:|")
    for index, name, shape, f, b in reversed(rows):
        print(f"| {index} {name} | {shape} | {f:.3f} | {b:.3f} | {(f + b) / total:.0%} |")
    print(f"| all layers | | | | {total:.2f} ms |")


def sgemm_gflops() -> float:
    rng = np.random.default_rng(1)
    a = rng.random((2048, 2048), dtype=np.float32)
    b = rng.random((2048, 2048), dtype=np.float32)
    a @ b
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * 2048**3 / (time.perf_counter() - start) / 1e9)
    return best


def run_worker(args: list[str], threads: int) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, __file__, *args], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=10000,
                   help="training images in the epoch (default 10000; Fashion-MNIST has 60000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="BLAS / torch threads (default: the CPUs here)")
    p.add_argument("--profile", action="store_true", help="only steepest's time per layer")
    p.add_argument("--worker", nargs=2, metavar=("KIND", "IMPL"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        kind, impl = args.worker
        result = (epoch_worker(impl, args.samples, args.threads) if kind == "epoch"
                  else conv_worker(impl, args.threads) if kind == "conv"
                  else {"gflops": sgemm_gflops()})
        print(json.dumps(result))
        return
    if args.profile:
        profile(args.threads)
        return

    impls = ("steepest", "torch")
    jobs = [(kind, impl) for kind in ("epoch", "conv") for impl in impls]
    samples: dict = {job: [] for job in jobs}
    gflops, loads = [], []
    sgemm = ["--worker", "sgemm", "numpy", "--threads", str(args.threads)]
    start = time.perf_counter()
    for r in range(args.rounds):
        gflops.append(run_worker(sgemm, args.threads)["gflops"])
        loads.append(os.getloadavg()[0])
        k = r % len(jobs)
        for kind, impl in jobs[k:] + jobs[:k]:
            worker = ["--worker", kind, impl, "--samples", str(args.samples),
                      "--threads", str(args.threads)]
            samples[kind, impl].append(run_worker(worker, args.threads))
            if kind == "epoch":
                print(f"round {r + 1} {impl} epoch: {samples[kind, impl][-1]['seconds']:.2f} s",
                      file=sys.stderr)
    gflops.append(run_worker(sgemm, args.threads)["gflops"])
    loads.append(os.getloadavg()[0])
    elapsed = time.perf_counter() - start

    import torch

    rate = statistics.median(gflops)
    per_sample = epoch_flops_per_sample()
    floor = per_sample * args.samples / (rate * 1e9)
    print(f"`{' '.join(['.venv/bin/python', 'bench/cnn_epoch.py', *sys.argv[1:]])}` — "
          f"{dt.datetime.now().isoformat(timespec='seconds')}, {elapsed:.0f} s\n")
    print(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"CPUs, {args.threads} thread(s) each; Python {platform.python_version()}, NumPy "
          f"{np.__version__}, torch {torch.__version__}")
    print(f"- data: {samples['epoch', 'steepest'][0]['source']}; batch {BATCH}, Adam lr {LR}, "
          f"float32; median of {args.rounds} interleaved rounds, one subprocess per sample "
          "(after a 2-batch warm-up)")
    print(f"- FLOP floor: {per_sample * args.samples / 1e9:.1f} GFLOP (forward, ∂W, ∂X) / "
          f"{rate:.1f} GFLOP/s (NumPy float32 matmul 2048³ on {args.threads} thread(s), median "
          f"over rounds, min {min(gflops):.1f}, max {max(gflops):.1f}) = {floor:.2f} s")
    print(f"- load average (1 min) between rounds: median {statistics.median(loads):.1f}, max "
          f"{max(loads):.1f}, on {os.cpu_count()} CPUs\n")
    print("| implementation | median s | min s | max s | torch / this | of floor | "
          "epoch loss | test accuracy (2,000) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    torch_median = statistics.median(s["seconds"] for s in samples["epoch", "torch"])
    for impl in impls:
        runs = samples["epoch", impl]
        secs = [s["seconds"] for s in runs]
        med = statistics.median(secs)
        print(f"| {impl} | {med:.2f} | {min(secs):.2f} | {max(secs):.2f} | "
              f"{torch_median / med:.2f}× | {floor / med:.0%} | "
              f"{statistics.median(s['loss'] for s in runs):.4f} | "
              f"{statistics.median(s['accuracy'] for s in runs):.3f} |")
    print("\nConv2D forward + backward alone (∂W, ∂b and ∂X unless said), batch 64, float32: "
          "median ms of 20 calls per sample, median over rounds\n")
    print("| shape | steepest ms | torch ms | steepest / torch | FLOP floor ms |")
    print("|---|---:|---:|---:|---:|")
    for name, n, c, size, out, k, pad, need_dX in CONV_SHAPES:
        ours = statistics.median(s[name] for s in samples["conv", "steepest"]) * 1e3
        theirs = statistics.median(s[name] for s in samples["conv", "torch"]) * 1e3
        side = size + 2 * pad - k + 1
        products = (3 if need_dX else 2) * 2 * n * out * c * k * k * side * side
        label = name + ("" if need_dX else " (no ∂X)")
        print(f"| {label} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}× | "
              f"{products / (rate * 1e9) * 1e3:.2f} |")


if __name__ == "__main__":
    main()
