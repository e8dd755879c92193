"""FrozenFlow (the acting path for frozen weights) against the training-time flow and agent."""

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tfnfrl import agents
from tfnfrl.flows import ConditionalFlow
from tfnfrl.flows import frozen

perturb = tiny.perturb
agent_inputs = tiny.agent_inputs

SIGMA_SQUARED = 0.01
SEED = tf.constant([3, 7], tf.int32)


def perturbed_flow(event_dim, context_dim, seed=0, **kwargs):
    """A small flow whose zero-initialised output layers are moved, so every block does something."""
    flow = ConditionalFlow(event_dim, context_dim, num_blocks=3, hidden_units=16, init_seed=seed, seed=seed, **kwargs)
    flow.build()
    perturb(flow, seed)
    return flow


def reference(flow, z, context):
    """(x, x + sigma^2 grad_x log p(x | context)) through TFP's chain and autodiff."""
    x = flow.transform_noise(z, context)
    with tf.GradientTape() as tape:
        tape.watch(x)
        log_prob = flow.log_prob(x, context)
    return x.numpy(), (x + SIGMA_SQUARED * tape.gradient(log_prob, x)).numpy()


@pytest.mark.parametrize(
    "event_dim, context_dim, kwargs",
    [
        (5, 6, {}),
        (1, 4, {}),  # No coupling half: the affine is conditioned on the context only.
        (3, 0, {}),  # Unconditional.
        (4, 3, {"use_layer_norm": False}),
        (4, 3, {"use_linear_flow": False}),
    ],
)
def test_sample_and_denoising_step_match_the_training_path(event_dim, context_dim, kwargs):
    flow = perturbed_flow(event_dim, context_dim, **kwargs)
    rng = np.random.default_rng(1)
    z = tf.constant(rng.normal(size=(9, event_dim)).astype(np.float32))
    context = tf.constant(rng.normal(size=(9, context_dim)).astype(np.float32)) if context_dim else None
    x, denoised = reference(flow, z, context)
    assert np.abs(denoised - x).max() > 1e-3  # The gradient term is not negligible here.
    cache = frozen.FrozenFlow(flow)
    np.testing.assert_allclose(cache.sample(z, context).numpy(), x, atol=2e-5)
    np.testing.assert_allclose(cache.sample(z, context, denoise_scale=SIGMA_SQUARED).numpy(), denoised, atol=2e-5)
    compiled = tf.function(lambda z, c: cache.sample(z, c, denoise_scale=SIGMA_SQUARED), jit_compile=True)
    np.testing.assert_allclose(compiled(z, context).numpy(), denoised, atol=2e-5)


def test_cache_is_stale_until_refreshed():
    flow = perturbed_flow(4, 3)
    cache = frozen.FrozenFlow(flow)
    rng = np.random.default_rng(2)
    z = tf.constant(rng.normal(size=(6, 4)).astype(np.float32))
    context = tf.constant(rng.normal(size=(6, 3)).astype(np.float32))
    perturb(flow, seed=5)
    x, _ = reference(flow, z, context)
    assert np.abs(cache.sample(z, context).numpy() - x).max() > 1e-2  # Cached: the old weights.
    cache.refresh()
    np.testing.assert_allclose(cache.sample(z, context).numpy(), x, atol=2e-5)


def test_rejects_autoregressive_flows():
    flow = ConditionalFlow(3, 2, num_blocks=1, hidden_units=8, block_type="autoregressive")
    assert not frozen.supports(flow)
    with pytest.raises(ValueError, match="block_type='coupling'"):
        frozen.FrozenFlow(flow)


# ---------------------------------------------------------------------- the agents
FLOW_AGENTS = ("nf_gcbc", "nf_bc", "nf_rlbc")


def _train_batch(name):
    return tiny.toy_transitions() if name == "nf_rlbc" else tiny.toy_batch()


def assert_acts_like_training_path(agent, observations, goals):
    np.testing.assert_allclose(
        agent.policy.act(observations, goals, SEED).numpy(),
        agent.reference_act(observations, goals, SEED).numpy(),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        agent.policy.act_mode(observations, goals).numpy(),
        agent.reference_act_mode(observations, goals).numpy(),
        atol=1e-5,
    )


@pytest.mark.parametrize("name", FLOW_AGENTS)
def test_agent_acts_like_the_training_path_and_follows_training(name):
    agent = tiny.tiny_agent(name)
    assert agent.frozen_flow is not None
    perturb(agent.head.flow, seed=3)
    agent.policy.refresh()
    observations, goals = agent_inputs(agent)
    assert_acts_like_training_path(agent, observations, goals)
    before = agent.policy.act(observations, goals, SEED).numpy()
    agent.train_step(_train_batch(name), SEED)  # An optimizer step: the cache must follow it.
    after = agent.policy.act(observations, goals, SEED).numpy()
    assert np.abs(after - before).max() > 1e-5
    assert_acts_like_training_path(agent, observations, goals)


@pytest.mark.parametrize("name", FLOW_AGENTS)
def test_policy_fn_refreshes_after_weights_change_without_a_step(name):
    agent = tiny.tiny_agent(name)
    observations, goals = agent_inputs(agent)
    agent.policy.act(observations, goals, SEED)  # Fills the cache.
    perturb(agent.head.flow, seed=4)  # As a checkpoint restore would: no optimizer step.
    policy = agent.policy.policy_fn(seed=1, deterministic=True)
    np.testing.assert_allclose(
        policy(observations, goals), agent.reference_act_mode(observations, goals).numpy(), atol=1e-5
    )


@pytest.mark.parametrize("name", FLOW_AGENTS)
def test_fast_act_can_be_switched_off(name):
    config = tiny.tiny_config(name)
    config.fast_act = False
    agent = agents.make_agent(config, tiny.SPEC, total_steps=10, seed=0)
    assert agent.frozen_flow is None
    observations, goals = agent_inputs(agent)
    before = agent.policy.act(observations, goals, SEED).numpy()
    # No cache to go stale: weights moved without an optimizer step or a refresh act at once
    # (with fast_act on, an eager act would still use the cached old weights here).
    perturb(agent.head.flow, seed=4)
    after = agent.policy.act(observations, goals, SEED).numpy()
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, agent.reference_act(observations, goals, SEED).numpy(), atol=1e-6)
    np.testing.assert_allclose(agent.policy.act_mode(observations, goals).numpy(),
                               agent.reference_act_mode(observations, goals).numpy(), atol=1e-6)
