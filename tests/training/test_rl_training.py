"""Offline RL through the trainer on a singletask dataset: end to end, records, divergence stop."""

import importlib.metadata
import json
import os

import numpy as np
import pytest

from tests.training.conftest import tiny_run
from tests.agents import tiny
from tfnfrl.training import metrics_log, trainer

SINGLETASK = "pointmaze-medium-navigate-singletask-task1-v0"  # Fast (no MuJoCo rendering), OGBench rewards.


def _config(name):
    config = tiny.tiny_config(name)
    config.batch_size = 16
    return config


@pytest.mark.parametrize("name", ["nf_rlbc", "rebrac", "bc"])
def test_tiny_singletask_run_end_to_end(name, tiny_data_dir, tmp_path):
    workdir = str(tmp_path / name)
    result = trainer.train(_config(name), tiny_run(tiny_data_dir, env_name=SINGLETASK, eval_episodes=1), workdir)
    assert result["task_ids"] == [1] and 0.0 <= result["success/task1"] <= 1.0 and result["episodes_per_task"] == 1
    rows = metrics_log.read_metrics(workdir)
    logged = {k for r in rows for k in r}
    groups = {"critic", "actor"} if name != "bc" else {"actor"}
    for group in groups:
        assert {f"training/{group}/loss", f"training/{group}/grad_norm", f"training/{group}/learning_rate"} <= logged
    assert all(np.isfinite(r[k]) for r in rows for k in r if k.startswith("training/") and r[k] is not None)
    with open(os.path.join(workdir, "config.json")) as f:
        resolved = json.load(f)
    # The conftest generated the files (seed 0, 4 + 1 episodes of 100 steps): the record says so.
    data = resolved["data"]
    assert (data["source"], data["seed"], data["dataset"]) == ("generated", 0, "pointmaze-medium-navigate-v0")
    assert (data["num_episodes"], data["num_val_episodes"], data["episode_length"]) == (4, 1, 100)
    assert data["dataset_dir"] == os.path.abspath(tiny_data_dir)
    assert data["ogbench_version"] == importlib.metadata.version("ogbench")
    if name != "bc":
        assert resolved["dims"]["reward_abs_max"] == 1.0  # Pointmaze singletask rewards are -1 / 0.


class _TinyBoundTrainer(trainer.Trainer):
    """Builds an NF-RLBC whose allowed |Q| is tiny, so the first update 'diverges'."""

    def build_agent(self, spec):
        agent = super().build_agent(spec)
        agent.q_bound = 1e-9
        return agent


def test_diverging_critic_stops_the_run_naming_the_step_and_last_checkpoint(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "diverged")
    with pytest.raises(trainer.DivergenceError) as error:
        _TinyBoundTrainer(_config("nf_rlbc"), tiny_run(tiny_data_dir, env_name=SINGLETASK, steps_per_loop=1),
                          workdir).run()
    message = str(error.value)
    assert "stopped at step 1:" in message and "critic diverged" in message
    assert "No checkpoint had been saved yet" in message
    assert not os.path.exists(os.path.join(workdir, "checkpoints", "checkpoint"))
    # Several updates per compiled call (log and checkpoint every 5): the error names the call's range.
    with pytest.raises(trainer.DivergenceError, match=r"stopped at step 5 \(.*began in updates 1-5;.*No checkpoint"):
        _TinyBoundTrainer(_config("nf_rlbc"), tiny_run(tiny_data_dir, env_name=SINGLETASK, steps_per_loop=10),
                          str(tmp_path / "diverged_in_a_loop")).run()
