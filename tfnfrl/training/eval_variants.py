"""Evaluation variants: the run's weights evaluated again under acting-only config changes.

A run config's `eval_variants` maps a short name to agent-config overrides that change how the
agent acts, never what it learns (`ACTING_FIELDS`); e.g. {"no-denoise": {"denoise": False}} is the
paper's "without the denoising step" ablation evaluated on the very weights the full method
trained: a paired comparison, at no training cost. At each evaluation the trainer copies the
trained weights into one variant agent per name and logs its results as
`evaluation-<name>/...` (`metric_prefix`).
"""

import re

from tfnfrl import agents

# Agent-config fields that only change acting: a variant may override these and nothing else.
ACTING_FIELDS = ("denoise", "eval_deterministic", "fast_act", "jit_act")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # TensorBoard summary names allow no other characters.


def metric_prefix(name):
    """The metrics-log prefix of variant `name`'s evaluation scalars, e.g. "evaluation-no-denoise/"."""
    return f"evaluation-{name}/"


def check_variants(variants, agent_config):
    """Raise ValueError unless every variant has a valid name and overrides only acting fields of the agent."""
    for name, overrides in dict(variants).items():
        if not _NAME.match(name):
            raise ValueError(f"Evaluation variant name {name!r}: use letters, digits, '_', '.', '-' only.")
        for field in overrides:
            if field not in ACTING_FIELDS:
                raise ValueError(
                    f"Evaluation variant {name!r} overrides {field!r}, which may change what the agent learns; "
                    f"a variant may override only acting fields {ACTING_FIELDS}.")
            if field not in agent_config:
                raise ValueError(f"Evaluation variant {name!r}: agent {agent_config.agent_name!r} has no field "
                                 f"{field!r}.")


def variant_config(agent_config, overrides):
    """A copy of `agent_config` with `overrides` ({field: value}) applied."""
    config = agent_config.copy_and_resolve_references()
    for field, value in dict(overrides).items():
        config[field] = value
    return config


def copy_weights(source, target):
    """Assign every weight of learner `source` to the same weight of `target` (same agent and networks)."""
    pairs = list(zip(source.weights_by_path.values(), target.weights_by_path.values()))
    if len(source.weights_by_path) != len(target.weights_by_path) or any(
            tuple(s.shape) != tuple(t.shape) for s, t in pairs):
        raise ValueError("The variant agent's weights do not match the trained agent's: a variant may only "
                         "change acting fields.")
    for src, dst in pairs:
        dst.assign(src)


class VariantAgents:
    """One agent per evaluation variant, built on first use, loaded with the trained weights on each call.

    Args:
      variants: {name: {acting field: value}} (checked by `check_variants`).
      agent_config: the trained agent's config. spec: its EnvSpec. seed: the run seed.
    """

    def __init__(self, variants, agent_config, spec, seed=0):
        check_variants(variants, agent_config)
        self._configs = {name: variant_config(agent_config, overrides) for name, overrides in dict(variants).items()}
        self._spec, self._seed = spec, seed
        self._agents = {}

    def __bool__(self):
        return bool(self._configs)

    def synced(self, trained):
        """[(name, variant agent)] each holding `trained`'s current weights (acting caches refreshed on use)."""
        for name, config in self._configs.items():
            if name not in self._agents:
                # Outside any distribution strategy: evaluation runs on the chief's host alone.
                self._agents[name] = agents.make_agent(config, self._spec, seed=self._seed)
            copy_weights(trained, self._agents[name])
        return list(self._agents.items())
