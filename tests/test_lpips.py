"""LPIPS (vdbench.metrics.lpips) on random weights in the file layout of
vdbench.metrics.lpips_weights: equal to the `lpips` package's LPIPS(net='alex', version='0.1')
loaded with the same weights, and to a re-derivation written here with torch.nn.functional;
the weights file's checks and offline message; best-of-N as the minimum; a `vdbench run`."""

import importlib
import importlib.util
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from tests.test_cli_errors import assert_one_error
from vdbench.cli import main
from vdbench.metrics.base import best_and_mean
from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.lpips import LPIPSNet, LPIPSScore
from vdbench.metrics.lpips_weights import (WEIGHTS_FILE, expected_shapes, export_lpips_weights,
                                           load_lpips, read_lpips_file, weights_path)
from vdbench.metrics.registry import get_metric


def random_weights(seed: int) -> dict[str, torch.Tensor]:
    """Random tensors in the file's layout: He-scaled convolutions, small biases, and lin
    layers ≥ 0 (the released ones are: lpips clamps them at 0 in training)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in expected_shapes().items():
        if key.startswith("lin"):
            out[key] = torch.rand(shape, generator=g)  # LPIPS of ~0.1-0.4, as on photos
        elif key.endswith(".bias"):
            out[key] = 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = shape[1] * shape[2] * shape[3]
            out[key] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
    return out


def write_weights(path, seed: int = 0, extra=None):
    from safetensors.torch import save_file

    save_file({**random_weights(seed), **(extra or {})}, str(path))
    return path


def frames(n, h, w, seed, noise=None, base=None):
    rng = np.random.default_rng(seed)
    if base is None:
        return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    moved = base.astype(np.int16) + rng.integers(-noise, noise + 1, base.shape)
    return np.clip(moved, 0, 255).astype(np.uint8)


def rederived(weights: dict[str, torch.Tensor], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LPIPS v0.1 AlexNet written out from the paper's eq. 1 and the package's constants, in
    float64 with functional ops (no vdbench code): one value per frame pair."""
    shift = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float64)[None, :, None, None]
    scale = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float64)[None, :, None, None]
    w = {k: v.double() for k, v in weights.items()}

    def acts(x):
        x = torch.from_numpy(x).double().permute(0, 3, 1, 2) * (2 / 255) - 1
        x = (x - shift) / scale
        r1 = F.relu(F.conv2d(x, w["net.slice1.0.weight"], w["net.slice1.0.bias"], 4, 2))
        r2 = F.relu(F.conv2d(F.max_pool2d(r1, 3, 2), w["net.slice2.3.weight"],
                             w["net.slice2.3.bias"], 1, 2))
        r3 = F.relu(F.conv2d(F.max_pool2d(r2, 3, 2), w["net.slice3.6.weight"],
                             w["net.slice3.6.bias"], 1, 1))
        r4 = F.relu(F.conv2d(r3, w["net.slice4.8.weight"], w["net.slice4.8.bias"], 1, 1))
        r5 = F.relu(F.conv2d(r4, w["net.slice5.10.weight"], w["net.slice5.10.bias"], 1, 1))
        return [r1, r2, r3, r4, r5]

    total = torch.zeros(len(a), dtype=torch.float64)
    for layer, (fa, fb) in enumerate(zip(acts(a), acts(b), strict=True)):
        na = fa / (torch.linalg.vector_norm(fa, dim=1, keepdim=True) + 1e-10)
        nb = fb / (torch.linalg.vector_norm(fb, dim=1, keepdim=True) + 1e-10)
        lin = w[f"lin{layer}.model.1.weight"].reshape(-1)
        total += torch.einsum("nchw,c->nhw", (na - nb) ** 2, lin).mean(dim=(1, 2))
    return total.numpy()


@pytest.fixture(scope="module")
def lpips_package():
    """The `lpips` package (test dependency, installed by `make install`). It imports
    torchvision, whose PyPI build does not import beside the CPU torch here (its C ops are
    missing); LPIPS needs only torchvision's pure-Python AlexNet, so torchvision is loaded
    without its package __init__, and sys.modules is restored afterwards."""
    spec = importlib.util.find_spec("torchvision")
    if importlib.util.find_spec("lpips") is None or spec is None:
        pytest.skip("the lpips package is not installed (make install installs it)")
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("torchvision", "lpips")}
    for name in saved:
        del sys.modules[name]
    sys.modules["torchvision"] = importlib.util.module_from_spec(spec)
    try:
        yield importlib.import_module("lpips")
    finally:
        for name in [k for k in sys.modules if k.split(".")[0] in ("torchvision", "lpips")]:
            del sys.modules[name]
        sys.modules.update(saved)


def package_model(lpips_package, weights):
    """lpips.LPIPS(net='alex', version='0.1') without any download, then given ``weights``."""
    model = lpips_package.LPIPS(net="alex", version="0.1", pretrained=False, pnet_rand=True,
                                verbose=False)
    state = model.state_dict()
    for key, value in weights.items():
        state[key] = value
    for i in range(5):  # the package's lins.K are the same modules as linK
        state[f"lins.{i}.model.1.weight"] = weights[f"lin{i}.model.1.weight"]
    model.load_state_dict(state)
    return model.eval()


@pytest.mark.parametrize("h,w,noise", [(64, 64, 40), (32, 48, 120), (31, 31, 10)])
def test_equals_the_lpips_package_on_the_same_random_weights(lpips_package, tmp_path, h, w,
                                                             noise):
    path = write_weights(tmp_path / WEIGHTS_FILE, seed=h + w)
    ours = LPIPSScore(weights=str(path))
    theirs = package_model(lpips_package, read_lpips_file(path))
    truth = frames(6, h, w, seed=noise)
    pred = frames(6, h, w, seed=1, noise=noise, base=truth)
    got = ours.per_frame(pred[None], truth[None])[0]
    with torch.no_grad():  # the package's own input scaling: lpips.im2tensor, v/127.5 - 1
        want = theirs(*(torch.cat([lpips_package.im2tensor(f) for f in x])
                        for x in (pred, truth))).reshape(-1).numpy()
    assert np.abs(got - want).max() < 1e-6, (got, want)
    assert got.min() > 0


def test_the_exported_package_state_dict_is_the_layout(lpips_package, tmp_path):
    """export_lpips_weights writes the package's state dict (lins.K duplicates and scaling
    buffers included) in the layout the loader reads, giving the package's values."""
    torch.manual_seed(5)
    model = lpips_package.LPIPS(net="alex", version="0.1", pretrained=False, pnet_rand=True,
                                verbose=False).eval()
    path = export_lpips_weights(tmp_path / WEIGHTS_FILE, model)
    truth = frames(3, 40, 40, seed=2)
    pred = frames(3, 40, 40, seed=3, noise=60, base=truth)
    got = LPIPSScore(weights=str(path)).per_frame(pred[None], truth[None])[0]
    with torch.no_grad():
        want = model(*(torch.cat([lpips_package.im2tensor(f) for f in x])
                       for x in (pred, truth))).reshape(-1).numpy()
    assert np.abs(got - want).max() < 1e-6


@pytest.mark.parametrize("h,w", [(64, 64), (33, 45)])
def test_equals_a_functional_rederivation(tmp_path, h, w):
    path = write_weights(tmp_path / WEIGHTS_FILE, seed=7)
    truth = frames(5, h, w, seed=h)
    pred = frames(5, h, w, seed=w, noise=70, base=truth)
    got = LPIPSScore(weights=str(path)).per_frame(pred[None], truth[None])[0]
    want = rederived(read_lpips_file(path), pred, truth)
    assert np.abs(got - want).max() < 1e-6, (got, want)
    # exact frames: every layer's difference is 0
    assert np.all(LPIPSScore(weights=str(path)).per_frame(truth[None], truth[None]) == 0)


def test_scores_generated_frames_only_and_refuses_small_frames(tmp_path):
    scorer = LPIPSScore(weights=str(write_weights(tmp_path / WEIGHTS_FILE)))
    truth = frames(2 * 4, 32, 32, seed=0).reshape(2, 4, 32, 32, 3)
    pred = frames(2 * 4, 32, 32, seed=1, noise=50, base=truth.reshape(-1, 32, 32, 3))
    videos = pred.reshape(2, 4, 32, 32, 3).copy()
    videos[:, 0] = 255  # the conditioning frame is not scored
    got = scorer.score(videos, truth, context_frames=1)
    assert got == pytest.approx(scorer.per_frame(videos[:, 1:], truth[:, 1:]).mean(axis=1))
    with pytest.raises(InputError, match="at least 31x31"):
        scorer.per_frame(videos[:, :, :30], truth[:, :, :30])


def test_best_of_n_is_the_lowest_lpips():
    draws = [np.array([0.2, 0.5, 0.3]), np.array([0.4, 0.1, 0.3])]
    assert best_and_mean("lpips", draws, higher_is_better=False) == {
        "lpips_best": pytest.approx((0.2 + 0.1 + 0.3) / 3),
        "lpips_mean": pytest.approx(1.8 / 6)}
    metric = get_metric("lpips")
    stats = FeatureStats(metric.needs(), draws=2)
    for d, rows in enumerate(draws):
        stats.add({"lpips": rows}, draw=d)
    assert metric.compute(stats, None)["lpips_best"] == pytest.approx(0.2)
    assert "lowest" in metric.settings()["over_samples"]
    assert "AlexNet" in metric.settings()["lpips"] and metric.conditional


def test_weights_file_checks(tmp_path):
    good = random_weights(0)
    from safetensors.torch import save_file

    def bad(name, tensors):
        path = tmp_path / name
        save_file(tensors, str(path))
        return path

    cases = {
        "missing": ({k: v for k, v in good.items() if k != "lin3.model.1.weight"}, "missing"),
        "shape": ({**good, "net.slice1.0.bias": torch.zeros(65)}, "net.slice1.0.bias"),
        "nan": ({**good, "lin0.model.1.weight": torch.full((1, 64, 1, 1), float("nan"))},
                "NaN"),
        "unknown": ({**good, "net.slice6.0.weight": torch.zeros(1)}, "unexpected keys"),
        "dup": ({**good, "lins.2.model.1.weight": torch.zeros(1, 384, 1, 1)}, "lins.2"),
        "scaling": ({**good, "scaling_layer.shift": torch.zeros(1, 3, 1, 1)}, "scaling"),
    }
    for name, (tensors, fragment) in cases.items():
        path = bad(f"{name}.safetensors", tensors)
        with pytest.raises(InputError, match=fragment) as err:
            read_lpips_file(path)
        assert str(path) in str(err.value)
    not_safetensors = tmp_path / "x.safetensors"
    not_safetensors.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="safetensors"):
        read_lpips_file(not_safetensors)
    # the optional keys, when right, are accepted
    ok = bad("ok.safetensors", {**good, "lins.0.model.1.weight": good["lin0.model.1.weight"] + 0,
                                "scaling_layer.scale": torch.tensor(
                                    [0.458, 0.448, 0.450]).view(1, 3, 1, 1)})
    assert set(read_lpips_file(ok)) == set(expected_shapes())


def test_missing_weights_message_and_the_cache_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsUnavailableError) as err:
        load_lpips()
    message = str(err.value)
    assert str(weights_path()) in message and "--lpips-weights" in message
    assert f"python -m vdbench.metrics.lpips_weights {WEIGHTS_FILE}" in message
    assert "\n" not in message
    # in the cache: recorded at first use, refused once changed
    weights_path().parent.mkdir(parents=True)
    write_weights(weights_path(), seed=1)
    assert isinstance(load_lpips(), LPIPSNet)
    assert weights_path().with_name(WEIGHTS_FILE + ".sha256.json").is_file()
    write_weights(weights_path(), seed=2)
    with pytest.raises(WeightsUnavailableError, match="recorded at its first use"):
        load_lpips()
    # a user's file: nothing is written beside it
    user = write_weights(tmp_path / "mine.safetensors", seed=3)
    LPIPSScore(weights=str(user))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "mine.safetensors"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_reports_lpips_with_weights_and_refuses_without(tmp_path, monkeypatch):
    """`vdbench run shapes --metrics lpips --lpips-weights F`: best (lowest) and mean of the
    per-video LPIPS recomputed here from the run's clips and videos; without weights, one line
    naming the option; the option without the metric, refused."""
    from tests.helpers_run import records
    from tests.test_metric_registry import _shapes_run_videos
    from vdbench.protocols.registry import get_protocol

    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path / "empty-cache"))
    path = write_weights(tmp_path / WEIGHTS_FILE, seed=4)
    base = ["run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
            "--clips", "3", "--samples-per-clip", "2", "--batch-size", "2"]
    res = run(*base, "--metrics", "lpips", "--lpips-weights", path, "--out", tmp_path / "a")
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path / "a")
    protocol = get_protocol("shapes", "quick").with_counts(3, 2)
    real, draws = _shapes_run_videos(protocol)
    k = protocol.context_frames
    per = np.array([rederived(read_lpips_file(path), d[c, k:], real[c, k:]).mean()
                    for d in draws for c in range(3)]).reshape(2, 3)
    assert rec["metrics"]["lpips_best"] == pytest.approx(per.min(axis=0).mean(), abs=1e-6)
    assert rec["metrics"]["lpips_mean"] == pytest.approx(per.mean(), abs=1e-6)
    assert rec["feature_networks"]["lpips"]["weights_sha256"] == {
        WEIGHTS_FILE: __import__("hashlib").sha256(path.read_bytes()).hexdigest()}
    assert "lowest" in rec["metric_settings"]["lpips"]["over_samples"]
    assert rec["counts"]["real"] == 3  # the real pass counts its clips, computing no LPIPS

    res = run(*base, "--metrics", "psnr,lpips", "--out", tmp_path / "b")
    assert_one_error(res, "--lpips-weights", leftovers=[tmp_path / "b"])
    res = run(*base, "--metrics", "psnr", "--lpips-weights", path, "--out", tmp_path / "c")
    assert_one_error(res, "--lpips-weights: no metric")
