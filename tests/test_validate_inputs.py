"""Inputs that can lie (issue 13, item 2): statistics files, .npy/.npz arrays, generated
samples and sampling options. Each bad input is refused with an InputError (or, through the CLI,
exit 2 and exactly one `error:` line naming the file and the field); valid input gives the same
result as before."""

import io
import re
import zipfile

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests.helpers_model import micro_config, randomize
from vdbench.cli import main
from vdbench.metrics.arrays import max_array_bytes, native, npz_keys, read_npy, read_npz
from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats, frechet_distance
from vdbench.metrics.networks import by_family

I3D_LABEL = by_family("i3d").network_label


def _features(n=20, d=6, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(0.5, 2.0, d) + shift


def _stats_arrays(n=20, d=6, seed=0):
    x = _features(n, d, seed)
    return {"count": np.int64(n), "sum": x.sum(0), "sum_outer": x.T @ x,
            "meta_network": np.array(I3D_LABEL)}


def _save(path, arrays):
    np.savez(path, **arrays)
    return path


def _one_error(result, *needles):
    """Exit 2 and exactly one `error:` line (no traceback) holding every needle."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _fvd(*paths):
    return CliRunner().invoke(main, ["fvd", *map(str, paths), "--json"])


# ---------------------------------------------------------------- statistics files

def _neg_psd(a):
    a["sum_outer"] = a["sum_outer"] - 50 * np.trace(a["sum_outer"]) * np.eye(len(a["sum"]))


def _asym(a):
    a["sum_outer"] = a["sum_outer"].copy()
    a["sum_outer"][0, 1] += 1.0


def _set(key, value):
    def edit(a):
        a[key] = value(a) if callable(value) else value
    return edit


def _poison(key, value, index):
    def edit(a):
        a[key] = a[key].copy()
        a[key][index] = value
    return edit


BAD_STATS = {
    # The tampered count (a smaller count makes Σxxᵀ − (Σx)(Σx)ᵀ/n indefinite).
    "count_tampered_3": (_set("count", np.int64(3)), "count, sum, sum_outer"),
    "count_tampered_half": (_set("count", np.int64(10)), "count, sum, sum_outer"),
    "count_1": (_set("count", np.int64(1)), "count"),
    "count_0": (_set("count", np.int64(0)), "count"),
    "count_negative": (_set("count", np.int64(-20)), "count"),
    "count_float": (_set("count", np.float64(20.0)), "count"),
    "count_vector": (_set("count", np.array([20, 20])), "count"),
    "count_string": (_set("count", np.array("20")), "count"),
    "sum_nan": (_poison("sum", np.nan, 0), "sum: contains NaN"),
    "sum_inf": (_poison("sum", np.inf, 2), "sum: contains NaN"),
    "sum_neg_inf": (_poison("sum", -np.inf, 1), "sum: contains NaN"),
    "sum_outer_nan": (_poison("sum_outer", np.nan, (1, 1)), "sum_outer: contains NaN"),
    "sum_outer_inf": (_poison("sum_outer", np.inf, (0, 3)), "sum_outer: contains NaN"),
    "sum_int": (_set("sum", lambda a: a["sum"].astype(np.int64)), "sum: expected a float"),
    "sum_complex": (_set("sum", lambda a: a["sum"].astype(np.complex128)), "sum: expected"),
    "sum_outer_int": (_set("sum_outer", lambda a: a["sum_outer"].astype(np.int32)),
                      "sum_outer: expected a float"),
    "sum_2d": (_set("sum", lambda a: a["sum"][None]), "sum: wrong shape"),
    "sum_outer_wrong_shape": (_set("sum_outer", lambda a: a["sum_outer"][:, :-1]),
                              "sum_outer: wrong shape"),
    "sum_outer_1d": (_set("sum_outer", lambda a: a["sum_outer"][0]), "sum_outer: wrong shape"),
    "sum_outer_asymmetric": (_asym, "sum_outer: not symmetric"),
    # The non-PSD covariance.
    "covariance_not_psd": (_neg_psd, "not positive semi-definite"),
    "diagonal_negative": (_poison("sum_outer", -1.0, (2, 2)), "not positive semi-definite"),
    "sum_inconsistent": (_set("sum", lambda a: a["sum"] * 10), "not positive semi-definite"),
    "missing_sum_outer": (lambda a: a.pop("sum_outer"), "not a statistics file"),
    "missing_count": (lambda a: a.pop("count"), "not a statistics file"),
}


@pytest.mark.parametrize("case", sorted(BAD_STATS))
def test_bad_statistics_refused_by_load(tmp_path, case):
    edit, message = BAD_STATS[case]
    arrays = _stats_arrays()
    edit(arrays)
    path = _save(tmp_path / "bad.npz", arrays)
    with pytest.raises(InputError) as err:
        GaussianStats.load(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("case", ["count_tampered_3", "covariance_not_psd", "sum_nan",
                                  "sum_outer_inf", "count_1", "sum_outer_asymmetric"])
def test_bad_statistics_refused_by_cli(tmp_path, case):
    edit, message = BAD_STATS[case]
    good = _save(tmp_path / "good.npz", _stats_arrays(seed=1))
    arrays = _stats_arrays()
    edit(arrays)
    bad = _save(tmp_path / "bad.npz", arrays)
    _one_error(_fvd(good, bad), "bad.npz", message)
    _one_error(_fvd(bad, good), "bad.npz", message)


def test_wrong_network_recorded_is_refused(tmp_path):
    good = _save(tmp_path / "good.npz", _stats_arrays(seed=1))
    other = _stats_arrays()
    other["meta_network"] = np.array("inception-v3 pool3")
    bad = _save(tmp_path / "other.npz", other)
    _one_error(_fvd(good, bad), "other.npz", "meta_network")
    _one_error(CliRunner().invoke(main, ["fid", str(good), str(bad), "--network", "i3d"]),
               "other.npz", "meta_network")


@pytest.mark.parametrize("value", [np.array(7), np.array(["a", "b"]), np.array(b"i3d")])
def test_meta_network_not_a_string_is_refused(tmp_path, value):
    arrays = _stats_arrays()
    arrays["meta_network"] = value
    bad = _save(tmp_path / "bad.npz", arrays)
    good = _save(tmp_path / "good.npz", _stats_arrays(seed=1))
    _one_error(_fvd(good, bad), "bad.npz", "meta_network")


def test_valid_statistics_give_the_distance_of_their_features(tmp_path):
    xa, xb = _features(30, 5, seed=3), _features(25, 5, seed=4, shift=0.7)
    a, b = GaussianStats.from_features(xa), GaussianStats.from_features(xb)
    a.save(tmp_path / "a.npz", network=I3D_LABEL)
    b.save(tmp_path / "b.npz", network=I3D_LABEL)
    loaded = frechet_distance(GaussianStats.load(tmp_path / "a.npz"),
                              GaussianStats.load(tmp_path / "b.npz"))
    assert loaded == frechet_distance(a, b)
    # An independent value: 1-D Gaussians have d² = (μ1 − μ2)² + (σ1 − σ2)².
    u, v = xa[:, :1], xb[:, :1]
    one = frechet_distance(GaussianStats.from_features(u), GaussianStats.from_features(v))
    expect = (u.mean() - v.mean()) ** 2 + (u.std(ddof=1) - v.std(ddof=1)) ** 2
    assert one == pytest.approx(expect, rel=1e-9)


def test_larger_count_with_the_same_sums_is_consistent(tmp_path):
    """Adding zero vectors leaves both sums unchanged, so a larger count is not a lie: the
    statistics load, and equal those of the features plus the zero rows."""
    x = _features(20, 4, seed=5)
    arrays = {"count": np.int64(26), "sum": x.sum(0), "sum_outer": x.T @ x}
    loaded = GaussianStats.load(_save(tmp_path / "s.npz", arrays))
    padded = GaussianStats.from_features(np.vstack([x, np.zeros((6, 4))]))
    ref = GaussianStats.from_features(_features(30, 4, seed=6))
    assert frechet_distance(loaded, ref) == pytest.approx(frechet_distance(padded, ref),
                                                          rel=1e-12)


def test_rank_deficient_statistics_are_accepted(tmp_path):
    """Fewer samples than dimensions: the covariance is singular (eigenvalues ≈ 0 up to
    rounding), which is valid."""
    x = _features(3, 12, seed=7, shift=100.0)
    arrays = {"count": np.int64(3), "sum": x.sum(0), "sum_outer": x.T @ x}
    loaded = GaussianStats.load(_save(tmp_path / "s.npz", arrays))
    assert loaded.count == 3 and np.allclose(loaded.cov, np.cov(x.T))


def test_big_endian_statistics_give_the_same_distance(tmp_path):
    arrays = _stats_arrays()
    swapped = {k: (v.astype(v.dtype.newbyteorder(">")) if v.dtype.kind in "if" else v)
               for k, v in arrays.items()}
    assert swapped["sum_outer"].dtype.byteorder == ">"
    native_stats = GaussianStats.load(_save(tmp_path / "n.npz", arrays))
    big = GaussianStats.load(_save(tmp_path / "b.npz", swapped))
    assert big.sum.dtype.isnative and big.count == native_stats.count
    ref = GaussianStats.from_features(_features(20, 6, seed=9))
    assert frechet_distance(big, ref) == frechet_distance(native_stats, ref)


def test_frechet_distance_refuses_a_negative_result():
    x = _features(20, 4, seed=1)
    good = GaussianStats.from_features(x)
    bad = GaussianStats(4, 20, x.sum(0), x.T @ x - 100 * np.trace(x.T @ x) * np.eye(4))
    with pytest.raises(InputError, match="not positive semi-definite"):
        frechet_distance(good, bad)
    # Identical sets: zero up to rounding, not refused.
    assert abs(frechet_distance(good, good.copy())) < 1e-9


def test_frechet_distance_refuses_nan_statistics():
    x = _features(20, 4, seed=1)
    bad = GaussianStats(4, 20, x.sum(0), np.full((4, 4), np.nan))
    with pytest.raises(InputError, match="NaN or inf"):
        frechet_distance(GaussianStats.from_features(x), bad)


# ---------------------------------------------------------------- .npz / .npy files

def _zip_with(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy_bytes(array=None, *, header_shape=None, dtype="<f8"):
    """An .npy image; ``header_shape`` makes the header declare another shape than the data."""
    buf = io.BytesIO()
    if header_shape is None:
        np.save(buf, array, allow_pickle=array.dtype.hasobject)
        return buf.getvalue()
    header = {"descr": dtype, "fortran_order": False, "shape": header_shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\0" * 64


def _object_array():
    a = np.empty(2, dtype=object)
    a[0], a[1] = {"x": 1}, [2]
    return a


def test_object_member_refused(tmp_path):
    path = _zip_with(tmp_path / "o.npz", {"sum.npy": _npy_bytes(_object_array())})
    with pytest.raises(InputError, match=r"o\.npz: sum: object arrays"):
        read_npz(path)


def test_object_npy_refused(tmp_path):
    np.save(tmp_path / "o.npy", _object_array(), allow_pickle=True)
    with pytest.raises(InputError, match=r"o\.npy: object arrays"):
        read_npy(tmp_path / "o.npy")
    with pytest.raises(InputError, match="object arrays"):
        read_npy(tmp_path / "o.npy", mmap=True)


def test_member_that_is_not_npy_refused(tmp_path):
    path = _zip_with(tmp_path / "m.npz", {"sum.npy": _npy_bytes(np.ones(3)),
                                          "notes.txt": b"hello"})
    with pytest.raises(InputError, match=r"m\.npz: member 'notes\.txt' is not an \.npy"):
        read_npz(path)


def test_member_named_npy_but_not_npy_refused(tmp_path):
    path = _zip_with(tmp_path / "m.npz", {"sum.npy": b"this is not an array"})
    with pytest.raises(InputError, match=r"m\.npz: cannot read"):
        read_npz(path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 10, b"PK\x03\x04broken"])
def test_not_a_zip_refused(tmp_path, content):
    (tmp_path / "x.npz").write_bytes(content)
    with pytest.raises(InputError, match=r"x\.npz: cannot read as \.npz"):
        read_npz(tmp_path / "x.npz")


def test_truncated_npz_refused(tmp_path):
    _save(tmp_path / "t.npz", _stats_arrays())
    data = (tmp_path / "t.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"t\.npz: cannot read"):
        GaussianStats.load(tmp_path / "t.npz")


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY", b"not numpy at all"])
def test_bad_npy_refused(tmp_path, content):
    (tmp_path / "x.npy").write_bytes(content)
    with pytest.raises(InputError, match=r"x\.npy: cannot read as \.npy"):
        read_npy(tmp_path / "x.npy")


def test_zip_bomb_refused_before_allocating(tmp_path, monkeypatch):
    """A small .npz that decompresses to far more than the cap (the issue: 478 KB → 929 MB)."""
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, sum=np.zeros(20_000_000, dtype=np.uint8))
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("VDBENCH_MAX_ARRAY_BYTES", "1000000")
    with pytest.raises(InputError, match=r"bomb\.npz: sum: .*over the cap of 1000000"):
        read_npz(path)
    with pytest.raises(InputError, match="over the cap"):
        GaussianStats.load(path)
    monkeypatch.setenv("VDBENCH_MAX_ARRAY_BYTES", "30000000")
    assert read_npz(path)["sum"].shape == (20_000_000,)


def test_header_declaring_a_huge_array_refused_at_the_default_cap(tmp_path):
    """An .npy header may declare any shape: 10¹² float64 is refused from the header alone."""
    path = _zip_with(tmp_path / "h.npz", {"sum.npy": _npy_bytes(header_shape=(10**12,))})
    with pytest.raises(InputError, match="over the cap"):
        read_npz(path)
    (tmp_path / "h.npy").write_bytes(_npy_bytes(header_shape=(10**6, 10**6)))
    with pytest.raises(InputError, match="over the cap"):
        read_npy(tmp_path / "h.npy")


def test_cap_counts_every_member_read(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros(600, np.uint8), b=np.zeros(600, np.uint8))
    with pytest.raises(InputError, match="over the cap"):
        read_npz(path, max_bytes=1000)
    assert read_npz(path, ["a"], max_bytes=1000)["a"].shape == (600,)


def test_only_requested_members_are_read(tmp_path):
    """A member not asked for is never decompressed, whatever it holds."""
    path = _zip_with(tmp_path / "s.npz", {"sum.npy": _npy_bytes(np.arange(3.0)),
                                          "junk.npy": _npy_bytes(_object_array())})
    assert np.array_equal(read_npz(path, ["sum"])["sum"], np.arange(3.0))
    assert npz_keys(path) == ["sum", "junk"]


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1.5"])
def test_bad_cap_setting_refused(monkeypatch, raw):
    monkeypatch.setenv("VDBENCH_MAX_ARRAY_BYTES", raw)
    with pytest.raises(InputError, match="VDBENCH_MAX_ARRAY_BYTES"):
        max_array_bytes()


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i4", ">u2", "<f8", "|u1"])
def test_big_endian_arrays_are_converted(tmp_path, dtype):
    values = np.arange(12).reshape(3, 4).astype(dtype)
    np.save(tmp_path / "a.npy", values)
    np.savez(tmp_path / "a.npz", a=values)
    for got in (read_npy(tmp_path / "a.npy"), read_npz(tmp_path / "a.npz")["a"]):
        assert got.dtype.isnative and np.array_equal(got, np.arange(12).reshape(3, 4))
    assert native(read_npy(tmp_path / "a.npy", mmap=True)).dtype.isnative


# ---------------------------------------------------------------- arrays of other commands

def test_c3d_weights_with_object_member_refused(tmp_path):
    from vdbench.metrics.c3d_weights import read_c3d_npz, read_mean

    path = _zip_with(tmp_path / "w.npz", {"conv1a/W.npy": _npy_bytes(_object_array())})
    with pytest.raises(InputError, match=r"w\.npz: conv1a/W: object arrays"):
        read_c3d_npz(path)
    mean = _zip_with(tmp_path / "mean2.npz", {"mean.npy": _npy_bytes(_object_array())})
    with pytest.raises(InputError, match=r"mean2\.npz: mean: object arrays"):
        read_mean(mean)


def test_c3d_weights_with_nan_refused(tmp_path):
    from vdbench.metrics.c3d_weights import expected_shapes, read_c3d_npz

    arrays = {k: np.zeros(s, np.float32) for k, s in expected_shapes().items()}
    arrays["fc8/b"][3] = np.nan
    np.savez(tmp_path / "w.npz", **arrays)
    with pytest.raises(InputError, match=r"w\.npz: fc8/b contains NaN"):
        read_c3d_npz(tmp_path / "w.npz")


def test_user_video_arrays(tmp_path, monkeypatch):
    from vdbench.protocols.datasets.generic import open_source

    np.save(tmp_path / "o.npy", _object_array(), allow_pickle=True)
    with pytest.raises(InputError, match=r"o\.npy: object arrays"):
        open_source(tmp_path / "o.npy")
    videos = np.random.default_rng(0).integers(0, 256, (2, 4, 8, 8, 3), dtype=np.uint8)
    np.savez_compressed(tmp_path / "v.npz", videos=videos)
    monkeypatch.setenv("VDBENCH_MAX_ARRAY_BYTES", "1000")
    with pytest.raises(InputError, match=r"v\.npz: videos: .*over the cap"):
        open_source(tmp_path / "v.npz")
    monkeypatch.delenv("VDBENCH_MAX_ARRAY_BYTES")
    assert len(open_source(tmp_path / "v.npz")) == 2


def test_logits_with_nan_refused(tmp_path):
    from vdbench.engine.streaming import read_logits

    logits = np.random.default_rng(0).normal(size=(4, 5))
    np.save(tmp_path / "ok.npy", logits)
    assert np.array_equal(read_logits(tmp_path / "ok.npy"), logits)
    logits[1, 2] = np.inf
    np.save(tmp_path / "bad.npy", logits)
    with pytest.raises(InputError, match=r"bad\.npy: logits contain NaN"):
        read_logits(tmp_path / "bad.npy")


# ---------------------------------------------------------------- generated samples

def _sample(*args):
    return CliRunner().invoke(main, ["sample", *map(str, args)])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_to_uint8_refuses_non_finite_samples(value):
    from vdbench.model.errors import GenerationError
    from vdbench.model.generate import to_uint8

    x = torch.zeros(1, 3, 2, 4, 4)
    x[0, 1, 1, 2, 3] = value
    with pytest.raises(GenerationError, match=r"checkpoint run7: .*NaN or inf \(1 of 96"):
        to_uint8(x, "checkpoint run7")


def test_to_uint8_of_finite_samples_is_unchanged():
    from vdbench.model.generate import to_uint8

    x = torch.linspace(-1.5, 1.5, 2 * 3 * 2 * 4 * 4, dtype=torch.float64).reshape(2, 3, 2, 4, 4)
    expect = np.clip(np.round((np.clip(x.numpy(), -1, 1) + 1) * 127.5), 0, 255).astype(np.uint8)
    assert np.array_equal(to_uint8(x), expect.transpose(0, 2, 3, 4, 1))


def test_checkpoint_with_nan_weights_is_an_error_naming_it(tmp_path):
    """The issue: NaN weights wrote all-black videos with exit 0."""
    from vdbench.model.checkpoint import save_checkpoint
    from vdbench.model.unet3d import UNet3D

    config = micro_config()
    net = randomize(UNet3D(config), scale=0.05)
    tensors = {f"ema/{k}": v.clone() for k, v in net.state_dict().items()}
    for value in tensors.values():
        if value.is_floating_point():
            value.fill_(float("nan"))
    save_checkpoint(tmp_path / "nanrun", 1, config, tensors)
    out = tmp_path / "s.npy"
    result = _sample("--checkpoint", tmp_path / "nanrun", "--steps", "2", "-n", "1",
                     "--out", out)
    _one_error(result, "nanrun", "NaN or inf")
    assert not out.exists()


@pytest.mark.parametrize("stride", ["0", "-3"])
def test_interpolate_stride_below_one_refused(tmp_path, stride):
    keys = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "keys.npy", keys)
    result = _sample("--oracle", "--steps", "2", "-n", "1", "--context", tmp_path / "keys.npy",
                     "--interpolate-stride", stride, "--frames", "8",
                     "--conditioning", "replacement", "--out", tmp_path / "o.npy")
    _one_error(result, "--interpolate-stride", "at least 1")
    assert not (tmp_path / "o.npy").exists()


def test_sample_request_refuses_stride_zero():
    from vdbench.model.errors import ConditioningInputError
    from vdbench.model.generate import SampleRequest
    from vdbench.model.settings import SamplingSettings

    with pytest.raises(ConditioningInputError, match="--interpolate-stride"):
        SampleRequest(SamplingSettings(), 8, 1, interpolate_stride=0)


@pytest.mark.parametrize("kind", ["object", "not_npy", "header_bomb"])
def test_bad_context_file_refused(tmp_path, kind):
    path = tmp_path / "ctx.npy"
    if kind == "object":
        np.save(path, _object_array(), allow_pickle=True)
    elif kind == "not_npy":
        path.write_bytes(b"PK\x03\x04 not an npy")
    else:
        path.write_bytes(_npy_bytes(header_shape=(10**5, 10**5, 8, 3), dtype="|u1"))
    result = _sample("--oracle", "--steps", "2", "-n", "1", "--context", path,
                     "--out", tmp_path / "o.npy")
    _one_error(result, "ctx.npy")


def test_big_endian_context_gives_the_same_samples(tmp_path):
    ctx = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype(np.float64) / 255
    ctx = ctx * 2 - 1
    np.save(tmp_path / "n.npy", ctx)
    np.save(tmp_path / "b.npy", ctx.astype(">f8"))
    outs = []
    for name in ("n", "b"):
        out = tmp_path / f"{name}_out.npy"
        result = _sample("--oracle", "--steps", "3", "-n", "1", "--context",
                         tmp_path / f"{name}.npy", "--frames", "12",
                         "--conditioning", "replacement", "--out", out)
        assert result.exit_code == 0, result.output
        outs.append(np.load(out))
    assert np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize("option", ["--guidance-weight", "--cfg-weight", "--gamma"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_float_sampling_options_must_be_finite(tmp_path, option, value):
    result = _sample("--oracle", "--steps", "2", "-n", "1", option, value,
                     "--out", tmp_path / "o.npy")
    line = _one_error(result)
    assert re.search(re.escape(option) + "|" + option.lstrip("-").replace("-", "_"), line), line
    assert not (tmp_path / "o.npy").exists()


@pytest.mark.parametrize("key", ["train.lr", "train.grad_clip", "train.weight_decay",
                                 "sampling.recon_guidance_weight", "diffusion.logsnr_max",
                                 "unet.dropout"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_config_floats_must_be_finite(key, value):
    from vdbench.model.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(key) + " must be finite"):
        micro_config(**{key: value})


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_train_lr_non_finite_refused_by_cli(tmp_path, value):
    np.save(tmp_path / "data.npy", np.zeros((2, 4, 16, 16, 3), dtype=np.uint8))
    result = CliRunner().invoke(main, ["train", "--config", "tiny", "--lr", value,
                                       "--data", str(tmp_path / "data.npy"),
                                       "--out", str(tmp_path / "run"), "--steps", "1"])
    _one_error(result, "train.lr")
    assert not (tmp_path / "run").exists()


def test_member_shorter_than_its_header_refused(tmp_path):
    """The header declares 1000 float64 (8 KB, under the cap); the data holds 64 bytes."""
    path = _zip_with(tmp_path / "s.npz", {"sum.npy": _npy_bytes(header_shape=(1000,))})
    with pytest.raises(InputError, match=r"s\.npz: cannot read as \.npz"):
        read_npz(path)


def test_fortran_order_and_float32_statistics_load_unchanged(tmp_path):
    """Valid variants of a statistics file: Fortran-ordered and float32 sums (cast to
    float64) load to the same values."""
    arrays = _stats_arrays(seed=4)
    ref = GaussianStats.load(_save(tmp_path / "a.npz", arrays))
    fortran = dict(arrays, sum_outer=np.asfortranarray(arrays["sum_outer"]))
    loaded = GaussianStats.load(_save(tmp_path / "f.npz", fortran))
    assert np.array_equal(loaded.sum_outer, ref.sum_outer)
    single = {k: (v.astype(np.float32) if v.dtype == np.float64 else v)
              for k, v in arrays.items()}
    loaded32 = GaussianStats.load(_save(tmp_path / "s.npz", single))
    assert loaded32.sum.dtype == np.float64
    assert np.array_equal(loaded32.sum, arrays["sum"].astype(np.float32).astype(np.float64))
