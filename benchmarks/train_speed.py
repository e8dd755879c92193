r"""Train-step speed of an agent through tfnfrl.training's train step, XLA on vs off.

Default: NF-GCBC in the paper's config (6 coupling blocks, width 256, encoder 4 x 512 -> 64,
AdamW + warm-up/cosine, action noise 0.1) at batch 256, observation 28, action 5
(cube-single). Also times the agent's compiled acting function `act` (sample + denoising
step) at batch 1 and 10 with `jit_act` on and off. Timed rounds alternate between the
settings so that load from other processes hits both alike; the median round is reported.
Appends a section to BENCHMARKS.md.

  nice python benchmarks/train_speed.py [--agent nf_gcbc] [--steps 40] [--rounds 3] [--no_append]

With `--baseline_commit REV` it compares this tree with an older commit in one run instead:
REV is extracted (`git archive`) into a temporary directory, and this same script times the
XLA train step in a fresh process per tree and round, alternating trees, so both see the
same machine load. The script adapts to the agent API of each tree (before and after the
learner redesign). Each worker also reports its process CPU time per step (all threads),
which moves much less than wall time when other jobs share the cores. Options of this mode:
  --jax_python PY      also time benchmarks/jax_peer.py's train step (the same model in
                       JAX/Flax) in a fresh process per round, in the same alternation;
  --xla_flags FLAGS    XLA_FLAGS of an extra "this tree + FLAGS" row (repeatable);
  --unfused_row        an extra "this tree" row with the coupling conditioners unfused
                       (tfnfrl.flows.conditioners.FUSED_BY_DEFAULT = False): the fusion's
                       own before/after, apart from other changes since the baseline.
  --loop_row K         an extra "this tree" row training as `--run.input=graph
                       --run.steps_per_loop=K` does: K updates per compiled call, batches drawn
                       in-graph (tfnfrl.data.graph_samplers) from a synthetic 100-episode dataset
                       (sampling included in the time, unlike the other rows' fixed batches).
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfnfrl import agents  # noqa: E402
from tfnfrl.training import make_train_step  # noqa: E402
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

OBS_DIM, ACTION_DIM = 28, 5


def batch_of(batch_size, rng, agent_name="nf_gcbc"):
    """A random batch with the keys the agent's feed gives (goal-conditioned, or transitions with rewards)."""
    matrix = lambda dim: rng.normal(size=(batch_size, dim)).astype(np.float32)  # noqa: E731
    batch = dict(observations=matrix(OBS_DIM), actions=np.tanh(matrix(ACTION_DIM)))
    if getattr(agents, "feed", None) and agents.feed(agent_name) == "transition_sampler":
        batch.update(next_observations=matrix(OBS_DIM), next_actions=np.tanh(matrix(ACTION_DIM)),
                     rewards=-(rng.uniform(size=batch_size) < 0.9).astype(np.float32))
        batch["masks"] = -batch["rewards"]
    else:
        batch["actor_goals"] = matrix(OBS_DIM)
    return batch


def build(agent_name, jit):
    """(config, agent, train step, act function) with whichever agent API this tree has."""
    config = agents.get_config(agent_name)
    config.jit_act = jit
    if hasattr(agents, "EnvSpec"):  # The learner API (agents receive a spec; acting lives in agent.policy).
        spec = agents.EnvSpec(observation_dim=OBS_DIM, action_dim=ACTION_DIM, goal_dim=OBS_DIM, reward_abs_max=1.0)
        agent = agents.make_agent(config, spec, total_steps=1_000_000, seed=0)
        act = agent.policy.act
    else:  # Before the learner redesign (commit 00ea1c9 and earlier).
        agent = agents.make_agent(config, OBS_DIM, OBS_DIM, ACTION_DIM, total_steps=1_000_000, seed=0)
        act = agent.act
    step = make_train_step(agent, tf.distribute.get_strategy(), config.batch_size, seed=0, jit_compile=jit)
    return config, agent, step, act


def time_train(step, batches, steps, offset, cpu_times=None):
    """Wall seconds per step; appends process CPU seconds per step to `cpu_times` if given."""
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(steps):
        info = step(batches[i % len(batches)], tf.constant(offset + i, tf.int64))
    float(next(v for k, v in info.items() if k.endswith("loss")))
    if cpu_times is not None:
        cpu_times.append((time.process_time() - cpu_start) / steps)
    return (time.perf_counter() - start) / steps


def time_act(act, batch_size, calls):
    obs = np.zeros((batch_size, OBS_DIM), np.float32)
    goals = np.zeros((batch_size, act.input_signature[1].shape[-1]), np.float32)  # [N, 0] without goals.
    seed = tf.constant([0, 0], tf.int32)
    act(obs, goals, seed).numpy()
    start = time.perf_counter()
    for _ in range(calls):
        act(obs, goals, seed).numpy()
    return (time.perf_counter() - start) / calls


def synthetic_gc_sampler(config, episodes=100, length=1001):
    """An in-graph goal-conditioned sampler over `episodes` random trajectories (cube-single's sizes)."""
    from tfnfrl import data  # noqa: PLC0415
    from tfnfrl.data import graph_samplers  # noqa: PLC0415  (trees after issue 13 only)

    rng = np.random.default_rng(0)
    n = episodes * length
    observations = rng.normal(size=(n, OBS_DIM)).astype(np.float32)
    arrays = dict(observations=observations, next_observations=np.roll(observations, -1, axis=0),
                  actions=np.tanh(rng.normal(size=(n, ACTION_DIM))).astype(np.float32))
    final_index = np.repeat(np.arange(1, episodes + 1) * length - 1, length)
    sampler_config = data.gc_sampler_config()
    sampler_config.update(config.sampler)  # As tfnfrl.training.feeds.make_sampler does.
    return graph_samplers.GraphGCSampler(arrays, final_index, sampler_config, seed=0)


def time_loop(args):
    """Wall and CPU ms per update of `make_train_loop` with in-graph sampling, K = args.loop_k per call."""
    from tfnfrl.training import make_train_loop  # noqa: PLC0415  (trees after issue 13 only)

    config, agent, _, _ = build(args.agent, True)
    loop = make_train_loop(agent, tf.distribute.get_strategy(), config.batch_size, 0,
                           synthetic_gc_sampler(config), jit_compile=True)
    k = args.loop_k
    float(next(v for name, v in loop(0, k).items() if name.endswith("loss")))  # Trace and compile, untimed.
    calls = max(1, args.steps // k)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(calls):
        info = loop((i + 1) * k, k)
    float(next(v for name, v in info.items() if name.endswith("loss")))
    updates = calls * k
    return 1e3 * (time.perf_counter() - start) / updates, 1e3 * (time.process_time() - cpu_start) / updates


def worker(args):
    """One fresh-process measurement of the XLA train step (printed as JSON)."""
    if args.unfused:
        from tfnfrl.flows import conditioners  # noqa: PLC0415  (only trees that have the option)

        conditioners.FUSED_BY_DEFAULT = False
    if args.loop_k:
        wall, cpu = time_loop(args)
        print(json.dumps(dict(ms_per_step=wall, cpu_ms_per_step=cpu)))
        return
    config, _, step, _ = build(args.agent, True)
    batches = [batch_of(config.batch_size, np.random.default_rng(0), args.agent) for _ in range(4)]
    step(batches[0], tf.constant(0, tf.int64))  # Trace and compile, untimed.
    cpu = []
    wall = time_train(step, batches, args.steps, 1, cpu)
    print(json.dumps(dict(ms_per_step=1e3 * wall, cpu_ms_per_step=1e3 * cpu[0])))


def run_jax_peer(jax_python, steps):
    """(wall, CPU) ms per train step of benchmarks/jax_peer.py's model, in a fresh process."""
    peer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_peer.py")
    out = subprocess.run([jax_python, peer, "--json", "--train_only", "--steps", str(steps), "--repeats", "1"],
                         check=True, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    label = next(k for k in result["rows"] if k.startswith("train step"))
    return result["rows"][label], result["cpu_ms"][label], result["jax_version"]


def compare_with_commit(args):
    """This tree vs `args.baseline_commit` (and the JAX peer), alternating fresh processes; a markdown section."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    load_before = machine_info.describe("TF " + tf.__version__)
    jax_version = None
    with tempfile.TemporaryDirectory(prefix="tfnfrl-baseline-") as baseline:
        archive = subprocess.run(["git", "-C", root, "archive", args.baseline_commit], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", baseline], input=archive.stdout, check=True)
        # This script, copied into each tree, puts that tree first on sys.path.
        copy = os.path.join(baseline, "benchmarks", "_train_speed_current.py")
        with open(os.path.abspath(__file__)) as src, open(copy, "w") as dst:
            dst.write(src.read())
        # name: (tree, script, extra environment, extra worker arguments).
        this = os.path.abspath(__file__)
        trees = {f"baseline {args.baseline_commit}": (baseline, copy, {}, []), "this tree": (root, this, {}, [])}
        if args.unfused_row:
            trees["this tree, unfused conditioners"] = (root, this, {}, ["--unfused"])
        for k in args.loop_row or []:
            trees[f"this tree, in-graph input, {k} updates per call"] = (root, this, {}, ["--loop_k", str(k)])
        trees.update({f"this tree, XLA_FLAGS={flags}": (root, this, {"XLA_FLAGS": flags}, [])
                      for flags in args.xla_flags or []})
        names = list(trees) + (["JAX/Flax peer (benchmarks/jax_peer.py)"] if args.jax_python else [])
        times = {name: [] for name in names}
        cpu_times = {name: [] for name in names}
        for _ in range(args.rounds):
            for name, (tree, script, extra_env, extra_args) in trees.items():
                out = subprocess.run(
                    [sys.executable, script, "--worker", "--agent", args.agent, "--steps", str(args.steps), *extra_args],
                    cwd=tree, check=True, capture_output=True, text=True, env={**os.environ, **extra_env},
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                times[name].append(result["ms_per_step"])
                cpu_times[name].append(result.get("cpu_ms_per_step", float("nan")))
            if args.jax_python:
                wall, cpu, jax_version = run_jax_peer(args.jax_python, args.steps)
                times[names[-1]].append(wall)
                cpu_times[names[-1]].append(cpu)
    medians = {name: statistics.median(t) for name, t in times.items()}
    base, now = medians[f"baseline {args.baseline_commit}"], medians["this tree"]
    rows = [f"| {name} | {med:.1f} | {1e3 / med:.1f} | {statistics.median(cpu_times[name]):.1f} | "
            f"{', '.join(f'{t:.1f}' for t in times[name])} |" for name, med in medians.items()]
    flags = "".join(f" --xla_flags='{f}'" for f in args.xla_flags or [])
    lines = [
        f"\n## Train step before/after a change: {args.agent} (benchmarks/train_speed.py --baseline_commit)\n",
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine: {load_before}" + (f", JAX {jax_version} (peer)" if jax_version else "")
        + f"; load avg after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- Command: `nice python benchmarks/train_speed.py --agent {args.agent} --steps {args.steps} "
        f"--rounds {args.rounds} --baseline_commit {args.baseline_commit}{flags}"
        + (" --unfused_row" if args.unfused_row else "")
        + "".join(f" --loop_row {k}" for k in args.loop_row or [])
        + (" --jax_python PYTHON_WITH_JAX" if args.jax_python else "") + "`",
        f"- Config: `get_config('{args.agent}')` defaults (paper size), observation {OBS_DIM}, action {ACTION_DIM}, "
        "XLA train step, default strategy; one fresh process per tree and round, trees alternating.",
        "",
        "| tree | median ms/step | steps/s | median CPU ms/step (all threads) | rounds (ms/step) |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"This tree / baseline time per step: {now / base:.3f}.",
    ]
    if args.jax_python:
        jax_ms = medians[names[-1]]
        lines += ["", "Steps/s relative to the JAX/Flax peer: " + "; ".join(
            f"{name}: {jax_ms / med:.2f}x" for name, med in medians.items() if name != names[-1]) + "."]
    return "\n".join(lines + [""])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", default="nf_gcbc")
    parser.add_argument("--steps", type=int, default=40, help="Train steps per timed round.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed rounds per setting (median reported).")
    parser.add_argument("--act_calls", type=int, default=200, help="act() calls per timed round.")
    parser.add_argument("--no_append", action="store_true", help="Do not append to BENCHMARKS.md.")
    parser.add_argument("--baseline_commit", default=None, help="Compare the XLA train step with this git revision.")
    parser.add_argument("--jax_python", default=None, help="With --baseline_commit: also time the JAX/Flax peer.")
    parser.add_argument("--xla_flags", action="append", help="With --baseline_commit: an extra row with these XLA_FLAGS.")
    parser.add_argument("--unfused_row", action="store_true", help="With --baseline_commit: a row with unfused conditioners.")
    parser.add_argument("--loop_row", type=int, action="append",
                        help="With --baseline_commit: a row with in-graph input and this many updates per call.")
    parser.add_argument("--unfused", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop_k", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.baseline_commit:
        return append(compare_with_commit(args), args.no_append)

    rng = np.random.default_rng(0)
    settings = {}
    for jit in (True, False):
        config, agent, step, act = build(args.agent, jit)
        batches = [batch_of(config.batch_size, rng, args.agent) for _ in range(4)]
        start = time.perf_counter()
        step(batches[0], tf.constant(0, tf.int64))  # Trace (and compile).
        settings[jit] = dict(act=act, step=step, batches=batches, first=time.perf_counter() - start,
                             train=[], act1=[], act10=[], batch_size=config.batch_size)
    for r in range(args.rounds):
        for jit, s in settings.items():
            s["train"].append(time_train(s["step"], s["batches"], args.steps, 1 + r * args.steps))
            s["act1"].append(time_act(s["act"], 1, args.act_calls))
            s["act10"].append(time_act(s["act"], 10, args.act_calls))

    rows = []
    for jit, s in settings.items():
        train = statistics.median(s["train"])
        rows.append((jit, 1.0 / train, 1e3 * train, s["first"], 1e3 * statistics.median(s["act1"]),
                     1e3 * statistics.median(s["act10"])))
    table = [
        "| jit_compile / jit_act | train steps/s | ms/step | first step (trace+compile) s | act batch 1 ms | act batch 10 ms |",
        "|---|---|---|---|---|---|",
    ]
    table += [f"| {jit} | {sps:.1f} | {ms:.1f} | {first:.1f} | {a1:.2f} | {a10:.2f} |" for jit, sps, ms, first, a1, a10 in rows]
    speedup = rows[0][1] / rows[1][1]
    section = "\n".join([
        f"\n## Train-step speed: {args.agent} (benchmarks/train_speed.py)\n",
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine: {machine_info.describe('TF ' + tf.__version__)}",
        f"- Command: `nice python benchmarks/train_speed.py --agent {args.agent} --steps {args.steps} --rounds {args.rounds}`",
        f"- Config: `tfnfrl.agents.get_config('{args.agent}')` defaults, batch {settings[True]['batch_size']}, "
        f"observation {OBS_DIM} (goal {OBS_DIM}), action {ACTION_DIM}; tfnfrl.training.make_train_step with the default "
        "strategy; median of the alternating timed rounds; act = sample + denoising step + clip.",
        "",
        *table,
        "",
        f"XLA speed-up of the train step: {speedup:.2f}x.",
        "",
    ])
    append(section, args.no_append)


def append(section, no_append):
    """Print a markdown section and append it to BENCHMARKS.md unless `no_append`."""
    print(section)
    if not no_append:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")
        with open(path, "a") as f:
            f.write(section)


if __name__ == "__main__":
    main()
