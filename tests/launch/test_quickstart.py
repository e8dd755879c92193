"""launch/quickstart.py --tiny: generates data, trains, evaluates 5 tasks, prints, plots."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quickstart_tiny_runs_the_whole_job(tmp_path):
    workdir, data = str(tmp_path / "run"), str(tmp_path / "data")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "launch", "quickstart.py"), "--tiny", f"--workdir={workdir}",
         f"--dataset_dir={data}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Generating pointmaze-medium-navigate-v0" in result.stdout
    for task in ("task1", "task2", "task3", "task4", "task5", "mean"):
        assert task in result.stdout
    assert os.path.getsize(os.path.join(workdir, "learning_curve.png")) > 1000
    with open(os.path.join(workdir, "eval_final.json")) as f:
        assert sorted(json.load(f)["task_ids"]) == [1, 2, 3, 4, 5]
