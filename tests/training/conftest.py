"""A tiny pointmaze dataset and tiny run configs for the trainer tests."""

import pytest

from tests.agents import tiny
from tfnfrl.data.generation import generate_dataset
from tfnfrl.training import run_config

ENV = "pointmaze-medium-navigate-v0"


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """4 training (+1 validation) episodes of 100 steps, generated in-process (< 1 s)."""
    directory = tmp_path_factory.mktemp("tiny_data")
    generate_dataset(ENV, str(directory), num_episodes=4, episode_length=100, progress=False)
    return str(directory)


def tiny_run(data_dir, **overrides):
    """A run config of a few steps, no evaluation, no progress bars."""
    config = run_config.get_run_config()
    config.env_name = ENV
    config.dataset_dir = data_dir
    config.steps = 20
    config.eval_every = 0
    config.eval_episodes = 0
    config.log_every = 5
    config.checkpoint_every = 5
    config.progress = False
    config.update(overrides)
    return config


def tiny_agent_config(name="gcbc", **kwargs):
    """A tiny agent config (default: Gaussian GCBC, the fastest to compile)."""
    config = tiny.tiny_config(name, **kwargs)
    config.batch_size = 16
    return config
