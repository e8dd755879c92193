"""A conditional bimodal 2-D density with a known log-density, and a small fitting loop.

Used by the flow demo (`launch/flow_demo.py`) and the flow tests: a flow should reach the
target's entropy; a diagonal Gaussian cannot.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
import tqdm


@dataclasses.dataclass(frozen=True)
class RotatingBimodal:
    """c ~ U(-1, 1); x | c ~ 0.5 N(m(c), s^2 I) + 0.5 N(-m(c), s^2 I), m(c) = r (cos pi c/2, sin pi c/2)."""

    radius: float = 1.5
    mode_std: float = 0.3

    def means(self, c):
        """Mode centre m(c) [N, 2] for contexts c [N, 1]."""
        angle = 0.5 * np.pi * c[:, 0]
        return self.radius * np.stack([np.cos(angle), np.sin(angle)], axis=-1)

    def sample(self, rng, n):
        """(x [n, 2], c [n, 1]) float32."""
        c = rng.uniform(-1.0, 1.0, size=(n, 1)).astype(np.float32)
        sign = np.where(rng.uniform(size=(n, 1)) < 0.5, 1.0, -1.0)
        x = sign * self.means(c) + self.mode_std * rng.standard_normal((n, 2))
        return x.astype(np.float32), c

    def log_prob(self, x, c):
        """log p(x | c) in nats: [N, 2], [N, 1] -> [N]."""
        mean = self.means(c)
        def log_normal(m):
            return -0.5 * np.sum((x - m) ** 2, axis=-1) / self.mode_std**2 - np.log(2 * np.pi * self.mode_std**2)
        return np.logaddexp(log_normal(mean), log_normal(-mean)) + np.log(0.5)


class DiagonalGaussian(keras.layers.Layer):
    """Baseline density x | c ~ N(mu(c), diag(sigma(c)^2)) with a 2 x 64 MLP head."""

    def __init__(self, event_dim=2, hidden_units=64, **kwargs):
        super().__init__(**kwargs)
        self.event_dim = event_dim
        self.net = keras.Sequential([
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(2 * event_dim),
        ])

    def log_prob(self, x, c):
        mean, log_std = tf.split(self.net(c), 2, axis=-1)
        z = (x - mean) / tf.exp(log_std)
        return tf.reduce_sum(-0.5 * tf.square(z) - log_std - 0.5 * np.log(2 * np.pi), axis=-1)


def fit_density(model, target, steps=1500, batch_size=256, learning_rate=3e-3, seed=0, progress=False):
    """Maximum likelihood on samples of `target`; returns the per-step training NLL [steps]."""
    rng = np.random.default_rng(seed)
    # A fixed pool re-used four times: an epoch-style fit that is cheap to sample.
    x, c = target.sample(rng, max(steps * batch_size // 4, batch_size))
    model.log_prob(x[:2], c[:2])  # Build the weights before the optimizer sees them.
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05))
    variables = model.trainable_variables

    @tf.function(jit_compile=True)
    def train_step(x_batch, c_batch):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(model.log_prob(x_batch, c_batch))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    losses = np.empty(steps, np.float32)
    for i in tqdm.trange(steps, disable=not progress, desc="fit", unit="step"):
        j = (i * batch_size) % (len(x) - batch_size + 1)
        losses[i] = train_step(x[j:j + batch_size], c[j:j + batch_size])
    return losses
