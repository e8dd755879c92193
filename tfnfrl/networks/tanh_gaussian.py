"""SAC's tanh-squashed Gaussian actor: a = tanh(mu + sigma * eps), with the exact log-density."""

import keras
import tensorflow as tf

from tfnfrl import keras_defaults
from tfnfrl import rng
from tfnfrl.networks import mlp

# log(1 - tanh(u)^2) is computed as 2 (log 2 - u - softplus(-2u)), stable for large |u|.
_LOG2 = 0.6931471805599453


@keras.saving.register_keras_serializable(package="tfnfrl")
class TanhGaussianActor(keras.layers.Layer):
    """pi(a | y): y [B, k] -> tanh-Gaussian over a in (-1, 1)^d.

    The trunk MLP outputs (mu, raw); log sigma = log_std_min + (log_std_max - log_std_min) / 2
    * (tanh(raw) + 1), i.e. -5 + 3.5 (tanh(raw) + 1) for the default range [-5, 2].

    Args:
      action_dim: d. hidden_dims, activation, layer_norm: the trunk MLP.
      log_std_min, log_std_max: range of log sigma. seed: initialiser seeds (int or SeedStream).
    """

    def __init__(self, action_dim, hidden_dims=(256, 256), activation="swish", layer_norm=True, log_std_min=-5.0,
                 log_std_max=2.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.action_dim = int(action_dim)
        self.hidden_dims = tuple(hidden_dims)
        self.activation = activation
        self.layer_norm = layer_norm
        self.log_std_min, self.log_std_max = float(log_std_min), float(log_std_max)
        self.seed = seed if isinstance(seed, int) else None
        self.trunk = mlp.MLP(hidden_dims, 2 * self.action_dim, activation=activation, layer_norm=layer_norm,
                             seed=keras_defaults.seed_stream(seed), name="trunk")

    def build(self, input_shape):
        self.trunk.build(input_shape)
        self.built = True

    def call(self, inputs):
        """(mu [B, d], log_sigma [B, d]) of the pre-squash Gaussian."""
        mu, raw = tf.split(self.trunk(inputs), 2, axis=-1)
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (tf.tanh(raw) + 1.0)
        return mu, log_std

    @staticmethod
    def squashed_log_prob(u, mu, log_std):
        """log pi(tanh(u)) for pre-squash u [B, d]: Gaussian log-density minus log|d tanh/du|, summed: [B]."""
        z = (u - mu) * tf.exp(-log_std)
        gaussian = rng.standard_normal_log_prob(z) - tf.reduce_sum(log_std, axis=-1)
        log_det = tf.reduce_sum(2.0 * (_LOG2 - u - tf.nn.softplus(-2.0 * u)), axis=-1)
        return gaussian - log_det

    def sample_and_log_prob(self, inputs, seed):
        """(a [B, d], log pi(a) [B]) reparameterised: a = tanh(mu + sigma * eps), eps ~ N(0, I) from `seed`."""
        mu, log_std = self(inputs)
        u = mu + tf.exp(log_std) * rng.standard_normal(tf.shape(mu), seed, mu.dtype)
        return tf.tanh(u), self.squashed_log_prob(u, mu, log_std)

    def mode(self, inputs):
        """tanh(mu): the deterministic action [B, d]."""
        return tf.tanh(self(inputs)[0])

    def log_prob(self, actions, inputs, eps=1e-6):
        """log pi(a) [B] of actions in (-1, 1) (clipped by `eps` from the edges)."""
        mu, log_std = self(inputs)
        u = tf.atanh(tf.clip_by_value(actions, -1.0 + eps, 1.0 - eps))
        return self.squashed_log_prob(u, mu, log_std)

    def get_config(self):
        config = super().get_config()
        config.update(action_dim=self.action_dim, hidden_dims=self.hidden_dims, activation=self.activation,
                      layer_norm=self.layer_norm, log_std_min=self.log_std_min, log_std_max=self.log_std_max,
                      seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="tfnfrl")
class Temperature(keras.layers.Layer):
    """SAC's entropy temperature alpha = exp(log_alpha), one trainable scalar."""

    def __init__(self, initial_alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_alpha = float(initial_alpha)

    def build(self, input_shape=None):
        self.log_alpha = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(float(tf.math.log(self.initial_alpha))), name="log_alpha")
        self.built = True

    def call(self, inputs=None):
        """alpha (a scalar tensor)."""
        return tf.exp(tf.convert_to_tensor(self.log_alpha))

    def get_config(self):
        config = super().get_config()
        config.update(initial_alpha=self.initial_alpha)
        return config
