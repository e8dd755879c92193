"""Lockstep OGBench evaluation: agreement with OGBench's own loop and across worker counts,
shapes, seeds, bad input, dead workers."""

import os
import re
import signal
import time

import numpy as np
import ogbench
import pytest

from tests.envs.reference import MazeOraclePolicy, plain_ogbench_episode, toward_goal_policy
from tfnfrl.envs import (Evaluator, NonFiniteActionError, WorkerError, episode_seed, evaluate,
                         scalar_metrics)
from tfnfrl.envs import seeding

MAZE = "pointmaze-medium-navigate-v0"
# With the oracle policy and 150 steps, medium-maze tasks 3 and 5 succeed, 1 and 2 fail, and
# task 4 mixes success and failure between episodes: both outcomes are exercised.
MAZE_STEPS = 150


@pytest.fixture(scope="module")
def maze_policy():
    return MazeOraclePolicy(MAZE)


@pytest.fixture(scope="module")
def maze_result(maze_policy):
    return evaluate(maze_policy, MAZE, episodes_per_task=3, seed=7, progress=False,
                    env_kwargs=dict(max_episode_steps=MAZE_STEPS))


def test_success_matches_plain_ogbench_loop(maze_policy, maze_result):
    env = ogbench.make_env_and_datasets(MAZE, env_only=True, max_episode_steps=MAZE_STEPS)
    for task_id in range(1, 6):
        expected = [plain_ogbench_episode(env, maze_policy, episode_seed(7, task_id, k), task_id)
                    for k in range(3)]
        assert maze_result["episode_success"][f"task{task_id}"] == [e[0] for e in expected]
        assert maze_result["episode_lengths"][f"task{task_id}"] == [e[1] for e in expected]
        expected_success = np.mean([e[0] for e in expected])
        assert maze_result[f"success/task{task_id}"] == pytest.approx(expected_success)
    all_success = sum(maze_result["episode_success"].values(), [])
    assert 0 < sum(all_success) < len(all_success), "the test must see successes and failures"
    assert maze_result["success/mean"] == pytest.approx(
        np.mean([maze_result[f"success/task{t}"] for t in range(1, 6)]))


def test_result_layout(maze_result):
    assert maze_result["episodes_per_task"] == 3
    assert maze_result["task_ids"] == [1, 2, 3, 4, 5]
    assert maze_result["task_names"]["task1"] == "task1"
    scalars = scalar_metrics(maze_result)
    assert set(scalars) == ({f"success/task{t}" for t in range(1, 6)}
                            | {f"length/task{t}" for t in range(1, 6)}
                            | {"success/mean", "episodes_per_task", "time/seconds"})
    # Episodes end at the goal (terminated) or at the env's step limit (truncated).
    for task_id in range(1, 6):
        for success, length in zip(maze_result["episode_success"][f"task{task_id}"],
                                   maze_result["episode_lengths"][f"task{task_id}"]):
            assert length == MAZE_STEPS or (success == 1.0 and length < MAZE_STEPS)


def test_teleport_maze_lockstep_matches_sequential():
    # The teleport maze draws exits from NumPy's global generator during steps: lockstep
    # stepping must keep one generator state per env to match one-at-a-time episodes.
    name = "pointmaze-teleport-navigate-v0"
    policy = MazeOraclePolicy(name)
    result = evaluate(policy, name, task_ids=(3, 5), episodes_per_task=3, seed=0, progress=False,
                      env_kwargs=dict(max_episode_steps=300))
    env = ogbench.make_env_and_datasets(name, env_only=True, max_episode_steps=300)
    for task_id in (3, 5):
        expected = [plain_ogbench_episode(env, policy, episode_seed(0, task_id, k), task_id)
                    for k in range(3)]
        assert result["episode_success"][f"task{task_id}"] == [e[0] for e in expected]
        assert result["episode_lengths"][f"task{task_id}"] == [e[1] for e in expected]


def test_batch_shapes_constant_and_finished_rows_padded(maze_policy):
    calls = []

    def recording_policy(observations, goals):
        calls.append((observations, goals))
        return maze_policy(observations, goals)

    result = evaluate(recording_policy, MAZE, task_ids=(3,), episodes_per_task=3, seed=7,
                      progress=False, env_kwargs=dict(max_episode_steps=MAZE_STEPS))
    lengths = result["episode_lengths"]["task3"]
    assert len(set(lengths)) > 1, "needs episodes of different lengths"
    assert len(calls) == max(lengths)  # One policy call per lockstep step, for all episodes.
    for observations, goals in calls:
        assert observations.shape == (3, 2) and observations.dtype == np.float32
        assert goals.shape == (3, 2) and goals.dtype == np.float32
        np.testing.assert_array_equal(goals, calls[0][1])
    for k, length in enumerate(lengths):
        # After its last step, episode k's row repeats its final observation.
        for observations, _ in calls[length:]:
            np.testing.assert_array_equal(observations[k], calls[length][0][k])
        if length < max(lengths):
            assert not np.array_equal(calls[length - 1][0][k], calls[length][0][k])


def test_compiled_policy_is_traced_once():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    @tf.function
    def policy(observations, goals):
        return tf.clip_by_value(goals - observations, -1.0, 1.0)

    evaluate(policy, MAZE, task_ids=(1, 3), episodes_per_task=4, progress=False,
             env_kwargs=dict(max_episode_steps=30))
    assert policy.experimental_get_tracing_count() == 1


def test_reproducible_and_independent_of_batch_size(maze_policy, maze_result):
    np.random.seed(123)
    state_before = np.random.get_state()[1].copy()
    again = evaluate(maze_policy, MAZE, episodes_per_task=3, seed=7, progress=False,
                     env_kwargs=dict(max_episode_steps=MAZE_STEPS))
    np.testing.assert_array_equal(np.random.get_state()[1], state_before)  # Global RNG untouched.
    for key in ("episode_success", "episode_lengths", "episode_seeds"):
        assert again[key] == maze_result[key]
    # Episode k does not depend on how many episodes run.
    fewer = evaluate(maze_policy, MAZE, task_ids=(4, 5), episodes_per_task=2, seed=7,
                     progress=False, num_workers=0, env_kwargs=dict(max_episode_steps=MAZE_STEPS))
    for task in ("task4", "task5"):
        assert fewer["episode_lengths"][task] == maze_result["episode_lengths"][task][:2]
    other_seed = evaluate(maze_policy, MAZE, task_ids=(4, 5), episodes_per_task=3, seed=8,
                          progress=False, num_workers=0,
                          env_kwargs=dict(max_episode_steps=MAZE_STEPS))
    assert other_seed["episode_lengths"] != {t: maze_result["episode_lengths"][t]
                                             for t in ("task4", "task5")}


def test_cube_lockstep_matches_sequential_and_is_reproducible(tmp_path):
    # Cube resets take random settling steps from the action space before recording the
    # goal; only a seeded (frozen) action space makes the goals, hence the runs, repeatable.
    name = "cube-single-play-v0"
    runs = []

    def recording_policy(observations, goals):
        runs[-1].append((observations, goals))
        return toward_goal_policy(observations, goals)

    evaluator = Evaluator(name, episodes_per_task=2, env_kwargs=dict(max_episode_steps=25))
    runs.append([])
    first = evaluator(recording_policy, task_ids=(2,), seed=3, progress=False,
                      plot_dir=str(tmp_path), plot_episodes=2)
    runs.append([])  # Same evaluator again: env reuse must not change anything.
    second = evaluator(recording_policy, task_ids=(2,), seed=3, progress=False)
    evaluator.close()
    for (obs_1, goals_1), (obs_2, goals_2) in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(obs_1, obs_2)
        np.testing.assert_array_equal(goals_1, goals_2)
    assert first["episode_success"] == second["episode_success"]

    # A sequential loop over one deterministic env sees the same observations step by step.
    env = seeding.make_deterministic(
        ogbench.make_env_and_datasets(name, env_only=True, max_episode_steps=25))
    for k in range(2):
        success, length, seen = plain_ogbench_episode(env, toward_goal_policy,
                                                      episode_seed(3, 2, k), 2)
        assert first["episode_success"]["task2"][k] == success
        assert first["episode_lengths"]["task2"][k] == length == 25
        np.testing.assert_allclose(np.stack([obs[k] for obs, _ in runs[0]]), seen, atol=1e-6)
    assert first["task_names"]["task2"] == "task2_vertical1"
    assert first["plots"] == [str(tmp_path / "task2_trajectories.png")]
    with open(first["plots"][0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_singletask_env_evaluates_its_own_task(maze_policy):
    name = "pointmaze-medium-navigate-singletask-task3-v0"
    result = evaluate(maze_policy, name, episodes_per_task=2, progress=False,
                      env_kwargs=dict(max_episode_steps=MAZE_STEPS))
    assert result["task_ids"] == [3]
    assert result["success/task3"] == 1.0 and result["success/mean"] == 1.0
    with pytest.raises(ValueError, match="singletask env fixed to task 3"):
        evaluate(maze_policy, name, task_ids=(1, 2), episodes_per_task=1, progress=False)


def test_bad_env_name_lists_valid_names():
    with pytest.raises(ValueError, match="pointmaze-medium-navigate-v0") as info:
        evaluate(toward_goal_policy, "pointmaze-tiny-navigate-v0", episodes_per_task=1)
    assert "pointmaze-tiny-navigate-v0" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(task_ids=(0,)), rf"^Unknown task id 0 for {MAZE}; expected one of \[1, 2, 3, 4, 5\]\.$"),
        (dict(task_ids=(6,)), rf"^Unknown task id 6 for {MAZE}; "),
        (dict(task_ids=()), r"^task_ids is empty; expected at least one task id\.$"),
        (dict(task_ids=(1, 1)), r"^task_ids has duplicates: \[1, 1\]$"),
        (dict(seed=-1), r"^seed must be an integer >= 0\. Received: seed=-1$"),
        (dict(seed=1.5), r"^seed must be an integer >= 0\. Received: seed=1\.5$"),
        (dict(task_ids=("1",)), rf"^Unknown task id '1' for {MAZE}; "),
        (dict(video_frame_skip=0), r"^video_frame_skip must be an integer >= 1\. Received: video_frame_skip=0$"),
    ],
)
def test_bad_arguments_raise(maze_policy, kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate(maze_policy, MAZE, episodes_per_task=1, progress=False, num_workers=0,
                 env_kwargs=dict(max_episode_steps=5), **kwargs)


def test_bad_episodes_per_task():
    for bad in (0, 2.0, "3"):
        with pytest.raises(ValueError, match=re.escape(f"episodes_per_task must be an integer >= 1. "
                                                       f"Received: episodes_per_task={bad!r}")):
            evaluate(toward_goal_policy, MAZE, episodes_per_task=bad)


@pytest.mark.parametrize("shape", [(3,), (3, 3), (2, 2), (3, 2, 1)])
def test_wrong_action_shape_names_expected_shape(shape):
    def policy(observations, goals):
        return np.zeros(shape, dtype=np.float32)

    with pytest.raises(ValueError, match=r"expected \[3, 2\] = \[episodes_per_task, action_dim\]"):
        evaluate(policy, MAZE, task_ids=(1,), episodes_per_task=3, progress=False, num_workers=0,
                 env_kwargs=dict(max_episode_steps=5))


def test_non_finite_actions_name_task_and_step():
    calls = []

    def policy(observations, goals):
        calls.append(None)
        actions = np.zeros((3, 2), dtype=np.float32)
        if len(calls) == 5:  # Lockstep step 4 of the first task evaluated.
            actions[1, 0] = np.nan
        return actions

    with pytest.raises(NonFiniteActionError, match=r"task 2, step 4, for episodes \[1\]"):
        evaluate(policy, MAZE, task_ids=(2, 3), episodes_per_task=3, progress=False,
                 env_kwargs=dict(max_episode_steps=10))


def test_unbounded_episode_length_is_refused(monkeypatch):
    # An env without a step limit could loop forever; the evaluator refuses it up front.
    from tfnfrl.envs import registry  # pylint: disable=import-outside-toplevel

    make_env = registry.make_env

    def make_unlimited(name, **kwargs):
        env = make_env(name, **kwargs)
        env.spec.max_episode_steps = None
        return env

    monkeypatch.setattr(registry, "make_env", make_unlimited)
    with pytest.raises(ValueError, match=rf"^{MAZE} has no step limit \(env\.spec\.max_episode_steps=None\)"):
        Evaluator(MAZE, episodes_per_task=1, num_workers=0)  # In-process: the patch applies.


def test_progress_bar_runs(maze_policy, capsys):
    evaluate(maze_policy, MAZE, task_ids=(3,), episodes_per_task=1, progress=True,
             env_kwargs=dict(max_episode_steps=20))
    assert f"eval {MAZE}" in capsys.readouterr().err


def test_closed_evaluator_and_bad_video_format_fail_early(maze_policy, tmp_path):
    evaluator = Evaluator(MAZE, episodes_per_task=1, env_kwargs=dict(max_episode_steps=5))
    with pytest.raises(ValueError, match=r"^video_format must be 'auto', 'mp4' or 'gif'\. Received: 'avi'$"):
        evaluator(maze_policy, task_ids=(1,), video_dir=str(tmp_path), video_format="avi",
                  progress=False)
    assert not list(tmp_path.iterdir())
    evaluator.close()
    with pytest.raises(RuntimeError, match=rf"^This Evaluator for {MAZE} is closed\.$"):
        evaluator(maze_policy, task_ids=(1,), progress=False)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_worker_count_does_not_change_results(maze_policy, maze_result, num_workers, tmp_path):
    # maze_result ran with the default workers (min(cores, 3)); 0 = the old in-process loop.
    other = evaluate(maze_policy, MAZE, episodes_per_task=3, seed=7, progress=False,
                     num_workers=num_workers, env_kwargs=dict(max_episode_steps=MAZE_STEPS),
                     plot_dir=str(tmp_path), plot_episodes=2)
    for key in ("episode_success", "episode_lengths", "episode_seeds", "task_names"):
        assert other[key] == maze_result[key]
    # Maze plots need the layout, which the pool's spec carries out of the workers.
    assert other["plots"] == [str(tmp_path / f"task{t}_trajectories.png") for t in range(1, 6)]


def test_cube_workers_equal_in_process():
    name = "cube-single-play-v0"
    seen = {}
    results = {}
    for num_workers in (0, 2):
        calls = seen[num_workers] = []

        def recording_policy(observations, goals, calls=calls):
            calls.append((observations, goals))
            return toward_goal_policy(observations, goals)

        with Evaluator(name, episodes_per_task=2, num_workers=num_workers,
                       env_kwargs=dict(max_episode_steps=15)) as evaluator:
            assert evaluator.num_workers == num_workers
            results[num_workers] = evaluator(recording_policy, task_ids=(4,), seed=5,
                                             progress=False)
    for key in ("episode_success", "episode_lengths", "episode_seeds", "task_names"):
        assert results[0][key] == results[2][key]
    assert len(seen[0]) == len(seen[2]) == 15
    for (obs_0, goals_0), (obs_2, goals_2) in zip(seen[0], seen[2]):
        np.testing.assert_array_equal(obs_0, obs_2)
        np.testing.assert_array_equal(goals_0, goals_2)


def test_killed_worker_names_env_task_and_episode(maze_policy):
    evaluator = Evaluator(MAZE, episodes_per_task=4, num_workers=2,
                          env_kwargs=dict(max_episode_steps=MAZE_STEPS))
    calls = []

    def killing_policy(observations, goals):
        calls.append(None)
        if len(calls) == 3:
            os.kill(evaluator.pool.worker_pids[1], signal.SIGKILL)
        return maze_policy(observations, goals)

    start = time.perf_counter()
    with pytest.raises(WorkerError) as error:
        evaluator(killing_policy, task_ids=(2,), progress=False)
    assert time.perf_counter() - start < 20
    message = str(error.value)
    for part in (MAZE, "task 2", "lockstep step 2", "episode k runs in env index k",
                 "env indices 2..3", "SIGKILL"):
        assert part in message
    with pytest.raises(RuntimeError, match=rf"^This Evaluator for {MAZE} is closed\.$"):
        evaluator(maze_policy, task_ids=(1,), progress=False)


def test_non_finite_actions_can_fail_their_episode_instead():
    # nonfinite_actions="fail": the episode ends there, unsuccessful and unstepped; the others go on.
    calls = []

    def policy(observations, goals):
        calls.append(None)
        actions = np.zeros((3, 2), dtype=np.float32)
        if len(calls) == 5:  # Lockstep step 4 of task 2 (the first task evaluated).
            actions[1] = np.inf
        return actions

    result = evaluate(policy, MAZE, task_ids=(2, 3), episodes_per_task=3, progress=False,
                      env_kwargs=dict(max_episode_steps=10), nonfinite_actions="fail")
    assert result["episode_lengths"] == {"task2": [10, 4, 10], "task3": [10, 10, 10]}
    assert result["episode_success"]["task2"][1] == 0.0
    assert (result["nonfinite_episodes/task2"], result["nonfinite_episodes/task3"],
            result["nonfinite_episodes/total"]) == (1, 0, 1)
    # The default keeps the result's keys as they were.
    plain = evaluate(lambda o, g: np.zeros((3, 2), np.float32), MAZE, task_ids=(2,), episodes_per_task=3,
                     progress=False, env_kwargs=dict(max_episode_steps=3))
    assert not any(k.startswith("nonfinite") for k in plain)


def test_a_task_whose_every_episode_fails_at_once_ends_with_no_env_step():
    result = evaluate(lambda o, g: np.full((2, 2), np.nan, np.float32), MAZE, task_ids=(1,), episodes_per_task=2,
                      progress=False, env_kwargs=dict(max_episode_steps=10), nonfinite_actions="fail")
    assert result["episode_lengths"] == {"task1": [0, 0]} and result["success/task1"] == 0.0
    assert result["nonfinite_episodes/total"] == 2


def test_unknown_nonfinite_mode_is_refused_before_any_episode():
    calls = []
    with pytest.raises(ValueError, match=r"Unknown nonfinite_actions 'skip'; expected one of \('raise', 'fail'\)"):
        evaluate(lambda o, g: calls.append(None), MAZE, task_ids=(1,), episodes_per_task=1, progress=False,
                 env_kwargs=dict(max_episode_steps=3), nonfinite_actions="skip")
    assert not calls
