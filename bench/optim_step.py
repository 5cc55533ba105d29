"""Time one optimizer step on a flat float32 vector: steepest.optim against torch.optim.

For each size (default 1M, 10M and 50M parameters) and each rule (Adam, SGD with
momentum 0.9, RMSprop) this times ``opt.step(theta, grad)`` of steepest, both as it
runs by default (its fused Numba kernel, on all cores) and on its NumPy reference
path (``fused_min_size = None``), and the torch.optim step on one flat tensor of
the same size, in its foreach, fused (where torch has it on CPU) and single-tensor
(``foreach=False``) forms. The runs are interleaved (one sample of each
implementation in turn, the order rotating every round) after warm-up steps, and
each figure is the median over the rounds.

The memory-bandwidth floor is measured in the same rounds: two streaming in-place
kernels (``a += b`` in NumPy, ``a += s*b`` in torch) on arrays far beyond the
last-level cache take their turn with the optimizers, so the floor follows the
machine's bandwidth as it drifts. The floor of a step is the bytes an ideal fused
kernel moves per element (Adam 28: read θ, g, m, v and write θ, m, v; SGD with
momentum and RMSprop 20) over the faster kernel's median bandwidth; each row
reports floor / measured time, the fraction of the floor reached.

It also counts, by running one steepest step on its NumPy path on an array that
records every ufunc call, the passes over memory the NumPy implementation makes and
the bytes per element they move, and the page faults each implementation takes per
step (a step that allocates its temporaries pays for fresh pages every time).

    .venv/bin/python bench/optim_step.py                    # 1M, 10M, 50M; about 1 min
    .venv/bin/python bench/optim_step.py --quick            # 1M only, fewer rounds
    .venv/bin/python bench/optim_step.py --sizes 1M,4M --repeats 9 --markdown
    .venv/bin/python bench/optim_step.py --json             # also bench/results/*.json
    .venv/bin/python bench/optim_step.py --breakdown        # + steepest's step pass by pass

Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import torch
except ImportError:  # the bench extra installs it
    sys.exit("bench/optim_step.py needs torch: run `make bench` or "
             "`.venv/bin/pip install -e '.[dev,bench]'`.")

try:
    import resource
except ImportError:  # not on Windows: page faults are then not counted
    resource = None

from steepest import optim as st_optim

RULES = ("Adam", "SGD", "RMSprop")
# Bytes per element an ideal fused float32 kernel reads + writes in one step.
FLOOR_BYTES = {"Adam": 28, "SGD": 20, "RMSprop": 20}
LR = 1e-3
STEEPEST = {
    "Adam": lambda: st_optim.Adam(lr=LR),
    "SGD": lambda: st_optim.SGD(lr=LR, momentum=0.9),
    "RMSprop": lambda: st_optim.RMSprop(lr=LR),
}
TORCH = {
    "Adam": lambda params, **kw: torch.optim.Adam(params, lr=LR, **kw),
    "SGD": lambda params, **kw: torch.optim.SGD(params, lr=LR, momentum=0.9, **kw),
    "RMSprop": lambda params, **kw: torch.optim.RMSprop(params, lr=LR, **kw),
}
TORCH_MODES = {"foreach": {"foreach": True}, "fused": {"fused": True},
               "single-tensor": {"foreach": False}}
STREAM_ELEMENTS = 32 * 2**20  # 128 MiB per float32 array: 4x a 32 MiB L3
MIN_SAMPLE_S = 0.02  # one sample times enough consecutive steps to last this long
LOAD_WARNING = 0.1  # cores kept busy by other processes above which a group is flagged
RETRY_WAIT_S = 5.0  # pause before timing a flagged group again
RETRY_BUDGET_S = 150.0  # no retries once the run has taken this long (keeps it under 5 min)


# -- helpers ------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """'1M' -> 1_000_000, '500k' -> 500_000, '2e6' -> 2_000_000."""
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgG]?)\s*", text)
    try:
        value = int(float(match[1]) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[
            match[2].lower()]) if match else 0
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"cannot read size {text!r}; write e.g. 1M, 500k, 2e6")
    return value


def human(n: int) -> str:
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= scale and n % (scale // 10) == 0:
            return f"{n / scale:g}{unit}"
    return str(n)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


def read_text(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def machine() -> dict:
    cpuinfo = read_text("/proc/cpuinfo") or ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = None
    l3 = read_text("/sys/devices/system/cpu/cpu0/cache/index3/size")
    return {
        "cpu": model, "logical_cpus": os.cpu_count(), "memory_GiB": memory,
        "l3_cache": l3.strip() if l3 else None, "python": platform.python_version(),
        "numpy": np.__version__, "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numba": numba_threads(),
    }


def numba_threads() -> str:
    """Numba's version and how steepest's fused kernels are spread over threads."""
    import numba

    from steepest.optim import _kernels

    return (f"Numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads from "
            f"{_kernels.PARALLEL_MIN_SIZE:,} elements (a pool of Python threads, each "
            "running the compiled loop on its part)")


# -- counting NumPy's passes over memory ----------------------------------------------------


class _Counted(np.ndarray):
    """An array that records every ufunc call on it: name, bytes read + written, seconds."""

    calls: list[tuple[str, int, float]] = []

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        def plain(x):
            return x.view(np.ndarray) if isinstance(x, _Counted) else x

        moved = sum(x.nbytes for x in inputs if isinstance(x, np.ndarray))
        moved += sum(o.nbytes for o in (out or ()) if isinstance(o, np.ndarray))
        if out is not None:
            kwargs["out"] = tuple(plain(o) for o in out)
        args = [plain(x) for x in inputs]
        start = time.perf_counter()
        result = getattr(ufunc, method)(*args, **kwargs)
        elapsed = time.perf_counter() - start
        if out is None and isinstance(result, np.ndarray) and result.ndim:
            moved += result.nbytes  # a temporary the caller did not preallocate
        name = "sum (finite check)" if method == "reduce" else ufunc.__name__
        _Counted.calls.append((name, moved, elapsed))
        if out is not None and len(out) == 1:
            return out[0]  # keep `a += b` bound to the counted array
        return result


def trace_step(rule: str, n: int, steps: int = 1) -> list[tuple[str, float, float]]:
    """The ufunc calls of one steepest step on n parameters: (name, bytes/element, seconds).

    The seconds are each call's median over `steps` steps (after one step that
    creates the state, and SGD's first step that copies g into b).
    """
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(n, dtype=np.float32).view(_Counted)
    grad = rng.standard_normal(n, dtype=np.float32).view(_Counted)
    grad *= 1e-2
    opt = STEEPEST[rule]()
    opt.fused_min_size = None  # the NumPy reference path, ufunc by ufunc
    opt.step(theta, grad)
    traces = []
    for _ in range(steps):
        _Counted.calls = []
        opt.step(theta, grad)
        traces.append(_Counted.calls)
    _Counted.calls = []
    return [(name, moved / n, float(np.median([t[i][2] for t in traces])))
            for i, (name, moved, _) in enumerate(traces[0])]


def numpy_traffic(rule: str) -> dict:
    """Ufunc passes and bytes per element (reads + writes) of one steepest step."""
    calls = trace_step(rule, 4096)
    return {"passes": len(calls), "bytes_per_element": sum(c[1] for c in calls),
            "ufuncs": [c[0] for c in calls]}


def fused_split(rule: str, n: int, steps: int = 15) -> dict:
    """steepest's fused step on n parameters: its finite-gradient check and the whole step.

    Medians over `steps` steps, in ms; the rest of the step is the kernel's one pass.
    """
    from steepest.optim import _kernels

    rng = np.random.default_rng(0)
    theta = rng.standard_normal(n, dtype=np.float32)
    grad = rng.standard_normal(n, dtype=np.float32)
    grad *= 1e-2
    opt = STEEPEST[rule]()
    opt.step(theta, grad)
    check, step = [], []
    for _ in range(steps):
        start = time.perf_counter()
        _kernels.count_nonfinite(grad)
        check.append(time.perf_counter() - start)
        start = time.perf_counter()
        opt.step(theta, grad)
        step.append(time.perf_counter() - start)
    return {"check_ms": float(np.median(check)) * 1e3, "step_ms": float(np.median(step)) * 1e3}


# -- memory bandwidth --------------------------------------------------------------------


class Streams:
    """Streaming kernels on two 128 MiB arrays, counted as STREAM counts (reads + writes).

    The in-place kernels read every line they write, as an optimizer step does, so
    their count is the real traffic. ``copy`` writes lines it never read; the
    hardware reads them first (write-allocate), which its count leaves out.
    """

    def __init__(self) -> None:
        self.a = np.zeros(STREAM_ELEMENTS, np.float32)
        self.b = np.ones(STREAM_ELEMENTS, np.float32)
        self.ta, self.tb = torch.from_numpy(self.a), torch.from_numpy(self.b)

    def kernels(self, torch_threads: int, copy: bool) -> dict[str, tuple[int, int, Callable]]:
        """name -> (bytes per call, torch threads, kernel)."""
        a, b, ta, tb = self.a, self.b, self.ta, self.tb
        n = STREAM_ELEMENTS
        found = {"numpy a+=b (1 thread)": (12 * n, 1, lambda: np.add(a, b, out=a))}
        if copy:
            found["numpy copy a=b (1 thread)"] = (8 * n, 1, lambda: np.copyto(a, b))
            found["torch a+=s*b (1 thread)"] = (12 * n, 1, lambda: ta.add_(tb, alpha=1e-3))
        if torch_threads > 1 or not copy:
            found[f"torch a+=s*b ({torch_threads} thread{'s' * (torch_threads > 1)})"] = (
                12 * n, torch_threads, lambda: ta.add_(tb, alpha=1e-3))
        return found

    def measure(self, torch_threads: int, repeats: int) -> dict[str, list[float]]:
        """GB/s samples of every kernel, interleaved, after two warm-up rounds."""
        kernels = self.kernels(torch_threads, copy=True)
        names = list(kernels)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for rnd in range(repeats + 2):
            for i in range(len(names)):
                name = names[(rnd + i) % len(names)]
                nbytes, threads, kernel = kernels[name]
                torch.set_num_threads(threads)
                start = time.perf_counter()
                kernel()
                elapsed = time.perf_counter() - start
                if rnd >= 2:
                    samples[name].append(nbytes / elapsed / 1e9)
        torch.set_num_threads(torch_threads)
        return samples


class CpuLoad:
    """CPU time that other processes (and the hypervisor, as steal) took during a block.

    A busy core is what makes a small shared machine noisy: torch's multi-threaded
    kernels wait at every parallel region for a thread that is not running, while
    NumPy's single thread barely notices. Reads /proc/stat; None where there is none.
    """

    other_cores: float | None = None
    steal_cores: float | None = None

    @staticmethod
    def _snapshot():
        text = read_text("/proc/stat")
        if not text:
            return None
        fields = [int(x) for x in text.split("\n", 1)[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        own = os.times()  # this process, all its threads
        return (user + nice + system + irq + softirq, steal, own.user + own.system,
                time.perf_counter())

    def __enter__(self) -> CpuLoad:
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc) -> None:
        end = self._snapshot()
        if self._start is None or end is None:
            return
        tick = os.sysconf("SC_CLK_TCK")
        wall = end[3] - self._start[3]
        busy = (end[0] - self._start[0]) / tick
        self.other_cores = max(0.0, busy - (end[2] - self._start[2])) / wall
        self.steal_cores = (end[1] - self._start[1]) / tick / wall


# -- the race ----------------------------------------------------------------------------


@dataclass
class Contestant:
    label: str
    step: Callable[[], object]
    keep: object = None  # the parameters, checked for finiteness at the end
    stream_bytes: int = 0  # a bandwidth probe: bytes one call moves
    inner: int = 1
    samples: list[float] = field(default_factory=list)  # seconds per call
    faults: int = 0
    calls: int = 0


def torch_fused_support(rule: str) -> str | None:
    """None when ``fused=True`` works on CPU for this rule, else why not."""
    p = torch.nn.Parameter(torch.zeros(8))
    p.grad = torch.ones(8)
    try:
        TORCH[rule]([p], fused=True).step()
    except (TypeError, RuntimeError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def make_contestants(rule: str, theta0: np.ndarray, grad: np.ndarray,
                     fused_ok: bool) -> list[Contestant]:
    theta, theta_numpy = theta0.copy(), theta0.copy()
    opt, opt_numpy = STEEPEST[rule](), STEEPEST[rule]()
    opt_numpy.fused_min_size = None
    contestants = [Contestant("steepest", lambda: opt.step(theta, grad), theta),
                   Contestant("steepest NumPy", lambda: opt_numpy.step(theta_numpy, grad),
                              theta_numpy)]
    torch_grad = torch.from_numpy(grad)  # shared: no implementation writes to it
    for mode, kwargs in TORCH_MODES.items():
        if mode == "fused" and not fused_ok:
            continue
        param = torch.nn.Parameter(torch.from_numpy(theta0.copy()))
        param.grad = torch_grad
        contestants.append(Contestant(f"torch {mode}", TORCH[rule]([param], **kwargs).step,
                                      param))
    return contestants


def race(contestants: list[Contestant], warmup: int, repeats: int) -> None:
    """Warm up, choose calls per sample, then take `repeats` interleaved rounds."""
    for c in contestants:
        for _ in range(warmup):
            start = time.perf_counter()
            c.step()
            elapsed = time.perf_counter() - start
        if not c.stream_bytes:
            c.inner = max(1, int(np.ceil(MIN_SAMPLE_S / max(elapsed, 1e-6))))
    k = len(contestants)
    for rnd in range(repeats):
        for i in range(k):
            c = contestants[(rnd + i) % k]
            faults = page_faults()
            start = time.perf_counter()
            for _ in range(c.inner):
                c.step()
            c.samples.append((time.perf_counter() - start) / c.inner)
            c.faults += page_faults() - faults
            c.calls += c.inner


def time_group(rule: str, n: int, theta0: np.ndarray, grad: np.ndarray, fused_ok: bool,
               streams: Streams, args: argparse.Namespace) -> tuple[list[dict], dict]:
    """Race every implementation of one rule at one size, with the bandwidth probes."""
    contestants = make_contestants(rule, theta0, grad, fused_ok)
    probes = [Contestant(name, kernel, stream_bytes=nbytes) for name, (nbytes, _, kernel)
              in streams.kernels(args.torch_threads, copy=False).items()]
    with CpuLoad() as load:
        race(contestants + probes, args.warmup, args.repeats)
    bandwidth = {p.label: float(np.median([p.stream_bytes / s / 1e9 for s in p.samples]))
                 for p in probes}
    group = {"size": n, "rule": rule, "bandwidth_GBps": bandwidth,
             "floor_GBps": max(bandwidth.values()), "other_cores": load.other_cores,
             "steal_cores": load.steal_cores}
    rows = []
    for c in contestants:
        values = c.keep.detach().numpy() if isinstance(c.keep, torch.Tensor) else c.keep
        q1, med, q3 = np.percentile(c.samples, [25, 50, 75])
        rows.append({
            "size": n, "rule": rule, "impl": c.label, "median_s": float(med),
            "q1_s": float(q1), "q3_s": float(q3), "steps_per_sample": c.inner,
            "samples_s": c.samples,
            "page_faults_per_step": c.faults / c.calls if resource else None,
            "finite": bool(np.isfinite(values).all()),
        })
    del contestants, probes, c, values
    gc.collect()
    return rows, group


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.torch_threads)
    t_start = time.perf_counter()
    fused_support = {rule: torch_fused_support(rule) for rule in RULES}
    traffic = {rule: numpy_traffic(rule) for rule in RULES}
    streams = Streams()
    log(f"bandwidth: {args.bandwidth_repeats} interleaved rounds on "
        f"{STREAM_ELEMENTS * 4 / 2**20:.0f} MiB float32 arrays ...")
    bandwidth = streams.measure(args.torch_threads, args.bandwidth_repeats)

    rng = np.random.default_rng(0)
    results, groups = [], []
    for n in args.sizes:
        theta0 = rng.standard_normal(n, dtype=np.float32)
        grad = rng.standard_normal(n, dtype=np.float32)
        grad *= 1e-2
        for rule in RULES:
            log(f"{human(n):>5} {rule:<8} {args.warmup} warm-up + {args.repeats} "
                "interleaved rounds ...")
            best = None
            for attempt in range(1 + args.retries):
                if attempt:
                    time.sleep(RETRY_WAIT_S)
                    log(f"      retry {attempt} of {args.retries} ...")
                rows, group = time_group(rule, n, theta0, grad, fused_support[rule] is None,
                                         streams, args)
                busy = group["other_cores"]
                group["attempts"] = attempt + 1
                if best is None or (busy is not None and busy < best[1]["other_cores"]):
                    best = rows, group
                if busy is None or busy <= LOAD_WARNING:
                    break
                log(f"      other processes kept {busy:.2f} cores busy meanwhile: torch's "
                    "multi-threaded timings of this group are suspect")
                if time.perf_counter() - t_start > RETRY_BUDGET_S:
                    log(f"      (no retry: the run has passed {RETRY_BUDGET_S:.0f} s)")
                    break
            rows, group = best
            for row in rows:
                floor_s = FLOOR_BYTES[rule] * n / (group["floor_GBps"] * 1e9)
                row["floor_s"] = floor_s
                row["floor_fraction"] = floor_s / row["median_s"]
                row["steepest_over_this"] = rows[0]["median_s"] / row["median_s"]
            numpy_bw = group["bandwidth_GBps"]["numpy a+=b (1 thread)"] * 1e9
            rows[1]["numpy_model_s"] = traffic[rule]["bytes_per_element"] * n / numpy_bw
            results.extend(rows)
            groups.append(group)
        del theta0, grad
        gc.collect()

    breakdown = None
    if args.breakdown:
        n = max(args.sizes)
        log(f"steepest's step pass by pass at {human(n)}, median of 5 steps ...")
        breakdown = {"size": n, "rules": {}, "fused": {}}
        for rule in RULES:
            breakdown["rules"][rule] = [
                {"ufunc": name, "bytes_per_element": bpe, "ms": sec * 1e3,
                 "GBps": bpe * n / sec / 1e9}
                for name, bpe, sec in trace_step(rule, n, steps=5)]
            breakdown["fused"][rule] = fused_split(rule, n)  # 15 steps: the kernel is short
            gc.collect()

    log("bandwidth again, after the optimizer runs ...")
    for name, values in streams.measure(args.torch_threads, args.bandwidth_repeats).items():
        bandwidth[name].extend(values)
    del streams
    return {
        "command": " ".join([".venv/bin/python", "bench/optim_step.py", *sys.argv[1:]]),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"sizes": args.sizes, "warmup": args.warmup, "repeats": args.repeats,
                     "retries": args.retries, "bandwidth_repeats": args.bandwidth_repeats,
                     "lr": LR, "min_sample_s": MIN_SAMPLE_S},
        "torch_fused_support": fused_support,
        "bandwidth_GBps": {"median": {k: float(np.median(v)) for k, v in bandwidth.items()},
                           "best": {k: float(max(v)) for k, v in bandwidth.items()},
                           "samples": bandwidth},
        "floor_bytes_per_element": FLOOR_BYTES,
        "numpy_traffic": traffic,
        "breakdown": breakdown,
        "groups": groups,
        "results": results,
        "elapsed_s": time.perf_counter() - t_start,
    }


# -- reporting ---------------------------------------------------------------------------


HEADERS = ["size", "rule", "implementation", "median ms", "IQR", "faults/step", "floor ms",
           "of floor", "steepest / this", "floor GB/s", "other load"]
ALIGN = ["---:", "---", "---"] + ["---:"] * 8
TRAFFIC_HEADERS = ["rule", "NumPy passes", "B/elt moved", "floor B/elt", "excess",
                   "model ms", "measured ms"]


def table_rows(report: dict) -> list[list[str]]:
    groups = {(g["size"], g["rule"]): g for g in report["groups"]}
    rows = []
    for r in report["results"]:
        g = groups[r["size"], r["rule"]]
        first = r["impl"] == "steepest"
        load = "" if g["other_cores"] is None else f"{g['other_cores']:.2f}"
        if load and g["other_cores"] > LOAD_WARNING:
            load += " !"
        faults = r["page_faults_per_step"]
        rows.append([
            human(r["size"]), r["rule"], r["impl"], f"{r['median_s'] * 1e3:.2f}",
            f"{(r['q3_s'] - r['q1_s']) / r['median_s'] * 100:.0f}%",
            "" if faults is None else f"{faults:.0f}",
            f"{r['floor_s'] * 1e3:.2f}", f"{r['floor_fraction'] * 100:.0f}%",
            "—" if first else f"{r['steepest_over_this']:.2f}×",
            f"{g['floor_GBps']:.1f}" if first else "", load if first else "",
        ])
    return rows


def traffic_rows(report: dict) -> list[list[str]]:
    rows = []
    for r in report["results"]:
        if r["impl"] != "steepest NumPy":
            continue
        t = report["numpy_traffic"][r["rule"]]
        bpe = t["bytes_per_element"]
        rows.append([
            f"{r['rule']} {human(r['size'])}", str(t["passes"]), f"{bpe:.0f}",
            str(FLOOR_BYTES[r["rule"]]), f"{bpe / FLOOR_BYTES[r['rule']]:.1f}×",
            f"{r['numpy_model_s'] * 1e3:.2f}", f"{r['median_s'] * 1e3:.2f}",
        ])
    return rows


BREAKDOWN_HEADERS = ["rule", "pass", "ufunc", "B/elt", "ms", "GB/s", "share of step"]


def breakdown_rows(report: dict) -> list[list[str]]:
    rows = []
    for rule, calls in report["breakdown"]["rules"].items():
        total = sum(c["ms"] for c in calls)
        for i, c in enumerate(calls, 1):
            rows.append([rule if i == 1 else "", str(i), c["ufunc"],
                         f"{c['bytes_per_element']:.0f}", f"{c['ms']:.1f}",
                         f"{c['GBps']:.1f}", f"{c['ms'] / total * 100:.0f}%"])
        rows.append(["", "", "total", "", f"{total:.1f}", "", ""])
    return rows


FUSED_HEADERS = ["rule", "finite check ms", "GB/s (4 B/elt)", "rest: kernel ms",
                 "GB/s (floor B/elt)", "step ms", "check's share"]


def fused_rows(report: dict) -> list[list[str]]:
    n, rows = report["breakdown"]["size"], []
    for rule, split in report["breakdown"]["fused"].items():
        check, step = split["check_ms"], split["step_ms"]
        rows.append([rule, f"{check:.2f}", f"{4 * n / check / 1e6:.1f}", f"{step - check:.2f}",
                     f"{FLOOR_BYTES[rule] * n / (step - check) / 1e6:.1f}", f"{step:.2f}",
                     f"{check / step * 100:.0f}%"])
    return rows


def bandwidth_rows(report: dict) -> list[list[str]]:
    bw = report["bandwidth_GBps"]
    return [[name, f"{bw['median'][name]:.1f}", f"{bw['best'][name]:.1f}"]
            for name in bw["median"]]


def context_lines(report: dict) -> list[str]:
    m, s = report["machine"], report["settings"]
    lines = [
        f"machine: {m['cpu']}, {m['logical_cpus']} logical CPUs"
        + (f", {m['memory_GiB']:.0f} GiB RAM" if m["memory_GiB"] else "")
        + (f", L3 {m['l3_cache']}" if m["l3_cache"] else "")
        + f"; Python {m['python']}, NumPy {m['numpy']}, torch {m['torch']}",
        f"threads: torch {m['torch_threads']} (torch.set_num_threads); steepest's fused "
        f"kernels: {m.get('numba', 'Numba')}; steepest NumPy: 1 (NumPy's "
        "elementwise ufuncs are single-threaded)",
        f"timing: median over {s['repeats']} interleaved rounds after {s['warmup']} warm-up "
        f"step(s); a sample averages enough consecutive steps to last >= "
        f"{s['min_sample_s'] * 1e3:.0f} ms; IQR = interquartile range / median; "
        "faults/step = minor page faults per step",
        "floor: bytes/element of an ideal fused kernel ("
        + ", ".join(f"{k} {v} B" for k, v in report["floor_bytes_per_element"].items())
        + ") / floor GB/s, the faster median of the in-place streaming kernels (NumPy a+=b, "
        "torch a+=s*b) timed in the same rounds; of floor = floor ms / median ms",
        "other load: cores that other processes kept busy during the group (/proc/stat); "
        f"'!' above {LOAD_WARNING}: torch's multi-threaded kernels stall when a core is taken",
    ]
    if m["l3_cache"]:
        lines.append(f"a size whose arrays fit in the {m['l3_cache']} L3 is not bound by "
                     "memory bandwidth and can beat the floor")
    for rule, why in report["torch_fused_support"].items():
        if why is not None:
            lines.append(f"torch.optim.{rule}(fused=True) is not available on CPU in torch "
                         f"{m['torch']}: {why}")
    bad = [f"{human(r['size'])} {r['rule']} {r['impl']}" for r in report["results"]
           if not r["finite"]]
    if bad:
        lines.append("WARNING: non-finite parameters after the run: " + ", ".join(bad))
    return lines


def print_markdown(report: dict) -> None:
    def table(headers, rows, align):
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join(align) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()

    print(f"`{report['command']}` — {report['date']}, {report['elapsed_s']:.0f} s\n")
    for line in context_lines(report):
        print(f"- {line}")
    print()
    table(HEADERS, table_rows(report), ALIGN)
    table(["bandwidth kernel (before + after the race)", "median GB/s", "best GB/s"],
          bandwidth_rows(report), ["---", "---:", "---:"])
    table(TRAFFIC_HEADERS, traffic_rows(report), ["---"] + ["---:"] * 6)
    if report["breakdown"]:
        print(f"steepest NumPy's step pass by pass at {human(report['breakdown']['size'])} "
              "(median of 5 steps):\n")
        table(BREAKDOWN_HEADERS, breakdown_rows(report), ["---", "---:", "---"] + ["---:"] * 4)
        print(f"steepest's fused step at {human(report['breakdown']['size'])}: the "
              "finite-gradient check, then the kernel's one pass (median of 15 steps):\n")
        table(FUSED_HEADERS, fused_rows(report), ["---"] + ["---:"] * 6)


def print_rich(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.width = max(console.width, 140)
    for line in context_lines(report):
        console.print(line, highlight=False)
    main = Table(*HEADERS, title="One optimizer step, float32")
    last = None
    for row in table_rows(report):
        if last is not None and row[:2] != last:
            main.add_section()
        last = row[:2]
        main.add_row(*row, style="bold" if row[2] == "steepest" else None)
    console.print(main)
    bw = Table("bandwidth kernel", "median GB/s", "best GB/s",
               title="Memory bandwidth, before and after the race")
    for row in bandwidth_rows(report):
        bw.add_row(*row)
    console.print(bw)
    traffic = Table(*TRAFFIC_HEADERS, title="steepest's NumPy traffic per step "
                    "(model = bytes moved / NumPy a+=b bandwidth of the group)")
    for row in traffic_rows(report):
        traffic.add_row(*row)
    console.print(traffic)
    if report["breakdown"]:
        passes = Table(*BREAKDOWN_HEADERS, title="steepest NumPy's step pass by pass at "
                       f"{human(report['breakdown']['size'])} (median of 5 steps)")
        for row in breakdown_rows(report):
            if row[0]:
                passes.add_section()
            passes.add_row(*row)
        console.print(passes)
        fused = Table(*FUSED_HEADERS, title="steepest's fused step at "
                      f"{human(report['breakdown']['size'])}: finite check, then the kernel")
        for row in fused_rows(report):
            fused.add_row(*row)
        console.print(fused)
    console.print(f"{report['elapsed_s']:.0f} s in all", highlight=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Time one optimizer step of steepest.optim against torch.optim "
                    "and against the machine's memory-bandwidth floor.")
    parser.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",")],
                        help="comma-separated parameter counts (default 1M,10M,50M)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per size (default 15)")
    parser.add_argument("--warmup", type=int, help="warm-up steps per implementation (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1M only, 5 rounds, 1 warm-up step")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count() or 1,
                        help="torch.set_num_threads (default: the machine's logical CPUs)")
    parser.add_argument("--retries", type=int, default=2,
                        help="time a (size, rule) group again, up to this many times, when "
                             "other processes kept the CPU busy; the quietest attempt is kept "
                             f"(default 2; none after the first {RETRY_BUDGET_S:.0f} s)")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time steepest's step at the largest size, pass by pass: "
                             "the NumPy path ufunc by ufunc, the fused path's check and kernel")
    parser.add_argument("--markdown", action="store_true",
                        help="print markdown tables for BENCHMARKS.md instead of rich tables")
    parser.add_argument("--json", nargs="?", const="auto", metavar="PATH",
                        help="also write the full results, samples included, as JSON "
                             "(default path bench/results/optim_step-<time>.json)")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or ([10**6] if args.quick else [10**6, 10**7, 5 * 10**7])
    args.repeats = args.repeats if args.repeats is not None else (5 if args.quick else 15)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    args.bandwidth_repeats = 5 if args.quick else 10
    if args.repeats < 1 or args.warmup < 1 or args.torch_threads < 1 or args.retries < 0:
        parser.error("--repeats, --warmup and --torch-threads must be at least 1, "
                     "--retries at least 0")

    report = run(args)
    if args.markdown:
        print_markdown(report)
    else:
        print_rich(report)
    if args.json:
        path = Path(args.json) if args.json != "auto" else (
            Path(__file__).parent / "results"
            / f"optim_step-{dt.datetime.now():%Y%m%d-%H%M%S}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
