"""export_workdir / export_agent: TF Serving layout, policy info, versions, the self-check."""

import json
import os
import re

import pytest
import tensorflow as tf

from tests.agents import tiny
from tests.export import conftest
from tfnfrl import agents
from tfnfrl import export


def test_layout_is_name_slash_integer_version(gc_export, export_dir):
    assert gc_export.result.name == "gc" and gc_export.result.version == 1
    assert gc_export.path == os.path.join(export_dir, "gc", "1")
    for relative in ("saved_model.pb", "variables/variables.index", "assets/policy_info.json"):
        assert os.path.exists(os.path.join(gc_export.path, relative)), relative
    assert sorted(os.listdir(os.path.join(export_dir, "gc"))) == ["1"]  # No staging directory left.


def test_policy_info_describes_the_run(gc_export):
    info = export.read_policy_info(gc_export.path)
    assert info == json.loads(json.dumps(gc_export.result.info))
    assert (info["agent"], info["env_name"], info["train_step"]) == ("nf_gcbc", conftest.ENV_NAME, conftest.TRAIN_STEPS)
    assert (info["observation_dim"], info["goal_dim"], info["action_dim"]) == (tiny.OBS, tiny.GOAL, tiny.ACT)
    assert info["goal_conditioned"] is True
    assert info["action_bounds"] == {"low": [-1.0] * tiny.ACT, "high": [1.0] * tiny.ACT}
    assert info["agent_config"]["head"]["num_blocks"] == 2 and info["run_config"]["seed"] == 0
    assert info["checkpoint"].endswith(f"ckpt-{conftest.TRAIN_STEPS}")
    serving = info["signatures"]["serving_default"]
    assert serving["inputs"]["observations"] == {"dtype": "float32", "shape": [-1, tiny.OBS]}
    assert serving["inputs"]["seed"] == {"dtype": "int32", "shape": [-1]}
    assert serving["outputs"] == {"actions": {"dtype": "float32", "shape": [-1, tiny.ACT]}}
    assert set(info["signatures"]) == set(export.POLICY_SIGNATURES)
    assert "InvalidArgumentError" in info["non_finite_inputs"]


def test_agent_without_goals_has_no_goals_input(bc_export):
    loaded = tf.saved_model.load(bc_export.path)
    inputs = {name: set(loaded.signatures[name].structured_input_signature[1]) for name in export.POLICY_SIGNATURES}
    assert inputs == {
        "serving_default": {"observations", "seed", "deterministic"},
        "sample_actions": {"observations", "num_samples", "seed"},
        "log_prob": {"observations", "actions"},
    }
    assert export.read_policy_info(bc_export.path)["goal_dim"] == 0


def test_a_new_export_takes_the_next_version_and_never_overwrites(bc_export, export_dir):
    again = export.export_agent(bc_export.agent, export_dir, "bc", verify=False)
    assert again.version == 2 and os.path.isdir(os.path.join(export_dir, "bc", "2"))
    # Which version exists, and the next free one to use instead (3 once 1 and 2 exist).
    for version, call in ((1, lambda: export.export_agent(bc_export.agent, export_dir, "bc", version=1, verify=False)),
                          (2, lambda: export.export_workdir(bc_export.workdir, export_dir, name="bc", version=2))):
        existing = re.escape(os.path.join(export_dir, "bc", str(version)))
        with pytest.raises(FileExistsError, match=rf"^{existing} already exists and exported versions are never "
                                                  r"overwritten; .* export as version 3\.$"):
            call()
    assert sorted(os.listdir(os.path.join(export_dir, "bc"))) == ["1", "2"]


def test_bad_names_and_non_workdirs_are_refused(export_dir, tmp_path):
    with pytest.raises(ValueError, match=r"^Model name must start with a letter .* Received: name='no/slash'$"):
        export.export_agent(object(), export_dir, "no/slash")
    assert not os.path.exists(os.path.join(export_dir, "no"))
    with pytest.raises(FileNotFoundError, match=rf"config\.json not found: {re.escape(repr(str(tmp_path)))} "
                                                r"is not a tfnfrl training workdir\.$"):
        export.export_workdir(str(tmp_path), export_dir)


def test_self_check_catches_an_export_of_other_weights(gc_export):
    config = tiny.tiny_config("nf_gcbc")
    config.jit_act = False  # Same functions and architecture, other weights; no XLA compile needed.
    other = agents.make_agent(config, tiny.SPEC, total_steps=10, seed=1)
    # The first output compared (sampled actions), by how much, and where.
    with pytest.raises(RuntimeError, match=r"^Exported serving_default\(seed\) differs from the library's by \S+ "
                                           rf"\(> \S+\) in {re.escape(gc_export.path)}; the export was not kept\.$"):
        export.verify_export(other.policy, gc_export.path)
