"""The standalone commands' feature pass (`vdbench fvd | stats | features`) in chunks: sharded
over torchrun ranks and resumable from a chunk cache, as `vdbench run` is.

An input's clips are cut into chunks of ``chunk_size`` consecutive clips (boundaries fixed by
the chunk size alone, never by the world size); chunk ``k`` belongs to rank ``k mod world``
(`vdbench.engine.chunks`). Within a chunk, the network sees batches of ``batch_size`` clips that
start at multiples of ``batch_size`` (the chunk size is a multiple of it), and rank 0 folds every
chunk's rows batch by batch in global order: the statistics are bit-identical to one process
reading the input in one stream, whatever the world size, and whichever chunks came from the
cache. Finished chunks are kept by `vdbench.engine.cache.ChunkCache` (checksums, atomic writes,
each chunk's data files fingerprinted by path, size and modification time), under a key of the
input, the network and its weights, preprocessing, frames, clips per video, value range, chunk
and batch size and the code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from tqdm.auto import tqdm

from vdbench.engine import chunks as chunking
from vdbench.engine.cache import ChunkCache, differences, key_hash
from vdbench.engine.distributed import DEFAULT_TIMEOUT_S, Dist
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, Keep
from vdbench.metrics.networks import network_arrays

log = logging.getLogger(__name__)

CHUNKS_PER_BATCH = 32  # default chunk size: this many batches
SHAPE = "_clip_shape"  # chunk member: [T, H, W, 3] of its clips (one shape per side)


@dataclass(frozen=True)
class ShardOptions:
    """--chunk-size / --cache-dir / --resume of the standalone commands."""

    chunk_size: Optional[int] = None  # None: CHUNKS_PER_BATCH × the batch size
    cache_dir: Optional[str] = None  # None: the project cache (with --resume) or no cache
    resume: bool = False

    @property
    def caching(self) -> bool:
        return self.resume or self.cache_dir is not None

    def cache_root(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        from vdbench.metrics.cache import cache_dir

        return cache_dir() / "chunks"

    def size(self, batch_size: int) -> int:
        """The chunk size, checked against the batch size."""
        size = self.chunk_size or CHUNKS_PER_BATCH * batch_size
        if size % batch_size:
            raise InputError(f"--chunk-size: {size} is not a multiple of --batch-size "
                             f"{batch_size} (batches may not straddle chunks)")
        return size


@dataclass
class Sharding:
    """The options, the process group, and how many chunked passes the command runs: ranks
    other than 0 leave after the last one (rank 0 alone computes, prints and writes)."""

    options: ShardOptions
    dist: Dist
    passes: int
    done: int = 0
    folds: list = dataclasses.field(default_factory=list)  # rank 0: each pass's Fold


@contextlib.contextmanager
def sharding(options: ShardOptions, device: str, passes: int,
             timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[Optional[Sharding]]:
    """The command's Sharding, or None where nothing asks for chunks (one process, no cache
    option): then the commands stream as they always did, with the same result."""
    from vdbench.engine.distributed import from_environment

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not options.caching and options.chunk_size is None:
        yield None
        return
    dist = from_environment(device, timeout_s)
    try:
        yield Sharding(options, dist, passes)
    finally:
        dist.close()


# --- reading chunks of any clip source --------------------------------------------------------


@dataclass(frozen=True)
class ChunkSource:
    """Random access to a clip source: clips [start, stop), and the fingerprint of the files
    they come from."""

    read: Callable[[int, int], np.ndarray]
    fingerprint: Callable[[int, int], str]
    identity: dict


def _fingerprint(root: Path, files) -> str:
    from vdbench.protocols.datasets.base import fingerprint_files

    return fingerprint_files(root, files)


def _cut(source, videos_attr: str, start: int, stop: int) -> np.ndarray:
    """Clips [start, stop) of a source of whole videos (a list in ``videos_attr``) cut into
    ``clips_per_video`` clips each: only the videos holding them are decoded."""
    per = source.clips_per_video
    first, last = start // per, -(-stop // per)
    part = dataclasses.replace(source, **{videos_attr: getattr(source, videos_attr)[first:last]})
    # a video's clips at a time: whole decoded videos are never held together
    clips = np.concatenate(list(part.batches(per)))
    return clips[start - first * per:stop - first * per]


def _video_span(source, start: int, stop: int) -> slice:
    per = source.clips_per_video
    return slice(start // per, -(-stop // per))


def chunk_source(source) -> ChunkSource:
    """``source`` (any of `open_source`'s, or a dataset selection) as a ChunkSource, its
    identity including how clips are cut (--frames, --clips-per-video)."""
    found = _chunk_source(source)
    cut = {"frames": getattr(source, "frames", None),
           "clips_per_video": getattr(source, "clips_per_video", 1)}
    return dataclasses.replace(found, identity={**found.identity, **cut})


def _chunk_source(source) -> ChunkSource:
    from vdbench.protocols.datasets.base import VideoDataset
    from vdbench.protocols.datasets.frames import FrameVideosSource
    from vdbench.protocols.datasets.generic import ArraySource, VideoFilesSource

    if isinstance(source, ArraySource):
        path = Path(source.path)
        return ChunkSource(
            lambda a, b: np.array(source.array[a:b])[:, :source.frames],
            lambda a, b: _fingerprint(path.parent, [path]),
            {"format": "array", "path": str(path.resolve()), "shape": list(source.array.shape),
             "dtype": str(source.array.dtype)})
    if isinstance(source, VideoFilesSource):
        root = Path(os.path.commonpath([str(p.resolve().parent) for p in source.files]))
        return ChunkSource(
            lambda a, b: _cut(source, "files", a, b),
            lambda a, b: _fingerprint(root, source.files[_video_span(source, a, b)]),
            {"format": "video files", "root": str(root), "videos": len(source.files)})
    if isinstance(source, FrameVideosSource):
        path = Path(source.path)

        def frame_files(a: int, b: int) -> str:
            if not path.is_dir():  # a zip: the archive is the file read
                return _fingerprint(path.parent, [path])
            videos = source.videos[_video_span(source, a, b)]
            return _fingerprint(path, [f for v in videos for f in v.frames])

        return ChunkSource(lambda a, b: _cut(source, "videos", a, b), frame_files,
                           {"format": "frame folders", "path": str(path.resolve()),
                            "videos": len(source.videos)})
    if isinstance(source, VideoDataset):
        return ChunkSource(lambda a, b: _stack(source, a, b),
                           lambda a, b: source.fingerprint(range(a, b)),
                           {"format": "dataset", **source.describe()})
    raise InputError(f"{type(source).__name__}: this input cannot be read in chunks "
                     "(no random access); run without --cache-dir/--resume/--chunk-size and "
                     "torchrun")


def _stack(dataset, start: int, stop: int) -> np.ndarray:
    clips = list(dataset.iter_clips(range(start, stop)))
    shapes = {c.shape for c in clips}
    if len(shapes) > 1:
        raise InputError(f"{dataset.name}: clips of shapes {sorted(shapes)}; all clips of one "
                         "side must match (set --frames)")
    return np.stack(clips)


# --- one chunked pass -------------------------------------------------------------------------


@dataclass(frozen=True)
class PassSpec:
    """What one side's chunked pass computes, and where it reports."""

    desc: str  # the input, for the progress bar and messages
    network: str
    plan: Mapping[str, Keep]
    batch_size: int
    value_range: Optional[str]
    bootstrap: bool


def pass_key(spec: PassSpec, src: ChunkSource, extractor, chunk_size: int) -> dict:
    """Everything a chunk's arrays depend on (the data files' state is checked per chunk)."""
    from vdbench.reporting.provenance import code_digest

    return {"kind": "standalone-features", "input": src.identity,
            "network": getattr(extractor, "network", spec.network),
            "preprocessing": getattr(extractor, "preprocessing", ""),
            "weights_sha256": getattr(extractor, "weights_sha256", None),
            "arrays": sorted(spec.plan), "value_range": spec.value_range,
            "chunk_size": chunk_size, "batch_size": spec.batch_size, "code": code_digest()}


def agree(dist: Dist, key: dict, desc: str) -> None:
    """Every rank must see the same input and settings: else one line on rank 0 (exit 2)."""
    keys = dist.gather(key)
    message = None
    if dist.is_main:
        for rank, other in enumerate(keys or []):
            if other != key:
                diff = differences(key, other)
                message = (f"{desc}: ranks disagree on the input: rank {rank} differs from "
                           f"rank 0 in " + "; ".join(diff[:4]) + (" …" if len(diff) > 4 else ""))
                break
    message = dist.broadcast(message)
    if message is not None:
        if dist.is_main:
            raise InputError(message)
        raise SystemExit(2)  # rank 0 says why


def open_cache(shard: Sharding, key: dict, desc: str, src: ChunkSource) -> Optional[ChunkCache]:
    """The pass's chunk cache (None without --cache-dir/--resume), prepared by rank 0."""
    if not shard.options.caching:
        return None
    name = f"{Path(desc).name or 'input'}-{key['arrays'][0]}-{key_hash(key)[:12]}"
    cache = ChunkCache(shard.options.cache_root() / name, key, shard.options.resume,
                       data=lambda c: src.fingerprint(c.start, c.stop))
    message = cache.prepare() if shard.dist.is_main else None
    message = shard.dist.broadcast(message)  # also: no rank reads before rank 0 prepared
    if message and shard.dist.is_main:
        log.warning(message)
    return cache


def compute_chunk(extractor, spec: PassSpec, clips: np.ndarray) -> dict[str, np.ndarray]:
    """The chunk's arrays, batch by batch as the single stream computes them, and its clips'
    shape."""
    parts = [network_arrays(extractor, spec.network, spec.plan,
                            clips[i:i + spec.batch_size], value_range=spec.value_range)
             for i in range(0, len(clips), spec.batch_size)]
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return {**arrays, SHAPE: np.asarray(clips.shape[1:], dtype=np.int64)}


@dataclass
class Fold:
    """Rank 0's statistics, folded batch by batch in global chunk order."""

    spec: PassSpec
    stats: FeatureStats
    shape: Optional[tuple] = None
    cached: int = 0
    computed: int = 0

    def add(self, chunk: chunking.Chunk, arrays: dict[str, np.ndarray], cached: bool) -> None:
        shape = tuple(int(x) for x in arrays[SHAPE])
        if self.shape is None:
            self.shape = shape
        elif shape != self.shape:
            raise InputError(f"{self.spec.desc}: clips {chunk.start}..{chunk.stop - 1} have "
                             f"shape {shape}, the first clips {self.shape}; all videos of one "
                             "side must match (set --frames)")
        rows = {k: v for k, v in arrays.items() if k != SHAPE}
        for i in range(0, len(chunk), self.spec.batch_size):
            self.stats.add({k: v[i:i + self.spec.batch_size] for k, v in rows.items()})
        self.cached += cached
        self.computed += not cached


def run_pass(shard: Sharding, src: ChunkSource, n: int, extractor, spec: PassSpec
             ) -> Optional[Fold]:
    """This rank's chunks of one side; rank 0 returns the fold (other ranks None)."""
    dist, size = shard.dist, shard.options.size(spec.batch_size)
    key = pass_key(spec, src, extractor, size)
    agree(dist, {**key, "videos": n}, spec.desc)
    cache = open_cache(shard, key, spec.desc, src)
    chunks = chunking.plan(n, 1, size)

    def load(chunk: chunking.Chunk) -> dict[str, Any]:
        found = cache.load(chunk) if cache is not None else None
        return {"cached": True, **found} if found else {"clips": src.read(chunk.start,
                                                                          chunk.stop)}

    fold = Fold(spec, FeatureStats(spec.plan, bootstrap=spec.bootstrap)) if dist.is_main \
        else None
    mine = iter(chunking.prefetch(chunking.owned(chunks, dist.rank, dist.world), load))
    with tqdm(total=n, desc=spec.desc, unit="video", leave=False,
              disable=not dist.is_main) as bar:
        for r in range(chunking.rounds(chunks, dist.world)):
            payload = None
            if r * dist.world + dist.rank < len(chunks):
                chunk, got = next(mine)
                payload = (chunk, _arrays_of(chunk, got, extractor, spec, cache))
            for item in dist.gather(payload) or []:
                if item is not None and fold is not None:
                    fold.add(item[0], item[1][0], item[1][1])
                    bar.update(len(item[0]))
    return fold


def _arrays_of(chunk, got: dict, extractor, spec: PassSpec, cache: Optional[ChunkCache]
               ) -> tuple[dict, bool]:
    """(the chunk's arrays, whether they came from the cache); computed ones are cached."""
    if got.get("cached"):
        return got["arrays"], True
    t = time.perf_counter()
    try:
        arrays = compute_chunk(extractor, spec, got["clips"])
    except InputError as err:
        raise InputError(f"{spec.desc}: {err}") from err
    if cache is not None:
        cache.save(chunk, arrays, {"metrics": time.perf_counter() - t})
    return arrays, False


def sharded_stats(shard: Sharding, source, extractor, spec: PassSpec) -> FeatureStats:
    """One side's statistics over the ranks (see the module docstring). Ranks other than 0
    leave the command after its last pass; rank 0 returns the folded statistics."""
    fold = run_pass(shard, chunk_source(source), len(source), extractor, spec)
    shard.done += 1
    if not shard.dist.is_main:
        if shard.done >= shard.passes:
            shard.dist.close()
            raise SystemExit(0)  # rank 0 alone computes the metrics and writes the outputs
        return FeatureStats(spec.plan, bootstrap=spec.bootstrap)
    assert fold is not None
    if not fold.stats.count:
        raise InputError(f"{spec.desc}: no videos")
    if shard.options.caching:
        log.info("%s: %d of %d chunks from the cache, %d computed", spec.desc, fold.cached,
                 fold.cached + fold.computed, fold.computed)
    shard.folds.append(fold)
    return fold.stats


def video_passes(*paths) -> int:
    """How many of the sides ``paths`` are videos to embed (not statistics or features)."""
    from vdbench.engine.streaming import holds_rows, is_stats_file

    return sum(1 for p in paths if not is_stats_file(p) and not holds_rows(p))
