"""Online NF-UGS training end to end on pointmaze (2 envs, short episodes), and exact resume at round ends."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfnfrl import agents
from tfnfrl.data import replay as replay_lib
from tfnfrl.envs import coverage as coverage_lib
from tfnfrl.envs import registry, trajectory_plot
from tfnfrl.training import metrics_log, online, presets, run_config, trainer

ENV = "pointmaze-medium-navigate-v0"


def _configs(steps, **run_overrides):
    agent_config, run = presets.apply_preset("tiny", agents.get_config("nf_ugs"), run_config.get_run_config())
    run.env_name, run.steps, run.progress = ENV, steps, False
    run.eval_every, run.eval_episodes, run.checkpoint_every, run.log_every = 0, 0, 20, 10
    run.update(run_overrides)
    return agent_config, run


def _weights(workdir):
    reader = tf.train.load_checkpoint(os.path.join(workdir, "checkpoints"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n.startswith("agent/")}


def test_tiny_online_run_end_to_end(tmp_path):
    workdir = str(tmp_path / "ugs")
    agent_config, run = _configs(40, eval_episodes=1, eval_tasks=(1,))  # 2 rounds of 2 envs x 100 steps.
    result = trainer.train(agent_config, run, workdir)
    assert result["collection/env_steps"] == 400 and 0.0 < result["collection/coverage"] <= 1.0
    assert 0.0 <= result["success/task1"] <= 1.0
    with open(os.path.join(workdir, trainer.FINAL_EVAL_FILE)) as f:
        assert json.load(f)["step"] == 40
    rows = metrics_log.read_metrics(workdir)
    logged = {k for r in rows for k in r}
    for key in ("training/critic/loss", "training/actor/loss", "training/alpha/loss", "training/actor/entropy",
                "collection/coverage", "collection/env_steps_per_second", "training/updates_per_second"):
        assert key in logged, key
    assert os.path.getsize(os.path.join(workdir, online.COVERAGE_PNG)) > 1000
    buffer = replay_lib.EpisodeReplay.load(os.path.join(workdir, f"{online.REPLAY_PREFIX}40.npz"))
    assert buffer.num_transitions == 400 and buffer.num_episodes == 4
    # Coverage recomputed from the stored episodes: the cells of every state reached by a step
    # (the reset state of each episode is not a visit), out of the maze's 26 free cells.
    with np.load(os.path.join(workdir, f"{online.REPLAY_PREFIX}40.npz")) as saved:
        filled = saved["lengths"] == 100
        reached = saved["observations"][filled][:, 1:101, :2].reshape(-1, 2)
    assert filled.sum() == 4
    env = registry.make_env(ENV)
    layout = trajectory_plot.maze_layout(env)
    env.close()
    visited = {tuple(cell) for cell in coverage_lib.MazeCoverage(layout).cells(reached)}
    free = {tuple(cell) for cell in np.argwhere(layout["maze_map"] == 0)}
    assert result["collection/coverage"] == pytest.approx(len(visited & free) / len(free))
    assert 1 < len(visited & free) < len(free)  # Neither trivial nor complete.
    with open(os.path.join(workdir, "config.json")) as f:
        assert json.load(f)["collection"]["env_steps_per_update"] == 10.0


def test_resumed_online_run_equals_the_uninterrupted_one(tmp_path):
    full, split = str(tmp_path / "full"), str(tmp_path / "split")
    trainer.train(*_configs(60), full)
    trainer.train(*_configs(20), split)  # Stopped after the first round (a checkpoint at 20 updates) ...
    trainer.train(*_configs(60), split)  # ... then resumed to the end.
    a, b = _weights(full), _weights(split)
    assert a.keys() == b.keys() and any("target" not in n for n in a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    for step in (60,):
        x = replay_lib.EpisodeReplay.load(os.path.join(full, f"{online.REPLAY_PREFIX}{step}.npz")).sample(64, 0)
        y = replay_lib.EpisodeReplay.load(os.path.join(split, f"{online.REPLAY_PREFIX}{step}.npz")).sample(64, 0)
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])


def test_update_budget_must_be_whole_rounds(tmp_path):
    agent_config, run = _configs(30)
    with pytest.raises(ValueError, match="whole number of rounds of 20 updates"):
        trainer.train(agent_config, run, str(tmp_path / "bad"))
