"""ConditionalFlow: the paper's normalizing flow p(x | y) as a Keras layer over TFP bijectors.

Data x in R^d maps to noise z ~ N(0, I) given a context y in R^k through `num_blocks`
blocks. In the data -> noise direction (Ghugare & Eysenbach 2025, Sec. 4) each block is

  1. an affine coupling: x2 <- (x2 - t(x1, y)) * exp(-s(x1, y)), with x1 the first
     floor(d/2) dims (`tfb.RealNVP`), or a masked-autoregressive affine (`tfb.MaskedAutoregressiveFlow`);
  2. a linear flow x <- W x with W = P L (U + diag(s)) (`tfb.ScaleMatvecLU`),

so log p(x | y) = log N(z; 0, I) + sum of the blocks' log|det|. TFP bijectors run
noise -> data in their forward direction, so the chain holds each coupling as is and each
linear flow inverted; sampling is the chain's forward pass.

The layer owns the weights; the `tfb.Chain` is rebuilt inside each call with the context
captured in the conditioners' closures (cheap: bijectors hold no weights).
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tfnfrl import keras_defaults
from tfnfrl import rng
from tfnfrl.flows import bijectors
from tfnfrl.flows import conditioners
from tfnfrl.flows import linear
from tfnfrl import tracking

tfb = tfp.bijectors
tfd = tfp.distributions

BLOCK_TYPES = ("coupling", "autoregressive")


def _check_positive_int(name, value, minimum=1):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="tfnfrl")
class ConditionalFlow(keras.layers.Layer):
    """A conditional normalizing flow p(x | context) over R^event_dim.

    Args:
      event_dim: d, size of the modelled vector (actions, goals). d = 1 works: its coupling
        conditions the single affine on the context only.
      context_dim: k, size of the condition; 0 makes the flow unconditional.
      num_blocks: number of (affine, linear) blocks; the paper uses 6 (12 for plain BC).
      hidden_units: conditioner width (the paper's coupling "channels", 256).
      block_type: "coupling" (RealNVP, one pass both ways) or "autoregressive" (MAF: one
        pass for log_prob, d sequential passes to sample).
      use_linear_flow: the LU linear flow after each affine (ablation switch; paper: on).
      use_layer_norm: LayerNorm inside coupling conditioners (ablation switch; paper: on).
      validate_args: if True, non-finite inputs raise `tf.errors.InvalidArgumentError`.
        If False (default), a non-finite value in a row makes that row's outputs NaN and
        leaves every other row untouched (rows never interact).
      init_seed: seed of the random orthogonal matrices the linear flows start from.
      seed: int or `tfnfrl.rng.SeedStream` seeding the conditioners' kernels, block by
        block; None: Keras' global default.

    Shapes: x [B, d], context [B, k] (None when k = 0), log_prob [B], samples [B, d].
    """

    def __init__(
        self,
        event_dim,
        context_dim=0,
        num_blocks=6,
        hidden_units=256,
        block_type="coupling",
        use_linear_flow=True,
        use_layer_norm=True,
        validate_args=False,
        init_seed=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int("event_dim", event_dim)
        _check_positive_int("context_dim", context_dim, minimum=0)
        _check_positive_int("num_blocks", num_blocks)
        _check_positive_int("hidden_units", hidden_units)
        if block_type not in BLOCK_TYPES:
            raise ValueError(f"`block_type` must be one of {BLOCK_TYPES}. Received: block_type={block_type!r}")
        self.event_dim = event_dim
        self.context_dim = context_dim
        self.num_blocks = num_blocks
        self.hidden_units = hidden_units
        self.block_type = block_type
        self.use_linear_flow = use_linear_flow
        self.use_layer_norm = use_layer_norm
        self.validate_args = validate_args
        self.init_seed = init_seed
        self.seed = seed if isinstance(seed, int) else None
        seeds = keras_defaults.seed_stream(seed)

        num_masked = event_dim // 2
        if block_type == "coupling":
            self.affine_conditioners = [
                conditioners.CouplingConditioner(
                    num_masked,
                    context_dim,
                    event_dim - num_masked,
                    hidden_units,
                    use_layer_norm=use_layer_norm,
                    seed=seeds,
                    name=f"coupling_{i}",
                )
                for i in range(num_blocks)
            ]
        else:
            self.affine_conditioners = [
                conditioners.MaskedConditioner(event_dim, context_dim, hidden_units, seed=seeds, name=f"made_{i}")
                for i in range(num_blocks)
            ]
        self.linear_flows = (
            [linear.LULinear(event_dim, seed=None if init_seed is None else init_seed + i, name=f"linear_{i}")
             for i in range(num_blocks)]
            if use_linear_flow
            else []
        )
        tracking.track_items(self, "affine", self.affine_conditioners)
        tracking.track_items(self, "linear", self.linear_flows)

    def build(self, input_shape=None):
        for layer in self.affine_conditioners + self.linear_flows:
            layer.build()
        self.built = True

    # ----------------------------------------------------------------- input checks
    def _check_event(self, x, name="x"):
        x = tf.convert_to_tensor(x, dtype=self.compute_dtype)
        if x.shape.rank != 2 or (x.shape[-1] is not None and x.shape[-1] != self.event_dim):
            raise ValueError(
                f"`{name}` must have shape [batch, {self.event_dim}] (event_dim={self.event_dim}). "
                f"Received: {name}.shape={tuple(x.shape)}"
            )
        return x

    def _check_context(self, context, batch_like=None):
        if self.context_dim == 0:
            if context is not None:
                raise ValueError(
                    "This flow is unconditional (context_dim=0); pass context=None. "
                    f"Received: context with shape {tuple(tf.convert_to_tensor(context).shape)}"
                )
            return None
        if context is None:
            raise ValueError(f"`context` of shape [batch, {self.context_dim}] is required (context_dim={self.context_dim}).")
        context = tf.convert_to_tensor(context, dtype=self.compute_dtype)
        if context.shape.rank != 2 or (context.shape[-1] is not None and context.shape[-1] != self.context_dim):
            raise ValueError(
                f"`context` must have shape [batch, {self.context_dim}] (context_dim={self.context_dim}). "
                f"Received: context.shape={tuple(context.shape)}"
            )
        if batch_like is not None:
            b1, b2 = batch_like.shape[0], context.shape[0]
            if b1 is not None and b2 is not None and b1 != b2:
                raise ValueError(
                    f"`x` and `context` must have the same batch size. Received: {b1} and {b2}"
                )
        return context

    def _assert_finite(self, *tensors):
        if not self.validate_args:
            return []
        return [tf.debugging.assert_all_finite(t, "ConditionalFlow received a non-finite input") for t in tensors if t is not None]

    # --------------------------------------------------------------- distribution
    def bijector(self, context=None):
        """The noise -> data `tfb.Chain` for this context (context [B, k] or None)."""
        if not self.built:
            self.build()
        parts = []
        num_masked = self.event_dim // 2
        for i in range(self.num_blocks):
            conditioner = self.affine_conditioners[i]
            if self.block_type == "coupling":
                def fn(x1, output_units, conditioner=conditioner):
                    del output_units  # Fixed at construction.
                    return conditioner(x1, context)

                affine = bijectors.OnePassRealNVP(num_masked, fn, name=f"coupling_{i}")
            else:
                def fn(x, conditioner=conditioner):
                    return conditioner(x, context)

                affine = bijectors.OnePassMAF(fn, name=f"maf_{i}")
            parts.append(affine)
            if self.use_linear_flow:
                parts.append(tfb.Invert(self.linear_flows[i].bijector()))
        # tfb.Chain applies its last element first in the forward (noise -> data) pass, so the
        # list is in data -> noise order: affine_0, linear_0, affine_1, ...
        return tfb.Chain(parts, validate_args=self.validate_args)

    def distribution(self, context=None):
        """p(x | context) as a `tfd.TransformedDistribution` with batch-independent N(0, I) base."""
        base = tfd.MultivariateNormalDiag(loc=tf.zeros([self.event_dim], dtype=self.compute_dtype))
        return tfd.TransformedDistribution(base, self.bijector(context))

    # ------------------------------------------------------------------ public API
    def log_prob(self, x, context=None):
        """log p(x | context) in nats: x [B, d], context [B, k] or None -> [B]."""
        x = self._check_event(x)
        context = self._check_context(context, batch_like=x)
        with tf.control_dependencies(self._assert_finite(x, context)):
            chain = self.bijector(context)
            z = chain.inverse(x)
            ildj = chain.inverse_log_det_jacobian(x, event_ndims=1)
        return rng.standard_normal_log_prob(z) + ildj

    def inverse_and_log_det(self, x, context=None):
        """Data -> noise: (z [B, d], log|det dz/dx| [B])."""
        x = self._check_event(x)
        context = self._check_context(context, batch_like=x)
        chain = self.bijector(context)
        return chain.inverse(x), chain.inverse_log_det_jacobian(x, event_ndims=1)

    def transform_noise(self, z, context=None):
        """Noise -> data, deterministic: z [B, d] -> x [B, d]. z = 0 gives a deterministic action."""
        z = self._check_event(z, name="z")
        context = self._check_context(context, batch_like=z)
        with tf.control_dependencies(self._assert_finite(z, context)):
            return self.bijector(context).forward(z)

    def noise(self, context=None, seed=None, batch_size=None):
        """The N(0, I) draw [B, d] that `sample(context, seed)` maps to data (B from context or batch_size)."""
        if context is not None:
            batch = tf.shape(context)[0]
        elif batch_size is None:
            raise ValueError("An unconditional flow needs `batch_size` to sample.")
        else:
            batch = batch_size
        # tfnfrl.rng draws the same noise with and without XLA (TF's default stateless
        # algorithm does not), so a seed means the same sample in training, eval and export.
        seed = tf.cast(tfp.random.sanitize_seed(seed), tf.int32)
        return rng.standard_normal([batch, self.event_dim], seed, self.compute_dtype)

    def sample(self, context=None, seed=None, batch_size=None):
        """One sample per context row: context [B, k] -> [B, d] (one noise -> data pass).

        `seed` is a stateless seed (int, or int32 Tensor [2]); None draws a fresh one.
        """
        context = self._check_context(context)
        return self.transform_noise(self.noise(context, seed, batch_size), context)

    def sample_and_log_prob(self, context=None, seed=None, batch_size=None):
        """(x [B, d], log p(x | context) [B]) from one forward pass; differentiable in the weights."""
        context = self._check_context(context)
        z = self.noise(context, seed, batch_size)
        with tf.control_dependencies(self._assert_finite(context)):
            chain = self.bijector(context)
            x = chain.forward(z)
            fldj = chain.forward_log_det_jacobian(z, event_ndims=1)
        return x, rng.standard_normal_log_prob(z) - fldj

    def call(self, x, context=None):
        """Keras entry point: log_prob(x, context) [B]."""
        return self.log_prob(x, context)

    def compute_output_shape(self, x_shape, context_shape=None):
        return (x_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(
            event_dim=self.event_dim,
            context_dim=self.context_dim,
            num_blocks=self.num_blocks,
            hidden_units=self.hidden_units,
            block_type=self.block_type,
            use_linear_flow=self.use_linear_flow,
            use_layer_norm=self.use_layer_norm,
            validate_args=self.validate_args,
            init_seed=self.init_seed,
            seed=self.seed,
        )
        return config
