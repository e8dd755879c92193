"""Condition encoder: (observation, goal) -> the representation y a policy head conditions on."""

import keras
import tensorflow as tf

from tfnfrl.networks import mlp


@keras.saving.register_keras_serializable(package="tfnfrl")
class ConditionEncoder(keras.layers.Layer):
    """y = MLP(concat(observation, goal)): [B, obs] (+ [B, goal]) -> [B, output_dim].

    The paper's encoder for NF-GCBC / NF-BC is 4 x 512 (Dense -> LayerNorm -> SiLU) then a
    Dense to a 64-d representation. With `hidden_dims=()` and `output_dim=None` it is the
    plain concatenation, which is how OGBench's GCBC feeds its actor MLP.

    Args:
      hidden_dims: widths of the hidden layers.
      output_dim: size of the representation, or None to output the last hidden layer
        (or the concatenation itself when there are no hidden layers).
      activation, layer_norm: as in `MLP`.
    """

    def __init__(self, hidden_dims=(512, 512, 512, 512), output_dim=64, activation="silu", layer_norm=True, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dims = tuple(hidden_dims)
        self.output_dim = output_dim
        self.activation = activation
        self.layer_norm = layer_norm
        self.mlp = mlp.MLP(hidden_dims, output_dim, activation=activation, layer_norm=layer_norm, name="mlp")

    def output_size(self, input_dim):
        """Size of y for an input (observation + goal) of size `input_dim`."""
        return self.mlp.compute_output_shape((None, input_dim))[-1]

    def build(self, observations_shape, goals_shape=None):
        # Keras matches `<arg>_shape` names to call's arguments, so both shapes arrive here.
        size = observations_shape[-1] + (0 if goals_shape is None else goals_shape[-1])
        self.mlp.build((None, size))
        self.built = True

    def call(self, observations, goals=None):
        """observations [B, obs], goals [B, goal] or None -> y [B, output_size]."""
        inputs = observations if goals is None else tf.concat([observations, goals], axis=-1)
        return self.mlp(inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dims=self.hidden_dims,
            output_dim=self.output_dim,
            activation=self.activation,
            layer_norm=self.layer_norm,
        )
        return config
