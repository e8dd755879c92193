"""Tiny trained workdirs and their exports, built once per test session.

A workdir is made the way `tfnfrl.training` makes one (config.json through
`run_config.save`, checkpoints through `Checkpointer`), from a tiny agent trained a few
steps on toy batches; the exports go through the public `tfnfrl.export` API.
"""

import os

import pytest
import tensorflow as tf

from tests.agents import tiny
from tfnfrl import agents
from tfnfrl import export
from tfnfrl.training import checkpoints
from tfnfrl.training import restore
from tfnfrl.training import run_config
from tfnfrl.training import trainer

ENV_NAME = "toy-env-v0"  # Recorded in the policy info only; nothing is simulated.
TRAIN_STEPS = 3


def make_workdir(workdir, agent_name, steps=TRAIN_STEPS, seed=0):
    """Train tiny `agent_name` for `steps` updates on toy batches; save it as a workdir. Returns workdir."""
    config = tiny.tiny_config(agent_name)
    run = run_config.get_run_config()
    run.env_name = ENV_NAME
    run.steps = steps
    run.seed = seed
    feed = agents.feed(agent_name)
    spec = tiny.SPEC
    toy = {"transition_sampler": tiny.toy_transitions, "online": tiny.toy_goal_batch}.get(feed, tiny.toy_batch)
    if feed == "online":  # NF-UGS's goals are xy: 2 of the observation's coordinates.
        spec = agents.EnvSpec(observation_dim=tiny.OBS, action_dim=tiny.ACT, goal_dim=2)
    agent = agents.make_agent(config, spec, total_steps=steps, seed=seed)
    for step in range(steps):
        agent.train_step(toy(seed=step), tf.constant([seed, step], tf.int32), step)
    run_config.save(workdir, config, run, spec.to_dict())
    checkpoints.Checkpointer(os.path.join(workdir, trainer.CHECKPOINT_DIR), agent, seed=seed).save(steps)
    return workdir


class Exported:
    """A trained workdir, its restored run (the library's policy) and its export."""

    def __init__(self, workdir, result):
        self.workdir = workdir
        self.result = result
        self.run = restore.restore_run(workdir)

    @property
    def agent(self):
        return self.run.agent

    @property
    def path(self):
        return self.result.path


def trained_export(tmp_path_factory, export_dir, agent_name, name, verify=True):
    """Train tiny `agent_name` into a fresh workdir and export it as model `name`; returns `Exported`."""
    workdir = make_workdir(str(tmp_path_factory.mktemp(f"{agent_name}_run")), agent_name)
    return Exported(workdir, export.export_workdir(workdir, export_dir, name=name, verify=verify))


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("savedmodels"))


@pytest.fixture(scope="session")
def gc_export(tmp_path_factory, export_dir):
    """NF-GCBC (goal-conditioned): exported with the in-process self-check (verify=True)."""
    return trained_export(tmp_path_factory, export_dir, "nf_gcbc", "gc", verify=True)


@pytest.fixture(scope="session")
def bc_export(tmp_path_factory, export_dir):
    """NF-BC (no goals: the signatures have no `goals` input)."""
    return trained_export(tmp_path_factory, export_dir, "nf_bc", "bc", verify=False)


@pytest.fixture(scope="session")
def rlbc_export(tmp_path_factory, export_dir):
    """NF-RLBC (actor-critic with a flow actor): policy signatures plus q_value, self-checked."""
    return trained_export(tmp_path_factory, export_dir, "nf_rlbc", "rlbc", verify=True)


@pytest.fixture(scope="session")
def rebrac_export(tmp_path_factory, export_dir):
    """ReBRAC (deterministic actor): no log_prob signature, plus q_value, self-checked."""
    return trained_export(tmp_path_factory, export_dir, "rebrac", "rebrac", verify=True)


@pytest.fixture(scope="session")
def ugs_export(tmp_path_factory, export_dir):
    """NF-UGS: policy signatures plus goal_log_prob and marginal_goal_log_prob, self-checked."""
    return trained_export(tmp_path_factory, export_dir, "nf_ugs", "ugs", verify=True)
