"""NF-GCBC: goal-conditioned behaviour cloning with a normalizing-flow policy.

Ghugare & Eysenbach 2025 (arXiv 2505.23527), Sec. 5.1: maximum likelihood of noised dataset
actions under pi(a | s, g) = ConditionalFlow(a; encoder(s, g)); one denoising step at action
time. Defaults are the paper's (1M steps on a GPU; shrink for CPUs, e.g. with
`--config.head.num_blocks` / `--config.encoder.hidden_dims`).
"""

from tfnfrl.agents import bc_agent
from tfnfrl.agents import config_parts
from tfnfrl.agents import optimizers

AGENT_CLASS = bc_agent.BCAgent
FEED = bc_agent.FEED
make_networks = bc_agent.make_networks


def get_config():
    # Goals are relabelled from each trajectory's future; evaluation samples (no zero-noise mode).
    config = config_parts.agent_header("nf_gcbc", batch_size=256, goal_conditioned=True)
    config.action_noise = 0.1  # sigma: N(0, sigma^2) noise added to dataset actions before the MLE loss.
    config.denoise = True  # At action time a <- a + sigma^2 * grad_a log pi(a | s, g), then clip to [-1, 1].
    config.optimizer = optimizers.optimizer_config(lr=3e-4, warmup_steps=500, final_lr=1e-6, weight_decay=1e-6)
    config.encoder = config_parts.encoder_config()  # 4 x 512 (Dense -> LayerNorm -> SiLU) -> 64.
    config.head = config_parts.flow_head_config(num_blocks=6, hidden_units=256)
    config.sampler = config_parts.goal_sampling_config(discount=0.99, geom_sample=True)
    return config
