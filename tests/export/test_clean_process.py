"""A process that cannot import tfnfrl serves the exports exactly like the library's policy.

One subprocess (tests/export/serve_without_tfnfrl.py, run with `python -I -S` from a temp
directory) answers every request below through `tf.saved_model.load` and through a TF1
session (the way TF Serving runs a SavedModel); the tests compare its outputs with the
restored agent's own compiled functions.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny

HERE = os.path.dirname(os.path.abspath(__file__))
SITE_PACKAGES = os.path.dirname(os.path.dirname(tf.__file__))
SEED = np.array([7, 11], np.int32)
POLICY_FN_SEED = 5
TOLERANCE = 1e-5
BIG = 1024


def _inputs():
    rng = np.random.default_rng(0)
    normal = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    arrays = {
        "obs1": normal(1, tiny.OBS), "goals1": normal(1, tiny.GOAL),
        "obs_big": normal(BIG, tiny.OBS), "goals_big": normal(BIG, tiny.GOAL),
        "actions_big": rng.uniform(-0.95, 0.95, size=(BIG, tiny.ACT)).astype(np.float32),
        "obs2": normal(2, tiny.OBS), "goals2": normal(2, tiny.GOAL),
        "seed": SEED, "policy_fn_seed": np.array([POLICY_FN_SEED, 0], np.int32),
        "true": np.array(True), "false": np.array(False), "half_samples": np.array(BIG // 2, np.int32),
        "obs_wide": normal(1, tiny.OBS + 1), "obs_f64": normal(1, tiny.OBS).astype(np.float64),
    }
    arrays["obs_nan"] = arrays["obs1"].copy()
    arrays["obs_nan"][0, 1] = np.nan
    arrays["goals_inf"] = arrays["goals1"].copy()
    arrays["goals_inf"][0, 0] = np.inf
    return arrays


def _requests(gc_path, bc_path):
    """(id, model, signature, loader, inputs) of every call the clean process makes."""
    def gc(obs, goals, **extra):
        return dict(observations=obs, goals=goals, **extra)

    rows = [
        ("gc_b1", gc_path, "serving_default", "signature", gc("obs1", "goals1", seed="seed", deterministic="false")),
        ("gc_big", gc_path, "serving_default", "signature", gc("obs_big", "goals_big", seed="seed", deterministic="false")),
        ("gc_big_mode", gc_path, "serving_default", "signature", gc("obs_big", "goals_big", seed="seed", deterministic="true")),
        ("gc_big_session", gc_path, "serving_default", "session", gc("obs_big", "goals_big", seed="seed")),
        ("gc_b1_session_defaults", gc_path, "serving_default", "session", gc("obs1", "goals1")),
        ("gc_b1_fresh_a", gc_path, "serving_default", "function", gc("obs1", "goals1")),
        ("gc_b1_fresh_b", gc_path, "serving_default", "function", gc("obs1", "goals1")),
        ("gc_policy_fn", gc_path, "serving_default", "signature", gc("obs1", "goals1", seed="policy_fn_seed", deterministic="false")),
        ("gc_samples", gc_path, "sample_actions", "signature", gc("obs2", "goals2", num_samples="half_samples", seed="seed")),
        ("gc_log_prob", gc_path, "log_prob", "signature", gc("obs_big", "goals_big", actions="actions_big")),
        ("gc_log_prob_session", gc_path, "log_prob", "session", gc("obs_big", "goals_big", actions="actions_big")),
        ("gc_wide", gc_path, "serving_default", "signature", gc("obs_wide", "goals1", seed="seed", deterministic="false")),
        ("gc_wide_numpy", gc_path, "serving_default", "signature_numpy", gc("obs_wide", "goals1", seed="seed", deterministic="false")),
        ("gc_wide_session", gc_path, "serving_default", "session", gc("obs_wide", "goals1")),
        ("gc_f64", gc_path, "serving_default", "signature", gc("obs_f64", "goals1", seed="seed", deterministic="false")),
        ("gc_nan", gc_path, "serving_default", "signature", gc("obs_nan", "goals1", seed="seed", deterministic="false")),
        ("gc_nan_session", gc_path, "serving_default", "session", gc("obs_nan", "goals1")),
        ("gc_inf_goal", gc_path, "serving_default", "signature", gc("obs1", "goals_inf", seed="seed", deterministic="true")),
        ("bc_b1", bc_path, "serving_default", "signature", dict(observations="obs1", seed="seed", deterministic="false")),
        ("bc_big_mode", bc_path, "serving_default", "signature", dict(observations="obs_big", seed="seed", deterministic="true")),
        ("bc_log_prob", bc_path, "log_prob", "session", dict(observations="obs_big", actions="actions_big")),
    ]
    return [dict(id=i, model=m, signature=s, loader=loader, inputs=inputs) for i, m, s, loader, inputs in rows]


@pytest.fixture(scope="module")
def served(gc_export, bc_export, tmp_path_factory):
    """(inputs, outputs, report) of one clean-process run over `_requests`."""
    work = tmp_path_factory.mktemp("clean_process")
    arrays = _inputs()
    np.savez(work / "inputs.npz", **arrays)
    with open(work / "requests.json", "w") as f:
        json.dump(_requests(gc_export.path, bc_export.path), f)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    command = [
        sys.executable, "-I", "-S", os.path.join(HERE, "serve_without_tfnfrl.py"), SITE_PACKAGES,
        "requests.json", "inputs.npz", "outputs.npz", "report.json",
    ]
    process = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    with open(work / "report.json") as f:
        report = json.load(f)
    return arrays, dict(np.load(work / "outputs.npz")), report


def _close(served_value, library_value):
    difference = float(np.max(np.abs(np.asarray(served_value) - np.asarray(library_value))))
    assert difference <= TOLERANCE, f"max |served - library| = {difference}"


def test_the_process_cannot_import_tfnfrl_or_tfp(served):
    _, _, report = served
    assert report["tfnfrl_import_error"] and "tfnfrl" in report["tfnfrl_import_error"]
    assert report["tensorflow_probability_imported"] is False  # The SavedModel needs TensorFlow only.


def test_sampled_actions_match_the_library_for_batch_1_and_1024(served, gc_export):
    arrays, outputs, report = served
    agent, seed = gc_export.agent, tf.constant(SEED)
    for request, (obs, goals) in {"gc_b1": ("obs1", "goals1"), "gc_big": ("obs_big", "goals_big")}.items():
        assert request not in report["errors"], report["errors"].get(request)
        expected = agent.policy.act(arrays[obs], arrays[goals], seed).numpy()
        assert outputs[request].shape == expected.shape == (arrays[obs].shape[0], tiny.ACT)
        _close(outputs[request], expected)
    # TF Serving's path (a TF1 session fed by tensor name, `deterministic` left to its default).
    _close(outputs["gc_big_session"], outputs["gc_big"])
    assert np.std(outputs["gc_big"]) > 0.05  # A real, varied policy, not a constant.


def test_deterministic_mode_is_act_mode(served, gc_export):
    arrays, outputs, _ = served
    _close(outputs["gc_big_mode"], gc_export.agent.policy.act_mode(arrays["obs_big"], arrays["goals_big"]).numpy())
    assert np.max(np.abs(outputs["gc_big_mode"] - outputs["gc_big"])) > 1e-3


def test_served_actions_are_the_evaluation_policy(served, gc_export):
    """`agent.policy_fn` (what tfnfrl.envs.evaluate calls) and the export share `agent.act`."""
    arrays, outputs, _ = served
    policy = gc_export.agent.policy.policy_fn(seed=POLICY_FN_SEED, deterministic=False)
    _close(outputs["gc_policy_fn"], policy(arrays["obs1"], arrays["goals1"]))  # First call: seed [5, 0].


def test_omitted_seed_draws_a_fresh_seed_per_call(served):
    _, outputs, report = served
    for request in ("gc_b1_fresh_a", "gc_b1_fresh_b", "gc_b1_session_defaults"):
        assert request not in report["errors"], report["errors"].get(request)
        assert outputs[request].shape == (1, tiny.ACT) and np.all(np.abs(outputs[request]) <= 1.0)
    assert np.max(np.abs(outputs["gc_b1_fresh_a"] - outputs["gc_b1_fresh_b"])) > 1e-4


def test_sample_actions_repeats_each_observation(served, gc_export):
    arrays, outputs, _ = served
    n = BIG // 2
    expected = gc_export.agent.policy.act(
        np.repeat(arrays["obs2"], n, axis=0), np.repeat(arrays["goals2"], n, axis=0), tf.constant(SEED)
    ).numpy()
    assert outputs["gc_samples"].shape == (2, n, tiny.ACT)
    _close(outputs["gc_samples"].reshape(-1, tiny.ACT), expected)
    assert np.all(np.abs(outputs["gc_samples"]) <= 1.0)


def test_log_prob_matches_the_library(served, gc_export, bc_export):
    arrays, outputs, _ = served
    expected = gc_export.agent.policy.log_prob(arrays["obs_big"], arrays["goals_big"], arrays["actions_big"]).numpy()
    assert outputs["gc_log_prob"].shape == (BIG,)
    _close(outputs["gc_log_prob"], expected)
    _close(outputs["gc_log_prob_session"], expected)
    no_goals = np.zeros((BIG, 0), np.float32)
    _close(outputs["bc_log_prob"], bc_export.agent.policy.log_prob(arrays["obs_big"], no_goals, arrays["actions_big"]).numpy())


def test_agent_without_goals_matches_the_library(served, bc_export):
    arrays, outputs, _ = served
    agent = bc_export.agent
    _close(outputs["bc_b1"], agent.policy.act(arrays["obs1"], np.zeros((1, 0), np.float32), tf.constant(SEED)).numpy())
    _close(outputs["bc_big_mode"], agent.policy.act_mode(arrays["obs_big"], np.zeros((BIG, 0), np.float32)).numpy())


def test_wrong_width_or_dtype_is_rejected_naming_the_spec(served):
    _, outputs, report = served
    errors = report["errors"]
    for request in ("gc_wide", "gc_wide_numpy", "gc_wide_session", "gc_f64"):
        assert request not in outputs and request in errors, request
    # Tensors reach the graph, whose own check names the input and its spec.
    assert errors["gc_wide"]["type"] == "InvalidArgumentError"
    assert f"`observations` must have shape float32 [batch, {tiny.OBS}]" in errors["gc_wide"]["message"]
    # numpy arrays are matched against the signature's TensorSpec by TensorFlow's Python binding.
    spec = f"TensorSpec(shape=(None, {tiny.OBS}), dtype=tf.float32, name='observations')"
    assert errors["gc_wide_numpy"]["type"] == "TypeError" and spec in errors["gc_wide_numpy"]["message"]
    # A session feed (TF Serving's path) is checked against the placeholder's shape.
    assert f"which has shape (None, {tiny.OBS})" in errors["gc_wide_session"]["message"]
    # A float64 tensor is refused by the function call itself, naming the expected dtype.
    assert "expected to be a float tensor but is a double tensor" in errors["gc_f64"]["message"]


def test_non_finite_inputs_fail_the_request(served):
    """The documented behaviour: InvalidArgumentError naming the input, no actions returned."""
    _, outputs, report = served
    for request, name in (("gc_nan", "observations"), ("gc_nan_session", "observations"), ("gc_inf_goal", "goals")):
        assert request not in outputs
        error = report["errors"][request]
        assert error["type"] == "InvalidArgumentError", error
        assert f"`{name}` contains a non-finite value" in error["message"]
