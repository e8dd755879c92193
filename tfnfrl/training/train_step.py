"""The compiled, distributed training step."""

import functools

import tensorflow as tf

from tfnfrl import rng
from tfnfrl.training import strategies


def step_seed(seed, step):
    """Stateless seed [2] of update `step`: the training noise is a pure function of (seed, step)."""
    return tf.stack([tf.cast(seed, tf.int32), tf.cast(step, tf.int32)])


def make_train_step(learner, strategy, global_batch_size, seed, jit_compile=True):
    """A function (batch, step) -> metrics that updates `learner` once (loss groups, then targets).

    `batch` is a (distributed) batch dict from `tfnfrl.data.make_tf_dataset`, `step` the
    int64 index of the update (0-based). Each replica draws its noise from
    fold_in([seed, step], replica_id), so a resumed run draws exactly what the uninterrupted
    one would. Metrics are averaged over replicas ("group/loss" is the batch mean,
    "group/grad_norm" the norm of each replica's share of the gradient).

    With the default strategy the whole update (losses, gradients, optimizers, targets) is
    one tf.function with `jit_compile`; under a real strategy each group's per-replica loss
    and gradients are XLA-compiled, the optimizers' cross-replica updates run outside XLA,
    and target networks move in cross-replica context after every replica has updated.
    """

    def replica_update(batch, step, gradient_fns):
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed_ = rng.fold_in(step_seed(seed, step), replica_id)
        return learner.update(batch, seed_, step, global_batch_size, gradient_fns=gradient_fns)

    if strategies.is_single_replica_default(strategy):

        @tf.function(jit_compile=jit_compile)
        def single_device_step(batch, step):
            metrics = replica_update(batch, step, None)
            learner.update_targets(step)
            return metrics

        return single_device_step

    gradient_fns = [
        tf.function(functools.partial(learner.group_gradients, group), jit_compile=jit_compile)
        for group in learner.loss_groups
    ]

    @tf.function
    def distributed_step(batch, step):
        per_replica = strategy.run(replica_update, args=(batch, step, gradient_fns))
        learner.update_targets(step)
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    return distributed_step
