r"""Training steps/s: updates per compiled call (K), numpy vs in-graph input, one process vs two workers.

On a small generated pointmaze-medium dataset, with an agent sized by a preset:

  K x input      one process, default strategy: the trainer's own input (`Trainer.input_batches`)
                 and train loop (`make_train_loop`) for every K and input kind, all built on one
                 agent and timed in interleaved rounds of W updates (best round of R), so that
                 the machine's changing load hits every setting alike;
  multi-worker   real `launch/train.py` runs: one process (default strategy), multi_worker with
                 one worker (the distributed step alone) and with two workers on 127.0.0.1 (half
                 of every global batch each; the chief's speed). Each trains 2W updates and the
                 trainer's `training/steps_per_second` of the second window is reported.

Writes its section of BENCHMARKS.md (replacing only that section) unless --no_write.

  python benchmarks/distributed_speed.py [--agents gcbc nf_gcbc] [--preset cpu] [--ks 1 10 100]
      [--rounds 3] [--multi_worker_k 10] [--no_write]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from tfnfrl.training import strategies  # noqa: E402

ENV = "pointmaze-medium-navigate-v0"
SECTION_TITLE = "## Multi-worker, steps per loop and in-graph input (benchmarks/distributed_speed.py)"
WINDOW = {"gcbc": 1000, "nf_gcbc": 300}  # Updates per timed window (a multiple of 100).


def train_command(agent, preset, data_dir, workdir, window, **run):
    flags = dict(env_name=ENV, dataset_dir=data_dir, steps=2 * window, log_every=window, checkpoint_every=2 * window,
                 eval_every=0, eval_episodes=0, progress=False, **run)
    return [sys.executable, "launch/train.py", f"--agent={agent}", f"--preset={preset}", f"--workdir={workdir}"] + [
        f"--run.{k}={v}" for k, v in flags.items()
    ]


def steps_per_second(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return rows[-1]["training/steps_per_second"]


def run_workers(commands, tf_configs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT)
    processes = []
    for command, tf_config in zip(commands, tf_configs):
        worker_env = dict(env, TF_CONFIG=tf_config) if tf_config else env
        processes.append(subprocess.Popen(command, cwd=ROOT, env=worker_env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
    for process in processes:
        output, _ = process.communicate(timeout=3600)
        if process.returncode:
            raise RuntimeError(f"{' '.join(process.args)} failed:\n{output[-3000:]}")


def measure(agent, preset, data_dir, root, workers=0, **run):
    """steps/s of one setting; workers=0: one plain process, n >= 1: n multi_worker processes."""
    window = WINDOW[agent]
    name = "-".join([agent, f"w{workers}"] + [f"{k}{v}" for k, v in sorted(run.items())])
    if not workers:
        workdir = os.path.join(root, name)
        run_workers([train_command(agent, preset, data_dir, workdir, window, **run)], [None])
        return steps_per_second(workdir)
    commands = [
        train_command(agent, preset, data_dir, os.path.join(root, f"{name}-{index}"), window, strategy="multi_worker",
                      **run)
        for index in range(workers)
    ]
    run_workers(commands, strategies.loopback_tf_configs(workers))
    return steps_per_second(os.path.join(root, f"{name}-0"))


def agent_config(agent, preset):
    from tfnfrl import agents  # pylint: disable=import-outside-toplevel
    from tfnfrl.training import presets  # pylint: disable=import-outside-toplevel

    config = agents.get_config(agent)
    presets.apply_preset(preset, config)
    return config


def loop_speeds(agent, preset, data_dir, root, ks, rounds):
    """{(input, K): best steps/s over `rounds` interleaved rounds of W updates} in this process."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfnfrl.training import feeds, run_config, train_step, trainer  # pylint: disable=import-outside-toplevel

    config = agent_config(agent, preset)
    run = run_config.get_run_config()
    run.update(env_name=ENV, dataset_dir=data_dir, steps=10**9)
    loop_trainer = trainer.Trainer(config, run, os.path.join(root, "loops"))
    train_data, _ = loop_trainer.load_data()
    from tfnfrl import agents  # pylint: disable=import-outside-toplevel

    learner = loop_trainer.build_agent(agents.EnvSpec.from_dataset(train_data))
    sampler = feeds.make_sampler(loop_trainer.feed, config, train_data, run.seed)
    strategy = tf.distribute.get_strategy()
    loops = {}
    for input_kind in ("numpy", "graph"):
        run.input = input_kind
        for k in ks:
            batches = loop_trainer.input_batches(strategy, sampler, config.batch_size, 0)
            loops[(input_kind, k)] = (k, train_step.make_train_loop(learner, strategy, config.batch_size, run.seed,
                                                                   batches))
    window = WINDOW[agent]
    best = {key: 0.0 for key in loops}
    for key, (k, loop) in loops.items():  # Compile, and fill the pipelines.
        for start in range(0, 3 * k, k):
            loop(start, k)
    for _ in range(rounds):
        for key, (k, loop) in loops.items():
            began = time.perf_counter()
            for start in range(0, window, k):
                metrics = loop(start, k)
            float(next(iter(metrics.values())))  # Wait for the last update.
            best[key] = max(best[key], window / (time.perf_counter() - began))
            print(agent, key, f"{window / (time.perf_counter() - began):.1f} steps/s", flush=True)
    return best


def section(results, args, machine, seconds):
    lines = [
        SECTION_TITLE, "",
        f"- Date: {datetime.date.today().isoformat()}; machine: {machine}; total {seconds / 60:.0f} min.",
        f"- Command: `python benchmarks/distributed_speed.py --agents {' '.join(args.agents)} --preset {args.preset} "
        f"--ks {' '.join(map(str, args.ks))} --rounds {args.rounds} --multi_worker_k {args.multi_worker_k}`",
        f"- Config: the agents of `--preset={args.preset}` on {ENV} (generated, 20 episodes x 200 steps), XLA on. "
        f"K x input: one process, default strategy, every setting on one agent, best of {args.rounds} interleaved "
        "rounds of W updates after compilation. Multi-worker: `launch/train.py` runs with K = "
        f"{args.multi_worker_k} and numpy input, the trainer's `training/steps_per_second` over the second of two "
        "windows of W updates, one run per cell. Other processes share the 2 cores (load above).",
        "",
        "| agent (global batch, W) | K = steps_per_loop | numpy input steps/s | in-graph input steps/s |",
        "|---|---|---|---|",
    ]
    for agent in args.agents:
        for k in args.ks:
            label = f"{agent} ({agent_config(agent, args.preset).batch_size}, {WINDOW[agent]})"
            lines.append(f"| {label} | {k} | {results[agent][('numpy', k)]:.0f} | {results[agent][('graph', k)]:.0f} |")
    lines += [
        "",
        f"| agent | one process (default strategy) | multi_worker, 1 worker | multi_worker, 2 workers "
        f"(half batch each) | 2 workers vs one process |",
        "|---|---|---|---|---|",
    ]
    for agent in args.agents:
        one, mw1, mw2 = (results[agent][key] for key in ("one", "mw1", "mw2"))
        lines.append(f"| {agent} | {one:.0f} | {mw1:.0f} | {mw2:.0f} | {mw2 / one:.2f}x |")
    lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", nargs="+", default=["gcbc", "nf_gcbc"], choices=sorted(WINDOW))
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--multi_worker_k", type=int, default=10)
    parser.add_argument("--no_write", action="store_true")
    args = parser.parse_args()

    from tfnfrl.data.generation import generate_dataset  # pylint: disable=import-outside-toplevel

    began = time.time()
    machine = machine_info.describe()
    root = tempfile.mkdtemp(prefix="distributed_speed-")
    data_dir = os.path.join(root, "data")
    generate_dataset(ENV, data_dir, num_episodes=20, episode_length=200, progress=False)
    results = {}
    for agent in args.agents:
        results[agent] = loop_speeds(agent, args.preset, data_dir, root, args.ks, args.rounds)
        k = args.multi_worker_k
        for key, workers in (("one", 0), ("mw1", 1), ("mw2", 2)):
            results[agent][key] = measure(agent, args.preset, data_dir, root, workers=workers, steps_per_loop=k,
                                          input="numpy")
            print(agent, key, f"{results[agent][key]:.1f} steps/s", flush=True)
    text = section(results, args, f"{machine} at the start, {', '.join(f'{x:.1f}' for x in os.getloadavg())} at "
                   "the end", time.time() - began)
    print(text)
    if not args.no_write:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        with open(path) as f:
            old = f.read()
        with open(path, "w") as f:
            f.write(machine_info.replace_section(old, SECTION_TITLE, text))


if __name__ == "__main__":
    main()
