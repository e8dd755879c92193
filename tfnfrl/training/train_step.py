"""The compiled, distributed training step."""

import tensorflow as tf

from tfnfrl import rng
from tfnfrl.training import strategies


def step_seed(seed, step):
    """Stateless seed [2] of update `step`: the training noise is a pure function of (seed, step)."""
    return tf.stack([tf.cast(seed, tf.int32), tf.cast(step, tf.int32)])


def make_train_step(agent, strategy, global_batch_size, seed, jit_compile=True):
    """A function (batch, step) -> metrics that updates `agent` once.

    `batch` is a (distributed) batch dict from `tfnfrl.data.make_tf_dataset`, `step` the
    int64 index of the update (0-based). Each replica draws its noise from
    fold_in([seed, step], replica_id), so a resumed run draws exactly what the uninterrupted
    one would. Metrics are averaged over replicas: "loss" is the batch mean; "grad_norm" is
    the norm of each replica's share of the gradient (the full gradient's on one device).

    With the default strategy the whole update (loss, gradients, optimizer) is one
    tf.function with `jit_compile`; under a real strategy the per-replica loss and
    gradients are XLA-compiled and the optimizer's cross-replica update runs outside XLA.
    """

    def replica_update(batch, step, compute_gradients):
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed_ = rng.fold_in(step_seed(seed, step), replica_id)
        gradients, info = compute_gradients(batch, seed_, global_batch_size)
        agent.apply_gradients(gradients)
        return info

    if strategies.is_single_replica_default(strategy):

        @tf.function(jit_compile=jit_compile)
        def single_device_step(batch, step):
            return replica_update(batch, step, agent.compute_gradients)

        return single_device_step

    compiled_gradients = tf.function(agent.compute_gradients, jit_compile=jit_compile)

    @tf.function
    def distributed_step(batch, step):
        per_replica = strategy.run(replica_update, args=(batch, step, compiled_gradients))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    return distributed_step
