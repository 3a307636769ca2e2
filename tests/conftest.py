import os

# Determinism and modest CPU use in tests: one intra-op thread per pytest worker.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import torch  # noqa: E402

torch.set_num_threads(1)
