"""Stateless random draws that are identical with and without XLA.

TensorFlow's stateless float generators and seed utilities (`stateless_normal`,
`stateless_uniform`, `stateless_split`, `stateless_fold_in`) default to the "auto_select"
algorithm, which picks a different generator under `jit_compile`: the same seed then gives
different noise in eager, tf.function and XLA code (and so in training vs. evaluation vs. a
SavedModel). The raw Philox bits agree everywhere, so everything here is built from them.
Seeds are int32 Tensors of shape [2].
"""

import tensorflow as tf

ALGORITHM = "philox"


def split(seed, num=2):
    """`num` independent seeds [num, 2] derived from `seed`."""
    return tf.random.experimental.stateless_split(seed, num=num, alg=ALGORITHM)


def fold_in(seed, data):
    """A new seed [2] from `seed` and an integer `data` (e.g. a step or replica id)."""
    return tf.random.experimental.stateless_fold_in(seed, data, alg=ALGORITHM)


def uniform(shape, seed, dtype=tf.float32):
    """U(0, 1) draws of `shape`: (k + 0.5) / 2^23 from the top 23 bits k of each Philox word.

    23 bits keep k + 0.5 exact in float32, so u lies in [2^-24, 1 - 2^-24]: never 0 or 1
    (24 bits would round the top value to exactly 1, an infinite normal draw).
    """
    bits = tf.random.stateless_uniform(shape, seed=seed, minval=None, maxval=None, dtype=tf.uint32, alg=ALGORITHM)
    u = (tf.cast(tf.bitwise.right_shift(bits, 9), tf.float32) + 0.5) * (2.0**-23)
    return tf.cast(u, dtype)


def standard_normal(shape, seed, dtype=tf.float32):
    """N(0, 1) draws of `shape` by the inverse CDF of `uniform` (so |z| < 5.3)."""
    return tf.math.ndtri(uniform(shape, seed, dtype))
