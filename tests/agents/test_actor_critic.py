"""NF-RLBC and ReBRAC: TD targets by hand, masks, aggregation, gradient routing, targets, divergence."""

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tfnfrl import rng
from tfnfrl.agents import actor_critic, rebrac

SEED = tf.constant([3, 7], tf.int32)


def _agent(name, **overrides):
    config = tiny.tiny_config(name)
    config.update(overrides)
    spec = tiny.SPEC.__class__(observation_dim=tiny.OBS, action_dim=tiny.ACT, reward_abs_max=1.0)
    from tfnfrl import agents  # pylint: disable=import-outside-toplevel

    return agents.make_agent(config, spec, total_steps=100, seed=0)


def _numpy(weights):
    return [np.asarray(w).copy() for w in weights]


def test_td_target_and_critic_loss_by_hand():
    rewards = tf.constant([-1.0, 0.0, -1.0])
    masks = tf.constant([1.0, 0.0, 1.0])
    next_heads = tf.constant([[2.0, 3.0], [5.0, 1.0], [-4.0, 0.0]])
    target = actor_critic.td_target(rewards, masks, actor_critic.aggregate(next_heads, "min"), 0.9)
    np.testing.assert_allclose(target.numpy(), [-1 + 0.9 * 2, 0.0, -1 + 0.9 * -4], rtol=1e-6)
    mean_target = actor_critic.td_target(rewards, masks, actor_critic.aggregate(next_heads, "mean"), 0.9)
    np.testing.assert_allclose(mean_target.numpy(), [-1 + 0.9 * 2.5, 0.0, -1 + 0.9 * -2], rtol=1e-6)
    q = tf.constant([[0.0, 1.0], [0.5, 0.5], [-4.0, -5.0]])
    per_example, metrics = actor_critic.critic_loss(q, target)
    expected = [(0 - 0.8) ** 2 + (1 - 0.8) ** 2, 0.5, (-4 + 4.6) ** 2 + (-5 + 4.6) ** 2]
    np.testing.assert_allclose(per_example.numpy(), expected, rtol=1e-5)
    assert float(metrics["q_abs_max"]) == 5.0
    # The refused name and the valid ones, not just any message that echoes the argument.
    with pytest.raises(ValueError, match=r"^Unknown Q aggregation 'median'; expected one of \('min', 'mean'\)\.$"):
        actor_critic.aggregate(q, "median")


@pytest.mark.parametrize("q_agg", ["min", "mean"])
def test_nf_rlbc_critic_loss_is_the_td_error_with_its_own_next_actions(q_agg):
    agent = _agent("nf_rlbc", q_agg=q_agg, discount=0.9)
    batch = {k: tf.constant(v) for k, v in tiny.toy_transitions(16, seed=1).items()}
    per_example, _ = agent.critic_loss(batch, SEED)
    # The same next actions the loss draws (its documented seed split), then the target by hand in numpy.
    next_actions = np.clip(agent.head.sample(agent.encoder(batch["next_observations"]), rng.split(SEED, 3)[0]), -1, 1)
    next_heads = agent.target_critic(batch["next_observations"], next_actions).numpy()
    next_q = next_heads.min(-1) if q_agg == "min" else next_heads.mean(-1)
    target = batch["rewards"].numpy() + 0.9 * batch["masks"].numpy() * next_q
    q = agent.critic(batch["observations"], batch["actions"]).numpy()
    np.testing.assert_allclose(per_example.numpy(), ((q - target[:, None]) ** 2).sum(-1), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["nf_rlbc", "rebrac"])
def test_solved_transitions_never_bootstrap(name):
    agent = _agent(name)
    batch = tiny.toy_transitions(32, seed=2, terminal_fraction=1.0)
    assert not batch["masks"].any()
    q = agent.critic(batch["observations"], batch["actions"]).numpy()
    per_example, _ = agent.critic_loss({k: tf.constant(v) for k, v in batch.items()}, SEED)
    # mask 0: the target is the reward alone, whatever the next state's value (or ReBRAC's penalty).
    np.testing.assert_allclose(per_example.numpy(), ((q - batch["rewards"][:, None]) ** 2).sum(-1), rtol=1e-5)


def test_nf_rlbc_actor_gradient_reaches_every_flow_weight_through_samples_and_spares_the_critic():
    agent = _agent("nf_rlbc")
    batch = {k: tf.constant(v) for k, v in tiny.toy_transitions(64, seed=3).items()}
    for i in range(5):  # Leave the zero-initialised block outputs, so every layer passes gradient.
        agent.train_step(batch, tf.constant([0, i]), i)
    q_only = _agent("nf_rlbc", alpha=0.0)
    for online, copy in zip(agent.weights_by_path.values(), q_only.weights_by_path.values()):
        copy.assign(online)
    actor_group = q_only.loss_groups[1]
    gradients, _ = q_only.group_gradients(actor_group, batch, SEED)  # Raises if any actor weight has no gradient.
    names = [v.path for v in actor_group.variables()]
    assert any(n.startswith("head/") for n in names) and any(n.startswith("encoder/") for n in names)
    flat = [float(tf.reduce_max(tf.abs(g))) for g in gradients]
    dead = [n for n, g in zip(names, flat) if g == 0.0]
    assert not dead, f"no Q-gradient through the samples reaches {dead}"
    assert not {v.path for v in q_only.critic.trainable_weights} & set(names)
    critic_before = _numpy(q_only.critic.weights)
    actor_before = _numpy(actor_group.variables())
    actor_group.optimizer.apply_gradients(zip(gradients, actor_group.variables()))
    assert all(np.array_equal(a, b) for a, b in zip(_numpy(q_only.critic.weights), critic_before))
    assert not all(np.array_equal(a, b) for a, b in zip(_numpy(actor_group.variables()), actor_before))


def test_nf_rlbc_target_critic_follows_by_polyak_averaging():
    agent = _agent("nf_rlbc", tau=0.1)
    batch = {k: tf.constant(v) for k, v in tiny.toy_transitions(16, seed=4).items()}
    target_before = _numpy(agent.target_critic.weights)
    agent.train_step(batch, SEED, 0)
    for online, target, old in zip(_numpy(agent.critic.weights), _numpy(agent.target_critic.weights), target_before):
        np.testing.assert_allclose(target, 0.1 * online + 0.9 * old, rtol=1e-5, atol=1e-7)


def test_rebrac_actor_and_target_actor_move_every_second_update():
    agent = _agent("rebrac", actor_freq=2)
    batch = {k: tf.constant(v) for k, v in tiny.toy_transitions(16, seed=5).items()}
    actor0, target0 = _numpy(agent.actor.weights), _numpy(agent.target_actor.weights)
    agent.train_step(batch, SEED, 1)  # Odd update: critic only.
    assert all(np.array_equal(a, b) for a, b in zip(_numpy(agent.actor.weights), actor0))
    assert all(np.array_equal(a, b) for a, b in zip(_numpy(agent.target_actor.weights), target0))
    assert int(agent.critic_optimizer.iterations.numpy()) == 1 and int(agent.actor_optimizer.iterations.numpy()) == 0
    agent.train_step(batch, SEED, 2)
    assert not all(np.array_equal(a, b) for a, b in zip(_numpy(agent.actor.weights), actor0))
    assert not all(np.array_equal(a, b) for a, b in zip(_numpy(agent.target_actor.weights), target0))


def test_rebrac_critic_penalty_lowers_the_target_by_the_next_action_gap():
    batch = {k: tf.constant(v) for k, v in tiny.toy_transitions(16, seed=6).items()}
    far = dict(batch, next_actions=-tf.sign(batch["next_actions"]))  # Dataset next actions far from the policy's.
    plain, penalised = _agent("rebrac", alpha_critic=0.0), _agent("rebrac", alpha_critic=5.0)
    _, m_plain = plain.critic_loss(far, SEED)
    _, m_pen = penalised.critic_loss(far, SEED)
    assert float(m_pen["penalty"]) > 1.0 and float(m_plain["penalty"]) == 0.0
    # Same seeds and weights: only the penalty differs, and masked rows (3 in 4 here) pay it.
    assert float(m_pen["target_mean"]) < float(m_plain["target_mean"]) - 1.0


def test_divergence_check_names_the_bound():
    agent = _agent("nf_rlbc", discount=0.99, divergence_margin=2.0)
    assert agent.q_bound == pytest.approx(200.0)
    assert agent.check_metrics({"critic/q_abs_max": 150.0}) is None
    assert agent.check_metrics({"critic/q_abs_max": 199.9}) is None  # Just inside the bound.
    assert agent.check_metrics({"critic/loss": 1e9}) is None  # Only the |Q| metric counts.
    message = agent.check_metrics({"critic/q_abs_max": 250.0})
    # The measured |Q| first, then the bound (not the other way round), and how the bound is made.
    assert message.startswith("the critic diverged: max |Q| = 250 exceeds 200 "), message
    assert "divergence_margin x max|r| / (1 - discount)" in message
    assert agent.check_metrics({"critic/q_abs_max": 200.1}) is not None  # Just outside.


def test_rebrac_alpha_table_covers_the_results_envs():
    assert rebrac.alphas_for("cube-single-play-singletask-task2-v0") == (1.0, 1.0)
    assert rebrac.alphas_for("scene-play-singletask-task2-v0") == (0.1, 0.01)
    assert rebrac.alphas_for("puzzle-3x3-play-singletask-task4-v0") == (0.3, 0.01)
    assert rebrac.alphas_for("pointmaze-medium-navigate-v0") is None


@pytest.mark.parametrize("name", ["nf_rlbc", "rebrac"])
def test_q_value_export_function_and_policy_shapes(name):
    agent = _agent(name)
    random = np.random.default_rng(8)
    obs = random.normal(size=(3, tiny.OBS)).astype(np.float32)
    actions = np.tanh(random.normal(size=(3, tiny.ACT))).astype(np.float32)
    fn, inputs = agent.policy.extra_functions["q_value"]
    out = fn(obs, actions)
    assert out["q"].shape == (3,) and out["q_heads"].shape == (3, 2) and list(inputs) == ["observations", "actions"]
    # The exported heads are the online critic's at these inputs, aggregated by the config's q_agg (min).
    heads = agent.critic(obs, actions).numpy()
    np.testing.assert_allclose(out["q_heads"].numpy(), heads, rtol=1e-5, atol=1e-6)
    assert agent.config.q_agg == "min" and np.all(heads[:, 0] != heads[:, 1])
    np.testing.assert_allclose(out["q"].numpy(), heads.min(-1), rtol=1e-5, atol=1e-6)
    mean_agent = _agent(name, q_agg="mean")
    mean_heads = mean_agent.critic(obs, actions).numpy()
    np.testing.assert_allclose(mean_agent.policy.extra_functions["q_value"][0](obs, actions)["q"].numpy(),
                               mean_heads.mean(-1), rtol=1e-5, atol=1e-6)
    acts = agent.policy.act(obs, np.zeros((3, 0), np.float32), SEED).numpy()
    assert acts.shape == (3, tiny.ACT) and np.all(np.abs(acts) <= 1.0)
    assert (agent.policy.log_prob is None) == (name == "rebrac")
