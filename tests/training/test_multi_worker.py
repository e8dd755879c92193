"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 train like one process.

Each worker is a subprocess with its own TF_CONFIG (free ports picked here) and its own
workdir, running `trainer.train` on a tiny Gaussian GCBC config (no training noise) with
`--run.strategy=multi_worker`. The worker script records every batch its sampler drew
(by step) and the agent's final weights, so the test can check that

  - the workers drew different batches (one input stream each) and ended with equal weights;
  - one process updating on the concatenated per-worker batches reaches the same weights
    (tolerance below: the all-reduced gradient sums in another order than one device);
  - only the chief's workdir has config, checkpoints and metrics, and no temporary
    checkpoint directory of the other worker survives;
  - after `kill -9` of one worker mid-run, starting both again resumes from the chief's last
    checkpoint and finishes at the same final step with the uninterrupted run's weights.
"""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import tiny_agent_config, tiny_run
from tfnfrl import agents
from tfnfrl.training import checkpoints, metrics_log, train_step, trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS = 50
BATCH = 16  # tiny_agent_config's global batch: 8 rows per worker.
# One process vs two workers: the all-reduce sums the two halves' gradients in another order
# than one device's reduction, so weights agree to float32 round-off grown over 50 Adam steps
# (measured: 1.2e-7 at most).
ATOL = 1e-5

SCRIPT = r"""
import os, sys, time
import numpy as np
import tensorflow as tf
from tests.training.conftest import tiny_agent_config, tiny_run
from tfnfrl.training import checkpoints, feeds, trainer

record, agent_box = {}, []
slow_after = int(os.environ.get("SLOW_AFTER", "-1"))
make_sampler = feeds.make_sampler

def recording_sampler(feed, agent_config, dataset, seed):
    sampler = make_sampler(feed, agent_config, dataset, seed)
    if seed != 0:
        return sampler  # The validation sampler.
    sample = sampler.sample

    def sample_and_record(batch_size, step, stream=0):
        if 0 <= slow_after <= step:
            time.sleep(0.4)  # Leaves time to kill a worker mid-run.
        batch = sample(batch_size, step, stream)
        record[step] = (stream, batch)
        return batch

    sampler.sample = sample_and_record
    return sampler

build_agent = trainer.Trainer.build_agent

def keep_agent(self, spec):
    agent_box.append(build_agent(self, spec))
    return agent_box[0]

feeds.make_sampler = recording_sampler
trainer.Trainer.build_agent = keep_agent
config = tiny_run(os.environ["DATA"], steps=%(steps)d, log_every=10, checkpoint_every=10, strategy="multi_worker",
                  steps_per_loop=4)
trainer.train(tiny_agent_config("gcbc"), config, os.environ["WORKDIR"])
weights = checkpoints.tracked_variables(tf.train.Checkpoint(agent=agent_box[0]))
arrays = {f"weight{i}": v.numpy() for i, v in enumerate(weights)}
for step, (stream, batch) in record.items():
    arrays[f"stream/{step}"] = np.array(stream)
    arrays.update({f"batch/{step}/{k}": v for k, v in batch.items()})
np.savez(os.environ["RECORD"], **arrays)
print("WORKER_DONE", flush=True)
""" % dict(steps=STEPS)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(root, data_dir, tag, slow_after=-1):
    """Two worker processes (index 0 is the chief) on fresh ports; returns [(process, workdir, record, log)]."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    workers = []
    for index in range(2):
        workdir, record = f"{root}/worker{index}", f"{root}/{tag}_record{index}.npz"
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = dict(os.environ, TF_CONFIG=tf_config, DATA=data_dir, WORKDIR=workdir, RECORD=record,
                   SLOW_AFTER=str(slow_after if index == 1 else -1), TF_CPP_MIN_LOG_LEVEL="2",
                   CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT, TMPDIR=f"{root}/tmp")
        log = open(f"{root}/{tag}_worker{index}.log", "w")
        process = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        workers.append((process, workdir, record, log))
    return workers


def finish(workers, timeout=240):
    for process, _, _, log in workers:
        try:
            process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
    for process, _, _, log in workers:
        assert process.returncode == 0, open(log.name).read()[-3000:]


def load(record):
    with np.load(record) as f:
        arrays = dict(f)
    weights = [arrays[f"weight{i}"] for i in range(sum(k.startswith("weight") for k in arrays))]
    steps = sorted(int(k.split("/")[1]) for k in arrays if k.startswith("stream/"))
    batches = {s: {k.split("/")[2]: v for k, v in arrays.items() if k.startswith(f"batch/{s}/")} for s in steps}
    streams = {s: int(arrays[f"stream/{s}"]) for s in steps}
    return weights, batches, streams


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory, tiny_data_dir):
    root = str(tmp_path_factory.mktemp("multi_worker"))
    os.makedirs(f"{root}/tmp")
    workers = start_workers(root, tiny_data_dir, "full")
    finish(workers)
    return root, [load(record) for _, _, record, _ in workers]


def test_two_workers_draw_different_batches_and_match_one_process_on_their_union(two_worker_run, tiny_data_dir):
    _, ((weights0, batches0, streams0), (weights1, batches1, streams1)) = two_worker_run
    assert set(range(STEPS)) <= set(batches0) and set(range(STEPS)) <= set(batches1)
    assert {streams0[s] for s in range(STEPS)} == {0} and {streams1[s] for s in range(STEPS)} == {1}
    for step in range(STEPS):
        assert batches0[step]["observations"].shape[0] == BATCH // 2
        assert not np.array_equal(batches0[step]["observations"], batches1[step]["observations"]), step
    assert len(weights0) == len(weights1) > 0
    for a, b in zip(weights0, weights1):
        np.testing.assert_array_equal(a, b)  # Identical all-reduced updates on both workers.

    # One process, default strategy, one update per step on the concatenated worker batches.
    agent_config = tiny_agent_config("gcbc")
    run = tiny_run(tiny_data_dir, steps=STEPS)
    train_data, _ = trainer.Trainer(agent_config, run, "/nonexistent").load_data()
    agent = agents.make_agent(agent_config, agents.EnvSpec.from_dataset(train_data), total_steps=STEPS, seed=run.seed)
    variables = checkpoints.tracked_variables(tf.train.Checkpoint(agent=agent))
    initial = [v.numpy() for v in variables]
    update = train_step.make_train_step(agent, tf.distribute.get_strategy(), BATCH, run.seed)
    for step in range(STEPS):
        batch = {k: np.concatenate([batches0[step][k], batches1[step][k]]) for k in batches0[step]}
        update(batch, tf.constant(step, tf.int64))
    reference = [v.numpy() for v in variables]
    assert len(reference) == len(weights0)
    for ref, got in zip(reference, weights0):
        np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)
    # Training moved the weights far beyond the tolerance, so equality is not trivial.
    assert max(np.abs(ref - start).max() for ref, start in zip(reference, initial)) > 100 * ATOL


def test_only_the_chief_writes_files(two_worker_run):
    root, _ = two_worker_run
    chief = f"{root}/worker0"
    assert os.path.exists(f"{chief}/config.json") and os.path.exists(f"{chief}/metrics.jsonl")
    assert tf.train.latest_checkpoint(f"{chief}/checkpoints").endswith(f"ckpt-{STEPS}")
    assert [r["step"] for r in metrics_log.read_metrics(chief)] == list(range(10, STEPS + 1, 10))
    assert os.listdir(f"{chief}/tensorboard")
    assert not os.path.exists(f"{root}/worker1")  # Not even an empty workdir.
    assert not glob.glob(f"{root}/tmp/tfnfrl-*")  # Worker 1's temporary checkpoints were deleted.


def test_killed_worker_resumes_from_the_chiefs_checkpoint(two_worker_run, tmp_path, tiny_data_dir):
    _, ((full_weights, _, _), _) = two_worker_run
    root = str(tmp_path)
    os.makedirs(f"{root}/tmp")
    workers = start_workers(root, tiny_data_dir, "killed", slow_after=25)
    chief, other = workers[0][0], workers[1][0]
    deadline = time.time() + 240
    while not os.path.exists(f"{root}/worker0/checkpoints/ckpt-20.index"):
        assert time.time() < deadline and chief.poll() is None, open(workers[0][3].name).read()[-3000:]
        time.sleep(0.1)
    os.kill(other.pid, signal.SIGKILL)
    try:
        chief.wait(timeout=2)  # Its next all-reduce fails or waits for the peer: stop it too.
    except subprocess.TimeoutExpired:
        chief.kill()
    for process, _, _, log in workers:
        process.wait()
        log.close()
    assert other.returncode == -signal.SIGKILL
    last = int(tf.train.latest_checkpoint(f"{root}/worker0/checkpoints").rsplit("-", 1)[1])
    assert 20 <= last < STEPS  # Killed mid-run.

    workers = start_workers(root, tiny_data_dir, "resumed")
    finish(workers)
    resumed = [load(record) for _, _, record, _ in workers]
    for weights, batches, _ in resumed:
        assert min(batches) == last  # Both workers restarted at the chief's last checkpoint.
        for a, b in zip(weights, full_weights):
            np.testing.assert_array_equal(a, b)  # The uninterrupted run's weights.
    steps = [r["step"] for r in metrics_log.read_metrics(f"{root}/worker0")]
    assert steps == list(range(10, STEPS + 1, 10))
    assert tf.train.latest_checkpoint(f"{root}/worker0/checkpoints").endswith(f"ckpt-{STEPS}")
    assert not os.path.exists(f"{root}/worker1")
