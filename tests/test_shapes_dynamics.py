"""The shapes protocols' sprite-dynamics score on videos whose motion is known by construction
(rendered from sprites with hand-set paths), and on the real test clips."""

import numpy as np
import pytest

from vdbench.protocols.datasets.shapes import ShapesDataset, Sprite, render
from vdbench.protocols.shapes_consistency import context_consistency
from vdbench.protocols.shapes_dynamics import centroids, sprite_dynamics

FRAMES, SIZE = 16, 32


def video(*paths: np.ndarray, shape: str = "circle") -> np.ndarray:
    sprites = [Sprite(shape, colour, 4.0, p) for colour, p in enumerate(paths)]
    return render(sprites, FRAMES, SIZE)[None]


def line(start, velocity) -> np.ndarray:
    return np.asarray(start, float) + np.arange(FRAMES)[:, None] * np.asarray(velocity, float)


def test_centroid_finds_a_rendered_sprite_to_a_tenth_of_a_pixel():
    path = line((9.3, 11.6), (0.7, 0.45))
    centre, found = centroids(video(path))
    assert found[0, :, 0].all() and not found[0, :, 1:].any()
    np.testing.assert_allclose(centre[0, :, 0], path, atol=0.1)


@pytest.mark.parametrize("velocity", [(0.7, 0.4), (-1.2, 0.3), (0.0, -0.9)])
def test_constant_velocity_inside_the_frame_scores_one(velocity):
    v = video(line((16, 16), velocity))
    assert sprite_dynamics(v, v, 1)[0] == 1.0


def test_a_still_sprite_scores_zero_and_a_teleport_costs_two_steps():
    still = video(line((16, 16), (0, 0)))
    assert sprite_dynamics(still, still, 1)[0] == 0.0
    jump = line((8, 8), (0.8, 0.5))
    jump[9:] += (8.0, 0.0)  # a jump into frame 9: step 9 too long, step 10 changes velocity
    v = video(jump)
    assert sprite_dynamics(v, v, 1)[0] == pytest.approx(13 / 15)


def test_two_sprites_are_averaged_and_a_lost_one_counts_as_implausible():
    a, b = line((8, 8), (0.8, 0.5)), line((24, 24), (-0.6, 0.0))
    both = video(a, b)
    only_a = video(a, np.full((FRAMES, 2), -50.0))  # sprite b off the canvas: not drawn
    generated = both.copy()
    generated[:, 1:] = only_a[:, 1:]
    assert sprite_dynamics(both, both, 1)[0] == 1.0
    # sprite b is in the observed frame and never again: half of all steps fail
    assert sprite_dynamics(generated, both, 1)[0] == pytest.approx(0.5)


def test_the_steps_start_at_the_real_conditioning_frame():
    path = line((6, 10), (0.5, 0.5))
    real = video(path)
    moved = video(path + (10.0, 0.0))  # the generated video's own first frame is ignored
    fake = moved.copy()
    fake[:, 0] = real[:, 0]
    assert sprite_dynamics(moved, real, 1)[0] == sprite_dynamics(fake, real, 1)[0] \
        == pytest.approx(13 / 15)  # the first step jumps, the second changes velocity


def test_real_clips_score_high_repeat_and_fresh_sprites_low():
    test = ShapesDataset("test", 48, SIZE, FRAMES)
    real = np.stack([test.video(i) for i in range(48)])
    repeat = np.repeat(real[:, :1], FRAMES, axis=1)
    fresh = np.stack([ShapesDataset("train", 48, SIZE, FRAMES).video(i) for i in range(48)])
    dyn = {k: sprite_dynamics(v, real, 1).mean() for k, v in
           (("real", real), ("repeat", repeat), ("fresh", fresh))}
    cons = {k: np.mean(context_consistency(real, v, 1)) for k, v in
            (("real", real), ("repeat", repeat), ("fresh", fresh))}
    assert dyn["repeat"] == 0.0 and cons["repeat"] > cons["real"]  # what consistency misses
    assert dyn["real"] > 0.75 and dyn["fresh"] < 0.3 and cons["fresh"] < 0.3
