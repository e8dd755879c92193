"""A tf.data input pipeline over a (stateless) sampler.

Element k of the dataset is `sampler.sample(batch_size, start_step + k)` as a dict of
float32 tensors with static shapes. Because each batch is a pure function of its step
number, batches are produced in parallel (`num_parallel_calls`) yet deterministically, and
a resumed run that passes its step counter as `start_step` sees exactly the batches the
interrupted run would have seen. Batches are prefetched so sampling overlaps training.
"""

import numpy as np


def make_tf_dataset(sampler, batch_size, start_step=0, strategy=None, num_parallel_calls=None,
                    prefetch=None):
    """An infinite tf.data.Dataset of sampler batches for steps start_step, start_step+1, ...

    Args:
      sampler: object with `sample(batch_size, step) -> dict of np.float32 arrays` and
        `element_spec(batch_size) -> {key: (shape, dtype)}` (GCSampler, TransitionSampler).
      batch_size: global batch size (split across replicas when a strategy is given).
      start_step: step number of the first batch (>= 0), e.g. the restored train step.
      strategy: optional tf.distribute.Strategy; if given, the dataset is returned through
        `strategy.experimental_distribute_dataset` (each replica gets batch_size /
        num_replicas rows of every global batch).
      num_parallel_calls: batches sampled concurrently; None = tf.data.AUTOTUNE.
      prefetch: batches buffered ahead; None = tf.data.AUTOTUNE.

    Returns:
      tf.data.Dataset (or tf.distribute.DistributedDataset) of dicts of float32 tensors.
    """
    import tensorflow as tf  # Deferred so that data generation workers never import TF.

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; received batch_size={batch_size}.")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0; received start_step={start_step}.")
    if strategy is not None and batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size={batch_size} must be divisible by the strategy's "
            f"{strategy.num_replicas_in_sync} replicas."
        )
    autotune = tf.data.AUTOTUNE
    spec = sampler.element_spec(batch_size)
    keys = sorted(spec)

    def sample_tuple(step):
        batch = sampler.sample(batch_size, int(step))
        return tuple(np.asarray(batch[k], dtype=np.float32) for k in keys)

    def to_dict(step):
        values = tf.numpy_function(
            sample_tuple, [step], [tf.float32] * len(keys), stateful=False
        )
        out = {}
        for key, value in zip(keys, values):
            value.set_shape(spec[key][0])
            out[key] = value
        return out

    dataset = tf.data.Dataset.counter(start=start_step, dtype=tf.int64)
    dataset = dataset.map(
        to_dict,
        num_parallel_calls=autotune if num_parallel_calls is None else num_parallel_calls,
        deterministic=True,
    )
    dataset = dataset.prefetch(autotune if prefetch is None else prefetch)
    options = tf.data.Options()
    # The batches are not files: sharding by file makes no sense, and each input pipeline
    # of a multi-worker strategy produces whole global batches itself.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    dataset = dataset.with_options(options)
    if strategy is not None:
        return strategy.experimental_distribute_dataset(dataset)
    return dataset
