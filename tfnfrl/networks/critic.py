"""Q-function ensembles: K independent MLPs Q_k(s[, g], a), as in TD3+BC, ReBRAC and FQL."""

import keras
import tensorflow as tf

from tfnfrl import keras_defaults
from tfnfrl import tracking
from tfnfrl.networks import encoders


@keras.saving.register_keras_serializable(package="tfnfrl")
class CriticEnsemble(keras.layers.Layer):
    """Q(s, a) = [Q_1(s, a), ..., Q_K(s, a)]: [B, obs], [B, act] (+ [B, goal]) -> [B, K].

    Each head is an MLP on concat(s[, g], a) with hidden layers Dense -> activation ->
    LayerNorm (FQL / OGBench's value MLPs: 4 x 512, GELU) and a scalar output.

    Args:
      num_heads: ensemble size K (the paper: 2).
      hidden_dims, activation, layer_norm: each head's MLP.
      seed: int or `tfnfrl.rng.SeedStream` for the kernels (None: Keras' default).
    """

    def __init__(self, num_heads=2, hidden_dims=(512, 512, 512, 512), activation="gelu", layer_norm=True, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(f"`num_heads` must be a positive integer. Received: num_heads={num_heads!r}")
        self.num_heads = num_heads
        self.hidden_dims = tuple(hidden_dims)
        self.activation = activation
        self.layer_norm = layer_norm
        self.seed = seed if isinstance(seed, int) else None
        seeds = keras_defaults.seed_stream(seed)
        self.heads = tracking.track_items(self, "q", [
            encoders.ConditionEncoder(
                hidden_dims, 1, activation=activation, layer_norm=layer_norm, norm_after_activation=True,
                seed=seeds, name=f"q{k}",
            )
            for k in range(num_heads)
        ])

    def build(self, observations_shape, actions_shape, goals_shape=None):
        for head in self.heads:
            head.build(observations_shape, goals_shape, actions_shape)
        self.built = True

    def call(self, observations, actions, goals=None):
        """Q-values [B, K] of actions [B, act] at observations [B, obs] (and goals [B, goal])."""
        return tf.concat([head(observations, goals, actions) for head in self.heads], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            hidden_dims=self.hidden_dims,
            activation=self.activation,
            layer_norm=self.layer_norm,
            seed=self.seed,
        )
        return config
