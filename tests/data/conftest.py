"""Tiny datasets generated once per test session (a few short episodes each), and no internet.

Every test here sees OGBench's download URL pointed at a closed port on 127.0.0.1, so a
test that (wrongly) triggers a download fails at once instead of reaching the internet.
"""

import socket

import ogbench.utils
import pytest

from tfnfrl.data.generation import generate_dataset

# name -> (training episodes, steps per episode); validation adds one more episode.
TINY = {
    "pointmaze-medium-navigate-v0": (4, 60),
    "cube-single-play-v0": (2, 50),
    "puzzle-3x3-noisy-v0": (2, 40),
}


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A directory holding the TINY datasets (train and -val files), generated in-process."""
    directory = tmp_path_factory.mktemp("ogbench_data")
    for name, (episodes, length) in TINY.items():
        generate_dataset(name, str(directory), num_episodes=episodes, num_workers=1, seed=0,
                         episode_length=length, progress=False)
    return directory


def closed_local_url():
    """http://127.0.0.1:PORT/ogbench with a port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ogbench"


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Points ogbench.utils.DATASET_URL (read by tfnfrl.data.sources) at a closed local port."""
    monkeypatch.setattr(ogbench.utils, "DATASET_URL", closed_local_url())
    # tests/conftest.py's process-wide override would win over DATASET_URL: these tests patch that.
    monkeypatch.delenv("TFNFRL_DATASET_URL", raising=False)
