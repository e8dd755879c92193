"""Flow-matching policy head (FM-GCBC baseline): an MLP velocity field sampled with Euler steps."""


import keras
import tensorflow as tf

from tfnfrl.networks import mlp
from tfnfrl.networks import policy_head
from tfnfrl import rng


@keras.saving.register_keras_serializable(package="tfnfrl")
class VelocityField(keras.layers.Layer):
    """v(x_t, t, y) = MLP(concat(x_t, t, y)): [B, d], [B, 1], [B, k] -> [B, d]."""

    def __init__(
        self, action_dim, context_dim, hidden_dims=(512, 512, 512, 512), activation="gelu", layer_norm=True, seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.seed = seed if isinstance(seed, int) else None
        self.action_dim = action_dim
        self.context_dim = context_dim
        self.hidden_dims = tuple(hidden_dims)
        self.activation = activation
        self.layer_norm = layer_norm
        self.mlp = mlp.MLP(hidden_dims, action_dim, activation=activation, layer_norm=layer_norm, seed=seed, name="mlp")

    def build(self, input_shape=None):
        self.mlp.build((None, self.action_dim + 1 + self.context_dim))
        self.built = True

    def call(self, x_t, t, context):
        return self.mlp(tf.concat([x_t, t, context], axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update(
            action_dim=self.action_dim,
            context_dim=self.context_dim,
            hidden_dims=self.hidden_dims,
            activation=self.activation,
            layer_norm=self.layer_norm,
            seed=self.seed,
        )
        return config


@keras.saving.register_keras_serializable(package="tfnfrl")
class FlowMatchingHead(policy_head.PolicyHead):
    """Rectified-flow policy (Lipman et al. 2023; Liu et al. 2023).

    Path x_t = (1 - t) x_0 + t a with x_0 ~ N(0, I), t ~ U[0, 1]; the velocity field
    regresses the constant velocity a - x_0 (training loss: the squared error averaged over
    action dims). Sampling integrates dx/dt = v(x, t, y) from t = 0 to 1 with
    `num_steps` Euler steps; `mode` starts from x_0 = 0.

    `log_prob` is the continuous change of variables integrated backwards with the same
    Euler grid: log p(a) ~= log N(x_0; 0, I) - sum_k h * div v(x_{t_k}, t_k), the divergence
    taken exactly from the Jacobian (cheap for action sizes of a few dims). It is an
    approximation whose accuracy grows with `num_steps`; training does not use it.

    Args:
      action_dim, context_dim: sizes of a and y.
      hidden_dims, activation, layer_norm: the velocity MLP.
      num_steps: Euler steps K for sampling and log_prob.
    """

    def __init__(
        self,
        action_dim,
        context_dim,
        hidden_dims=(512, 512, 512, 512),
        activation="gelu",
        layer_norm=True,
        num_steps=10,
        **kwargs,
    ):
        super().__init__(action_dim, context_dim, **kwargs)
        if not isinstance(num_steps, int) or num_steps < 1:
            raise ValueError(f"`num_steps` must be a positive integer. Received: num_steps={num_steps!r}")
        self.hidden_dims = tuple(hidden_dims)
        self.activation = activation
        self.layer_norm = layer_norm
        self.num_steps = num_steps
        self.velocity = VelocityField(
            action_dim, context_dim, hidden_dims, activation=activation, layer_norm=layer_norm, seed=self.init_seeds,
            name="velocity",
        )

    def build(self, input_shape=None):
        self.velocity.build()
        self.built = True

    def _times(self, batch, k):
        return tf.fill([batch, 1], tf.cast(k / self.num_steps, self.compute_dtype))

    def _integrate(self, x0, context):
        """Euler integration of the ODE from t = 0 (x0 [B, d]) to t = 1."""
        policy_head.check_shapes(self, actions=x0, context=context)
        batch = tf.shape(x0)[0]
        x = x0
        for k in range(self.num_steps):
            x = x + self.velocity(x, self._times(batch, k), context) / self.num_steps
        return x

    def sample(self, context, seed):
        x0 = rng.standard_normal([tf.shape(context)[0], self.action_dim], seed, self.compute_dtype)
        return self._integrate(x0, context)

    def mode(self, context):
        return self._integrate(tf.zeros([tf.shape(context)[0], self.action_dim], dtype=self.compute_dtype), context)

    def log_prob(self, actions, context):
        policy_head.check_shapes(self, actions=actions, context=context)
        actions = tf.convert_to_tensor(actions, self.compute_dtype)
        batch = tf.shape(actions)[0]
        x = actions
        divergence = tf.zeros([batch], dtype=actions.dtype)
        for k in range(self.num_steps, 0, -1):
            with tf.GradientTape() as tape:
                tape.watch(x)
                v = self.velocity(x, self._times(batch, k), context)
            jacobian = tape.batch_jacobian(v, x)  # [B, d, d]
            divergence += tf.linalg.trace(jacobian) / self.num_steps
            x = x - v / self.num_steps
        base = rng.standard_normal_log_prob(x)
        return base - divergence

    def training_loss(self, actions, context, seed):
        policy_head.check_shapes(self, actions=actions, context=context)
        actions = tf.convert_to_tensor(actions, self.compute_dtype)
        noise_seed, time_seed = tf.unstack(rng.split(seed, 2))
        batch = tf.shape(actions)[0]
        x0 = rng.standard_normal(tf.shape(actions), noise_seed, actions.dtype)
        t = rng.uniform([batch, 1], time_seed, actions.dtype)
        x_t = (1.0 - t) * x0 + t * actions
        predicted = self.velocity(x_t, t, context)
        return tf.reduce_mean(tf.square(predicted - (actions - x0)), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dims=self.hidden_dims,
            activation=self.activation,
            layer_norm=self.layer_norm,
            num_steps=self.num_steps,
        )
        return config
