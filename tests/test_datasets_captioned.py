"""The captioned-videos reader: layout, resize/crop, caption alignment, frameskip, bad input.

The test videos carry their own identity in their pixels: in the centre square, six horizontal
bands hold the bits of the frame number (red channel) and of the video number (blue channel),
each 0 or 255, which h264 and GIF's 3-3-2 palette both keep. Decoding a clip's pixels therefore
says which video and which source frames the reader returned, independently of the reader.
"""

import json

import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import open_dataset
from vdbench.protocols.datasets.base import seeded_hash
from vdbench.protocols.datasets.captioned import CaptionedSelection, open_captioned
from tests.videos import write_video

BITS = 6
SIZE = 32
# (file, frames, height, width): landscape and portrait, mp4 and gif, all larger than SIZE.
VIDEOS = [("clips/v0.mp4", 20, 48, 80), ("clips/v1.gif", 18, 40, 64), ("v2.mp4", 24, 64, 96),
          ("clips/v3.mp4", 22, 80, 48), ("clips/v4.gif", 16, 36, 36)]


def encoded_frames(video: int, frames: int, h: int, w: int) -> np.ndarray:
    """uint8 [frames, h, w, 3]: bands in the centre square's rows encode (frame, video)."""
    out = np.zeros((frames, h, w, 3), np.uint8)
    side = min(h, w)
    top = (h - side) // 2
    edges = np.linspace(0, side, BITS + 1).round().astype(int) + top
    for t in range(frames):
        for b in range(BITS):
            rows = slice(edges[b], edges[b + 1])
            out[t, rows, :, 0] = 255 * (t >> b & 1)
            out[t, rows, :, 2] = 255 * (video >> b & 1)
    return out


def decode(clip: np.ndarray) -> tuple[list[int], set[int]]:
    """(frame number of each frame, video numbers seen) of a fitted [T, S, S, 3] clip."""
    size = clip.shape[1]
    rows = ((np.arange(BITS) + 0.5) * size / BITS).astype(int)
    bits = clip[:, rows, size // 2] > 127  # [T, BITS, 3]
    weights = 1 << np.arange(BITS)
    return [int(v) for v in bits[..., 0] @ weights], {int(v) for v in bits[..., 2] @ weights}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioned")
    folder = root / "validation"
    (folder / "clips").mkdir(parents=True)
    lines = []
    for v, (name, frames, h, w) in enumerate(VIDEOS):
        write_video(folder / name, encoded_frames(v, frames, h, w))
        lines.append(json.dumps({"video": name, "caption": f"video {v}", "id": v}))
    (folder / "captions.jsonl").write_text("\n".join(lines[:2]) + "\n\n" +
                                           "\n".join(lines[2:]) + "\n")
    embeddings = np.arange(len(VIDEOS), dtype=np.float16)[:, None, None] * np.ones((1, 3, 8))
    np.save(folder / "text_embeddings.npy", embeddings.astype(np.float16))
    return root


@pytest.fixture(scope="module")
def dataset(root):
    return open_dataset("captioned-videos", root, "validation", size=SIZE)


def test_layout_is_read_in_file_order(dataset):
    assert len(dataset) == len(VIDEOS)
    assert dataset.captions == [f"video {v}" for v in range(len(VIDEOS))]
    assert dataset.embeddings.shape == (5, 3, 8)
    described = dataset.describe()
    assert described["dataset"] == "captioned-videos" and described["embeddings"] == [5, 3, 8]
    assert "crop to 32x32" in described["resize"]


@pytest.mark.parametrize("v", range(len(VIDEOS)))
def test_every_format_and_shape_is_cropped_to_the_resolution(dataset, v):
    clip = dataset.clip(v)
    assert clip.shape == (VIDEOS[v][1], SIZE, SIZE, 3) and clip.dtype == np.uint8
    # The bands fill exactly the centre square: a squash or an off-centre crop would move them.
    assert decode(clip) == (list(range(VIDEOS[v][1])), {v})


def _check_alignment(selection, frameskip=1):
    """Each clip's pixels name the video whose caption and embedding go with it."""
    clips = np.concatenate(list(selection.batches(2)))
    positions = range(len(selection))
    captions, text = selection.captions(positions), selection.text(positions)
    assert text.dtype == np.float32 and text.shape == (len(selection), 3, 8)
    for k, clip in enumerate(clips):
        numbers, (video,) = decode(clip)
        assert captions[k] == f"video {video}" and np.all(text[k] == video)
        assert np.diff(numbers).tolist() == [frameskip] * (len(numbers) - 1)
        assert 0 <= numbers[0] <= VIDEOS[video][1] - (len(numbers) - 1) * frameskip - 1
    return clips


def test_captions_follow_the_seeded_selection(dataset):
    selection = dataset.select(4, frames=5, seed=3)
    assert isinstance(selection, CaptionedSelection) and len(selection) == 4
    _check_alignment(selection)


def test_captions_follow_draws_with_replacement(dataset):
    selection = dataset.select(9, frames=4, seed=1, replace=True)
    assert len(set(selection.indices.tolist())) < 9  # some video is drawn twice
    _check_alignment(selection)


def test_captioned_batches_pair_videos_with_their_captions(dataset):
    selection = dataset.select(5, frames=3, seed=8)
    batches = list(selection.captioned_batches(2))
    assert [len(b.videos) for b in batches] == [2, 2, 1]
    for batch in batches:
        assert len(batch.captions) == len(batch.videos) == len(batch.text)
        for clip, caption, row in zip(batch.videos, batch.captions, batch.text, strict=True):
            (video,) = decode(clip)[1]
            assert caption == f"video {video}" and np.all(row == video)


@pytest.mark.parametrize("frameskip", [1, 3])
def test_frameskip_windows_take_every_kth_frame_from_the_seeded_start(dataset, frameskip):
    frames, seed = 4, 7
    selection = dataset.select(5, frames=frames, seed=seed, frameskip=frameskip)
    clips = _check_alignment(selection, frameskip)
    for k, clip in enumerate(clips):
        video = int(selection.indices[k])
        span = (frames - 1) * frameskip + 1
        # The start, recomputed from the hash: uniform over the starts where the span fits.
        expected = int(seeded_hash(seed, 2, video, 0) % np.uint64(VIDEOS[video][1] - span + 1))
        assert decode(clip)[0] == [expected + frameskip * j for j in range(frames)]
    assert selection.describe()["frameskip"] == frameskip


def test_frameskip_too_long_for_a_video_names_it(dataset):
    with pytest.raises(InputError, match=r"v1\.gif: has 18 frames, 19 needed \(4 at frameskip 6\)"):
        list(dataset.select(5, frames=4, seed=0, frameskip=6).batches(5))


def _layout(tmp_path, lines, videos=("a.mp4", "b.mp4"), embeddings=None):
    """A split folder with placeholder video files (the checks here never decode them)."""
    folder = tmp_path / "validation"
    folder.mkdir()
    for name in videos:
        (folder / name).write_bytes(b"")
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")
    if embeddings is not None:
        np.save(folder / "text_embeddings.npy", embeddings)
    return tmp_path


GOOD = ['{"video": "a.mp4", "caption": "one"}', '{"video": "b.mp4", "caption": "two"}']


@pytest.mark.parametrize("line, message", [
    ('{"caption": "two"}', r'captions\.jsonl:2: "video" is missing'),
    ('{"video": "b.mp4"}', r'captions\.jsonl:2: "caption" is missing'),
    ('{"video": "b.mp4", "caption": 3}', r'captions\.jsonl:2: "caption" is not a string'),
    ('{"video": "c.mp4", "caption": "x"}', r"captions\.jsonl:2: video file .*c\.mp4 not found"),
    ('{"video": "b.mp4", "caption": "x"', r"captions\.jsonl:2: not valid JSON"),
    ('["b.mp4", "x"]', r"captions\.jsonl:2: expected a JSON object"),
])
def test_bad_caption_lines_name_the_file_and_line(tmp_path, line, message):
    root = _layout(tmp_path, [GOOD[0], line])
    with pytest.raises(InputError, match=message):
        open_captioned(root, "validation")


@pytest.mark.parametrize("embeddings, message", [
    (np.zeros((3, 4), np.float32), r"text_embeddings\.npy: has 3 rows.*2 captions"),
    (np.zeros((2, 4), np.int64), r"text_embeddings\.npy: expected float"),
    (np.zeros((2, 1, 1, 4), np.float32), r"text_embeddings\.npy: expected float"),
])
def test_bad_embeddings_name_the_file(tmp_path, embeddings, message):
    root = _layout(tmp_path, GOOD, embeddings=embeddings)
    with pytest.raises(InputError, match=message):
        open_captioned(root, "validation")


def test_missing_or_empty_captions_say_what_is_expected(tmp_path):
    with pytest.raises(InputError, match=r"nowhere: no such folder; expected .*captions\.jsonl"):
        open_dataset("captioned-videos", tmp_path / "nowhere", "validation")
    with pytest.raises(InputError, match=r"no captions\.jsonl; expected .*validation/captions"):
        open_dataset("captioned-videos", tmp_path, "validation")
    root = _layout(tmp_path, [""])
    with pytest.raises(InputError, match=r"captions\.jsonl: holds no captioned videos"):
        open_dataset("captioned-videos", root, "validation")


def test_split_folder_is_optional_and_embeddings_too(tmp_path):
    root = _layout(tmp_path, GOOD)
    dataset = open_captioned(root / "validation", "validation")  # captions.jsonl right there
    selection = dataset.select(2, seed=0)
    assert selection.captions([1, 0]) == ("two", "one") and selection.text([0]) is None
