"""Named presets: agent and run overrides for a kind of machine, shared by launch scripts and RESULTS.

  paper   the paper's networks and 1M steps (GPU work): no overrides.
  cpu     networks and logging sized for 2 CPU cores (what RESULTS.md and the quickstart use).
  tiny    a smoke test: toy networks, 50 updates, one final 1-episode-per-task evaluation.

A preset is applied to the defaults first; `--config.*` / `--run.*` overrides come after it.
"""

# Agent overrides per agent name, as dotted field -> value.
_CPU_FLOW = {"encoder.hidden_dims": (256, 256, 256), "head.num_blocks": 4, "head.hidden_units": 128}
_CPU_AGENTS = {
    "nf_gcbc": _CPU_FLOW,
    "nf_bc": _CPU_FLOW,
    "gcbc": {"batch_size": 256, "head.hidden_dims": (256, 256, 256)},
    "bc": {"batch_size": 256, "head.hidden_dims": (256, 256, 256)},
    "fm_gcbc": {"head.hidden_dims": (256, 256, 256)},
    "nf_rlbc": {**_CPU_FLOW, "critic.hidden_dims": (256, 256, 256)},
    "rebrac": {"actor.hidden_dims": (256, 256, 256), "critic.hidden_dims": (256, 256, 256)},
    "nf_ugs": {"encoder.hidden_dims": (256, 256), "head.num_blocks": 4, "head.hidden_units": 128,
               "actor.hidden_dims": (256, 256)},
}
_TINY_FLOW = {"encoder.hidden_dims": (32,), "head.num_blocks": 2, "head.hidden_units": 32, "batch_size": 32,
              "optimizer.warmup_steps": 10}
_TINY_AGENTS = {
    "nf_gcbc": _TINY_FLOW,
    "nf_bc": _TINY_FLOW,
    "gcbc": {"batch_size": 32, "head.hidden_dims": (32,)},
    "bc": {"batch_size": 32, "head.hidden_dims": (32,)},
    "fm_gcbc": {"batch_size": 32, "head.hidden_dims": (32,), "head.num_steps": 3},
    "nf_rlbc": {"encoder.hidden_dims": (32,), "head.num_blocks": 2, "head.hidden_units": 32, "batch_size": 32,
                "critic.hidden_dims": (32, 32)},
    "rebrac": {"actor.hidden_dims": (32, 32), "critic.hidden_dims": (32, 32), "batch_size": 32},
    "nf_ugs": {"encoder.hidden_dims": (32,), "head.num_blocks": 2, "head.hidden_units": 32, "batch_size": 32,
               "actor.hidden_dims": (32,), "collection.num_envs": 2, "collection.episode_length": 100,
               "collection.unroll_length": 25, "collection.updates_per_unroll": 5, "collection.capacity_episodes": 8,
               "num_candidates": 64},
}

PRESETS = {
    "paper": dict(agents={}, run={}),
    "cpu": dict(
        agents=_CPU_AGENTS,
        run={"steps": 15_000, "eval_every": 3_000, "eval_episodes": 10, "log_every": 500, "checkpoint_every": 1_000},
    ),
    "tiny": dict(
        agents=_TINY_AGENTS,
        run={"steps": 50, "eval_every": 0, "eval_episodes": 1, "log_every": 25, "checkpoint_every": 25},
    ),
}


def check_preset_name(name):
    """Raise ValueError listing the presets unless `name` is one."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; expected one of: {', '.join(PRESETS)}.")


def set_dotted(config, dotted, value):
    """config.a.b.c = value for dotted = "a.b.c" (KeyError naming the field if it does not exist)."""
    *parents, leaf = dotted.split(".")
    node = config
    for key in parents:
        node = node[key]
    if leaf not in node:
        raise KeyError(f"Config has no field {dotted!r}.")
    node[leaf] = value


def apply_preset(name, agent_config=None, run_config=None):
    """Apply preset `name` in place to an agent config (its own agent's overrides) and/or a run config."""
    check_preset_name(name)
    preset = PRESETS[name]
    if agent_config is not None:
        for dotted, value in preset["agents"].get(agent_config.agent_name, {}).items():
            set_dotted(agent_config, dotted, value)
    if run_config is not None:
        for dotted, value in preset["run"].items():
            set_dotted(run_config, dotted, value)
    return agent_config, run_config
