r"""Environment steps per second of the lockstep OGBench evaluation (tfnfrl.envs.Evaluator).

For pointmaze-medium-navigate-v0 and cube-single-play-v0, with N = 1 and N = 10 episodes per
task, runs OGBench's evaluation tasks at their full episode length (1000 / 200 steps) with a
trivial numpy policy (seeded uniform actions, which never reach the goal, so every episode
runs to the step limit) and reports env steps/s (all episodes' steps / wall time), policy
calls/s and the time to build the N envs. A plain single-env `env.step` loop gives the raw
simulator speed the lockstep loop is compared with. Prints a table and appends it to
BENCHMARKS.md.

  python benchmarks/eval_speed.py [--tasks 1 2 3 4 5] [--episodes 1 10] [--no_append]
"""

import argparse
import datetime
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfnfrl.envs import Evaluator  # noqa: E402
from tfnfrl.envs import registry  # noqa: E402
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ENV_NAMES = ("pointmaze-medium-navigate-v0", "cube-single-play-v0")


def trivial_policy(action_dim, seed=0):
    """Seeded uniform actions in [-1, 1]: float32 [N, action_dim] per call."""
    rng = np.random.default_rng(seed)

    def policy(observations, goals):
        return rng.uniform(-1.0, 1.0, size=(observations.shape[0], action_dim)).astype(np.float32)

    return policy


def raw_steps_per_second(env_name, steps):
    """Single env, plain `env.step` loop with uniform actions, resets at episode ends."""
    env = registry.make_env(env_name)
    rng = np.random.default_rng(0)
    env.reset(seed=0, options=dict(task_id=1))
    action_dim = env.action_space.shape[0]
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, action_dim).astype(np.float32))
        if terminated or truncated:
            env.reset(options=dict(task_id=1))
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def measure(env_name, episodes, task_ids):
    """One row: build time, env steps/s and policy calls/s of an Evaluator run."""
    start = time.perf_counter()
    evaluator = Evaluator(env_name, episodes_per_task=episodes)
    build_seconds = time.perf_counter() - start
    calls = []
    inner = trivial_policy(evaluator.action_shape[0])

    def counting_policy(observations, goals):
        calls.append(None)
        return inner(observations, goals)

    start = time.perf_counter()
    result = evaluator(counting_policy, task_ids=task_ids, seed=0, progress=False)
    seconds = time.perf_counter() - start
    evaluator.close()
    env_steps = sum(sum(lengths) for lengths in result["episode_lengths"].values())
    return dict(
        env=env_name, episodes=episodes, env_steps=env_steps, seconds=seconds,
        steps_per_second=env_steps / seconds, calls_per_second=len(calls) / seconds,
        build_seconds=build_seconds, success=result["success/mean"],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 2, 3, 4, 5],
                        help="OGBench task ids to run (each at its full episode length)")
    parser.add_argument("--episodes", type=int, nargs="+", default=[1, 10],
                        help="episodes per task N (= envs stepped in lockstep)")
    parser.add_argument("--raw_steps", type=int, default=2000,
                        help="steps of the plain single-env loop used as the reference speed")
    parser.add_argument("--no_append", action="store_true",
                        help="print only, do not append to BENCHMARKS.md")
    args = parser.parse_args()

    rows, raw = [], {}
    for env_name in ENV_NAMES:
        raw[env_name] = raw_steps_per_second(env_name, args.raw_steps)
        for episodes in args.episodes:
            rows.append(measure(env_name, episodes, args.tasks))
            print(rows[-1], flush=True)

    lines = [
        "| env | N episodes | env steps | wall s | env steps/s | policy calls/s "
        "| raw env.step/s (1 env) | build N envs s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['env']} | {row['episodes']} | {row['env_steps']} | {row['seconds']:.2f} "
            f"| {row['steps_per_second']:.0f} | {row['calls_per_second']:.0f} "
            f"| {raw[row['env']]:.0f} | {row['build_seconds']:.2f} |"
        )
    table = "\n".join(lines)
    print(table)

    if not args.no_append:
        command = "python benchmarks/eval_speed.py " + " ".join(sys.argv[1:])
        section = (
            f"\n## Lockstep evaluation speed (benchmarks/eval_speed.py)\n\n"
            f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}\n"
            f"- Machine: {machine_info.describe()}\n"
            f"- Command: `{command.strip()}`\n"
            f"- Config: tasks {args.tasks} at OGBench's full episode length (pointmaze 1000, "
            f"cube-single 200 steps); policy = seeded uniform numpy actions (no episode ends "
            f"early); env steps/s = all episodes' env steps / wall time of the evaluation "
            f"(env construction excluded, shown separately); raw = plain single-env "
            f"`env.step` loop, {args.raw_steps} steps.\n\n"
            f"{table}\n"
        )
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.path.join(root, "BENCHMARKS.md")
        with open(path, "a") as f:
            f.write(section)
        print(f"appended to {path}")


if __name__ == "__main__":
    main()
