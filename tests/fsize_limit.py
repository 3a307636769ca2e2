"""Imported first in a test subprocess: the kernel kills the process (SIGXFSZ, which, like
SIGKILL, runs no Python cleanup) at the first write that would make any file larger than
``VDBENCH_TEST_FSIZE`` bytes. The real writers are thus killed in the middle of a real write of
a large file; small files (JSON sidecars, manifests) are written normally."""

import os
import resource
import signal
import sys

sys.dont_write_bytecode = True  # a .pyc over the limit must not be what gets killed
LIMIT = int(os.environ.get("VDBENCH_TEST_FSIZE", "30000"))
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # CPython ignores it (the write would just fail)
resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
