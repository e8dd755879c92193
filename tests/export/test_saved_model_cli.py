"""`saved_model_cli` (shipped with TensorFlow) reads and runs the export like any SavedModel."""

import os
import re
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.agents import tiny

CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def _cli(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def _signature_block(text, name):
    match = re.search(rf"signature_def\['{name}'\]:(.*?)(?=signature_def\[|\Z)", text, re.S)
    assert match, f"signature {name} not listed"
    return match.group(1)


def _tensor(block, kind, name):
    match = re.search(rf"{kind}\['{name}'\] tensor_info:\s*dtype: (\w+)\s*shape: (\([^)]*\))", block)
    assert match, f"{kind} {name} not listed"
    return match.group(1), match.group(2)


def test_show_all_lists_the_signatures_with_shapes_and_dtypes(gc_export):
    assert os.path.exists(CLI)
    result = _cli("show", "--dir", gc_export.path, "--all")
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {
        "serving_default": {
            ("inputs", "observations"): ("DT_FLOAT", f"(-1, {tiny.OBS})"),
            ("inputs", "goals"): ("DT_FLOAT", f"(-1, {tiny.GOAL})"),
            ("inputs", "seed"): ("DT_INT32", "(-1)"),
            ("inputs", "deterministic"): ("DT_BOOL", "()"),
            ("outputs", "actions"): ("DT_FLOAT", f"(-1, {tiny.ACT})"),
        },
        "sample_actions": {
            ("inputs", "num_samples"): ("DT_INT32", "()"),
            ("outputs", "actions"): ("DT_FLOAT", f"(-1, -1, {tiny.ACT})"),
        },
        "log_prob": {
            ("inputs", "actions"): ("DT_FLOAT", f"(-1, {tiny.ACT})"),
            ("outputs", "log_prob"): ("DT_FLOAT", "(-1)"),
        },
    }
    for signature, tensors in expected.items():
        block = _signature_block(result.stdout, signature)
        assert "tensorflow/serving/predict" in block
        for (kind, name), spec in tensors.items():
            assert _tensor(block, kind, name) == spec, (signature, kind, name)


def test_run_default_signature_returns_the_librarys_actions(gc_export, tmp_path):
    batch = 3
    rng = np.random.default_rng(batch)
    inputs = tmp_path / "inputs.npz"
    observations = rng.normal(size=(batch, tiny.OBS)).astype(np.float32) * 3
    goals = rng.normal(size=(batch, tiny.GOAL)).astype(np.float32) * 3
    np.savez(inputs, observations=observations, goals=goals)
    result = _cli(
        "run", "--dir", gc_export.path, "--tag_set", "serve", "--signature_def", "serving_default",
        "--inputs", f"observations={inputs}[observations];goals={inputs}[goals]",
        "--input_exprs", "seed=[1, 2];deterministic=False",
        "--outdir", str(tmp_path / "out"), "--overwrite",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    actions = np.load(tmp_path / "out" / "actions.npy")
    assert actions.shape == (batch, tiny.ACT) and actions.dtype == np.float32
    assert np.all(np.isfinite(actions)) and np.all(np.abs(actions) <= 1.0)
    # The restored agent's sampled actions for the same seed [1, 2], not merely some bounded numbers.
    expected = gc_export.agent.policy.act(observations, goals, tf.constant([1, 2], tf.int32)).numpy()
    np.testing.assert_allclose(actions, expected, atol=1e-5)
    assert np.abs(actions - gc_export.agent.policy.act_mode(observations, goals).numpy()).max() > 1e-3  # Sampled.
