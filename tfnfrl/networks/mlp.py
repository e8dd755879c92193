"""A multi-layer perceptron layer: the building block of encoders, policy trunks and velocity fields."""

import keras

# Flax's LayerNorm epsilon (Keras defaults to 1e-3); the reference code is in JAX.
LAYER_NORM_EPSILON = 1e-6


def default_kernel_init(scale=1.0):
    """OGBench's `default_init`: variance scaling over fan_avg, uniform."""
    return keras.initializers.VarianceScaling(scale=scale, mode="fan_avg", distribution="uniform")


@keras.saving.register_keras_serializable(package="tfnfrl")
class MLP(keras.layers.Layer):
    """x [B, n] -> [B, hidden_dims[-1]] (or [B, output_dim]).

    Each hidden layer is Dense -> (LayerNorm) -> activation, the order of the paper's
    encoder (Dense -> LayerNorm -> SiLU). With `output_dim` set, a final Dense to
    `output_dim` without activation follows, its kernel scaled by `output_init_scale`
    (OGBench's actor mean uses 1e-2 so the initial policy is near zero).

    Args:
      hidden_dims: widths of the hidden layers; () gives just the output Dense (or the
        identity when output_dim is None too).
      output_dim: size of a final linear layer, or None for none.
      activation: any Keras activation name ("silu", "gelu", "relu", ...).
      layer_norm: LayerNorm after each hidden Dense.
      output_init_scale: variance-scaling factor of the final layer's kernel.
    """

    def __init__(
        self,
        hidden_dims=(512, 512, 512, 512),
        output_dim=None,
        activation="silu",
        layer_norm=True,
        output_init_scale=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        hidden_dims = tuple(int(h) for h in hidden_dims)
        if any(h < 1 for h in hidden_dims):
            raise ValueError(f"`hidden_dims` must be positive integers. Received: hidden_dims={hidden_dims}")
        if output_dim is not None and int(output_dim) < 1:
            raise ValueError(f"`output_dim` must be a positive integer or None. Received: output_dim={output_dim}")
        keras.activations.get(activation)  # Raises on an unknown activation name.
        self.hidden_dims = hidden_dims
        self.output_dim = None if output_dim is None else int(output_dim)
        self.activation = activation
        self.layer_norm = bool(layer_norm)
        self.output_init_scale = float(output_init_scale)

        self._layers = []
        for i, width in enumerate(hidden_dims):
            self._layers.append(keras.layers.Dense(width, kernel_initializer=default_kernel_init(), name=f"dense{i}"))
            if self.layer_norm:
                self._layers.append(keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"norm{i}"))
            self._layers.append(keras.layers.Activation(activation, name=f"act{i}"))
        if self.output_dim is not None:
            self._layers.append(
                keras.layers.Dense(
                    self.output_dim, kernel_initializer=default_kernel_init(self.output_init_scale), name="output"
                )
            )

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, x):
        for layer in self._layers:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        if self.output_dim is not None:
            return (*input_shape[:-1], self.output_dim)
        if self.hidden_dims:
            return (*input_shape[:-1], self.hidden_dims[-1])
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dims=self.hidden_dims,
            output_dim=self.output_dim,
            activation=self.activation,
            layer_norm=self.layer_norm,
            output_init_scale=self.output_init_scale,
        )
        return config
