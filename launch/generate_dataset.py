"""Generates an OGBench dataset locally (OGBench's protocol and file format), or checks one.

Examples:
  python launch/generate_dataset.py --env_name=pointmaze-medium-navigate-v0
  python launch/generate_dataset.py --env_name=cube-single-play-v0 --num_episodes=200 \
      --num_workers=2
  python launch/generate_dataset.py --env_name=cube-single-play-v0 --num_episodes=200 --check

Writes {dataset_dir}/{name}.npz and {name}-val.npz, which
ogbench.make_env_and_datasets(name, dataset_dir=...) and tfnfrl.data.load_datasets read.
"""

import os

from absl import app, flags, logging

from tfnfrl.data import checks, loading
from tfnfrl.data.generation import generate_dataset
from tfnfrl.envs import registry

FLAGS = flags.FLAGS
flags.DEFINE_string("env_name", None, "Dataset name, e.g. cube-single-play-v0 (singletask names "
                    "generate their base dataset).")
flags.DEFINE_string("dataset_dir", loading.default_dataset_dir(), "Directory of the .npz files "
                    "(default: OGBench's).")
flags.DEFINE_integer("num_episodes", None, "Training episodes; default = OGBench's count for the "
                     "dataset. Validation adds 10% more.")
flags.DEFINE_integer("num_workers", os.cpu_count() or 1, "Worker processes collecting episodes.")
flags.DEFINE_integer("seed", 0, "Base seed; episode k is seeded from (seed, k).")
flags.DEFINE_integer("max_episode_steps", None, "Steps per episode; default = OGBench's length "
                     "(shorter only for tests and smoke runs).")
flags.DEFINE_bool("check", False, "Only validate the existing files against the protocol "
                  "(uses --num_episodes/--max_episode_steps if given).")
flags.DEFINE_bool("overwrite", False, "Regenerate even if valid files already exist.")
flags.mark_flag_as_required("env_name")


def _check(name):
    reports = checks.check_dataset(
        name, FLAGS.dataset_dir, num_episodes=FLAGS.num_episodes,
        episode_length=FLAGS.max_episode_steps,
    )
    for report in reports:
        print(report)
    return 0 if all(r.ok for r in reports) else 1


def main(argv):
    del argv
    try:
        registry.check_env_name(FLAGS.env_name)
    except ValueError as e:
        logging.error("%s", e)
        return 2
    name = registry.dataset_name(FLAGS.env_name)
    if name != FLAGS.env_name:
        logging.info("%s reads the dataset %s; using that name.", FLAGS.env_name, name)
    if FLAGS.check:
        return _check(name)

    train_path, val_path = loading.dataset_files(name, FLAGS.dataset_dir)
    if not FLAGS.overwrite and os.path.exists(train_path) and os.path.exists(val_path):
        if _check(name) == 0:
            logging.info("%s already exists and passes the checks; pass --overwrite to "
                         "regenerate it.", train_path)
            return 0
        logging.warning("Existing files failed the checks; regenerating them.")
    result = generate_dataset(
        name,
        FLAGS.dataset_dir,
        num_episodes=FLAGS.num_episodes,
        num_workers=FLAGS.num_workers,
        seed=FLAGS.seed,
        episode_length=FLAGS.max_episode_steps,
    )
    print(
        f"Wrote {result.train_path} ({result.num_train_episodes} episodes) and "
        f"{result.val_path} ({result.num_val_episodes} episodes): {result.num_steps} steps in "
        f"{result.seconds:.1f} s ({result.steps_per_second:.0f} steps/s)."
    )
    return 0


if __name__ == "__main__":
    app.run(main)
