"""The included model as a text-to-video generator: caption embeddings reach the network."""

import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.model.checkpoint import save_checkpoint
from vdbench.model.errors import SamplerInputError
from vdbench.model.unet3d import UNet3D
from tests.helpers_model import micro_config, randomize
from vdbench.engine.included_model import DiffusionGenerator
from vdbench.model.settings import SamplingSettings
from vdbench.engine.generator import GenerationRequest
from vdbench.model.generate import load_model

TEXT_DIM = 8


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    # v-prediction keeps a random network's samples off the clipping bounds, and a strong
    # random conditioning embedding makes the captions' effect visible after rounding to uint8.
    config = micro_config(**{"unet.cond": "text", "unet.text_dim": TEXT_DIM,
                             "diffusion.prediction": "v"})
    net = randomize(UNet3D(config), scale=0.05)
    randomize(net.embed, scale=1.0, seed=1)
    run = tmp_path_factory.mktemp("t2v") / "run"
    save_checkpoint(run, 1, config, {f"ema/{k}": v for k, v in net.state_dict().items()})
    return run


def _generate(checkpoint, text, batch_size=2, cfg_weight=0.0, seeds=(5, 6)):
    settings = SamplingSettings(steps=3, conditioning="none", cfg_weight=cfg_weight)
    generator = DiffusionGenerator(settings, checkpoint, batch_size=batch_size)
    return generator.generate(GenerationRequest(seeds, 4, 16, text=text))


def _text(seed, shape=(2, 3, TEXT_DIM)):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_captions_condition_the_samples(checkpoint):
    a = _generate(checkpoint, _text(0))
    assert a.shape == (2, 4, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, _generate(checkpoint, _text(0)))
    assert not np.array_equal(a, _generate(checkpoint, _text(1)))  # other captions, same seeds
    # Batch-size independence holds with per-sample captions: each keeps its own embedding.
    np.testing.assert_array_equal(a, _generate(checkpoint, _text(0), batch_size=1))
    second = _generate(checkpoint, _text(0)[1:], seeds=(6,))
    np.testing.assert_array_equal(a[1:], second)


def test_pooled_embeddings_are_one_token(checkpoint):
    pooled = _text(2, (2, TEXT_DIM))
    np.testing.assert_array_equal(_generate(checkpoint, pooled),
                                  _generate(checkpoint, pooled[:, None]))


def test_classifier_free_guidance_on_captions(checkpoint):
    plain, guided = _generate(checkpoint, _text(0)), _generate(checkpoint, _text(0), cfg_weight=3)
    assert guided.shape == plain.shape and not np.array_equal(plain, guided)


def test_text_model_needs_embeddings_of_its_width(checkpoint):
    with pytest.raises(InputError, match="text-conditional but the request has no caption"):
        _generate(checkpoint, None)
    with pytest.raises(InputError, match=f"width {TEXT_DIM}, the request's are 5 wide"):
        _generate(checkpoint, _text(0, (2, 3, 5)))
    with pytest.raises(SamplerInputError, match="conditioned on 'text'"):
        load_model(False, checkpoint, "cpu")  # `vdbench sample` has no caption option yet
