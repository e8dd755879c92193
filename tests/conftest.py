"""Shared pytest setup: quiet TF logging, CPU only, and no dataset download from the internet.

Every test process, and every launch script a test starts (they inherit the environment),
sees $TFNFRL_DATASET_URL pointing at a local port nothing listens on, so a test that misses
a dataset fails or falls back at once instead of reaching OGBench's server
(tests/data/conftest.py serves its own test server where downloads are under test).
"""

import os
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def _closed_local_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ogbench"


os.environ["TFNFRL_DATASET_URL"] = _closed_local_url()
