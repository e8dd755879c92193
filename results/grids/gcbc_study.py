"""Issue 14: is the paper's NF-GCBC >> GCBC the policy class or the goal sampling? And its ablations.

Grid A (policy class x goal sampling): {NF-GCBC, Gaussian GCBC} x {geometric, uniform future}
goals, plus FM-GCBC with geometric goals, on pointmaze-medium-navigate (discount 0.99, OGBench's
full 1000-episode dataset, generated locally) and cube-single-play (discount 0.97, the local
200-episode dataset). Grid B (the paper's ablations, cube-single-play): NF-GCBC without the LU
linear flows, without LayerNorm in the coupling MLPs (both trained), and without the denoising step:
an acting-time change, so it is an evaluation variant (`eval_variants`) of the NF-GCBC[geometric]
cube runs, evaluated on the same weights at every evaluation (label "nf_gcbc[geometric]@no-denoise"):
a paired comparison, with no separate training run.

All runs: the `paper` preset (paper-size networks), batch 256 for every agent (GCBC's own
default is 1024), 15k updates (each agent's own learning-rate schedule over those 15k), evaluated
every 5k updates on OGBench's 5 tasks x 20 episodes, 3 seeds. Seed-major order, so a partly
finished study has every method at seed 0 first.
"""

from tfnfrl.training.study import Decomposition
from tfnfrl.training.study import Differences
from tfnfrl.training.study import Run
from tfnfrl.training.study import Table

STUDY = "gcbc_study"
ENVS = {"pointmaze-medium-navigate-v0": 0.99, "cube-single-play-v0": 0.97}
ABLATION_ENV = "cube-single-play-v0"
RUN = {"steps": 15_000, "eval_every": 5_000, "eval_episodes": 20, "eval_tasks": (1, 2, 3, 4, 5),
       "log_every": 500, "checkpoint_every": 1_000}
SEEDS = (0, 1, 2)

GOALS = {"geometric": True, "uniform": False}
POLICY_CLASS_BY_GOALS = [("nf_gcbc", "geometric"), ("nf_gcbc", "uniform"), ("gcbc", "geometric"),
                         ("gcbc", "uniform"), ("fm_gcbc", "geometric")]
ABLATIONS = {
    "no LU": {"head.use_linear_flow": False},
    "no LayerNorm": {"head.use_layer_norm": False},
}
# Acting-time ablations: evaluated on the weights of the NF-GCBC[geometric] runs on ABLATION_ENV.
ACTING_ABLATIONS = {"no-denoise": {"denoise": False}}


def _run(agent, env_name, seed, label, **config):
    config = {"batch_size": 256, "sampler.discount": ENVS[env_name], **config}
    run = dict(RUN)
    if (agent, label, env_name) == ("nf_gcbc", "nf_gcbc[geometric]", ABLATION_ENV):
        run["eval_variants"] = ACTING_ABLATIONS
    return Run.make(agent, env_name, seed=seed, preset="paper", config=config, run=run, label=label)


RUNS = []
for seed in SEEDS:
    for env_name in ENVS:
        for agent, goals in POLICY_CLASS_BY_GOALS:
            RUNS.append(_run(agent, env_name, seed, f"{agent}[{goals}]", **{"sampler.actor_geom_sample": GOALS[goals]}))
    for name, overrides in ABLATIONS.items():
        RUNS.append(_run("nf_gcbc", ABLATION_ENV, seed, f"nf_gcbc[{name}]", **overrides))

TABLES = [
    Table("Grid A: policy class x goal sampling", tuple(f"{agent}[{goals}]" for agent, goals in POLICY_CLASS_BY_GOALS)),
    Table("Grid B: the paper's ablations", ("nf_gcbc[geometric]",) + tuple(f"nf_gcbc[{n}]" for n in ABLATIONS)
          + tuple(f"nf_gcbc[geometric]@{n}" for n in ACTING_ABLATIONS), envs=(ABLATION_ENV,)),
]
# The paper's comparison, NF-GCBC [geometric] vs OGBench's GCBC [uniform], split into the share of
# the policy class and the share of goal sampling.
DECOMPOSITIONS = [
    Decomposition(
        title="The paper's gap, split: policy class vs goal sampling",
        factors=("policy class", "goal sampling"),
        cells={(1, 1): "nf_gcbc[geometric]", (1, 0): "nf_gcbc[uniform]",
               (0, 1): "gcbc[geometric]", (0, 0): "gcbc[uniform]"},
    ),
]
# Grid B as effects: the full model minus each ablation, paired by seed.
DIFFERENCES = [
    Differences("The paper's ablations: full NF-GCBC minus each, paired by seed", "nf_gcbc[geometric]",
                tuple(f"nf_gcbc[{n}]" for n in ABLATIONS) + tuple(f"nf_gcbc[geometric]@{n}" for n in ACTING_ABLATIONS),
                envs=(ABLATION_ENV,)),
]
# The paper's numbers (Ghugare & Eysenbach 2025, arXiv 2505.23527, as quoted in the project's design
# brief): NF-GCBC on cube-single-play at 1M updates, 5 seeds, OGBench's 1000-episode dataset, and its
# ablations there.
PUBLISHED = ("paper (1M updates, 5 seeds)", {
    "cube-single-play-v0": {"nf_gcbc[geometric]": 0.795, "nf_gcbc[no LU]": 0.0, "nf_gcbc[no LayerNorm]": 0.0,
                            "nf_gcbc[geometric]@no-denoise": 0.69},
})
