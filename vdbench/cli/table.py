"""`vdbench table` and `vdbench protocols`."""

from __future__ import annotations

import click



@click.command()
@click.argument("which", default="all",
                type=click.Choice(["1", "2", "3", "4", "5", "6", "all", "other"]))
@click.option("--format", "fmt", default="markdown",
              type=click.Choice(["csv", "markdown", "latex"]))
@click.option("--runs", default=None, type=click.Path(file_okay=False),
              help="Folder of result records (*.json) to add beside the paper's rows.")
@click.option("--include-quick", is_flag=True,
              help="Also list runs of the quick preset or hand-set counts, and runs of "
                   "protocols that mirror a paper table on other data (shapes: Table 2), "
                   "labelled by protocol and preset; never comparable. With `all`: also the "
                   "runs in no paper table.")
def table(which, fmt, runs, include_quick):
    """The paper's Table WHICH (1-6 or all), with our runs' numbers beside the paper's.

    `other`: the runs (--runs) of protocols in no paper table, e.g. the oracle. Records that a
    table leaves out are counted on stderr, with the reason.
    """
    from vdbench.metrics.errors import InputError
    from vdbench.reporting.tables import (CAPTIONS, OTHER_CAPTION, PM_NOTE, TABLES,
                                          has_intervals, join_runs, left_out_note,
                                          load_records, other_runs, render)

    if which == "other" and runs is None:
        raise InputError("--runs: `vdbench table other` lists runs; give their folder")
    records = load_records(runs)
    chosen = TABLES if which == "all" else () if which == "other" else (which,)
    for n in chosen:
        if fmt == "csv" and which == "all":
            click.echo(f"# Table {n}: {CAPTIONS[n]}")
        # markdown/latex: "value ± SE" as the paper writes it; csv keeps numbers (export: SE)
        pm = fmt != "csv" and has_intervals(records)
        click.echo(render(join_runs(n, records, include_quick, pm), fmt,
                          caption=f"Table {n}: {CAPTIONS[n]}" + (f" ({PM_NOTE})" if pm else "")))
    others = other_runs(records)
    if which == "other" or (which == "all" and include_quick and not others.empty):
        if fmt == "csv" and which == "all":
            click.echo(f"# {OTHER_CAPTION}")
        click.echo(render(others, fmt, caption=OTHER_CAPTION) if not others.empty
                   else "(no runs of protocols outside the paper tables)")
    note = left_out_note(records, chosen, include_quick) if chosen else ""
    if note:
        click.echo(f"note: {note}", err=True)


def sampling_summary(sampling: dict) -> str:
    """A protocol's paper sampling settings in one line; settings it leaves open are named as
    coming from the checkpoint."""
    from vdbench.model.settings import FIELDS

    fixed = [f"{k}={v}" for k, v in sampling.items()]
    open_ = [k for k in ("sampler", "steps", "gamma") if k not in sampling]
    return ", ".join(fixed + [f"{k}=<checkpoint>" for k in open_ if k in FIELDS])


@click.command()
@click.option("--preset", default="paper", type=click.Choice(["paper", "quick"]))
@click.option("--card", "card_name", default=None, metavar="NAME",
              help="Print protocol NAME's card: what it samples, how many, frames, resizing, "
                   "metrics, and the code or paper section it follows.")
def protocols(preset, card_name):
    """List the benchmark protocols with their parameters and the paper's sampling settings
    (Appendix A; settings a protocol leaves open come from the checkpoint)."""
    from tabulate import tabulate

    from vdbench.protocols.registry import PROTOCOLS, get_protocol

    if card_name is not None:
        from vdbench.protocols.cards import card

        click.echo(card(get_protocol(card_name, preset)))
        return

    keys = ["dataset", "split", "resolution", "frames", "context_frames", "num_clips",
            "samples_per_clip", "metrics", "paper_section"]
    rows = []
    for p in PROTOCOLS.values():
        s = p.with_preset(preset).summary()
        rows.append([p.name] + [", ".join(s[k]) if k == "metrics" else s[k] for k in keys])
    click.echo(tabulate(rows, headers=["protocol"] + keys))
    click.echo("\nsampling settings (" + preset + " preset):")
    click.echo(tabulate([[p.name, sampling_summary(p.with_preset(preset).sampling)]
                         for p in PROTOCOLS.values()], headers=["protocol", "sampling"]))


@click.command()
@click.option("--runs", default="runs", type=click.Path(file_okay=False),
              help="Folder of result records (*.json).")
@click.option("--format", "fmt", default="csv", type=click.Choice(["csv", "markdown"]))
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def export(runs, fmt, output):
    """Every run record below RUNS as one row per run (protocol, model, sampler, metrics)."""
    from vdbench.util.atomic import atomic_path
    from vdbench.reporting.records import records_frame
    from vdbench.reporting.tables import load_records, render

    df = records_frame(load_records(runs))
    text = render(df, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    with atomic_path(output) as tmp:
        tmp.write_text(text)
    click.echo(f"wrote {output}: {len(df)} runs")
