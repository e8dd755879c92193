"""Presets: every preset names real fields of every agent's config and of the run config."""

import pytest

from tfnfrl import agents
from tfnfrl.training import presets, run_config


@pytest.mark.parametrize("preset", sorted(presets.PRESETS))
@pytest.mark.parametrize("agent", sorted(agents.AGENTS))
def test_preset_applies_to_every_agent(preset, agent):
    config, run = presets.apply_preset(preset, agents.get_config(agent), run_config.get_run_config())
    for dotted, value in presets.PRESETS[preset]["agents"].get(agent, {}).items():
        node = config
        for key in dotted.split("."):
            node = node[key]
        assert node == value, dotted
    for key, value in presets.PRESETS[preset]["run"].items():
        assert run[key] == value


def test_cpu_and_tiny_shrink_every_agent_and_unknown_names_are_refused():
    for preset in ("cpu", "tiny"):
        assert set(presets.PRESETS[preset]["agents"]) == set(agents.AGENTS)
    with pytest.raises(ValueError, match="paper, cpu, tiny"):
        presets.apply_preset("huge", agents.get_config("nf_gcbc"))
    with pytest.raises(KeyError, match="no field 'head.width'"):
        presets.set_dotted(agents.get_config("nf_gcbc"), "head.width", 3)
