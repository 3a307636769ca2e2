"""Paired verdicts of `vdbench compare`: each variant B against one reference variant A.

Every variant of a compare is evaluated on the same clips with the same seeds
(vdbench.engine.runner), so the comparison is paired: per bootstrap replicate one draw of clips
applies to both variants (and to the real side), giving Δ = B − A with its interval, and the
permutation test swaps the two variants' labels within each clip
(vdbench.metrics.uncertainty.paired_comparison). Each value a metric reports is judged, except
the real set's own (``*_real``, the same for A and B) and spreads (``*_std``).
"""

from __future__ import annotations

from typing import Optional

from vdbench.metrics.base import Metric
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.uncertainty import (DEFAULT_PERMUTATIONS, Bootstrap, check_same_design,
                                         paired_comparison, verdict)


def variant_name(record: dict) -> str:
    """A row's name: the baseline's, else sampler/conditioning (what `compare` varies), else the
    user generator's."""
    model, sampler = record.get("model", {}), record.get("sampler", {})
    if model.get("kind") == "baseline":
        return str(model["baseline"])
    if "conditioning" in sampler:
        return f"{sampler.get('sampler', sampler.get('name', ''))}/{sampler['conditioning']}"
    return str(model.get("name", "model"))


def pick_reference(names: list[str], wanted: Optional[str]) -> int:
    """The index of A (`--baseline NAME`): a row's full name or one unique part of it
    ('reconstruction' for 'langevin/reconstruction'); the first row by default."""
    if wanted is None:
        return 0
    exact = [i for i, n in enumerate(names) if n == wanted]
    parts = [i for i, n in enumerate(names) if wanted in n.split("/")]
    found = exact or parts
    if len(found) != 1:
        problem = "names several rows" if found else "names no row"
        raise InputError(f"--baseline {wanted!r}: {problem}; the rows are {', '.join(names)} "
                         "(trivial generators are added with --baselines)")
    return found[0]


def judged_value(key: str) -> bool:
    """Values that differ between variants: not the real set's own, not a spread."""
    return not key.endswith(("_real", "_std"))


def paired_verdicts(metrics: list[Metric], names: list[str], stats: list[FeatureStats],
                    real: Optional[FeatureStats], reference: int, config: Bootstrap,
                    paired: bool, permutations: int = DEFAULT_PERMUTATIONS
                    ) -> list[dict[str, dict]]:
    """Per row, each judged value's comparison with row ``reference`` (A): Δ = B − A with its
    interval, p-value and verdict line; {} for A itself. ``paired``: the real clips are the
    ones the samples were conditioned on (resampled with them)."""
    a = stats[reference]
    for i, b in enumerate(stats):  # every variant shares A's clips and seeds, before any work
        if i != reference:
            try:
                check_same_design(a, b)
            except InputError as err:
                raise InputError(f"compare {names[reference]} with {names[i]}: {err}") \
                    from None
    out: list[dict[str, dict]] = []
    for i, b in enumerate(stats):
        row: dict[str, dict] = {}
        for metric in ([] if i == reference else metrics):
            results = paired_comparison(metric, a, b, real, config, paired, permutations)
            for key, result in results.items():
                if judged_value(key):
                    row[key] = {**result.record(), "against": names[reference],
                                "verdict": verdict(result, names[i])}
        out.append(row)
    return out


def check_reference(wanted: Optional[str], protocol, variants: list[dict],
                    baselines: list[str]) -> None:
    """Refuse, before any work, a `--baseline` that can name no row: each of its parts must
    be a sampler, a conditioning method or a baseline of the compare."""
    if wanted is None:
        return
    default_sampler = protocol.sampling.get("sampler")
    known = set(baselines) | {v.get("conditioning") for v in variants} | \
        {v.get("sampler") or default_sampler for v in variants}
    unknown = [part for part in wanted.split("/") if part not in known]
    if unknown:
        rows = sorted(k for k in known if k)
        raise InputError(f"--baseline {wanted!r}: names no row of this compare (names and "
                         f"parts: {', '.join(rows)}; trivial generators are added with "
                         "--baselines)")


def judge_records(records: list[dict], names: list[str], reference: int) -> list[dict]:
    """`paired_verdicts` of the rows the runner made (each record's ``_paired`` inputs)."""
    inputs = [r["_paired"] for r in records]
    first = inputs[reference]
    return paired_verdicts(first.metrics, names, [p.gen for p in inputs], first.real,
                           reference, first.bootstrap, first.design.paired)


def save_verdicts(records: list[dict], names: list[str], verdicts: list[dict],
                  reference: int) -> None:
    """Each row's verdicts into its record (``paired``), rewritten in place."""
    from vdbench.reporting.records import write_json_record

    for name, record, row in zip(names, records, verdicts, strict=True):
        record["paired"] = {"against": names[reference], "name": name, "values": row}
        write_json_record(record["_path"], record)
