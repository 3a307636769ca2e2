"""The resumable chunk cache of a run: finished chunks on disk, verified before reuse.

Layout: ``CACHE/<run name>/manifest.json`` (the key: protocol, preset, model identity, sampler
settings, seeds, chunk size, data) and, per finished chunk, ``<chunk>.npz`` (uint8 samples and
features) and ``<chunk>.json`` (the key's hash, the npz's sha256, timings). Both are written
atomically, the npz first: a chunk counts as finished only when its JSON exists, names this key
and its npz has the recorded checksum. A truncated or altered npz is reported and regenerated,
never used; a chunk of other settings is never mixed in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Optional

import numpy as np

from vdbench.metrics.atomic import atomic_savez, atomic_write_json
from vdbench.engine.chunks import Chunk
from vdbench.metrics.hashing import file_sha256

log = logging.getLogger(__name__)


def key_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Human-readable 'field: old → new' lines between two (nested) keys."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k, "<absent>"), new.get(k, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(differences(a, b, f"{prefix}{k}."))
        elif a != b:
            out.append(f"{prefix}{k}: {a} → {b}")
    return out


class ChunkCache:
    """Finished chunks of one run (see the module docstring)."""

    def __init__(self, folder: str | Path, key: dict, resume: bool):
        self.folder, self.key, self.resume = Path(folder), key, resume
        self.hash = key_hash(key)

    def prepare(self) -> Optional[str]:
        """Rank 0, before any work: validate or (re)start the cache. Returns a message for the
        user when an existing cache is discarded."""
        manifest = self.folder / "manifest.json"
        message = None
        if manifest.exists():
            try:
                old = json.loads(manifest.read_text())
            except (OSError, json.JSONDecodeError):
                old = {}
            if old.get("hash") != self.hash:
                diff = differences(old.get("key", {}), self.key) or ["unreadable manifest"]
                message = (f"cache {self.folder} was written with other settings ("
                           + "; ".join(diff[:6]) + (" …" if len(diff) > 6 else "")
                           + "): invalidated, every chunk will be generated again")
                shutil.rmtree(self.folder)
        for stale in self.folder.glob(".*.tmp") if self.folder.exists() else ():
            stale.unlink(missing_ok=True)  # left by a write that was killed
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(manifest, {"hash": self.hash, "key": self.key})
        return message

    def load(self, chunk: Chunk) -> Optional[dict]:
        """The chunk's arrays and timings if it finished with this key, else None."""
        if not self.resume:
            return None
        meta_path = self.folder / f"{chunk.name}.json"
        data_path = self.folder / f"{chunk.name}.npz"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            log.warning("%s: unreadable chunk record; regenerating the chunk", meta_path)
            return None
        if meta.get("key") != self.hash:
            return None
        if not data_path.exists() or file_sha256(data_path) != meta.get("sha256"):
            log.warning("%s: truncated or corrupted (checksum mismatch); regenerating the chunk",
                        data_path)
            return None
        with np.load(data_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return {"arrays": arrays, "seconds": meta.get("seconds", {})}

    def save(self, chunk: Chunk, arrays: dict[str, np.ndarray], seconds: dict) -> None:
        data_path = self.folder / f"{chunk.name}.npz"
        atomic_savez(data_path, **arrays)
        atomic_write_json(self.folder / f"{chunk.name}.json",
                          {"key": self.hash, "sha256": file_sha256(data_path),
                           "chunk": [chunk.index, chunk.sample, chunk.start, chunk.stop],
                           "seconds": seconds})
