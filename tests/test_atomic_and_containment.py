"""Issue 13, items 4, 5 and the video part of 2: atomic writes (an earlier file survives any
failure, no temp file is left), containment of files a dataset names, and video files that lie
(truncated, resolution changing mid-stream, more pixels than the cap)."""

from __future__ import annotations

import errno
import json
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from tests.videos import random_videos, write_video
from vdbench.cli import main
from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.captioned import open_captioned
from vdbench.protocols.datasets.generic import (DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV,
                                                decode_video, max_video_pixels)
from vdbench.util import atomic

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ---------------------------------------------------------------- atomic writes (item 5)

def _partial_write_array(fp, array, *args, **kwargs):
    """The real npy writer's place: write part of the data, then fail as a full disk does."""
    fp.write(b"\x93NUMPY partial")
    raise ENOSPC


WRITERS = {
    "npy": (lambda p: atomic.atomic_save_npy(p, np.arange(6.0)), lambda p: np.load(p).tolist()),
    "npz": (lambda p: atomic.atomic_savez(p, a=np.arange(6.0)),
            lambda p: np.load(p)["a"].tolist()),
    "json": (lambda p: atomic.atomic_write_json(p, {"new": 1}),
             lambda p: json.loads(p.read_text())),
    "text": (lambda p: atomic.atomic_write_text(p, "new text"), lambda p: p.read_text()),
}


def _earlier(path: Path, kind: str):
    """Write a valid earlier file of ``kind`` with plain writers; return how it reads."""
    if kind == "npy":
        np.save(path, np.array([7.0, 8.0]))
        return [7.0, 8.0]
    if kind == "npz":
        np.savez(path, a=np.array([7.0]))
        return [7.0]
    if kind == "json":
        path.write_text(json.dumps({"old": 0}))
        return {"old": 0}
    path.write_text("old text")
    return "old text"


@pytest.mark.parametrize("kind", sorted(WRITERS))
@pytest.mark.parametrize("failure", ["enospc_mid_write", "enospc_at_fsync", "rename_fails",
                                     "interrupt_mid_write"])
def test_failed_write_keeps_earlier_file_and_leaves_no_temp(tmp_path, monkeypatch, kind,
                                                            failure):
    path = tmp_path / f"out.{kind}"
    before = _earlier(path, kind)
    write, read = WRITERS[kind]
    if failure == "enospc_mid_write" or failure == "interrupt_mid_write":
        error = ENOSPC if failure == "enospc_mid_write" else KeyboardInterrupt()
        if kind in ("npy", "npz"):
            def partial(fp, array, *a, **k):
                fp.write(b"\x93NUMPY partial")
                raise error
            monkeypatch.setattr(np.lib.format, "write_array", partial)
        else:
            def partial_text(self, data, *a, **k):
                with open(self, "w") as f:
                    f.write(data[: len(data) // 2])
                raise error
            monkeypatch.setattr(Path, "write_text", partial_text)
    elif failure == "enospc_at_fsync":
        def no_space(fd):
            raise ENOSPC
        monkeypatch.setattr(atomic.os, "fsync", no_space)
    else:
        def no_rename(src, dst):
            raise OSError(errno.EXDEV, "rename failed")
        monkeypatch.setattr(atomic.os, "replace", no_rename)
    expected = KeyboardInterrupt if failure == "interrupt_mid_write" else OSError
    with pytest.raises(expected):
        write(path)
    monkeypatch.undo()
    assert read(path) == before
    assert _leftovers(tmp_path, {path.name}) == []


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_successful_write_replaces_file_and_leaves_no_temp(tmp_path, kind):
    path = tmp_path / "sub" / f"out.{kind}"
    write, read = WRITERS[kind]
    write(path)
    write(path)  # over an existing file too
    expected = {"npy": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "npz": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
                "json": {"new": 1}, "text": "new text"}[kind]
    assert read(path) == expected
    assert _leftovers(path.parent, {path.name}) == []


def test_temp_file_keeps_suffix_only_when_asked(tmp_path):
    seen = []
    for keep in (False, True):
        with atomic.atomic_path(tmp_path / "v.mp4", keep_suffix=keep) as tmp:
            seen.append(tmp.name)
            assert tmp.parent == tmp_path  # same folder: the rename is atomic
            tmp.write_bytes(b"x")
    assert seen[0].endswith(".tmp") and seen[1].endswith(".mp4")


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
@pytest.mark.parametrize("fail_after", [0, 2])
def test_video_write_failure_keeps_earlier_video(tmp_path, monkeypatch, suffix, fail_after):
    from vdbench.reporting.grid import write_video as write

    path = tmp_path / f"s{suffix}"
    write(random_videos(1, t=4, h=8, w=8, seed=1)[0], path)
    before = path.read_bytes()
    real, calls = av.VideoFrame.from_ndarray, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > fail_after:
            raise ENOSPC
        return real(*args, **kwargs)

    monkeypatch.setattr(av.VideoFrame, "from_ndarray", failing)
    with pytest.raises(OSError):
        write(random_videos(1, t=4, h=8, w=8, seed=2)[0], path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert decode_video(path).shape == (4, 8, 8, 3)
    assert _leftovers(tmp_path, {path.name}) == []


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_video_write_gives_the_frames_and_no_temp(tmp_path, suffix):
    from vdbench.reporting.grid import write_video as write

    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[1:] = 255
    write(frames, tmp_path / f"v{suffix}")
    decoded = decode_video(tmp_path / f"v{suffix}").astype(int)
    assert decoded.shape == (3, 8, 8, 3)
    assert np.abs(decoded - frames).max() <= 8  # lossy codecs, but black stays black etc.
    assert _leftovers(tmp_path, {f"v{suffix}"}) == []


def test_save_grid_failure_keeps_earlier_png(tmp_path, monkeypatch):
    from vdbench.reporting import grid

    videos = random_videos(2, t=3, h=8, w=8, seed=3)
    grid.save_grid(videos, 1, tmp_path, "ex")
    before = (tmp_path / "ex.png").read_bytes()

    def broken(self, *a, **k):
        raise ENOSPC

    monkeypatch.setattr(av.container.OutputContainer, "mux", broken)
    with pytest.raises(OSError):
        grid.save_grid(videos[::-1], 1, tmp_path, "ex")
    monkeypatch.undo()
    assert (tmp_path / "ex.png").read_bytes() == before
    assert _leftovers(tmp_path, {"ex.png", "ex.gif"}) == []


def _failed_on_full_disk(result) -> bool:
    """The command failed on the simulated full disk: the OSError escaped, or an error boundary
    turned it into an error line."""
    escaped = getattr(result.exception, "errno", None) == errno.ENOSPC
    return result.exit_code != 0 and (escaped or "No space left on device" in result.output)


def _sample(*args):
    return CliRunner().invoke(main, ["sample", "--oracle", "--steps", "3", "-n", "2",
                                     *map(str, args)])


@pytest.mark.parametrize("target", ["s.npy", "folder"])
def test_sample_full_disk_keeps_earlier_samples(tmp_path, monkeypatch, target):
    out = tmp_path / target
    assert _sample("--out", out).exit_code == 0
    npy = out if target.endswith(".npy") else out / "samples.npy"
    before = np.load(npy)
    monkeypatch.setattr(np.lib.format, "write_array", _partial_write_array)
    result = _sample("--out", out, "--seed", 5)
    monkeypatch.undo()
    assert _failed_on_full_disk(result)
    assert np.array_equal(np.load(npy), before)
    assert _leftovers(npy.parent, {npy.name}) == []


def test_sample_videos_full_disk_keeps_earlier_videos(tmp_path, monkeypatch):
    out = tmp_path / "s.npy"
    assert _sample("--out", out, "--video-format", "gif").exit_code == 0
    videos = {p.name: p.read_bytes() for p in tmp_path.glob("*.gif")}
    assert sorted(videos) == ["s_00000.gif", "s_00001.gif"]

    def broken(self, *a, **k):
        raise ENOSPC

    monkeypatch.setattr(av.container.OutputContainer, "mux", broken)
    assert _sample("--out", out, "--video-format", "gif", "--seed", 9).exit_code != 0
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.gif")} == videos
    assert _leftovers(tmp_path, {"s.npy", *videos}) == []


@pytest.mark.parametrize("fail_in", ["weights", "sidecar"])
def test_model_export_failure_keeps_earlier_export(tmp_path, monkeypatch, fail_in):
    import safetensors.torch
    import torch

    from tests.helpers_model import micro_config
    from vdbench.model.checkpoint import save_checkpoint

    tensors = {"ema/w": torch.ones(3), "model/w": torch.zeros(3)}
    save_checkpoint(tmp_path / "run", 1, micro_config(), tensors)
    out = tmp_path / "slim"
    cli = CliRunner()
    assert cli.invoke(main, ["model", "export", str(tmp_path / "run"), "-o", str(out)]
                      ).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == ["ckpt-00000001.json", "ckpt-00000001.safetensors"]
    if fail_in == "weights":
        def broken(tensors, filename, metadata=None):
            Path(filename).write_bytes(b"partial")
            raise ENOSPC
        monkeypatch.setattr(safetensors.torch, "save_file", broken)
    else:
        real_write = Path.write_text

        def broken_text(self, data, *a, **k):
            real_write(self, data[:10])
            raise ENOSPC
        monkeypatch.setattr(Path, "write_text", broken_text)
    result = cli.invoke(main, ["model", "export", str(tmp_path / "run"), "-o", str(out),
                               "--weights", "model"])
    monkeypatch.undo()
    assert _failed_on_full_disk(result)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    if fail_in == "weights":
        assert after == before
    else:  # the new weights landed, but the sidecar (whose sha256 names them) is the old one
        assert sorted(after) == sorted(before)
        assert after["ckpt-00000001.json"] == before["ckpt-00000001.json"]


# ---------------------------------------------------------------- containment (item 4)

def _captioned(root: Path, entries: list[str]) -> Path:
    folder = root / "data"
    (folder / "clips").mkdir(parents=True)
    write_video(folder / "clips" / "ok.mp4", random_videos(1, t=4, h=16, w=16)[0])
    lines = [json.dumps({"video": e, "caption": f"c{n}"}) for n, e in enumerate(entries)]
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _outside(tmp_path: Path) -> Path:
    path = tmp_path / "secret.mp4"
    write_video(path, random_videos(1, t=4, h=16, w=16, seed=4)[0])
    return path


OUTSIDE_ENTRIES = ["../secret.mp4", "clips/../../secret.mp4", "ABSOLUTE", "clips/link.mp4",
                   "linkdir/secret.mp4", "./../data/../secret.mp4"]


@pytest.mark.parametrize("entry", OUTSIDE_ENTRIES)
def test_captioned_entry_outside_folder_is_refused(tmp_path, entry):
    secret = _outside(tmp_path)
    entry = str(secret) if entry == "ABSOLUTE" else entry
    folder = _captioned(tmp_path, ["clips/ok.mp4", entry])
    (folder / "clips" / "link.mp4").symlink_to(secret)
    (folder / "linkdir").symlink_to(tmp_path)
    with pytest.raises(InputError) as err:
        open_captioned(folder, split="any")
    message = str(err.value)
    assert f"{folder / 'captions.jsonl'}:2:" in message
    assert "outside the dataset folder" in message and "\n" not in message


@pytest.mark.parametrize("entry", ["clips/ok.mp4", "clips/../clips/ok.mp4", "./clips/ok.mp4",
                                   "clips/inner_link.mp4"])
def test_captioned_entry_inside_folder_is_accepted(tmp_path, entry):
    folder = _captioned(tmp_path, [entry])
    (folder / "clips" / "inner_link.mp4").symlink_to(folder / "clips" / "ok.mp4")
    dataset = open_captioned(folder, split="any", size=16)
    assert len(dataset) == 1 and dataset.clip(0).shape == (4, 16, 16, 3)


def test_captioned_entry_with_nul_byte_is_refused_naming_the_line(tmp_path):
    folder = _captioned(tmp_path, ["clips/ok.mp4", "clips/a\u0000.mp4"])
    with pytest.raises(InputError, match=r"captions\.jsonl:2:"):
        open_captioned(folder, split="any")


def _ucf101(root: Path, line: str) -> Path:
    videos = root / "UCF-101" / "YoYo"
    videos.mkdir(parents=True)
    write_video(videos / "v_YoYo_g01_c01.avi", random_videos(1, t=4, h=16, w=16)[0])
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 YoYo\n")
    (lists / "trainlist01.txt").write_text(f"YoYo/v_YoYo_g01_c01.avi 1\n{line} 1\n")
    return lists / "trainlist01.txt"


@pytest.mark.parametrize("line", ["../secret.avi", "YoYo/../../secret.avi", "ABSOLUTE",
                                  "YoYo/v_YoYo_link.avi"])
def test_ucf101_list_line_outside_folder_is_refused(tmp_path, line):
    from vdbench.protocols.datasets.ucf101 import UCF101Videos

    root = tmp_path / "ucf"
    secret = tmp_path / "secret.avi"
    write_video(secret, random_videos(1, t=4, h=16, w=16, seed=5)[0])
    (root / "UCF-101").mkdir(parents=True)
    (root / "secret.avi").symlink_to(secret)  # even a link inside root is not inside UCF-101/
    listing = _ucf101(root, str(secret) if line == "ABSOLUTE" else line)
    (root / "UCF-101" / "YoYo" / "v_YoYo_link.avi").symlink_to(secret)
    with pytest.raises(InputError) as err:
        UCF101Videos(root, "train", 1, 16)
    assert f"{listing}:2:" in str(err.value) and "outside the dataset folder" in str(err.value)


def test_ucf101_list_inside_folder_is_accepted(tmp_path):
    from vdbench.protocols.datasets.ucf101 import UCF101Videos

    _ucf101(tmp_path, "yoyo/V_YOYO_G01_C01.avi")  # case-insensitive fallback stays inside
    assert len(UCF101Videos(tmp_path, "train", 1, 16)) == 2


def _kinetics(tmp_path: Path, how: str):
    from vdbench.protocols.datasets.kinetics import Kinetics600Clips, clip_stem

    root, outside = tmp_path / "k600", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    write_video(root / f"{clip_stem('aaa', 0, 10)}.mp4", random_videos(1, t=4, h=16, w=16)[0])
    name = f"{clip_stem('bbb', 5, 15)}.mp4"
    write_video(outside / name, random_videos(1, t=4, h=16, w=16, seed=6)[0])
    if how == "file_link":
        (root / name).symlink_to(outside / name)
    else:
        (root / "label").symlink_to(outside, target_is_directory=True)
    csv = tmp_path / "test.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split\n"
                   "x,aaa,0,10,test\nx,bbb,5,15,test\n")
    return lambda: Kinetics600Clips(root, csv, "test", 16), csv


def test_kinetics_clip_linking_outside_is_refused_naming_the_row(tmp_path):
    make, csv = _kinetics(tmp_path, "file_link")
    with pytest.raises(InputError) as err:
        make()
    assert f"{csv}:3:" in str(err.value) and "outside the dataset folder" in str(err.value)


def test_kinetics_clips_behind_a_folder_link_are_not_read(tmp_path):
    make, _ = _kinetics(tmp_path, "folder_link")
    dataset = make()  # the clip index does not follow folder links, so the clip is missing
    assert dataset.missing == 1 and [p.name for p in dataset.files] == ["aaa_000000_000010.mp4"]


def test_readme_states_the_containment_rule():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    assert "**Containment:**" in text and MAX_PIXELS_ENV in text


# ---------------------------------------------------------------- lying videos (item 2)

def _truncated_avi(path: Path, frames: int, keep: float) -> Path:
    write_video(path, random_videos(1, t=frames, h=16, w=16, seed=7)[0])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("keep", [0.5, 0.7, 0.9])
def test_truncated_video_is_an_error_not_a_shorter_video(tmp_path, keep):
    path = _truncated_avi(tmp_path / "t.avi", 40, keep)
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 40  # the header still declares 40
    with pytest.raises(InputError, match=r"declares 40") as err:
        decode_video(path)
    assert str(err.value).startswith(str(path))


def _resolution_change(path: Path, first: int, second: int, frames: int = 4) -> Path:
    """An avi whose mpeg4 stream switches from first² to second² after ``frames`` frames."""
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = first
        stream.pix_fmt = "yuv420p"
        for f in random_videos(1, frames, first, first)[0]:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        other = av.CodecContext.create("mpeg4", "w")
        other.width = other.height = second
        other.pix_fmt, other.time_base, other.framerate = "yuv420p", stream.time_base, Fraction(10)
        images = [av.VideoFrame.from_ndarray(f, format="rgb24")
                  for f in random_videos(1, frames, second, second, seed=1)[0]]
        for i, packet in enumerate(p for im in images + [None] for p in other.encode(im)):
            packet.stream, packet.pts, packet.dts = stream, frames + i, frames + i
            out.mux(packet)
    return path


@pytest.mark.parametrize("first,second", [(16, 32), (32, 16), (16, 24)])
def test_resolution_change_mid_stream_names_file_and_frame(tmp_path, first, second):
    path = _resolution_change(tmp_path / "r.avi", first, second)
    with pytest.raises(InputError) as err:
        decode_video(path)
    message = str(err.value)
    assert message.startswith(f"{path}: frame 4 is {second}x{second}")
    assert f"frame 0 is {first}x{first}" in message


def _declaring(path: Path, frames: int) -> Path:
    """A 16×16, 4-frame avi whose header declares ``frames`` frames (strh dwLength)."""
    write_video(path, random_videos(1, t=4, h=16, w=16, seed=8)[0])
    data = bytearray(path.read_bytes())
    at = data.index(b"strh") + 8 + 32
    data[at:at + 4] = struct.pack("<I", frames)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("frames", [10**7, 2**31])
def test_small_file_declaring_huge_video_is_refused_before_decoding(tmp_path, monkeypatch,
                                                                   frames):
    path = _declaring(tmp_path / "big.avi", frames)
    assert path.stat().st_size < 20_000
    decoded = []
    real = av.container.InputContainer.decode
    monkeypatch.setattr(av.container.InputContainer, "decode",
                        lambda self, *a, **k: decoded.append(1) or real(self, *a, **k))
    with pytest.raises(InputError, match=rf"declares {frames} frames of 16x16") as err:
        decode_video(path)
    assert decoded == [] and str(err.value).startswith(str(path))
    assert str(16 * 16 * frames) in str(err.value) and MAX_PIXELS_ENV in str(err.value)


@pytest.mark.parametrize("declared", [5, 3])
def test_declared_count_other_than_decoded_is_an_error(tmp_path, declared):
    path = _declaring(tmp_path / "v.avi", declared)
    with pytest.raises(InputError, match=rf"decoded 4 frames, but the container declares "
                                         rf"{declared}"):
        decode_video(path)


@pytest.mark.parametrize("frames,h,w", [(4, 16, 16), (6, 16, 32), (3, 32, 16)])
def test_pixel_cap_is_exact(tmp_path, monkeypatch, frames, h, w):
    path = write_video(tmp_path / "v.avi", random_videos(1, t=frames, h=h, w=w)[0])
    monkeypatch.setenv(MAX_PIXELS_ENV, str(frames * h * w))
    assert decode_video(path).shape == (frames, h, w, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, str(frames * h * w - 1))
    with pytest.raises(InputError, match=rf"declares {frames} frames of {w}x{h}"):
        decode_video(path)


def test_pixel_cap_holds_while_decoding_when_no_count_is_declared(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.mkv", random_videos(1, t=12, h=16, w=16)[0])
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 0  # mkv declares no count
    monkeypatch.setattr("vdbench.protocols.datasets.generic.declared_frames", lambda c, s: 0)
    monkeypatch.setenv(MAX_PIXELS_ENV, str(16 * 16 * 5))
    with pytest.raises(InputError, match=r"by frame 5") as err:
        decode_video(path)
    assert str(err.value).startswith(str(path))


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "1e9"])
def test_bad_pixel_cap_setting_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv(MAX_PIXELS_ENV, value)
    with pytest.raises(InputError, match=rf"^{MAX_PIXELS_ENV}: expected a positive"):
        max_video_pixels()


@pytest.mark.parametrize("value,expected", [("", DEFAULT_MAX_PIXELS), ("1000", 1000),
                                            (" 42 ", 42)])
def test_pixel_cap_setting_is_read(monkeypatch, value, expected):
    monkeypatch.setenv(MAX_PIXELS_ENV, value)
    assert max_video_pixels() == expected
    assert DEFAULT_MAX_PIXELS * 3 <= 2**31  # 2 GiB of RGB frames


def _stats(*args):
    return CliRunner().invoke(main, ["stats", *map(str, args)])


def _one_error_line(result, *fragments):
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.parametrize("bad", ["truncated", "resolution", "huge_header", "cap_env"])
def test_stats_cli_refuses_lying_videos_in_one_line(tmp_path, monkeypatch, i3d_weights, bad):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.avi", random_videos(1, t=12, h=16, w=16, seed=9)[0])
    if bad == "truncated":
        _truncated_avi(folder / "b.avi", 40, 0.7)
    elif bad == "resolution":
        _resolution_change(folder / "b.avi", 16, 32, frames=6)
    elif bad == "huge_header":
        _declaring(folder / "b.avi", 10**8)
    else:
        monkeypatch.setenv(MAX_PIXELS_ENV, "bad")
        write_video(folder / "b.avi", random_videos(1, t=12, h=16, w=16, seed=10)[0])
    out = tmp_path / "stats.npz"
    result = _stats(folder, "-o", out)
    _one_error_line(result, MAX_PIXELS_ENV if bad == "cap_env" else "b.avi")
    assert not out.exists() and _leftovers(tmp_path, {"videos"}) == []


def test_features_full_disk_keeps_earlier_features(tmp_path, monkeypatch, i3d_weights):
    videos = tmp_path / "v.npy"
    np.save(videos, random_videos(2, seed=11))
    out = tmp_path / "f.npy"
    np.save(out, np.full((2, 3), 7.0))
    monkeypatch.setattr(np.lib.format, "write_array", _partial_write_array)
    result = CliRunner().invoke(main, ["features", "i3d", str(videos), "-o", str(out)])
    monkeypatch.undo()
    assert _failed_on_full_disk(result)
    assert np.array_equal(np.load(out), np.full((2, 3), 7.0))
    assert _leftovers(tmp_path, {"v.npy", "f.npy"}) == []
