"""Test helpers: deterministic policies, a plain one-env-at-a-time OGBench evaluation loop and
functions for `EnvPool.call`."""

import numpy as np
import ogbench


class MazeOraclePolicy:
    """Deterministic batched policy for point mazes: unit step toward the BFS subgoal.

    Uses only the maze layout (pure BFS, no randomness), so its actions are a function of
    (observation, goal) alone: observations/goals [N, 2] xy -> actions float32 [N, 2].
    """

    def __init__(self, env_name):
        self._maze = ogbench.make_env_and_datasets(env_name, env_only=True).unwrapped

    def __call__(self, observations, goals):
        actions = []
        for ob, goal in zip(np.asarray(observations), np.asarray(goals)):
            subgoal, _ = self._maze.get_oracle_subgoal(ob[:2], goal[:2])
            if self._maze.xy_to_ij(ob[:2]) == self._maze.xy_to_ij(goal[:2]):
                subgoal = goal[:2]
            direction = subgoal - ob[:2]
            actions.append(direction / (np.linalg.norm(direction) + 1e-6))
        return np.asarray(actions, dtype=np.float32)


def toward_goal_policy(observations, goals):
    """Deterministic batched policy for any env: tanh of the goal-minus-observation gap.

    Returns float32 [N, 5] (the manipulation envs' action size).
    """
    goals = np.asarray(goals, dtype=np.float32)
    gap = goals[:, :5] - np.asarray(observations, dtype=np.float32)[:, :5]
    return np.tanh(3.0 * gap).astype(np.float32)


def plain_ogbench_episode(env, policy, seed, task_id):
    """One episode the way OGBench's own evaluation runs it, with every random source seeded.

    Args:
      env: a single gymnasium env.
      policy: batched policy (called with batches of one).
      seed: episode seed.
      task_id: OGBench task id.

    Returns:
      (success float from info["success"] at the end, episode length in steps, the
      observations the policy was given, float32 [length, obs_dim]).
    """
    np.random.seed(seed)
    env.action_space.seed(seed)
    ob, info = env.reset(seed=seed, options=dict(task_id=task_id, render_goal=False))
    goal = info["goal"]
    done, length, seen = False, 0, []
    while not done:
        seen.append(ob.astype(np.float32))
        action = policy(seen[-1][None], goal[None].astype(np.float32))[0]
        action = np.clip(np.asarray(action, dtype=np.float32), -1, 1)
        ob, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        length += 1
    return float(info["success"]), length, np.stack(seen)


# Module-level functions for `EnvPool.call` (workers import them by name).


def raise_in_env(env, message):
    """Raises ValueError(message) where the env lives."""
    raise ValueError(message)


def sleep_in_env(env, seconds):
    """Sleeps `seconds` where the env lives (a hung env)."""
    import time  # pylint: disable=import-outside-toplevel

    time.sleep(seconds)


def loaded_modules(env, names):
    """Which of `names` are imported in the process where the env lives."""
    import sys  # pylint: disable=import-outside-toplevel

    return [name for name in names if name in sys.modules]
