"""Names of the OGBench datasets/environments tfnfrl supports, and how to make their envs.

A *dataset name* is OGBench's name for an offline dataset, e.g. ``cube-single-play-v0``:
the environment (``cube-single``), the collection protocol (``play``) and a version. The
environment id that gymnasium knows drops the protocol word (``cube-single-v0``).
A *singletask name* inserts ``singletask`` (and optionally ``taskN``) before the version,
e.g. ``cube-single-play-singletask-task1-v0``: the same dataset, relabelled with the
rewards of one fixed evaluation task (OGBench's offline-RL setting).

Supported means: tfnfrl can generate the dataset locally (see ``tfnfrl.data.generation``)
and load it through ``ogbench.make_env_and_datasets``. Locomotion mazes with ant/humanoid
bodies need pre-trained expert walkers and are not supported.
"""

import itertools

# Environment id (gymnasium) -> dataset types OGBench publishes for it.
_BASE_ENVS = {
    "pointmaze-medium-v0": ("navigate", "stitch"),
    "pointmaze-large-v0": ("navigate", "stitch"),
    "pointmaze-giant-v0": ("navigate", "stitch"),
    "pointmaze-teleport-v0": ("navigate", "stitch"),
    "cube-single-v0": ("play", "noisy"),
    "cube-double-v0": ("play", "noisy"),
    "cube-triple-v0": ("play", "noisy"),
    "cube-quadruple-v0": ("play", "noisy"),
    "scene-v0": ("play", "noisy"),
    "puzzle-3x3-v0": ("play", "noisy"),
    "puzzle-4x4-v0": ("play", "noisy"),
    "puzzle-4x5-v0": ("play", "noisy"),
    "puzzle-4x6-v0": ("play", "noisy"),
}

# Suffixes OGBench registers for single-task reward environments: the default task and 1..5.
_SINGLETASK_SUFFIXES = ("singletask",) + tuple(f"singletask-task{i}" for i in range(1, 6))


def _dataset_name(env_id, dataset_type):
    """'cube-single-v0', 'play' -> 'cube-single-play-v0'."""
    stem, version = env_id.rsplit("-", 1)
    return f"{stem}-{dataset_type}-{version}"


# Goal-conditioned dataset names, in a stable order.
DATASET_NAMES = tuple(
    _dataset_name(env_id, dataset_type)
    for env_id, dataset_types in _BASE_ENVS.items()
    for dataset_type in dataset_types
)

# Single-task (reward-relabelled) names built on each dataset.
SINGLETASK_NAMES = tuple(
    f"{name.rsplit('-', 1)[0]}-{suffix}-{name.rsplit('-', 1)[1]}"
    for name, suffix in itertools.product(DATASET_NAMES, _SINGLETASK_SUFFIXES)
)

# Every name accepted by check_env_name / make_env / tfnfrl.data.load_datasets.
SUPPORTED_ENVS = DATASET_NAMES + SINGLETASK_NAMES


def is_singletask(name):
    """True if `name` is a single-task (reward) name like '...-singletask-task2-v0'."""
    return "singletask" in name.split("-")


def check_env_name(name):
    """Raises ValueError listing the supported names if `name` is not one of them."""
    if name not in SUPPORTED_ENVS:
        raise ValueError(
            f"Unknown environment/dataset name {name!r}. Supported goal-conditioned names: "
            f"{', '.join(DATASET_NAMES)}. Each also has single-task variants, e.g. "
            f"'cube-single-play-singletask-task1-v0' (suffixes: {', '.join(_SINGLETASK_SUFFIXES)})."
        )


def dataset_name(name):
    """The dataset file stem that `name` reads: singletask words removed.

    'cube-single-play-singletask-task1-v0' -> 'cube-single-play-v0'; a goal-conditioned
    name maps to itself. Mirrors the rule in ogbench.make_env_and_datasets.
    """
    check_env_name(name)
    splits = name.split("-")
    if "singletask" in splits:
        pos = splits.index("singletask")
        return "-".join(splits[:pos] + splits[-1:])
    return name


def env_id(name):
    """The gymnasium environment id for `name` ('cube-single-play-v0' -> 'cube-single-v0').

    Singletask names keep their singletask words ('cube-single-play-singletask-task1-v0' ->
    'cube-single-singletask-task1-v0'), as in ogbench.make_env_and_datasets.
    """
    check_env_name(name)
    splits = name.split("-")
    if "singletask" in splits:
        pos = splits.index("singletask")
        return "-".join(splits[: pos - 1] + splits[pos:])
    return "-".join(splits[:-2] + splits[-1:])


def dataset_type(name):
    """The collection protocol word of `name`: 'navigate', 'stitch', 'play' or 'noisy'."""
    base = dataset_name(name)
    return base.split("-")[-2]


def make_env(name, **env_kwargs):
    """Makes the evaluation environment for `name` through OGBench (no dataset is read).

    Args:
      name: a supported dataset or singletask name (see SUPPORTED_ENVS).
      **env_kwargs: passed to gymnasium.make (e.g. render_mode, max_episode_steps).

    Returns:
      A gymnasium.Env in OGBench's evaluation ('task') mode: reset(options=dict(task_id=k))
      selects evaluation task k; singletask envs return OGBench's task rewards.
    """
    check_env_name(name)
    import ogbench  # Imported here: importing ogbench registers every env with gymnasium.

    return ogbench.make_env_and_datasets(name, env_only=True, **env_kwargs)
