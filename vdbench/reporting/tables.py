"""The paper's Tables 1–6 (vdbench/reporting/paper/*.csv, shipped as package data) joined with
our runs' result records.

Tables are built from result JSON records, never from printed output. Runs with the `quick`
preset or hand-set counts (`custom`) are smoke tests, and runs of a protocol that mirrors a
paper table on other data (shapes → Table 2) are not the paper's benchmark: both are left out
unless asked for, and then labelled with their protocol and preset. Runs of protocols in no
paper table (the oracle) are listed apart (`other_runs`). Whatever a table leaves out is
counted with the reason (`left_out_note`).
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
OTHER_CAPTION = "Runs of protocols in no paper table (never comparable to published numbers)"
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
        except (OSError, ValueError) as err:  # JSONDecodeError, UnicodeDecodeError
            raise InputError(f"{path}: not a readable result record ({err})") from err
        if isinstance(record, dict) and str(record.get("schema", "")).startswith("vdbench.result"):
            record["_path"] = str(path)
            records.append(record)
    return records


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _pm(record: dict, metric: str) -> str:
    """" ± SE" of a value with a bootstrap interval in the record ("" without one)."""
    se = record.get("intervals", {}).get(metric, {}).get("se")
    return "" if se is None else f" ± {se:.2g}"


PM_NOTE = ("our values: ± bootstrap standard error (cluster bootstrap over clips; "
           "`vdbench export` has the 95% intervals)")


def has_intervals(records: list[dict]) -> bool:
    return any(r.get("intervals") for r in records)


def _tables(field: object) -> tuple[str, ...]:
    return tuple(t for t in str(field or "").split(",") if t)


def home_tables(record: dict) -> tuple[tuple[str, ...], bool]:
    """The paper tables a record's row belongs to, and whether its protocol only mirrors them
    on other data (shapes → Table 2). Records written before protocols carried
    ``mirrors_table`` take it from the protocol of the same name."""
    protocol = record.get("protocol", {})
    own = _tables(protocol.get("paper_table"))
    if own:
        return own, False
    mirrors = protocol.get("mirrors_table")
    if mirrors is None:
        from vdbench.protocols.registry import PROTOCOLS

        known = PROTOCOLS.get(str(protocol.get("name", "")))
        mirrors = known.mirrors_table if known is not None else ""
    return _tables(mirrors), True


def _label(record: dict) -> tuple[str, str]:
    protocol = record.get("protocol", {})
    return str(protocol.get("name", "?")), str(protocol.get("preset", "?"))


def left_out_reason(record: dict, table: str, include_quick: bool) -> str | None:
    """None when ``record`` is a row of ``table``; otherwise why it is not (a short phrase,
    the same for every record left out for the same reason)."""
    tables, mirrored = home_tables(record)
    name, preset = _label(record)
    if not tables:
        return f"{name}: no paper table (see `vdbench table other`)"
    if table not in tables:
        return f"of Table {', '.join(tables)}"
    if mirrored and not include_quick:
        return f"{name} mirrors Table {table} on other data (add --include-quick)"
    if preset != "paper" and not include_quick:
        return "quick/custom preset (add --include-quick)"
    return None


def _source(record: dict, mirrored: bool) -> str:
    name, preset = _label(record)
    return f"vdbench on {name} ({preset} preset)" if mirrored else f"vdbench ({preset} preset)"


def _run_row(table: str, r: dict, pm: bool = False) -> dict:
    protocol, sampler = r.get("protocol", {}), r.get("sampler", {})
    row = {"source": _source(r, home_tables(r)[1]),
           "method": r.get("model", {}).get("name", ""),
           "sampler": sampler.get("sampler", sampler.get("name", "")),
           "steps": _fmt(sampler.get("steps")),
           "conditioning": sampler.get("conditioning", ""),
           # Tables 5 and 6: "guidance weight" is classifier-free guidance's w (eq. 6)
           "guidance_weight": _fmt(sampler.get("cfg_weight")),
           "frameskip": _fmt(protocol.get("frameskip", 1))}
    for metric, column in METRIC_COLUMNS[table].items():
        if metric in r.get("metrics", {}):
            row[column] = _fmt(r["metrics"][metric]) + (_pm(r, metric) if pm else "")
    evaluation = _evaluation(r, table)
    if evaluation:
        row["evaluation"] = evaluation
    row["protocol"], row["preset"] = _label(r)
    row["run"] = Path(r["_path"]).name
    return row


def run_rows(table: str, records: list[dict], include_quick: bool, pm: bool = False
             ) -> pd.DataFrame:
    """Our runs that belong to ``table`` as rows with the paper table's columns; ``pm``:
    values as "value ± bootstrap standard error" where the record has an interval."""
    return pd.DataFrame([_run_row(table, r, pm) for r in records
                         if left_out_reason(r, table, include_quick) is None])


# beside the paper's columns: what each run was
OUR_COLUMNS = ("evaluation", "protocol", "preset", "run")


def join_runs(table: str, records: list[dict], include_quick: bool = False,
              pm: bool = False) -> pd.DataFrame:
    check_names()
    paper = paper_table(table)
    ours = run_rows(table, records, include_quick, pm)
    if ours.empty:
        return paper
    ours = ours[[c for c in ours.columns if c in paper.columns or c in OUR_COLUMNS]]
    return pd.concat([paper, ours], ignore_index=True).fillna("")


def build_table(table: str, runs=None, include_quick: bool = False) -> pd.DataFrame:
    return join_runs(table, load_records(runs), include_quick)


def _leaves(tree: dict, prefix: str = ""):
    """(path, value) of every non-dict value of nested metrics (the oracle nests them)."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}/")
        elif not isinstance(value, list):
            yield f"{prefix}{key}", value


def other_runs(records: list[dict]) -> pd.DataFrame:
    """Runs of protocols that neither are nor mirror a paper table (e.g. the oracle): one row
    per run and metric (protocol, preset, model, sampler, metric, value)."""
    rows = []
    for r in records:
        if home_tables(r)[0]:
            continue
        sampler = r.get("sampler", {})
        names = sampler.get("sampler", sampler.get("name", sampler.get("names", "")))
        head = {"protocol": _label(r)[0], "preset": _label(r)[1],
                "model": r.get("model", {}).get("name", ""),
                "sampler": ",".join(names) if isinstance(names, list) else names,
                "steps": _fmt(sampler.get("steps")), "run": Path(r["_path"]).name}
        for metric, value in _leaves(r.get("metrics", {})):
            rows.append({**head, "metric": metric, "value": _fmt(value)})
    return pd.DataFrame(rows)


def _reason_in(record: dict, tables: tuple[str, ...], include_quick: bool) -> str | None:
    """Why none of ``tables`` shows ``record`` (None: one of them does): the reason its own
    table gives when that is among them, else the first table's."""
    why = {t: left_out_reason(record, t, include_quick) for t in tables}
    if any(reason is None for reason in why.values()):
        return None
    home = [t for t in home_tables(record)[0] if t in why]
    return why[home[0] if home else tables[0]]


def left_out_note(records: list[dict], tables: tuple[str, ...], include_quick: bool) -> str:
    """One line saying how many records none of ``tables`` shows, grouped by why ("" if none).
    For several tables, only the records that appear in none of them are counted."""
    reasons: dict[str, int] = {}
    for r in records:
        reason = _reason_in(r, tables, include_quick)
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return ""
    where = f"Table {tables[0]}" if len(tables) == 1 else "any paper table"
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = "; ".join(f"{n} {why}" for why, n in ranked)
    return f"{sum(reasons.values())} of {len(records)} records not in {where}: {parts}"


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
