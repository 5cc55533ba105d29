"""A streamed SGD epoch from Parquet against the same epoch in memory.

Logistic regression by mini-batch SGD (batch 256, scale=True, one epoch after the
statistics pass), on a generated Parquet file of ``--rows`` × 20 float64 in row groups
of 65,536 rows:

* in memory: the file read whole (``pyarrow.parquet.read_table``), then
  ``LogisticRegression.fit(X, y)``;
* streamed: ``LogisticRegression.fit(ParquetStream(path, "y"))``: row groups read one
  at a time, shuffled within a buffer of 262,144 rows.

Each contestant runs in its own process (so its peak resident memory is its own),
alternating, ``--rounds`` times; the script reports the median epoch throughput (rows
per second of the training epoch, the statistics pass excluded on both sides), the
peak RSS, and the cores the timed fit kept busy (its process CPU time over its wall
time: the streamed epoch reads on a second thread, so about 1.8 when a second core was
free for it, 1.0 when the machine's load left it one).

    .venv/bin/python bench/stream.py                 # about 2 minutes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

_CONTESTANT = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from pyarrow import parquet
    from steepest import LogisticRegression
    from steepest.stream import ParquetStream

    path, how = sys.argv[1], sys.argv[2]
    settings = dict(optimizer="sgd", lr=0.05, batch_size=256, epochs=1, tol=None, scale=True,
                    random_state=0)
    if how == "memory":
        table = parquet.read_table(path)
        X = np.column_stack([table.column(f"x{j}").to_numpy() for j in range(20)])
        y = table.column("y").to_numpy()
        del table
        data = (X, y)
    else:
        data = (ParquetStream(path, "y", random_state=0),)
        data[0].statistics()
    model = LogisticRegression(**settings).fit(*data)  # warm-up: compiles, faults pages in
    began, cpu = time.perf_counter(), time.process_time()
    model = LogisticRegression(**settings).fit(*data)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    seconds = model.history_["time"][-1]
    rows = model.history_["updates"][-1] * 256
    print(json.dumps({"rows_per_s": rows / seconds, "score_rows": rows, "cores": cpu / wall,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def write_file(path: Path, rows: int, group: int = 65536) -> None:
    import pyarrow as pa
    from pyarrow import parquet

    rng = np.random.default_rng(0)
    w = rng.standard_normal(20)
    schema = pa.schema([(f"x{j}", pa.float64()) for j in range(20)] + [("y", pa.int64())])
    with parquet.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, group):
            X = rng.standard_normal((min(group, rows - start), 20)) * 3 + 1
            y = (X @ w + rng.standard_normal(len(X)) > 0).astype(np.int64)
            writer.write_table(pa.table({**{f"x{j}": X[:, j] for j in range(20)}, "y": y}),
                               row_group_size=group)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.parquet"
        write_file(path, args.rows)
        results: dict[str, list[dict]] = {"memory": [], "stream": []}
        for r in range(args.rounds):
            for how in (("memory", "stream") if r % 2 == 0 else ("stream", "memory")):
                run = subprocess.run([sys.executable, "-c", _CONTESTANT, str(path), how],
                                     capture_output=True, text=True, check=True)
                results[how].append(json.loads(run.stdout.strip().splitlines()[-1]))
        size_mib = path.stat().st_size / 2**20
    rate = {how: statistics.median(r["rows_per_s"] for r in runs)
            for how, runs in results.items()}
    peak = {how: max(r["peak_mib"] for r in runs) for how, runs in results.items()}
    cores = {how: statistics.median(r["cores"] for r in runs) for how, runs in results.items()}
    print(f"{dt.date.today()} · {platform.processor() or platform.machine()} · "
          f"{os.cpu_count()} CPUs · Python {sys.version.split()[0]} · {args.rows:,} x 20 "
          f"float64 ({args.rows * 21 * 8 / 2**20:.0f} MiB in memory, {size_mib:.0f} MiB file), "
          f"{args.rounds} rounds")
    if args.markdown:
        print("\n| epoch | rows/s (median) | peak RSS MiB | cores busy |\n|---|---|---|---|")
        for how in rate:
            print(f"| {how} | {rate[how]:,.0f} | {peak[how]:.0f} | {cores[how]:.2f} |")
    else:
        for how in rate:
            print(f"{how:8s} {rate[how]:>14,.0f} rows/s   peak RSS {peak[how]:8.0f} MiB   "
                  f"cores busy {cores[how]:.2f}")
    print(f"streamed / in-memory throughput: {rate['stream'] / rate['memory']:.2f}x; "
          f"peak RSS {peak['stream'] / peak['memory']:.2f}x")


if __name__ == "__main__":
    main()
