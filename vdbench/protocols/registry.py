"""The benchmark protocols by name, each as the paper defines it (paper preset)."""

from __future__ import annotations

from vdbench.metrics.errors import InputError
from vdbench.protocols.base import Protocol

QUICK = dict(num_clips=16, samples_per_clip=4, steps=32, corrector_steps=0)

BAIR = Protocol(
    name="bair", paper_section="4.2 (BAIR Robot Pushing), Table 2", dataset="bair",
    split="test", resolution=64, frames=16, context_frames=1, num_clips=256,
    samples_per_clip=100, metrics=("fvd",), sampler="langevin", steps=256, corrector_steps=1,
    guidance_weight=50.0, conditioning="reconstruction", paper_table="2",
    notes="FVD of 100×256 samples vs the 256 real 16-frame test clips, pooled; the "
          "conditioning frame is included on both sides. Per-trajectory mean FVD is secondary. "
          "Camera image_aux1.",
    quick=dict(QUICK, corrector_steps=1),
)

KINETICS600 = Protocol(
    name="kinetics600", paper_section="4.2 (Kinetics-600), Table 3", dataset="kinetics600",
    split="test", resolution=64, frames=16, context_frames=5, num_clips=50000,
    samples_per_clip=1, metrics=("fvd", "is_i3d"), seed=0, sampler="langevin", steps=128,
    corrector_steps=1, guidance_weight=9.0, conditioning="reconstruction", paper_table="3",
    notes="50,000 test clips drawn with a fixed seed without replacement; the same random "
          "16-frame subsequence conditions the model and defines the ground truth. Option "
          "--with-replacement reproduces the evaluation of [33, 14] (FVD 16.2 → 16.9 in the paper).",
    quick=dict(QUICK, samples_per_clip=1, num_clips=64, corrector_steps=1),
)

UCF101 = Protocol(
    name="ucf101", paper_section="4.1, Table 1", dataset="ucf101", split="train",
    resolution=64, frames=16, context_frames=0, num_clips=10000, samples_per_clip=1,
    metrics=("fid_c3d", "is_c3d"), sampler="ancestral", steps=256, paper_table="1",
    notes="Unconditional 16×64×64; 10,000 samples; C3D (TGANv2) FID and IS; real statistics "
          "from the 13,320 training videos (TFDS loader, no further processing).",
    quick=dict(QUICK, num_clips=64, samples_per_clip=1),
)

TEXT2VIDEO = Protocol(
    name="text2video", paper_section="4.3, Tables 4-5", dataset="captioned-videos",
    split="validation", resolution=64, frames=16, context_frames=0, num_clips=4096,
    samples_per_clip=1, metrics=("fvd", "fid_avg", "is_avg", "fid_first", "is_first"),
    sampler="ancestral", steps=256, paper_table="4,5", reference_splits=("train",),
    notes="4,096 samples; FID/FVD against training and validation references; IS over 1 and "
          "10 splits; guidance weight and frameskip are parameters. The paper's 10M captioned "
          "videos are not public: bring your own captioned set.",
    quick=dict(QUICK, num_clips=32, samples_per_clip=1),
)

EXTENSION = Protocol(
    name="extension", paper_section="4.3.3, Table 6", dataset="captioned-videos",
    split="validation", resolution=64, frames=64, context_frames=0, num_clips=4096,
    samples_per_clip=1, metrics=("fvd", "fid_avg", "is_avg", "fid_first", "is_first"),
    sampler="ancestral", steps=256, guidance_weight=2.0, conditioning="reconstruction",
    paper_table="6",
    notes="64-frame videos by block-autoregressive extension of a 16-frame model; replacement "
          "vs reconstruction guidance compared on the same seeds.",
    quick=dict(QUICK, num_clips=8, samples_per_clip=1),
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (BAIR, KINETICS600, UCF101, TEXT2VIDEO,
                                                       EXTENSION)}


def get_protocol(name: str, preset: str = "paper") -> Protocol:
    try:
        base = PROTOCOLS[name]
    except KeyError:
        raise InputError(f"unknown protocol {name!r}; expected one of {sorted(PROTOCOLS)}") \
            from None
    return base.with_preset(preset)

SHAPES = Protocol(
    name="shapes", paper_section="mirrors 4.2 (BAIR) on procedural sprites (not BAIR)",
    dataset="shapes", split="test", resolution=32, frames=16, context_frames=1, num_clips=256,
    samples_per_clip=100, metrics=("fvd", "context_consistency"), sampler="langevin",
    steps=256, corrector_steps=1, guidance_weight=50.0, conditioning="reconstruction",
    paper_table="", mirrors_table="2", seed=0,
    notes="1 → 15 frames at 32×32, like BAIR's protocol; FVD pooled over samples × clips with "
          "the conditioning frame on both sides, plus context consistency of colours/areas.",
    # Quick: 16 clips × 2 samples so that `make demo` (run + a two-way compare) stays well
    # under 15 minutes on a 2-core CPU.
    quick=dict(num_clips=16, samples_per_clip=2, steps=32, corrector_steps=1),
)
PROTOCOLS[SHAPES.name] = SHAPES

SHAPES_EXTENSION = Protocol(
    name="shapes-extension", paper_section="mirrors 4.3.3 / Table 6 on procedural sprites",
    dataset="shapes", split="test", resolution=32, frames=64, context_frames=1, num_clips=256,
    samples_per_clip=1, metrics=("fvd", "context_consistency"), sampler="ancestral", steps=256,
    guidance_weight=50.0, conditioning="reconstruction", paper_table="", mirrors_table="6",
    seed=0,
    notes="64-frame videos from a 16-frame model by block-autoregressive extension (8 frames of "
          "context per block) from 1 observed frame; replacement vs reconstruction guidance.",
    quick=dict(num_clips=16, samples_per_clip=1, steps=32),
)
PROTOCOLS[SHAPES_EXTENSION.name] = SHAPES_EXTENSION

SHAPES_UNCOND = Protocol(
    name="shapes-uncond", paper_section="mirrors 4.3.1 / Table 4 (joint training) on procedural "
    "sprites", dataset="shapes", split="test", resolution=32, frames=16, context_frames=0,
    num_clips=256, samples_per_clip=1, metrics=("fvd",), sampler="ancestral", steps=256,
    conditioning="none", paper_table="", mirrors_table="4", seed=0,
    notes="16 frames from noise (no context), FVD against the test clips: the setting of the "
          "paper's joint image-video training ablation, where models trained with and without "
          "appended image frames are compared on the same seeds.",
    quick=dict(num_clips=64, samples_per_clip=1, steps=32),
)
PROTOCOLS[SHAPES_UNCOND.name] = SHAPES_UNCOND

ORACLE = Protocol(
    name="oracle", paper_section="3.1 (replacement vs reconstruction guidance), exact",
    dataset="gaussian-oracle", split="-", resolution=8, frames=8, context_frames=4, num_clips=1,
    samples_per_clip=1024, metrics=("mean_rel", "cov_fro", "var_bin"), sampler="ancestral",
    steps=256, guidance_weight=2.0, conditioning="all", seed=0,
    notes="The analytic Gaussian video oracle (3×8×8×8): conditional samples of every "
          "conditioning method (extension: frames 0-3 given; interpolation: 0,2,4,6 given) "
          "against the exact p(x^b|x^a). No data, no weights; seconds to minutes on a CPU.",
    quick=dict(samples_per_clip=256, steps=64),
)
PROTOCOLS[ORACLE.name] = ORACLE
