"""Tiny agent configs and toy batches shared by the agent tests."""

import numpy as np

from tfnfrl import agents

OBS, GOAL, ACT = 4, 4, 2
SPEC = agents.EnvSpec(observation_dim=OBS, action_dim=ACT, goal_dim=GOAL)


def tiny_config(name, lr=1e-3):
    """Agent `name` shrunk to width 32 and 2 blocks, no warm-up, constant lr."""
    config = agents.get_config(name)
    if "encoder" in config and config.encoder.hidden_dims:
        config.encoder.hidden_dims = (32,)
        config.encoder.output_dim = 8
    if "head" in config:
        if config.head.type == "flow":
            config.head.num_blocks = 2
            config.head.hidden_units = 32
        else:
            config.head.hidden_dims = (32,)
        if config.head.type == "flow_matching":
            config.head.num_steps = 3
    for section in ("critic", "actor"):
        if section in config:
            config[section].hidden_dims = (32, 32)
    for section in ("optimizer", "actor_optimizer", "critic_optimizer"):
        if section in config:
            config[section].lr = lr
            config[section].final_lr = lr
            config[section].warmup_steps = 0
    config.batch_size = 64
    return config


def tiny_agent(name, seed=0, **kwargs):
    return agents.make_agent(tiny_config(name, **kwargs), SPEC, total_steps=100, seed=seed)


def toy_batch(batch_size=64, seed=0):
    """Actions that depend on observation and goal, so a conditional policy can fit them."""
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(batch_size, OBS)).astype(np.float32)
    goals = rng.normal(size=(batch_size, GOAL)).astype(np.float32)
    actions = np.tanh(observations[:, :ACT] - goals[:, :ACT]).astype(np.float32)
    return dict(observations=observations, actor_goals=goals, actions=actions)


def toy_transitions(batch_size=64, seed=0, terminal_fraction=0.25):
    """An offline-RL batch (TransitionSampler's keys): rewards in {-1, 0}, mask 0 where the reward is 0."""
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(batch_size, OBS)).astype(np.float32)
    solved = rng.uniform(size=batch_size) < terminal_fraction
    return dict(
        observations=observations,
        actions=np.tanh(observations[:, :ACT]).astype(np.float32),
        next_observations=(observations + 0.1).astype(np.float32),
        next_actions=np.tanh(observations[:, :ACT] + 0.1).astype(np.float32),
        rewards=np.where(solved, 0.0, -1.0).astype(np.float32),
        masks=np.where(solved, 0.0, 1.0).astype(np.float32),
    )


def toy_goal_batch(batch_size=64, seed=0):
    """An NF-UGS replay batch: observations, actions and 2-d goals (future xy)."""
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(batch_size, OBS)).astype(np.float32)
    actions = np.tanh(rng.normal(size=(batch_size, ACT))).astype(np.float32)
    return dict(observations=observations, actions=actions,
                goals=(observations[:, :2] + actions[:, :2]).astype(np.float32))


def perturb(layer, seed, scale=0.1):
    """Move every float32 weight of `layer` by scale * N(0, 1) noise (zero-initialised output layers too)."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        if weight.dtype == "float32":
            weight.assign(weight.numpy() + scale * rng.standard_normal(weight.shape).astype(np.float32))


def agent_inputs(agent, batch=8, seed=0):
    """(observations, goals) for `agent`; goals are [batch, 0] for agents without goals."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(batch, OBS)).astype(np.float32),
        rng.normal(size=(batch, agent.policy.goal_dim)).astype(np.float32),
    )
