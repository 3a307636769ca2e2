"""--chunk-size / --cache-dir / --resume / --dist-timeout of `vdbench fvd | stats | features`:
their feature pass in chunks, sharded under torchrun and resumable from a chunk cache
(vdbench.engine.sharded_features), with the names and meaning `vdbench run` gives them."""

from __future__ import annotations

import functools
import sys
from typing import Callable

import click


def shard_options(passes: Callable[[dict], int]):
    """Add the options; the command receives ``shard`` (a Sharding, or None where nothing asks
    for chunks) and runs inside the process group torchrun describes. ``passes(kwargs)``: how
    many sides of the command embed videos (ranks other than 0 leave after the last)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(**kw):
            from vdbench.engine.distributed import RankFailure, rank_device
            from vdbench.engine.sharded_features import ShardOptions, sharding

            options = ShardOptions(kw.pop("chunk_size"), kw.pop("cache_dir"), kw.pop("resume"))
            timeout = kw.pop("dist_timeout")
            if options.chunk_size is not None:
                options.size(kw["batch_size"])  # refused before any work
            count = passes(kw)
            if not count and (options.caching or options.chunk_size is not None):
                from vdbench.metrics.errors import InputError

                given = "--resume" if options.resume else \
                    "--cache-dir" if options.cache_dir is not None else "--chunk-size"
                raise InputError(f"{given}: no side is videos (statistics or features files "
                                 "only): there is no feature pass to chunk or cache")
            kw["device"] = rank_device(kw["device"])  # cuda → cuda:LOCAL_RANK under torchrun
            try:
                with sharding(options, kw["device"], count, timeout) as shard:
                    if shard is not None and not shard.dist.is_main and not shard.passes:
                        return None  # nothing to embed: rank 0 alone reads the inputs
                    return fn(shard=shard, **kw)
            except RankFailure as err:
                click.echo(f"error: {err}", err=True)
                sys.exit(1)

        for option in reversed(OPTIONS):
            wrapper = option(wrapper)
        return wrapper

    return decorate


OPTIONS = [
    click.option("--chunk-size", type=click.IntRange(min=1), default=None,
                 help="Videos per chunk, a multiple of --batch-size: the unit of work of torchrun "
                      "ranks and of the cache [default: 32 batches]."),
    click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
                 help="Cache finished chunks' features here, so that --resume continues a "
                      "killed command [default with --resume: $VDBENCH_CACHE/chunks or the user "
                      "cache dir]."),
    click.option("--resume", is_flag=True,
                 help="Reuse the finished chunks cached by an earlier command with the same "
                      "input and settings (and cache the new ones); the result is the same."),
    click.option("--dist-timeout", type=click.IntRange(min=10), default=600,
                 help="Seconds a rank waits for the others under torchrun before failing."),
]


def video_sides(*names: str) -> Callable[[dict], int]:
    """``passes`` of a command whose arguments ``names`` are each a side that may be videos."""
    def count(kw: dict) -> int:
        from vdbench.engine.sharded_features import video_passes

        return video_passes(*(kw[n] for n in names))

    return count


def one_pass(kw: dict) -> int:
    return 1
