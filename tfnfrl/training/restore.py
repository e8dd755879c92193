"""Rebuild a trained agent from a workdir (for evaluation and export)."""

import dataclasses
import os

import ml_collections

from tfnfrl import agents
from tfnfrl.training import checkpoints
from tfnfrl.training import run_config as run_config_lib
from tfnfrl.training import trainer


@dataclasses.dataclass
class RestoredRun:
    """A workdir's agent with the weights of one checkpoint.

    Attributes:
      agent: the agent (e.g. `BCAgent`) with restored weights and optimizer state.
      agent_config, run_config: the resolved configs the run was trained with.
      dims: {"observation_dim", "goal_dim", "action_dim"}.
      step: training updates completed at that checkpoint.
      checkpoint: the checkpoint's path prefix.
    """

    agent: object
    agent_config: ml_collections.ConfigDict
    run_config: ml_collections.ConfigDict
    dims: dict
    step: int
    checkpoint: str


def restore_run(workdir, step=None):
    """The agent of `workdir` at checkpoint `step` (None: the newest).

    Raises FileNotFoundError if the workdir has no config.json or no such checkpoint.
    """
    agent_config, run_config, dims = run_config_lib.load(workdir)
    agent = agents.make_agent(
        agent_config,
        dims["observation_dim"],
        dims["goal_dim"],
        dims["action_dim"],
        total_steps=run_config.steps,
        seed=run_config.seed,
    )
    directory = os.path.join(workdir, trainer.CHECKPOINT_DIR)
    path = checkpoints.checkpoint_path(directory, step)
    restored_step = checkpoints.Checkpointer(directory, agent, seed=run_config.seed).restore(path)
    return RestoredRun(agent, agent_config, run_config, dims, restored_step, path)
