"""`vdbench run PROTOCOL` and `vdbench compare PROTOCOL`."""

from __future__ import annotations

import itertools

import click

from vdbench.cli.common import one_line_errors, set_threads

CONDITIONINGS = ("none", "replacement", "replacement-posterior", "reconstruction")


def run_options(fn):
    options = [
        click.option("--checkpoint", default=None, help="Model checkpoint file or run dir."),
        click.option("--model", "model_spec", default=None,
                     help="Your own generator: pkg.module:factory (see README)."),
        click.option("--steps", type=click.IntRange(min=1), default=None,
                     help="Sampling steps [default: the protocol preset's]."),
        click.option("--gamma", type=click.FloatRange(0, 1), default=0.1,
                     help="Log-variance interpolation γ of eq. 4."),
        click.option("--guidance-weight", type=click.FloatRange(min=0), default=None,
                     help="Reconstruction guidance w_r (eq. 7) [default: the protocol's]."),
        click.option("--cfg-weight", type=click.FloatRange(min=0), default=0.0,
                     help="Classifier-free guidance weight w (eq. 6)."),
        click.option("--preset", type=click.Choice(["paper", "quick"]), default="paper"),
        click.option("--clips", type=click.IntRange(min=1), default=None,
                     help="Override the number of clips (result labelled preset 'custom')."),
        click.option("--samples-per-clip", type=click.IntRange(min=1), default=None,
                     help="Override samples per clip (result labelled preset 'custom')."),
        click.option("--data-dir", default=None, help="Where the protocol's dataset lives."),
        click.option("--frameskip", type=click.IntRange(min=1), default=None,
                     help="Evaluate clips of every k-th frame (text2video: 1 or 4, Table 5) "
                          "[default: the protocol's, 1]."),
        click.option("--with-replacement", is_flag=True,
                     help="Kinetics-600: clips drawn with replacement, ground truth with another "
                          "seed (the evaluation of [33, 14] the paper discusses)."),
        click.option("--fvd-exclude-context", is_flag=True,
                     help="FVD on the frames after the conditioning frames only, on both sides "
                          "(FitVid's BAIR evaluation: the 15 generated frames); recorded."),
        click.option("--out", default="runs", help="Folder for result records (JSON)."),
        click.option("--device", default="cpu"),
        click.option("--batch-size", type=click.IntRange(min=1), default=8),
        click.option("--threads", type=click.IntRange(min=1), default=None),
        click.option("--resume", is_flag=True,
                     help="Reuse the finished chunks cached by an earlier run with the same "
                          "settings (a changed setting invalidates them, with a message)."),
        click.option("--cache-dir", default=None,
                     help="Where finished chunks (samples, features) are cached "
                          "[default: OUT/cache]."),
        click.option("--metrics", "metric_names", default=None,
                     help="Comma-separated subset of the protocol's metrics [default: all]."),
        click.option("--c3d-weights", default=None, type=click.Path(file_okay=False),
                     help="Folder with conv3d_deepnetA_ucf.npz and mean2.npz (UCF101 C3D) "
                          "[default: the cache; `vdbench weights fetch c3d`]."),
        click.option("--inception-weights", default=None, type=click.Path(dir_okay=False),
                     help="FID Inception weights (.pth) [default: the cache; "
                          "`vdbench weights fetch inception`]."),
        click.option("--dist-timeout", type=click.IntRange(min=10), default=600,
                     help="Seconds a rank waits for the others under torchrun before failing."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(protocol, sampler, conditioning, steps, gamma, w_r, cfg):
    from vdbench.engine.included_model import SamplerSettings

    return SamplerSettings(sampler or protocol.sampler, steps or protocol.steps, gamma,
                           conditioning or protocol.conditioning,
                           protocol.guidance_weight if w_r is None else w_r, cfg)


def _report(protocol, records) -> None:
    from tabulate import tabulate

    if not records:  # a rank other than 0 of a distributed run
        return

    keys = sorted({k for r in records for k in r["metrics"]})
    rows = [[r["sampler"].get("name", ""), r["sampler"].get("conditioning", ""),
             r["sampler"].get("steps", "")] + [r["metrics"].get(k) for k in keys]
            for r in records]
    click.echo(f"\n{protocol.name} ({protocol.preset} preset): {protocol.num_clips} clips × "
               f"{protocol.samples_per_clip} samples\n")
    click.echo(tabulate(rows, headers=["sampler", "conditioning", "steps"] + keys,
                        floatfmt=".4g"))
    for r in records:
        click.echo(f"wrote {r['_path']}")


def _prepare(protocol_name: str, kw: dict):
    """(protocol, run options, settings factory) from the shared options."""
    import dataclasses

    from vdbench.metrics.errors import InputError
    from vdbench.protocols.registry import get_protocol
    from vdbench.engine.runner import RunOptions

    set_threads(kw["threads"])
    protocol = get_protocol(protocol_name, kw["preset"]).with_counts(kw["clips"],
                                                                    kw["samples_per_clip"])
    if kw["metric_names"]:
        chosen = tuple(m.strip() for m in kw["metric_names"].split(",") if m.strip())
        unknown = [m for m in chosen if m not in protocol.metrics]
        if unknown or not chosen:
            raise InputError(f"--metrics {kw['metric_names']!r}: {protocol.name} computes "
                             f"{', '.join(protocol.metrics)}")
        protocol = dataclasses.replace(protocol, metrics=chosen)
    if kw["frameskip"]:
        protocol = dataclasses.replace(protocol, frameskip=kw["frameskip"])
    if kw["fvd_exclude_context"]:  # Protocol refuses it where it cannot apply
        protocol = dataclasses.replace(protocol, fvd_exclude_context=True)
    if kw["with_replacement"]:
        if protocol.name != "kinetics600":
            raise InputError("--with-replacement applies to the kinetics600 protocol only")
        protocol = dataclasses.replace(protocol, with_replacement=True)
    opts = RunOptions(kw["checkpoint"], kw["model_spec"], kw["data_dir"], kw["out"],
                      kw["device"], kw["batch_size"], kw["resume"], kw["cache_dir"],
                      kw["c3d_weights"], kw["inception_weights"])

    def settings(sampler, conditioning):
        return _settings(protocol, sampler, conditioning, kw["steps"], kw["gamma"],
                         kw["guidance_weight"], kw["cfg_weight"])

    return protocol, opts, settings


@click.command()
@click.argument("protocol_name", metavar="PROTOCOL")
@click.option("--sampler", type=click.Choice(["ancestral", "langevin"]), default=None)
@click.option("--conditioning", type=click.Choice(CONDITIONINGS), default=None)
@run_options
@one_line_errors
def run(protocol_name, sampler, conditioning, **kw):
    """Evaluate a model on PROTOCOL (see `vdbench protocols`) and write a result record."""
    from vdbench.engine.runner import run_variants

    protocol, opts, settings = _prepare(protocol_name, kw)
    if protocol.dataset == "gaussian-oracle":
        return _distributed(kw, lambda dist: _run_oracle(protocol, [sampler or protocol.sampler],
                                                         kw, dist))
    _distributed(kw, lambda dist: _report(protocol, run_variants(
        protocol, [settings(sampler, conditioning)], opts, dist)))


@click.command()
@click.argument("protocol_name", metavar="PROTOCOL")
@click.option("--sampler", "samplers", default=None,
              help="Comma-separated samplers, e.g. ancestral,langevin.")
@click.option("--conditioning", "conditionings", default="replacement,reconstruction",
              help="Comma-separated conditioning methods.")
@run_options
@one_line_errors
def compare(protocol_name, samplers, conditionings, **kw):
    """Several sampler/conditioning variants on the same clips and seeds, in one table."""
    from vdbench.metrics.errors import InputError
    from vdbench.engine.runner import run_variants

    protocol, opts, settings = _prepare(protocol_name, kw)
    if protocol.dataset == "gaussian-oracle":
        return _distributed(kw, lambda dist: _run_oracle(
            protocol, (samplers or protocol.sampler).split(","), kw, dist))
    cond_list = conditionings.split(",")
    for c in cond_list:
        if c not in CONDITIONINGS:
            raise InputError(f"unknown conditioning {c!r}; expected one of {CONDITIONINGS}")
    variants = [settings(s, c) for s, c in
                itertools.product((samplers or protocol.sampler).split(","), cond_list)]
    _distributed(kw, lambda dist: _report(protocol, run_variants(protocol, variants, opts,
                                                                 dist)))


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


def _run_oracle(protocol, samplers, kw, dist) -> None:
    """`run oracle` / `compare oracle`: every conditioning method against the exact truth."""
    from tabulate import tabulate

    from vdbench.engine.oracle_protocol import run_oracle

    weights = sorted({1.0, 2.0, 5.0} | ({kw["guidance_weight"]} if kw["guidance_weight"]
                                        else set()))
    record, rows = run_oracle(protocol, samplers, weights, kw["out"], dist)
    if record is None:  # a rank other than 0
        return
    table = [[r["plan"], r["sampler"], r["method"], "" if r["w_r"] is None else r["w_r"]]
             + [r.get(k) for k in protocol.metrics] for r in rows]
    click.echo(f"\noracle ({protocol.preset} preset): {protocol.samples_per_clip} samples, "
               f"{protocol.steps} steps; errors of x^b against the exact p(x^b | x^a)\n")
    click.echo(tabulate(table, headers=["plan", "sampler", "method", "w_r",
                                        *protocol.metrics], floatfmt=".3f"))
    click.echo(f"wrote {record['_path']}")
