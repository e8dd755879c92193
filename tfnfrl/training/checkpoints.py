"""Checkpoints of a training run: step, weights, optimizer state and the RNG seed."""

import os
import shutil
import tempfile

import keras
import tensorflow as tf
from absl import logging

SEED_KEY = "seed/.ATTRIBUTES/VARIABLE_VALUE"  # The run seed's entry in a checkpoint file.
GLOB_CHARACTERS = "[]*?"  # TensorFlow's checkpoint reader matches a checkpoint's path as a glob pattern.


def check_directory(directory):
    """Raise ValueError if TensorFlow could write checkpoints in `directory` but never read them back."""
    found = sorted({c for c in directory if c in GLOB_CHARACTERS})
    if found:
        raise ValueError(
            f"The checkpoint directory {directory!r} contains {' '.join(found)}: TensorFlow reads checkpoints "
            "through glob patterns, so a run there could save but never resume. Use a workdir without "
            f"{' '.join(GLOB_CHARACTERS)}."
        )


class Checkpointer:
    """Saves and restores everything needed to resume a run exactly.

    A checkpoint holds the agent (encoder and head weights, optimizer slots and iteration
    count), the number of completed updates `step`, and the run's base `seed`. Every random
    draw of training (batch sampling, action noise, flow-matching noise) is a pure function
    of (seed, step), so restoring these two restores the RNG and the sampler state.

    In a multi-worker run (`writes=False` on every worker but the chief) the chief alone keeps
    checkpoints in `directory`; the other workers still take part in each save, as TF's
    multi-worker guide prescribes, but write to a temporary directory that is deleted at once.
    On resumption the chief restores and `restore_from_chief` copies its values to every worker,
    so the workers need no shared filesystem.

    Args:
      directory: where `ckpt-N` files live (N = the step they were saved at).
      agent: a tf.Module whose attributes own the weights (e.g. `BCAgent`).
      seed: the run's base seed; a restore whose stored seed differs raises ValueError.
      max_to_keep: how many recent checkpoints to keep.
      writes: False on a non-chief worker of a multi-worker run.
      label: the worker's name ("worker1"), part of its temporary directory's name.
    """

    def __init__(self, directory, agent, seed=0, max_to_keep=3, writes=True, label=""):
        if writes:
            check_directory(directory)
        self.writes = writes
        self.directory = directory if writes else tempfile.mkdtemp(prefix=f"tfnfrl-{label or 'worker'}-ckpt-")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.seed = tf.Variable(int(seed), dtype=tf.int64, trainable=False, name="seed")
        self._expected_seed = int(seed)
        self.agent = agent
        self.checkpoint = tf.train.Checkpoint(agent=agent, step=self.step, seed=self.seed)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.directory, max_to_keep=max_to_keep, checkpoint_name="ckpt"
        )
        if not writes:
            shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def latest(self):
        """Path prefix of the newest checkpoint, or None."""
        return self.manager.latest_checkpoint

    def restore(self, path=None):
        """Restore `path` (default: the newest); returns the restored step (0 if none exists)."""
        path = path or (self.latest if self.writes else None)
        if path is None:
            return 0
        # The seed is read from the file first, so a refused restore leaves the agent untouched.
        reader = tf.train.load_checkpoint(path)
        if reader.has_tensor(SEED_KEY) and int(reader.get_tensor(SEED_KEY)) != self._expected_seed:
            raise ValueError(
                f"Checkpoint {path} was trained with seed {int(reader.get_tensor(SEED_KEY))}, but this run has "
                f"seed {self._expected_seed}; use the original --seed or a new --workdir."
            )
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return int(self.step.numpy())

    def save(self, step):
        """Write a checkpoint for `step` completed updates; returns its path."""
        self.step.assign(step)
        verbosity = logging.get_verbosity()
        logging.set_verbosity(logging.WARNING)  # TF logs an INFO line per write ("Sharding callback ...").
        try:
            path = self.manager.save(checkpoint_number=step)
        finally:
            logging.set_verbosity(verbosity)
            if not self.writes:
                shutil.rmtree(self.directory, ignore_errors=True)
        return path if self.writes else None

    def restore_from_chief(self, strategy):
        """Restore the chief's newest checkpoint on every worker; returns its step (0 if none).

        The chief restores from `directory`; then every variable of the checkpoint (weights,
        optimizer slots, step, seed) takes the value of replica 0, which lives on the chief.
        """
        if self.writes:
            self.restore()
        broadcast_from_first_replica(strategy, self.variables())
        return int(self.step.numpy())

    def variables(self):
        """Every variable the checkpoint holds (but its save counter, which only the chief's restore creates)."""
        return tracked_variables(tf.train.Checkpoint(agent=self.agent, step=self.step, seed=self.seed))


def tracked_variables(root):
    """Every variable (TF or Keras) reachable from the trackable `root`, in a fixed order."""
    return [v for v in tf.train.TrackableView(root).descendants() if isinstance(v, (tf.Variable, keras.Variable))]


def broadcast_from_first_replica(strategy, variables):
    """Set every replica's copy of `variables` to replica 0's value (an all-reduce of one non-zero term)."""

    @tf.function
    def sync():
        def masked():
            first = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 0)
            return [tf.where(first, tf.convert_to_tensor(v), tf.zeros(v.shape, v.dtype)) for v in variables]

        per_replica = strategy.run(masked)
        for variable, value in zip(variables, per_replica):
            variable.assign(strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None))

    sync()


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
