"""`vdbench run PROTOCOL` and `vdbench compare PROTOCOL`."""

from __future__ import annotations

import itertools
from typing import Any

import click

from vdbench.cli.common import DEVICE, SEED, THREADS, set_threads
from vdbench.cli.sampling_options import sampling_options, split_list, take
from vdbench.engine.baselines import BASELINES
from vdbench.protocols.datasets.spatial import FITS


def run_options(fn):
    options = [
        click.option("--checkpoint", default=None, help="Model checkpoint file or run dir."),
        click.option("--model", "model_spec", default=None,
                     help="Your own generator: pkg.module:factory (see README)."),
        click.option("--preset", type=click.Choice(["paper", "quick"]), default="paper"),
        click.option("--clips", type=click.IntRange(min=1), default=None,
                     help="Override the number of clips (result labelled preset 'custom')."),
        click.option("--samples-per-clip", type=click.IntRange(min=1), default=None,
                     help="Override samples per clip (result labelled preset 'custom')."),
        click.option("--data-dir", default=None, help="Where the protocol's dataset lives."),
        click.option("--frameskip", type=click.IntRange(min=1), default=None,
                     help="Evaluate clips of every k-th frame (text2video: 1 or 4, Table 5) "
                          "[default: the protocol's, 1]."),
        click.option("--fit", type=click.Choice(FITS), default=None,
                     help="How frames reach the protocol's square resolution: squash (the whole "
                          "frame) or crop (short side, centre square) [default: the protocol's; "
                          "ucf101: squash, as TFDS]."),
        click.option("--with-replacement", is_flag=True,
                     help="Kinetics-600: clips drawn with replacement, ground truth with another "
                          "seed (the evaluation of [33, 14] the paper discusses)."),
        click.option("--fvd-exclude-context", is_flag=True,
                     help="FVD on the frames after the conditioning frames only, on both sides "
                          "(FitVid's BAIR evaluation: the 15 generated frames); recorded."),
        click.option("--out", default="runs", help="Folder for result records (JSON)."),
        click.option("--device", default="cpu", type=DEVICE),
        click.option("--batch-size", type=click.IntRange(min=1), default=8),
        click.option("--threads", type=THREADS, default=None),
        click.option("--resume", is_flag=True,
                     help="Reuse the finished chunks cached by an earlier run with the same "
                          "settings (a changed setting invalidates them, with a message)."),
        click.option("--cache-dir", default=None,
                     help="Where finished chunks (samples, features) are cached "
                          "[default: OUT/cache]."),
        click.option("--metrics", "metric_names", default=None,
                     help="Comma-separated metrics: the protocol's, or others of the feature "
                          "networks they run (e.g. fvd,kvd; kid_avg where fid_avg is) "
                          "[default: the protocol's]."),
        click.option("--c3d-weights", default=None, type=click.Path(file_okay=False),
                     help="Folder with conv3d_deepnetA_ucf.npz and mean2.npz (UCF101 C3D) "
                          "[default: the cache; `vdbench weights fetch c3d`]."),
        click.option("--inception-weights", default=None, type=click.Path(dir_okay=False),
                     help="FID Inception weights (.pth) [default: the cache; "
                          "`vdbench weights fetch inception`]."),
        click.option("--lpips-weights", default=None, type=click.Path(dir_okay=False),
                     help="LPIPS v0.1 AlexNet weights (.safetensors; README, LPIPS) for "
                          "--metrics lpips [default: the cache]."),
        click.option("--dist-timeout", type=click.IntRange(min=10), default=600,
                     help="Seconds a rank waits for the others under torchrun before failing."),
        click.option("--bootstrap", "bootstrap", type=int, default=None,
                     help="Replicates of the cluster bootstrap over clips that gives every "
                          "metric its 95% interval and standard error (at least 2) "
                          "[default: 1000]."),
        click.option("--bootstrap-seed", type=SEED, default=None,
                     help="Seed of the bootstrap's draws (recorded) [default: 0]."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _report(protocol, records) -> None:
    from tabulate import tabulate

    if not records:  # a rank other than 0 of a distributed run
        return
    keys = sorted({k for r in records for k in r["metrics"]})
    shown = ("sampler", "conditioning", "steps", "gamma", "w_r", "cfg_weight")
    rows = [[r["sampler"].get(k, "") for k in shown] + [_with_interval(r, k) for k in keys]
            for r in records]
    click.echo(f"\n{protocol.name} ({protocol.preset} preset): {protocol.num_clips} clips × "
               f"{protocol.samples_per_clip} samples; value [95% interval]\n")
    click.echo(tabulate(rows, headers=["sampler", "conditioning", "steps", "γ", "w_r", "w"]
                        + keys, floatfmt=".4g", disable_numparse=True))
    boot = records[0].get("bootstrap", {})
    if "replicates" in boot:
        click.echo(f"\n95% intervals: {boot.get('method', 'bootstrap')} "
                   f"({boot['replicates']} replicates, seed {boot['seed']})")
    for r in records:
        cache = r.get("cache", {})
        if cache.get("chunks_cached"):
            click.echo(f"{cache['chunks_cached']} of {cache['chunks']} generated chunks came "
                       f"from the cache {cache['folder']}")
        click.echo(f"wrote {r['_path']}")


def _with_interval(record: dict, key: str) -> str:
    """A record's value as text, with its bootstrap interval where it has one."""
    value = record["metrics"].get(key)
    if value is None:
        return ""
    found = record.get("intervals", {}).get(key)
    if not found or found.get("ci") is None:
        return f"{value:.4g}"
    lo, hi = found["ci"]
    return f"{value:.4g} [{lo:.4g}, {hi:.4g}]"


def _prepare(protocol_name: str, kw: dict):
    """(protocol, run options) from the shared options."""
    import dataclasses

    from vdbench.engine.runner import RunOptions
    from vdbench.metrics.errors import InputError
    from vdbench.protocols.registry import get_protocol

    set_threads(kw["threads"])
    protocol = get_protocol(protocol_name, kw["preset"]).with_counts(kw["clips"],
                                                                    kw["samples_per_clip"])
    if kw["metric_names"]:
        chosen = tuple(m.strip() for m in kw["metric_names"].split(",") if m.strip())
        protocol.check_conditional_metrics(chosen)
        offered = protocol.computable_metrics()
        unknown = [m for m in chosen if m not in offered]
        if unknown or not chosen:
            raise InputError(f"--metrics {kw['metric_names']!r}: {protocol.name} computes "
                             f"{', '.join(offered)}")
        protocol = dataclasses.replace(protocol, metrics=chosen)
    if kw["frameskip"]:
        protocol = dataclasses.replace(protocol, frameskip=kw["frameskip"])
    protocol = protocol.with_fit(kw["fit"])
    if kw["fvd_exclude_context"]:  # Protocol refuses it where it cannot apply
        protocol = dataclasses.replace(protocol, fvd_exclude_context=True)
    if kw["with_replacement"]:
        if not protocol.replacement_variant:
            raise InputError(f"--with-replacement: protocol {protocol.name} has no "
                             "with-replacement variant (kinetics600 has, after [33, 14])")
        protocol = dataclasses.replace(protocol, with_replacement=True)
    opts = RunOptions(kw["checkpoint"], kw["model_spec"], kw["data_dir"], kw["out"],
                      kw["device"], kw["batch_size"], kw["resume"], kw["cache_dir"],
                      kw["c3d_weights"], kw["inception_weights"], **_bootstrap(protocol, kw),
                      lpips_weights=kw["lpips_weights"])
    return protocol, opts


def _bootstrap(protocol, kw: dict) -> dict:
    """--bootstrap / --bootstrap-seed as RunOptions fields, checked before any work."""
    from vdbench.metrics.errors import InputError
    from vdbench.metrics.uncertainty import DEFAULT_REPLICATES, Bootstrap

    given = [f"--{k.replace('_', '-')}" for k in ("bootstrap", "bootstrap_seed")
             if kw[k] is not None]
    if given and protocol.evaluation != "videos":
        raise InputError(f"{given[0]}: protocol {protocol.name} computes exact errors from "
                         "its oracle; there are no feature rows to resample")
    replicates = DEFAULT_REPLICATES if kw["bootstrap"] is None else kw["bootstrap"]
    seed = kw["bootstrap_seed"] or 0
    Bootstrap(replicates, seed)  # refuses --bootstrap < 2 with a one-line error
    return {"bootstrap": replicates, "bootstrap_seed": seed}


@click.command()
@click.argument("protocol_name", metavar="PROTOCOL")
@sampling_options()
@run_options
def run(protocol_name, **kw):
    """Evaluate a model on PROTOCOL (see `vdbench protocols`) and write a result record.

    Sampling settings come from the protocol (the paper's values, Appendix A), then the
    checkpoint's sampling config where the protocol leaves one open, then these options; an
    option that cannot apply to the protocol or model is refused.
    """
    options = take(kw)
    protocol, opts = _prepare(protocol_name, kw)
    _evaluate(protocol, [options], opts, kw)


@click.command()
@click.argument("protocol_name", metavar="PROTOCOL")
@sampling_options(lists=("sampler", "conditioning"))
@run_options
@click.option("--baselines", "baseline_names", default=None,
              help="Comma-separated trivial generators run on the same clips and seeds, as "
                   f"rows of the table: {', '.join(BASELINES)} (see README). Without "
                   "--checkpoint/--model only they run.")
@click.option("--baseline", "reference", default=None,
              help="The row every other row is compared with, paired (A of Δ = B − A): a "
                   "row's name or one part of it, e.g. reconstruction or repeat-last "
                   "[default: the first row].")
def compare(protocol_name, **kw):
    """Several sampler/conditioning variants on the same clips and seeds, in one table.

    --sampler and --conditioning take comma-separated lists (every combination runs);
    --conditioning defaults to replacement,reconstruction for protocols that condition on
    observed frames. --baselines adds trivial generators' rows. Every row gets each value's
    95% interval and a paired verdict against the --baseline row.
    """
    from vdbench.engine.baselines import check_baselines, parse_baselines

    from vdbench.engine.verdicts import check_reference

    options = take(kw)
    protocol, opts = _prepare(protocol_name, kw)
    kw["baselines"] = parse_baselines(kw.pop("baseline_names"))
    check_baselines(protocol, kw["baselines"])
    if kw["baselines"] and opts.checkpoint is None and opts.model is None:
        _refuse_sampling_options(options)
        variants: list[dict[str, Any]] = []
    elif opts.model is not None:  # a user generator samples once, by itself
        for name in ("sampler", "conditioning"):
            split_list(name, options[name])  # an unknown name is refused as such
        variants = [options]
    else:
        variants = _variants(protocol, options)
    if opts.model is None:  # a user generator's name is known once it is loaded
        check_reference(kw["reference"], protocol, variants, kw["baselines"])
    _evaluate(protocol, variants, opts, kw)


def _variants(protocol, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the listed samplers and conditioning methods."""
    samplers = split_list("sampler", options.pop("sampler"))
    conditionings = split_list("conditioning", options.pop("conditioning"))
    if conditionings == [None] and protocol.conditional:
        conditionings = ["replacement", "reconstruction"]
    return [{**options, "sampler": s, "conditioning": c}
            for s, c in itertools.product(samplers, conditionings)]


def _refuse_sampling_options(options: dict[str, Any]) -> None:
    from vdbench.metrics.errors import InputError
    from vdbench.model.settings import option

    for name, value in options.items():
        if value is not None:
            raise InputError(f"{option(name)}: applies to --checkpoint; only --baselines run "
                             "here, and they do not sample")


def _run_videos(protocol, variants, opts, kw, dist) -> None:
    from vdbench.engine.runner import run_variants

    records = run_variants(protocol, variants, opts, dist, baselines=kw.get("baselines", ()))
    if "reference" in kw and records:  # `compare`: paired verdicts (rank 0 only)
        _compare_report(protocol, records, kw["reference"])
    else:
        _report(protocol, records)


def _compare_report(protocol, records: list[dict], wanted) -> None:
    """Each row against the reference row: paired verdicts, saved into the records."""
    from tabulate import tabulate

    from vdbench.engine.verdicts import (judge_records, pick_reference, save_verdicts,
                                         variant_name)
    from vdbench.reporting.compare_table import bootstrap_line, compare_rows

    names = [variant_name(r) for r in records]
    reference = pick_reference(names, wanted)
    verdicts = judge_records(records, names, reference)
    save_verdicts(records, names, verdicts, reference)
    click.echo(f"\n{protocol.name} ({protocol.preset} preset): {protocol.num_clips} clips × "
               f"{protocol.samples_per_clip} samples; rows compared with {names[reference]}")
    line = bootstrap_line(records[0])
    if line:
        click.echo(line)
    click.echo("")
    click.echo(tabulate(compare_rows(records, names, verdicts, reference),
                        headers=["value", "row", "value [95% interval]",
                                 f"paired verdict (row − {names[reference]})"]))
    for r in records:
        click.echo(f"wrote {r['_path']}")


def _evaluate(protocol, variants, opts, kw) -> None:
    """The protocol's evaluation (its `evaluation` field) of each variant."""
    evaluate = EVALUATIONS[protocol.evaluation]
    _distributed(kw, lambda dist: evaluate(protocol, variants, opts, kw, dist))


def _distributed(kw, work) -> None:
    """Run ``work(dist)`` in the process group torchrun describes (or in this process alone).

    A run stopped by SIGINT/SIGTERM exits with 128 + the signal number after its current chunk,
    saying how to resume.
    """
    import sys

    from vdbench.engine.distributed import RankFailure, from_environment
    from vdbench.engine.stopping import Interrupted

    dist = from_environment(kw["device"], kw["dist_timeout"])
    try:
        work(dist)
    except Interrupted as stop:
        if dist.is_main:
            click.echo(f"{stop.signal_name or 'stop'}: {stop}", err=True)
        sys.exit(stop.exit_code)
    except RankFailure as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        dist.close()


# Sampling options the oracle protocol cannot take: it runs every conditioning method itself,
# has no class or text condition, no extension, and computes in float64.
ORACLE_FIXED = ("conditioning", "cfg_weight", "cfg_null", "context_frames", "precision")


def oracle_settings(protocol, variants: list[dict[str, Any]]):
    """One SamplingSettings per variant: the oracle's defaults, the protocol's, the options."""
    from vdbench.metrics.errors import InputError
    from vdbench.model.generate import ORACLE_DEFAULTS
    from vdbench.model.settings import option, resolve

    out = []
    for variant in variants:
        for name in ORACLE_FIXED:
            if variant.get(name) is not None:
                raise InputError(f"{option(name)}: does not apply to the oracle protocol (it "
                                 "evaluates every conditioning method on the unconditional "
                                 "Gaussian oracle in float64)")
        given = {k: v for k, v in variant.items() if k != "w_r"}
        settings, _ = resolve(("oracle", ORACLE_DEFAULTS), ("protocol", protocol.sampling),
                              ("option", given))
        out.append(settings)
    return out


def _run_oracle(protocol, variants, opts, kw, dist) -> None:
    """`run oracle` / `compare oracle`: every conditioning method against the exact truth."""
    from tabulate import tabulate

    from vdbench.engine.oracle_protocol import run_oracle

    samplers = oracle_settings(protocol, variants)
    w_r = variants[0].get("w_r")
    weights = sorted({1.0, 2.0, 5.0} | ({w_r} if w_r else set()))
    record, rows = run_oracle(protocol, samplers, weights, kw["out"], dist)
    if record is None:  # a rank other than 0
        return
    table = [[r["plan"], r["sampler"], r["steps"], r["method"],
              "" if r["w_r"] is None else r["w_r"]] + [r.get(k) for k in protocol.metrics]
             for r in rows]
    click.echo(f"\noracle ({protocol.preset} preset): {protocol.samples_per_clip} samples; "
               f"errors of x^b against the exact p(x^b | x^a); "
               + "; ".join(f"{s.sampler}: {s.steps} steps, γ = {s.gamma:g}" for s in samplers)
               + "\n")
    click.echo(tabulate(table, headers=["plan", "sampler", "steps", "method", "w_r",
                                        *protocol.metrics], floatfmt=".3f"))
    click.echo(f"wrote {record['_path']}")


# Protocol.evaluation → how its variants are evaluated.
EVALUATIONS = {"videos": _run_videos, "oracle": _run_oracle}
