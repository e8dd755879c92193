"""Data speed: generation steps/s per family (1 and N workers), sampler and tf.data batches/s.

Usage:
  nice python benchmarks/data_speed.py                      # all families, 1 and 2 workers
  nice python benchmarks/data_speed.py --families=pointmaze-medium-navigate-v0 --batches=500

Prints a table and appends a section to BENCHMARKS.md (repository root). Generation runs
write into a temporary directory (deleted afterwards). The sampler benchmark uses the
cube-single-play-v0 dataset in --dataset_dir if it exists, otherwise a synthetic dataset of
the same shape as the full one (1000 trajectories x 1000 transitions, obs 28, action 5).
"""

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tfnfrl.data import GCSampler, gc_sampler_config, load_datasets, make_tf_dataset  # noqa: E402
from tfnfrl.data.generation import generate_dataset  # noqa: E402
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

FLAGS = flags.FLAGS
flags.DEFINE_list("families", ["pointmaze-medium-navigate-v0", "cube-single-play-v0",
                               "scene-play-v0", "puzzle-3x3-play-v0"],
                  "One dataset per family to time.")
flags.DEFINE_list("workers", ["1", "2"], "Worker counts to time.")
flags.DEFINE_integer("maze_episodes", 39, "Training episodes per maze run (+1 validation).")
flags.DEFINE_integer("manip_episodes", 13, "Training episodes per manipulation run (+1 val).")
flags.DEFINE_integer("batch_size", 256, "Sampler / pipeline batch size.")
flags.DEFINE_integer("batches", 2000, "Batches timed for the sampler and the pipeline.")
flags.DEFINE_string("dataset_dir", "~/.ogbench/data", "Where a real cube-single-play-v0 may be.")
flags.DEFINE_bool("write", True, "Append the results to BENCHMARKS.md.")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def time_generation():
    rows = []
    for name in FLAGS.families:
        episodes = FLAGS.maze_episodes if name.startswith("pointmaze") else FLAGS.manip_episodes
        for workers in map(int, FLAGS.workers):
            directory = tempfile.mkdtemp(prefix="data_speed_")
            try:
                result = generate_dataset(name, directory, num_episodes=episodes,
                                          num_workers=workers, seed=0, progress=False)
            finally:
                shutil.rmtree(directory, ignore_errors=True)
            rows.append((name, workers, result.num_steps, result.seconds,
                         result.steps_per_second))
            print(f"generation {name:32s} workers={workers}: {result.num_steps} steps in "
                  f"{result.seconds:.1f} s = {result.steps_per_second:.0f} steps/s", flush=True)
    return rows


def cube_dataset():
    try:
        train, _ = load_datasets("cube-single-play-v0", FLAGS.dataset_dir)
        return train, f"real cube-single-play-v0 ({len(train['observations'])} transitions)"
    except (FileNotFoundError, ValueError):
        rng = np.random.default_rng(0)
        n, length = 1_000_000, 1000
        obs = rng.standard_normal((n, 28)).astype(np.float32)
        terminals = np.zeros(n, dtype=np.float32)
        terminals[length - 1 :: length] = 1.0
        data = dict(observations=obs, next_observations=np.roll(obs, -1, axis=0),
                    actions=rng.uniform(-1, 1, (n, 5)).astype(np.float32), terminals=terminals)
        return data, "synthetic, full cube-single shape (1M transitions, obs 28, act 5)"


def time_sampling():
    data, label = cube_dataset()
    config = gc_sampler_config()
    config.actor_geom_sample = True  # The NF-GCBC setting; costs the same as uniform.
    sampler = GCSampler(data, config, seed=0)
    batch, n = FLAGS.batch_size, FLAGS.batches
    sampler.sample(batch, 0)
    start = time.perf_counter()
    for step in range(n):
        sampler.sample(batch, step)
    sampler_rate = n / (time.perf_counter() - start)
    print(f"GCSampler.sample({batch}): {sampler_rate:.0f} batches/s ({label})", flush=True)

    dataset = make_tf_dataset(sampler, batch)
    iterator = iter(dataset)
    for _ in range(50):  # Warm up: build the pipeline and fill the prefetch buffer.
        next(iterator)
    start = time.perf_counter()
    for _ in range(n):
        next(iterator)
    pipeline_rate = n / (time.perf_counter() - start)
    print(f"make_tf_dataset (batch {batch}), eager iteration: {pipeline_rate:.0f} batches/s",
          flush=True)
    return label, sampler_rate, pipeline_rate


def write_section(command, rows, label, sampler_rate, pipeline_rate):
    lines = [
        "",
        "## Data: generation and sampling speed (benchmarks/data_speed.py)",
        "",
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine (at the end of the run): {machine_info.describe()}",
        f"- Command: `{command}`",
        f"- Config: maze runs {FLAGS.maze_episodes}+1 episodes, manipulation runs "
        f"{FLAGS.manip_episodes}+1 episodes, protocol episode lengths (1001 steps); wall time "
        "includes worker start-up, env construction, the array checks and the compressed "
        "write. Other engineers' jobs share the 2 cores: a load average above 2 means the "
        "second worker had no free core to run on.",
        "",
        "| dataset (family) | workers | steps | seconds | steps/s |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {n} | {w} | {s} | {t:.1f} | {r:.0f} |" for n, w, s, t, r in rows]
    lines += [
        "",
        f"Sampling at batch {FLAGS.batch_size} ({label}), {FLAGS.batches} batches:",
        "",
        "| what | batches/s |",
        "|---|---|",
        f"| GCSampler.sample (numpy, one thread) | {sampler_rate:.0f} |",
        f"| make_tf_dataset iterator (numpy_function map + prefetch) | {pipeline_rate:.0f} |",
        "",
    ]
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "a") as f:
        f.write("\n".join(lines))


def main(argv):
    del argv
    command = "nice python " + " ".join(
        [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    print(machine_info.describe())
    rows = time_generation()
    label, sampler_rate, pipeline_rate = time_sampling()
    if FLAGS.write:
        write_section(command, rows, label, sampler_rate, pipeline_rate)
        print("Appended to BENCHMARKS.md")


if __name__ == "__main__":
    app.run(main)
