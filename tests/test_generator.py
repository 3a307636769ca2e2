import numpy as np
import pytest

from metrics.errors import InputError
from vdbench.generator import GenerationRequest, check_output, load_factory, sample_seed


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
