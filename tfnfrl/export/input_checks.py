"""Run-time checks of a served request's tensors, and the optional-seed rule.

The signature's `TensorSpec`s already reject a wrong dtype or width when the SavedModel is
called from Python, but a TF Serving (or `tf.Session`) feed goes straight into the graph, so
the exported functions repeat the checks as graph ops. Every failure is an
InvalidArgumentError whose message names the input and its expected spec.
"""

import tensorflow as tf

# A `seed` input of shape [0] (the signature default) asks for a fresh seed on every call.
EMPTY_SEED_SHAPE = [None]
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def spec_text(dim, dtype=tf.float32):
    """How an input of `dim` features is described in error messages: "float32 [batch, dim]"."""
    return f"{tf.as_dtype(dtype).name} [batch, {dim}]"


def checked_matrix(name, tensor, dim, batch_size=None):
    """`tensor` after asserting it is [batch, dim] with finite values (and `batch_size` rows).

    Args:
      name: the input's signature name, used in the messages.
      tensor: float32 Tensor fed by the client.
      dim: the expected number of columns.
      batch_size: optional scalar int32 Tensor; the rows must match it (e.g. goals vs
        observations).

    Returns the same values, with the checks as control dependencies. A NaN or +-inf
    anywhere fails the whole request (InvalidArgumentError "... non-finite ...").
    """
    expected = spec_text(dim, tensor.dtype)
    shape = tf.shape(tensor)
    checks = [
        tf.debugging.assert_equal(
            tf.size(shape), 2, message=f"`{name}` must be a matrix of shape {expected}; received a different rank"
        ),
    ]
    with tf.control_dependencies(checks):
        checks.append(
            tf.debugging.assert_equal(
                shape[-1], dim, message=f"`{name}` must have shape {expected}; received a different width"
            )
        )
        if batch_size is not None:
            checks.append(
                tf.debugging.assert_equal(
                    shape[0], batch_size, message=f"`{name}` must have as many rows as `observations`"
                )
            )
    with tf.control_dependencies(checks):
        return tf.debugging.check_numerics(
            tensor, f"`{name}` contains a non-finite value (NaN or inf); expected finite {expected}"
        )


def resolve_seed(seed):
    """The stateless seed int32 [2] to act with: `seed` itself, or a fresh one if `seed` is [].

    A fresh seed comes from a stateful op with seed attributes (0, 0), which TensorFlow seeds
    from the OS when the kernel is created: a new stream per server process, advancing on
    every call (no global Python/Keras seed is baked into the SavedModel).
    """
    size = tf.size(seed)
    check = tf.debugging.Assert(
        tf.logical_or(tf.equal(size, 0), tf.equal(size, 2)),
        ["`seed` must be int32 [2], or [] (the default) for a fresh random seed; received shape", tf.shape(seed)],
    )
    fresh = tf.raw_ops.RandomUniformInt(
        shape=[2], minval=tf.constant(INT32_MIN, tf.int32), maxval=tf.constant(INT32_MAX, tf.int32), seed=0, seed2=0
    )
    with tf.control_dependencies([check]):
        # Branch-free: a given seed comes first, so [:2] picks it; an empty one leaves `fresh`.
        return tf.ensure_shape(tf.concat([seed, fresh], axis=0)[:2], [2])
