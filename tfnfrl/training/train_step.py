"""The compiled, distributed training step, and loops of K such steps in one call."""

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


def make_train_loop(learner, strategy, global_batch_size, seed, batches, jit_compile=True):
    """A function (start, num_steps) -> metrics that runs updates start, ..., start + num_steps - 1.

    The loop runs inside one tf.function (the TPU idiom: one host round trip per call, not per
    update) and returns the metrics of its last update. `batches` is either an iterator of a
    (distributed) dataset from `tfnfrl.data.make_tf_dataset`, read once per update, or an
    in-graph sampler (`tfnfrl.data.graph_samplers`), whose batch `step` is drawn inside the
    loop; with the default strategy that loop, sampling included, is one XLA function. Each
    update is exactly `make_train_step`'s, so the number of updates per call does not change
    the result.
    """
    update = make_train_step(learner, strategy, global_batch_size, seed, jit_compile=jit_compile)

    def run_loop(next_batch, start, num_steps):
        metrics = update(next_batch(start), start)
        for i in tf.range(1, num_steps):
            metrics = update(next_batch(start + i), start + i)
        return metrics

    if hasattr(batches, "sample"):
        if not strategies.is_single_replica_default(strategy):
            raise ValueError("An in-graph sampler feeds the loop directly only under the default strategy; "
                             "give other strategies its tf.data pipeline (tfnfrl.data.make_tf_dataset).")

        @tf.function(jit_compile=jit_compile)
        def sampled_loop(start, num_steps):
            return run_loop(lambda step: batches.sample(global_batch_size, step), start, num_steps)

        return lambda start, num_steps: sampled_loop(tf.constant(start, tf.int64), tf.constant(num_steps, tf.int64))

    @tf.function
    def iterator_loop(iterator, start, num_steps):
        return run_loop(lambda step: next(iterator), start, num_steps)

    return lambda start, num_steps: iterator_loop(
        batches, tf.constant(start, tf.int64), tf.constant(num_steps, tf.int64)
    )
