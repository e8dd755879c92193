"""Agents: behaviour cloning with normalizing-flow, Gaussian and flow-matching policies.

`AGENTS` maps a name to its module (one file per agent, its config next to it);
`make_agent(config, ...)` builds one. Every agent exposes the compiled acting functions
`act(observations, goals, seed)`, `act_mode(observations, goals)` and
`policy_log_prob(observations, goals, actions)` used by evaluation and export.
"""

from tfnfrl.agents.bc_agent import BCAgent
from tfnfrl.agents.registry import AGENTS, check_agent_name, get_config, make_agent

__all__ = ["AGENTS", "BCAgent", "check_agent_name", "get_config", "make_agent"]
