"""MirroredStrategy over 2 logical CPU devices trains exactly like the single device.

Whole runs through the Trainer (distributed tf.data input, the per-replica compiled step,
cross-replica optimizer update, checkpoints) with Gaussian GCBC, which draws no training
noise, so both runs see the same data and must reach the same weights; with numpy input and
with in-graph input (drawn inside the default strategy's XLA loop, or in the replicas' tf.data
pipeline under mirrored). Runs in a subprocess: logical devices must be configured before
TensorFlow initialises (the test process has already done so), and the test process should
hold no MirroredStrategy (strategies can collide in their collective-op keys).
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r"""
import tempfile

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tests.training.conftest import ENV, tiny_agent_config, tiny_run
from tfnfrl.data.generation import generate_dataset
from tfnfrl.training import trainer

assert len(tf.config.list_logical_devices("CPU")) == 2
root = tempfile.mkdtemp()
generate_dataset(ENV, root + "/data", num_episodes=2, episode_length=50, progress=False)
for input_kind in ("numpy", "graph"):  # graph: sampled in the XLA loop vs in the replicas' tf.data pipeline.
    final, losses = {}, {}
    for name in ("default", "mirrored"):
        workdir = f"{root}/{name}-{input_kind}"
        config = tiny_run(root + "/data", steps=6, log_every=2, strategy=name, input=input_kind, steps_per_loop=3)
        if input_kind == "numpy":  # Evaluation beside the strategy: the variant agent reads the replicated weights.
            config.update(dict(eval_episodes=1, eval_tasks=(1,)))
            config.eval_variants = {"stochastic": {"eval_deterministic": False}}
        result = trainer.train(tiny_agent_config("gcbc"), config, workdir)
        if input_kind == "numpy":
            assert 0.0 <= result["variants"]["stochastic"]["success/mean"] <= 1.0, result
        reader = tf.train.load_checkpoint(workdir + "/checkpoints")
        final[name] = {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n.startswith("agent/weights")}
        losses[name] = [r["training/actor/loss"] for r in trainer.metrics_log.read_metrics(workdir)
                        if "training/actor/loss" in r]
    assert final["default"] and final["default"].keys() == final["mirrored"].keys()
    for n in final["default"]:
        np.testing.assert_allclose(final["default"][n], final["mirrored"][n], atol=1e-6, err_msg=n)
    np.testing.assert_allclose(losses["default"], losses["mirrored"], rtol=1e-5)
print("MIRRORED_OK", losses["mirrored"])
"""


def test_mirrored_two_replicas_match_single_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MIRRORED_OK" in result.stdout
