"""launch/generate_dataset.py end to end in a subprocess: generate, check, refuse bad names."""

import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "launch", "generate_dataset.py")


def run(*flags):
    return subprocess.run([sys.executable, SCRIPT, *flags], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_generate_then_check(tmp_path):
    common = ["--env_name=pointmaze-giant-stitch-v0", f"--dataset_dir={tmp_path}",
              "--num_episodes=4", "--max_episode_steps=40"]
    result = run(*common, "--num_workers=2", "--seed=3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Wrote" in result.stdout
    with np.load(tmp_path / "pointmaze-giant-stitch-v0-val.npz") as f:
        assert f["observations"].shape == (40, 2)

    check = run(*common, "--check")
    assert check.returncode == 0 and check.stdout.count(": OK") == 2, check.stdout
    # Checked against the protocol's 201-step episodes, the smoke-size files fail.
    strict = run("--env_name=pointmaze-giant-stitch-v0", f"--dataset_dir={tmp_path}", "--check")
    assert strict.returncode == 1 and "do not have 201 steps" in strict.stdout
    # Existing valid files are kept unless --overwrite is passed.
    again = run(*common)
    assert again.returncode == 0 and "--overwrite" in again.stderr


def test_unknown_name_lists_supported_names(tmp_path):
    result = run("--env_name=antmaze-large-navigate-v0", f"--dataset_dir={tmp_path}")
    assert result.returncode != 0
    assert ("Unknown environment/dataset name 'antmaze-large-navigate-v0'. Supported goal-conditioned names: "
            in result.stderr), result.stderr[-3000:]
    assert "cube-single-play-v0" in result.stderr
    assert not any(tmp_path.iterdir())  # Refused before anything was written.
