"""Helpers of the absl launch scripts: configs chosen before flag parsing, and their checks.

`--agent` and `--preset` decide which fields `--config` has and their defaults, so they are
read from the command line before absl parses it.
"""

from absl import flags

from tfnfrl import agents
from tfnfrl.envs import registry
from tfnfrl.training import presets
from tfnfrl.training import run_config as run_config_lib


def value_in_argv(argv, name, default):
    """The value of --name in a command line (`--name=v` or `--name v`), else `default`."""
    for i, arg in enumerate(argv):
        for prefix in (f"--{name}=", f"-{name}="):
            if arg.startswith(prefix):
                return arg[len(prefix):]
        if arg in (f"--{name}", f"-{name}") and i + 1 < len(argv):
            return argv[i + 1]
    return default


def default_configs(agent_name, preset_name, fallback_agent):
    """(agent config, run config) defaults with the preset applied.

    Unknown names are reported by the --agent / --preset enum checks after parsing; the
    fallback agent's fields and no preset are defined meanwhile.
    """
    agent_config = agents.get_config(agent_name if agent_name in agents.AGENTS else fallback_agent)
    run_config = run_config_lib.get_run_config()
    if preset_name in presets.PRESETS:
        presets.apply_preset(preset_name, agent_config, run_config)
    return agent_config, run_config


def dotted_fields(config, prefix=""):
    """'optimizer.lr = 0.0003'-style lines for every leaf field of a ConfigDict."""
    lines = []
    for key in sorted(config.keys()):
        value = config[key]
        if hasattr(value, "keys"):
            lines += dotted_fields(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key} = {value!r}")
    return lines


def validate_run_config(config):
    """absl validator of --run: a supported env name (the message lists them)."""
    try:
        registry.check_env_name(config.env_name)
    except ValueError as error:
        raise flags.ValidationError(str(error)) from error
    return True


def check_selection(agent_config, agent, preset, agent_in_argv, preset_in_argv):
    """Refuse contradictory selections (e.g. --config.agent_name differing from --agent)."""
    from absl import app  # pylint: disable=import-outside-toplevel

    if agent_config.agent_name != agent:
        raise app.UsageError(
            f"--config.agent_name={agent_config.agent_name!r} contradicts --agent={agent!r}; choose the agent with --agent."
        )
    if (agent, preset) != (agent_in_argv, preset_in_argv):
        raise app.UsageError(f"Could not read --agent/--preset before parsing (got {agent_in_argv!r}, {preset_in_argv!r}).")
