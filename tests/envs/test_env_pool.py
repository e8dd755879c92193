"""EnvPool: worker results equal in-process ones; auto-reset; dead, failing and hung workers."""

import os
import signal
import time
from multiprocessing import connection as mp_connection

import numpy as np
import pytest

from tests.envs import reference
from tfnfrl.envs import EnvPool, WorkerError, env_pool, worker_process

MAZE = "pointmaze-medium-navigate-v0"


def _rollout(pool, steps, seed=0):
    """Resets all envs, then steps random subsets in shuffled order; returns every result."""
    rng = np.random.default_rng(seed)
    n = pool.num_envs
    seen = [pool.reset(range(n), [100 + k for k in range(n)], dict(task_id=2),
                       info_keys=("goal", env_pool.POSITIONS))]
    for _ in range(steps):
        indices = rng.permutation(n)[: rng.integers(1, n + 1)]
        actions = rng.uniform(-1, 1, size=(len(indices), 2))
        seen.append((indices,) + pool.step(indices, actions, info_keys=("success",)))
    return seen


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def test_workers_equal_in_process_and_keep_order():
    kwargs = dict(env_kwargs=dict(max_episode_steps=40))
    with EnvPool(MAZE, 5, num_workers=0, **kwargs) as local, \
            EnvPool(MAZE, 5, num_workers=2, **kwargs) as pooled:
        assert pooled.slices == [(0, 3), (3, 5)] and len(set(pooled.worker_pids)) == 2
        assert local.worker_pids == [] and local.slices == [(0, 5)]
        spec = pooled.spec
        assert spec.observation_shape == (2,) and spec.goal_shape == (2,)
        assert spec.action_shape == (2,) and spec.max_episode_steps == 40
        assert spec.num_tasks == 5 and spec.fixed_task_id is None
        assert spec.maze_layout["maze_map"].shape == (8, 8)
        state = np.random.get_state()[1].copy()
        _assert_same(_rollout(local, 30), _rollout(pooled, 30))
        np.testing.assert_array_equal(np.random.get_state()[1], state)  # Global RNG untouched.
        # Results come back in the caller's order, whatever worker owns each index.
        obs, infos = pooled.reset([4, 0, 2], [1, 2, 3], dict(task_id=1), info_keys=("goal",))
        again, _ = pooled.reset([2], [3], dict(task_id=1))
        np.testing.assert_array_equal(obs[2], again[0])
        assert sorted(infos[0]) == ["goal"]
        step_info = pooled.step([1], np.zeros((1, 2)))[4][0]
        assert {"success", "xy"} <= set(step_info)  # info_keys=None: the whole info.
        assert pooled.call([0, 4], reference.loaded_modules, ("tensorflow",)) == [[], []]


def test_auto_reset_same_step():
    # Moving actions, so an episode's last observation differs from its first and from the next
    # episode's; `reference` runs the same episodes in-process without auto-reset.
    actions = np.array([[0.6, -0.4], [-0.8, 0.3], [0.2, 0.9]])
    kwargs = dict(env_kwargs=dict(max_episode_steps=4))
    with EnvPool(MAZE, 3, num_workers=2, **kwargs) as pool, \
            EnvPool(MAZE, 3, num_workers=0, **kwargs) as reference_pool:
        pool.reset(range(3), [0, 1, 2], dict(task_id=1))
        reference_pool.reset(range(3), [0, 1, 2], dict(task_id=1))
        for step in range(1, 9):
            obs, _, terminated, truncated, infos = pool.step(
                range(3), actions, info_keys=("goal", "success"),
                reset_seeds=[1000 * step + k for k in range(3)], reset_options=dict(task_id=3))
            last_obs, _, _, last_truncated, last_infos = reference_pool.step(
                range(3), actions, info_keys=("goal", "success"))
            if step % 4:
                assert not truncated.any() and "final_obs" not in infos[0]
                np.testing.assert_array_equal(obs, last_obs)
                continue
            assert truncated.all() and last_truncated.all()
            first, reset_infos = reference_pool.reset(range(3), [1000 * step + k for k in range(3)],
                                                      dict(task_id=3), info_keys=("goal",))
            np.testing.assert_array_equal(obs, first)  # The new episode's first observation.
            assert not np.allclose(obs, last_obs, atol=1e-3)  # So final_obs below is told from it.
            for k, (info, reset_info) in enumerate(zip(infos, reset_infos)):
                np.testing.assert_array_equal(info["goal"], reset_info["goal"])
                # The ended episode's last step, as a plain step without auto-reset returns it.
                np.testing.assert_array_equal(info["final_obs"], last_obs[k])
                _assert_same(info["final_info"], last_infos[k])


def _wait_until_zombie(pid, timeout=10.0):
    """Wait until process `pid` has died, without reaping it (its parent's exit status stays readable)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return
        time.sleep(0.01)
    raise TimeoutError(f"process {pid} still alive after {timeout} s")


@pytest.mark.parametrize("dead_before_the_command", [False, True])
def test_killed_worker_is_a_clear_error_not_a_hang(dead_before_the_command):
    pool = EnvPool(MAZE, 4, num_workers=2, env_kwargs=dict(max_episode_steps=20))
    pool.reset(range(4), range(4), dict(task_id=1))
    os.kill(pool.worker_pids[1], signal.SIGKILL)
    if dead_before_the_command:  # The command's send fails, rather than the wait for its answer.
        _wait_until_zombie(pool.worker_pids[1])
        # And until its socket end is closed (EOF readable here): only then does a send fail at once
        # rather than after the kernel finishes tearing the process down.
        conn = pool._workers[1].conn  # pylint: disable=protected-access
        assert mp_connection.wait([conn], 10.0) == [conn], "the killed worker's socket never reached EOF"
    start = time.perf_counter()
    with pytest.raises(WorkerError) as error:
        pool.step([0, 3], np.zeros((2, 2)))
    assert time.perf_counter() - start < 10
    message = str(error.value)
    assert MAZE in message and "env indices 2..3" in message and "[3]" in message
    assert "SIGKILL" in message
    if dead_before_the_command:
        assert "while receiving the command for running step on env indices [3]" in message
    assert pool.closed
    with pytest.raises(RuntimeError, match="closed after a worker failed"):
        pool.step([0], np.zeros((1, 2)))


def test_env_exception_is_reported_and_pool_stays_usable():
    with EnvPool(MAZE, 2, num_workers=2) as pool:
        with pytest.raises(WorkerError, match=r"ValueError: broken env") as error:
            pool.call([0, 1], reference.raise_in_env, "broken env")
        assert "worker traceback" in str(error.value)
        assert not pool.closed
        obs, _ = pool.reset([1, 0], [7, 8], dict(task_id=1))
        with EnvPool(MAZE, 2, num_workers=0) as local:  # The same resets in-process.
            expected, _ = local.reset([1, 0], [7, 8], dict(task_id=1))
        assert obs.shape == (2, 2) and not np.array_equal(obs[0], obs[1])
        np.testing.assert_array_equal(obs, expected)


def test_hung_worker_times_out():
    pool = EnvPool(MAZE, 1, num_workers=1, timeout=1.0)
    start = time.perf_counter()
    with pytest.raises(WorkerError, match="did not answer within 1.0 s"):
        pool.call([0], reference.sleep_in_env, 60)
    assert time.perf_counter() - start < 10
    assert pool.closed


def test_interrupted_call_closes_the_pool(monkeypatch):
    pool = EnvPool(MAZE, 2, num_workers=2)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(worker_process.Worker, "receive", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pool.reset([0, 1], [0, 1])
    monkeypatch.undo()
    assert pool.closed  # Answers may be pending: the pool must not be reused out of step.
    with pytest.raises(RuntimeError, match="closed by an interrupted reset"):
        pool.reset([0], [0])


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^Unknown environment/dataset name 'pointmaze-tiny-navigate-v0'\. "
                                         r"Supported goal-conditioned names: pointmaze-medium-navigate-v0, "):
        EnvPool("pointmaze-tiny-navigate-v0", 1)
    with pytest.raises(ValueError, match=r"^num_envs must be an integer >= 1\. Received: num_envs=0$"):
        EnvPool(MAZE, 0)
    with EnvPool(MAZE, 2, num_workers=0) as pool:
        with pytest.raises(ValueError, match=r"^Env indices \[2\] out of range \[0, 2\)\.$"):
            pool.reset([2], [0])
        with pytest.raises(ValueError, match=r"^Env indices repeat: \[1, 1\]\.$"):
            pool.reset([1, 1], [0, 0])
        with pytest.raises(ValueError,
                           match=r"^actions have shape \[2, 3\]; expected \[2, 2\] = \[len\(indices\), action_dim\]"):
            pool.step([0, 1], np.zeros((2, 3)))
        with pytest.raises(ValueError, match=r"^seeds has 1 entries for 2 indices\.$"):
            pool.reset([0, 1], [0])
    with pytest.raises(RuntimeError, match=rf"^This EnvPool of {MAZE} is closed\.$"):
        pool.reset([0], [0])


def test_worker_count_defaults_to_cores_at_most_envs(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert [env_pool.default_num_workers(n) for n in (1, 3, 4, 5, 1000)] == [1, 3, 4, 4, 4]
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # Unknown core count: one worker.
    assert [env_pool.default_num_workers(n) for n in (1, 1000)] == [1, 1]
