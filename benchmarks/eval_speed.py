r"""Environment steps per second of the lockstep OGBench evaluation, in-process vs env workers.

For pointmaze-medium-navigate-v0 and cube-single-play-v0, runs `tfnfrl.envs.Evaluator` with
N episodes per task on OGBench's evaluation tasks at their full episode length (1000 / 200
steps) with a trivial numpy policy (seeded uniform actions, which never reach the goal, so
every episode runs to the step limit), once per worker setting: 0 = the envs in this process
(the old loop), 1 and 2 = `EnvPool` worker processes. Reports env steps/s (all episodes'
steps / wall time), the speed-up over the in-process loop, policy calls/s and the time to
build the N envs (including starting the workers). A plain single-env `env.step` loop gives
the raw simulator speed. Prints a table and writes it into the eval-speed section of
BENCHMARKS.md (replacing that section, leaving the others alone).

  python benchmarks/eval_speed.py [--tasks 1] [--episodes 10] [--workers 0 1 2] [--repeats 2]
      [--no_write]
"""

import argparse
import datetime
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tfnfrl.envs import Evaluator  # noqa: E402
from tfnfrl.envs import registry  # noqa: E402
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ENV_NAMES = ("pointmaze-medium-navigate-v0", "cube-single-play-v0")
SECTION_TITLE = "## Lockstep evaluation speed (benchmarks/eval_speed.py)"


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


_BUSY_LOOP = ("import time; t = time.perf_counter(); sum(i * i for i in range(6_000_000)); "
              "print(time.perf_counter() - t)")


def parallel_capacity():
    """Throughput of 2 CPU-bound processes at once relative to 1 (2.0 = two free cores).

    On a machine shared with other jobs this is what env workers can gain at best.
    """
    def run(count):
        processes = [subprocess.Popen([sys.executable, "-c", _BUSY_LOOP], stdout=subprocess.PIPE,
                                      text=True) for _ in range(count)]
        return [float(p.communicate()[0]) for p in processes]

    one = run(1)[0]
    two = run(2)
    return 2 * one / max(two)


def measure(env_name, episodes, num_workers, task_ids, repeats):
    """One row: build time, env steps/s and policy calls/s of the fastest of `repeats` runs."""
    start = time.perf_counter()
    evaluator = Evaluator(env_name, episodes_per_task=episodes, num_workers=num_workers)
    build_seconds = time.perf_counter() - start
    seconds = float("inf")
    for _ in range(repeats):  # The same episodes each time (same seed): keep the fastest.
        calls = []
        inner = trivial_policy(evaluator.action_shape[0])

        def counting_policy(observations, goals, calls=calls, inner=inner):
            calls.append(None)
            return inner(observations, goals)

        start = time.perf_counter()
        result = evaluator(counting_policy, task_ids=task_ids, seed=0, progress=False)
        seconds = min(seconds, time.perf_counter() - start)
    evaluator.close()
    env_steps = sum(sum(lengths) for lengths in result["episode_lengths"].values())
    return dict(
        env=env_name, episodes=episodes, workers=num_workers, env_steps=env_steps,
        seconds=seconds, steps_per_second=env_steps / seconds,
        calls_per_second=len(calls) / seconds, build_seconds=build_seconds,
        lengths=result["episode_lengths"],
    )


def table(rows, raw):
    lines = [
        "| env | N episodes | workers | env steps | wall s | env steps/s | vs in-process "
        "| policy calls/s | build N envs s | raw env.step/s (1 env) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = {(r["env"], r["episodes"]): r["steps_per_second"] for r in rows if r["workers"] == 0}
    for row in rows:
        reference = base.get((row["env"], row["episodes"]))
        ratio = f"{row['steps_per_second'] / reference:.2f}x" if reference else "-"
        workers = "0 (in-process)" if row["workers"] == 0 else str(row["workers"])
        lines.append(
            f"| {row['env']} | {row['episodes']} | {workers} | {row['env_steps']} "
            f"| {row['seconds']:.2f} | {row['steps_per_second']:.0f} | {ratio} "
            f"| {row['calls_per_second']:.0f} | {row['build_seconds']:.2f} "
            f"| {raw[row['env']]:.0f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1],
                        help="OGBench task ids to run (each at its full episode length)")
    parser.add_argument("--episodes", type=int, nargs="+", default=[10],
                        help="episodes per task N (= envs stepped in lockstep)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                        help="env worker processes; 0 = envs in this process (the old loop)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="evaluations per row; the fastest counts (the machine is shared)")
    parser.add_argument("--raw_steps", type=int, default=2000,
                        help="steps of the plain single-env loop used as the reference speed")
    parser.add_argument("--no_write", action="store_true",
                        help="print only, do not write BENCHMARKS.md")
    args = parser.parse_args()

    machine_before = machine_info.describe()
    capacity = parallel_capacity()
    print(f"2 busy processes ran at {capacity:.2f}x the throughput of one", flush=True)
    rows, raw = [], {}
    for env_name in ENV_NAMES:
        raw[env_name] = raw_steps_per_second(env_name, args.raw_steps)
        for episodes in args.episodes:
            for num_workers in args.workers:
                rows.append(measure(env_name, episodes, num_workers, args.tasks, args.repeats))
                print({k: v for k, v in rows[-1].items() if k != "lengths"}, flush=True)
            lengths = {str(r["lengths"]) for r in rows if r["env"] == env_name
                       and r["episodes"] == episodes}
            assert len(lengths) == 1, f"worker settings disagree on episode lengths: {lengths}"
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = table(rows, raw)
    print(text)

    if not args.no_write:
        command = "python benchmarks/eval_speed.py " + " ".join(sys.argv[1:])
        section = (
            f"{SECTION_TITLE}\n\n"
            f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}\n"
            f"- Machine: {machine_before} (at the start; load avg {load_after} at the end); "
            f"two CPU-bound processes ran at {capacity:.2f}x the throughput of one (2.00x = two "
            f"free cores; the most env workers can gain here)\n"
            f"- Command: `{command.strip()}`\n"
            f"- Config: tasks {args.tasks} at OGBench's full episode length (pointmaze 1000, "
            f"cube-single 200 steps); policy = seeded uniform numpy actions (no episode ends "
            f"early); workers = `Evaluator(num_workers=...)`, 0 = envs in the calling process "
            f"(the loop before issue 8), k >= 1 = `EnvPool` worker processes, each owning a "
            f"contiguous block of the N envs; env steps/s = all episodes' env steps / wall "
            f"time of the evaluation (env construction and worker start excluded, shown as "
            f"build), fastest of {args.repeats} runs; raw = plain single-env `env.step` "
            f"loop, {args.raw_steps} steps. Episode lengths were checked equal across worker "
            f"settings.\n\n"
            f"{text}\n"
        )
        path = os.path.join(ROOT, "BENCHMARKS.md")
        with open(path) as f:
            current = f.read()
        with open(path, "w") as f:
            f.write(machine_info.replace_section(current, SECTION_TITLE, section))
        print(f"wrote the eval-speed section of {path}")


if __name__ == "__main__":
    main()
