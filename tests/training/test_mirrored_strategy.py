"""MirroredStrategy over 2 logical CPU devices updates exactly like the single-device step.

Runs in a subprocess: logical devices must be configured before TensorFlow initialises,
which the test process has already done.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r"""
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tests.agents import tiny
from tfnfrl.training import make_strategy, make_train_step

batch = tiny.toy_batch(64)
weights, losses = {}, {}
for name in ("default", "mirrored"):
    strategy = make_strategy(name)
    with strategy.scope():
        agent = tiny.tiny_agent("gcbc", seed=0)  # No training noise: both runs see the same data.
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    if name == "mirrored":
        assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
        dataset = strategy.experimental_distribute_dataset(dataset)
    batches = iter(dataset)
    step = make_train_step(agent, strategy, 64, seed=0, jit_compile=True)
    losses[name] = [float(step(next(batches), tf.constant(i, tf.int64))["loss"]) for i in range(5)]
    weights[name] = [v.numpy() for v in agent.policy_variables]
np.testing.assert_allclose(losses["default"], losses["mirrored"], rtol=1e-5)
for a, b in zip(weights["default"], weights["mirrored"]):
    np.testing.assert_allclose(a, b, atol=1e-6)
print("MIRRORED_OK", losses["mirrored"])
"""


def test_mirrored_two_replicas_match_single_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MIRRORED_OK" in result.stdout
