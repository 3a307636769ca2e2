"""The FID Inception (torch-fidelity's TF-graph port) on random weights: our loading path and
the FID/IS-avg and -first frame semantics. The real weights cannot be fetched here."""

import io

import numpy as np
import pytest
import torch

from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.inception import InceptionFeatures
from vdbench.metrics import inception_weights
from vdbench.metrics.inception_weights import fidelity_inception_class, load_inception


def _skeleton():
    """torch-fidelity's architecture with torch's default init (its weight loading skipped)."""
    class Skeleton(fidelity_inception_class()):
        def load_state_dict(self, *args, **kwargs):
            return None

    buffer = io.BytesIO()
    torch.save({}, buffer)
    buffer.seek(0)
    return Skeleton("skeleton", ["2048", "logits_unbiased"], feature_extractor_weights_path=buffer)


def _random_state(seed=0):
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, t in _skeleton().state_dict().items():
        if not torch.is_floating_point(t):
            state[key] = t
        elif key.endswith("running_var"):
            state[key] = torch.rand(t.shape, generator=g) + 0.5
        elif key.endswith(("bn.weight",)):
            state[key] = torch.rand(t.shape, generator=g) * 0.4 + 0.8
        elif t.ndim >= 2:
            fan_in = t[0].numel()
            state[key] = torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5
        else:
            state[key] = torch.randn(t.shape, generator=g) * 0.1
    return state


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(_random_state(), path)
    return path


@pytest.fixture(scope="module")
def model(weights_file):
    return load_inception(weights_file)


def _videos(seed, shape=(2, 3, 24, 32, 3)):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_loaded_weights_are_the_files(model, weights_file):
    reference = _skeleton()
    torch.nn.Module.load_state_dict(reference, torch.load(weights_file, weights_only=True))
    frames = torch.from_numpy(_videos(1)[0]).permute(0, 3, 1, 2).contiguous()
    with torch.inference_mode():
        for ours, ref in zip(model(frames), reference.eval()(frames), strict=True):
            assert torch.equal(ours, ref)
    pool, logits = model(frames)
    assert pool.shape == (3, 2048) and logits.shape == (3, 1008)


def test_first_uses_frame_zero_and_avg_averages_frames(model):
    videos = _videos(2)
    avg = InceptionFeatures("avg", model=model)
    first = InceptionFeatures("first", model=model)
    per_pool, per_logits = avg.per_frame(torch.from_numpy(videos).flatten(0, 1))
    per_pool, per_logits = per_pool.reshape(2, 3, -1), per_logits.reshape(2, 3, -1)
    f_pool, f_logits = first.features_and_logits(videos)
    np.testing.assert_allclose(f_pool, per_pool[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f_logits, per_logits[:, 0], rtol=1e-5, atol=1e-5)
    a_pool, a_logits = avg.features_and_logits(videos)
    np.testing.assert_allclose(a_pool, per_pool.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a_logits, per_logits.mean(axis=1), rtol=1e-5, atol=1e-5)
    assert not np.allclose(a_pool, f_pool, rtol=1e-3)  # the frames differ, so must these
    still = np.repeat(videos[:, :1], 3, axis=1)  # a still video: avg = first
    np.testing.assert_allclose(avg(still), first(still), rtol=1e-5, atol=1e-6)


def test_float_input_is_quantised_like_uint8(model):
    videos = _videos(3, (1, 1, 16, 16, 3))
    inc = InceptionFeatures("first", model=model)
    np.testing.assert_allclose(inc(videos.astype(np.float32) / 255.0, "0-1"), inc(videos),
                               rtol=1e-6)
    with pytest.raises(InputError, match="explicit value_range"):
        inc(videos.astype(np.float32))


def test_loader_refuses_wrong_keys_shapes_and_pickles(tmp_path):
    state = _random_state(1)
    del state["fc.bias"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(InputError, match=r"missing\.pth: not the FID Inception weights.*fc\.bias"):
        load_inception(tmp_path / "missing.pth")
    state = _random_state(1)
    state["fc.weight"] = torch.zeros(1000, 2048)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(InputError, match=r"shape\.pth: not the FID Inception weights.*fc\.weight"):
        load_inception(tmp_path / "shape.pth")
    torch.save({"net": torch.nn.Linear(2, 2)}, tmp_path / "module.pth")  # needs a full unpickler
    with pytest.raises(InputError, match=r"module\.pth: cannot read as a torch state dict"):
        load_inception(tmp_path / "module.pth")


def test_offline_message_names_file_url_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))

    def offline(url, dest, what, timeout=60.0):
        raise WeightsUnavailableError("network unreachable")

    monkeypatch.setattr(inception_weights, "download", offline)
    with pytest.raises(WeightsUnavailableError) as err:
        InceptionFeatures("avg")
    msg = str(err.value)
    assert inception_weights.WEIGHTS_FILE in msg and inception_weights.URL in msg
    assert str(tmp_path / "weights") in msg


def test_cached_file_with_wrong_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))
    path = inception_weights.weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the weights")
    with pytest.raises(WeightsUnavailableError, match="does not start with 6726825d"):
        inception_weights.fetch_inception_weights()


def test_frames_mode_is_checked(model):
    with pytest.raises(InputError, match="frames must be one of"):
        InceptionFeatures("mean", model=model)
