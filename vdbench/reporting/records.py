"""Result records: one JSON per run, with full provenance; exported as flat CSV rows."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from vdbench.util.atomic import atomic_write_text
from vdbench.reporting.provenance import environment

SCHEMA = "vdbench.result/1"


def make_record(*, protocol: dict, model: dict, sampler: dict, metrics: dict, counts: dict,
                timing: dict, extra: dict | None = None) -> dict:
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "protocol": protocol, "model": model, "sampler": sampler, "metrics": metrics,
        "counts": counts, "timing": timing, "environment": environment(), **(extra or {}),
    }


def write_record(out_dir: str | Path, record: dict, tag: str = "") -> Path:
    stamp = record["created"].replace(":", "").replace("+0000", "Z")
    name = f"{record['protocol']['name']}-{record['protocol']['preset']}"
    stem = f"{name}{'-' + tag if tag else ''}-{stamp}"
    path = Path(out_dir) / f"{stem}.json"
    n = 1
    while path.exists():  # two records within one second: never overwrite the earlier one
        n += 1
        path = Path(out_dir) / f"{stem}-{n}.json"
    write_json_record(path, record)
    return path


def json_safe(record: dict) -> dict:
    """``record`` as strict JSON can hold it: a NaN or ±inf (which json.dumps writes as the
    invalid tokens NaN / Infinity) becomes null, and ``non_finite`` lists where and what it was.
    (PSNR, the one metric whose value can be +inf, is capped: vdbench.metrics.prediction.)"""
    found: list[str] = []

    def walk(x: Any, where: str) -> Any:
        if isinstance(x, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(x)]
        if isinstance(x, float) and not math.isfinite(x):
            found.append(f"{where}: {x}")
            return None
        return x

    out = walk(record, "")
    if found:
        out["non_finite"] = {"written_as": "null", "values": found}
    return out


def write_json_record(path: str | Path, record: dict) -> None:
    """A record (keys starting with '_' left out) as strict JSON (json_safe), atomically."""
    safe = json_safe({k: v for k, v in record.items() if not k.startswith("_")})
    atomic_write_text(path, json.dumps(safe, indent=2, sort_keys=True, allow_nan=False) + "\n")


def flatten(record: dict) -> dict:
    """One CSV row: protocol/model/sampler fields prefixed, metrics as columns."""
    row = {"created": record.get("created"), "run": record.get("_path", "")}
    for section in ("protocol", "model", "sampler", "counts", "timing"):
        for key, value in record.get(section, {}).items():
            if not isinstance(value, (dict, list)):
                row[f"{section}.{key}"] = value
    row.update({f"metric.{k}": v for k, v in record.get("metrics", {}).items()})
    for k, interval in record.get("intervals", {}).items():  # bootstrap (metrics.uncertainty)
        row[f"metric.{k}.lo"], row[f"metric.{k}.hi"] = interval["ci"]
        row[f"metric.{k}.se"] = interval["se"]
    row["git"] = record.get("environment", {}).get("git")
    return row


def records_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([flatten(r) for r in records])
