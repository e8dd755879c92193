"""tf.data pipeline: yields the sampler's batches in step order, resumes, distributes."""

import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
import tensorflow as tf

from tests.data.synthetic import make_dataset
from tfnfrl.data import GCSampler, gc_sampler_config, make_tf_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_yields_sampler_batches_in_step_order_with_static_shapes():
    sampler = GCSampler(make_dataset(), gc_sampler_config(), seed=11)
    dataset = make_tf_dataset(sampler, batch_size=32, start_step=0)
    spec = dataset.element_spec
    assert spec["observations"].shape == (32, 2) and spec["rewards"].shape == (32,)
    assert spec["actions"].dtype == tf.float32
    for step, batch in enumerate(dataset.take(6)):
        expected = sampler.sample(32, step)
        assert set(batch) == set(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(batch[key].numpy(), value)


def test_resume_from_start_step_sees_the_same_batches():
    sampler = GCSampler(make_dataset(), gc_sampler_config(), seed=3)
    full = [b["actor_goals"].numpy() for b in make_tf_dataset(sampler, 16).take(8)]
    resumed = [b["actor_goals"].numpy() for b in make_tf_dataset(sampler, 16, start_step=5).take(3)]
    for a, b in zip(full[5:], resumed):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments():
    sampler = GCSampler(make_dataset(), gc_sampler_config(), seed=0)
    with pytest.raises(ValueError, match=r"^batch_size must be >= 1; received batch_size=0\.$"):
        make_tf_dataset(sampler, 0)
    with pytest.raises(ValueError, match=r"^start_step must be >= 0; received start_step=-1\.$"):
        make_tf_dataset(sampler, 8, start_step=-1)
    three_replicas = types.SimpleNamespace(num_replicas_in_sync=3)  # Checked before the strategy is used.
    with pytest.raises(ValueError, match=r"^batch_size=8 must be divisible by the strategy's 3 replicas\.$"):
        make_tf_dataset(sampler, 8, strategy=three_replicas)


def test_mirrored_strategy_splits_each_global_batch_across_replicas():
    # Two logical CPUs must be configured before TF initialises: use a fresh process.
    script = textwrap.dedent("""
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from tests.data.synthetic import make_dataset
        from tfnfrl.data import GCSampler, gc_sampler_config, make_tf_dataset
        sampler = GCSampler(make_dataset(), gc_sampler_config(), seed=2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        dist = make_tf_dataset(sampler, 8, start_step=4, strategy=strategy)
        batch = next(iter(dist))
        parts = strategy.experimental_local_results(batch["observations"])
        assert [p.shape[0] for p in parts] == [4, 4], [p.shape for p in parts]
        glued = np.concatenate([p.numpy() for p in parts])
        np.testing.assert_array_equal(glued, sampler.sample(8, 4)["observations"])
        print("OK")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]
