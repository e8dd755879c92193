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
      agent: the learner (e.g. `BCAgent`) with restored weights, targets and optimizer state;
        `agent.policy` is what evaluation and export use.
      agent_config, run_config: the resolved configs the run was trained with.
      dims: the data spec as a dict (`tfnfrl.agents.EnvSpec.to_dict`).
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
    spec = agents.EnvSpec.from_dict(dims)
    agent = agents.make_agent(agent_config, spec, total_steps=run_config.steps, seed=run_config.seed)
    directory = os.path.join(workdir, trainer.CHECKPOINT_DIR)
    path = checkpoints.checkpoint_path(directory, step)
    restored_step = checkpoints.Checkpointer(directory, agent, seed=run_config.seed).restore(path)
    return RestoredRun(agent, agent_config, run_config, dims, restored_step, path)
