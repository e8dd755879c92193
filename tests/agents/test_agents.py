"""Agents: registry, paper defaults, losses by hand, training progress and acting semantics."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tfnfrl import agents
from tfnfrl.agents import optimizers
from tfnfrl import rng

SEED = tf.constant([5, 9], tf.int32)


def test_registry_names_match_configs():
    assert set(agents.AGENTS) == {"nf_gcbc", "nf_bc", "gcbc", "bc", "fm_gcbc", "nf_rlbc", "rebrac", "nf_ugs"}
    for name in agents.AGENTS:
        assert agents.get_config(name).agent_name == name


def test_unknown_agent_lists_valid_names():
    with pytest.raises(ValueError, match="nf_gcbc, nf_bc, gcbc, bc, fm_gcbc, nf_rlbc, rebrac, nf_ugs"):
        agents.get_config("sac")


def test_nf_gcbc_defaults_are_the_papers():
    c = agents.get_config("nf_gcbc")
    assert (c.optimizer.lr, c.optimizer.warmup_steps, c.optimizer.final_lr, c.optimizer.weight_decay) == (3e-4, 500, 1e-6, 1e-6)
    assert (c.batch_size, c.action_noise, c.denoise, c.goal_conditioned) == (256, 0.1, True, True)
    assert (c.head.type, c.head.num_blocks, c.head.hidden_units) == ("flow", 6, 256)
    assert (tuple(c.encoder.hidden_dims), c.encoder.output_dim, c.encoder.activation) == ((512,) * 4, 64, "silu")
    assert c.encoder.layer_norm and c.sampler.actor_geom_sample
    bc = agents.get_config("nf_bc")
    assert bc.head.num_blocks == 12 and not bc.goal_conditioned
    gcbc = agents.get_config("gcbc")
    assert (gcbc.head.type, tuple(gcbc.head.hidden_dims), gcbc.head.const_std, gcbc.batch_size) == ("gaussian", (512,) * 3, True, 1024)


def test_warmup_cosine_schedule():
    config = optimizers.optimizer_config(lr=3e-4, warmup_steps=500, final_lr=1e-6)
    schedule = optimizers.learning_rate_schedule(config, total_steps=10_500)
    lr = lambda step: float(schedule(step))  # noqa: E731
    assert lr(0) == 0.0
    assert lr(250) == pytest.approx(1.5e-4, rel=1e-4)
    assert lr(500) == pytest.approx(3e-4, rel=1e-5)
    assert lr(5_500) == pytest.approx(1e-6 + (3e-4 - 1e-6) / 2, rel=1e-4)  # Cosine midpoint.
    assert lr(10_500) == pytest.approx(1e-6, rel=1e-3)
    constant = optimizers.optimizer_config(lr=3e-4, warmup_steps=0, final_lr=3e-4)
    assert optimizers.learning_rate_schedule(constant, 100) == 3e-4
    # The violated bound and the received values (final_lr above lr), not just the field's name.
    with pytest.raises(ValueError, match=r"^Expected 0 <= final_lr <= lr and lr > 0\. "
                                         r"Received: lr=0\.0001, final_lr=0\.001$"):
        optimizers.learning_rate_schedule(optimizers.optimizer_config(lr=1e-4, final_lr=1e-3), 100)


def test_gaussian_gcbc_loss_is_the_nll_by_hand():
    agent = tiny.tiny_agent("gcbc")
    batch = tiny.toy_batch()
    per_example, info = agent.loss(batch, SEED)
    context = np.concatenate([batch["observations"], batch["actor_goals"]], -1)  # GCBC has no encoder.
    mean = agent.head.mode(context).numpy()
    expected = 0.5 * np.sum((batch["actions"] - mean) ** 2, -1) + math.log(2 * math.pi)  # d = 2, sigma = 1.
    np.testing.assert_allclose(per_example.numpy(), expected, rtol=1e-5)
    assert float(info["loss"]) == pytest.approx(expected.mean(), rel=1e-5)


def test_nf_gcbc_loss_is_the_nll_of_noised_actions():
    agent = tiny.tiny_agent("nf_gcbc")
    batch = tiny.toy_batch()
    per_example, _ = agent.loss(batch, SEED)
    noise_seed, _ = tf.unstack(rng.split(SEED, 2))
    noised = batch["actions"] + 0.1 * rng.standard_normal(batch["actions"].shape, noise_seed)
    context = agent.encoder(batch["observations"], batch["actor_goals"])
    np.testing.assert_allclose(per_example.numpy(), -agent.head.flow.log_prob(noised, context).numpy(), rtol=1e-5)


def test_bc_agents_ignore_goals():
    agent = tiny.tiny_agent("nf_bc")
    assert agent.goal_dim == 0
    batch = tiny.toy_batch()
    a, _ = agent.loss(batch, SEED)
    b, _ = agent.loss(dict(batch, actor_goals=batch["actor_goals"] + 5.0), SEED)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


BC_AGENTS = sorted(n for n in agents.AGENTS if agents.feed(n) == "gc_sampler")


@pytest.mark.parametrize("name", BC_AGENTS)
def test_train_step_reduces_loss_on_a_fixed_batch(name):
    agent = tiny.tiny_agent(name)
    batch = tiny.toy_batch()
    step = tf.function(agent.train_step, jit_compile=True)
    losses = [float(step(batch, tf.constant([0, i]))["actor/loss"]) for i in range(150)]
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert last < first - 0.1, (name, first, last)  # At least 0.1 nats (Gaussian: 0.2 x MSE) better.
    assert int(agent.optimizer.iterations.numpy()) == 150


def test_act_is_sample_plus_denoising_step_then_clip():
    agent = tiny.tiny_agent("nf_gcbc")
    batch = tiny.toy_batch(8)
    obs, goals = batch["observations"], batch["actor_goals"]
    context = agent.encoder(obs, goals)
    a = agent.head.sample(context, SEED)
    with tf.GradientTape() as tape:
        tape.watch(a)
        log_prob = agent.head.log_prob(a, context)
    expected = np.clip((a + 0.01 * tape.gradient(log_prob, a)).numpy(), -1, 1)
    np.testing.assert_allclose(agent.policy.act(obs, goals, SEED).numpy(), expected, atol=1e-4)
    mode = agent.head.mode(context)
    with tf.GradientTape() as tape:
        tape.watch(mode)
        log_prob = agent.head.log_prob(mode, context)
    expected_mode = np.clip((mode + 0.01 * tape.gradient(log_prob, mode)).numpy(), -1, 1)
    np.testing.assert_allclose(agent.policy.act_mode(obs, goals).numpy(), expected_mode, atol=1e-4)


def test_gcbc_act_mode_is_the_clipped_mean_without_denoising():
    agent = tiny.tiny_agent("gcbc")
    batch = tiny.toy_batch(8)
    context = np.concatenate([batch["observations"], batch["actor_goals"]], -1)
    np.testing.assert_allclose(
        agent.policy.act_mode(batch["observations"], batch["actor_goals"]).numpy(),
        np.clip(agent.head.mode(context).numpy(), -1, 1),
        atol=1e-6,
    )


def test_policy_log_prob_matches_head():
    agent = tiny.tiny_agent("nf_gcbc")
    batch = tiny.toy_batch(8)
    context = agent.encoder(batch["observations"], batch["actor_goals"])
    np.testing.assert_allclose(
        agent.policy.log_prob(batch["observations"], batch["actor_goals"], batch["actions"]).numpy(),
        agent.head.log_prob(batch["actions"], context).numpy(),
        rtol=1e-5,
    )


def test_acting_functions_refuse_wrong_shapes():
    agent = tiny.tiny_agent("nf_gcbc")
    # The input signature names the refused argument, its shape and the expected [None, 4].
    with pytest.raises(TypeError, match=r"TensorSpec\(shape=\(2, 5\), dtype=tf.float32, name='observations'\) "
                                        r"to TensorSpec\(shape=\(None, 4\), dtype=tf.float32, name='observations'\)"):
        agent.policy.act(np.zeros((2, 5), np.float32), np.zeros((2, 4), np.float32), SEED)
    with pytest.raises(TypeError, match=r"TensorSpec\(shape=\(2, 3\), dtype=tf.float32, name='goals'\) "
                                        r"to TensorSpec\(shape=\(None, 4\), dtype=tf.float32, name='goals'\)"):
        agent.policy.act_mode(np.zeros((2, 4), np.float32), np.zeros((2, 3), np.float32))


def test_policy_fn_is_reproducible_and_advances_its_seed():
    agent = tiny.tiny_agent("nf_gcbc")
    obs, goals = tiny.toy_batch(3)["observations"], tiny.toy_batch(3)["actor_goals"]
    first, second = agent.policy.policy_fn(seed=1), agent.policy.policy_fn(seed=1)
    a1, a2 = first(obs, goals), first(obs, goals)
    assert not np.allclose(a1, a2)  # A new seed per call.
    np.testing.assert_array_equal(a1, second(obs, goals))
    np.testing.assert_array_equal(a2, second(obs, goals))
    # Call k draws with the documented stateless seed [seed, k].
    np.testing.assert_array_equal(a1, agent.policy.act(obs, goals, tf.constant([1, 0], tf.int32)).numpy())
    np.testing.assert_array_equal(a2, agent.policy.act(obs, goals, tf.constant([1, 1], tf.int32)).numpy())
    deterministic = agent.policy.policy_fn(deterministic=True)
    mode = deterministic(obs, goals)
    np.testing.assert_array_equal(mode, agent.policy.act_mode(obs, goals).numpy())
    np.testing.assert_array_equal(deterministic(obs, goals), mode)  # No seed advances in the mode.
    assert not np.allclose(mode, a1)
    bc_agent = tiny.tiny_agent("bc")
    bc = bc_agent.policy.policy_fn(deterministic=True)
    # Goals of any size are dropped: the actions are the goal-free mode's, whatever the goals.
    expected = bc_agent.policy.act_mode(obs, np.zeros((3, 0), np.float32)).numpy()
    assert expected.shape == (3, 2)
    np.testing.assert_array_equal(bc(obs, goals), expected)
    np.testing.assert_array_equal(bc(obs, np.full((3, 7), 5.0, np.float32)), expected)


def test_same_seed_same_initial_weights():
    a, b, c = tiny.tiny_agent("nf_gcbc", seed=3), tiny.tiny_agent("nf_gcbc", seed=3), tiny.tiny_agent("nf_gcbc", seed=4)
    for va, vb in zip(a.policy_variables, b.policy_variables):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    assert any(not np.array_equal(va.numpy(), vc.numpy()) for va, vc in zip(a.policy_variables, c.policy_variables))


@pytest.mark.parametrize("name", ["nf_gcbc", "fm_gcbc"])
def test_loss_noise_is_the_same_eager_and_under_xla(name):
    """The train step is XLA-compiled: its noise must be what the documented seed gives."""
    agent = tiny.tiny_agent(name)
    batch = tiny.toy_batch()
    loss = lambda b, s: agent.loss(b, s)[0]  # noqa: E731
    np.testing.assert_allclose(
        loss(batch, SEED).numpy(), tf.function(loss, jit_compile=True)(batch, SEED).numpy(), rtol=1e-4, atol=1e-4
    )
