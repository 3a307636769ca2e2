import numpy as np
import pytest
from click.testing import CliRunner

from vdbench.protocols.datasets.shapes import BACKGROUND, PALETTE, ShapesDataset
from vdbench.cli import main


def test_deterministic_and_split_dependent():
    a, b = ShapesDataset("train", 5), ShapesDataset("train", 5)
    assert np.array_equal(a.video(3), b.video(3))
    assert not np.array_equal(a.video(3), ShapesDataset("test", 5).video(3))
    v = a.video(0)
    assert v.shape == (30, 32, 32, 3) and v.dtype == np.uint8
    assert np.array_equal(a.clip(0), v)
    sel = a.select(3, frames=16, seed=1)
    assert len(sel) == 3 and sel.clip(0).shape == (16, 32, 32, 3)


def test_sprites_move_stay_inside_and_keep_their_colours():
    d = ShapesDataset("test", 20, size=32)
    for i in range(20):
        sprites = d.sprites(i)
        assert 1 <= len(sprites) <= 3
        assert len({s.colour for s in sprites}) == len(sprites)
        for s in sprites:
            assert np.all(s.path >= s.radius - 1e-9) and np.all(s.path <= 32 - s.radius + 1e-9)
        assert any(np.abs(np.diff(s.path, axis=0)).sum() > 1 for s in sprites)
    v = d.video(0)
    # Fully covered pixels carry exactly a palette colour; the background dominates.
    colours = {tuple(c) for c in v.reshape(-1, 3)}
    assert tuple(BACKGROUND) in colours
    assert any(tuple(PALETTE[s.colour]) in colours for s in d.sprites(0))


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        ShapesDataset("val")
    with pytest.raises(IndexError):
        ShapesDataset("train", 2).video(2)


def test_cli_writes_array(tmp_path):
    out = tmp_path / "s.npy"
    res = CliRunner().invoke(main, ["data", "shapes", "--videos", "3", "--frames", "10", "-o",
                                    str(out)])
    assert res.exit_code == 0, res.output
    arr = np.load(out)
    assert arr.shape == (3, 10, 32, 32, 3)
    assert np.array_equal(arr[1], ShapesDataset("train", 3, frames=10).video(1))
