"""Agents: learners that receive their networks, declare loss groups, and expose a `Policy`.

`AGENTS` maps a name to its module (one file per agent: `get_config()`,
`make_networks(config, spec, seed)`, `AGENT_CLASS`, `FEED`); `make_agent(config,
spec, ...)` builds one. The contract is in `tfnfrl.agents.learner`; evaluation and export
consume `agent.policy` (`tfnfrl.agents.policy.Policy`).
"""

from tfnfrl.agents.bc_agent import BCAgent
from tfnfrl.agents.learner import Learner, LossGroup
from tfnfrl.agents.policy import Policy
from tfnfrl.agents.registry import AGENTS, check_agent_name, feed, get_config, make_agent
from tfnfrl.agents.specs import EnvSpec

__all__ = [
    "AGENTS", "BCAgent", "EnvSpec", "Learner", "LossGroup", "Policy",
    "check_agent_name", "feed", "get_config", "make_agent",
]
