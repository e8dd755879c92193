"""Validation of dataset files against OGBench's format and collection protocol.

`check_arrays` validates a dict of arrays as written to one `.npz` file (before loading:
every step of every episode, terminals at each episode's last step); `check_file` opens a
file first and turns unreadable/truncated files into report errors; `check_dataset`
checks a train/val pair. Each returns a `DatasetReport` whose `str()` is a readable report.
"""

import dataclasses
import os
import zipfile

import numpy as np

from tfnfrl.data import protocol
from tfnfrl.envs import registry, worker_process

# Arrays every file holds (scene/puzzle add 'button_states') and their on-disk dtypes:
# what OGBench writes, so the generator writes and the checks expect exactly these.
ARRAY_DTYPES = {
    "observations": np.float32,
    "actions": np.float32,
    "terminals": np.bool_,
    "qpos": np.float32,
    "qvel": np.float32,
    "button_states": np.int64,
}


def required_arrays(has_button_states):
    """Names of the arrays a dataset file must hold, in ARRAY_DTYPES order."""
    return [k for k in ARRAY_DTYPES if k != "button_states" or has_button_states]


@dataclasses.dataclass
class DatasetReport:
    """Result of checking one dataset file.

    Attributes:
      source: the file path (or a label for in-memory arrays).
      errors: violations of the format/protocol; empty means the file passed.
      notes: facts worth knowing that are not errors (e.g. a reduced episode count).
      stats: number of steps, episodes, episode length, observation/action dims.
    """

    source: str
    errors: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    stats: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self):
        return not self.errors

    def __str__(self):
        status = "OK" if self.ok else f"FAILED ({len(self.errors)} problem(s))"
        lines = [f"{self.source}: {status}"]
        if self.stats:
            lines.append("  " + ", ".join(f"{k}={v}" for k, v in self.stats.items()))
        lines += [f"  error: {e}" for e in self.errors]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def raise_if_failed(self):
        """Raises ValueError with the whole report if there is any error."""
        if not self.ok:
            raise ValueError(f"Invalid dataset file. {self}")


# Dataset name -> the dims of its env (see env_dims), filled once per name and process.
_ENV_DIMS = {}


def dims_of_env(env):
    """The dims of a built OGBench env, as env_dims returns them."""
    obs_dim = env.observation_space.shape[0]  # Builds the MuJoCo model if needed.
    unwrapped = env.unwrapped
    return dict(
        obs_dim=int(obs_dim),
        action_dim=int(env.action_space.shape[0]),
        nq=int(unwrapped.model.nq),
        nv=int(unwrapped.model.nv),
        num_buttons=int(getattr(unwrapped, "_num_buttons", 0)),
    )


def _build_env_dims(name):
    """Builds the env of dataset `name` and returns its dims (runs in a worker process)."""
    env = registry.make_env(name)
    try:
        return dims_of_env(env)
    finally:
        env.close()


def env_dims(env_name):
    """Dimensions the dataset of `env_name` must have, read from the OGBench env itself.

    The env is built in a clean worker process (tfnfrl.envs.worker_process), never in this
    one: under MUJOCO_GL=egl a manipulation env loads Mesa's GL driver, and TensorFlow in the
    same process (now or imported later) then crashes. That costs a process start (~1-2 s),
    paid once per dataset name and process: the result is cached.

    Returns a dict: obs_dim, action_dim, nq (qpos size), nv (qvel size), num_buttons (0 if
    the env has no buttons).
    """
    name = registry.dataset_name(env_name)
    if name not in _ENV_DIMS:
        _ENV_DIMS[name] = worker_process.call_in_worker(
            _build_env_dims, name, name=f"worker reading the env dims of {name}")
    return dict(_ENV_DIMS[name])


def remember_env_dims(env_name, dims):
    """Caches `dims` (dims_of_env of an env of `env_name` built elsewhere) for env_dims."""
    _ENV_DIMS[registry.dataset_name(env_name)] = dict(dims)


def expected_episode_count(spec, split, num_episodes):
    """Episodes a `split` ('train'/'val') file should hold for `num_episodes` training ones."""
    n = spec.num_episodes if num_episodes is None else num_episodes
    return n if split == "train" else protocol.val_episode_count(n)


def structure_errors(arrays, env_name):
    """Format problems of one file's arrays: missing keys, lengths, ranks, dtypes.

    Returns a list of messages (empty if the arrays have OGBench's structure). Does not look
    at episode lengths, value ranges or the env's dimensions (see check_arrays).
    """
    spec = protocol.get_spec(env_name)
    required = required_arrays(spec.has_button_states)
    missing = [k for k in required if k not in arrays]
    if missing:
        return [f"missing arrays {missing}; expected {required}"]
    sizes = {k: len(arrays[k]) for k in required}
    if len(set(sizes.values())) != 1:
        return [f"arrays have different numbers of steps: {sizes}"]
    if sizes["observations"] == 0:
        return ["the file holds no steps"]
    errors = []
    for key in required:
        array = arrays[key]
        want_ndim = 1 if key == "terminals" else 2
        if array.ndim != want_ndim:
            errors.append(f"{key} has shape {array.shape}; expected {want_ndim} dims")
        if array.dtype != ARRAY_DTYPES[key]:
            errors.append(
                f"{key} has dtype {array.dtype}; OGBench writes {np.dtype(ARRAY_DTYPES[key])}"
            )
    return errors


def check_arrays(
    arrays, env_name, split="train", num_episodes=None, episode_length=None, source="arrays"
):
    """Checks the arrays of one dataset file against the format and protocol.

    Args:
      arrays: mapping name -> np.ndarray as stored in the file.
      env_name: a supported dataset (or singletask) name.
      split: 'train' or 'val' (val holds 10 % of the episodes).
      num_episodes: training episode count the file was generated with; None means the
        protocol count is not enforced (a reduced count is then reported as a note).
      episode_length: steps per episode; None means the protocol length.
      source: label used in the report.

    Returns:
      DatasetReport.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val'; received split={split!r}.")
    spec = protocol.get_spec(env_name)
    length = spec.episode_length if episode_length is None else episode_length
    report = DatasetReport(source=source)
    required = required_arrays(spec.has_button_states)

    report.errors.extend(structure_errors(arrays, env_name))
    if report.errors:
        return report
    num_steps = len(arrays["observations"])
    extra = sorted(set(arrays) - set(required))
    if extra:
        report.notes.append(f"extra arrays {extra} (OGBench's loader ignores them)")

    dims = env_dims(env_name)
    for key, dim_name in [("observations", "obs_dim"), ("actions", "action_dim"),
                          ("qpos", "nq"), ("qvel", "nv"), ("button_states", "num_buttons")]:
        if key in required and arrays[key].shape[1] != dims[dim_name]:
            report.errors.append(
                f"{key} has {arrays[key].shape[1]} dims per step but the env "
                f"{spec.env_id} has {dims[dim_name]}"
            )

    for key in ("observations", "actions", "qpos", "qvel"):
        if not np.all(np.isfinite(arrays[key])):
            report.errors.append(f"{key} contains NaN or inf")
    actions = arrays["actions"]
    if actions.size and (actions.min() < -1.0 or actions.max() > 1.0):
        report.errors.append(
            f"actions outside [-1, 1]: min {actions.min():.4f}, max {actions.max():.4f}"
        )
    if spec.family == "pointmaze" and not report.errors:
        # The point's observation is its position: it must equal the stored qpos (the state
        # before each step); a mismatch means steps were misaligned.
        if not np.array_equal(arrays["observations"], arrays["qpos"]):
            report.errors.append("observations differ from qpos (steps misaligned)")

    terminals = np.asarray(arrays["terminals"], dtype=bool)
    ends = np.flatnonzero(terminals)
    if not terminals[-1]:
        report.errors.append("the last step is not terminal: the file is cut mid-episode")
    lengths = np.diff(np.concatenate([[-1], ends]))
    bad = np.flatnonzero(lengths != length)
    if bad.size:
        report.errors.append(
            f"{bad.size} of {lengths.size} episodes do not have {length} steps "
            f"(first: episode {bad[0]} with {lengths[bad[0]]} steps)"
        )
    want_episodes = expected_episode_count(spec, split, num_episodes)
    if num_episodes is not None and ends.size != want_episodes:
        report.errors.append(f"{ends.size} episodes; expected {want_episodes}")
    elif num_episodes is None and ends.size != want_episodes:
        report.notes.append(
            f"{ends.size} episodes; OGBench's full {split} file has {want_episodes}"
        )
    report.stats = dict(
        steps=num_steps,
        episodes=int(ends.size),
        episode_length=length,
        obs_dim=arrays["observations"].shape[1],
        action_dim=actions.shape[1],
    )
    return report


def read_npz(path):
    """Reads every array of an .npz file into memory.

    Raises:
      ValueError naming `path` and what is wrong if the file is truncated or corrupt.
      FileNotFoundError if it does not exist.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    try:
        with np.load(path, allow_pickle=False) as file:
            return {k: file[k] for k in file.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        # zlib.error is a subclass of none of these; it is handled below.
        raise ValueError(
            f"Dataset file {path} is truncated or corrupt ({type(e).__name__}: {e}). "
            "Delete it and generate it again."
        ) from e
    except Exception as e:  # zlib.error and other decoder errors from corrupted members.
        raise ValueError(
            f"Dataset file {path} is corrupt ({type(e).__name__}: {e}). "
            "Delete it and generate it again."
        ) from e


def check_file(path, env_name, split="train", num_episodes=None, episode_length=None):
    """Opens the .npz at `path` and checks it (see check_arrays); unreadable -> report error."""
    try:
        arrays = read_npz(path)
    except (FileNotFoundError, ValueError) as e:
        return DatasetReport(source=path, errors=[str(e) or f"{path} does not exist"])
    return check_arrays(arrays, env_name, split, num_episodes, episode_length, source=path)


def check_dataset(env_name, dataset_dir, num_episodes=None, episode_length=None):
    """Checks `{dataset_dir}/{name}.npz` and `{name}-val.npz`; returns [train, val] reports."""
    name = registry.dataset_name(env_name)
    reports = []
    for split, suffix in (("train", ""), ("val", "-val")):
        path = os.path.join(os.path.expanduser(dataset_dir), f"{name}{suffix}.npz")
        reports.append(check_file(path, name, split, num_episodes, episode_length))
    return reports
