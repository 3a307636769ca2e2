"""Protocols of other papers' evaluation code, so that a number can sit beside theirs.

Each protocol records the code it follows (``Protocol.follows``: repository, file and line, at
the commits named in ``COMMITS``) and is checked against those values in
tests/test_protocols_literature.py. What the cited code leaves to chance (Python's ``random``
in data-loader workers, numpy's global generator), vdbench draws from the protocol's seed with
the hash of `protocols.datasets.base`, so a run is reproducible; the distribution is the
code's (the same range of offsets, the same frames).

The real clips of these protocols are picked by ``clip_order`` and cut by ``real_offsets``
(`real_clips`); a standalone generated set (`vdbench fvd --protocol`) is read from its first
frame (`generated_clips`), as StyleGAN-V reads a generated dataset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol
from vdbench.protocols.datasets.base import (Selection, VideoDataset, choose_indices,
                                             seeded_hash, window_span)

COMMITS = {
    "universome/stylegan-v": "3fecd69",
    "wilson1yan/VideoGPT": "733d2b1",
    "google-research/magvit": "05e8cfd",
    "google-research/fitvid": "6bacb06",
}

# The FVD each family computes: its parity mode (vdbench.metrics.compat: that implementation's
# preprocessing and statistics on the TF-Hub I3D).
STYLEGAN_V_FVD = "fvd_stylegan_v"
VIDEOGPT_FVD = "fvd_videogpt_per_draw"

SGV = "universome/stylegan-v"
SGV_MAIN = f"{SGV} src/metrics/metric_main.py"
SGV_FVD = f"{SGV} src/metrics/frechet_video_distance.py"
SGV_UTILS = f"{SGV} src/metrics/metric_utils.py"
SGV_DATA = f"{SGV} src/training/dataset.py"
SGV_ISV = f"{SGV} src/metrics/video_inception_score.py"

# Smoke size on data made in code (procedural sprites at 32x32): `vdbench run NAME --preset
# quick` needs no download; its numbers are labelled quick and never comparable.
QUICK_SHAPES = dict(dataset="shapes", split="test", resolution=32, fit="", num_clips=16,
                    samples_per_clip=1, sampling={"steps": 32})

_SGV_SHARED = (
    f"{SGV_UTILS}:222-224: real clips: min(len(dataset), max_real) videos",
    f"{SGV_UTILS}:230: the first num_items videos in the dataset's order (sorted folder "
    f"names, {SGV_DATA}:283,299); max_size=None, xflip=False ({SGV_MAIN}:116)",
    f"{SGV_FVD}:26-28: real clips load_n_consecutive=num_frames, subsample_factor, "
    "discard_short_videos=True",
    f"{SGV_DATA}:403,406: offset = random.randint(0, len - n*k + k - 1) (every start where "
    "the n frames every k-th fit), frames offset + arange(0, n*k, k)",
    f"{SGV_FVD}:38-40,45 and {SGV_UTILS}:309: generated clips from frame 0 (no random "
    "offset), times arange(0, n*k, k)",
    f"{SGV_DATA}:400: a generated video needs at least n*k frames (assertion)",
    f"{SGV_FVD}:23: I3D (TF-Hub port) resizes to 224 and rescales; {SGV_FVD}:54-56: "
    "||mu_g - mu_r||^2 + tr(S_g + S_r - 2 sqrtm(S_g S_r)) with scipy sqrtm",
)


def _stylegan_v_fvd(name: str, frames: int, frameskip: int, lines: str) -> Protocol:
    span_needed = frames * frameskip  # dataset.py:400: n*k frames, not the span (n-1)*k+1
    return Protocol(
        name=name, paper_section="StyleGAN-V (Skorokhodov et al., CVPR 2022): its FVD "
        f"protocol `{name}`", dataset="ucf101", split="all", resolution=256, frames=frames,
        context_frames=0, num_clips=2048, samples_per_clip=1, metrics=(STYLEGAN_V_FVD,),
        frameskip=frameskip, clip_order="first", real_offsets="random",
        generated_min_frames=span_needed,
        follows=(f"{SGV_MAIN}:{lines}: max_real=2048, num_gen=2048, num_frames={frames}"
                 + (f", subsample_factor={frameskip}" if frameskip > 1 else ""),) + _SGV_SHARED,
        notes="Unconditional; 2,048 real clips (the dataset's first 2,048 videos, each at a "
              "random offset drawn from the protocol seed) vs 2,048 generated. StyleGAN-V "
              f"drops real videos shorter than {span_needed} frames (dataset.py:323); vdbench "
              "refuses them with an error. Resolution: StyleGAN-V reads frames as stored "
              "(256x256 in its paper); the standalone command reads them as given. Data: the "
              "code applies to any video set (its paper: UCF-101, SkyTimelapse, FaceForensics, "
              "...); this preset reads all of UCF-101, `vdbench fvd --protocol` any dataset or "
              "videos.",
        quick=dict(QUICK_SHAPES, source_frames=max(2 * window_span(frames, frameskip), 30)))


FVD2048_16F = _stylegan_v_fvd("fvd2048_16f", 16, 1, "114-118")
FVD2048_128F = _stylegan_v_fvd("fvd2048_128f", 128, 1, "120-124")
FVD2048_128F_SUBSAMPLE8F = _stylegan_v_fvd("fvd2048_128f_subsample8f", 16, 8, "126-131")

ISV2048_UCF = Protocol(
    name="isv2048_ucf", paper_section="StyleGAN-V (Skorokhodov et al., CVPR 2022): its C3D "
    "Inception Score `isv2048_ucf`", dataset="ucf101", split="all", resolution=256, frames=16,
    context_frames=0, num_clips=2048, samples_per_clip=1, metrics=("is_c3d",),
    clip_order="first", real_offsets="random", generated_min_frames=16,
    follows=(f"{SGV_MAIN}:133-137: num_gen=2048, num_splits=10, backbone c3d_ucf101",
             f"{SGV_ISV}:17-19: C3D of TGANv2 fine-tuned on UCF-101 (torchscript port)",
             f"{SGV_ISV}:23,31: 16 frames, subsample_factor 1, generated from frame 0 "
             "(:29-30)",
             f"{SGV_ISV}:46-52: probabilities shuffled with RandomState(42), 10 splits of "
             "i*N//10, exp(mean KL) per split, mean and population std"),
    notes="Unconditional; C3D IS of 2,048 generated 16-frame videos over 1 and 10 splits "
          "(is_c3d_10splits ± std is StyleGAN-V's figure). Differences: StyleGAN-V shuffles "
          "the 2,048 samples with RandomState(42) before splitting (video_inception_score.py:"
          "46); vdbench splits them in generation order. The real clips are unused by IS.",
    quick=dict(QUICK_SHAPES))

VGPT = "wilson1yan/VideoGPT"
BAIR_VIDEOGPT = Protocol(
    name="bair-videogpt", paper_section="VideoGPT (Yan et al. 2021), BAIR FVD",
    dataset="bair", split="test", resolution=64, frames=16, context_frames=1,
    num_clips=256, samples_per_clip=10, metrics=(VIDEOGPT_FVD,),
    clip_order="first", real_offsets="random-but-last",
    sampling={},
    follows=(f"{VGPT} scripts/compute_fvd.py:47,88: one trial = one batch of 256 test clips "
             "(the whole BAIR test set)",
             f"{VGPT} scripts/compute_fvd.py:92-96: 256 samples, each conditioned on its real "
             "clip (n_cond_frames=1 for bair_gpt, README.md:114; videogpt/gpt.py:85)",
             f"{VGPT} scripts/compute_fvd.py:119: FVD of the 16 generated vs the 16 real "
             "frames (conditioning frame on both sides)",
             f"{VGPT} scripts/compute_fvd.py:58-66,127: --n_trials trials (default 1); mean "
             "and np.std (population) over trials",
             f"{VGPT} videogpt/data.py:163: start = randint(0, len - 16) with numpy's "
             "exclusive bound: every start where 16 frames fit but the last",
             f"{VGPT} videogpt/data.py:89-101: 64x64 (BAIR's native size, no resize)",
             f"{VGPT} videogpt/fvd/fvd.py:5-10,57: resize to 224, [-1, 1]; unbiased "
             "covariance; SVD square roots (:18-27)"),
    notes="256 real test clips (16 frames at a random start, the last start excluded) vs 256 "
          "samples conditioned on their first frame, one FVD per trial, mean ± std over "
          "trials (fvd_per_draw_mean / _std; a trial is every clip's s-th sample). 10 trials is "
          "vdbench's choice: VideoGPT's script takes the count as --n_trials (default 1); "
          "change it with --samples-per-clip (labelled custom). Difference: VideoGPT redraws "
          "the real clips' starts in every trial; vdbench draws one start per clip from the "
          "seed and keeps it across trials.",
    quick=dict(QUICK_SHAPES, samples_per_clip=2, source_frames=30))

MAGVIT = "google-research/magvit"
MAGVIT_CFG = f"{MAGVIT} videogvt/configs/maskgvt_ucf101_config.py"
UCF101_MAGVIT = Protocol(
    name="ucf101-magvit", paper_section="MAGVIT (Yu et al., CVPR 2023), UCF-101 "
    "class-conditional FVD", dataset="ucf101", split="train", resolution=128, fit="crop",
    frames=16, context_frames=0, num_clips=10000, samples_per_clip=4,
    metrics=("fvd_per_draw",), clip_order="cycled",
    follows=(f"{MAGVIT_CFG}:23: the train split of UCF-101 split 1, 9,537 videos",
             f"{MAGVIT_CFG}:38,50-53: 16 frames, stride 1, 128x128: short side resized to "
             "128, centre crop 128",
             f"{MAGVIT_CFG}:65: class-conditional (the label of the real clip)",
             f"{MAGVIT_CFG}:117-120: FVD on the train split, 10,000 examples, 4 repeats at "
             "the final evaluation",
             f"{MAGVIT} videogvt/train_lib/eval_utils.py:158-189: 10,000 x 4 clips from the "
             "train iterator (an epoch-wise shuffled loop over 9,537 videos)",
             f"{MAGVIT} videogvt/train_lib/frechet_distance.py:188-195: one FVD per repeat "
             "(generated vs the real clips of that repeat), mean and np.std over repeats",
             f"{MAGVIT} videogvt/train_lib/frechet_distance.py:113-120: I3D input resized to "
             "224, scaled to [-1, 1]",
             f"{MAGVIT} videogvt/train_lib/metrics_lib.py resize_bilinear: TF1's "
             "align_corners=False resize (the reference's); frechet_distance.py "
             "frechet_distance_from_logits: TF-GAN's distance; so vdbench's FVD (--compat tf)"),
    notes="10,000 real training clips (seeded shuffled passes over the 9,537 videos, each a "
          "seeded 16-frame window) and 4 samples each; one FVD per repeat, mean ± std "
          "(fvd_per_draw). Differences: MAGVIT's 4 repeats take 4 x 10,000 different real "
          "clips from its iterator, vdbench compares each repeat with the same 10,000; "
          "vdbench's generator request carries no class label, so a class-conditional model "
          "must read it from the clip (user generators).",
    quick=dict(QUICK_SHAPES, samples_per_clip=2))

FITVID = "google-research/fitvid"
BAIR_FITVID = Protocol(
    name="bair-fitvid", paper_section="FitVid (Babaeizadeh et al. 2021), BAIR FVD",
    dataset="bair", split="test", resolution=64, frames=16, context_frames=1, num_clips=256,
    samples_per_clip=1, metrics=("fvd",), fvd_exclude_context=True,
    follows=(f"{FITVID} train.py:97-99: FVD of the predicted frames only: out_video[:, "
             "n_past-1:] vs video[:, n_past:] (context excluded on both sides)",
             f"{FITVID} eval.py:67 and train.py:175-192: 256 test videos, FVD of each batch "
             "of --batch_size, mean over batches",
             f"{FITVID} train.py:51-52: --n_past/--n_future flags (BAIR: 1 observed frame, as "
             "vdbench's BAIR protocol; 16 frames)",
             f"{FITVID} metrics.py:69-73,99-104: frames resized to 224 (tf.image.resize), "
             "TF-Hub I3D, TF-GAN Fréchet distance"),
    notes="The 256 BAIR test clips (frames 0-15), one sample each from the first frame; FVD "
          "of the 15 predicted frames vs the 15 real ones. Difference: FitVid averages FVDs "
          "of batches of --batch_size; vdbench pools the 256 (equal when the batch is 256).",
    quick=dict(QUICK_SHAPES))

LITERATURE: tuple[Protocol, ...] = (FVD2048_16F, FVD2048_128F, FVD2048_128F_SUBSAMPLE8F,
                                    ISV2048_UCF, BAIR_VIDEOGPT, UCF101_MAGVIT, BAIR_FITVID)


def window_frames(protocol: Protocol, start: int) -> np.ndarray:
    """Source frame indices of a window starting at ``start``: every ``frameskip``-th."""
    return start + np.arange(protocol.frames) * protocol.frameskip


def offset_choices(protocol: Protocol, length: int) -> int:
    """How many starts a real clip of a ``length``-frame video may take (its offsets are
    0 .. choices-1): every start where the window fits, less the last for "random-but-last"."""
    fits = length - window_span(protocol.frames, protocol.frameskip) + 1
    return fits - 1 if protocol.real_offsets == "random-but-last" else fits


def cycled_indices(total: int, n: int, seed: int) -> np.ndarray:
    """``n`` videos of ``total`` as an epoch-wise shuffled loader gives them: pass e is the
    permutation of all videos by hash(seed, e, video); passes follow each other until ``n``.
    Sorted (reading stays sequential); a video appears once per pass it is taken in."""
    if total < 1:
        raise InputError("cannot draw clips from an empty dataset")
    passes, rest = divmod(n, total)
    out = [np.arange(total)] * passes
    if rest:
        keys = seeded_hash(seed, 3, passes, np.arange(total))
        out.append(np.argsort(keys, kind="stable")[:rest])
    return np.sort(np.concatenate(out or [np.zeros(0, np.int64)])).astype(np.int64)


class ProtocolSelection(Selection):
    """A protocol's clips: windows drawn from the seed as ``real_offsets`` says (real), or from
    frame 0 of videos at least ``min_length`` frames long (generated)."""

    def __init__(self, dataset: VideoDataset, indices: np.ndarray, protocol: Protocol,
                 seed: Optional[int], min_length: int = 0, role: str = "real"):
        super().__init__(dataset, indices, protocol.frames, seed, False, protocol.frameskip)
        self.protocol, self.min_length, self.role = protocol, min_length, role

    def _window_start(self, length: int, video: int, occurrence: int) -> int:
        need = max(self.min_length, window_span(self.protocol.frames, self.frameskip))
        if length < need:
            every = (f"every {self.frameskip}-th frame" if self.frameskip > 1
                     else "consecutive frames")
            raise InputError(f"{self.dataset.locate(video)}: has {length} frames; protocol "
                             f"{self.protocol.name} reads {self.protocol.frames} {every} of "
                             f"{self.role} videos at least {need} frames long")
        if self.seed is None:
            return 0
        choices = max(offset_choices(self.protocol, length), 1)
        return int(seeded_hash(self.seed, 2, video, occurrence) % np.uint64(choices))

    def describe(self) -> dict:
        return {**super().describe(), "clip_order": self.protocol.clip_order,
                "real_offsets": self.protocol.real_offsets, "role": self.role}


def real_indices(protocol: Protocol, total: int, seed: Optional[int]) -> np.ndarray:
    """The videos ``protocol`` evaluates, as ``clip_order`` picks them."""
    n = protocol.num_clips
    if protocol.clip_order == "first":
        if n > total:
            raise InputError(f"protocol {protocol.name} takes the first {n} videos; the "
                             f"dataset has {total}")
        return np.arange(n, dtype=np.int64)
    if protocol.clip_order == "cycled":
        return cycled_indices(total, n, protocol.seed)
    return choose_indices(total, n, seed)


def real_clips(dataset: VideoDataset, protocol: Protocol, reader_seed: Optional[int]
               ) -> Selection:
    """The real clips of ``protocol`` from ``dataset``: videos by ``clip_order``, windows by
    ``real_offsets`` (both from the reader's seed where the protocol leaves them open)."""
    try:
        indices = real_indices(protocol, len(dataset), reader_seed)
    except InputError as err:
        raise InputError(f"{dataset.name}: {err}") from None
    if not protocol.real_offsets:
        return Selection(dataset, indices, protocol.frames, reader_seed,
                         frameskip=protocol.frameskip)
    return ProtocolSelection(dataset, indices, protocol, protocol.seed)


def generated_clips(dataset: VideoDataset, protocol: Protocol) -> Selection:
    """A standalone generated set as the protocol reads it: its first ``num_samples`` videos,
    each from frame 0, every ``frameskip``-th frame; shorter videos are refused."""
    n = protocol.num_samples
    if len(dataset) < n:
        raise InputError(f"{dataset.name}: {len(dataset)} generated videos; protocol "
                         f"{protocol.name} compares {n}")
    return ProtocolSelection(dataset, np.arange(n, dtype=np.int64), protocol, None,
                             protocol.generated_min_frames, "generated")


def check_real_count(dataset: VideoDataset, protocol: Protocol) -> None:
    if protocol.clip_order != "cycled" and len(dataset) < protocol.num_clips:
        raise InputError(f"{dataset.name}: {len(dataset)} real videos; protocol "
                         f"{protocol.name} compares {protocol.num_clips}")


class FrameFolderVideos(VideoDataset):
    """A folder or .zip of per-video frame folders (StyleGAN-V's layout) as a dataset."""

    def __init__(self, path: Path):
        from vdbench.protocols.datasets.generic import open_source

        self.source = open_source(path)
        self.path, self.name = Path(path), str(path)

    def __len__(self) -> int:
        return len(self.source.videos)

    def locate(self, i: int) -> str:
        return self.source.videos[i].where

    def _read(self, i: int) -> np.ndarray:
        return next(self.iter_clips([i]))

    def iter_clips(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        from vdbench.protocols.datasets.frames import decode_frames
        from vdbench.protocols.datasets.generic import MAX_PIXELS_ENV, max_video_pixels

        open_frame, archive = self.source._opener()
        try:
            for i in indices:
                yield decode_frames(self.source.videos[int(i)], open_frame, max_video_pixels(),
                                    MAX_PIXELS_ENV)
        finally:
            if archive is not None:
                archive.close()

    def data_files(self, indices: Sequence[int]) -> tuple[Path, list[Path]]:
        if not self.path.is_dir():
            return self.path.parent, [self.path]
        return self.path, [Path(f) for i in indices for f in self.source.videos[int(i)].frames]


def open_input(path: str | Path) -> VideoDataset:
    """Videos given on the command line as a dataset: an array, video files, or frame folders
    (a folder or a .zip)."""
    from vdbench.protocols.datasets import frames
    from vdbench.protocols.datasets.generic import open_videos

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if frames.is_frame_folders(p) or p.suffix.lower() == ".zip":
        return FrameFolderVideos(p)
    return open_videos(p)


def for_dataset(protocol: Protocol, dataset: str, split: str) -> Protocol:
    """``protocol`` on another dataset (StyleGAN-V's protocols apply to any video set): the
    reader's own frame fitting; labelled custom where the paper preset named another."""
    if dataset == protocol.dataset:
        return protocol
    preset = "custom" if protocol.preset == "paper" else protocol.preset
    return dataclasses.replace(protocol, dataset=dataset, split=split, fit="", preset=preset)


__all__ = ["LITERATURE", "COMMITS", "real_clips", "generated_clips", "open_input",
           "window_frames", "offset_choices", "cycled_indices"]
