"""An FVD parity mode (vdbench.metrics.compat) applied to a computation: its I3D variant,
what a result records of it, and the refusals of inputs it cannot apply to (`vdbench fvd|stats
--compat`, vdbench.fvd(compat=...))."""

from __future__ import annotations

from pathlib import Path

from vdbench.metrics.compat import MODES, get_mode


def compat_network(compat: str, network: str = "i3d"):
    """The registered feature network of ``compat``; refused with `--network` other than
    i3d (the parity modes are FVD's, on I3D features)."""
    from vdbench.metrics.errors import InputError
    from vdbench.metrics.networks import get_network

    mode = get_mode(compat)
    if mode.name != "tf" and network != "i3d":
        raise InputError(f"--compat: {mode.name} is an FVD parity mode (I3D features); it "
                         f"does not apply to --network {network}")
    return get_network(mode.network)


def check_sides(compat: str, *sides) -> None:
    """Refuse a statistics file written under another parity mode (one line, naming the
    file, the mode it was written under and the option to use)."""
    from vdbench.engine.streaming import is_stats_file, stats_label
    from vdbench.metrics.errors import InputError
    from vdbench.metrics.networks import NETWORKS

    by_label = {NETWORKS[m.network].network_label: m.name for m in MODES.values()}
    for side in sides:
        if not isinstance(side, (str, Path)) or not is_stats_file(side):
            continue
        found = by_label.get(stats_label(side) or "")
        if found is not None and found != compat:
            raise InputError(f"{side}: statistics written under --compat {found}; this run "
                             f"uses --compat {compat} (make them again with `vdbench stats "
                             f"--compat {compat}`, or pass --compat {found})")


def compat_record(compat: str) -> dict:
    """What a result records of its parity mode."""
    return {"compat": compat, "compat_mode": get_mode(compat).record()}


def preprocessing_of(network) -> str:
    """The preprocessing a result records for ``network`` (the reference's text for i3d)."""
    if not network.parity:
        from vdbench.metrics.fvd import PREPROCESSING

        return PREPROCESSING
    from vdbench.metrics.compat_i3d import preprocessing_label

    return preprocessing_label(network.parity)


def infinity_refusal(metric_name: str):
    """Why FVD∞ is withdrawn for ``metric_name`` (a parity mode's statistics are not the ones
    its fit uses), or None."""
    from vdbench.metrics.registry import FrechetDistance, get_metric

    metric = get_metric(metric_name)
    return metric.infinity_refusal() if isinstance(metric, FrechetDistance) else None


def compat_inception_score(network):
    """The real-data Inception Score `vdbench stats` stores: of ``network``'s logits (a parity
    mode's I3D variant: the Kinetics IS of its own preprocessing's logits)."""
    import dataclasses

    from vdbench.metrics.networks import Array, base_network
    from vdbench.metrics.registry import inception_score_of

    score = inception_score_of(base_network(network.name))
    if not network.parity:
        return score
    return dataclasses.replace(score, array=Array(network.name, logits=True))


def check_stats_format(compat: str, stats_format: str) -> None:
    """Refuse `--format mu-sigma` under a mode whose covariance needs the count (÷n): such a
    file could never be read back under that mode."""
    from vdbench.metrics.errors import InputError

    if stats_format == "mu-sigma" and get_mode(compat).statistics.covariance != "n-1":
        raise InputError(f"--format mu-sigma: --compat {compat} divides its covariance by the "
                         "count, which mu/sigma files do not hold; use --format vdbench")
