"""The clips and windows each protocol evaluates, pinned: a change to which clips (or which
windows) a seed selects fails here, even one that keeps every statistical property the other
selection tests check (nesting, uniformity, distinct seeds).

How the fixtures were produced (once, by hand): every protocol of `PROTOCOLS` was opened through
`open_protocol_data` / `reference_data` (the code the runner calls) on `Tagged`, a dataset whose
video ``i`` has ``70 + 7i mod 23`` frames and stores ``i`` and each frame's number in its pixels,
so that reading a selected clip reveals which video it is and where its window starts. The
(video, window start) pairs of the quick preset on 200 videos are written out below; the paper
preset (up to 50,000 clips of 60,000 videos) is pinned by count and SHA-256 of the pairs.

Why this is an independent check: `test_fixtures_follow_the_documented_rule` recomputes every
pinned pair with a pure-Python SplitMix64 (Python integers, no numpy, no argsort) from the rule
stated in `protocols.datasets.base`: without replacement the ``n`` videos with the smallest
``hash(seed, 0, i)``, ascending; with replacement draw ``k`` is ``hash(seed, 1, k) mod total``;
the window of the ``j``-th occurrence of video ``i`` starts at ``hash(seed, 2, i, j) mod
(length - span + 1)``; and from `open_protocol_data`'s documented protocol: the ground truth is
the conditioning clips themselves, or (with replacement, [33, 14]) a draw with ``seed + 1``; an
unconditional reference takes ``reference_clips`` with the same seed; fixed-clip datasets (BAIR,
shapes) take the first ``n`` videos from frame 0.
"""

import dataclasses
import functools
import hashlib
import json

import numpy as np
import pytest

from vdbench.engine import protocol_data
from vdbench.protocols.datasets import READERS, Reader
from vdbench.protocols.datasets.base import VideoDataset, window_span
from vdbench.protocols.registry import PROTOCOLS

QUICK_SIZE, PAPER_SIZE = 200, 60_000
M64 = (1 << 64) - 1


class Tagged(VideoDataset):
    """Video ``i``: ``base + 7i mod 23`` frames of one pixel (frame number, i mod 256, i // 256)."""

    name = "tagged"
    base = 70

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    @classmethod
    def length(cls, i: int) -> int:
        return cls.base + (i * 7) % 23

    def _read(self, i: int) -> np.ndarray:
        video = np.zeros((self.length(i), 1, 1, 3), np.uint8)
        video[:, 0, 0, 0] = np.arange(self.length(i))
        video[:, 0, 0, 1], video[:, 0, 0, 2] = i % 256, i // 256
        return video


def _views(selection) -> list[tuple[int, int]]:
    """(video, first frame of its window) of every clip of a selection, read from the pixels."""
    return [(int(c[0, 0, 0, 1]) + 256 * int(c[0, 0, 0, 2]), int(c[0, 0, 0, 0]))
            for c in selection.iter_clips(range(len(selection)))]


def _open_all(protocol, with_replacement: bool, size: int) -> dict[str, list]:
    """Every selection the runner makes for ``protocol`` on a Tagged dataset of ``size``."""
    protocol = dataclasses.replace(protocol, with_replacement=with_replacement)
    original = Reader.open_for
    Reader.open_for = lambda self, p, data_dir, split: Tagged(size)  # type: ignore[assignment]
    try:
        clips, truth = protocol_data.open_protocol_data(protocol, "unused")
        refs = protocol_data.reference_data(protocol, "unused")
    finally:
        Reader.open_for = original  # type: ignore[method-assign]
    return {"clips": _views(clips), "truth": _views(truth),
            **{split: _views(r) for split, r in refs.items()}}


def _cases():
    """Protocols choosing clips by the reader's rule (those with their own clip order or window
    offsets, after other papers' code, are pinned in tests/test_protocols_literature.py)."""
    return [(name, repl) for name, p in PROTOCOLS.items() if p.dataset in READERS
            and not (p.clip_order or p.real_offsets)
            for repl in ((False, True) if p.replacement_variant else (False,))]


# ---- the pinned selections -------------------------------------------------------------------

QUICK = {
    ("bair-fitvid", False): {
        "clips":
            [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10,
            0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0)],
        "truth": "clips",
    },
    ("bair", False): {
        "clips":
            [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10,
            0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0)],
        "truth": "clips",
    },
    ("kinetics600", False): {
        "clips":
            [(0, 39), (1, 30), (3, 27), (6, 51), (9, 45), (11, 19), (15, 34), (24, 1), (25, 41),
            (28, 21), (31, 6), (34, 5), (37, 4), (41, 4), (42, 11), (50, 40), (54, 45), (58, 61),
            (61, 60), (64, 13), (71, 50), (73, 4), (74, 4), (77, 23), (84, 45), (85, 65), (86,
            57), (90, 18), (91, 51), (92, 15), (95, 4), (98, 58), (103, 22), (104, 27), (111, 72),
            (112, 41), (113, 56), (117, 49), (118, 16), (121, 42), (122, 41), (123, 58), (124, 4),
            (127, 38), (132, 43), (143, 12), (144, 2), (146, 14), (148, 23), (151, 63), (157, 12),
            (159, 13), (164, 44), (168, 18), (173, 10), (174, 65), (175, 50), (179, 39), (180,
            23), (181, 21), (183, 47), (189, 54), (190, 21), (194, 17)],
        "truth": "clips",
    },
    ("kinetics600", True): {
        "clips":
            [(1, 30), (8, 40), (11, 19), (13, 71), (16, 38), (17, 10), (24, 1), (28, 21), (32, 6),
            (33, 2), (34, 5), (38, 0), (44, 63), (45, 9), (48, 23), (52, 4), (55, 28), (57, 53),
            (58, 61), (59, 47), (64, 13), (65, 23), (80, 16), (81, 69), (82, 20), (85, 65), (87,
            54), (96, 50), (96, 37), (96, 50), (97, 26), (98, 58), (105, 45), (108, 14), (123,
            58), (123, 49), (128, 35), (128, 55), (132, 43), (137, 2), (138, 11), (139, 58), (143,
            12), (146, 14), (147, 0), (147, 0), (148, 23), (149, 47), (150, 9), (150, 34), (151,
            63), (153, 50), (157, 12), (157, 33), (163, 54), (170, 26), (172, 25), (178, 30),
            (181, 21), (182, 42), (188, 19), (192, 40), (193, 11), (197, 4)],
        "truth":
            [(5, 52), (5, 20), (9, 24), (14, 42), (15, 49), (17, 57), (18, 50), (19, 33), (22,
            31), (25, 60), (26, 52), (28, 7), (29, 73), (32, 14), (33, 11), (41, 31), (48, 42),
            (53, 34), (54, 55), (63, 22), (68, 2), (76, 56), (78, 66), (79, 27), (84, 7), (85,
            56), (86, 27), (89, 22), (89, 0), (89, 19), (92, 50), (97, 50), (97, 2), (103, 44),
            (107, 0), (110, 13), (111, 4), (116, 1), (120, 64), (121, 39), (122, 2), (126, 51),
            (127, 20), (131, 61), (132, 15), (133, 12), (134, 10), (134, 51), (135, 24), (135,
            46), (137, 21), (146, 52), (146, 59), (148, 47), (153, 18), (154, 40), (157, 36),
            (164, 23), (168, 32), (170, 45), (175, 47), (181, 30), (182, 54), (184, 27)],
    },
    ("ucf101", False): {
        "clips":
            [(0, 39), (1, 30), (3, 27), (6, 51), (9, 45), (11, 19), (15, 34), (24, 1), (25, 41),
            (28, 21), (31, 6), (34, 5), (37, 4), (41, 4), (42, 11), (50, 40), (54, 45), (58, 61),
            (61, 60), (64, 13), (71, 50), (73, 4), (74, 4), (77, 23), (84, 45), (85, 65), (86,
            57), (90, 18), (91, 51), (92, 15), (95, 4), (98, 58), (103, 22), (104, 27), (111, 72),
            (112, 41), (113, 56), (117, 49), (118, 16), (121, 42), (122, 41), (123, 58), (124, 4),
            (127, 38), (132, 43), (143, 12), (144, 2), (146, 14), (148, 23), (151, 63), (157, 12),
            (159, 13), (164, 44), (168, 18), (173, 10), (174, 65), (175, 50), (179, 39), (180,
            23), (181, 21), (183, 47), (189, 54), (190, 21), (194, 17)],
        "truth": "clips",
    },
    ("ucf101-tgan2", False): {
        "clips":
            [(15, 34), (24, 1), (28, 21), (54, 45), (85, 65), (86, 57), (90, 18), (104, 27), (117,
            49), (121, 42), (123, 58), (144, 2), (148, 23), (173, 10), (181, 21), (183, 47)],
        "truth":
            [(0, 39), (1, 30), (3, 27), (6, 51), (9, 45), (11, 19), (15, 34), (24, 1), (25, 41),
            (28, 21), (31, 6), (34, 5), (37, 4), (41, 4), (42, 11), (50, 40), (54, 45), (58, 61),
            (61, 60), (64, 13), (71, 50), (73, 4), (74, 4), (77, 23), (84, 45), (85, 65), (86,
            57), (90, 18), (91, 51), (92, 15), (95, 4), (98, 58), (103, 22), (104, 27), (111, 72),
            (112, 41), (113, 56), (117, 49), (118, 16), (121, 42), (122, 41), (123, 58), (124, 4),
            (127, 38), (132, 43), (143, 12), (144, 2), (146, 14), (148, 23), (151, 63), (157, 12),
            (159, 13), (164, 44), (168, 18), (173, 10), (174, 65), (175, 50), (179, 39), (180,
            23), (181, 21), (183, 47), (189, 54), (190, 21), (194, 17)],
    },
    ("text2video", False): {
        "clips":
            [(0, 39), (1, 30), (9, 45), (11, 19), (15, 34), (24, 1), (28, 21), (37, 4), (50, 40),
            (54, 45), (61, 60), (74, 4), (84, 45), (85, 65), (86, 57), (90, 18), (91, 51), (104,
            27), (112, 41), (117, 49), (118, 16), (121, 42), (123, 58), (124, 4), (144, 2), (146,
            14), (148, 23), (164, 44), (173, 10), (181, 21), (183, 47), (190, 21)],
        "truth": "clips",
        "train": "clips",
    },
    ("extension", False): {
        "clips":
            [(28, 4), (54, 8), (85, 2), (86, 10), (90, 2), (121, 22), (144, 14), (183, 0)],
        "truth": "clips",
    },
    ("shapes", False): {
        "clips":
            [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10,
            0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0)],
        "truth": "clips",
    },
    ("shapes-extension", False): {
        "clips":
            [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10,
            0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0)],
        "truth": "clips",
    },
    ("shapes-uncond", False): {
        "clips":
            [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10,
            0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0), (16, 0), (17, 0), (18, 0), (19, 0),
            (20, 0), (21, 0), (22, 0), (23, 0), (24, 0), (25, 0), (26, 0), (27, 0), (28, 0), (29,
            0), (30, 0), (31, 0), (32, 0), (33, 0), (34, 0), (35, 0), (36, 0), (37, 0), (38, 0),
            (39, 0), (40, 0), (41, 0), (42, 0), (43, 0), (44, 0), (45, 0), (46, 0), (47, 0), (48,
            0), (49, 0), (50, 0), (51, 0), (52, 0), (53, 0), (54, 0), (55, 0), (56, 0), (57, 0),
            (58, 0), (59, 0), (60, 0), (61, 0), (62, 0), (63, 0)],
        "truth": "clips",
    },
}

PAPER = {
    ("bair-fitvid", False): {
        "clips": (256, "5d2392f4305d7059"),
        "truth": (256, "5d2392f4305d7059"),
    },
    ("bair", False): {
        "clips": (256, "5d2392f4305d7059"),
        "truth": (256, "5d2392f4305d7059"),
    },
    ("kinetics600", False): {
        "clips": (50000, "ab4dc96a37af52f5"),
        "truth": (50000, "ab4dc96a37af52f5"),
    },
    ("kinetics600", True): {
        "clips": (50000, "46ca8580d7841db4"),
        "truth": (50000, "2afe99ec099b6cf3"),
    },
    ("ucf101", False): {
        "clips": (10000, "53d47e1320af19bb"),
        "truth": (10000, "53d47e1320af19bb"),
    },
    ("ucf101-tgan2", False): {
        "clips": (2048, "939ec3acad8bd6d9"),
        "truth": (10000, "53d47e1320af19bb"),
    },
    ("text2video", False): {
        "clips": (4096, "8c2e609fceb9fedb"),
        "truth": (4096, "8c2e609fceb9fedb"),
        "train": (4096, "8c2e609fceb9fedb"),
    },
    ("extension", False): {
        "clips": (4096, "d2a34d16358e1618"),
        "truth": (4096, "d2a34d16358e1618"),
    },
    ("shapes", False): {
        "clips": (256, "5d2392f4305d7059"),
        "truth": (256, "5d2392f4305d7059"),
    },
    ("shapes-extension", False): {
        "clips": (256, "5d2392f4305d7059"),
        "truth": (256, "5d2392f4305d7059"),
    },
    ("shapes-uncond", False): {
        "clips": (256, "5d2392f4305d7059"),
        "truth": (256, "5d2392f4305d7059"),
    },
}


def _expand(pinned: dict) -> dict:
    return {k: pinned["clips"] if v == "clips" else v for k, v in pinned.items()}


def _digest(pairs: list) -> str:
    return hashlib.sha256(json.dumps([list(p) for p in pairs]).encode()).hexdigest()[:16]


def test_every_protocol_is_pinned():
    assert sorted(QUICK) == sorted(PAPER) == sorted(_cases())


@pytest.mark.parametrize("name,with_replacement", _cases())
def test_quick_preset_selects_the_pinned_clips_and_windows(name, with_replacement):
    protocol = PROTOCOLS[name].with_preset("quick")
    assert _open_all(protocol, with_replacement, QUICK_SIZE) == \
        {k: [tuple(p) for p in v] for k, v in _expand(QUICK[name, with_replacement]).items()}


@pytest.mark.parametrize("name,with_replacement", _cases())
def test_paper_preset_selects_the_pinned_clips_and_windows(name, with_replacement):
    got = _open_all(PROTOCOLS[name].with_preset("paper"), with_replacement, PAPER_SIZE)
    assert {k: (len(v), _digest(v)) for k, v in got.items()} == PAPER[name, with_replacement]


# ---- the independent recomputation of the fixtures --------------------------------------------

def _mix(z: int) -> int:
    """SplitMix64's finaliser on a Python integer (Steele et al. 2014; Vigna's splitmix64.c)."""
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _hash(*parts: int) -> int:
    h = 0
    for part in parts:
        h = _mix(h ^ part)
    return h


@functools.lru_cache(maxsize=None)
def _ranked(seed: int, total: int) -> tuple[int, ...]:
    """Video indices by ascending hash key (ties by index)."""
    return tuple(sorted(range(total), key=lambda i: (_hash(seed, 0, i), i)))


def _rule(total: int, n: int, seed, replace: bool, frames: int, frameskip: int = 1) -> list:
    """The (video, window start) pairs the documented rule gives (module docstring)."""
    if seed is None:
        return [(i, 0) for i in range(n)]
    if replace:
        videos = sorted(_hash(seed, 1, k) % total for k in range(n))
    else:
        videos = list(range(n)) if n == total else sorted(_ranked(seed, total)[:n])
    span, seen, out = window_span(frames, frameskip), {}, []
    for i in videos:
        occurrence = seen[i] = seen.get(i, -1) + 1
        out.append((i, _hash(seed, 2, i, occurrence) % (Tagged.length(i) - span + 1)))
    return out


def _documented(protocol, with_replacement: bool, total: int) -> dict[str, list]:
    seed = protocol.seed if READERS[protocol.dataset].seeded else None
    pick = functools.partial(_rule, total, frames=protocol.frames,
                             frameskip=protocol.frameskip)
    if with_replacement:
        return {"clips": pick(protocol.num_clips, seed, True),
                "truth": pick(protocol.num_clips, seed + 1, True)}
    clips = pick(protocol.num_clips, seed, False)
    truth = pick(protocol.reference_clips, seed, False) if protocol.reference_clips else clips
    return {"clips": clips, "truth": truth,
            **{split: pick(min(protocol.num_clips, total), seed, False)
               for split in protocol.reference_splits}}


@pytest.mark.parametrize("name,with_replacement", _cases())
def test_fixtures_follow_the_documented_rule(name, with_replacement):
    quick = _documented(PROTOCOLS[name].with_preset("quick"), with_replacement, QUICK_SIZE)
    assert quick == {k: [tuple(p) for p in v]
                     for k, v in _expand(QUICK[name, with_replacement]).items()}
    paper = _documented(PROTOCOLS[name].with_preset("paper"), with_replacement, PAPER_SIZE)
    assert {k: (len(v), _digest(v)) for k, v in paper.items()} == PAPER[name, with_replacement]
