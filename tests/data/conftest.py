"""Tiny datasets generated once per test session (a few short episodes each)."""

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
