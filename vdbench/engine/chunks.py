"""The unit of work of a run: a chunk of consecutive clips × one sample index.

A protocol's (clip, sample) index space is cut into chunks of ``size`` clips (the batch size)
for one sample index each, in a fixed global order; chunk ``k`` belongs to rank ``k mod world``.
Because each chunk is generated as one batch whose samples are seeded by their global indices,
and rank 0 folds the chunk results in global order, a run on 1, 2 or 3 processes generates
bit-identical samples and computes the same metrics.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Chunk:
    index: int  # position in the global order
    sample: int  # sample index s of every clip in the chunk
    start: int  # clips [start, stop) of the protocol's selection
    stop: int

    @property
    def name(self) -> str:
        return f"chunk-{self.index:06d}-s{self.sample:04d}-c{self.start:07d}"

    def __len__(self) -> int:
        return self.stop - self.start


def plan(num_clips: int, samples_per_clip: int, size: int) -> list[Chunk]:
    """Clip blocks in order, every sample index of a block before the next block."""
    chunks: list[Chunk] = []
    for start in range(0, num_clips, size):
        for s in range(samples_per_clip):
            chunks.append(Chunk(len(chunks), s, start, min(start + size, num_clips)))
    return chunks


def owned(chunks: list[Chunk], rank: int, world: int) -> list[Chunk]:
    return [c for c in chunks if c.index % world == rank]


def rounds(chunks: list[Chunk], world: int) -> int:
    """Number of lock-step rounds: in round r, rank i handles chunk r·world + i (if any)."""
    return -(-len(chunks) // world)


def prefetch(items: Iterable[Any], load: Callable[[Any], Any], depth: int = 2
             ) -> Iterator[tuple[Any, Any]]:
    """(item, load(item)) in order, loading up to ``depth`` items ahead on a worker thread.

    Reading and decoding the next clips overlaps the current chunk's generation (decoders and
    file I/O release the GIL). An exception in ``load`` is re-raised here, at its item.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                try:
                    result: tuple[Any, Optional[BaseException]] = (load(item), None)
                except BaseException as err:  # handed to the consumer, raised there
                    result = (None, err)
                q.put((item, result))
                if result[1] is not None:
                    return
        finally:
            q.put(done)

    thread = threading.Thread(target=work, name="vdbench-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            got = q.get()
            if got is done:
                return
            item, (value, err) = got
            if err is not None:
                raise err
            yield item, value
    finally:
        stop.set()
        while thread.is_alive():  # unblock a worker waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
