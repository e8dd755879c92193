"""Stateless random draws that are identical with and without XLA.

TensorFlow's stateless float generators and seed utilities (`stateless_normal`,
`stateless_uniform`, `stateless_split`, `stateless_fold_in`) default to the "auto_select"
algorithm, which picks a different generator under `jit_compile`: the same seed then gives
different noise in eager, tf.function and XLA code (and so in training vs. evaluation vs. a
SavedModel). The raw Philox bits agree everywhere, so everything here is built from them.
Seeds are int32 Tensors of shape [2].

Weight initialisation is seeded explicitly too: a `SeedStream` hands each initialiser its
own integer seed, in construction order, so equal run seeds give equal initial weights
without touching any global random state.
"""

import math
import random

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


def standard_normal_log_prob(z):
    """log N(z; 0, I) summed over the last axis: [..., d] -> [...], in nats."""
    d = tf.cast(tf.shape(z)[-1], z.dtype)
    return -0.5 * tf.reduce_sum(tf.square(z), axis=-1) - 0.5 * d * tf.math.log(2.0 * tf.constant(math.pi, z.dtype))


class SeedStream:
    """A deterministic stream of integer initialiser seeds: `next()` -> int in [1, 1e9].

    The draw is Keras' own default (`random.randint(1, 1e9)`), taken from a private
    `random.Random(seed)`, so a network built from `SeedStream(s)` gets the weights that
    `keras.utils.set_random_seed(s)` followed by unseeded construction would give, while no
    global state is read or written. Networks built one after another from one stream (an
    encoder, then a head) draw disjoint seeds.
    """

    def __init__(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"A SeedStream needs an int seed. Received: seed={seed!r}")
        self.seed = seed
        self._random = random.Random(seed)

    def next(self):
        """The next integer seed."""
        return self._random.randint(1, int(1e9))

    def __repr__(self):
        return f"SeedStream(seed={self.seed})"


def as_seed_stream(seed):
    """None -> None (Keras' default seeding); an int -> SeedStream(int); a SeedStream -> itself."""
    if seed is None or isinstance(seed, SeedStream):
        return seed
    return SeedStream(seed)
