r"""Evaluate a training workdir's checkpoint on OGBench's tasks and print the success table.

  python launch/evaluate.py --workdir=runs/cube_nf_gcbc [--checkpoint_step=50000] \
      [--eval_episodes=50] [--eval_tasks=1,2,3,4,5] [--video_dir=videos/]

The agent, its config, the environment and the data dims come from the workdir's
config.json; the weights from its newest checkpoint (or --checkpoint_step). Writes the full
result (per task, per episode) to --output (default: <workdir>/eval_step<step>.json).
"""

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's Python INFO lines (e.g. one per checkpoint write) would bury the progress output.
std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (holds config.json and checkpoints/).", required=True)
_CHECKPOINT_STEP = flags.DEFINE_integer("checkpoint_step", None, "Step of the checkpoint to evaluate; default: the newest.")
_EVAL_EPISODES = flags.DEFINE_integer("eval_episodes", None, "Episodes per task; default: the run's --eval_episodes (or 50 if it was 0).")
_EVAL_TASKS = flags.DEFINE_list("eval_tasks", None, "Comma-separated task ids; default: the run's --eval_tasks.")
_SEED = flags.DEFINE_integer("seed", None, "Seed of the evaluation episodes and policy noise; default: the run's seed.")
_DETERMINISTIC = flags.DEFINE_bool(
    "deterministic", None, "Act with the policy's mode (zero noise) instead of samples; default: the agent config's eval_deterministic."
)
_VIDEO_DIR = flags.DEFINE_string("video_dir", None, "If set, render one episode per task there (needs MUJOCO_GL=egl/osmesa).")
_OUTPUT = flags.DEFINE_string("output", None, "Result JSON path; default: <workdir>/eval_step<step>.json.")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")
_NONFINITE = flags.DEFINE_enum(
    "nonfinite_actions", "fail", ["fail", "raise"],
    "A NaN/inf action: fail (that episode fails and is counted, as in training) | raise (stop, naming task and step).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    from tfnfrl import jsonio  # pylint: disable=import-outside-toplevel
    from tfnfrl.envs import evaluate  # pylint: disable=import-outside-toplevel
    from tfnfrl.training import report  # pylint: disable=import-outside-toplevel
    from tfnfrl.training import restore  # pylint: disable=import-outside-toplevel

    try:
        run = restore.restore_run(_WORKDIR.value, _CHECKPOINT_STEP.value)
    except FileNotFoundError as error:
        sys.exit(f"ERROR: {error}")
    config = run.run_config
    episodes = _EVAL_EPISODES.value or config.eval_episodes or 50
    tasks = [int(t) for t in (_EVAL_TASKS.value or config.eval_tasks)]
    seed = config.seed if _SEED.value is None else _SEED.value
    policy = run.agent.policy.policy_fn(seed=seed, deterministic=_DETERMINISTIC.value)
    result = evaluate(
        policy, config.env_name, task_ids=tasks, episodes_per_task=episodes, seed=seed,
        video_dir=_VIDEO_DIR.value, progress=_PROGRESS.value, nonfinite_actions=_NONFINITE.value,
    )
    result.update(step=run.step, checkpoint=run.checkpoint, agent=run.agent_config.agent_name, env_name=config.env_name)
    output = _OUTPUT.value or os.path.join(_WORKDIR.value, f"eval_step{run.step}.json")
    jsonio.write_json(output, result)
    print(f"\n{run.agent_config.agent_name} on {config.env_name}, checkpoint step {run.step}, "
          f"{episodes} episodes per task:")
    print(report.success_table({run.agent_config.agent_name: result}))
    if result.get("nonfinite_episodes/total"):
        print(f"{result['nonfinite_episodes/total']} episodes ended on a non-finite action and count as failures.")
    print(f"Wrote {output}")


if __name__ == "__main__":
    app.run(main)
