"""A multi-layer perceptron layer: the building block of encoders, policy trunks and velocity fields."""

import keras

from tfnfrl import keras_defaults


@keras.saving.register_keras_serializable(package="tfnfrl")
class MLP(keras.layers.Layer):
    """x [B, n] -> [B, hidden_dims[-1]] (or [B, output_dim]).

    Each hidden layer is Dense -> (LayerNorm) -> activation, the order of the paper's
    encoder (Dense -> LayerNorm -> SiLU), or Dense -> activation -> (LayerNorm) with
    `norm_after_activation` (OGBench's / FQL's critic MLPs: Dense -> GELU -> LayerNorm). With `output_dim` set, a final Dense to
    `output_dim` without activation follows, its kernel scaled by `output_init_scale`
    (OGBench's actor mean uses 1e-2 so the initial policy is near zero).

    Args:
      hidden_dims: widths of the hidden layers; () gives just the output Dense (or the
        identity when output_dim is None too).
      output_dim: size of a final linear layer, or None for none.
      activation: any Keras activation name ("silu", "gelu", "relu", ...).
      layer_norm: a LayerNorm in each hidden layer.
      norm_after_activation: put it after the activation instead of before.
      output_init_scale: variance-scaling factor of the final layer's kernel.
      seed: int or `tfnfrl.rng.SeedStream` seeding the kernels in layer order; None: Keras'
        global default.
    """

    def __init__(
        self,
        hidden_dims=(512, 512, 512, 512),
        output_dim=None,
        activation="silu",
        layer_norm=True,
        output_init_scale=1.0,
        norm_after_activation=False,
        seed=None,
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
        self.norm_after_activation = bool(norm_after_activation)
        self.seed = seed if isinstance(seed, int) else None
        seeds = keras_defaults.seed_stream(seed)

        self._layers = []
        for i, width in enumerate(hidden_dims):
            self._layers.append(keras.layers.Dense(width, kernel_initializer=keras_defaults.variance_scaling(seeds), name=f"dense{i}"))
            hidden = [keras.layers.Activation(activation, name=f"act{i}")]
            if self.layer_norm:
                norm = keras_defaults.layer_norm(f"norm{i}")
                hidden = hidden + [norm] if self.norm_after_activation else [norm] + hidden
            self._layers.extend(hidden)
        if self.output_dim is not None:
            self._layers.append(
                keras.layers.Dense(
                    self.output_dim,
                    kernel_initializer=keras_defaults.variance_scaling(seeds, self.output_init_scale),
                    name="output",
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
            norm_after_activation=self.norm_after_activation,
            seed=self.seed,
        )
        return config
