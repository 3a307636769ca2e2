"""`vdbench doctor`: the table of what is usable, and --require's exit code."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.cli import doctor as doctor_module
from vdbench.metrics.hashing import record_sha256
from vdbench.metrics.networks import weights_files


def run(*args):
    return CliRunner().invoke(main, ["doctor", *args])


def _row(output, kind, name):
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in output.splitlines()
            if line.startswith("|")]
    (found,) = [r for r in rows if r[:2] == [kind, name]]
    return found


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_table_states_torch_threads_and_exits_0_when_nothing_is_required(empty_cache):
    res = run()
    assert res.exit_code == 0, res.output
    assert torch.__version__ in _row(res.output, "torch", "torch")[3]
    assert f"torch {torch.get_num_threads()} intra-op" in _row(res.output, "torch", "threads")[3]
    assert str(torch.backends.cuda.matmul.allow_tf32) in _row(res.output, "torch", "tf32")[3]
    assert _row(res.output, "weights", "i3d")[2:] == [
        "no", f"{weights_files('i3d')[0]}: missing"]
    cuda = run("--require", "cuda")
    assert cuda.exit_code == (0 if torch.cuda.is_available() else doctor_module.EXIT_MISSING)


def test_require_missing_unverified_and_altered_weights(empty_cache):
    res = run("--require", "i3d,c3d")
    assert res.exit_code == doctor_module.EXIT_MISSING, res.output
    assert "missing: weights i3d, weights c3d" in res.output
    path = weights_files("i3d")[0]
    path.parent.mkdir(parents=True)
    path.write_bytes(np.arange(10, dtype=np.uint8).tobytes())
    res = run("--require", "i3d")  # present, no record yet: usable (recorded at first use)
    assert res.exit_code == 0 and "no record yet" in _row(res.output, "weights", "i3d")[3]
    record_sha256(path, "test")
    res = run("--require", "i3d")
    assert res.exit_code == 0 and "verified" in _row(res.output, "weights", "i3d")[3]
    path.write_bytes(b"altered on disk")
    res = run("--require", "i3d")
    assert res.exit_code == doctor_module.EXIT_MISSING
    assert "differs from the recorded" in _row(res.output, "weights", "i3d")[3]


def test_extras_and_unknown_names(empty_cache, monkeypatch):
    monkeypatch.setitem(doctor_module.EXTRAS, "nothing", ("vdbench_no_such_module_x",))
    res = run("--require", "pillow")
    assert res.exit_code == 0, res.output
    assert _row(res.output, "extra", "pillow")[2] == "ok"
    res = run("--require", "pillow,nothing")
    assert res.exit_code == doctor_module.EXIT_MISSING
    assert _row(res.output, "extra", "nothing")[2:] == [
        "no", "vdbench_no_such_module_x not installed"]
    res = run("--require", "i3d,bogus")
    assert res.exit_code == 2
    errors = [line for line in res.output.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("error: --require: unknown bogus")


def test_lpips_weights_are_checked_like_the_others(empty_cache, tmp_path):
    """LPIPS (a paired scorer, not a --network) has a weights row and a --require name."""
    from tests.test_lpips import write_weights
    from vdbench.metrics.lpips_weights import weights_path

    res = run("--require", "lpips")
    assert res.exit_code == doctor_module.EXIT_MISSING, res.output
    assert _row(res.output, "weights", "lpips")[2:] == ["no", f"{weights_path()}: missing"]
    weights_path().parent.mkdir(parents=True)
    write_weights(weights_path())
    res = run("--require", "lpips")
    assert res.exit_code == 0 and "no record yet" in _row(res.output, "weights", "lpips")[3]
