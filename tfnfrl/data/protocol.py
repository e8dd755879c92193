"""OGBench's published collection protocol for each supported dataset, as data.

Facts from OGBench's data-generation recipe (data_gen_scripts/commands.sh and the
generate_{locomaze,manipspace}.py scripts): per dataset, the number of training episodes,
the episode length, and the oracle's noise settings. Validation files hold another 10 %
of the episode count, collected after the training episodes.
"""

import dataclasses
import os

from tfnfrl.envs import registry

# OGBench's default dataset directory (ogbench.utils.DEFAULT_DATASET_DIR).
OGBENCH_DEFAULT_DIR = "~/.ogbench/data"


def default_dataset_dir():
    """OGBench's dataset directory, '~/.ogbench/data', with '~' expanded."""
    return os.path.expanduser(OGBENCH_DEFAULT_DIR)


def dataset_paths(env_name, dataset_dir=None):
    """(train, val) = `{dir}/{name}.npz`, `{dir}/{name}-val.npz`: the one file-naming rule.

    `name` is the dataset `env_name` reads (singletask words removed); `dataset_dir` None
    means OGBench's default; '~' is expanded.
    """
    directory = os.path.expanduser(dataset_dir or default_dataset_dir())
    name = registry.dataset_name(env_name)
    return os.path.join(directory, f"{name}.npz"), os.path.join(directory, f"{name}-val.npz")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How one OGBench dataset is collected.

    Attributes:
      name: dataset name, e.g. 'cube-single-play-v0'.
      env_id: gymnasium id of the environment that collects it, e.g. 'cube-single-v0'.
      family: 'pointmaze' or 'manipspace' (which collector runs it).
      dataset_type: 'navigate' | 'stitch' (mazes) or 'play' | 'noisy' (manipulation).
      num_episodes: training episodes in OGBench's file.
      episode_length: steps per episode (the env's step limit while collecting).
      action_noise: pointmaze: std of Gaussian noise on the oracle direction; play: the plan
        oracle's noise level; noisy: the upper end of the per-episode noise level xi ~ U(0, .).
      noise_smoothing: play only: Gaussian smoothing (in steps) of the plan noise.
      min_norm: noisy only: minimum norm of the Markov oracle's position command.
      p_random_action: noisy only: probability of a uniformly random action per step.
      has_button_states: whether the env has buttons (scene, puzzle) and the file stores
        'button_states'.
    """

    name: str
    env_id: str
    family: str
    dataset_type: str
    num_episodes: int
    episode_length: int
    action_noise: float
    noise_smoothing: float = 0.0
    min_norm: float = 0.0
    p_random_action: float = 0.0
    has_button_states: bool = False

    @property
    def num_val_episodes(self):
        return val_episode_count(self.num_episodes)


def val_episode_count(num_train_episodes):
    """Validation episodes for a dataset with `num_train_episodes`: 10 %, at least one.

    OGBench uses num_episodes // 10; the floor of one keeps tiny test datasets loadable
    (OGBench's loader needs at least one episode in the -val file).
    """
    return max(1, num_train_episodes // 10)


def _pointmaze_spec(name, env_id, dataset_type):
    giant = "giant" in env_id
    if dataset_type == "navigate":
        num_episodes, length = (500, 2001) if giant else (1000, 1001)
    else:  # stitch: short episodes towards a cell 4 BFS steps away.
        num_episodes, length = 5000, 201
    return DatasetSpec(
        name=name,
        env_id=env_id,
        family="pointmaze",
        dataset_type=dataset_type,
        num_episodes=num_episodes,
        episode_length=length,
        action_noise=0.5,
    )


def _manipspace_spec(name, env_id, dataset_type):
    if "triple" in env_id or "4x5" in env_id:
        num_episodes = 3000
    elif "quadruple" in env_id or "4x6" in env_id:
        num_episodes = 5000
    else:
        num_episodes = 1000
    common = dict(
        name=name,
        env_id=env_id,
        family="manipspace",
        dataset_type=dataset_type,
        num_episodes=num_episodes,
        episode_length=1001,
        has_button_states=env_id.startswith(("scene", "puzzle")),
    )
    if dataset_type == "play":
        return DatasetSpec(action_noise=0.1, noise_smoothing=0.5, **common)
    return DatasetSpec(
        action_noise=0.1,
        min_norm=0.4,
        p_random_action=0.2 if env_id.startswith("puzzle") else 0.1,
        **common,
    )


def get_spec(name):
    """The DatasetSpec of a supported dataset or singletask name (singletask -> its base)."""
    base = registry.dataset_name(name)  # Raises ValueError listing names if unknown.
    env_id = registry.env_id(base)
    dataset_type = registry.dataset_type(base)
    if env_id.startswith("pointmaze"):
        return _pointmaze_spec(base, env_id, dataset_type)
    return _manipspace_spec(base, env_id, dataset_type)


def p_stack_range(env_id):
    """Range (low, high) of the per-episode probability of stacking the target cube.

    OGBench draws p_stack ~ U(low, high) once per episode; single cubes never stack and
    non-cube scenes use a constant 0.5 (unused there).
    """
    if "single" in env_id:
        return (0.0, 0.0)
    if "double" in env_id:
        return (0.0, 0.25)
    if "triple" in env_id:
        return (0.05, 0.35)
    if "quadruple" in env_id:
        return (0.1, 0.5)
    return (0.5, 0.5)
