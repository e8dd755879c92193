"""FM-GCBC: goal-conditioned behaviour cloning with a flow-matching policy (baseline).

A velocity MLP v(a_t, t, s, g) trained with rectified flow matching and sampled with K
Euler steps from N(0, I) noise (the flow-BC actor of Park et al.'s FQL: 4 x 512, GELU,
LayerNorm, K = 10).
"""

import ml_collections

from tfnfrl.agents import bc_agent
from tfnfrl.agents import config_parts
from tfnfrl.agents import optimizers

AGENT_CLASS = bc_agent.BCAgent
FEED = bc_agent.FEED
make_networks = bc_agent.make_networks


def get_config():
    # Acting samples from noise (eval_deterministic=True would start the ODE at zero noise).
    config = config_parts.agent_header("fm_gcbc", batch_size=256, goal_conditioned=True)
    config.action_noise = 0.0  # No extra action noise (flow matching adds its own).
    config.denoise = False  # No denoising step (its log-likelihood is an ODE estimate).
    config.optimizer = optimizers.optimizer_config(lr=3e-4, warmup_steps=0, final_lr=3e-4, weight_decay=0.0)
    # No encoder: the velocity MLP reads concat(a_t, t, s, g) directly.
    config.encoder = config_parts.encoder_config(hidden_dims=(), output_dim=None)
    config.head = ml_collections.ConfigDict(
        dict(
            type="flow_matching",  # Policy head: tfnfrl.networks.FlowMatchingHead.
            hidden_dims=(512, 512, 512, 512),  # Velocity MLP widths.
            activation="gelu",  # Velocity MLP activation.
            layer_norm=True,  # LayerNorm in the velocity MLP.
            num_steps=10,  # K Euler steps from noise to action.
        )
    )
    config.sampler = config_parts.goal_sampling_config(discount=0.99, geom_sample=True)
    return config
