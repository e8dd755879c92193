"""Reproducible episode resets for OGBench environments.

OGBench environments draw randomness from three places, and an episode is only reproducible
when all three are seeded:

1. the env's own generator (`env.np_random`, seeded by `env.reset(seed=...)`): initial
   states of the point/arm and the small perturbations of the cubes;
2. NumPy's *global* generator (`np.random`): the maze envs add noise to the start and goal
   positions with `np.random.uniform`, and the teleport maze picks exits with it during steps;
3. the action space's generator: resets take a few `action_space.sample()` steps to let the
   scene settle before recording the goal observation.

The manipulation envs (cube, scene, puzzle) build a *new*, unseeded `Box` each time
`action_space` is read, so (3) cannot be seeded through the public API and the goal
observation of a cube task changes from run to run even with a fixed reset seed.
`make_deterministic` fixes that by caching one action space per env instance.

The per-episode protocol (`seeded_reset`) is, for an episode seed s:
    np.random.seed(s); env.action_space.seed(s); env.reset(seed=s, options=...)
A plain single-env OGBench loop that does the same gets the same episode.
"""

import numpy as np

# One frozen subclass per OGBench env class, so repeated calls do not create new classes.
_FROZEN_CLASSES = {}


def episode_seed(seed, task_id, episode):
    """Seed of one evaluation episode, a pure function of (seed, task_id, episode).

    Args:
      seed: int >= 0, the evaluation's base seed.
      task_id: int, OGBench task id (1-based).
      episode: int >= 0, index of the episode within the task.

    Returns:
      int in [0, 2**32): usable by `np.random.seed`, `env.reset(seed=...)` and
      `Space.seed`. Episodes of different tasks or indices get statistically independent
      seeds (NumPy's SeedSequence hashing), and the seed of episode k does not depend on how
      many episodes are run.
    """
    for name, value in (("seed", seed), ("task_id", task_id), ("episode", episode)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer. Received: {name}={value!r}")
    sequence = np.random.SeedSequence([int(seed), int(task_id), int(episode)])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def make_deterministic(env):
    """Makes `env.action_space` one persistent, seedable object (see the module docstring).

    OGBench's manipulation envs define `action_space` as a property that builds a fresh
    `gymnasium.spaces.Box` on every access; seeding such a space has no effect on the next
    access. This swaps the unwrapped env's class for a subclass whose `action_space` returns
    one cached `Box` (same bounds), so `env.action_space.seed(s)` seeds the random settling
    steps of `reset`. Envs whose action space is already a plain attribute (the mazes) are
    returned unchanged. Dynamics, observations and success are untouched.

    Args:
      env: a gymnasium env (possibly wrapped).

    Returns:
      The same `env` object, modified in place.
    """
    unwrapped = env.unwrapped
    cls = type(unwrapped)
    if not isinstance(getattr(cls, "action_space", None), property):
        return env
    if getattr(cls, "_tfnfrl_frozen_action_space", False):
        return env
    space = unwrapped.action_space  # Built from the compiled model: same bounds every time.
    frozen = _FROZEN_CLASSES.get(cls)
    if frozen is None:
        frozen = type(
            cls.__name__,
            (cls,),
            {
                "_tfnfrl_frozen_action_space": True,
                "action_space": property(lambda self: self._tfnfrl_action_space),
                "__module__": cls.__module__,
                "__doc__": cls.__doc__,
            },
        )
        _FROZEN_CLASSES[cls] = frozen
    unwrapped._tfnfrl_action_space = space
    unwrapped.__class__ = frozen
    return env


def seeded_reset(env, seed, options):
    """Resets `env` for one episode with every random source seeded by `seed`.

    Seeds NumPy's global generator, the action space and the env (in that order), then calls
    `env.reset(seed=seed, options=options)`. The caller owns saving/restoring the global NumPy
    state if it must not leak (the evaluator does).

    Args:
      env: a gymnasium env passed through `make_deterministic`.
      seed: int in [0, 2**32), e.g. from `episode_seed`.
      options: dict passed to `env.reset`, e.g. dict(task_id=1, render_goal=False).

    Returns:
      (observation, info) from `env.reset`.
    """
    np.random.seed(seed)
    env.action_space.seed(seed)
    return env.reset(seed=seed, options=options)


def step_uses_global_rng(env):
    """Whether `env.step` draws from NumPy's global generator (only the teleport mazes do).

    When it does, the evaluator keeps a separate global-generator state per env so that
    stepping N envs in lockstep gives the same episodes as stepping them one after another.
    """
    return getattr(env.unwrapped, "_teleport_info", None) is not None
