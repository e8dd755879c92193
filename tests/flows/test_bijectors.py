"""One-pass RealNVP / MAF: same math as TFP's stock bijectors, one conditioner call."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfnfrl.flows import bijectors

tfb = tfp.bijectors
D, B = 4, 16


class CountingConditioner:
    """A fixed random affine conditioner that counts its calls."""

    def __init__(self, in_dim, out_dim, seed=0, autoregressive=False):
        rng = np.random.default_rng(seed)
        self.kernel = tf.constant(0.3 * rng.standard_normal((max(in_dim, 1), 2 * out_dim)), tf.float32)
        if autoregressive:  # Output i reads inputs < i only.
            mask = np.tril(np.ones((D, D)), -1).T
            self.kernel = self.kernel * tf.constant(np.concatenate([mask, mask], 1), tf.float32)
        self.calls = 0

    def __call__(self, x, *unused):
        self.calls += 1
        if x.shape[-1] == 0:
            x = tf.ones(tf.concat([tf.shape(x)[:-1], [1]], 0))
        return tf.split(tf.tanh(x @ self.kernel), 2, axis=-1)


def pairs():
    num_masked = D // 2
    nvp_fn = CountingConditioner(num_masked, D - num_masked)
    maf_fn = CountingConditioner(D, D, autoregressive=True)
    yield ("real_nvp", bijectors.OnePassRealNVP(num_masked, nvp_fn),
           tfb.RealNVP(num_masked=num_masked, shift_and_log_scale_fn=nvp_fn), nvp_fn)
    yield ("maf", bijectors.OnePassMAF(maf_fn),
           tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=maf_fn), maf_fn)


@pytest.mark.parametrize("name,one_pass,stock,fn", list(pairs()), ids=["real_nvp", "maf"])
def test_matches_stock_tfp_bijector(name, one_pass, stock, fn):
    x = tf.constant(np.random.default_rng(1).standard_normal((B, D)), tf.float32)
    np.testing.assert_allclose(one_pass.forward(x), stock.forward(x), atol=1e-5)
    np.testing.assert_allclose(one_pass.inverse(x), stock.inverse(x), atol=1e-5)
    np.testing.assert_allclose(one_pass.forward_log_det_jacobian(x, event_ndims=1),
                               stock.forward_log_det_jacobian(x, event_ndims=1), atol=1e-5)
    np.testing.assert_allclose(one_pass.inverse_log_det_jacobian(x, event_ndims=1),
                               stock.inverse_log_det_jacobian(x, event_ndims=1), atol=1e-5)


@pytest.mark.parametrize("name,one_pass,stock,fn", list(pairs()), ids=["real_nvp", "maf"])
def test_inverse_and_log_det_share_one_conditioner_call(name, one_pass, stock, fn):
    y = tf.constant(np.random.default_rng(2).standard_normal((B, D)), tf.float32)
    fn.calls = 0
    one_pass.inverse(y)
    one_pass.inverse_log_det_jacobian(y, event_ndims=1)
    assert fn.calls == 1
    fn.calls = 0
    stock.inverse(y)
    stock.inverse_log_det_jacobian(y, event_ndims=1)
    assert fn.calls == 2  # What the one-pass version saves.


def test_one_dimensional_coupling_conditions_on_nothing_but_its_closure():
    fn = CountingConditioner(0, 1, seed=3)  # shift 0.55, log-scale -0.65.
    bijector = bijectors.OnePassRealNVP(0, fn)
    x = tf.constant([[0.5], [-1.0]])
    # By hand: the conditioner sees only ones, so y = x * exp(tanh(k1)) + tanh(k0) for every row.
    kernel = fn.kernel.numpy()
    shift, log_scale = np.tanh(kernel[0, 0]), np.tanh(kernel[0, 1])
    assert abs(log_scale) > 0.5 and abs(shift) > 0.5  # Not the identity.
    expected_y = x.numpy() * np.exp(log_scale) + shift
    np.testing.assert_allclose(bijector.forward(x), expected_y, atol=1e-6)
    np.testing.assert_allclose(bijector.inverse(tf.constant(expected_y)), x, atol=1e-6)
    np.testing.assert_allclose(bijector.forward_log_det_jacobian(x, event_ndims=1), [log_scale] * 2, atol=1e-6)
    np.testing.assert_allclose(bijector.inverse_log_det_jacobian(tf.constant(expected_y), event_ndims=1),
                               [-log_scale] * 2, atol=1e-6)
    np.testing.assert_allclose(bijector.inverse(bijector.forward(x)), x, atol=1e-6)


def test_negative_num_masked_is_rejected():
    with pytest.raises(ValueError, match=r"^`num_masked` must be >= 0\. Received: num_masked=-1$"):
        bijectors.OnePassRealNVP(-1, CountingConditioner(1, 1))
