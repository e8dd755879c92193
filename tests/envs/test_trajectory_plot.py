"""Trajectory plots: PNGs for mazes and manipulation, headless."""

import types

import numpy as np
import ogbench
import pytest
from PIL import Image

from tfnfrl.envs import trajectory_plot


def _episode(positions, goals, success, episode):
    return dict(positions=positions, goals=goals, success=success, episode=episode)


def test_maze_plot(tmp_path):
    env = ogbench.make_env_and_datasets("pointmaze-medium-navigate-v0", env_only=True)
    _, info = env.reset(seed=0, options=dict(task_id=1))
    start = trajectory_plot.tracked_positions(env, info)
    goal = trajectory_plot.goal_positions(env)
    assert start["agent"].shape == (2,) and goal["agent"].shape == (2,)
    np.testing.assert_allclose(start["agent"], env.unwrapped.get_xy())
    path = np.linspace(start["agent"], goal["agent"], 20)
    out = trajectory_plot.plot_trajectories(
        str(tmp_path / "maze.png"), env,
        [_episode({"agent": path}, goal, True, 0), _episode({"agent": path[:5]}, goal, False, 1)],
        "maze task1")
    with Image.open(out) as image:
        assert image.size == (600, 600)
        assert np.asarray(image.convert("L")).std() > 10  # Walls and paths drawn.
        from_env = np.asarray(image)
    # The picklable layout (what EnvPool.spec carries) draws the same maze.
    layout = trajectory_plot.maze_layout(env)
    assert layout["maze_map"].shape == (8, 8) and layout["unit"] == 4.0
    out = trajectory_plot.plot_trajectories(
        str(tmp_path / "maze_layout.png"), layout,
        [_episode({"agent": path}, goal, True, 0), _episode({"agent": path[:5]}, goal, False, 1)],
        "maze task1")
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image), from_env)


def test_manipulation_positions_and_plot(tmp_path):
    info = {"proprio/effector_pos": np.array([0.4, 0.0, 0.3]),
            "privileged/block_0_pos": np.array([0.5, 0.1, 0.02]),
            "privileged/block_1_pos": np.array([0.3, -0.1, 0.02])}
    fake_env = types.SimpleNamespace(unwrapped=types.SimpleNamespace())
    positions = trajectory_plot.tracked_positions(fake_env, info)
    assert sorted(positions) == ["cube 0", "cube 1", "effector"]
    np.testing.assert_array_equal(positions["effector"], [0.4, 0.0, 0.3])
    np.testing.assert_array_equal(positions["cube 0"], [0.5, 0.1, 0.02])
    np.testing.assert_array_equal(positions["cube 1"], [0.3, -0.1, 0.02])
    trajectory_plot.tracked_positions(fake_env, info)["cube 0"][0] = 9.0
    assert info["privileged/block_0_pos"][0] == 0.5  # Copies: the env's info is left alone.
    trajectory = {name: np.stack([p, p + 0.01]) for name, p in positions.items()}
    out = trajectory_plot.plot_trajectories(
        str(tmp_path / "cube.png"), fake_env,
        [_episode(trajectory, {"cube 0": np.array([0.45, 0.0, 0.02])}, False, 0)], "cube")
    with Image.open(out) as image:
        assert image.size == (1100, 500)
        assert np.asarray(image.convert("L")).std() > 10  # Paths and markers drawn.


def test_plot_needs_episodes(tmp_path):
    with pytest.raises(ValueError, match=r"^No episodes to plot into '.*/x\.png'\.$"):
        trajectory_plot.plot_trajectories(str(tmp_path / "x.png"), None, [], "empty")
    assert not (tmp_path / "x.png").exists()
