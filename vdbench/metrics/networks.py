"""Feature networks by name: the one registry the runner, the standalone commands and the CLI read.

A feature network turns uint8 videos [B, T, H, W, 3] into one row of features per video, and
class logits where the network has a classifier (Inception Scores). A *paired* scorer instead
scores each generated video against its real clip (e.g. the shapes protocol's context
consistency). Entries name their implementation as "module:callable", imported only when an
extractor is made, so that listing the registry (CLI choices, help) loads no weights and no torch.

Adding a network: its own file with an extractor class, plus one ``register_network`` line below.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Optional, Protocol, runtime_checkable

import numpy as np

from vdbench.metrics.compat import MODES
from vdbench.metrics.errors import InputError
from vdbench.metrics.named import get_named, register_named


@runtime_checkable
class FeatureExtractor(Protocol):
    """What every feature network exposes (metrics/fvd.py, c3d.py, inception.py implement it)."""

    network: str  # label written into statistics files and records
    preprocessing: str  # how pixels reach the network (part of what the numbers mean)
    dim: int  # feature dimension
    # file name → sha256 of the weights loaded; None where unknown (a model handed in memory)
    weights_sha256: Optional[dict[str, str]]

    def __call__(self, videos, value_range: Optional[str] = None) -> np.ndarray:
        """uint8 (or declared float) videos [B, T, H, W, 3] → features [B, dim]."""

    def features_and_logits(self, videos, value_range: Optional[str] = None
                            ) -> tuple[np.ndarray, np.ndarray]:
        """(features [B, dim], class logits [B, classes]) from one pass."""


@dataclass(frozen=True)
class FeatureNetwork:
    """One registered network; ``name`` is also the name of its feature array."""

    name: str  # "i3d", "c3d", "inception_avg", ...
    family: str  # what `--network` selects ("inception" covers two frame modes)
    help: str
    factory: str  # "module:callable"(device=, weights=, **options) → extractor
    label: str  # "module:attribute" holding the network label (a str, or a callable(options))
    options: tuple[tuple[str, Any], ...] = ()  # fixed keyword arguments of the factory
    frame_mode: str = ""  # the `--frame-mode` value selecting this entry in its family
    logits_are_features: bool = False  # I3D: the FVD features are the 400 class logits
    paired: bool = False  # scores (videos, real, context_frames) → [B], not videos → [B, D]
    # whether the real clips have a value of their own (a paired score of a real clip against
    # itself: the shapes consistency, yes; PSNR of a clip against itself, no: not computed)
    real_side: bool = True
    fetch: str = ""  # "module:callable"(force=) that puts the weights into the cache
    cache_files: str = ""  # "module:callable"() → the weights files in the cache (doctor)
    # an FVD parity mode's I3D variant (metrics/compat.py): chosen by `--compat`, not `--network`
    parity: str = ""

    def make(self, device: str = "cpu", weights: Optional[str] = None):
        """The extractor, with its weights loaded (fetched into the cache on first use), in
        float32 with TF32 off (vdbench.metrics.precision)."""
        from vdbench.metrics.precision import check_float32, exact_float32

        exact_float32()
        extractor = _resolve(self.factory)(device=device, weights=weights, **dict(self.options))
        check_float32(extractor, self.name)
        return extractor

    @property
    def network_label(self) -> str:
        """The label written into (and checked in) statistics files; loads no weights."""
        value = _resolve(self.label)
        return value(**dict(self.options)) if callable(value) else str(value)

    @property
    def feature_dim(self) -> Optional[int]:
        """The dimension of the features, as the extractor class declares it (None if not)."""
        dim = getattr(_resolve(self.factory), "dim", None)
        return dim if isinstance(dim, int) else None

    @property
    def preprocessing(self) -> Optional[str]:
        """How pixels reach the network, as the extractor class declares it (None if not)."""
        found = getattr(_resolve(self.factory), "preprocessing", None)
        return found if isinstance(found, str) else None

    def logits_key(self) -> str:
        return self.name if self.logits_are_features else f"{self.name}_logits"


@dataclass(frozen=True)
class Array:
    """A per-video array a metric reads: a registered network's features (or class logits), of
    whole videos or of the frames after the conditioning frames."""

    network: str
    logits: bool = False
    after_context: bool = False

    @property
    def key(self) -> str:
        net = get_network(self.network)
        key = net.logits_key() if self.logits else net.name
        return f"{key}_after_context" if self.after_context else key


def network_arrays(extractor, network: str, keys: Collection[str], videos: np.ndarray,
                   real: Optional[np.ndarray] = None, context_frames: int = 0,
                   value_range: Optional[str] = None) -> dict[str, np.ndarray]:
    """The arrays among ``keys`` that ``network`` yields for one batch of videos (one pass of
    the network per frame range; logits only where asked for). ``real``: the real clips of
    the batch, for paired scorers."""
    net, out = get_network(network), {}
    if net.paired:
        if net.name in keys:
            out[net.name] = extractor.score(videos, real, context_frames)
        return out
    for after_context in (False, True):
        feats_key = Array(network, after_context=after_context).key
        logits_key = Array(network, True, after_context).key
        if feats_key not in keys and logits_key not in keys:
            continue
        x = videos[:, context_frames:] if after_context else videos
        if logits_key not in keys or logits_key == feats_key:
            out[feats_key] = extractor(x, value_range=value_range)
        else:
            out[feats_key], out[logits_key] = extractor.features_and_logits(x, value_range)
    return {k: v for k, v in out.items() if k in keys}


def _resolve(ref: str):
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


NETWORKS: dict[str, FeatureNetwork] = {}


def register_network(network: FeatureNetwork) -> FeatureNetwork:
    return register_named(NETWORKS, network.name, network, "feature network")


def get_network(name: str) -> FeatureNetwork:
    return get_named(NETWORKS, name, "feature network")


def base_network(name: str) -> str:
    """The network whose weights ``name`` runs: "i3d" for a parity mode's I3D variant (which
    may therefore be computed wherever I3D is), else ``name`` itself."""
    return MODES["tf"].network if get_network(name).parity else name


def video_networks(parity: bool = False) -> list[FeatureNetwork]:
    """Networks of videos (not paired scorers); ``parity``: with the parity modes' I3D
    variants, which `--network` does not offer (`--compat` selects them)."""
    return [n for n in NETWORKS.values() if not n.paired and (parity or not n.parity)]


def families() -> list[str]:
    """The `--network` choices, in registration order."""
    return list(dict.fromkeys(n.family for n in video_networks()))


def frame_modes() -> list[str]:
    """The `--frame-mode` choices (networks of one family that differ by frames used)."""
    return list(dict.fromkeys(n.frame_mode for n in video_networks() if n.frame_mode))


def by_family(family: str, frame_mode: str = "") -> FeatureNetwork:
    """The network `--network FAMILY [--frame-mode MODE]` selects."""
    members = [n for n in video_networks() if n.family == family]
    if not members:
        raise InputError(f"--network: unknown network {family!r}; expected one of "
                         f"{', '.join(families())}")
    chosen = [n for n in members if n.frame_mode == frame_mode] if len(members) > 1 else members
    if not chosen:
        modes = ", ".join(n.frame_mode for n in members)
        raise InputError(f"--frame-mode: {family} takes one of {modes}, got {frame_mode!r}")
    return chosen[0]


def by_label(label: str) -> FeatureNetwork:
    """The network whose statistics carry ``label`` (as `vdbench stats` writes it)."""
    for network in video_networks(parity=True):
        if network.network_label == label:
            return network
    raise InputError(f"statistics of network {label!r}, which no registered network produces")


def weights_families() -> list[str]:
    """The families whose weights live in the cache (`vdbench doctor`): the video networks',
    and the paired scorers' that have weights (LPIPS)."""
    return list(dict.fromkeys(n.family for n in NETWORKS.values() if n.cache_files))


def weights_files(family: str) -> list:
    """The paths ``family``'s weights have in the cache (`vdbench doctor`); [] if it has none."""
    network = next((n for n in NETWORKS.values() if n.family == family and n.cache_files), None)
    return list(_resolve(network.cache_files)()) if network else []


def fetch_weights(family: str, force: bool = False):
    """Put ``family``'s weights into the cache (`vdbench weights fetch`); returns their path."""
    network = next((n for n in video_networks() if n.family == family and n.fetch), None)
    if network is None:
        raise InputError(f"{family}: no weights to fetch")
    return _resolve(network.fetch)(force=force)


register_network(FeatureNetwork(
    "i3d", "i3d", "I3D Kinetics-400 logits (FVD; Kinetics IS)", "vdbench.metrics.fvd:I3DFeatures",
    "vdbench.metrics.fvd:NETWORK", logits_are_features=True,
    fetch="vdbench.metrics.i3d_weights:fetch_i3d_weights",
    cache_files="vdbench.metrics.i3d_weights:cache_files"))
register_network(FeatureNetwork(
    "c3d", "c3d", "C3D fc7 and UCF101 logits (TGANv2's UCF101 FID/IS)",
    "vdbench.metrics.c3d:C3DFeatures", "vdbench.metrics.c3d:NETWORK",
    fetch="vdbench.metrics.c3d_weights:fetch_c3d_weights",
    cache_files="vdbench.metrics.c3d_weights:cache_files"))
register_network(FeatureNetwork(
    "inception_avg", "inception", "Inception pool3 and logits of frames (text-to-video FID/IS)",
    "vdbench.metrics.inception:InceptionFeatures", "vdbench.metrics.inception:network_name",
    options=(("frames", "avg"),), frame_mode="avg",
    fetch="vdbench.metrics.inception_weights:fetch_inception_weights",
    cache_files="vdbench.metrics.inception_weights:cache_files"))
register_network(FeatureNetwork(
    "inception_first", "inception", "Inception pool3 and logits of frames (text-to-video FID/IS)",
    "vdbench.metrics.inception:InceptionFeatures", "vdbench.metrics.inception:network_name",
    options=(("frames", "first"),), frame_mode="first",
    fetch="vdbench.metrics.inception_weights:fetch_inception_weights",
    cache_files="vdbench.metrics.inception_weights:cache_files"))
register_network(FeatureNetwork(
    "psnr", "psnr", "prediction protocols: PSNR of each generated frame vs the ground truth",
    "vdbench.metrics.prediction:PSNRScore", "vdbench.metrics.prediction:PSNR_LABEL",
    paired=True, real_side=False))
register_network(FeatureNetwork(
    "ssim", "ssim", "prediction protocols: SSIM of each generated frame vs the ground truth",
    "vdbench.metrics.prediction:SSIMScore", "vdbench.metrics.prediction:SSIM_LABEL",
    paired=True, real_side=False))
register_network(FeatureNetwork(
    "lpips", "lpips", "prediction protocols: LPIPS (v0.1, AlexNet) of each generated frame vs "
    "the ground truth", "vdbench.metrics.lpips:LPIPSScore", "vdbench.metrics.lpips:LPIPS_LABEL",
    paired=True, real_side=False, cache_files="vdbench.metrics.lpips_weights:cache_files"))
# The parity modes' I3D variants (their names and modes: vdbench.metrics.compat.MODES).
for _mode in [m for m in MODES.values() if m.network != "i3d"]:
    register_network(FeatureNetwork(
        _mode.network, _mode.network, f"I3D Kinetics-400 logits after {_mode.name}'s FVD "
        "preprocessing (TF-Hub weights; `--compat`)",
        "vdbench.metrics.compat_i3d:CompatI3DFeatures", "vdbench.metrics.compat_i3d:network_label",
        options=(("mode", _mode.name),), logits_are_features=True, parity=_mode.name,
        fetch="vdbench.metrics.i3d_weights:fetch_i3d_weights",
        cache_files="vdbench.metrics.i3d_weights:cache_files"))
