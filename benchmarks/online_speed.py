r"""NF-UGS online collection and update speed: env steps/s and updates/s, 1 vs 2 env workers.

Runs the `cpu` preset of nf_ugs on pointmaze-medium-navigate-v0 through the real online
trainer (16 envs in worker processes, unrolls of 50 steps, 25 updates per unroll) for a few
short rounds (200-step episodes, so a round is 3,200 env steps and 100 updates), and reads
the speeds the trainer logs over the last round (the first includes XLA compilation):
collection env steps/s (policy calls + env steps, excluding updates) and updates/s
(excluding collection). Appends a section to BENCHMARKS.md.

  nice python benchmarks/online_speed.py [--rounds 3] [--no_append]
"""

import argparse
import datetime
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from tfnfrl import agents  # noqa: E402
from tfnfrl.training import metrics_log, presets, run_config, trainer  # noqa: E402


def measure(workers, rounds):
    """(env steps/s, updates/s) of the last logged row of a short online run with `workers` env workers."""
    agent_config, run = presets.apply_preset("cpu", agents.get_config("nf_ugs"), run_config.get_run_config())
    agent_config.collection.episode_length = 200
    per_round = agent_config.collection.episode_length // agent_config.collection.unroll_length
    per_round *= agent_config.collection.updates_per_unroll
    run.env_name, run.steps, run.eval_episodes, run.progress = "pointmaze-medium-navigate-v0", rounds * per_round, 0, False
    run.log_every, run.checkpoint_every, run.eval_workers = per_round, rounds * per_round, workers
    with tempfile.TemporaryDirectory() as workdir:
        trainer.train(agent_config, run, workdir)
        last = metrics_log.read_metrics(workdir)[-1]
    return last["collection/env_steps_per_second"], last["training/updates_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--no_append", action="store_true")
    args = parser.parse_args()
    rows = {workers: measure(workers, args.rounds) for workers in (1, 2)}
    lines = [
        "\n## NF-UGS online collection and updates (benchmarks/online_speed.py)\n",
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine: {machine_info.describe('TF ' + tf.__version__)}",
        f"- Command: `nice python benchmarks/online_speed.py --rounds {args.rounds}`",
        "- Config: nf_ugs `cpu` preset on pointmaze-medium-navigate-v0, 16 envs, 200-step episodes, unrolls of 50 "
        "steps, 25 updates per unroll (batch 256); speeds as the trainer logs them over the last round.",
        "",
        "| env workers | collection env steps/s | updates/s |",
        "|---|---:|---:|",
        *[f"| {w} | {sps:,.0f} | {ups:.1f} |" for w, (sps, ups) in rows.items()],
        "",
    ]
    section = "\n".join(lines)
    print(section)
    print(json.dumps({str(k): v for k, v in rows.items()}))
    if not args.no_append:
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md"), "a") as f:
            f.write(section)


if __name__ == "__main__":
    main()
