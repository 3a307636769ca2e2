"""The paper's Tables 1–6 (vdbench/reporting/paper/*.csv, shipped as package data) joined with
our runs' result records.

Tables are built from result JSON records, never from printed output. Runs with the `quick`
preset are smoke tests: they are left out unless asked for, and then labelled as such.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pandas as pd

from vdbench.metrics.errors import InputError

PAPER_DIR = Path(__file__).resolve().parent / "paper"
TABLES = ("1", "2", "3", "4", "5", "6")
CAPTIONS = {
    "1": "Unconditional video modeling on UCF101 (C3D FID/IS)",
    "2": "Video prediction on BAIR Robot Pushing (FVD)",
    "3": "Video prediction on Kinetics-600 (FVD / IS)",
    "4": "Image-video joint training on text-to-video",
    "5": "Classifier-free guidance on text-to-video",
    "6": "64-frame autoregressive extension: replacement vs reconstruction guidance",
}
# Result values (outputs of registered metrics, vdbench.metrics.registry; "_train": against the
# training reference) → table columns, per table. Table 1 holds either of two evaluations; each
# of our rows says which one (column "evaluation", from EVALUATIONS).
METRIC_COLUMNS = {
    "1": {"fid_c3d": "fid", "is_c3d_10splits": "is", "is_c3d_10splits_std": "is_std",
          "fid_c3d_per_draw_mean": "fid", "fid_c3d_per_draw_std": "fid_std",
          "is_c3d_per_draw_mean": "is", "is_c3d_per_draw_std": "is_std"},
    "2": {"fvd": "fvd"},
    "3": {"fvd": "fvd", "is_i3d": "is"},
    **{t: {"fvd": "fvd_val", "fvd_train": "fvd_train", "fid_avg": "fid_avg_val",
           "fid_avg_train": "fid_avg_train", "is_avg": "is_avg_1split",
           "is_avg_10splits": "is_avg_10split", "fid_first": "fid_first_val",
           "fid_first_train": "fid_first_train", "is_first": "is_first_1split",
           "is_first_10splits": "is_first_10split"} for t in "456"},
}


# Tables whose rows may hold different evaluations: the registered metric a protocol lists →
# how that evaluation was done (shown in column "evaluation" of our rows)
EVALUATIONS = {
    "1": {"fid_c3d": "{num_samples} samples pooled; IS over 10 splits (the paper's)",
          "fid_c3d_per_draw": "TGANv2's: {samples_per_clip} sets of {num_clips} samples, each "
                              "scored alone (IS: 1 split); mean ± std over sets"},
}


def check_names() -> None:
    """Every value a table reads is an output of a registered metric (or that against the
    training reference, "_train"); every evaluation is keyed by a registered metric."""
    from vdbench.metrics.registry import METRICS, metric_of_output

    for table, columns in METRIC_COLUMNS.items():
        for key in columns:
            base = key[:-len("_train")] if key.endswith("_train") else key
            if metric_of_output(base) is None:
                raise InputError(f"table {table}: {key!r} is no registered metric's output")
    for table, evaluations in EVALUATIONS.items():
        for metric in evaluations:
            if metric not in METRICS:
                raise InputError(f"table {table}: {metric!r} is no registered metric")


def _evaluation(record: dict, table: str) -> str:
    """Which evaluation a row of ``table`` holds ("" where the table knows one only)."""
    protocol = record.get("protocol", {})
    counts = collections.defaultdict(lambda: "?", {
        k: f"{protocol[k]:,}" for k in ("num_samples", "samples_per_clip", "num_clips")
        if isinstance(protocol.get(k), int)})
    for metric, text in EVALUATIONS.get(table, {}).items():
        if metric in protocol.get("metrics", []):
            return text.format_map(counts)
    return ""


def paper_table(table: str) -> pd.DataFrame:
    if table not in TABLES:
        raise InputError(f"unknown table {table!r}; expected one of {', '.join(TABLES)} or all")
    df = pd.read_csv(PAPER_DIR / f"table{table}.csv", dtype=str, keep_default_na=False)
    df.insert(0, "source", "paper")
    return df


def load_records(runs: str | Path | None) -> list[dict]:
    """Every result record (*.json with schema vdbench.result/…) below ``runs``."""
    if runs is None:
        return []
    root = Path(runs)
    if not root.exists():
        raise InputError(f"{root}: no such folder of runs")
    records = []
    for path in sorted(root.rglob("*.json")):
        if "cache" in path.relative_to(root).parts[:-1]:
            continue  # the chunk caches of runs (vdbench.engine.cache), not records
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"{path}: not a readable result record ({err})") from err
        if isinstance(record, dict) and str(record.get("schema", "")).startswith("vdbench.result"):
            record["_path"] = str(path)
            records.append(record)
    return records


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def run_rows(table: str, records: list[dict], include_quick: bool) -> pd.DataFrame:
    """Our runs that belong to ``table`` as rows with the paper table's columns."""
    rows = []
    for r in records:
        protocol = r.get("protocol", {})
        if table not in str(protocol.get("paper_table", "")).split(","):
            continue
        preset = protocol.get("preset", "?")
        if preset != "paper" and not include_quick:
            continue
        sampler = r.get("sampler", {})
        row = {"source": f"vdbench ({preset} preset)", "method": r.get("model", {}).get("name", ""),
               "sampler": sampler.get("sampler", sampler.get("name", "")),
               "steps": _fmt(sampler.get("steps")),
               "conditioning": sampler.get("conditioning", ""),
               # Tables 5 and 6: "guidance weight" is classifier-free guidance's w (eq. 6)
               "guidance_weight": _fmt(sampler.get("cfg_weight")),
               "frameskip": _fmt(protocol.get("frameskip", 1))}
        for metric, column in METRIC_COLUMNS[table].items():
            if metric in r.get("metrics", {}):
                row[column] = _fmt(r["metrics"][metric])
        evaluation = _evaluation(r, table)
        if evaluation:
            row["evaluation"] = evaluation
        row["run"] = Path(r["_path"]).name
        rows.append(row)
    return pd.DataFrame(rows)


def build_table(table: str, runs=None, include_quick: bool = False) -> pd.DataFrame:
    check_names()
    paper = paper_table(table)
    ours = run_rows(table, load_records(runs), include_quick)
    if ours.empty:
        return paper
    ours = ours[[c for c in ours.columns if c in paper.columns or c in ("evaluation", "run")]]
    return pd.concat([paper, ours], ignore_index=True).fillna("")


def render(df: pd.DataFrame, fmt: str, caption: str = "") -> str:
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "markdown":
        from tabulate import tabulate

        body = tabulate(df.values.tolist(), headers=list(df.columns), tablefmt="github",
                        disable_numparse=True)
        return f"**{caption}**\n\n{body}\n" if caption else body + "\n"
    if fmt == "latex":
        from tabulate import tabulate

        return tabulate(df.values.tolist(), headers=list(df.columns), tablefmt="latex_booktabs",
                        disable_numparse=True) \
            + "\n"
    raise InputError(f"unknown format {fmt!r}; expected csv, markdown or latex")
