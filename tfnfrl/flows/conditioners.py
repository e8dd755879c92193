"""Conditioner networks: the learned parts of the flow's bijectors.

A conditioner reads the untransformed part of the event (and the context) and returns the
shift and log-scale of an affine transform. The bijector math itself lives in TFP
(`tfb.RealNVP`, `tfb.MaskedAutoregressiveFlow`); these layers only compute parameters.
"""

import keras
import numpy as np
import tensorflow as tf

from tfnfrl import keras_defaults
from tfnfrl import tracking

# What `CouplingConditioner(fused=None)` (every flow's default) resolves to. The fused path
# computes the same function; only float rounding of some sums differs (see the class). Off:
# on the 2-core CPUs of BENCHMARKS.md (TF 2.21 XLA) the fused train step cost ~5% more CPU
# time than the two separate stacks (XLA runs the [2, B, h] batched matmuls less efficiently).
FUSED_BY_DEFAULT = False


def _affine_mlp(hidden_units, output_units, use_layer_norm, prefix, seeds):
    """Dense(h) -> LeakyReLU -> LayerNorm -> Dense(h') -> LeakyReLU -> LayerNorm -> Dense(out=0)."""
    layers = []
    for i, units in enumerate(hidden_units):
        layers.append(
            keras.layers.Dense(
                units,
                # U(+-1/sqrt(fan_in)): the initialisation the paper's hyper-parameters were tuned with.
                kernel_initializer=keras_defaults.fan_in_uniform(seeds),
                name=f"{prefix}_dense{i}",
            )
        )
        layers.append(keras.layers.LeakyReLU(keras_defaults.LEAKY_RELU_SLOPE, name=f"{prefix}_act{i}"))
        if use_layer_norm:
            layers.append(keras_defaults.layer_norm(f"{prefix}_norm{i}"))
    # Zero-initialised output: every block starts as the identity map.
    layers.append(keras.layers.Dense(output_units, kernel_initializer="zeros", name=f"{prefix}_out"))
    return layers


def _run(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def _stacked(branches, attribute):
    """The two branches' weights `attribute` stacked on a new leading axis: [2, ...]."""
    return tf.stack([tf.convert_to_tensor(getattr(layer, attribute)) for layer in branches], axis=0)


def _fused_layer_norm(h, norms):
    """Per-branch LayerNorm of h [2, B, w] with each branch's own gamma, beta and epsilon.

    The same op Keras' LayerNormalization runs (`keras.ops.layer_normalization`: moments
    over the last axis, then x * inv + res), with gamma/beta broadcast per branch.
    """
    epsilons = {layer.epsilon for layer in norms}
    if len(epsilons) != 1:
        raise ValueError(f"Fused LayerNorm needs one epsilon for both branches. Received: {sorted(epsilons)}")
    gamma = _stacked(norms, "gamma")[:, None, :]
    beta = _stacked(norms, "beta")[:, None, :]
    return keras.ops.layer_normalization(h, gamma, beta, axis=-1, epsilon=epsilons.pop())


def _fused_affine_mlps(branches, x):
    """Both `_affine_mlp` stacks on the same input x [B, n] at once -> [2, B, out].

    Same weights, same math: the first Dense runs as one matmul against the two kernels
    concatenated along their outputs, every later Dense as one batched matmul over the
    kernels stacked [2, h, h'], LeakyReLU and LayerNorm per branch. Only the order of some
    float sums may differ from running the two stacks one after the other.
    """
    def layers_of(kind):
        return [[layer for layer in branch if isinstance(layer, kind)] for branch in branches]

    denses = list(zip(*layers_of(keras.layers.Dense)))
    activations = list(zip(*layers_of(keras.layers.LeakyReLU)))
    norms = list(zip(*layers_of(keras.layers.LayerNormalization)))
    first = denses[0]
    width = first[0].units
    kernel = tf.concat([tf.convert_to_tensor(layer.kernel) for layer in first], axis=1)
    bias = tf.concat([tf.convert_to_tensor(layer.bias) for layer in first], axis=0)
    h = tf.matmul(x, kernel) + bias  # [B, 2 * width]
    h = tf.transpose(tf.reshape(h, [-1, 2, width]), [1, 0, 2])  # [2, B, width]
    for i, dense in enumerate(denses[1:]):
        h = tf.nn.leaky_relu(h, activations[i][0].negative_slope)
        if norms:
            h = _fused_layer_norm(h, norms[i])
        h = tf.matmul(h, _stacked(dense, "kernel")) + _stacked(dense, "bias")[:, None, :]
    return h


class CouplingConditioner(keras.layers.Layer):
    """The paper's coupling conditioner: two MLPs, s(.) and t(.), on concat(x1, context).

    Maps x1 [B, num_masked] and context [B, k] to (shift, log_scale), each
    [B, output_units]. Each MLP is Dense(hidden + k) -> LeakyReLU -> LayerNorm ->
    Dense(hidden) -> LeakyReLU -> LayerNorm -> Dense(output_units), the last layer zero.
    When num_masked + k == 0 (a 1-D unconditional flow) the input is a constant 1, so the
    affine parameters are learned constants.

    `fused=True` evaluates s and t together (`_fused_affine_mlps`: one wide matmul, then
    batched matmuls) from the same weights; `fused=False` runs the two Dense stacks one
    after the other; `fused=None` means `FUSED_BY_DEFAULT` (False: see there why). Both
    read the same variables under the same names (t_dense0, ..., s_out), so checkpoints
    load either way; outputs agree to float rounding.
    """

    def __init__(self, num_masked, context_dim, output_units, hidden_units, use_layer_norm=True, seed=None,
                 fused=None, **kwargs):
        super().__init__(**kwargs)
        self.num_masked = num_masked
        self.context_dim = context_dim
        self.output_units = output_units
        self.hidden_units = hidden_units
        self.use_layer_norm = use_layer_norm
        self.fused = FUSED_BY_DEFAULT if fused is None else bool(fused)
        widths = (hidden_units + context_dim, hidden_units)
        seeds = keras_defaults.seed_stream(seed)
        self._shift_layers = tracking.track_items(
            self, "t", _affine_mlp(widths, output_units, use_layer_norm, "t", seeds)
        )
        self._log_scale_layers = tracking.track_items(
            self, "s", _affine_mlp(widths, output_units, use_layer_norm, "s", seeds)
        )

    @property
    def input_units(self):
        return max(self.num_masked + self.context_dim, 1)

    def build(self, input_shape=None):
        shape = (None, self.input_units)
        for layers in (self._shift_layers, self._log_scale_layers):
            for layer in layers:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
            shape = (None, self.input_units)

    def conditioner_input(self, x1, context):
        """concat(x1, context) [B, num_masked + k]; a column of ones if both are empty."""
        parts = [t for t in (x1, context) if t is not None and t.shape[-1] != 0]
        if not parts:
            batch = tf.shape(x1)[:-1]
            return tf.ones(tf.concat([batch, [1]], axis=0), dtype=x1.dtype)
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)

    def call(self, x1, context=None):
        inputs = self.conditioner_input(x1, context)
        if self.fused:
            shift, log_scale = tf.unstack(_fused_affine_mlps((self._shift_layers, self._log_scale_layers), inputs))
            return shift, log_scale
        return _run(self._shift_layers, inputs), _run(self._log_scale_layers, inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_masked=self.num_masked,
            context_dim=self.context_dim,
            output_units=self.output_units,
            hidden_units=self.hidden_units,
            use_layer_norm=self.use_layer_norm,
            fused=self.fused,
        )
        return config


def made_degrees(event_dim, hidden_units):
    """MADE degrees: inputs 1..d, hidden units cycling over 1..d-1 (all 0 when d == 1)."""
    input_degrees = np.arange(1, event_dim + 1)
    if event_dim == 1:
        hidden_degrees = [np.zeros(h, dtype=np.int64) for h in hidden_units]
    else:
        hidden_degrees = [np.arange(h) % (event_dim - 1) + 1 for h in hidden_units]
    return input_degrees, hidden_degrees


def made_masks(event_dim, hidden_units):
    """Binary masks [fan_in, fan_out] making output i depend only on inputs < i."""
    input_degrees, hidden_degrees = made_degrees(event_dim, hidden_units)
    masks = []
    previous = input_degrees
    for degrees in hidden_degrees:
        masks.append((degrees[None, :] >= previous[:, None]).astype(np.float32))
        previous = degrees
    masks.append((input_degrees[None, :] > previous[:, None]).astype(np.float32))
    return masks


class MaskedConditioner(keras.layers.Layer):
    """Conditional MADE (Germain et al. 2015) giving (shift, log_scale) for a MAF block.

    Maps x [B, d] and context [B, k] to (shift, log_scale), each [B, d], where output i
    depends on x[:, :i] and the whole context. Written as a Keras 3 layer (TFP's
    `AutoregressiveNetwork` is a tf-keras layer whose weights Keras 3 would not track).
    No LayerNorm: normalising across hidden units would leak future inputs into the output.
    """

    def __init__(self, event_dim, context_dim, hidden_units, num_hidden_layers=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._seeds = keras_defaults.seed_stream(seed)
        self.event_dim = event_dim
        self.context_dim = context_dim
        self.hidden_units = hidden_units
        self.num_hidden_layers = num_hidden_layers

    def build(self, input_shape=None):
        widths = [self.hidden_units] * self.num_hidden_layers
        masks = made_masks(self.event_dim, widths)
        init = keras_defaults.fan_in_uniform(self._seeds)
        self._masks = [tf.constant(m) for m in masks]
        self._kernels, self._biases = [], []
        fan_in = self.event_dim
        for i, width in enumerate(widths):
            self._kernels.append(self.add_weight(shape=(fan_in, width), initializer=init, name=f"kernel{i}"))
            self._biases.append(self.add_weight(shape=(width,), initializer="zeros", name=f"bias{i}"))
            fan_in = width
        if self.context_dim:
            self._context_kernel = self.add_weight(
                shape=(self.context_dim, widths[0]), initializer=init, name="context_kernel"
            )
        tracking.track_items(self, "kernel", self._kernels)
        tracking.track_items(self, "bias", self._biases)
        # Shift and log-scale heads share the masked trunk; zero-initialised (identity block).
        self._out_kernel = self.add_weight(shape=(fan_in, 2 * self.event_dim), initializer="zeros", name="out_kernel")
        self._out_bias = self.add_weight(shape=(2 * self.event_dim,), initializer="zeros", name="out_bias")

    def call(self, x, context=None):
        h = x
        for i, (kernel, bias) in enumerate(zip(self._kernels, self._biases)):
            h = tf.matmul(h, kernel * self._masks[i]) + bias
            if i == 0 and self.context_dim:
                h = h + tf.matmul(context, self._context_kernel)
            h = tf.nn.leaky_relu(h, keras_defaults.LEAKY_RELU_SLOPE)
        out_mask = tf.tile(self._masks[-1], [1, 2])
        out = tf.matmul(h, self._out_kernel * out_mask) + self._out_bias
        shift, log_scale = tf.split(out, 2, axis=-1)
        return shift, log_scale

    def get_config(self):
        config = super().get_config()
        config.update(
            event_dim=self.event_dim,
            context_dim=self.context_dim,
            hidden_units=self.hidden_units,
            num_hidden_layers=self.num_hidden_layers,
        )
        return config
