"""The AGENTS registry: agent name -> module with `get_config()` and `AGENT_CLASS`."""

from tfnfrl.agents import bc
from tfnfrl.agents import fm_gcbc
from tfnfrl.agents import gcbc
from tfnfrl.agents import nf_bc
from tfnfrl.agents import nf_gcbc

AGENTS = {
    "nf_gcbc": nf_gcbc,
    "nf_bc": nf_bc,
    "gcbc": gcbc,
    "bc": bc,
    "fm_gcbc": fm_gcbc,
}


def check_agent_name(name):
    """Raise ValueError listing the registered agents unless `name` is one of them."""
    if name not in AGENTS:
        raise ValueError(f"Unknown agent {name!r}; expected one of: {', '.join(AGENTS)}.")


def get_config(name):
    """The default ConfigDict of agent `name`."""
    check_agent_name(name)
    return AGENTS[name].get_config()


def make_agent(config, observation_dim, goal_dim, action_dim, total_steps=1_000_000, seed=0):
    """Build the agent `config.agent_name` with its networks and optimizer (weights built)."""
    check_agent_name(config.agent_name)
    return AGENTS[config.agent_name].AGENT_CLASS(
        config, observation_dim, goal_dim, action_dim, total_steps=total_steps, seed=seed
    )
