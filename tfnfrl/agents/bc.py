"""BC: behaviour cloning pi(a | s) with OGBench's Gaussian MLP actor (baseline for NF-BC)."""

from tfnfrl.agents import bc_agent
from tfnfrl.agents import gcbc

AGENT_CLASS = bc_agent.BCAgent
FEED = bc_agent.FEED
make_networks = bc_agent.make_networks


def get_config():
    config = gcbc.get_config()  # Same actor, optimizer and acting as GCBC.
    config.agent_name = "bc"
    config.goal_conditioned = False  # pi(a | s): the actor reads the observation only.
    config.sampler = {}  # Transitions are sampled uniformly; the sampler's goals are unused.
    return config
