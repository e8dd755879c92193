r"""Train-step speed of an agent through tfnfrl.training's train step, XLA on vs off.

Default: NF-GCBC in the paper's config (6 coupling blocks, width 256, encoder 4 x 512 -> 64,
AdamW + warm-up/cosine, action noise 0.1) at batch 256, observation 28, action 5
(cube-single). Also times the agent's compiled acting function `act` (sample + denoising
step) at batch 1 and 10 with `jit_act` on and off. Timed rounds alternate between the
settings so that load from other processes hits both alike; the median round is reported.
Appends a section to BENCHMARKS.md.

  nice python benchmarks/train_speed.py [--agent nf_gcbc] [--steps 40] [--rounds 3] [--no_append]
"""

import argparse
import datetime
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfnfrl import agents  # noqa: E402
from tfnfrl.training import make_train_step  # noqa: E402
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

OBS_DIM, ACTION_DIM = 28, 5


def batch_of(batch_size, rng):
    return dict(
        observations=rng.normal(size=(batch_size, OBS_DIM)).astype(np.float32),
        actor_goals=rng.normal(size=(batch_size, OBS_DIM)).astype(np.float32),
        actions=np.tanh(rng.normal(size=(batch_size, ACTION_DIM))).astype(np.float32),
    )


def build(agent_name, jit):
    config = agents.get_config(agent_name)
    config.jit_act = jit
    agent = agents.make_agent(config, OBS_DIM, OBS_DIM, ACTION_DIM, total_steps=1_000_000, seed=0)
    step = make_train_step(agent, tf.distribute.get_strategy(), config.batch_size, seed=0, jit_compile=jit)
    return config, agent, step


def time_train(step, batches, steps, offset):
    start = time.perf_counter()
    for i in range(steps):
        info = step(batches[i % len(batches)], tf.constant(offset + i, tf.int64))
    float(info["loss"])
    return (time.perf_counter() - start) / steps


def time_act(agent, batch_size, calls):
    obs = np.zeros((batch_size, OBS_DIM), np.float32)
    seed = tf.constant([0, 0], tf.int32)
    agent.act(obs, obs, seed).numpy()
    start = time.perf_counter()
    for _ in range(calls):
        agent.act(obs, obs, seed).numpy()
    return (time.perf_counter() - start) / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", default="nf_gcbc")
    parser.add_argument("--steps", type=int, default=40, help="Train steps per timed round.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed rounds per setting (median reported).")
    parser.add_argument("--act_calls", type=int, default=200, help="act() calls per timed round.")
    parser.add_argument("--no_append", action="store_true", help="Do not append to BENCHMARKS.md.")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    settings = {}
    for jit in (True, False):
        config, agent, step = build(args.agent, jit)
        batches = [batch_of(config.batch_size, rng) for _ in range(4)]
        start = time.perf_counter()
        step(batches[0], tf.constant(0, tf.int64))  # Trace (and compile).
        settings[jit] = dict(agent=agent, step=step, batches=batches, first=time.perf_counter() - start,
                             train=[], act1=[], act10=[], batch_size=config.batch_size)
    for r in range(args.rounds):
        for jit, s in settings.items():
            s["train"].append(time_train(s["step"], s["batches"], args.steps, 1 + r * args.steps))
            s["act1"].append(time_act(s["agent"], 1, args.act_calls))
            s["act10"].append(time_act(s["agent"], 10, args.act_calls))

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
    print(section)
    if not args.no_append:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")
        with open(path, "a") as f:
            f.write(section)


if __name__ == "__main__":
    main()
