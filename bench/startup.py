"""Start-up time: ``import steepest`` and ``steepest --help``, each in a fresh process.

Commands are interleaved round by round; medians. ``python -c pass`` is the floor
(the interpreter alone). The ``-X importtime`` table lists the modules with the
largest cumulative import time (one run).

    .venv/bin/python bench/startup.py                # about 20-40 s
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
CLI = str(Path(PY).with_name("steepest"))
COMMANDS = {
    "python -c pass": [PY, "-c", "pass"],
    "python -c 'import numpy'": [PY, "-c", "import numpy"],
    "python -c 'import steepest'": [PY, "-c", "import steepest"],
    "steepest --help": [CLI, "--help"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    start = time.perf_counter()
    for cmd in COMMANDS.values():  # warm the file cache
        subprocess.run(cmd, check=True, capture_output=True)
    times = {name: [] for name in COMMANDS}
    names = list(COMMANDS)
    for r in range(args.rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t = time.perf_counter()
            subprocess.run(COMMANDS[name], check=True, capture_output=True)
            times[name].append(time.perf_counter() - t)

    err = subprocess.run([PY, "-X", "importtime", "-c", "import steepest"], check=True,
                         capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, name = line.split("|")
        rows.append((int(cum_us), int(self_us.split(":")[1]), name))
    rows.sort(reverse=True)

    base = statistics.median(times["python -c pass"])
    print(f"`{' '.join(['.venv/bin/python', 'bench/startup.py', *sys.argv[1:]])}` — "
          f"{dt.datetime.now().isoformat(timespec='seconds')}, "
          f"{time.perf_counter() - start:.0f} s\n")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs; Python "
          f"{platform.python_version()}; median of {args.rounds} interleaved rounds, "
          "one fresh process per sample, after one warm-up run of each\n")
    print("| command | median ms | min ms | max ms | minus interpreter ms |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| `{name}` | {med * 1e3:.0f} | {min(ts) * 1e3:.0f} | {max(ts) * 1e3:.0f} | "
              f"{(med - base) * 1e3:.0f} |")
    print(f"\n`python -X importtime -c 'import steepest'`, top {args.top} by cumulative "
          "time (one run; nested modules counted in their parents too):\n")
    print("| module | cumulative ms | self ms |")
    print("|---|---:|---:|")
    for cum, self_us, name in rows[:args.top]:
        print(f"| `{name.strip()}` | {cum / 1e3:.1f} | {self_us / 1e3:.1f} |")


if __name__ == "__main__":
    main()
