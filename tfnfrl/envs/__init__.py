"""tfnfrl.envs: OGBench environments and their evaluation protocol.

`evaluate` / `Evaluator` run OGBench's goal-conditioned evaluation with all episodes of a task
in lockstep; `EnvPool` steps N envs in worker processes (never beside TensorFlow), for the
evaluator and for online collection; `registry` (make_env, SUPPORTED_ENVS, check_env_name)
names the supported envs.
"""

from tfnfrl.envs.env_pool import EnvPool, EnvSpec
from tfnfrl.envs.evaluation import NONFINITE_ACTIONS, Evaluator, NonFiniteActionError, evaluate, scalar_metrics
from tfnfrl.envs.seeding import episode_seed
from tfnfrl.envs.worker_process import WorkerError

__all__ = [
    "NONFINITE_ACTIONS",
    "EnvPool",
    "EnvSpec",
    "Evaluator",
    "NonFiniteActionError",
    "WorkerError",
    "episode_seed",
    "evaluate",
    "scalar_metrics",
]
