"""The CLI's one error boundary (vdbench.cli.main.Boundary): every failure of every command is
exactly one line `error: <file or option>: <problem>` on stderr with exit 2 and nothing written;
an internal error is one line and exit 1, and `vdbench --debug` shows its traceback."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers_model import micro_config, randomize
from tests.videos import random_videos
from vdbench.cli import main

RUN = ["run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
       "--clips", "2", "--samples-per-clip", "1", "--metrics", "fvd"]


def invoke(args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def assert_one_error(res, fragment: str, code: int = 2, leftovers=()):
    """Exit ``code``, one `error:` line (on stderr) naming ``fragment``, no traceback, and none
    of ``leftovers`` (paths, or folders that must hold no files) written."""
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = [line for line in res.output.splitlines() if "error:" in line]
    assert len(lines) == 1, res.output
    line = lines[0][lines[0].index("error:"):]
    assert line.startswith("error: ") and fragment in line, line
    assert "Traceback" not in res.output
    assert not [x for x in res.output.splitlines() if x.lstrip().startswith('File "')], res.output
    assert line in res.stderr
    for path in leftovers:
        path = Path(path)
        if path.is_dir():
            written = [p for p in path.rglob("*") if p.is_file()]
            assert not written, written
        else:
            assert not path.exists(), path
    return line


# --- option values: refused by click types before any work, naming the option -------------

OPTION_CASES = [
    (["fvd", "a.npy", "b.npy", "--device", "banana"], "--device"),
    (["fvd", "a.npy", "b.npy", "--device", "cuda"], "--device"),
    (["fvd", "a.npy", "b.npy", "--device", "cuda:0"], "--device"),
    (["fvd", "a.npy", "b.npy", "--device", "cpu:1"], "--device"),
    (["fvd", "a.npy", "b.npy", "--device", ""], "--device"),
    (["stats", "a.npy", "-o", "s.npz", "--device", "banana"], "--device"),
    (["features", "i3d", "a.npy", "-o", "f.npy", "--device", "cuda:7"], "--device"),
    (["fid", "a.npz", "b.npy", "--device", "gpu"], "--device"),
    ([*RUN, "--device", "banana"], "--device"),
    (["compare", "oracle", "--device", "cuda"], "--device"),
    (["sample", "--oracle", "--out", "s.npy", "--device", "banana"], "--device"),
    (["train", "--config", "tiny", "--data", "d.npy", "--device", "cuda"], "--device"),
    (["fvd", "a.npy", "b.npy", "--threads", "100000000000"], "--threads"),
    (["fvd", "a.npy", "b.npy", "--threads", "0"], "--threads"),
    (["fvd", "a.npy", "b.npy", "--threads", "-3"], "--threads"),
    (["fvd", "a.npy", "b.npy", "--threads", "four"], "--threads"),
    (["stats", "a.npy", "-o", "s.npz", "--threads", "1025"], "--threads"),
    ([*RUN, "--threads", "100000000000"], "--threads"),
    (["sample", "--oracle", "--out", "s.npy", "--seed", "-7"], "--seed"),
    (["stats", "a.npy", "-o", "s.npz", "--seed", "-7"], "--seed"),
    (["train", "--config", "tiny", "--data", "d.npy", "--seed", "-1"], "--seed"),
    (["sample", "--oracle", "--out", "s.npy", "--seed", "1.5"], "--seed"),
    (["fvd", "a.npy", "b.npy", "--batch-size", "0"], "--batch-size"),
    (["fvd", "a.npy", "b.npy", "--frames", "0"], "--frames"),
    (["fvd", "a.npy", "b.npy", "--value-range", "0-2"], "--value-range"),
    (["sample", "--oracle", "--out", "s.npy", "--video-format", "avi"], "--video-format"),
    (["data", "shapes", "-o", "x.npy", "--size", "2"], "--size"),
    (["fvd", "a.npy", "b.npy", "--no-such-option"], "--no-such-option"),
    (["--no-such-option", "fvd"], "--no-such-option"),
    (["stats", "a.npy"], "--output"),
    (["fvd"], "--real"),  # REAL: an argument or --real
    (["table", "9"], "WHICH"),
    (["no-such-command"], "no-such-command"),
]


@pytest.mark.parametrize("args, option", OPTION_CASES, ids=[" ".join(a) for a, _ in
                                                             OPTION_CASES])
def test_bad_option_values_are_one_line_naming_the_option(tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    line = assert_one_error(invoke(args), option, leftovers=[tmp_path])
    assert line.startswith(f"error: {option}") or option in line.split(":")[1], line


def test_a_device_this_machine_has_is_accepted():
    from vdbench.cli.common import device_problem

    import torch

    assert device_problem("cpu") is None
    assert (device_problem("cuda") is None) == torch.cuda.is_available()
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert device_problem(f"cuda:{count}") is not None


# --- files: unreadable, lying or unwritable; the message names the file --------------------

def _good(tmp_path: Path) -> Path:
    path = tmp_path / "good.npy"
    np.save(path, random_videos(2, seed=5))
    return path


def _save(path: Path, array: np.ndarray) -> Path:
    np.save(path, array, allow_pickle=True)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _readonly(tmp_path: Path) -> Path:
    """A folder no file can be created in: chmod 555, or /sys for root (which ignores modes)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _stats_with(tmp_path: Path, **arrays) -> Path:
    base = {"count": np.int64(3), "sum": np.zeros(4), "sum_outer": np.eye(4)}
    path = tmp_path / "stats.npz"
    np.savez(path, **{**base, **arrays})
    return path


def case_missing_input(t):
    return ["stats", t / "missing.npy", "-o", t / "out.npz"], "missing.npy", [t / "out.npz"]


def case_short_video(t):
    _save(t / "short.npy", random_videos(2, t=8))
    return ["stats", t / "short.npy", "-o", t / "out.npz"], "short.npy", [t / "out.npz"]


def case_object_array(t):
    _save(t / "obj.npy", np.array([1, None], dtype=object))
    return ["fvd", t / "obj.npy", _good(t)], "obj.npy", []


def case_object_array_in_npz(t):
    np.savez(t / "obj.npz", videos=np.array([1, None], dtype=object))
    return ["stats", t / "obj.npz", "-o", t / "out.npz"], "obj.npz", [t / "out.npz"]


def case_npz_member_not_npy(t):
    _zip(t / "bad.npz", {"videos.npy": b"this is not an npy file"})
    return ["stats", t / "bad.npz", "-o", t / "out.npz"], "bad.npz", [t / "out.npz"]


def case_npz_not_a_zip(t):
    (t / "junk.npz").write_bytes(b"PK\x03\x04 but not really a zip")
    return ["fvd", t / "junk.npz", _good(t)], "junk.npz", []


def case_truncated_npy(t):
    data = _save(t / "full.npy", random_videos(2)).read_bytes()
    (t / "cut.npy").write_bytes(data[: len(data) // 2])
    return ["stats", t / "cut.npy", "-o", t / "out.npz"], "cut.npy", [t / "out.npz"]


def case_empty_npy(t):
    (t / "empty.npy").write_bytes(b"")
    return ["fvd", _good(t), t / "empty.npy"], "empty.npy", []


def case_directory_as_npy(t):
    (t / "dir.npy").mkdir()
    return ["features", "i3d", t / "dir.npy", "-o", t / "f.npy"], "dir.npy", [t / "f.npy"]


def case_object_stats(t):
    path = _stats_with(t, sum=np.array([None, 1, 2, 3], dtype=object))
    return ["fvd", path, _good(t)], "stats.npz", []


def case_stats_member_not_npy(t):
    _zip(t / "stats.npz", {"count.npy": b"x", "sum.npy": b"y", "sum_outer.npy": b"z"})
    return ["fvd", t / "stats.npz", _good(t)], "stats.npz", []


def case_out_under_a_file(t):
    (t / "plain").write_text("x")
    return ["stats", _good(t), "-o", t / "plain" / "s.npz"], "plain", [t / "plain" / "s.npz"]


def case_features_out_under_a_file(t):
    (t / "plain").write_text("x")
    return (["features", "i3d", _good(t), "-o", t / "plain" / "f.npy"], "plain",
            [t / "plain" / "f.npy"])


def case_out_in_readonly_folder(t):
    out = _readonly(t) / "vdbench-test-stats.npz"
    return ["stats", _good(t), "-o", out], str(out.parent), [out]


def case_shapes_out_in_readonly_folder(t):
    out = _readonly(t) / "vdbench-test-shapes.npy"
    return (["data", "shapes", "--videos", "2", "--size", "8", "--frames", "2", "-o", out],
            str(out.parent), [out])


def case_sample_out_under_a_file(t):
    (t / "plain").write_text("x")
    return (["sample", "--oracle", "-n", "1", "--steps", "2", "--out", t / "plain" / "s.npy"],
            "plain", [t / "plain" / "s.npy"])


def case_sample_out_in_readonly_folder(t):
    out = _readonly(t) / "vdbench-test-samples"
    return (["sample", "--oracle", "-n", "1", "--steps", "2", "--out", out], str(out.parent),
            [out])


def case_run_out_under_a_file(t):
    (t / "plain").write_text("x")
    return [*RUN, "--out", t / "plain" / "runs"], "plain", []


def case_run_cache_dir_under_a_file(t):
    (t / "plain").write_text("x")
    return [*RUN, "--out", t / "runs", "--cache-dir", t / "plain" / "c"], "plain", [t / "runs"]


def case_context_object_array(t):
    _save(t / "ctx.npy", np.array([1, None], dtype=object))
    return (["sample", "--oracle", "-n", "1", "--steps", "2", "--context", t / "ctx.npy",
             "--out", t / "s.npy"], "ctx.npy", [t / "s.npy"])


def case_context_truncated(t):
    data = _save(t / "full.npy", random_videos(1, t=2, h=8, w=8)).read_bytes()
    (t / "ctx.npy").write_bytes(data[:100])
    return (["sample", "--oracle", "-n", "1", "--steps", "2", "--context", t / "ctx.npy",
             "--out", t / "s.npy"], "ctx.npy", [t / "s.npy"])


def _checkpoint(t: Path) -> Path:
    from vdbench.model.checkpoint import save_checkpoint
    from vdbench.model.unet3d import UNet3D

    config = micro_config()
    net = randomize(UNet3D(config), scale=0.05)
    save_checkpoint(t / "run", 1, config, {f"ema/{k}": v for k, v in net.state_dict().items()})
    return t / "run"


def case_truncated_checkpoint(t):
    run = _checkpoint(t)
    (weights,) = run.rglob("*.safetensors")
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    return (["sample", "--checkpoint", run, "-n", "1", "--steps", "2", "--out", t / "s.npy"],
            "run", [t / "s.npy"])


def case_huge_header_checkpoint(t):
    run = _checkpoint(t)
    (weights,) = run.rglob("*.safetensors")
    weights.write_bytes((10 ** 15).to_bytes(8, "little") + b"{}")
    return (["sample", "--checkpoint", run, "-n", "1", "--steps", "2", "--out", t / "s.npy"],
            "run", [t / "s.npy"])


def case_train_data_object_array(t):
    _save(t / "d.npy", np.array([1, None], dtype=object))
    return (["train", "--config", "tiny", "--data", t / "d.npy", "--out", t / "r"], "d.npy",
            [t / "r"])


def case_train_config_not_json(t):
    (t / "c.json").write_bytes(b"\xff\xfe not json")
    return (["train", "--config", t / "c.json", "--data", _good(t), "--out", t / "r"],
            "c.json", [t / "r"])


def _captioned(t: Path, captions: bytes) -> Path:
    folder = t / "ds" / "validation"
    folder.mkdir(parents=True)
    np.save(t / "v.npy", random_videos(1, t=10, h=16, w=16))
    from tests.videos import write_video

    for name in ("a.mp4", "b.mp4"):
        write_video(folder / name, random_videos(1, t=10, h=16, w=16, seed=len(name))[0])
    (folder / "captions.jsonl").write_bytes(captions)
    return t / "ds"


def case_captions_not_utf8(t):
    root = _captioned(t, b'{"video": "a.mp4", "caption": "caf\xe9"}\n'
                         b'{"video": "b.mp4", "caption": "two"}\n')
    return (["stats", "captioned-videos", "--data-dir", root, "--split", "validation",
             "--frames", "9", "-o", t / "out.npz"], "captions.jsonl", [t / "out.npz"])


def case_captions_not_json(t):
    root = _captioned(t, b'{"video": "a.mp4", "caption": "x"}\n{"video": \n')
    return (["stats", "captioned-videos", "--data-dir", root, "--split", "validation",
             "--frames", "9", "-o", t / "out.npz"], "captions.jsonl:2", [t / "out.npz"])


def case_newline_in_file_name(t):
    return ["stats", t / "bad\nname.npy", "-o", t / "out.npz"], "bad\\nname.npy", [t / "out.npz"]


def case_newline_in_existing_file_name(t):
    _save(t / "two\nlines.npy", random_videos(2, t=4))
    return ["fvd", t / "two\nlines.npy", _good(t)], "two\\nlines.npy", []


def case_table_runs_under_a_file(t):
    (t / "plain").write_text("x")
    return ["table", "1", "--runs", t / "plain" / "runs"], "plain", []


def case_table_bad_record(t):
    (t / "runs").mkdir()
    (t / "runs" / "r.json").write_bytes(b"\xff\xfe{")
    return ["table", "1", "--runs", t / "runs"], "r.json", []


def case_cache_under_a_file(t):
    (t / "plain").write_text("x")
    return (["weights", "fetch", "c3d"], "plain",
            [t / "plain"], {"VDBENCH_CACHE": str(t / "plain" / "cache")})


FILE_CASES = [case_missing_input, case_short_video, case_object_array, case_object_array_in_npz,
              case_npz_member_not_npy, case_npz_not_a_zip, case_truncated_npy, case_empty_npy,
              case_directory_as_npy, case_object_stats, case_stats_member_not_npy,
              case_out_under_a_file, case_features_out_under_a_file,
              case_out_in_readonly_folder, case_shapes_out_in_readonly_folder,
              case_sample_out_under_a_file, case_sample_out_in_readonly_folder,
              case_run_out_under_a_file, case_run_cache_dir_under_a_file,
              case_context_object_array, case_context_truncated, case_truncated_checkpoint,
              case_huge_header_checkpoint, case_train_data_object_array,
              case_train_config_not_json, case_captions_not_utf8, case_captions_not_json,
              case_newline_in_file_name, case_newline_in_existing_file_name,
              case_table_runs_under_a_file, case_table_bad_record, case_cache_under_a_file]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.__name__[5:] for c in FILE_CASES])
def test_bad_files_are_one_line_naming_the_file(tmp_path, monkeypatch, i3d_weights, case):
    monkeypatch.chdir(tmp_path)
    made = case(tmp_path)
    args, fragment, leftovers = made[:3]
    env = made[3] if len(made) > 3 else None
    if "plain" in fragment:  # the file that blocks the path; it keeps its content
        leftovers = [p for p in leftovers if p != tmp_path / "plain"]
    line = assert_one_error(invoke(args, env=env), fragment, leftovers=leftovers)
    assert "\n" not in line
    if "plain" in fragment:
        assert (tmp_path / "plain").read_text() == "x"


def test_cache_under_a_file_leaves_the_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    res = invoke(["weights", "fetch", "c3d"],
                 env={"VDBENCH_CACHE": str(tmp_path / "plain" / "cache")})
    assert_one_error(res, "plain")
    assert (tmp_path / "plain").read_text() == "x"


# --- big-endian arrays: the same result as native ones (not an error) ------------------------

def test_big_endian_videos_give_the_same_fvd_as_native(tmp_path, i3d_weights):
    real = random_videos(2, seed=1).astype(np.float32) / 255
    gen = random_videos(2, seed=2).astype(np.float32) / 255
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "gen.npy", gen)
    np.save(tmp_path / "real_be.npy", real.astype(">f4"))
    results = []
    for name in ("real", "real_be"):
        res = invoke(["fvd", tmp_path / f"{name}.npy", tmp_path / "gen.npy", "--json",
                      "--value-range", "0-1"])
        assert res.exit_code == 0, res.output
        results.append(json.loads(res.stdout[res.stdout.index("{"):])["fvd"])
    assert results[0] == results[1]


# --- internal errors: one line and exit 1; --debug shows the traceback -----------------------

def _inject(monkeypatch):
    import vdbench.reporting.tables as tables

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(tables, "load_records", broken)


def test_internal_error_is_one_line_and_exit_1(monkeypatch):
    _inject(monkeypatch)
    line = assert_one_error(invoke(["table", "1"]), "internal error", code=1)
    assert "RuntimeError: injected failure" in line and "--debug" in line


def test_debug_shows_the_traceback(monkeypatch):
    _inject(monkeypatch)
    res = invoke(["--debug", "table", "1"])
    assert res.exit_code == 1
    assert "Traceback" in res.stderr and "injected failure" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: internal error")


def test_one_line_escapes_control_characters():
    from vdbench.cli.boundary import one_line

    assert one_line("a\nb\tc\x1bd") == "a\\nb\\tc\\x1bd"
    assert one_line("ünïcode fine") == "ünïcode fine"


def test_os_error_names_both_paths_of_a_rename():
    from vdbench.cli.boundary import describe

    code, text = describe(OSError(28, "No space left on device", "/a/tmp", None, "/a/out"))
    assert code == 2 and text == "/a/tmp -> /a/out: no space left on device"
    _, text = describe(PermissionError(13, "Permission denied", "/ro/.s.npz.k2j3.tmp"))
    assert text == "/ro/s.npz: permission denied"
