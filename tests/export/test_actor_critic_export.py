"""Exports beyond BC: actor-critics add q_value(observations, actions); NF-UGS adds its goal densities."""

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tests.export import test_saved_model_cli as cli
from tfnfrl import export


def test_signatures_are_the_policy_ones_plus_q_value(rlbc_export, rebrac_export):
    rlbc = tf.saved_model.load(rlbc_export.path)
    assert set(rlbc.signatures) == {"serving_default", "sample_actions", "log_prob", "q_value"}
    rebrac = tf.saved_model.load(rebrac_export.path)
    assert set(rebrac.signatures) == {"serving_default", "sample_actions", "q_value"}  # Deterministic: no density.
    assert set(rebrac.signatures["q_value"].structured_input_signature[1]) == {"observations", "actions"}
    info = export.read_policy_info(rlbc_export.path)
    assert info["signatures"]["q_value"]["outputs"] == {
        "q": {"dtype": "float32", "shape": [-1]}, "q_heads": {"dtype": "float32", "shape": [-1, 2]}}


@pytest.mark.parametrize("which", ["rlbc", "rebrac"])
def test_served_q_values_equal_the_restored_critic(which, rlbc_export, rebrac_export):
    exported = rlbc_export if which == "rlbc" else rebrac_export
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(5, tiny.OBS)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(5, tiny.ACT)).astype(np.float32)
    served = tf.saved_model.load(exported.path).signatures["q_value"](observations=obs, actions=actions)
    heads = exported.agent.critic(obs, actions).numpy()
    np.testing.assert_allclose(served["q_heads"].numpy(), heads, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(served["q"].numpy(), heads.min(-1), rtol=1e-6, atol=1e-6)
    assert not np.allclose(heads[:, 0], heads[:, 1])  # Two distinct heads, not one copied.


def test_q_value_rejects_bad_shapes_and_non_finite_inputs(rlbc_export):
    q_value = tf.saved_model.load(rlbc_export.path).signatures["q_value"]
    obs = np.zeros((2, tiny.OBS), np.float32)
    # A binding error quotes the whole signature (both inputs' names): match the refused spec and the expected one.
    with pytest.raises(TypeError, match=rf"Can not cast TensorSpec\(shape=\(2, {tiny.ACT + 1}\), dtype=tf.float32, "
                                        rf"name='actions'\) to TensorSpec\(shape=\(None, {tiny.ACT}\)"):
        q_value(observations=obs, actions=np.zeros((2, tiny.ACT + 1), np.float32))  # Wrong action size.
    with pytest.raises(tf.errors.InvalidArgumentError, match="`actions` contains a non-finite value"):
        q_value(observations=obs, actions=np.full((2, tiny.ACT), np.nan, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`actions` must have as many rows as `observations`"):
        q_value(observations=obs, actions=np.zeros((3, tiny.ACT), np.float32))  # Row counts differ.


def test_saved_model_cli_runs_q_value(rlbc_export, tmp_path):
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, observations=np.ones((4, tiny.OBS), np.float32), actions=np.zeros((4, tiny.ACT), np.float32))
    result = cli._cli("run", "--dir", rlbc_export.path, "--tag_set", "serve", "--signature_def", "q_value",
                      "--inputs", f"observations={inputs}[observations];actions={inputs}[actions]",
                      "--outdir", str(tmp_path / "out"), "--overwrite")
    assert result.returncode == 0, result.stderr[-2000:]
    q = np.load(tmp_path / "out" / "q.npy")
    expected = rlbc_export.agent.critic(np.ones((4, tiny.OBS), np.float32), np.zeros((4, tiny.ACT), np.float32))
    np.testing.assert_allclose(q, expected.numpy().min(-1), rtol=1e-5)


def test_nf_ugs_exports_goal_densities(ugs_export):
    loaded = tf.saved_model.load(ugs_export.path)
    assert {"serving_default", "sample_actions", "log_prob", "goal_log_prob", "marginal_goal_log_prob"} <= set(
        loaded.signatures)
    assert set(loaded.signatures["goal_log_prob"].structured_input_signature[1]) == {"observations", "actions", "goals"}
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(6, tiny.OBS)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(6, tiny.ACT)).astype(np.float32)
    goals = rng.normal(size=(6, 2)).astype(np.float32)
    agent = ugs_export.agent
    served = loaded.signatures["goal_log_prob"](observations=obs, actions=actions, goals=goals)["log_prob"].numpy()
    np.testing.assert_allclose(served, agent.goal_log_prob(obs, actions, goals).numpy(), rtol=1e-5, atol=1e-5)
    marginal = loaded.signatures["marginal_goal_log_prob"](goals=goals)["log_prob"].numpy()
    np.testing.assert_allclose(marginal, agent.marginal_goal_log_prob(goals).numpy(), rtol=1e-5, atol=1e-5)
    served_actions = loaded.signatures["serving_default"](
        observations=obs, goals=goals, seed=np.array([1, 2], np.int32), deterministic=True)["actions"]
    np.testing.assert_allclose(served_actions.numpy(), agent.policy.act_mode(obs, goals).numpy(), atol=1e-6)
