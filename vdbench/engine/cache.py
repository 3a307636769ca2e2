"""The resumable chunk cache of a run: finished chunks on disk, verified before reuse.

Layout: ``CACHE/<run name>/manifest.json`` (the key: protocol, preset, model identity, sampler
settings, seeds, chunk size, data description, feature networks and their weights, the code
digest) and, per finished chunk, ``<chunk>.npz`` (uint8 samples and features) and
``<chunk>.json`` (the key's hash, the npz's sha256, the fingerprint of the data files the chunk
read, timings). A chunk whose data files changed since (size or modification time) is
regenerated. Both are written
atomically, the npz first: a chunk counts as finished only when its JSON exists, names this key
and its npz has the recorded checksum. A truncated or altered npz is reported and regenerated,
never used; a chunk of other settings is never mixed in.

Each npz also holds its own identity (``__chunk__``: index, sample, start, stop; ``__key__``: the
key's hash), checked against the chunk asked for and the manifest's key on every load: a chunk
file moved or swapped on disk (with or without its JSON) is reported by name and regenerated.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vdbench.engine.chunks import Chunk
from vdbench.util.atomic import atomic_savez, atomic_write_json
from vdbench.util.hashing import file_sha256

log = logging.getLogger(__name__)

IDENTITY, KEY = "__chunk__", "__key__"  # npz members naming the chunk and run that wrote it


def chunk_identity(chunk: Chunk) -> list[int]:
    return [chunk.index, chunk.sample, chunk.start, chunk.stop]


def _read_npz(data_path: Path) -> tuple[str, Optional[dict[str, np.ndarray]]]:
    """(sha256 of the bytes, their arrays or None if unreadable): the file is read once, so the
    arrays used are the bytes whose checksum was checked."""
    raw = data_path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            return digest, {k: z[k] for k in z.files}
    except Exception:  # truncated or altered: zip, npy header or pickle refusal
        return digest, None


def _identity_problem(arrays: dict[str, np.ndarray], chunk: Chunk, key: str) -> Optional[str]:
    """Why the npz's own identity is not ``chunk`` of run ``key``, or None when it is."""
    ident, stored_key = arrays.get(IDENTITY), arrays.get(KEY)
    if ident is None or stored_key is None:
        return "records no chunk identity"
    if ident.shape != (4,) or ident.tolist() != chunk_identity(chunk):
        return f"holds chunk {ident.tolist()} (index, sample, start, stop), not {chunk.name}"
    if stored_key.shape != () or str(stored_key) != key:
        return "was written for another run key"
    return None


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

    def __init__(self, folder: str | Path, key: dict, resume: bool,
                 data: Optional[Callable[[Chunk], str]] = None):
        self.folder, self.key, self.resume = Path(folder), key, resume
        self.hash = key_hash(key)
        self.data = data or (lambda chunk: "")  # chunk → fingerprint of the files it reads

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
        if meta.get("data", "") != self.data(chunk):
            log.warning("%s: the data files this chunk read changed since it was cached; "
                        "regenerating the chunk", meta_path)
            return None
        if meta.get("chunk") != chunk_identity(chunk):
            log.warning("%s: records chunk %s, not %s (moved or swapped file); regenerating "
                        "the chunk", meta_path, meta.get("chunk"), chunk.name)
            return None
        arrays = self._verified_arrays(chunk, data_path, meta)
        if arrays is None:
            return None
        return {"arrays": arrays, "seconds": meta.get("seconds", {})}

    def _verified_arrays(self, chunk: Chunk, data_path: Path,
                         meta: dict) -> Optional[dict[str, np.ndarray]]:
        """The npz's arrays (identity members removed) if its checksum and identity hold."""
        if not data_path.exists():
            log.warning("%s: missing; regenerating the chunk", data_path)
            return None
        digest, arrays = _read_npz(data_path)
        problem = _identity_problem(arrays, chunk, self.hash) if arrays is not None else None
        if problem is not None:
            log.warning("%s: %s (moved or swapped file); regenerating the chunk", data_path,
                        problem)
            return None
        if arrays is None or digest != meta.get("sha256"):
            log.warning("%s: truncated or corrupted (checksum mismatch); regenerating the chunk",
                        data_path)
            return None
        return {k: v for k, v in arrays.items() if k not in (IDENTITY, KEY)}

    def save(self, chunk: Chunk, arrays: dict[str, np.ndarray], seconds: dict) -> None:
        data_path = self.folder / f"{chunk.name}.npz"
        if IDENTITY in arrays or KEY in arrays:
            raise ValueError(f"chunk arrays may not be named {IDENTITY} or {KEY}")
        identity = {IDENTITY: np.asarray(chunk_identity(chunk), dtype=np.int64),
                    KEY: np.asarray(self.hash)}
        atomic_savez(data_path, **arrays, **identity)
        atomic_write_json(self.folder / f"{chunk.name}.json",
                          {"key": self.hash, "sha256": file_sha256(data_path),
                           "chunk": chunk_identity(chunk), "data": self.data(chunk),
                           "seconds": seconds})
