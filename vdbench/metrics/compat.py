"""FVD parity modes: how other widely used FVD implementations compute the number, by name.

Each mode describes one implementation's pipeline, with the file and function each part comes
from: how frames are resized and scaled before the I3D, which I3D port it runs, how the
covariance is normalised and how the matrix square root is taken. ``tf`` is the reference
(google-research/frechet_video_distance + TF-GAN), i.e. plain `vdbench fvd`.

What a mode here reproduces: the implementation's preprocessing (vdbench.metrics
.compat_preprocess) and its statistics (vdbench.metrics.compat_frechet), run on *our* I3D (the
TF-Hub i3d-kinetics-400/1 weights, vdbench.metrics.i3d_weights). What it does not: the
implementation's own weights file (StyleGAN-V's ``i3d_torchscript.pt``, VideoGPT's
``i3d_pretrained_400.pt``), which cannot be fetched here; the network-port difference is
therefore not measured (``network_port`` says what they run).

Adding a mode: a ``ParityMode`` below, a preprocessing in compat_preprocess.PREPROCESSORS, a
``register_network`` line (networks.py) and a ``register_metric`` line (registry.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from vdbench.metrics.named import get_named, register_named


@dataclass(frozen=True)
class Source:
    """Where a part of a pipeline is written: repository, file, function (and commit read)."""

    repo: str
    path: str
    function: str
    commit: str = ""

    def __str__(self) -> str:
        at = f"@{self.commit[:7]}" if self.commit else ""
        return f"{self.repo}{at}:{self.path}:{self.function}"


@dataclass(frozen=True)
class Preprocessing:
    """How uint8 frames reach the I3D."""

    key: str  # compat_preprocess.PREPROCESSORS entry
    resize: str
    scaling: str
    clip_handling: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Statistics:
    """How the Gaussian statistics and the Fréchet distance are computed."""

    covariance: str  # "n-1" (unbiased) or "n" (maximum likelihood): compat_frechet.COVARIANCES
    sqrt: str  # compat_frechet.SQRTS: "tf-gan-svd" or "scipy-sqrtm"
    precision: str  # what they compute in; here always float64 from streamed sums
    sources: tuple[Source, ...]
    float32: bool = False  # theirs computes the distance in float32 (here: float64)


@dataclass(frozen=True)
class ParityMode:
    """One FVD implementation's pipeline, and the names it runs under here."""

    name: str  # the `--compat` value
    metric: str  # the registered metric (vdbench.metrics.registry) computing this mode's FVD
    network: str  # the registered feature network (vdbench.metrics.networks)
    summary: str
    preprocessing: Preprocessing
    statistics: Statistics
    network_port: str  # which I3D weights the implementation itself runs
    here: str = ("our I3D (TF-Hub i3d-kinetics-400/1 weights, converted) with this "
                 "implementation's preprocessing and statistics")

    def record(self) -> dict:
        """The descriptor as JSON-able fields (written into results)."""
        out = asdict(self)
        for part in ("preprocessing", "statistics"):
            out[part]["sources"] = [str(s) for s in getattr(self, part).sources]
        return out


TF_FVD = "google-research/google-research"
TF_GAN = "tensorflow/gan"
SGV = "universome/stylegan-v"
SGV_COMMIT = "1f630af59d8f34a4a70417abc412c1c7c3b0d97c"
VGPT = "wilson1yan/VideoGPT"
VGPT_COMMIT = "733d2b1541e166d7f29df514c7d196c768011dd2"

TF_STATISTICS = Statistics(
    covariance="n-1", sqrt="tf-gan-svd", precision="float64 (TF-GAN casts to float64)",
    sources=(Source(TF_GAN, "tensorflow_gan/python/eval/classifier_metrics.py",
                    "frechet_classifier_distance_from_activations, trace_sqrt_product, "
                    "_symmetric_matrix_square_root"),))

MODES: dict[str, ParityMode] = {}


def register_mode(mode: ParityMode) -> ParityMode:
    return register_named(MODES, mode.name, mode, "parity mode")


def get_mode(name: str) -> ParityMode:
    return get_named(MODES, name, "parity mode", "--compat: ")


def mode_names() -> list[str]:
    """The `--compat` choices, the reference first."""
    return list(MODES)


def metric_of_mode() -> dict[str, str]:
    """Parity mode → the registered metric computing its FVD (the one map between them)."""
    return {m.name: m.metric for m in MODES.values()}


def mode_of_network(network: str) -> str:
    """The parity mode whose I3D variant ``network`` is ("" if none)."""
    return next((m.name for m in MODES.values() if m.network == network), "")


register_mode(ParityMode(
    name="tf", metric="fvd", network="i3d",
    summary="the reference: google-research/frechet_video_distance with TF-GAN's Fréchet "
            "distance (plain `vdbench fvd`)",
    preprocessing=Preprocessing(
        key="tf", resize="TF1 tf.image.resize_bilinear to 224x224, align_corners=False "
                         "(no half-pixel centres), every frame, aspect ratio not kept",
        scaling="2*x/255 - 1 (after the resize)",
        clip_handling="every frame of the clip as given",
        sources=(Source(TF_FVD, "frechet_video_distance/frechet_video_distance.py",
                        "preprocess, create_id3_embedding"),)),
    statistics=TF_STATISTICS,
    network_port="TF-Hub deepmind/i3d-kinetics-400/1 (the same weights as here)"))

register_mode(ParityMode(
    name="stylegan-v", metric="fvd_stylegan_v", network="i3d_stylegan_v",
    summary="StyleGAN-V (Skorokhodov et al. 2022) fvd2048_* metrics",
    preprocessing=Preprocessing(
        key="stylegan-v",
        resize="inside the torchscript I3D (resize=True): torch trilinear interpolation to "
               "[T, 224, 224], align_corners=False (half-pixel centres; frames kept), aspect "
               "ratio not kept",
        scaling="inside the torchscript I3D (rescale=True): x / 255 * 2 - 1, before the "
                "resize",
        clip_handling="frames as given (its dataset loader picks n consecutive frames at a "
                      "random offset: the protocol's job, not the metric's)",
        sources=(Source(SGV, "src/metrics/frechet_video_distance.py", "compute_fvd "
                        "(detector_kwargs rescale=True, resize=True, return_features=True)",
                        SGV_COMMIT),
                 Source(SGV, "src/metrics/metric_utils.py",
                        "compute_feature_stats_for_dataset (uint8 [b, c, t, h, w] to the "
                        "detector)", SGV_COMMIT),
                 Source("universome/fvd-comparison", "issues/4",
                        "the author on the torchscript's forward: rescale is x/255*2-1"))),
    statistics=Statistics(
        covariance="n", sqrt="scipy-sqrtm",
        precision="float64 sums of float32 features (as here)",
        sources=(Source(SGV, "src/metrics/metric_utils.py",
                        "FeatureStats.append, FeatureStats.get_mean_cov (raw_cov/n - mu mu^T)",
                        SGV_COMMIT),
                 Source(SGV, "src/metrics/frechet_video_distance.py",
                        "compute_fvd (scipy.linalg.sqrtm(sigma_gen @ sigma_real), real part "
                        "of the trace)", SGV_COMMIT))),
    network_port="i3d_torchscript.pt: a torchscript port of the TF-Hub module "
                 "(universome/fvd-comparison reports an L2 logit difference of 2.6e-4 and "
                 "FVD 10.138085 vs TF's 10.138085 on 2x128 random 16-frame clips); not "
                 "measured here: the file cannot be fetched offline"))

register_mode(ParityMode(
    name="videogpt", metric="fvd_videogpt", network="i3d_videogpt",
    summary="VideoGPT (Yan et al. 2021) scripts/compute_fvd.py (TATS's tats/fvd/fvd.py is "
            "said to copy it; not read here)",
    preprocessing=Preprocessing(
        key="videogpt",
        resize="per frame: x/255, torch bilinear interpolation (align_corners=False, no "
               "antialias) of the shorter side to 224, the other side to "
               "ceil(side*224/shorter), then a centre crop to 224x224 (aspect ratio kept)",
        scaling="(x/255 - 0.5) * 2 (the /255 before the resize)",
        clip_handling="every frame of the clip as given",
        sources=(Source(VGPT, "videogpt/fvd/fvd.py", "preprocess, get_fvd_logits",
                        VGPT_COMMIT),
                 Source(VGPT, "videogpt/data.py", "preprocess (resize, centre crop, -0.5)",
                        VGPT_COMMIT))),
    statistics=Statistics(
        covariance="n-1", sqrt="tf-gan-svd",
        precision="theirs: torch float32 (features, covariance, torch.svd); here float64",
        sources=(Source(VGPT, "videogpt/fvd/fvd.py",
                        "frechet_distance, cov (1/(n-1)), trace_sqrt_product, "
                        "_symmetric_matrix_square_root (TF-GAN's formula in torch)",
                        VGPT_COMMIT),),
        float32=True),
    network_port="i3d_pretrained_400.pt: the TF-Hub module converted "
                 "(videogpt/fvd/convert_tf_pretrained.py) into piergiaj's pytorch_i3d "
                 "layout (videogpt/fvd/pytorch_i3d.py); not measured here: the file cannot be "
                 "fetched offline"))
