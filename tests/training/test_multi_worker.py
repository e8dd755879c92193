"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 train like one process.

Each worker is a subprocess with its own TF_CONFIG (free ports picked here) and its own
workdir, running `trainer.train` on a tiny Gaussian GCBC config (no training noise) with
`--run.strategy=multi_worker`, 4 updates per compiled call, evaluations (1 episode) at step
30 and at the end. One run of 50 updates, killed
(`kill -9` of worker 1 once the chief has checkpointed step 20; the chief is then stopped
too) and started again, serves every test (two launches keep the module near a minute
and a half). The worker script records the batches its sampler drew (by step) and the
agent's final weights, so the tests check that

  - the workers drew different batches, each its own input stream, and ended with equal weights;
  - one process updating on the two streams' concatenated batches for steps 0-49 reaches the
    same weights (tolerance below: the all-reduce sums the gradients in another order), so the
    interrupted run resumed exactly;
  - both restarted workers began at the chief's last checkpoint and finished at step 50;
  - only the chief's workdir has config, checkpoints, metrics and evaluations, and no temporary
    checkpoint directory of the other worker survives.
"""

import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import tiny_agent_config, tiny_run
from tfnfrl import agents
from tfnfrl.training import checkpoints, feeds, metrics_log, strategies, train_step, trainer

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
                  steps_per_loop=4, eval_every=30, eval_episodes=1, eval_tasks=(1,), eval_workers=1)
trainer.train(tiny_agent_config("gcbc"), config, os.environ["WORKDIR"])
weights = checkpoints.tracked_variables(tf.train.Checkpoint(agent=agent_box[0]))
arrays = {f"weight{i}": v.numpy() for i, v in enumerate(weights)}
for step, (stream, batch) in record.items():
    arrays[f"stream/{step}"] = np.array(stream)
    arrays.update({f"batch/{step}/{k}": v for k, v in batch.items()})
np.savez(os.environ["RECORD"], **arrays)
print("WORKER_DONE", flush=True)
""" % dict(steps=STEPS)


def start_workers(root, data_dir, tag, slow_after=-1):
    """Two worker processes (index 0 is the chief) on fresh ports; returns [(process, workdir, record, log)]."""
    workers = []
    for index, tf_config in enumerate(strategies.loopback_tf_configs(2)):
        workdir, record = f"{root}/worker{index}", f"{root}/{tag}_record{index}.npz"
        env = dict(os.environ, TF_CONFIG=tf_config, DATA=data_dir, WORKDIR=workdir, RECORD=record,
                   SLOW_AFTER=str(slow_after if index == 1 else -1), TF_CPP_MIN_LOG_LEVEL="2",
                   CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT, TMPDIR=f"{root}/tmp_{tag}")
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
def killed_and_resumed(tmp_path_factory, tiny_data_dir):
    """(root, last checkpoint step when killed, [(weights, batches, streams)] of the restarted workers)."""
    root = str(tmp_path_factory.mktemp("multi_worker"))
    for tag in ("killed", "resumed"):
        os.makedirs(f"{root}/tmp_{tag}")
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

    workers = start_workers(root, tiny_data_dir, "resumed")
    finish(workers)
    return root, last, [load(record) for _, _, record, _ in workers]


def test_two_workers_draw_their_own_streams_and_match_one_process_on_their_union(killed_and_resumed, tiny_data_dir):
    _, last, ((weights0, batches0, streams0), (weights1, batches1, streams1)) = killed_and_resumed
    agent_config = tiny_agent_config("gcbc")
    run = tiny_run(tiny_data_dir, steps=STEPS)
    train_data, _ = trainer.Trainer(agent_config, run, "/nonexistent").load_data()
    sampler = feeds.make_sampler("gc_sampler", agent_config, train_data, run.seed)
    resumed_steps = range(last, STEPS)
    assert {streams0[s] for s in resumed_steps} == {0} and {streams1[s] for s in resumed_steps} == {1}
    for step in resumed_steps:
        assert batches0[step]["observations"].shape[0] == BATCH // 2
        assert not np.array_equal(batches0[step]["observations"], batches1[step]["observations"]), step
        for stream, batches in ((0, batches0), (1, batches1)):
            for key, value in sampler.sample(BATCH // 2, step, stream).items():
                np.testing.assert_array_equal(batches[step][key], value)
    assert len(weights0) == len(weights1) > 0
    for a, b in zip(weights0, weights1):
        np.testing.assert_array_equal(a, b)  # Identical all-reduced updates on both workers.

    # One process, default strategy, one update per step on the two streams' batches, steps 0-49.
    agent = agents.make_agent(agent_config, agents.EnvSpec.from_dataset(train_data), total_steps=STEPS, seed=run.seed)
    variables = checkpoints.tracked_variables(tf.train.Checkpoint(agent=agent))
    initial = [v.numpy() for v in variables]
    update = train_step.make_train_step(agent, tf.distribute.get_strategy(), BATCH, run.seed)
    for step in range(STEPS):
        halves = [sampler.sample(BATCH // 2, step, stream) for stream in (0, 1)]
        update({k: np.concatenate([h[k] for h in halves]) for k in halves[0]}, tf.constant(step, tf.int64))
    reference = [v.numpy() for v in variables]
    assert len(reference) == len(weights0)
    for ref, got in zip(reference, weights0):
        np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)
    # Training moved the weights far beyond the tolerance, so equality is not trivial.
    assert max(np.abs(ref - start).max() for ref, start in zip(reference, initial)) > 100 * ATOL


def test_killed_worker_resumes_from_the_chiefs_checkpoint(killed_and_resumed):
    root, last, resumed = killed_and_resumed
    assert 20 <= last < STEPS  # Killed mid-run.
    for _, batches, _ in resumed:
        assert min(batches) == last  # Both workers restarted at the chief's last checkpoint.
    assert tf.train.latest_checkpoint(f"{root}/worker0/checkpoints").endswith(f"ckpt-{STEPS}")
    rows = metrics_log.read_metrics(f"{root}/worker0")
    assert [r["step"] for r in rows if "training/actor/loss" in r] == list(range(10, STEPS + 1, 10))


def test_only_the_chief_writes_files(killed_and_resumed):
    root, _, _ = killed_and_resumed
    chief = f"{root}/worker0"
    assert os.path.exists(f"{chief}/config.json") and os.listdir(f"{chief}/tensorboard")
    # The chief evaluated at step 30 (while worker 1 waited) and at the end.
    evaluations = [r["step"] for r in metrics_log.read_metrics(chief) if "evaluation/success/mean" in r]
    assert evaluations == [30, STEPS] and os.path.exists(f"{chief}/eval_final.json")
    assert not os.path.exists(f"{root}/worker1")  # Not even an empty workdir.
    # Worker 1's temporary checkpoints were deleted (the killed run may have left one: it died mid-save).
    assert not glob.glob(f"{root}/tmp_resumed/tfnfrl-*")
