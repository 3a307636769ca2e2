"""`vdbench data shapes`: write the procedural sprites dataset as a uint8 array."""

from __future__ import annotations

import click

from vdbench.protocols.datasets import get_reader


@click.group()
def data():
    """Datasets that vdbench can make itself (no downloads)."""


@data.command("shapes")
@click.option("--split", type=click.Choice(get_reader("shapes").splits), default="train")
@click.option("--videos", default=2000, type=click.IntRange(min=1), help="Number of videos.")
@click.option("--size", default=32, type=click.IntRange(min=8), help="Height = width.")
@click.option("--frames", default=30, type=click.IntRange(min=1), help="Frames per video.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Destination .npy (uint8 [N, T, H, W, 3]).")
def shapes(split, videos, size, frames, output):
    """Moving coloured sprites (a BAIR-shaped stand-in, never called BAIR)."""
    import numpy as np
    from tqdm.auto import tqdm

    from vdbench.util.atomic import atomic_path
    from vdbench.protocols.datasets.shapes import ShapesDataset

    dataset = ShapesDataset(split, videos, size, frames)
    with atomic_path(output) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                        shape=(videos, frames, size, size, 3))
        for i in tqdm(range(videos), desc=f"shapes/{split}", unit="video"):
            out[i] = dataset.video(i)
        out.flush()
        del out
    click.echo(f"wrote {output}: {videos} {split} videos of {frames}×{size}×{size}")
