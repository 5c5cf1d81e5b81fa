"""Run every benchmark, one after the other, and summarise the targets (`make bench`).

Each benchmark runs as its own process and prints its tables; this prints them as they
come, keeps a copy in a log file (BENCH_LOG, default a file in the temporary directory)
and ends with every target of the issue in one table. The scale data for the inbox is
generated first when the database does not hold it yet (about a minute).

Exit status: 0 when every benchmark ran (met or missed targets are in the summary),
2 when one of them failed to run.

Usage: uv run --frozen python bench/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import _common as c

BENCHMARKS = [
    ("database work per operation", ["db_work.py"], []),
    ("services layer over the bare engine", ["engine_overhead.py"], ["--lifecycles", "100"]),
    ("HTTP lifecycles", ["http_lifecycle.py"], ["--seconds", "5", "--warmup", "2"]),
    ("scale data", ["generate_scale_data.py"], []),
    ("inbox at scale", ["inbox_scale.py"], ["--repeat", "100"]),
    ("timers", ["timers.py"], ["--timers", "2000", "--lone", "20"]),
    ("instance size", ["instance_size.py"], ["--items", "5"]),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="short runs and a smaller timer burst (a smoke test)"
    )
    args = ap.parse_args()
    log_path = os.environ.get("BENCH_LOG") or os.path.join(
        tempfile.gettempdir(), f"careflow-bench-{time.strftime('%Y%m%d-%H%M%S')}.log"
    )
    print(f"machine: {c.machine()}\nlog: {log_path}\n", flush=True)
    summary: list[tuple[str, str]] = []
    failed = []
    started = time.monotonic()
    with open(log_path, "w") as log:
        for label, script, quick_args in BENCHMARKS:
            cmd = [
                sys.executable,
                str(c.BENCH_DIR / script[0]),
                *(quick_args if args.quick else []),
            ]
            print(f"\n==> {label}: {' '.join(cmd[1:])}\n", flush=True)
            t0 = time.monotonic()
            proc = subprocess.Popen(
                cmd, cwd=c.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            output = []
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
                output.append(line)
            code = proc.wait()
            took = time.monotonic() - t0
            log.write(f"\n[{label}: exit {code}, {took:.0f} s]\n")
            log.flush()
            if code not in (0, 1):
                failed.append(label)
                summary.append((label, f"| (failed to run, exit {code}) | | | |"))
                continue
            summary += [(label, row) for row in target_rows(output)]
    print(f"\n# Summary ({(time.monotonic() - started) / 60:.1f} min)\n")
    print("| benchmark | target | measured | wanted | met |")
    print("|---|---|---|---|---|")
    for label, row in summary:
        print(f"| {label} {row}")
    print(f"\nfull output: {log_path}")
    return 2 if failed else 0


def target_rows(lines: list[str]) -> list[str]:
    """The body rows of the 'Targets' tables a benchmark prints (timers.py prints two)."""
    rows: list[str] = []
    in_targets, seen_table = False, False
    for line in lines:
        if line.strip() == "Targets":
            in_targets, seen_table = True, False
            continue
        if in_targets and line.startswith("|"):
            seen_table = True
            if re.match(r"\|\s*target\s*\|", line) or set(line.strip()) <= set("|-"):
                continue
            rows.append(line.rstrip("\n"))
        elif in_targets and seen_table and not line.strip():
            in_targets = False
    return rows


if __name__ == "__main__":
    sys.exit(main())
