"""Encoders: named inputs (observations; + goals; + actions) -> one representation vector."""

import keras
import tensorflow as tf

from tfnfrl.networks import mlp


@keras.saving.register_keras_serializable(package="tfnfrl")
class ConditionEncoder(keras.layers.Layer):
    """y = MLP(concat(s[, g][, a])): [B, obs] (+ [B, goal]) (+ [B, act]) -> [B, output_dim].

    The same layer encodes what each model conditions on: s for NF-BC, (s, g) for NF-GCBC,
    (s, a) for NF-UGS's goal critic and the RL critics. The paper's encoder for NF-GCBC /
    NF-BC is 4 x 512 (Dense -> LayerNorm -> SiLU) then a Dense to a 64-d representation.
    With `hidden_dims=()` and `output_dim=None` it is the plain concatenation, which is how
    OGBench's GCBC feeds its actor MLP.

    Args:
      hidden_dims: widths of the hidden layers.
      output_dim: size of the representation, or None to output the last hidden layer
        (or the concatenation itself when there are no hidden layers).
      activation, layer_norm, norm_after_activation: as in `MLP`.
      seed: int or `tfnfrl.rng.SeedStream` for the kernels (None: Keras' default).
    """

    def __init__(
        self,
        hidden_dims=(512, 512, 512, 512),
        output_dim=64,
        activation="silu",
        layer_norm=True,
        norm_after_activation=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dims = tuple(hidden_dims)
        self.output_dim = output_dim
        self.activation = activation
        self.layer_norm = layer_norm
        self.norm_after_activation = norm_after_activation
        self.seed = seed if isinstance(seed, int) else None
        self.mlp = mlp.MLP(
            hidden_dims, output_dim, activation=activation, layer_norm=layer_norm,
            norm_after_activation=norm_after_activation, seed=seed, name="mlp",
        )

    def output_size(self, input_dim):
        """Size of y for inputs whose sizes add up to `input_dim`."""
        return self.mlp.compute_output_shape((None, input_dim))[-1]

    def build(self, observations_shape, goals_shape=None, actions_shape=None):
        # Keras matches `<arg>_shape` names to call's arguments, so every given shape arrives here.
        size = sum(shape[-1] for shape in (observations_shape, goals_shape, actions_shape) if shape is not None)
        self.mlp.build((None, size))
        self.built = True

    def call(self, observations, goals=None, actions=None):
        """observations [B, obs], goals [B, goal] or None, actions [B, act] or None -> y [B, output_size]."""
        parts = [t for t in (observations, goals, actions) if t is not None]
        return self.mlp(parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dims=self.hidden_dims,
            output_dim=self.output_dim,
            activation=self.activation,
            layer_norm=self.layer_norm,
            norm_after_activation=self.norm_after_activation,
            seed=self.seed,
        )
        return config
