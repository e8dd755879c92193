"""Issue 11: NF-UGS vs uniform vs oracle goals on pointmaze-medium, equal env steps, 2 seeds.

`cpu` preset (phi 2 x 256 -> 64, 4 flow blocks of width 128, actor 2 x 256), 16 envs,
1000-step episodes from task 1's start cell, unrolls of 50 steps, 25 updates per unroll:
32 env steps per update; 4000 updates = 8 rounds = 128k env steps. Evaluation on
OGBench's 5 tasks (10 episodes each) every 2000 updates and at the end.
"""

from tfnfrl.training.study import Run

STUDY = "nf_ugs_pointmaze"
ENV = "pointmaze-medium-navigate-v0"
RUN = {"steps": 4_000, "eval_every": 2_000, "eval_episodes": 10, "checkpoint_every": 2_000, "log_every": 500}

RUNS = [
    Run.make("nf_ugs", ENV, seed=seed, config={"exploration": exploration}, run=RUN, label=f"nf_ugs[{exploration}]")
    for seed in (0, 1)
    for exploration in ("nf_ugs", "uniform", "oracle")
]
