import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.engine.generator import GenerationRequest, check_output, load_factory, sample_seed


def test_seed_is_a_pure_function_of_indices():
    seeds = {sample_seed(0, c, s) for c in range(50) for s in range(20)}
    assert len(seeds) == 1000  # no collisions
    assert sample_seed(3, 7, 2) == sample_seed(3, 7, 2)
    assert sample_seed(3, 7, 2) != sample_seed(4, 7, 2)
    assert all(0 <= s < 2**63 for s in seeds)


class _Gen:
    name = "const"

    def generate(self, request):
        return np.zeros((len(request.seeds), request.frames, request.resolution,
                         request.resolution, 3), np.uint8)


def make(**kwargs):
    return _Gen()


def not_a_generator(**kwargs):
    return object()


def test_factory_loading_and_output_check():
    gen = load_factory("tests.test_generator:make", resolution=8, frames=4, device="cpu")
    req = GenerationRequest(seeds=(1, 2), frames=4, resolution=8)
    assert check_output(gen.generate(req), req, gen.name).shape == (2, 4, 8, 8, 3)
    with pytest.raises(InputError, match="expected uint8"):
        check_output(np.zeros((2, 4, 8, 8, 3), np.float32), req, "x")
    with pytest.raises(InputError, match="lacks"):
        load_factory("tests.test_generator:not_a_generator")
    with pytest.raises(InputError, match="cannot load"):
        load_factory("tests.nope:make")
    with pytest.raises(InputError, match="package.module:factory"):
        load_factory("justaname")


def test_request_validates_context():
    with pytest.raises(InputError, match="context"):
        GenerationRequest(seeds=(1,), frames=4, resolution=8,
                          context=np.zeros((2, 1, 8, 8, 3), np.uint8))


def test_request_validates_captions_and_text():
    seeds = (1, 2)
    ok = GenerationRequest(seeds, 4, 8, captions=("a", "b"), text=np.zeros((2, 3, 5), np.float32))
    assert ok.captions == ("a", "b") and ok.text.shape == (2, 3, 5)
    assert GenerationRequest(seeds, 4, 8, text=np.zeros((2, 5), np.float16)).text.ndim == 2
    with pytest.raises(InputError, match="captions must be 2 strings.*got 1"):
        GenerationRequest(seeds, 4, 8, captions=("a",))
    with pytest.raises(InputError, match="captions must be 2 strings"):
        GenerationRequest(seeds, 4, 8, captions=("a", 3))
    for bad in (np.zeros((3, 5), np.float32), np.zeros((2, 5), np.int64),
                np.zeros((2, 1, 1, 5), np.float32), [[0.0], [1.0]]):
        with pytest.raises(InputError, match=r"text must be float caption embeddings \[2, L, D\]"):
            GenerationRequest(seeds, 4, 8, text=bad)
