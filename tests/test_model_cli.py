import json

import numpy as np
from click.testing import CliRunner

from tests.helpers_model import micro_config
from vdbench.model.unet3d import build_on_meta, count_parameters
from vdbench.cli import main


def test_model_info_counts_match_the_network():
    result = CliRunner().invoke(main, ["model", "info", "bair", "tiny"])
    assert result.exit_code == 0, result.output
    from vdbench.model.configs import preset
    millions = round(count_parameters(build_on_meta(preset("bair"))) / 1e6, 2)
    line = next(r for r in result.output.splitlines() if r.startswith("| bair"))
    assert f"{millions}" in line and "1,2,3,4" in line and "| v " in line
    assert "| tiny " in result.output and "ucf101" not in result.output


def test_cli_import_stays_light():
    """`vdbench --help` must not pay for importing torch."""
    import subprocess
    import sys

    code = "import sys, vdbench.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_model_info_unknown_preset_is_one_line_error():
    result = CliRunner().invoke(main, ["model", "info", "imagen"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: unknown preset 'imagen'; expected one of ['bair', 'kinetics600', 't2v-9x128', "
        "'t2v-large', 't2v-small', 'tiny', 'tiny-v', 'ucf101']"]


def test_train_command_end_to_end_and_resume(tmp_path):
    videos = np.random.default_rng(0).integers(0, 256, (2, 5, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "v.npy", videos)
    config = tmp_path / "micro.json"
    config.write_text(micro_config().to_json())
    args = ["train", "--config", str(config), "--data", str(tmp_path / "v.npy"), "--out",
            str(tmp_path / "run"), "--steps", "2", "--no-progress", "--set", "train.lr=0.002"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "to step 2" in result.output
    saved = json.loads((tmp_path / "run" / "ckpt-00000002.json").read_text())
    assert saved["config"]["train"]["lr"] == 0.002
    args[args.index("2")] = "3"
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "to step 3" in result.output
    rows = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [1, 2, 3]


def test_train_command_bad_input(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((2, 5, 16, 16, 3), dtype=np.float32))
    cases = [
        (["--config", "nope"], "unknown preset 'nope'"),
        (["--config", "tiny", "--set", "train.lrr=1"], "unknown config key 'train.lrr'"),
        (["--config", "tiny"], "must be a uint8 array [N, T, H, W, 3], got float32"),
        (["--config", "t2v-small"], "must be a uint8 array"),
    ]
    for extra, message in cases:
        result = CliRunner().invoke(main, ["train", "--data", str(tmp_path / "f.npy"), *extra])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: ") and message in result.output
        assert len(result.output.strip().splitlines()) == 1
    np.save(tmp_path / "u.npy", np.zeros((2, 5, 16, 16, 3), dtype=np.uint8))
    result = CliRunner().invoke(main, ["train", "--data", str(tmp_path / "u.npy"), "--config",
                                       "t2v-small"])
    assert result.exit_code == 2 and "is text-conditioned" in result.output
    result = CliRunner().invoke(main, ["train", "--data", str(tmp_path / "u.npy"), "--config",
                                       "tiny", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "videos are 16×16 but the config expects 32×32" in result.output
