"""Issue 10, step 1: choose the offline-RL budget from a learning curve (cube-single task2, seed 0).

NF-RLBC, ReBRAC and BC with the `cpu` preset, 60k updates, evaluated every 10k updates with 20
episodes; datasets: 200-episode cube-single-play generated locally (see RESULTS.md).
"""

from tfnfrl.agents import rebrac
from tfnfrl.training.study import Run

STUDY = "rl_offline_curve"
ENV = "cube-single-play-singletask-task2-v0"
RUN = {"steps": 60_000, "eval_every": 10_000, "eval_episodes": 20, "log_every": 1_000, "checkpoint_every": 5_000}
ALPHA_ACTOR, ALPHA_CRITIC = rebrac.alphas_for(ENV)

RUNS = [
    Run.make("nf_rlbc", ENV, seed=0, config={"alpha": 10.0}, run=RUN),
    Run.make("rebrac", ENV, seed=0, config={"alpha_actor": ALPHA_ACTOR, "alpha_critic": ALPHA_CRITIC}, run=RUN),
    Run.make("bc", ENV, seed=0, run=RUN),
]
