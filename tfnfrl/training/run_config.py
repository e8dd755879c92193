"""The run config (what to train on, for how long, how to log), its defaults, and the workdir's config.json."""

import json
import os

import ml_collections

from tfnfrl import jsonio

CONFIG_FILE = "config.json"
DEFAULT_RUNS_DIR = "runs"


def get_run_config():
    """Defaults of a training run; launch/train.py overrides any field with --run.<field>=<value>."""
    config = ml_collections.ConfigDict()
    config.env_name = "pointmaze-medium-navigate-v0"  # OGBench dataset name (tfnfrl.envs.registry.SUPPORTED_ENVS).
    config.dataset_dir = ml_collections.config_dict.placeholder(str)  # Dataset directory; None: OGBench's ~/.ogbench/data.
    config.data_source = "auto"  # A missing dataset: auto (download, else generate) | download | generate.
    config.steps = 1_000_000  # Total training updates (also the learning-rate schedule's horizon).
    config.seed = 0  # Seeds weight init, batch sampling, training noise and evaluation episodes.
    config.eval_every = 100_000  # Evaluate every this many updates (and at the end); 0: only at the end.
    config.eval_episodes = 50  # Episodes per evaluation task (the paper: 50); 0: no evaluation.
    config.eval_tasks = (1, 2, 3, 4, 5)  # OGBench evaluation task ids (singletask envs use their own task).
    # A NaN/inf action in an evaluation episode: fail (that episode fails, counted in
    # evaluation/nonfinite_episodes/...) | raise (stop the run: for debugging a policy).
    config.nonfinite_actions = "fail"
    # {name: {acting field: value}}: also evaluate the trained weights acting so (tfnfrl.training.eval_variants).
    config.eval_variants = ml_collections.ConfigDict()
    config.eval_workers = ml_collections.config_dict.placeholder(int)  # Env worker processes (evaluation, online collection); None: min(cores, envs).
    config.log_every = 1000  # Write training/validation metrics every this many updates.
    config.checkpoint_every = 10_000  # Save a checkpoint every this many updates (and at the end).
    config.keep_checkpoints = 3  # How many recent checkpoints to keep.
    config.strategy = "default"  # tf.distribute strategy: default | mirrored | multi_worker (reads TF_CONFIG) | tpu.
    config.tpu = ""  # strategy=tpu: the TPUClusterResolver address ("local" on a Cloud TPU VM, a name or grpc://...).
    config.input = "numpy"  # Batch sampling: numpy (tf.numpy_function) | graph (TF ops; needed on TPU). Draws differ.
    config.steps_per_loop = 10  # Updates per compiled call (cut at log/checkpoint/eval steps); see BENCHMARKS.md.
    config.jit_compile = True  # XLA-compile the train step (see BENCHMARKS.md: faster on CPU).
    config.progress = True  # Show tqdm progress bars.
    return config


# Fields of the run config that may change between a run and its resumption.
RESUMABLE_FIELDS = (
    "steps", "eval_every", "eval_episodes", "eval_tasks", "eval_variants", "eval_workers", "log_every", "checkpoint_every",
    "keep_checkpoints", "strategy", "jit_compile", "progress", "dataset_dir", "data_source", "tpu", "steps_per_loop",
    "nonfinite_actions",
)
INPUTS = ("numpy", "graph")


def default_workdir(run_config, agent_name, root=DEFAULT_RUNS_DIR):
    """Where a run lives unless told otherwise: <root>/<env_name>/<agent>/seed<seed>."""
    return os.path.join(root, run_config.env_name, agent_name, f"seed{run_config.seed}")


def to_plain(config):
    """A ConfigDict as plain JSON-able data (tuples become lists)."""
    return json.loads(config.to_json())


def save(workdir, agent_config, run_config, dims, extra=None):
    """Write the resolved configs, the data dims (an EnvSpec dict) and `extra` (e.g. data provenance) to config.json."""
    data = dict(agent=to_plain(agent_config), run=to_plain(run_config), dims=dict(dims))
    data.update(extra or {})
    return jsonio.write_json(os.path.join(workdir, CONFIG_FILE), data)


def load(workdir):
    """(agent_config, run_config, dims) from `workdir/config.json`; FileNotFoundError if absent."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: {workdir!r} is not a tfnfrl training workdir.")
    data = jsonio.read_json(path)
    return ml_collections.ConfigDict(data["agent"]), ml_collections.ConfigDict(data["run"]), data["dims"]


def schedules_depending_on_steps(agent_config):
    """Dotted names of the agent's optimizer configs whose learning rate decays over the run's `steps`."""
    found = []

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                if "lr" in value and "final_lr" in value:
                    if value["final_lr"] != value["lr"]:
                        found.append(prefix + key)
                else:
                    walk(value, prefix + key + ".")

    walk(to_plain(agent_config) if isinstance(agent_config, ml_collections.ConfigDict) else agent_config, "")
    return found


def _flatten(tree, prefix=""):
    """{"a.b.c": leaf} of a nested dict."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def check_compatible(workdir, agent_config, run_config, dims, agent_defaults=None):
    """Raise ValueError if `workdir` already holds a run that these configs cannot resume.

    `steps` may change (a run can be extended) unless a learning rate decays over the run's length:
    continuing then would silently change the schedule the first updates were trained with.
    A field the saved run predates is compatible when it has its value in `agent_defaults` (default:
    the agent's default config), which is how the code behaved before the field existed.
    """
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        return
    old = jsonio.read_json(path)
    new = dict(agent=to_plain(agent_config), run=to_plain(run_config), dims=dict(dims))
    if agent_defaults is None:
        from tfnfrl import agents  # pylint: disable=import-outside-toplevel

        agent_defaults = agents.get_config(agent_config.agent_name)
    defaults = _flatten(to_plain(agent_defaults))
    run_defaults = _flatten(to_plain(get_run_config()))
    differences = []
    for section in ("agent", "run", "dims"):
        old_flat, new_flat = _flatten(old[section]), _flatten(new[section])
        for key in sorted(set(old_flat) | set(new_flat)):
            if section == "run" and key.split(".")[0] in RESUMABLE_FIELDS:
                continue
            if section == "agent" and key not in old_flat and key in defaults and new_flat.get(key) == defaults[key]:
                continue  # A field added after the run started, at its default: the old behaviour.
            if section == "run" and key not in old_flat and new_flat.get(key) == run_defaults.get(key):
                continue  # A run field added after the run started (e.g. `input`), at its default.
            if old_flat.get(key) != new_flat.get(key):
                differences.append(f"{section}.{key}: {old_flat.get(key)!r} -> {new_flat.get(key)!r}")
    old_steps, new_steps = old["run"].get("steps"), new["run"].get("steps")
    decaying = schedules_depending_on_steps(old["agent"])
    if old_steps != new_steps and decaying:
        differences.append(
            f"run.steps: {old_steps!r} -> {new_steps!r}, but the learning rate of {', '.join(decaying)} decays over "
            "`steps` (final_lr != lr), so the run cannot be extended exactly")
    if differences:
        raise ValueError(
            f"Workdir {workdir} holds a run with a different configuration ({'; '.join(differences)}). "
            "Resume it with the original settings or use a new --workdir."
        )
