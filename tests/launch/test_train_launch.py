"""launch/train.py and launch/evaluate.py in subprocesses: end to end per agent, kill -9 and
resume, flag errors and help."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfnfrl import agents
from tfnfrl.data.generation import generate_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "pointmaze-medium-navigate-v0"
STEPS = 300


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", MPLBACKEND="Agg")


def _command(script, *args):
    return [sys.executable, os.path.join(ROOT, "launch", script), *args]


def _run(script, *args, timeout=300):
    return subprocess.run(_command(script, *args), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _tiny_overrides(name):
    """--config overrides that shrink agent `name` to width 32 and 2 blocks, batch 32."""
    config = agents.get_config(name)
    flags = ["--config.batch_size=32", "--config.optimizer.warmup_steps=10"]
    if config.encoder.hidden_dims:
        flags += ["--config.encoder.hidden_dims=(32,)", "--config.encoder.output_dim=8"]
    if config.head.type == "flow":
        flags += ["--config.head.num_blocks=2", "--config.head.hidden_units=32"]
    else:
        flags += ["--config.head.hidden_dims=(32,)"]
    if config.head.type == "flow_matching":
        flags += ["--config.head.num_steps=3"]
    return flags


def _train_args(name, data_dir, workdir, *extra):
    return [
        f"--agent={name}", f"--run.env_name={ENV}", f"--run.dataset_dir={data_dir}", f"--workdir={workdir}",
        f"--run.steps={STEPS}", "--run.eval_every=0", "--run.eval_episodes=2", "--run.eval_tasks=(1,)",
        "--run.log_every=100", "--run.checkpoint_every=50", "--run.progress=false", *_tiny_overrides(name), *extra,
    ]


def _kill_after_first_checkpoint(args, workdir, final_step):
    """Start train.py with `args`, SIGKILL it once its first checkpoint is complete; returns that checkpoint."""
    process = subprocess.Popen(_command("train.py", *args), cwd=ROOT, env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The manager's state file names a checkpoint only once it is completely written.
    state = os.path.join(workdir, "checkpoints", "checkpoint")
    deadline = time.time() + 240
    while not os.path.exists(state) and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    assert killed_at is not None and not killed_at.endswith(f"ckpt-{final_step}")
    return killed_at


def _assert_same_checkpoints(workdir, reference):
    resumed, expected = _checkpoint_weights(workdir), _checkpoint_weights(reference)
    assert resumed.keys() == expected.keys()
    for name in resumed:
        np.testing.assert_array_equal(resumed[name], expected[name], err_msg=name)
    return resumed


def _checkpoint_weights(workdir):
    reader = tf.train.load_checkpoint(os.path.join(workdir, "checkpoints"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n.startswith("agent/")}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("launch_data")
    generate_dataset(ENV, str(directory), num_episodes=4, episode_length=100, progress=False)
    return str(directory)


@pytest.fixture(scope="module")
def train_once(data_dir, tmp_path_factory):
    """train_once(agent) -> (CompletedProcess, workdir) of its end-to-end run, run at most once."""
    root, done = tmp_path_factory.mktemp("launch_runs"), {}

    def run(name):
        if name not in done:
            workdir = str(root / name)
            done[name] = (_run("train.py", *_train_args(name, data_dir, workdir)), workdir)
        return done[name]

    return run


@pytest.mark.parametrize("name", [n for n in agents.AGENTS if agents.feed(n) == "gc_sampler"])
def test_end_to_end(name, train_once):
    result, workdir = train_once(name)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "task1" in result.stdout and "mean" in result.stdout
    with open(os.path.join(workdir, "eval_final.json")) as f:
        final = json.load(f)
    assert final["step"] == STEPS and final["episodes_per_task"] == 2 and 0.0 <= final["success/task1"] <= 1.0
    with open(os.path.join(workdir, "config.json")) as f:
        resolved = json.load(f)
    assert resolved["agent"]["agent_name"] == name and resolved["agent"]["batch_size"] == 32
    assert resolved["run"]["steps"] == STEPS and resolved["dims"]["action_dim"] == 2
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert [r["step"] for r in rows if "training/actor/loss" in r] == [100, 200, 300]
    assert all(np.isfinite(r["training/actor/loss"]) for r in rows if "training/actor/loss" in r)
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")).endswith(f"ckpt-{STEPS}")


def test_kill_9_then_same_command_resumes_and_finishes_exactly(data_dir, train_once, tmp_path):
    """Killed after its first checkpoint, the rerun ends with the uninterrupted run's weights."""
    reference_result, reference = train_once("nf_gcbc")
    assert reference_result.returncode == 0, reference_result.stderr[-3000:]
    workdir = str(tmp_path / "killed")
    # Evaluation and logging do not touch training; logging every step widens the window for the kill.
    args = _train_args("nf_gcbc", data_dir, workdir, "--run.eval_episodes=0", "--run.log_every=1")
    _kill_after_first_checkpoint(args, workdir, STEPS)
    result = _run("train.py", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming from" in result.stderr
    _assert_same_checkpoints(workdir, reference)


def test_evaluate_script_prints_a_table_for_a_checkpoint(train_once, tmp_path):
    _, workdir = train_once("gcbc")
    output = str(tmp_path / "eval.json")
    result = _run("evaluate.py", f"--workdir={workdir}", "--checkpoint_step=200", "--eval_episodes=1",
                  "--eval_tasks=2", f"--output={output}", "--noprogress")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checkpoint step 200" in result.stdout and "task2" in result.stdout
    with open(output) as f:
        evaluation = json.load(f)
    assert evaluation["step"] == 200 and evaluation["episodes_per_task"] == 1 and "success/task2" in evaluation


def test_unknown_agent_is_refused_with_the_valid_names():
    result = _run("train.py", "--agent=sac")
    assert result.returncode != 0
    assert ("flag --agent=sac: value should be one of <nf_gcbc|nf_bc|gcbc|bc|fm_gcbc|nf_rlbc|rebrac|nf_ugs>"
            in result.stderr), result.stderr[-3000:]


def test_unknown_env_is_refused_with_the_valid_names():
    result = _run("train.py", "--run.env_name=pointmaze-tiny-v0")
    assert result.returncode != 0
    assert ("Unknown environment/dataset name 'pointmaze-tiny-v0'. Supported goal-conditioned names: "
            "pointmaze-medium-navigate-v0, " in result.stderr), result.stderr[-3000:]
    assert "cube-single-play-v0" in result.stderr


def test_help_explains_every_flag():
    result = _run("train.py", "--agent=gcbc", "--help")  # absl exits with status 1 after --help.
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for flag in ("agent", "preset", "workdir", "config", "run"):
        assert f"--{flag}:" in result.stdout, flag
    text = " ".join(result.stdout.split())  # absl wraps help lines anywhere.
    for field in ("env_name", "dataset_dir", "data_source", "steps", "eval_every", "eval_episodes", "eval_tasks",
                  "eval_workers", "seed", "strategy", "log_every", "checkpoint_every", "keep_checkpoints",
                  "jit_compile", "progress"):
        assert f"{field} = " in text, field  # --run lists every run field with its default.
    assert "head.type = 'gaussian'" in text  # --config lists the chosen agent's fields.


def test_cpu_preset_shapes_the_defaults_and_explicit_overrides_win():
    result = _run("train.py", "--agent=nf_gcbc", "--preset=cpu", "--help")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    text = " ".join(result.stdout.split())
    assert "head.num_blocks = 4" in text and "steps = 15000" in text
    unknown = _run("train.py", "--preset=gpu_cluster")
    assert unknown.returncode != 0
    assert ("flag --preset=gpu_cluster: value should be one of <paper|cpu|tiny>"
            in unknown.stderr), unknown.stderr[-3000:]


def test_tiny_preset_trains_end_to_end_with_a_run_override(data_dir, tmp_path):
    workdir = str(tmp_path / "tiny")
    result = _run("train.py", "--agent=nf_gcbc", "--preset=tiny", f"--run.env_name={ENV}",
                  f"--run.dataset_dir={data_dir}", f"--workdir={workdir}", "--run.steps=30", "--run.eval_episodes=0",
                  "--run.progress=false")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(workdir, "config.json")) as f:
        resolved = json.load(f)
    assert resolved["run"]["steps"] == 30 and resolved["run"]["checkpoint_every"] == 25  # Override, then preset.
    assert resolved["agent"]["head"]["num_blocks"] == 2 and resolved["agent"]["batch_size"] == 32


def test_nf_rlbc_kill_9_resume_restores_both_optimizers_and_the_target_critic(data_dir, tmp_path):
    """Killed after its first checkpoint, the rerun ends with the uninterrupted run's weights, targets and slots."""
    singletask = "pointmaze-medium-navigate-singletask-task1-v0"

    def args(workdir):
        return ["--agent=nf_rlbc", "--preset=tiny", f"--run.env_name={singletask}", f"--run.dataset_dir={data_dir}",
                f"--workdir={workdir}", "--run.steps=120", "--run.checkpoint_every=40", "--run.log_every=1",
                "--run.eval_episodes=0", "--run.progress=false"]

    reference = str(tmp_path / "reference")
    assert _run("train.py", *args(reference)).returncode == 0
    workdir = str(tmp_path / "killed")
    _kill_after_first_checkpoint(args(workdir), workdir, 120)
    result = _run("train.py", *args(workdir))
    assert result.returncode == 0, result.stderr[-3000:]
    names = " ".join(_assert_same_checkpoints(workdir, reference))
    assert "target_critic" in names and "actor_optimizer" in names and "critic_optimizer" in names


def test_nf_ugs_kill_9_then_same_command_resumes_exactly(tmp_path):
    """Online training killed after its first round-end checkpoint resumes to the uninterrupted weights and buffer."""

    def args(workdir):
        return ["--agent=nf_ugs", "--preset=tiny", "--run.env_name=pointmaze-medium-navigate-v0", f"--workdir={workdir}",
                "--run.steps=60", "--run.checkpoint_every=20", "--run.log_every=5", "--run.eval_episodes=0",
                "--run.progress=false"]

    reference = str(tmp_path / "reference")
    first = _run("train.py", *args(reference))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Coverage:" in first.stdout
    workdir = str(tmp_path / "killed")
    _kill_after_first_checkpoint(args(workdir), workdir, 60)
    result = _run("train.py", *args(workdir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert any("temperature" in n for n in _assert_same_checkpoints(workdir, reference))
    replay = [np.load(os.path.join(w, "replay_step60.npz"))["observations"] for w in (workdir, reference)]
    np.testing.assert_array_equal(*replay)
