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
FEED = bc_agent.FEED
make_networks = bc_agent.make_networks


def get_config():
    # OGBench's GCBC: batch 1024, acting with the Gaussian mean (its eval temperature 0).
    config = config_parts.agent_header("gcbc", batch_size=1024, goal_conditioned=True, eval_deterministic=True)
    config.action_noise = 0.0  # No action noise for the Gaussian baseline.
    config.denoise = False  # No denoising step at action time.
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
