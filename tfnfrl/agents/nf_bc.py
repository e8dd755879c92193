"""NF-BC: behaviour cloning pi(a | s) with a normalizing-flow policy (12 blocks, as in the paper).

NF-GCBC's agent without goals: it acts through the same frozen-weight path (`fast_act`).
"""

from tfnfrl.agents import bc_agent
from tfnfrl.agents import nf_gcbc

AGENT_CLASS = nf_gcbc.NFGCBCAgent
FEED = bc_agent.FEED
make_networks = bc_agent.make_networks


def get_config():
    config = nf_gcbc.get_config()  # Same optimizer, noise, denoising and encoder as NF-GCBC.
    config.agent_name = "nf_bc"
    config.goal_conditioned = False  # pi(a | s): the encoder reads the observation only.
    config.head.num_blocks = 12  # The paper's plain-BC flow is twice as deep.
    config.sampler = {}  # Transitions are sampled uniformly; the sampler's goals are unused.
    return config
