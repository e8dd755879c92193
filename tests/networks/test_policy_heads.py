"""Policy heads: log-likelihoods checked by hand, sampling/mode semantics, shared interface."""

import math

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from tfnfrl import networks
from tfnfrl import rng

RNG = np.random.default_rng(0)
ACTIONS = np.tanh(RNG.normal(size=(5, 3))).astype(np.float32)
CONTEXT = RNG.normal(size=(5, 4)).astype(np.float32)
SEED = tf.constant([3, 7], tf.int32)

TINY = {
    "flow": dict(num_blocks=2, hidden_units=16, init_seed=0),
    "gaussian": dict(hidden_dims=(16,)),
    "flow_matching": dict(hidden_dims=(16,), num_steps=4),
}


@pytest.fixture(params=sorted(TINY))
def head(request):
    head = networks.make_head(request.param, 3, 4, **TINY[request.param])
    head.build()
    return head


def test_interface_shapes_and_finiteness(head):
    assert head.log_prob(ACTIONS, CONTEXT).shape == (5,)
    assert head.sample(CONTEXT, SEED).shape == (5, 3)
    assert head.mode(CONTEXT).shape == (5, 3)
    loss = head.training_loss(ACTIONS, CONTEXT, SEED)
    assert loss.shape == (5,) and np.all(np.isfinite(loss.numpy()))


def test_sampling_is_a_function_of_the_seed(head):
    a = head.sample(CONTEXT, SEED).numpy()
    np.testing.assert_array_equal(a, head.sample(CONTEXT, SEED).numpy())
    assert not np.allclose(a, head.sample(CONTEXT, tf.constant([3, 8])).numpy())
    # The mode takes no seed and treats rows independently: row i alone gives row i of the batch.
    perturb = np.random.default_rng(1)  # Off the initialisation (a flow's zero-initialised blocks ignore the context).
    for w in head.trainable_weights:
        w.assign(w.numpy() + 0.1 * perturb.standard_normal(w.shape).astype(np.float32))
    mode = head.mode(CONTEXT).numpy()
    assert not np.allclose(mode, mode[:1])  # It depends on the context.
    for i in range(len(CONTEXT)):
        np.testing.assert_allclose(head.mode(CONTEXT[i:i + 1]).numpy()[0], mode[i], rtol=1e-5, atol=1e-6)


def test_config_round_trip(head):
    clone = type(head).from_config(head.get_config())
    clone.build()
    assert clone.get_config() == head.get_config()
    assert [w.shape for w in clone.weights] == [w.shape for w in head.weights]


def test_wrong_action_size_is_refused(head):
    with pytest.raises(ValueError, match=r"must have shape \[batch, 3\].*\. Received: actions\.shape=\(5, 2\)$"):
        head.log_prob(np.zeros((5, 2), np.float32), CONTEXT)


def test_unknown_head_lists_valid_ones():
    with pytest.raises(ValueError, match=r"^Unknown policy head 'diffusion'; expected one of "
                                         r"\['flow', 'flow_matching', 'gaussian'\]\.$"):
        networks.make_head("diffusion", 2, 2)


def test_gaussian_constant_std_nll_by_hand():
    head = networks.GaussianHead(3, 4, hidden_dims=(8,))
    head.build()
    mean = head.mode(CONTEXT).numpy()
    expected = -0.5 * np.sum((ACTIONS - mean) ** 2, -1) - 1.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(head.log_prob(ACTIONS, CONTEXT).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(head.training_loss(ACTIONS, CONTEXT, SEED).numpy(), -expected, rtol=1e-5)


def test_gaussian_learned_std_matches_scipy_and_is_clipped():
    head = networks.GaussianHead(3, 4, hidden_dims=(8,), const_std=False, log_std_min=-1.0, log_std_max=0.5)
    head.build()
    head.log_stds.assign([-3.0, 0.2, 2.0])  # Clipped to [-1, 0.2, 0.5].
    std = np.exp([-1.0, 0.2, 0.5])
    mean = head.mode(CONTEXT).numpy()
    expected = scipy.stats.norm.logpdf(ACTIONS, mean, std).sum(-1)
    np.testing.assert_allclose(head.log_prob(ACTIONS, CONTEXT).numpy(), expected, rtol=1e-5)
    samples = head.sample(np.repeat(CONTEXT[:1], 4000, axis=0), SEED).numpy()
    np.testing.assert_allclose(samples.std(0), std, rtol=0.05)
    np.testing.assert_allclose(samples.mean(0), mean[0], atol=0.05)


def test_gaussian_initial_mean_is_small():
    """OGBench's mean layer starts at scale 1e-2, so the untrained policy acts near zero."""
    head = networks.GaussianHead(3, 4)
    head.build()
    assert np.abs(head.mode(CONTEXT).numpy()).max() < 0.2


def test_flow_head_is_the_conditional_flow():
    head = networks.FlowHead(3, 4, num_blocks=2, hidden_units=16, init_seed=1)
    head.build()
    # Off the initialisation: there the zero-initialised blocks ignore the context and the
    # flow maps zero noise to zero, so a mode of zeros or a dropped context would go unseen.
    perturb = np.random.default_rng(2)
    for w in head.trainable_weights:
        w.assign(w.numpy() + 0.1 * perturb.standard_normal(w.shape).astype(np.float32))
    log_prob = head.log_prob(ACTIONS, CONTEXT).numpy()
    np.testing.assert_allclose(log_prob, head.flow.log_prob(ACTIONS, CONTEXT).numpy(), rtol=1e-6)
    other_context = head.flow.log_prob(ACTIONS, np.roll(CONTEXT, 1, axis=0)).numpy()
    assert np.abs(other_context - log_prob).max() > 1e-2  # The context matters.
    mode = head.mode(CONTEXT).numpy()
    assert np.abs(mode).min(axis=1).max() > 1e-2 and not np.allclose(mode, mode[:1])
    np.testing.assert_allclose(mode, head.flow.transform_noise(np.zeros((5, 3), np.float32), CONTEXT).numpy(),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(head.sample(CONTEXT, SEED).numpy(), head.flow.sample(CONTEXT, seed=SEED).numpy())
    np.testing.assert_allclose(head.training_loss(ACTIONS, CONTEXT, SEED).numpy(), -log_prob, rtol=1e-6)


def test_flow_head_ablation_switches_remove_linear_flows_and_layer_norms():
    def layer_norms(head):
        return [w for w in head.weights if "norm" in w.path]

    full = networks.FlowHead(3, 4, num_blocks=2, hidden_units=16, init_seed=1)
    ablated = networks.FlowHead(3, 4, num_blocks=2, hidden_units=16, init_seed=1, use_linear_flow=False,
                                use_layer_norm=False)
    for head in (full, ablated):
        head.build()
    assert len(full.flow.linear_flows) == 2 and not ablated.flow.linear_flows
    assert layer_norms(full) and not layer_norms(ablated)
    assert ablated.get_config()["use_linear_flow"] is False and ablated.get_config()["use_layer_norm"] is False
    assert networks.FlowHead.from_config(ablated.get_config()).use_layer_norm is False
    assert ablated.log_prob(ACTIONS, CONTEXT).shape == (5,)


def _constant_velocity_head(bias):
    """A flow-matching head whose velocity is the constant `bias` (zero output kernel)."""
    head = networks.FlowMatchingHead(3, 4, hidden_dims=(8,), num_steps=5)
    head.build()
    output = head.velocity.mlp._layers[-1]
    output.kernel.assign(np.zeros(output.kernel.shape, np.float32))
    output.bias.assign(bias)
    return head


def test_flow_matching_constant_velocity_by_hand():
    bias = np.array([0.5, -0.25, 0.1], np.float32)
    head = _constant_velocity_head(bias)
    # x1 = x0 + bias: the mode is bias, samples are N(bias, I), log p(a) = log N(a - bias; 0, I).
    np.testing.assert_allclose(head.mode(CONTEXT).numpy(), np.tile(bias, (5, 1)), atol=1e-6)
    expected = scipy.stats.norm.logpdf(ACTIONS - bias).sum(-1)
    np.testing.assert_allclose(head.log_prob(ACTIONS, CONTEXT).numpy(), expected, rtol=1e-5)
    noise_seed, time_seed = tf.unstack(rng.split(SEED, 2))
    x0 = rng.standard_normal([5, 3], noise_seed).numpy()
    loss = np.mean((bias - (ACTIONS - x0)) ** 2, -1)
    np.testing.assert_allclose(head.training_loss(ACTIONS, CONTEXT, SEED).numpy(), loss, rtol=1e-5)


def test_flow_matching_log_prob_of_a_linear_field_converges_to_the_exact_density():
    """v(x) = c x gives x1 = e^c x0, so p1 = N(0, e^{2c} I); Euler's estimate converges to it."""
    c = 0.7
    head = networks.FlowMatchingHead(3, 4, hidden_dims=(), num_steps=50)
    head.build()
    output = head.velocity.mlp._layers[-1]
    kernel = np.zeros(output.kernel.shape, np.float32)
    kernel[:3, :3] = c * np.eye(3)  # Inputs are concat(x_t, t, y): only x_t feeds the output.
    output.kernel.assign(kernel)
    output.bias.assign(np.zeros(3, np.float32))
    expected = scipy.stats.norm.logpdf(ACTIONS, 0.0, math.exp(c)).sum(-1)
    np.testing.assert_allclose(head.log_prob(ACTIONS, CONTEXT).numpy(), expected, atol=2e-2)
    x0 = rng.standard_normal([5, 3], SEED).numpy()
    np.testing.assert_allclose(head.sample(CONTEXT, SEED).numpy(), x0 * math.exp(c), rtol=1e-2)


def test_noise_and_seed_derivation_are_the_same_with_and_without_xla():
    """TF's own stateless float generators and seed splitting differ under XLA; ours must not."""
    draw = lambda: (rng.standard_normal([1000], SEED), rng.uniform([1000], SEED), rng.split(SEED, 3), rng.fold_in(SEED, 5))  # noqa: E731
    eager, compiled = draw(), tf.function(draw, jit_compile=True)()
    np.testing.assert_allclose(eager[0].numpy(), compiled[0].numpy(), atol=1e-4)
    for a, b in zip(eager[1:], compiled[1:]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = rng.standard_normal([20000], SEED).numpy()
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    u = rng.uniform([20000], SEED).numpy()
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01


def test_uniform_maps_the_extreme_philox_words_strictly_inside_0_1(monkeypatch):
    """u = (top 23 bits + 0.5) / 2^23: the smallest and largest words give 2^-24 and 1 - 2^-24, never 0 or 1."""
    words = np.array([0, 2**9 - 1, 2**9, 2**31, 2**32 - 2**9 - 1, 2**32 - 1], np.uint32)
    calls = []

    def fixed_bits(shape, seed, minval, maxval, dtype, alg):
        calls.append((dtype, alg))
        return tf.constant(words)

    monkeypatch.setattr(tf.random, "stateless_uniform", fixed_bits)
    u = rng.uniform([len(words)], SEED).numpy()
    z = rng.standard_normal([len(words)], SEED).numpy()
    assert calls == [(tf.uint32, "philox")] * 2
    top = (words.astype(np.float64) // 2**9 + 0.5) / 2**23  # Exact in float64 and in float32.
    np.testing.assert_array_equal(u, top.astype(np.float32))
    assert u[0] == 2.0**-24 and u[-1] == 1 - 2.0**-24 and u[1] == u[0] and u[2] == 3 * 2.0**-24
    np.testing.assert_allclose(z, scipy.stats.norm.ppf(top), rtol=1e-4, atol=1e-6)
    assert np.all(np.isfinite(z)) and np.abs(z).max() < 5.3 and z[0] == -z[-1]
