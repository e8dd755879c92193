"""tfnfrl.envs: OGBench environments and their evaluation protocol.

`evaluate` / `Evaluator` run OGBench's goal-conditioned evaluation with all episodes of a task
in lockstep; `registry` (make_env, SUPPORTED_ENVS, check_env_name) names the supported envs.
"""

from tfnfrl.envs.evaluation import Evaluator, NonFiniteActionError, evaluate, scalar_metrics
from tfnfrl.envs.seeding import episode_seed

__all__ = ["Evaluator", "NonFiniteActionError", "evaluate", "episode_seed", "scalar_metrics"]
