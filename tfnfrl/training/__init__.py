"""Training: the compiled distributed train step, checkpoints, logging and the run loop.

`train(agent_config, run_config, workdir)` trains (or resumes) one agent on one OGBench
dataset; `restore_run(workdir, step)` rebuilds a trained agent for evaluation or export.
"""

from tfnfrl.training.checkpoints import Checkpointer
from tfnfrl.training.report import plot_learning_curve, success_table
from tfnfrl.training.restore import RestoredRun, restore_run
from tfnfrl.training.run_config import get_run_config
from tfnfrl.training.strategies import STRATEGIES, make_strategy
from tfnfrl.training.train_step import make_train_loop, make_train_step
from tfnfrl.training.trainer import NonFiniteLossError, Trainer, train

__all__ = [
    "STRATEGIES",
    "Checkpointer",
    "NonFiniteLossError",
    "RestoredRun",
    "Trainer",
    "get_run_config",
    "make_strategy",
    "make_train_loop",
    "make_train_step",
    "plot_learning_curve",
    "restore_run",
    "success_table",
    "train",
]
