r"""Train an agent on an OGBench dataset, evaluate it, and keep checkpoints to resume from.

  python launch/train.py --agent=nf_gcbc --preset=cpu --run.env_name=cube-single-play-v0 \
      --run.steps=100000 --run.eval_every=20000 --config.sampler.discount=0.97

Three configs, each overridable field by field:
  --preset=NAME          paper (default) | cpu | tiny: agent and run overrides for a kind of
                         machine (tfnfrl/training/presets.py), applied before the others;
  --config.<field>=V     the chosen agent's config (tfnfrl/agents/<agent>.py; `--agent=gcbc
                         --helpfull` lists gcbc's fields);
  --run.<field>=V        the run: env_name, dataset_dir, steps, seed, eval_every, eval_episodes,
                         eval_tasks, eval_variants, eval_workers, nonfinite_actions, log_every,
                         checkpoint_every, keep_checkpoints, strategy, tpu, input, steps_per_loop,
                         jit_compile, progress, data_source
                         (tfnfrl/training/run_config.py).
Several machines: run the same command on each with --run.strategy=multi_worker and its own
TF_CONFIG (README.md, "Several machines and TPUs"); a Cloud TPU VM: --run.strategy=tpu
--run.tpu=local --run.input=graph.
Rerunning the same command after an interruption (even `kill -9`) resumes from the newest
checkpoint in --workdir (default runs/<env_name>/<agent>/seed<seed>) and finishes the run.

Writes into the workdir: config.json (the resolved configs), checkpoints/, metrics.jsonl,
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
from tfnfrl.training import launch_flags  # noqa: E402
from tfnfrl.training import presets  # noqa: E402
from tfnfrl.training import report  # noqa: E402
from tfnfrl.training import run_config as run_config_lib  # noqa: E402
from tfnfrl.training import strategies  # noqa: E402
from tfnfrl.training import trainer  # noqa: E402

DEFAULT_AGENT = "nf_gcbc"
_AGENT_NAME = launch_flags.value_in_argv(sys.argv, "agent", DEFAULT_AGENT)
_PRESET_NAME = launch_flags.value_in_argv(sys.argv, "preset", "paper")
_DEFAULT_AGENT_CONFIG, _DEFAULT_RUN_CONFIG = launch_flags.default_configs(_AGENT_NAME, _PRESET_NAME, DEFAULT_AGENT)

_AGENT = flags.DEFINE_enum("agent", DEFAULT_AGENT, list(agents.AGENTS), "Agent to train (tfnfrl.agents.AGENTS).")
_PRESET = flags.DEFINE_enum("preset", "paper", list(presets.PRESETS), "Named overrides for a kind of machine.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory; default: runs/<env_name>/<agent>/seed<seed>.")
_CONFIG = config_flags.DEFINE_config_dict(
    "config", _DEFAULT_AGENT_CONFIG,
    f"The {_DEFAULT_AGENT_CONFIG.agent_name} agent's config; override a field with --config.<field>=<value>. "
    f"Fields (with the preset applied): " + "; ".join(launch_flags.dotted_fields(_DEFAULT_AGENT_CONFIG)) + ".",
)
_RUN = config_flags.DEFINE_config_dict(
    "run", _DEFAULT_RUN_CONFIG,
    "The run config; override a field with --run.<field>=<value>. Fields: "
    + "; ".join(launch_flags.dotted_fields(_DEFAULT_RUN_CONFIG)) + ".",
)
flags.register_validator("run", launch_flags.validate_run_config, message="invalid --run config")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    agent_config, config = _CONFIG.value, _RUN.value
    launch_flags.check_selection(agent_config, _AGENT.value, _PRESET.value, _AGENT_NAME, _PRESET_NAME)
    workdir = _WORKDIR.value or run_config_lib.default_workdir(config, _AGENT.value)
    try:
        result = trainer.train(agent_config, config, workdir)
    except (FileNotFoundError, trainer.NonFiniteLossError, strategies.NoTPUError) as error:
        sys.exit(f"ERROR: {error}")
    if result.get("episodes_per_task"):
        print(f"\nFinal evaluation of {_AGENT.value} on {config.env_name} after {config.steps} steps "
              f"({result['episodes_per_task']} episodes per task):")
        print(report.success_table({_AGENT.value: result}))
    if "collection/coverage" in result:
        print(f"Coverage: {result['collection/coverage']:.3f} of the maze's free cells after "
              f"{result['collection/env_steps']:.0f} env steps.")
    print(f"Workdir: {workdir}")


if __name__ == "__main__":
    app.run(main)
