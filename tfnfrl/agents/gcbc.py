"""GCBC: OGBench's goal-conditioned behaviour cloning with a Gaussian MLP policy (baseline).

OGBench impls/agents/gcbc.py: actor MLP 3 x 512 (GELU) on concat(s, g), linear mean,
constant std 1, Adam lr 3e-4, batch 1024, no action noise; evaluated with the mean
(OGBench's eval temperature 0). For a like-for-like comparison with NF-GCBC, override the
sampler / batch size / optimizer keys to match.
"""

import ml_collections

from tfnfrl.agents import bc_agent
from tfnfrl.agents import config_parts
from tfnfrl.agents import optimizers

AGENT_CLASS = bc_agent.BCAgent


def get_config():
    config = ml_collections.ConfigDict()
    config.agent_name = "gcbc"  # Registry name of this agent.
    config.goal_conditioned = True  # Condition on goals relabelled from each trajectory's future.
    config.batch_size = 1024  # Global batch size (OGBench's GCBC).
    config.action_noise = 0.0  # No action noise for the Gaussian baseline.
    config.denoise = False  # No denoising step at action time.
    config.eval_deterministic = True  # Act with the Gaussian mean (OGBench evaluates at temperature 0).
    config.jit_act = True  # XLA-compile the acting functions (lower per-call latency on CPU).
    config.optimizer = optimizers.optimizer_config(lr=3e-4, warmup_steps=0, final_lr=3e-4, weight_decay=0.0)
    # No encoder: the actor MLP reads concat(s, g) directly, as in OGBench.
    config.encoder = config_parts.encoder_config(hidden_dims=(), output_dim=None)
    config.head = ml_collections.ConfigDict(
        dict(
            type="gaussian",  # Policy head: tfnfrl.networks.GaussianHead.
            hidden_dims=(512, 512, 512),  # Actor MLP widths.
            activation="gelu",  # Actor MLP activation (OGBench's MLP default).
            layer_norm=False,  # OGBench's actor has no LayerNorm.
            const_std=True,  # sigma = 1 (OGBench's const_std); False learns a state-independent log sigma.
        )
    )
    config.sampler = config_parts.goal_sampling_config(discount=0.99, geom_sample=True)
    return config
