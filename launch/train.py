r"""Train an agent on an OGBench dataset, evaluate it, and keep checkpoints to resume from.

  python launch/train.py --agent=nf_gcbc --env_name=cube-single-play-v0 \
      --workdir=runs/cube_nf_gcbc --steps=100000 --eval_every=20000 --eval_episodes=10 \
      --config.head.num_blocks=4 --config.optimizer.lr=1e-4

`--config.<field>=<value>` overrides a field of the chosen agent's config (defined, with a
comment on every field, in tfnfrl/agents/<agent>.py); `--agent=gcbc --help` lists gcbc's
fields and defaults. Rerunning the same command after an interruption (even `kill -9`)
resumes from the newest checkpoint in --workdir and finishes the run.

Writes into --workdir: config.json (the resolved config), checkpoints/, metrics.jsonl,
tensorboard/ and eval_final.json; prints the final success table.
"""

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's Python INFO lines (e.g. one per checkpoint write) would bury the progress output.
std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from tfnfrl import agents  # noqa: E402
from tfnfrl.envs import registry  # noqa: E402
from tfnfrl.training import report  # noqa: E402
from tfnfrl.training import run_config as run_config_lib  # noqa: E402
from tfnfrl.training import strategies  # noqa: E402
from tfnfrl.training import trainer  # noqa: E402

DEFAULT_AGENT = "nf_gcbc"
_RUN = run_config_lib.get_run_config()


def agent_in_argv(argv, default=DEFAULT_AGENT):
    """The --agent value in a command line (needed before parsing: it selects --config's fields)."""
    for i, arg in enumerate(argv):
        for prefix in ("--agent=", "-agent="):
            if arg.startswith(prefix):
                return arg[len(prefix):]
        if arg in ("--agent", "-agent") and i + 1 < len(argv):
            return argv[i + 1]
    return default


def _default_config(argv):
    name = agent_in_argv(argv)
    # An unknown name is reported by --agent's own enum check; define the default's fields meanwhile.
    return agents.get_config(name if name in agents.AGENTS else DEFAULT_AGENT)


_AGENT = flags.DEFINE_enum("agent", DEFAULT_AGENT, list(agents.AGENTS), "Agent to train (tfnfrl.agents.AGENTS).")
_ENV_NAME = flags.DEFINE_string(
    "env_name", _RUN.env_name, "OGBench dataset name, e.g. cube-single-play-v0 (tfnfrl.envs.registry.SUPPORTED_ENVS)."
)
_DATASET_DIR = flags.DEFINE_string(
    "dataset_dir", None, "Directory of {env_name}.npz and {env_name}-val.npz; default: OGBench's ~/.ogbench/data."
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory (checkpoints, logs, config, evaluations); default: runs/<env_name>/<agent>/seed<seed>."
)
_STEPS = flags.DEFINE_integer("steps", _RUN.steps, "Total training updates (also the learning-rate schedule's horizon).")
_EVAL_EVERY = flags.DEFINE_integer("eval_every", _RUN.eval_every, "Evaluate every this many updates and at the end; 0: only at the end.")
_EVAL_EPISODES = flags.DEFINE_integer(
    "eval_episodes", _RUN.eval_episodes, "Episodes per evaluation task (the paper uses 50); 0 disables evaluation."
)
_EVAL_TASKS = flags.DEFINE_list("eval_tasks", [str(t) for t in _RUN.eval_tasks], "Comma-separated OGBench task ids to evaluate.")
_SEED = flags.DEFINE_integer("seed", _RUN.seed, "Seed of weight init, batch sampling, training noise and evaluation episodes.")
_STRATEGY = flags.DEFINE_enum("strategy", _RUN.strategy, list(strategies.STRATEGIES), "tf.distribute strategy.")
_JIT_COMPILE = flags.DEFINE_bool("jit_compile", _RUN.jit_compile, "XLA-compile the train step (faster on CPU; see BENCHMARKS.md).")
_LOG_EVERY = flags.DEFINE_integer("log_every", _RUN.log_every, "Log training/validation metrics every this many updates.")
_CHECKPOINT_EVERY = flags.DEFINE_integer("checkpoint_every", _RUN.checkpoint_every, "Save a checkpoint every this many updates.")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show progress bars.")
def _dotted_fields(config, prefix=""):
    """'optimizer.lr = 0.0003'-style lines for every leaf field of a ConfigDict."""
    lines = []
    for key in sorted(config.keys()):
        value = config[key]
        if hasattr(value, "keys"):
            lines += _dotted_fields(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key} = {value!r}")
    return lines


_DEFAULT_CONFIG = _default_config(sys.argv)
_CONFIG = config_flags.DEFINE_config_dict(
    "config",
    _DEFAULT_CONFIG,
    f"The {_DEFAULT_CONFIG.agent_name} agent's config (pick another with --agent=NAME --help). Override any "
    "field with --config.<field>=<value>, e.g. --config.optimizer.lr=1e-4 or --config.encoder.hidden_dims='(256,256)'; "
    f"each field is explained by its comment in tfnfrl/agents/{_DEFAULT_CONFIG.agent_name}.py (shared sections: "
    "tfnfrl/agents/config_parts.py, optimizers.py). Fields and defaults: " + "; ".join(_dotted_fields(_DEFAULT_CONFIG)) + ".",
)


def _check_env_name(name):
    try:
        registry.check_env_name(name)
    except ValueError as error:
        raise flags.ValidationError(str(error)) from error
    return True


flags.register_validator("env_name", _check_env_name)


def run_config_from_flags():
    """The run config these flags describe."""
    config = run_config_lib.get_run_config()
    config.env_name = _ENV_NAME.value
    config.dataset_dir = _DATASET_DIR.value
    config.steps = _STEPS.value
    config.seed = _SEED.value
    config.eval_every = _EVAL_EVERY.value
    config.eval_episodes = _EVAL_EPISODES.value
    try:
        config.eval_tasks = tuple(int(t) for t in _EVAL_TASKS.value)
    except ValueError as error:
        raise app.UsageError(f"--eval_tasks must be comma-separated integers. Received: {_EVAL_TASKS.value}") from error
    config.log_every = _LOG_EVERY.value
    config.checkpoint_every = _CHECKPOINT_EVERY.value
    config.strategy = _STRATEGY.value
    config.jit_compile = _JIT_COMPILE.value
    config.progress = _PROGRESS.value
    return config


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    agent_config = _CONFIG.value
    if agent_config.agent_name != _AGENT.value:
        raise app.UsageError(
            f"--config.agent_name={agent_config.agent_name!r} contradicts --agent={_AGENT.value!r}; choose the agent with --agent."
        )
    config = run_config_from_flags()
    workdir = _WORKDIR.value or os.path.join("runs", config.env_name, _AGENT.value, f"seed{config.seed}")
    try:
        result = trainer.train(agent_config, config, workdir)
    except (FileNotFoundError, trainer.NonFiniteLossError) as error:
        sys.exit(f"ERROR: {error}")
    if result:
        print(f"\nFinal evaluation of {_AGENT.value} on {config.env_name} after {config.steps} steps "
              f"({result['episodes_per_task']} episodes per task):")
        print(report.success_table({_AGENT.value: result}))
    print(f"Workdir: {workdir}")


if __name__ == "__main__":
    app.run(main)
