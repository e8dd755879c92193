"""Checkpoints of a training run: step, weights, optimizer state and the RNG seed."""

import os

import tensorflow as tf
from absl import logging


class Checkpointer:
    """Saves and restores everything needed to resume a run exactly.

    A checkpoint holds the agent (encoder and head weights, optimizer slots and iteration
    count), the number of completed updates `step`, and the run's base `seed`. Every random
    draw of training (batch sampling, action noise, flow-matching noise) is a pure function
    of (seed, step), so restoring these two restores the RNG and the sampler state.

    Args:
      directory: where `ckpt-N` files live (N = the step they were saved at).
      agent: a tf.Module whose attributes own the weights (e.g. `BCAgent`).
      seed: the run's base seed; a restore whose stored seed differs raises ValueError.
      max_to_keep: how many recent checkpoints to keep.
    """

    def __init__(self, directory, agent, seed=0, max_to_keep=3):
        self.directory = directory
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.seed = tf.Variable(int(seed), dtype=tf.int64, trainable=False, name="seed")
        self._expected_seed = int(seed)
        self.checkpoint = tf.train.Checkpoint(agent=agent, step=self.step, seed=self.seed)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep, checkpoint_name="ckpt")

    @property
    def latest(self):
        """Path prefix of the newest checkpoint, or None."""
        return self.manager.latest_checkpoint

    def restore(self, path=None):
        """Restore `path` (default: the newest); returns the restored step (0 if none exists)."""
        path = path or self.latest
        if path is None:
            return 0
        self.checkpoint.restore(path).assert_existing_objects_matched()
        if int(self.seed.numpy()) != self._expected_seed:
            raise ValueError(
                f"Checkpoint {path} was trained with seed {int(self.seed.numpy())}, but this run has "
                f"seed {self._expected_seed}; use the original --seed or a new --workdir."
            )
        return int(self.step.numpy())

    def save(self, step):
        """Write a checkpoint for `step` completed updates; returns its path."""
        self.step.assign(step)
        verbosity = logging.get_verbosity()
        logging.set_verbosity(logging.WARNING)  # TF logs an INFO line per write ("Sharding callback ...").
        try:
            return self.manager.save(checkpoint_number=step)
        finally:
            logging.set_verbosity(verbosity)


def checkpoint_path(directory, step=None):
    """The checkpoint prefix in `directory` for `step` (None: the newest); FileNotFoundError if absent."""
    if step is None:
        path = tf.train.latest_checkpoint(directory)
        if path is None:
            raise FileNotFoundError(f"No checkpoint in {directory}.")
        return path
    path = os.path.join(directory, f"ckpt-{int(step)}")
    if not tf.io.gfile.exists(path + ".index"):
        available = sorted(
            int(name[len("ckpt-"):-len(".index")])
            for name in tf.io.gfile.listdir(directory) if name.startswith("ckpt-") and name.endswith(".index")
        ) if tf.io.gfile.exists(directory) else []
        raise FileNotFoundError(f"No checkpoint for step {step} in {directory}; available steps: {available}.")
    return path
