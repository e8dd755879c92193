"""A tf.data input pipeline over a (stateless) sampler.

Element k of the dataset is `sampler.sample(batch_size, start_step + k)` as a dict of
float32 tensors with static shapes. Because each batch is a pure function of its step
number, batches are produced in parallel (`num_parallel_calls`) yet deterministically, and
a resumed run that passes its step counter as `start_step` sees exactly the batches the
interrupted run would have seen. Batches are prefetched so sampling overlaps training.

A numpy sampler (`GCSampler`, `TransitionSampler`) runs through `tf.numpy_function`; an
in-graph one (`tfnfrl.data.graph_samplers`) is mapped as plain TF ops, which a TPU host
can run.

Under a strategy the dataset goes through `strategy.distribute_datasets_from_function`:
input pipeline p of n (one per worker) draws its share of each global batch, batch_size / n
rows, from input stream p of the sampler (`sampler.sample(batch_size / n, step, stream=p)`)
and splits it over its worker's local replicas in order. Workers thus draw different rows,
and a run is a pure function of (seed, step, number of input pipelines); with one pipeline
the replicas split `sampler.sample(batch_size, step)` exactly as one device would read it.
"""

import numpy as np


def _check_arguments(batch_size, start_step, strategy):
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; received batch_size={batch_size}.")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0; received start_step={start_step}.")
    if strategy is not None and batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size={batch_size} must be divisible by the strategy's "
            f"{strategy.num_replicas_in_sync} replicas."
        )


def is_in_graph(sampler):
    """True for an in-graph sampler (`tfnfrl.data.graph_samplers`), whose `sample` returns tensors."""
    return not hasattr(sampler, "element_spec")


def _stream_dataset(sampler, rows, start_step, stream, num_parallel_calls):
    """Batches of `rows` rows of input stream `stream`, for steps start_step, start_step + 1, ..."""
    import tensorflow as tf  # Deferred so that data generation workers never import TF.

    if is_in_graph(sampler):
        def to_dict(step):
            return sampler.sample(rows, step, stream)
    else:
        spec = sampler.element_spec(rows)
        keys = sorted(spec)

        def sample_tuple(step):
            batch = sampler.sample(rows, int(step), stream)
            return tuple(np.asarray(batch[k], dtype=np.float32) for k in keys)

        def to_dict(step):
            values = tf.numpy_function(sample_tuple, [step], [tf.float32] * len(keys), stateful=False)
            out = {}
            for key, value in zip(keys, values):
                value.set_shape(spec[key][0])
                out[key] = value
            return out

    dataset = tf.data.Dataset.counter(start=start_step, dtype=tf.int64)
    return dataset.map(to_dict, num_parallel_calls=num_parallel_calls, deterministic=True)


def _finish(dataset, prefetch):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    dataset = dataset.prefetch(tf.data.AUTOTUNE if prefetch is None else prefetch)
    options = tf.data.Options()
    # The batches are not files: sharding by file makes no sense, and each input pipeline
    # of a multi-worker strategy produces its own share of every global batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)


def make_tf_dataset(sampler, batch_size, start_step=0, strategy=None, num_parallel_calls=None,
                    prefetch=None):
    """An infinite tf.data.Dataset of sampler batches for steps start_step, start_step+1, ...

    Args:
      sampler: a numpy sampler with `sample(batch_size, step, stream) -> dict of np.float32
        arrays` and `element_spec(batch_size) -> {key: (shape, dtype)}` (GCSampler,
        TransitionSampler), or an in-graph one (`graph_samplers.from_numpy(...)`).
      batch_size: global batch size (split across input pipelines and replicas under a strategy).
      start_step: step number of the first batch (>= 0), e.g. the restored train step.
      strategy: optional tf.distribute.Strategy; if given, the dataset is returned through
        `strategy.distribute_datasets_from_function` (see the module docstring).
      num_parallel_calls: batches sampled concurrently; None = tf.data.AUTOTUNE.
      prefetch: batches buffered ahead; None = tf.data.AUTOTUNE.

    Returns:
      tf.data.Dataset (or tf.distribute.DistributedDataset) of dicts of float32 tensors.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    _check_arguments(batch_size, start_step, strategy)
    parallel = tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls
    if strategy is None:
        return _finish(_stream_dataset(sampler, batch_size, start_step, 0, parallel), prefetch)

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(batch_size)
        local_replicas = context.num_replicas_in_sync // context.num_input_pipelines
        dataset = _stream_dataset(sampler, per_replica * local_replicas, start_step, context.input_pipeline_id, parallel)
        if local_replicas > 1:  # Consecutive elements go to the worker's replicas in order.
            dataset = dataset.flat_map(
                lambda batch: tf.data.Dataset.from_tensor_slices(
                    {k: tf.reshape(v, [local_replicas, per_replica] + v.shape[1:].as_list()) for k, v in batch.items()}
                )
            )
        return _finish(dataset, prefetch)

    return strategy.distribute_datasets_from_function(dataset_fn)
