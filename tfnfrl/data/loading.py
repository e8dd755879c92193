"""Loading locally generated OGBench datasets through OGBench's own loader.

`load_datasets(name)` reads `{dataset_dir}/{base}.npz` and `{base}-val.npz` (base = the
dataset name with any singletask words removed) with `ogbench.make_env_and_datasets`, so
the arrays are exactly what OGBench's agents would see: `observations`, `next_observations`,
`actions`, `terminals` (1 at the last transition of each episode) as float32, and for
singletask names also `rewards` and `masks` relabelled from qpos/qvel/button_states.
Because the files exist, OGBench never tries to download anything.
"""

import os

import numpy as np
from absl import logging

from tfnfrl.data import checks, protocol
from tfnfrl.envs import registry

# OGBench's default dataset directory (ogbench.utils.DEFAULT_DATASET_DIR).
_OGBENCH_DEFAULT_DIR = "~/.ogbench/data"


def default_dataset_dir():
    """OGBench's dataset directory, '~/.ogbench/data', with '~' expanded."""
    return os.path.expanduser(_OGBENCH_DEFAULT_DIR)


def generate_command(env_name, dataset_dir=None):
    """The exact shell command that generates the dataset files `env_name` reads."""
    name = registry.dataset_name(env_name)
    command = f"python launch/generate_dataset.py --env_name={name}"
    if dataset_dir is not None and os.path.abspath(
        os.path.expanduser(dataset_dir)
    ) != os.path.abspath(default_dataset_dir()):
        command += f" --dataset_dir={dataset_dir}"
    return command


def dataset_files(env_name, dataset_dir=None):
    """(train_path, val_path) that `env_name` reads from `dataset_dir` (default OGBench's)."""
    directory = os.path.expanduser(dataset_dir or default_dataset_dir())
    name = registry.dataset_name(env_name)
    return (
        os.path.join(directory, f"{name}.npz"),
        os.path.join(directory, f"{name}-val.npz"),
    )


def _raise_if_missing(env_name, dataset_dir, paths):
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        spec = protocol.get_spec(env_name)
        command = generate_command(env_name, dataset_dir)
        raise FileNotFoundError(
            f"Dataset for {env_name!r} not found: missing {', '.join(missing)}. "
            f"These machines cannot download OGBench data; generate it locally with:\n"
            f"  {command}\n"
            f"(full size: {spec.num_episodes} episodes x {spec.episode_length} steps; add "
            f"--num_episodes=N for a smaller dataset and --num_workers=N to use more cores)."
        )


def _raise_for_unreadable(env_name, paths, error):
    """Finds which file made OGBench's loader fail and raises ValueError naming it."""
    for path in paths:
        arrays = checks.read_npz(path)  # Raises ValueError naming a truncated/corrupt file.
        problems = checks.structure_errors(arrays, env_name)
        if problems:
            raise ValueError(f"Cannot load {path}: {'; '.join(problems)}") from error
    raise ValueError(
        f"OGBench's loader failed on {paths[0]} / {paths[1]}: {type(error).__name__}: {error}"
    ) from error


def _check_dims(env_name, env, datasets, paths):
    obs_dim = env.observation_space.shape[-1]
    action_dim = env.action_space.shape[-1]
    for dataset, path in zip(datasets, paths):
        for key, want in (("observations", obs_dim), ("next_observations", obs_dim),
                          ("actions", action_dim)):
            array = dataset[key]
            if array.ndim != 2 or array.shape[1] != want:
                raise ValueError(
                    f"{path}: {key} has shape {array.shape} but the environment of "
                    f"{env_name!r} needs [N, {want}]. The file belongs to a different env or "
                    f"was written wrongly; regenerate it with: {generate_command(env_name)}"
                )
        if len(dataset["observations"]) == 0:
            raise ValueError(f"{path}: the dataset holds no transitions.")


def load_datasets(env_name, dataset_dir=None):
    """Loads the train and validation datasets of `env_name` through OGBench's loader.

    Args:
      env_name: a supported dataset or singletask name (tfnfrl.envs.registry.SUPPORTED_ENVS).
      dataset_dir: directory of the .npz files; None = OGBench's '~/.ogbench/data'.

    Returns:
      (train, val): dicts of np.ndarray, each with 'observations' [N, obs_dim],
      'next_observations' [N, obs_dim], 'actions' [N, action_dim], 'terminals' [N] (all
      float32), plus 'rewards' [N] and 'masks' [N] for singletask names. N counts
      transitions: each episode of T stored steps gives T - 1 transitions.

    Raises:
      ValueError: unknown name (lists the supported ones); truncated/corrupt file (names the
        file and the problem); array shapes that do not match the env's spaces.
      FileNotFoundError: a file is missing; the message holds the command that generates it.
    """
    registry.check_env_name(env_name)
    paths = dataset_files(env_name, dataset_dir)
    _raise_if_missing(env_name, dataset_dir, paths)

    import ogbench  # Deferred: importing ogbench registers all envs (slow-ish, and noisy).

    try:
        env, train, val = ogbench.make_env_and_datasets(
            env_name, dataset_dir=os.path.dirname(paths[0]), compact_dataset=False
        )
    except Exception as error:  # Any decode/shape error: find the file and say what is wrong.
        _raise_for_unreadable(env_name, paths, error)
    try:
        _check_dims(env_name, env, (train, val), paths)
    finally:
        env.close()
    for dataset in (train, val):
        for key, value in dataset.items():
            if value.dtype != np.float32:
                dataset[key] = value.astype(np.float32)
    logging.info(
        "Loaded %s: %d train / %d val transitions from %s.",
        env_name, len(train["observations"]), len(val["observations"]), os.path.dirname(paths[0]),
    )
    return train, val
