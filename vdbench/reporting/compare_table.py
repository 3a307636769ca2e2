"""The table `vdbench compare` prints: one line per (value, row), the value with its bootstrap
interval, and the row's paired verdict against the reference row (vdbench.engine.verdicts)."""

from __future__ import annotations

from typing import Optional


def _num(x: float) -> str:
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3g}"


def with_interval(record: dict, key: str) -> str:
    """'678.9 [612.0, 751.3]' (the record's 95% interval), or the bare value."""
    value = record["metrics"].get(key)
    if value is None:
        return ""
    ci = record.get("intervals", {}).get(key, {}).get("ci")
    return f"{_num(value)} [{_num(ci[0])}, {_num(ci[1])}]" if ci else _num(value)


def shown_values(records: list[dict]) -> list[str]:
    """The values every row has, in the records' order, without spreads (``*_std``) and the
    real set's own (shown as their own row)."""
    keys = [k for k in records[0]["metrics"] if not k.endswith(("_std", "_real"))]
    return [k for k in keys if all(k in r["metrics"] for r in records)]


def compare_rows(records: list[dict], names: list[str], verdicts: list[dict],
                 reference: int) -> list[list[str]]:
    """[value, row, value [interval], verdict] lines, value by value; where the metric also
    scores the real clips (``*_real``), a 'real clips' line after the rows."""
    lines = []
    for key in shown_values(records):
        for i, record in enumerate(records):
            verdict = "(reference)" if i == reference else \
                verdicts[i].get(key, {}).get("verdict", "")
            lines.append([key, names[i], with_interval(record, key), verdict])
        real = f"{key}_real"
        if real in records[reference]["metrics"]:
            lines.append([key, "real clips", with_interval(records[reference], real), ""])
    return lines


def bootstrap_line(record: dict) -> Optional[str]:
    b = record.get("bootstrap")
    if not b:
        return None
    return (f"{round(100 * b['level'])}% intervals: {b['method']} ({b['replicates']} "
            f"replicates, seed {b['seed']}); verdicts: paired, the same clips resampled for "
            "both rows, p from swapping the two rows' samples within each clip")
