"""Layer conventions every tfnfrl network shares (the paper's reference code is JAX/Flax).

One place for the constants in which Keras' defaults differ from Flax's, and for the seeded
kernel initialisers, so that encoders, critics, policy trunks and flow conditioners agree.
"""

import keras

from tfnfrl import rng

# Flax's LayerNorm epsilon (Keras defaults to 1e-3).
LAYER_NORM_EPSILON = 1e-6
# Flax's LeakyReLU slope (Keras defaults to 0.3).
LEAKY_RELU_SLOPE = 0.01


def variance_scaling(seeds, scale=1.0, mode="fan_avg", distribution="uniform"):
    """A `VarianceScaling` initialiser whose seed is the next draw of `seeds` (a `rng.SeedStream`).

    `seeds=None` leaves the seed to Keras (a draw from Python's global `random`).
    The default is OGBench's `default_init`: variance scaling over fan_avg, uniform.
    """
    return keras.initializers.VarianceScaling(
        scale=scale, mode=mode, distribution=distribution, seed=None if seeds is None else seeds.next()
    )


def fan_in_uniform(seeds):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's Linear default), seeded from `seeds`."""
    return variance_scaling(seeds, scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def layer_norm(name):
    """LayerNormalization with the shared epsilon."""
    return keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=name)


def seed_stream(seed):
    """`rng.SeedStream` for an int seed, the stream itself if given one, None for None."""
    return rng.as_seed_stream(seed)
