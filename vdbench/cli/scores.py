"""`vdbench fid` (C3D / Inception Fréchet distance) and `vdbench is` (Inception Score)."""

from __future__ import annotations

import json

import click

from vdbench.cli.common import input_options, network_options, one_line_errors, set_threads


@click.command()
@click.argument("real")
@click.argument("generated")
@input_options
@network_options(default="c3d", choices=("c3d", "inception", "i3d"))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@one_line_errors
def fid(real, generated, batch_size, threads, device, frames, clips_per_video, value_range,
        network, frame_mode, weights, as_json):
    """Fréchet distance between REAL and GENERATED in a network's feature space.

    c3d: UCF101 FID (TGANv2's C3D fc7, 16-frame clips); inception: FID-avg or FID-first
    (--frame-mode); i3d: the FVD. Each side is videos (.npy/.npz, a video file or folder) or a
    statistics .npz written by `vdbench stats` with the same --network.
    """
    from vdbench.metrics.frechet import frechet_distance
    from vdbench.engine.streaming import side_stats
    from vdbench.metrics.networks import extractor_factory, network_label
    from vdbench.reporting.provenance import environment

    set_threads(threads)
    label = network_label(network, frame_mode)
    make = extractor_factory(network, device, frame_mode, weights)
    kw = dict(batch_size=batch_size, frames=frames, clips_per_video=clips_per_video,
              value_range=value_range, network=label)
    a, b = side_stats(real, make, **kw), side_stats(generated, make, **kw)
    value = frechet_distance(a, b)
    result = {"fid": value, "network": label, "real": str(real), "generated": str(generated),
              "n_real": a.count, "n_generated": b.count, "environment": environment()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"FID {value:.4f}  [{label}]  (real: {a.count}, generated: {b.count} videos)")


@click.command("is")
@click.argument("input_path", metavar="INPUT")
@input_options
@network_options(default="c3d")
@click.option("--splits", default=1, show_default=True, type=click.IntRange(min=1),
              help="Score each of N consecutive parts; report their mean ± std (paper: 1, 10).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@one_line_errors
def inception_score_command(input_path, batch_size, threads, device, frames, clips_per_video,
                            value_range, network, frame_mode, weights, splits, as_json):
    """Inception Score of INPUT's videos from NETWORK's class logits.

    c3d: 101 UCF101 classes (TGANv2); i3d: 400 Kinetics classes; inception: 1008 ImageNet
    logits, IS-avg or IS-first (--frame-mode). INPUT may also be an [N, classes] float .npy of
    logits (e.g. from `vdbench features NETWORK --logits`).
    """
    import numpy as np

    from vdbench.metrics.inception_score import inception_score
    from vdbench.protocols.datasets.generic import open_source
    from vdbench.engine.streaming import iter_features, read_logits
    from vdbench.metrics.networks import extractor_factory, network_label

    set_threads(threads)
    logits = read_logits(input_path)
    if logits is None:
        source = open_source(input_path, frames, clips_per_video)
        extractor = extractor_factory(network, device, frame_mode, weights)()
        logits = np.concatenate([lg for _, lg in iter_features(
            source, extractor, batch_size, value_range, logits=True)])
    mean, std = inception_score(logits, splits)
    result = {"is_mean": mean, "is_std": std, "splits": splits, "n": int(logits.shape[0]),
              "classes": int(logits.shape[1]), "network": network_label(network, frame_mode),
              "input": str(input_path)}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"IS {mean:.4f} ± {std:.4f}  ({logits.shape[0]} videos, {splits} split(s), "
                   f"{logits.shape[1]} classes)")
