"""`vdbench fid` (Fréchet distance in any feature network's space) and `vdbench is`."""

from __future__ import annotations

import json

import click

from vdbench.cli.common import (bootstrap_config, bootstrap_options, count_text, input_options,
                                network_options, real_generated, set_threads)
from vdbench.cli.shard_options import shard_options, video_sides
from vdbench.engine.metric_calls import FID_DEFAULT


@click.command()
@real_generated
@input_options
@network_options(default=None, default_help=(
    f"[default: the network a statistics file given as REAL or GENERATED was written with "
    f"(`vdbench stats` writes i3d unless told otherwise), else {FID_DEFAULT}]"))
@bootstrap_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@shard_options(video_sides("real", "generated"))
def fid(real, generated, batch_size, threads, device, frames, clips_per_video, value_range,
        network, frame_mode, weights, bootstrap, bootstrap_seed, as_json, shard):
    """Fréchet distance between REAL and GENERATED in a network's feature space.

    c3d: UCF101 FID (TGANv2's C3D fc7, 16-frame clips); inception: FID-avg or FID-first
    (--frame-mode); i3d: the FVD. Each side is videos (.npy/.npz, a video file or folder, a
    folder or .zip of per-video frame folders), a statistics .npz written by `vdbench stats` (or
    mu/sigma of pytorch-fid/clean-fid), or an [N, D] float .npy of the network's
    features (`vdbench features`); without --network, a statistics file's own
    network is used, so `vdbench stats` then `vdbench fid` agree. The 95% bootstrap interval
    (each video its own cluster) and FID∞ (Chong & Forsyth 2020) are printed beside it; a
    statistics file holds sums only, so with one there are neither.
    """
    from vdbench.engine.metric_calls import InputSettings, frechet_fields, frechet_result
    from vdbench.engine.streaming import resolve_network, uncertainty_lines
    from vdbench.reporting.provenance import environment

    set_threads(threads)
    net = resolve_network(network, frame_mode, (real, generated), FID_DEFAULT)
    r = frechet_result(real, generated, net, InputSettings(
        batch_size, device, frames, clips_per_video, value_range, weights, shard),
        bootstrap_config(bootstrap, bootstrap_seed))
    label = r.settings["network"]
    result = {"fid": r.value, "metric": r.metric, "network": label, "real": str(real),
              "generated": str(generated), "n_real": r.n_real, "n_generated": r.n_generated,
              "weights_sha256": r.settings["weights_sha256"], **frechet_fields("fid", r),
              "environment": environment()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"FID {r.value:.4f}  [{label}]  (real: {count_text(r.n_real)}, generated: "
                   f"{count_text(r.n_generated)})")
        for line in uncertainty_lines("fid", "FID", result):
            click.echo(f"  {line}")


@click.command("is")
@click.argument("input_path", metavar="INPUT")
@input_options
@network_options(default=FID_DEFAULT)
@click.option("--splits", default=1, show_default=True, type=click.IntRange(min=1),
              help="Score each of N consecutive parts; report their mean ± std (paper: 1, 10).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def inception_score_command(input_path, batch_size, threads, device, frames, clips_per_video,
                            value_range, network, frame_mode, weights, splits, as_json):
    """Inception Score of INPUT's videos from NETWORK's class logits.

    c3d: 101 UCF101 classes (TGANv2); i3d: 400 Kinetics classes; inception: 1008 ImageNet
    logits, IS-avg or IS-first (--frame-mode). INPUT may also be an [N, classes] float .npy of
    logits (e.g. from `vdbench features NETWORK --logits`).
    """
    from vdbench.engine.metric_calls import InputSettings, inception_score_result
    from vdbench.metrics.networks import by_family

    set_threads(threads)
    r = inception_score_result(input_path, by_family(network, frame_mode), InputSettings(
        batch_size, device, frames, clips_per_video, value_range, weights), splits)
    mean, std, classes = r.value, r.std, r.extra["classes"]
    result = {"is_mean": mean, "is_std": std, "splits": splits, "n": r.n_generated,
              "classes": classes, "metric": r.metric, "network": r.settings["network"],
              "input": str(input_path)}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"IS {mean:.4f} ± {std:.4f}  ({r.n_generated} videos, {splits} split(s), "
                   f"{classes} classes)")
