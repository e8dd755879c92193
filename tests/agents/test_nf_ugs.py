"""NF-UGS: the masked flow is the marginal, exploration picks the rarest goal, alpha tracks the entropy target."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tests.agents import tiny
from tfnfrl import agents, networks
from tfnfrl.data import replay as replay_lib
from tfnfrl.training import online, presets

OBS, ACT = 2, 2  # Pointmaze: xy observations, xy goals.
SPEC = agents.EnvSpec(observation_dim=OBS, action_dim=ACT, goal_dim=2)
SEED = tf.constant([1, 2], tf.int32)


def _agent(**overrides):
    config, _ = presets.apply_preset("tiny", agents.get_config("nf_ugs"))
    config.jit_act = False
    config.update(overrides)
    return agents.make_agent(config, SPEC, total_steps=1000, seed=0)


def test_tanh_gaussian_log_prob_matches_tfp_transformed_distribution():
    actor = networks.TanhGaussianActor(2, hidden_dims=(16,), seed=3)
    inputs = tf.random.stateless_normal([256, 4], seed=[0, 1])
    actions, log_prob = actor.sample_and_log_prob(inputs, SEED)
    mu, log_std = actor(inputs)
    reference = tfp.distributions.TransformedDistribution(
        tfp.distributions.MultivariateNormalDiag(tf.cast(mu, tf.float64), tf.exp(tf.cast(log_std, tf.float64))),
        tfp.bijectors.Tanh())
    # Away from +-1, where float32 atanh(tanh(u)) is exact enough to invert.
    inside = np.all(np.abs(actions.numpy()) < 0.995, axis=-1)
    assert inside.sum() > 100
    expected = reference.log_prob(tf.cast(actions, tf.float64)).numpy()
    np.testing.assert_allclose(log_prob.numpy()[inside], expected[inside], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(actor.log_prob(actions, inputs).numpy()[inside], expected[inside], rtol=1e-3, atol=1e-3)
    assert np.all(np.abs(actions.numpy()) <= 1.0)
    log_sigma = log_std.numpy()
    assert log_sigma.min() >= -5.0 and log_sigma.max() <= 2.0


def test_masked_condition_models_the_marginal_better_than_any_condition():
    """Goals from two (s, a) clusters: the zero-condition flow learns the mixture, each condition its own mode."""
    agent = _agent(condition_dropout=0.3, goal_noise=0.0)
    rng = np.random.default_rng(0)
    side = rng.integers(2, size=512)
    observations = np.stack([2.0 * side - 1.0, np.zeros(512)], 1).astype(np.float32)
    goals = (np.stack([3.0 * side - 1.5, np.ones(512)], 1) + 0.2 * rng.normal(size=(512, 2))).astype(np.float32)
    batch = dict(observations=observations, actions=np.zeros((512, ACT), np.float32), goals=goals)
    critic = agent.loss_groups[0]

    @tf.function
    def step(b, s):  # The whole update in one graph: an eager Adam step over every weight is the slow part.
        gradients, _ = agent.group_gradients(critic, b, s)
        critic.optimizer.apply_gradients(zip(gradients, critic.variables()))

    for i in range(400):
        step(batch, tf.constant([0, i]))
    held_out = (np.stack([3.0 * (np.arange(256) % 2) - 1.5, np.ones(256)], 1)
                + 0.2 * rng.normal(size=(256, 2))).astype(np.float32)
    marginal = agent.marginal_goal_log_prob(held_out).numpy().mean()
    for s in (-1.0, 1.0):  # Condition on one cluster's (s, a): it explains only half of the mixture.
        conditional = agent.goal_log_prob(np.tile([[s, 0.0]], (256, 1)).astype(np.float32),
                                          np.zeros((256, ACT), np.float32), held_out).numpy().mean()
        assert marginal > conditional + 0.3, (marginal, conditional)
    # And each condition does model its own cluster (the critic is conditional at all).
    left = held_out[held_out[:, 0] < 0]
    own = agent.goal_log_prob(np.tile([[-1.0, 0.0]], (len(left), 1)).astype(np.float32),
                              np.zeros((len(left), ACT), np.float32), left).numpy().mean()
    assert own > agent.marginal_goal_log_prob(left).numpy().mean()


def test_exploration_picks_the_rarest_candidate_of_a_hand_made_buffer():
    buffer = replay_lib.EpisodeReplay(4, 10, OBS, ACT, seed=0)
    slots = buffer.start_episodes(2)
    crowd = np.zeros((2, 11, OBS), np.float32)
    crowd[1, 5] = [7.0, 7.0]  # One rare state among twenty-one at the origin.
    buffer.write(slots, 0, crowd, np.zeros((2, 10, ACT), np.float32))
    density = lambda g: -np.sum(np.square(g), axis=-1)  # noqa: E731  (log p falls with distance from the crowd)
    observations = np.zeros((3, OBS), np.float32)
    goals = online.choose_goals("nf_ugs", buffer, observations, np.random.default_rng(0), None, density, 256, (0, 1))
    np.testing.assert_array_equal(goals, [[7.0, 7.0]] * 3)
    # Uniform ignores the density: over many envs the rare state comes up about as often as it is stored
    # (1 in 20-22 states), where nf_ugs would pick it every time and a constant goal never.
    many = np.zeros((2200, OBS), np.float32)
    uniform = online.choose_goals("uniform", buffer, many, np.random.default_rng(0), None, density, 256, (0, 1))
    assert uniform.shape == (2200, 2) and set(map(tuple, uniform)) == {(0.0, 0.0), (7.0, 7.0)}
    assert 0.025 < np.mean(np.all(uniform == 7.0, axis=-1)) < 0.075
    task_goals = np.array([[1.0, 1.0], [2.0, 2.0]], np.float32)
    oracle = online.choose_goals("oracle", buffer, many[:200], np.random.default_rng(0), task_goals, density, 8, (0, 1))
    assert oracle.shape == (200, 2) and set(map(tuple, oracle)) == {(1.0, 1.0), (2.0, 2.0)}  # Both tasks' goals.
    empty = replay_lib.EpisodeReplay(4, 10, OBS, ACT, seed=0)
    here = np.array([[0.5, -0.5]], np.float32)
    np.testing.assert_array_equal(online.choose_goals("nf_ugs", empty, here, np.random.default_rng(0), None,
                                                      density, 8, (0, 1)), here)


@pytest.mark.parametrize("target_scale,direction", [(-5.0, "down"), (5.0, "up")])
def test_alpha_moves_toward_the_target_entropy(target_scale, direction):
    agent = _agent(target_entropy_scale=target_scale)
    batch = dict(observations=np.zeros((64, OBS), np.float32), actions=np.zeros((64, ACT), np.float32),
                 goals=np.ones((64, 2), np.float32))
    alpha_group = agent.loss_groups[2]
    before = float(agent.temperature())
    for i in range(20):
        gradients, metrics = agent.group_gradients(alpha_group, batch, tf.constant([0, i]))
        alpha_group.optimizer.apply_gradients(zip(gradients, alpha_group.variables()))
    after = float(agent.temperature())
    # Entropy (~ -log pi) of the fresh policy lies between -10 and +10 nats for 2 action dims.
    assert (after < before) if direction == "down" else (after > before), (before, after)


def test_actor_loss_does_not_train_the_critic_and_policy_exports_densities():
    agent = _agent()
    names = {v.path for v in agent.loss_groups[1].variables()}
    assert names and not names & {v.path for v in agent.critic_variables}
    fns = agent.policy.extra_functions
    tiny.perturb(agent.head, seed=4)  # Move the zero-initialised block outputs: the density depends on its context.
    random = np.random.default_rng(3)
    obs, goals = random.normal(size=(3, OBS)).astype(np.float32), random.normal(size=(3, 2)).astype(np.float32)
    act = np.tanh(random.normal(size=(3, ACT))).astype(np.float32)
    # log p(g | phi(s, a)) and log p(g | 0), each by hand from the head and encoder.
    conditional = agent.head.log_prob(goals, agent.encoder(obs, None, act)).numpy()
    zero_context = agent.head.log_prob(goals, np.zeros((3, agent.head.context_dim), np.float32)).numpy()
    served = fns["goal_log_prob"][0](obs, act, goals)["log_prob"].numpy()
    assert served.shape == (3,)
    np.testing.assert_allclose(served, conditional, rtol=1e-5, atol=1e-5)
    marginal = fns["marginal_goal_log_prob"][0](goals)["log_prob"].numpy()
    np.testing.assert_allclose(marginal, zero_context, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(agent.marginal_log_prob(goals).numpy(), zero_context, rtol=1e-5, atol=1e-5)
    # The two exports are different densities, and the conditional one reads the action.
    assert np.abs(served - marginal).max() > 1e-3
    other_actions = fns["goal_log_prob"][0](obs, -act, goals)["log_prob"].numpy()
    assert np.abs(served - other_actions).max() > 1e-3
    assert list(fns["goal_log_prob"][1]) == ["observations", "actions", "goals"]
    assert list(fns["marginal_goal_log_prob"][1]) == ["goals"]
