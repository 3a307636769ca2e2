"""A protocol's real clips: the ones that condition the model, the ground truth, and further
reference splits, read chunk by chunk."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from vdbench.engine import chunks as chunking
from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol
from vdbench.protocols.datasets import get_reader


def open_protocol_data(protocol: Protocol, data_dir: Optional[str]):
    """(clips that condition the model, clips that define the ground truth).

    The paper's protocol uses the same clips for both (Section 4.2). ``with_replacement``
    reproduces the evaluation the paper attributes to [33, 14]: clips drawn with replacement,
    and the ground truth drawn with a different seed. The dataset's reader (`READERS`) says how
    the data is opened and whether the protocol's seed picks the clips.
    """
    reader = _reader(protocol)
    dataset = reader.open_for(protocol, data_dir, protocol.split)
    window = dict(frames=protocol.frames, frameskip=protocol.frameskip)
    if protocol.clip_order or protocol.real_offsets:  # other papers' choice of clips
        from vdbench.protocols.literature import real_clips

        clips = real_clips(dataset, protocol, reader.clip_seed(protocol.seed))
        return clips, clips
    if not protocol.with_replacement:
        seed = reader.clip_seed(protocol.seed)
        clips = dataset.select(protocol.num_clips, seed=seed, **window)
        if protocol.reference_clips:  # unconditional: a larger real reference
            return clips, dataset.select(protocol.reference_clips, seed=seed, **window)
        return clips, clips
    return (dataset.select(protocol.num_clips, seed=protocol.seed, replace=True, **window),
            dataset.select(protocol.num_clips, seed=protocol.seed + 1, replace=True, **window))


def _reader(protocol: Protocol):
    try:
        return get_reader(protocol.dataset)
    except InputError as err:
        raise InputError(f"protocol {protocol.name}: {err}") from None


def reference_data(protocol: Protocol, data_dir: Optional[str]) -> dict:
    """Further real references by split name (text-to-video: FID/FVD against the training set
    as well as the validation set, Section 4.3); the same seeded choice of clips."""
    reader, out = _reader(protocol), {}
    for split in protocol.reference_splits:
        dataset = reader.open_for(protocol, data_dir, split)
        out[split] = dataset.select(min(protocol.num_clips, len(dataset)), frames=protocol.frames,
                                    seed=reader.clip_seed(protocol.seed),
                                    frameskip=protocol.frameskip)
    return out


def read_block(clips) -> Callable[[chunking.Chunk], dict]:
    """Chunk → its real clips (uint8 [n, T, H, W, 3]) with their captions and caption
    embeddings (None for uncaptioned data). The last block is remembered, since the chunks of
    one clip block (one per sample index) follow each other."""
    last: list = [None, None]  # (span, block); each block is a fresh dict, never mutated

    def read(chunk: chunking.Chunk) -> dict:
        span = (chunk.start, chunk.stop)
        if last[0] != span:
            positions = range(*span)
            last[:] = [span, {"clips": np.stack(list(clips.iter_clips(positions))),
                              "captions": clips.captions(positions),
                              "text": clips.text(positions)}]
        return last[1]

    return read


def data_fingerprint(clips, chunk: chunking.Chunk) -> str:
    """Fingerprint of the data files a chunk reads (path, size, modification time of each), so
    that a dataset file replaced in place invalidates exactly the chunks that read it; sources
    without files (procedural data) are fully described by ``describe()``."""
    fingerprint = getattr(clips, "fingerprint", None)
    return "" if fingerprint is None else fingerprint(range(chunk.start, chunk.stop))
