"""Checkpoints: exact round trip of weights, optimizer state and acting; seed and step checks."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tfnfrl.training import checkpoints, study, trainer


def _train(agent, steps):
    batch = tiny.toy_batch()
    for i in range(steps):
        agent.train_step(batch, tf.constant([0, i]))


def test_round_trip_gives_identical_weights_optimizer_and_actions(tmp_path):
    agent = tiny.tiny_agent("nf_gcbc", seed=0)
    _train(agent, 3)
    saver = checkpoints.Checkpointer(str(tmp_path), agent, seed=7)
    path = saver.save(3)

    fresh = tiny.tiny_agent("nf_gcbc", seed=1)  # Different initial weights.
    step = checkpoints.Checkpointer(str(tmp_path), fresh, seed=7).restore()
    assert step == 3 and path.endswith("ckpt-3")
    for a, b in zip(agent.policy_variables, fresh.policy_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 3
    for a, b in zip(agent.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    batch = tiny.toy_batch(6)
    seed = tf.constant([11, 12], tf.int32)
    np.testing.assert_array_equal(
        agent.policy.act(batch["observations"], batch["actor_goals"], seed).numpy(),
        fresh.policy.act(batch["observations"], batch["actor_goals"], seed).numpy(),
    )
    # The next update is the same too: the optimizer state came back exactly.
    _train(agent, 1)
    _train(fresh, 1)
    for a, b in zip(agent.policy_variables, fresh.policy_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_restore_without_checkpoint_starts_at_zero(tmp_path):
    assert checkpoints.Checkpointer(str(tmp_path), tiny.tiny_agent("gcbc")).restore() == 0


def test_restore_refuses_another_seed(tmp_path):
    agent = tiny.tiny_agent("gcbc")
    path = checkpoints.Checkpointer(str(tmp_path), agent, seed=1).save(5)
    other = tiny.tiny_agent("gcbc", seed=2)
    weights_before = [w.numpy().copy() for w in other.encoder.weights + other.head.weights]
    # The stored seed (1) and this run's (2), each in its place: "seed 1" alone would match either order.
    with pytest.raises(ValueError, match=rf"^Checkpoint {re.escape(path)} was trained with seed 1, but this run has "
                                         r"seed 2; use the original --seed or a new --workdir\.$"):
        checkpoints.Checkpointer(str(tmp_path), other, seed=2).restore()
    # A refused restore loads nothing: the other run's weights are still its own.
    for before, after in zip(weights_before, other.encoder.weights + other.head.weights):
        np.testing.assert_array_equal(after.numpy(), before)
    assert any(np.abs(b - a.numpy()).max() > 0 for b, a in zip(weights_before, agent.encoder.weights + agent.head.weights))
    assert checkpoints.Checkpointer(str(tmp_path), agent, seed=1).restore() == 5  # The right seed restores.


def test_checkpoint_path_lists_available_steps(tmp_path):
    saver = checkpoints.Checkpointer(str(tmp_path), tiny.tiny_agent("gcbc"))
    saver.save(5)
    saver.save(10)
    assert checkpoints.checkpoint_path(str(tmp_path)).endswith("ckpt-10")
    assert checkpoints.checkpoint_path(str(tmp_path), 5).endswith("ckpt-5")
    # The missing step, where it was looked for, and the steps there are.
    with pytest.raises(FileNotFoundError, match=rf"^No checkpoint for step 7 in {re.escape(str(tmp_path))}; "
                                                r"available steps: \[5, 10\]\.$"):
        checkpoints.checkpoint_path(str(tmp_path), 7)


def test_glob_characters_in_a_workdir_are_refused_before_anything_is_written(tmp_path):
    """TF reads a checkpoint through a glob of its path: a run in "a[b]" would save, then never resume."""
    bad = str(tmp_path / "nf_gcbc[geometric]__seed0")
    with pytest.raises(ValueError, match=r"contains \[ \]: TensorFlow reads checkpoints through glob patterns"):
        checkpoints.Checkpointer(bad, tiny.tiny_agent("gcbc"))
    agent_config, run_config = study.Run.make("gcbc", "pointmaze-medium-navigate-v0", preset="tiny").configs()
    with pytest.raises(ValueError, match=r"contains \*: TensorFlow reads checkpoints"):
        trainer.Trainer(agent_config, run_config, str(tmp_path / "run*"))
    assert os.listdir(tmp_path) == []
