"""The AGENTS registry: agent name -> module (get_config, make_networks, AGENT_CLASS, FEED)."""

from tfnfrl.agents import bc
from tfnfrl.agents import fm_gcbc
from tfnfrl.agents import gcbc
from tfnfrl.agents import nf_bc
from tfnfrl.agents import nf_gcbc
from tfnfrl.agents import nf_rlbc
from tfnfrl.agents import nf_ugs
from tfnfrl.agents import rebrac

AGENTS = {
    "nf_gcbc": nf_gcbc,
    "nf_bc": nf_bc,
    "gcbc": gcbc,
    "bc": bc,
    "fm_gcbc": fm_gcbc,
    "nf_rlbc": nf_rlbc,
    "rebrac": rebrac,
    "nf_ugs": nf_ugs,
}


def check_agent_name(name):
    """Raise ValueError listing the registered agents unless `name` is one of them."""
    if name not in AGENTS:
        raise ValueError(f"Unknown agent {name!r}; expected one of: {', '.join(AGENTS)}.")


def get_config(name):
    """The default ConfigDict of agent `name`."""
    check_agent_name(name)
    return AGENTS[name].get_config()


def feed(name):
    """The batch feed the trainer gives agent `name` (its module's FEED, see tfnfrl.training.feeds)."""
    check_agent_name(name)
    return AGENTS[name].FEED


def make_agent(config, spec, total_steps=1_000_000, seed=0):
    """Build the agent `config.agent_name` for `spec` (an EnvSpec): its networks (seeded by `seed`), then the learner."""
    check_agent_name(config.agent_name)
    module = AGENTS[config.agent_name]
    networks = module.make_networks(config, spec, seed)
    return module.AGENT_CLASS(config, spec, networks, total_steps=total_steps)
