"""Shared benchmark helpers: timing, and appending rows to results/benchmarks.csv."""

from __future__ import annotations

import csv
import datetime
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "results" / "benchmarks.csv"
FIELDS = ["date", "benchmark", "metric", "value", "unit", "peer", "peer_value", "ratio",
          "machine", "command"]
MACHINE = "2-core Intel Xeon (Sapphire Rapids, AVX-512), 24 GiB, CPU only, torch 2.13.0+cpu"


def median_seconds(fn, repeats: int = 3, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def record(rows: list[dict], command: str, machine: str = MACHINE) -> None:
    """Append rows (benchmark, metric, value, unit, optional peer/peer_value/ratio) to the CSV."""
    new = not RESULTS.exists()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({"date": datetime.date.today().isoformat(), "machine": machine,
                             "command": command, **row})
