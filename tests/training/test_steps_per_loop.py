"""K updates per compiled call change nothing but speed; the TPU flag fails plainly without a TPU."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import tiny_agent_config, tiny_run
from tfnfrl.training import metrics_log, strategies, trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def final_weights(workdir):
    reader = tf.train.load_checkpoint(os.path.join(workdir, "checkpoints"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n.startswith("agent/weights")}


def losses(workdir):
    return [(r["step"], r["training/actor/loss"]) for r in metrics_log.read_metrics(workdir)]


@pytest.mark.parametrize("input_kind", ["numpy", "graph"])
def test_steps_per_loop_and_resumption_leave_the_run_unchanged(tiny_data_dir, tmp_path, input_kind):
    def run(workdir, steps, steps_per_loop):
        config = tiny_run(tiny_data_dir, steps=steps, log_every=10, checkpoint_every=10, input=input_kind,
                          steps_per_loop=steps_per_loop)
        trainer.train(tiny_agent_config("gcbc"), config, str(tmp_path / workdir))

    run("one", 20, 1)
    if input_kind == "numpy":
        run("seven", 10, 7)  # Calls of 7 and 3 updates (cut at the log/checkpoint step), ...
    run("seven", 20, 7)  # ... then resumed from step 10 and extended to 20 (in-graph input: from 0).
    one, seven = final_weights(str(tmp_path / "one")), final_weights(str(tmp_path / "seven"))
    assert one and one.keys() == seven.keys()
    for name in one:
        np.testing.assert_array_equal(one[name], seven[name], err_msg=name)
    assert losses(str(tmp_path / "one")) == losses(str(tmp_path / "seven"))
    assert [s for s, _ in losses(str(tmp_path / "one"))] == [10, 20]


def test_loop_lengths_end_at_every_log_checkpoint_and_evaluation_step(tiny_data_dir, tmp_path):
    config = tiny_run(tiny_data_dir, steps=95, log_every=30, checkpoint_every=40, eval_every=25, eval_episodes=1,
                      steps_per_loop=100)
    loop = trainer.Trainer(tiny_agent_config("gcbc"), config, str(tmp_path))
    step, ends = 0, []
    while step < config.steps:
        step += loop._loop_length(step)  # pylint: disable=protected-access
        ends.append(step)
    assert ends == [25, 30, 40, 50, 60, 75, 80, 90, 95]


def test_tpu_address_without_a_tpu_fails_plainly(tiny_data_dir, tmp_path):
    with pytest.raises(ValueError, match="needs --run.strategy=tpu"):
        strategies.make_strategy("default", tpu_address="local")
    with pytest.raises(ValueError, match="needs --run.input=graph"):
        trainer.Trainer(tiny_agent_config("gcbc"), tiny_run(tiny_data_dir, strategy="tpu"), str(tmp_path))
    command = [sys.executable, "launch/train.py", "--agent=gcbc", "--preset=tiny", f"--workdir={tmp_path}/run",
               f"--run.dataset_dir={tiny_data_dir}", "--run.env_name=pointmaze-medium-navigate-v0",
               "--run.strategy=tpu", "--run.tpu=local", "--run.input=graph", "--run.progress=false"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 1
    assert "ERROR: No TPU found at --run.tpu='local'" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not os.path.exists(f"{tmp_path}/run")  # Nothing written before the strategy exists.
