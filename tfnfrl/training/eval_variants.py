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
# TensorBoard summary names allow no other characters ('.' also, but ConfigDict keys may not hold it).
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def metric_prefix(name):
    """The metrics-log prefix of variant `name`'s evaluation scalars, e.g. "evaluation-no-denoise/"."""
    return f"evaluation-{name}/"


def check_variants(variants, agent_config):
    """Raise ValueError unless every variant has a valid name and overrides only acting fields of the agent."""
    for name, overrides in dict(variants).items():
        if not _NAME.match(name):
            raise ValueError(f"Evaluation variant name {name!r}: use letters, digits, '_' and '-' only.")
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
    """Assign every weight of learner `source` to the weight of `target` at the same path (its checkpoint key)."""
    sources, targets = source.weights_by_path, target.weights_by_path
    if set(sources) != set(targets) or any(tuple(sources[k].shape) != tuple(targets[k].shape) for k in sources):
        raise ValueError("The variant agent's weights do not match the trained agent's: a variant may only "
                         "change acting fields.")
    for key, weight in sources.items():
        targets[key].assign(weight)


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

    @property
    def names(self):
        """The variant names, in the order given."""
        return list(self._configs)

    def synced(self, trained, names=None):
        """[(name, variant agent)] for `names` (None: all), each holding `trained`'s current weights
        with its acting caches re-derived from them."""
        synced = []
        for name in self.names if names is None else names:
            if name not in self._agents:
                # Outside any distribution strategy: evaluation runs on the chief's host alone.
                self._agents[name] = agents.make_agent(self._configs[name], self._spec, seed=self._seed)
            copy_weights(trained, self._agents[name])
            self._agents[name].policy.refresh()
            synced.append((name, self._agents[name]))
        return synced
