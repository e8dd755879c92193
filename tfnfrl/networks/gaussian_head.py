"""Gaussian policy head: OGBench's GCBC actor (MLP trunk, linear mean, state-independent std)."""


import keras
import tensorflow as tf

from tfnfrl.networks import mlp
from tfnfrl.networks import policy_head
from tfnfrl import rng


@keras.saving.register_keras_serializable(package="tfnfrl")
class GaussianHead(policy_head.PolicyHead):
    """pi(a | y) = N(a; mu(y), diag(sigma^2)) with a state-independent sigma.

    mu(y) = Dense(MLP(y)) where the MLP (OGBench: 3 x 512, GELU, no LayerNorm) is activated
    at its last layer and the mean layer starts at scale 1e-2. With `const_std=True`
    (OGBench's GCBC default) sigma = 1, so the loss is 0.5 * ||a - mu||^2 + const;
    otherwise log sigma is a learned vector (initialised at 0) clipped to
    [log_std_min, log_std_max].

    Args:
      action_dim, context_dim: sizes of a and y.
      hidden_dims, activation, layer_norm: the trunk MLP.
      const_std: fix sigma = 1 instead of learning it.
      log_std_min, log_std_max: clip range of the learned log sigma.
    """

    def __init__(
        self,
        action_dim,
        context_dim,
        hidden_dims=(512, 512, 512),
        activation="gelu",
        layer_norm=False,
        const_std=True,
        log_std_min=-5.0,
        log_std_max=2.0,
        **kwargs,
    ):
        super().__init__(action_dim, context_dim, **kwargs)
        self.hidden_dims = tuple(hidden_dims)
        self.activation = activation
        self.layer_norm = layer_norm
        self.const_std = bool(const_std)
        self.log_std_min = float(log_std_min)
        self.log_std_max = float(log_std_max)
        self.mean_net = mlp.MLP(
            hidden_dims, action_dim, activation=activation, layer_norm=layer_norm, output_init_scale=1e-2, seed=self.init_seeds,
            name="mean_net",
        )

    def build(self, input_shape=None):
        self.mean_net.build((None, self.context_dim))
        if not self.const_std:
            self.log_stds = self.add_weight(shape=(self.action_dim,), initializer="zeros", name="log_stds")
        self.built = True

    def mean_and_std(self, context):
        """(mu [B, action_dim], sigma [action_dim]) for context [B, context_dim]."""
        policy_head.check_shapes(self, context=context)
        mean = self.mean_net(context)
        if self.const_std:
            return mean, tf.ones([self.action_dim], dtype=mean.dtype)
        log_stds = tf.clip_by_value(tf.convert_to_tensor(self.log_stds), self.log_std_min, self.log_std_max)
        return mean, tf.exp(log_stds)

    def log_prob(self, actions, context):
        policy_head.check_shapes(self, actions=actions)
        mean, std = self.mean_and_std(context)
        z = (actions - mean) / std
        return rng.standard_normal_log_prob(z) - tf.reduce_sum(tf.math.log(std))

    def sample(self, context, seed):
        mean, std = self.mean_and_std(context)
        noise = rng.standard_normal(tf.shape(mean), seed, mean.dtype)
        return mean + std * noise

    def mode(self, context):
        return self.mean_and_std(context)[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dims=self.hidden_dims,
            activation=self.activation,
            layer_norm=self.layer_norm,
            const_std=self.const_std,
            log_std_min=self.log_std_min,
            log_std_max=self.log_std_max,
        )
        return config
