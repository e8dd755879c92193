"""Manipulation collector (cube, scene, puzzle): OGBench's scripted oracles, play or noisy.

The env runs in `mode='data_collection'`, where it keeps a random target (move a cube, press
a button, open a drawer/window) and reports it in `info['privileged/target_task']`. The
collector drives the matching oracle from `ogbench.manipspace.oracles`; when the oracle
reports done, the env draws a new target (`set_new_target`), so one episode chains many
sub-tasks. `terminate_at_goal=False`: only the time limit ends an episode.

- play: non-Markovian plan oracles following an interpolated key-frame plan with temporally
  correlated noise (noise 0.1, smoothing 0.5).
- noisy: Markovian closed-loop oracles; per episode a noise level xi ~ U(0, 0.1), Gaussian
  action noise with std xi * (1, 1, 1, 3, 10) per action dimension, and a uniformly random
  action with probability 0.1 (cube, scene) or 0.2 (puzzle).
- scene: an episode where the cube leaves the visible area (too far right, or too far left
  without being inside the drawer) is discarded and redone.
"""

import collections

import gymnasium
import numpy as np

from tfnfrl.data import checks, protocol
from tfnfrl.data.generation import seeding

# Per-dimension scale of the noisy protocol's Gaussian action noise (x, y, z, yaw, gripper).
_NOISY_SCALE = np.array([1.0, 1.0, 1.0, 3.0, 10.0])


def _make_oracles(env, spec):
    """The oracles keyed by the env's target-task names ('cube', 'button', 'drawer', ...)."""
    from ogbench.manipspace.oracles.markov.button_markov import ButtonMarkovOracle
    from ogbench.manipspace.oracles.markov.cube_markov import CubeMarkovOracle
    from ogbench.manipspace.oracles.markov.drawer_markov import DrawerMarkovOracle
    from ogbench.manipspace.oracles.markov.window_markov import WindowMarkovOracle
    from ogbench.manipspace.oracles.plan.button_plan import ButtonPlanOracle
    from ogbench.manipspace.oracles.plan.cube_plan import CubePlanOracle
    from ogbench.manipspace.oracles.plan.drawer_plan import DrawerPlanOracle
    from ogbench.manipspace.oracles.plan.window_plan import WindowPlanOracle

    env_id = spec.env_id
    if spec.dataset_type == "play":
        plan = dict(env=env, noise=spec.action_noise, noise_smoothing=spec.noise_smoothing)
        if env_id.startswith("cube"):
            return {"cube": CubePlanOracle(**plan)}
        if env_id.startswith("scene"):
            return {
                "cube": CubePlanOracle(**plan),
                "button": ButtonPlanOracle(**plan),
                "drawer": DrawerPlanOracle(**plan),
                "window": WindowPlanOracle(**plan),
            }
        # Puzzle: only buttons, pressed with a closed gripper.
        return {"button": ButtonPlanOracle(gripper_always_closed=True, **plan)}

    markov = dict(env=env, min_norm=spec.min_norm)
    if env_id.startswith("cube"):
        return {"cube": CubeMarkovOracle(**markov)}
    if env_id.startswith("scene"):
        return {
            "cube": CubeMarkovOracle(max_step=100, **markov),
            "button": ButtonMarkovOracle(**markov),
            "drawer": DrawerMarkovOracle(**markov),
            "window": WindowMarkovOracle(**markov),
        }
    return {"button": ButtonMarkovOracle(gripper_always_closed=True, **markov)}


def scene_episode_is_healthy(qpos):
    """False if the cube left the visible area in a scene episode (qpos [T, nq]).

    The cube's xyz is qpos[:, 14:17]. Too far right: y >= 0.29. Too far left (y <= -0.3)
    is only allowed inside the drawer (0.06 <= z <= 0.08).
    """
    block = np.asarray(qpos)[:, 14:17]
    too_right = (block[:, 1] >= 0.29).any()
    outside_drawer = (block[:, 2] < 0.06) | (block[:, 2] > 0.08)
    too_left = ((block[:, 1] <= -0.3) & outside_drawer).any()
    return not (too_right or too_left)


class ManipSpaceCollector:
    """Collects manipulation episodes of one DatasetSpec (one env per process)."""

    def __init__(self, spec, episode_length):
        """Makes the env and oracles. `episode_length` is the protocol value or an override."""
        import ogbench.manipspace  # noqa: F401  (registers the manipulation envs)

        self._spec = spec
        self._env = gymnasium.make(
            spec.env_id,
            terminate_at_goal=False,
            mode="data_collection",
            max_episode_steps=episode_length,
        )
        self._oracles = _make_oracles(self._env, spec)
        self._noisy = spec.dataset_type == "noisy"
        self._p_stack_range = protocol.p_stack_range(spec.env_id)
        self._action_dim = self._env.action_space.shape[0]
        self.has_button_states = spec.has_button_states
        self.discarded_episodes = 0  # Scene episodes thrown away by the health check.

    def _run_once(self, seeds):
        rng = seeds.rng
        ob, info = self._env.reset(seed=seeds.env_seed)
        low, high = self._p_stack_range
        p_stack = rng.uniform(low, high)
        xi = rng.uniform(0.0, self._spec.action_noise) if self._noisy else 0.0

        oracle = self._oracles[info["privileged/target_task"]]
        oracle.reset(ob, info)
        episode = collections.defaultdict(list)
        done = False
        while not done:
            if rng.uniform() < self._spec.p_random_action:
                # Uniform over the [-1, 1] action box, as gymnasium's Box.sample would draw
                # (drawn from our generator: the env's action_space is rebuilt, unseeded,
                # on every access).
                action = rng.uniform(-1.0, 1.0, size=self._action_dim)
            else:
                action = np.asarray(oracle.select_action(ob, info), dtype=np.float64)
                if self._noisy:
                    action = action + rng.normal(0.0, xi * _NOISY_SCALE, size=action.shape)
            action = np.clip(action, -1.0, 1.0)

            next_ob, _, terminated, truncated, info = self._env.step(action)
            done = terminated or truncated
            if oracle.done:
                # The current sub-task is finished: the env draws a new target.
                oracle_ob, oracle_info = self._env.unwrapped.set_new_target(p_stack=p_stack)
                oracle = self._oracles[oracle_info["privileged/target_task"]]
                oracle.reset(oracle_ob, oracle_info)

            episode["observations"].append(ob)
            episode["actions"].append(action)
            episode["terminals"].append(done)
            episode["qpos"].append(info["prev_qpos"])
            episode["qvel"].append(info["prev_qvel"])
            if self.has_button_states:
                episode["button_states"].append(info["prev_button_states"])
            ob = next_ob
        return episode

    def collect(self, seed, episode_index):
        """Runs one episode (redone while a scene episode is unhealthy); returns its lists."""
        seeds = seeding.episode_seeds(seed, episode_index)
        seeding.seed_legacy_global(seeds)
        attempt = 0
        while True:
            if attempt:
                # A redo continues the same random streams, so it stays deterministic; the
                # env needs a fresh seed or it would replay the unhealthy episode.
                seeds = seeding.EpisodeSeeds(
                    rng=seeds.rng,
                    env_seed=int(seeds.rng.integers(2**32)),
                    legacy_seed=seeds.legacy_seed,
                    space_seed=seeds.space_seed,
                )
            episode = self._run_once(seeds)
            if not self._spec.env_id.startswith("scene") or scene_episode_is_healthy(
                episode["qpos"]
            ):
                return episode
            self.discarded_episodes += 1
            attempt += 1

    def env_dims(self):
        """The env's dims (see tfnfrl.data.checks.env_dims): what the files must match."""
        return checks.dims_of_env(self._env)

    def close(self):
        self._env.close()
