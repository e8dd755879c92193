"""In-graph samplers: the laws of `tfnfrl.data.samplers` drawn with TensorFlow ops.

The dataset arrays become tensors and each batch's indices and goal offsets come from
stateless Philox draws (`tfnfrl.rng`, identical with and without XLA) seeded by
(seed, step) and, for input stream s > 0, folded with s. No `numpy_function`: the sampler
runs inside a tf.data map on a TPU host or inside the compiled training step itself.

The draws differ from the numpy samplers' (another generator) but follow the same laws:
uniform state indices; future goals at min(i + K, f) with K ~ Geometric(1 - discount) on
{1, 2, ...} (K = 1 + floor(log U / log discount)) or uniform over {i + 1, ..., f}; current /
future / random goals mixed with the config's probabilities; goals never leave the
state's trajectory except as random goals. tests/data/test_graph_samplers.py checks the laws.

  sampler = graph_samplers.from_numpy(GCSampler(train, config, seed))
  batch = sampler.sample(256, step)          # dict of float32 tensors, like GCSampler.sample
"""

import math

import numpy as np
import tensorflow as tf

from tfnfrl import rng
from tfnfrl.data import samplers


def _step_seed(seed, step, stream):
    """The int32 [2] seed of batch `step` of input stream `stream` (stream 0: no fold)."""
    base = tf.stack([tf.constant(seed, tf.int32), tf.cast(step, tf.int32)])
    stream = tf.convert_to_tensor(stream, tf.int32)
    return tf.cond(stream > 0, lambda: rng.fold_in(base, stream), lambda: base)


def _uniform(shape, seed):
    """U(0, 1) float64 draws with 53 random bits, never 0 or 1, from raw Philox words (XLA-proof).

    (`rng.uniform`'s 23 bits would give the rows of a million-row dataset unequal weights.)
    """
    bits = tf.random.stateless_uniform(
        list(shape) + [2], seed=seed, minval=None, maxval=None, dtype=tf.uint32, alg=rng.ALGORITHM
    )
    high = tf.cast(bits[..., 0], tf.float64) * 2.0**21
    low = tf.cast(tf.bitwise.right_shift(bits[..., 1], 11), tf.float64)
    return (high + low + 0.5) * 2.0**-53


def _uniform_int(seed, shape, maxval):
    """Uniform int64 draws in {0, ..., maxval - 1} (maxval may be a tensor)."""
    u = _uniform(shape, seed)
    return tf.minimum(tf.cast(tf.floor(u * tf.cast(maxval, tf.float64)), tf.int64), tf.cast(maxval, tf.int64) - 1)


class GraphGCSampler:
    """`samplers.GCSampler`'s goal-conditioned batches drawn in-graph.

    Args:
      dataset_arrays: {observations, next_observations, actions} float32 arrays [N, ...].
      final_index: [N] int64, index of each row's trajectory's last transition.
      config: the goal-sampling config (like `samplers.gc_sampler_config()`).
      seed: int >= 0.
    """

    def __init__(self, dataset_arrays, final_index, config, seed):
        self.seed = int(seed)
        self.config = config
        self.size = len(final_index)
        self._arrays = {k: tf.constant(np.asarray(v, np.float32)) for k, v in dataset_arrays.items()}
        self._final = tf.constant(np.asarray(final_index, np.int64))
        self._log_discount = math.log(config.discount)

    def _goal_indices(self, seeds, idxs, p_cur, p_traj, geom_sample):
        n = tf.shape(idxs)[0]
        final = tf.gather(self._final, idxs)
        if geom_sample:
            u = _uniform([n], seeds[0])
            offsets = 1.0 + tf.floor(tf.math.log(u) / self._log_discount)  # 0 < u < 1: finite, >= 1.
            offsets = tf.cast(tf.minimum(offsets, float(self.size)), tf.int64)
            traj = tf.minimum(idxs + offsets, final)
        else:
            span = final - idxs
            u = _uniform([n], seeds[0])
            traj = idxs + 1 + tf.cast(tf.floor(u * tf.cast(span, tf.float64)), tf.int64)
            traj = tf.where(span > 0, tf.minimum(traj, final), idxs)
        random = _uniform_int(seeds[1], [n], self.size)
        choice = _uniform([n], seeds[2])
        return tf.where(choice < p_cur, idxs, tf.where(choice < p_cur + p_traj, traj, random))

    def sample_indices(self, batch_size, step, stream=0):
        """(state idxs, actor goal idxs, value goal idxs), each int64 [batch_size]."""
        seeds = rng.split(_step_seed(self.seed, step, stream), 7)
        c = self.config
        idxs = _uniform_int(seeds[0], [batch_size], self.size)
        actor = self._goal_indices(seeds[1:4], idxs, c.actor_p_curgoal, c.actor_p_trajgoal, c.actor_geom_sample)
        value = self._goal_indices(seeds[4:7], idxs, c.value_p_curgoal, c.value_p_trajgoal, c.value_geom_sample)
        return idxs, actor, value

    def sample(self, batch_size, step, stream=0):
        """Batch `step` of `stream`: the keys, shapes and dtypes of `GCSampler.sample`, as tensors."""
        idxs, actor, value = self.sample_indices(batch_size, step, stream)
        success = tf.cast(tf.equal(idxs, value), tf.float32)
        obs = self._arrays["observations"]
        return {
            "observations": tf.gather(obs, idxs),
            "actions": tf.gather(self._arrays["actions"], idxs),
            "next_observations": tf.gather(self._arrays["next_observations"], idxs),
            "actor_goals": tf.gather(obs, actor),
            "value_goals": tf.gather(obs, value),
            "rewards": success - (1.0 if self.config.gc_negative else 0.0),
            "masks": 1.0 - success,
        }


class GraphTransitionSampler:
    """`samplers.TransitionSampler`'s uniform transition batches drawn in-graph.

    Args:
      dataset_arrays: {observations, actions, next_observations, rewards, masks} float32 [N, ...].
      next_index: [N] int64, the row whose action is each row's `next_actions`.
      seed: int >= 0.
    """

    def __init__(self, dataset_arrays, next_index, seed):
        self.seed = int(seed)
        self.size = len(next_index)
        self._arrays = {k: tf.constant(np.asarray(v, np.float32)) for k, v in dataset_arrays.items()}
        self._next_index = tf.constant(np.asarray(next_index, np.int64))

    def sample_indices(self, batch_size, step, stream=0):
        """Row indices, int64 [batch_size]."""
        return _uniform_int(_step_seed(self.seed, step, stream), [batch_size], self.size)

    def sample(self, batch_size, step, stream=0):
        """Batch `step` of `stream`: the keys of `TransitionSampler.sample`, as tensors."""
        idxs = self.sample_indices(batch_size, step, stream)
        batch = {k: tf.gather(v, idxs) for k, v in self._arrays.items()}
        batch["next_actions"] = tf.gather(self._arrays["actions"], tf.gather(self._next_index, idxs))
        return batch


def from_numpy(sampler):
    """The in-graph twin of a numpy `GCSampler` or `TransitionSampler` (same arrays, config and seed)."""
    if isinstance(sampler, samplers.GCSampler):
        return GraphGCSampler(sampler.arrays(), sampler.final_index, sampler.config, sampler.seed)
    if isinstance(sampler, samplers.TransitionSampler):
        return GraphTransitionSampler(sampler.arrays(), sampler.next_index, sampler.seed)
    raise TypeError(f"No in-graph sampler for {type(sampler).__name__}; expected GCSampler or TransitionSampler.")
