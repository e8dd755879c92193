"""LiteRT export (--format=tflite): the model, run without tfnfrl, acts like the library."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tfnfrl import export
from tfnfrl.export import tflite

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SITE_PACKAGES = os.path.dirname(os.path.dirname(tf.__file__))
TOLERANCE = 1e-4  # The bound for |LiteRT - library|.
SEED = tf.constant([7, 11], tf.int32)


@pytest.fixture(scope="module")
def litert_export(gc_export, export_dir):
    """The trained tiny NF-GCBC of `gc_export`, exported again with formats savedmodel + tflite."""
    result = export.export_agent(
        gc_export.agent, export_dir, "gc_litert", agent_name="nf_gcbc", formats=("savedmodel", "tflite")
    )
    return gc_export.agent, result


def _requests(agent):
    """{id: (observations, goals, noise)}: sampled and zero noise, batch 1 and 5 (the model resizes)."""
    rng = np.random.default_rng(0)
    requests = {}
    for batch in (1, 5):
        observations = rng.normal(size=(batch, tiny.OBS)).astype(np.float32)
        goals = rng.normal(size=(batch, tiny.GOAL)).astype(np.float32)
        # The noise the library's act(seed) draws, so the comparison covers the seeded path too.
        noise = agent.head.flow.noise(None, SEED, batch_size=batch).numpy()
        requests[f"sampled{batch}"] = (observations, goals, noise)
        requests[f"mode{batch}"] = (observations, goals, np.zeros_like(noise))
    return requests


@pytest.fixture(scope="module")
def served(litert_export, tmp_path_factory):
    agent, result = litert_export
    work = tmp_path_factory.mktemp("litert_process")
    requests = _requests(agent)
    arrays = {f"{r}.{name}": value for r, values in requests.items() for name, value in zip(("observations", "goals", "noise"), values)}
    np.savez(work / "inputs.npz", **arrays)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    command = [
        sys.executable, "-I", "-S", os.path.join(HERE, "litert_without_tfnfrl.py"), SITE_PACKAGES,
        result.tflite_path, "inputs.npz", "outputs.npz", "report.json",
    ]
    process = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    with open(work / "report.json") as f:
        report = json.load(f)
    return requests, dict(np.load(work / "outputs.npz")), report


def test_tflite_lands_in_the_version_directory(litert_export):
    _, result = litert_export
    assert result.tflite_path == os.path.join(result.path, tflite.TFLITE_FILENAME)
    assert os.path.getsize(result.tflite_path) > 1000
    assert os.path.exists(os.path.join(result.path, "saved_model.pb"))


def test_the_process_cannot_import_tfnfrl(served):
    _, _, report = served
    assert report["tfnfrl_import_error"] and "tfnfrl" in report["tfnfrl_import_error"]
    assert report["inputs"] == ["goals", "noise", "observations"]
    assert report["tensorflow_probability_imported"] is False


def test_litert_actions_equal_the_library_for_the_same_noise(served, litert_export):
    agent, _ = litert_export
    requests, outputs, _ = served
    for request, (observations, goals, noise) in requests.items():
        library = agent.act_with_noise(observations, goals, noise).numpy()
        assert outputs[request].shape == library.shape
        np.testing.assert_allclose(outputs[request], library, atol=TOLERANCE, err_msg=request)
    # The same noise as act(seed) gives act(seed); zero noise gives act_mode.
    for batch in (1, 5):
        observations, goals, _ = requests[f"sampled{batch}"]
        np.testing.assert_allclose(
            outputs[f"sampled{batch}"], agent.policy.act(observations, goals, SEED).numpy(), atol=TOLERANCE
        )
        np.testing.assert_allclose(outputs[f"mode{batch}"], agent.policy.act_mode(observations, goals).numpy(), atol=TOLERANCE)
    assert np.abs(outputs["sampled5"] - outputs["mode5"]).max() > 1e-3  # The noise input is used.


def test_unknown_format_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown export format.*'onnx'.*savedmodel.*tflite"):
        export.export_agent(tiny.tiny_agent("nf_gcbc"), str(tmp_path), "m", formats=("onnx",))
    assert not os.listdir(tmp_path)  # Nothing written.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    process = subprocess.run(
        [sys.executable, os.path.join(ROOT, "launch", "export.py"), f"--workdir={tmp_path}", "--format=onnx"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert process.returncode != 0 and "--format=onnx" in process.stderr and "savedmodel|tflite" in process.stderr


def test_tflite_needs_a_flow_agent(tmp_path):
    with pytest.raises(ValueError, match="tflite supports agents acting through a frozen flow"):
        export.export_agent(tiny.tiny_agent("gcbc"), str(tmp_path), "m", formats=("savedmodel", "tflite"))
    assert not os.listdir(tmp_path)


def test_export_script_writes_the_tflite_model(gc_export, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT)
    command = [
        sys.executable, os.path.join(ROOT, "launch", "export.py"), f"--workdir={gc_export.workdir}",
        f"--export_dir={tmp_path}", "--name=gc", "--format=tflite",
    ]
    process = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    path = os.path.join(str(tmp_path), "gc", "1", tflite.TFLITE_FILENAME)
    assert f"LiteRT model: {path}" in process.stdout and os.path.getsize(path) > 1000


def test_a_policy_without_goals_converts_and_acts_like_the_library():
    """NF-RLBC (no goals, no denoising step): LiteRT's actions are `policy.act`'s for the same noise."""
    agent = tiny.tiny_agent("nf_rlbc")
    rng = np.random.default_rng(5)
    for weight in agent.head.flow.trainable_weights:  # Move the zero-initialised output layers: every block acts.
        weight.assign(weight.numpy() + 0.1 * rng.standard_normal(weight.shape).astype(np.float32))
    observations = rng.normal(size=(5, tiny.OBS)).astype(np.float32)
    goals = np.zeros((5, 0), np.float32)
    noise = agent.head.flow.noise(None, SEED, batch_size=5).numpy()
    runner = tflite.interpreter(model_content=tflite.convert(agent)).get_signature_runner(tflite.SIGNATURE)
    served = tflite.run(runner, observations, goals, noise)
    np.testing.assert_allclose(served, agent.policy.act(observations, goals, SEED).numpy(), atol=TOLERANCE)
    np.testing.assert_allclose(
        tflite.run(runner, observations, goals, np.zeros_like(noise)), agent.policy.act_mode(observations, goals).numpy(),
        atol=TOLERANCE,
    )
    assert np.abs(served - agent.reference_act_mode(observations, goals).numpy()).max() > 1e-3  # Noise is used.
