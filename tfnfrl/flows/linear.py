"""LU-parametrised linear flow (Glow's invertible 1x1 convolution, for vectors)."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors


def random_orthogonal_lu(dim, seed=None):
    """LU factors of a random orthogonal [dim, dim] matrix, as TFP's (lower_upper, permutation).

    lower_upper packs the unit lower-triangular L below the diagonal and U (with its
    diagonal s) on and above it; |det| = prod |s| = 1 at initialisation.
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    q = q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix.
    # Eager even when the first call happens inside a tf.function trace.
    with tf.init_scope():
        lower_upper, permutation = tf.linalg.lu(tf.constant(q, tf.float32))
        return lower_upper.numpy(), permutation.numpy()


class LULinear(keras.layers.Layer):
    """Owns the weights of x -> W x, W = P L (U + diag(s)); `bijector()` returns it in TFP.

    Trainable: `lower_upper` [d, d] (L strictly below the diagonal, s on it, U above).
    Fixed: `permutation` [d] (int32), drawn once at construction like Glow's P.
    log|det W| = sum log|s|.
    """

    def __init__(self, dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.seed = seed

    def build(self, input_shape=None):
        lower_upper, permutation = random_orthogonal_lu(self.dim, self.seed)
        self.lower_upper = self.add_weight(
            shape=(self.dim, self.dim),
            initializer=lambda shape, dtype=None: tf.constant(lower_upper, dtype=dtype or tf.float32),
            name="lower_upper",
        )
        self.permutation = self.add_weight(
            shape=(self.dim,),
            dtype="int32",
            trainable=False,
            initializer=lambda shape, dtype=None: tf.constant(permutation, dtype=tf.int32),
            name="permutation",
        )

    def bijector(self):
        """`tfb.ScaleMatvecLU` computing W x; call inside the traced function that uses it."""
        # Keras 3 weights are not tf.Variables: TFP needs tensors (gradients still flow).
        return tfb.ScaleMatvecLU(
            tf.convert_to_tensor(self.lower_upper),
            tf.convert_to_tensor(self.permutation),
            validate_args=False,
        )

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, seed=self.seed)
        return config
