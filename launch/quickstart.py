r"""The main job on an embedded default: NF-GCBC on pointmaze-medium-navigate, end to end.

  python launch/quickstart.py            # ~8 minutes on 2 CPU cores
  python launch/quickstart.py --tiny     # smoke test: tiny data, 50 steps, ~1 minute

1. Generates a small pointmaze-medium-navigate-v0 dataset by OGBench's protocol
   (--num_episodes episodes of 1001 steps, into --dataset_dir) unless it is already there.
2. Trains NF-GCBC with the `cpu` preset (tfnfrl/training/presets.py: encoder 3 x 256 -> 64,
   4 coupling blocks of width 128; the paper's is 4 x 512 -> 64 and 6 x 256) for --steps
   updates, evaluating every --eval_every updates (`tiny` preset with --tiny).
3. Evaluates on OGBench's 5 tasks (--eval_episodes each), prints the success table and
   saves a learning-curve PNG into --workdir.

Rerunning resumes from the last checkpoint; a finished run only reprints its results.
For full control use launch/generate_dataset.py and launch/train.py.
"""

import logging as std_logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's Python INFO lines (e.g. one per checkpoint write) would bury the progress output.
std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

ENV_NAME = "pointmaze-medium-navigate-v0"

_WORKDIR = flags.DEFINE_string("workdir", "runs/quickstart", "Run directory (checkpoints, logs, results, PNG).")
_DATASET_DIR = flags.DEFINE_string(
    "dataset_dir", "~/.ogbench/quickstart",
    "Where the small dataset is generated/read (kept apart from full-size datasets in ~/.ogbench/data).",
)
_NUM_EPISODES = flags.DEFINE_integer("num_episodes", 200, "Training episodes to generate (OGBench's full dataset: 1000).")
_STEPS = flags.DEFINE_integer("steps", 15_000, "Training updates (the paper: 1M on a GPU).")
_EVAL_EVERY = flags.DEFINE_integer("eval_every", 3_000, "Evaluate every this many updates (the learning curve's points).")
_EVAL_EPISODES = flags.DEFINE_integer("eval_episodes", 10, "Episodes per task at each evaluation (the paper: 50).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of data generation, training and evaluation.")
_TINY = flags.DEFINE_bool(
    "tiny", False, "Smoke test: 4 episodes of 100 steps, a tiny network, 50 updates, one final evaluation "
    "with 1 episode per task."
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    from tfnfrl.data import dataset_files  # pylint: disable=import-outside-toplevel
    from tfnfrl.data.generation import generate_dataset  # pylint: disable=import-outside-toplevel
    from tfnfrl import agents  # pylint: disable=import-outside-toplevel
    from tfnfrl.training import presets, report, run_config, trainer  # pylint: disable=import-outside-toplevel

    tiny = _TINY.value
    dataset_dir = os.path.expanduser(_DATASET_DIR.value)
    if tiny:
        dataset_dir = os.path.join(dataset_dir, "tiny")
    timings = {}

    start = time.perf_counter()
    if not all(os.path.exists(p) for p in dataset_files(ENV_NAME, dataset_dir)):
        episodes, length = (4, 100) if tiny else (_NUM_EPISODES.value, None)
        print(f"[1/3] Generating {ENV_NAME}: {episodes} episodes into {dataset_dir} ...", flush=True)
        generate_dataset(ENV_NAME, dataset_dir, num_episodes=episodes, num_workers=1 if tiny else os.cpu_count() or 1,
                         seed=_SEED.value, episode_length=length)
    else:
        print(f"[1/3] Using the existing dataset in {dataset_dir}.", flush=True)
    timings["data"] = time.perf_counter() - start

    agent_config, config = presets.apply_preset(
        "tiny" if tiny else "cpu", agents.get_config("nf_gcbc"), run_config.get_run_config())
    config.env_name = ENV_NAME
    config.dataset_dir = dataset_dir
    config.seed = _SEED.value
    if not tiny:
        config.steps, config.eval_every, config.eval_episodes = _STEPS.value, _EVAL_EVERY.value, _EVAL_EPISODES.value
    workdir = _WORKDIR.value + ("_tiny" if tiny and _WORKDIR.value == "runs/quickstart" else "")
    every = f"evaluating every {config.eval_every}" if config.eval_every else "evaluating at the end"
    print(f"[2/3] Training NF-GCBC for {config.steps} steps in {workdir} ({every}) ...", flush=True)
    start = time.perf_counter()
    try:
        result = trainer.train(agent_config, config, workdir)
    except (FileNotFoundError, trainer.NonFiniteLossError) as error:
        sys.exit(f"ERROR: {error}")
    timings["train + evaluations"] = time.perf_counter() - start

    print("[3/3] Results", flush=True)
    png = report.plot_learning_curve({"NF-GCBC": workdir}, os.path.join(workdir, "learning_curve.png"),
                                     title=f"NF-GCBC on {ENV_NAME} (CPU config)")
    print(f"\nNF-GCBC on {ENV_NAME}, {config.steps} steps, {result['episodes_per_task']} episodes per task "
          "(success = fraction of episodes that reached the goal):")
    print(report.success_table({"NF-GCBC": result}))
    print(f"\nLearning curve: {png}\nFull results: {os.path.join(workdir, trainer.FINAL_EVAL_FILE)}")
    print("Wall time: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items()))


if __name__ == "__main__":
    app.run(main)
