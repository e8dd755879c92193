"""launch/train.py makes a real (tiny) workdir; launch/export.py turns it into a served version."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfnfrl.data.generation import generate_dataset
from tfnfrl.training import restore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "pointmaze-medium-navigate-v0"
STEPS = 4


def _run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    command = [sys.executable, os.path.join(ROOT, "launch", script), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained_workdir(tmp_path_factory):
    """Gaussian GCBC (the quickest agent to compile), 4 updates on a 4-episode pointmaze dataset."""
    data_dir = str(tmp_path_factory.mktemp("export_data"))
    generate_dataset(ENV, data_dir, num_episodes=4, episode_length=100, progress=False)
    workdir = str(tmp_path_factory.mktemp("export_run") / "gcbc")
    result = _run(
        "train.py", "--agent=gcbc", f"--run.env_name={ENV}", f"--run.dataset_dir={data_dir}", f"--workdir={workdir}",
        f"--run.steps={STEPS}", "--run.eval_every=0", "--run.eval_episodes=0", "--run.log_every=2",
        "--run.checkpoint_every=2", "--run.progress=false", "--config.batch_size=16", "--config.head.hidden_dims=(32,)",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_export_script_writes_the_next_version_and_refuses_to_overwrite(trained_workdir, tmp_path):
    export_dir = str(tmp_path / "savedmodels")
    result = _run("export.py", f"--workdir={trained_workdir}", f"--export_dir={export_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    path = os.path.join(export_dir, f"gcbc_{ENV}", "1")
    assert f"to {path}" in result.stdout and "--model_name=gcbc_" in result.stdout
    with open(os.path.join(path, "assets", "policy_info.json")) as f:
        info = json.load(f)
    assert (info["agent"], info["env_name"], info["train_step"]) == ("gcbc", ENV, STEPS)
    assert info["observation_dim"] == info["goal_dim"] > 0 and info["action_dim"] == 2

    loaded = tf.saved_model.load(path)
    observations = np.zeros((2, info["observation_dim"]), np.float32)
    actions = loaded.serving_default(observations, observations + 1.0, tf.constant([1, 2]), tf.constant(True))
    assert actions["actions"].shape == (2, 2) and np.all(np.abs(actions["actions"].numpy()) <= 1.0)
    # The served mode is the trained workdir's own policy (restored in this process), not just bounded numbers.
    policy = restore.restore_run(trained_workdir).agent.policy
    np.testing.assert_allclose(actions["actions"].numpy(), policy.act_mode(observations, observations + 1.0).numpy(),
                               atol=1e-5)

    again = _run("export.py", f"--workdir={trained_workdir}", f"--export_dir={export_dir}", "--version=1")
    assert again.returncode != 0 and "already exists" in again.stderr and "version 2" in again.stderr
    assert sorted(os.listdir(os.path.dirname(path))) == ["1"]


def test_export_script_explains_a_missing_workdir(tmp_path):
    result = _run("export.py", f"--workdir={tmp_path}", f"--export_dir={tmp_path / 'out'}")
    assert result.returncode != 0 and "not a tfnfrl training workdir" in result.stderr
