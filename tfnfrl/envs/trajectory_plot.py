"""Trajectory plots of evaluation episodes (matplotlib PNG, headless: no pyplot, no display).

Mazes: the agent's xy path over the maze walls, with start and goal. Manipulation: a top-down
view of the effector's and the cubes' xy paths with the cubes' goal positions, plus their
heights over time.
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def tracked_positions(env, info):
    """Positions worth plotting at the current step.

    Args:
      env: an OGBench env (possibly wrapped).
      info: the info dict returned by the last `reset` or `step`.

    Returns:
      dict name -> float64 array [2] (maze xy, metres) or [3] (manipulation xyz, metres):
      "agent" for mazes; "effector" and "cube i" for manipulation envs.
    """
    unwrapped = env.unwrapped
    if hasattr(unwrapped, "maze_map") and hasattr(unwrapped, "get_xy"):
        return {"agent": np.asarray(unwrapped.get_xy(), dtype=np.float64)[:2].copy()}
    positions = {}
    if "proprio/effector_pos" in info:
        positions["effector"] = np.asarray(info["proprio/effector_pos"], dtype=np.float64).copy()
    i = 0
    while f"privileged/block_{i}_pos" in info:
        block = info[f"privileged/block_{i}_pos"]
        positions[f"cube {i}"] = np.asarray(block, dtype=np.float64).copy()
        i += 1
    return positions


def goal_positions(env):
    """Goal positions of the current episode, keyed like `tracked_positions` (may be empty)."""
    unwrapped = env.unwrapped
    if hasattr(unwrapped, "maze_map") and hasattr(unwrapped, "cur_goal_xy"):
        return {"agent": np.asarray(unwrapped.cur_goal_xy, dtype=np.float64)[:2].copy()}
    goals = {}
    mocap_ids = getattr(unwrapped, "_cube_target_mocap_ids", None)
    data = getattr(unwrapped, "_data", None)
    if mocap_ids is not None and data is not None:
        for i, mocap_id in enumerate(mocap_ids):
            goals[f"cube {i}"] = np.asarray(data.mocap_pos[mocap_id], dtype=np.float64).copy()
    return goals


def _draw_maze(axis, unwrapped):
    """Draws the maze walls (grey squares) in world coordinates."""
    unit = float(unwrapped._maze_unit)  # pylint: disable=protected-access
    offset_x = float(unwrapped._offset_x)  # pylint: disable=protected-access
    offset_y = float(unwrapped._offset_y)  # pylint: disable=protected-access
    maze_map = np.asarray(unwrapped.maze_map)
    for i in range(maze_map.shape[0]):
        for j in range(maze_map.shape[1]):
            if maze_map[i, j] == 1:
                x, y = j * unit - offset_x, i * unit - offset_y
                axis.add_patch(
                    Rectangle((x - unit / 2, y - unit / 2), unit, unit, color="0.75", lw=0)
                )
    axis.set_xlim(-offset_x - unit / 2, (maze_map.shape[1] - 0.5) * unit - offset_x)
    axis.set_ylim(-offset_y - unit / 2, (maze_map.shape[0] - 0.5) * unit - offset_y)


def plot_trajectories(path, env, episodes, title):
    """Saves a PNG of the given episodes' paths.

    Args:
      path: output PNG path (directory must exist).
      env: the env the episodes ran in (used for the maze layout; any instance works).
      episodes: list of dicts with keys
        "positions": dict name -> float array [T, 2 or 3] (T >= 1 steps, from reset on),
        "goals": dict name -> float array [2 or 3],
        "success": bool, "episode": int.
      title: figure title, e.g. "pointmaze-medium-navigate-v0 task1".

    Returns:
      `path`.
    """
    if not episodes:
        raise ValueError(f"No episodes to plot into {path!r}.")
    unwrapped = env.unwrapped
    is_maze = hasattr(unwrapped, "maze_map")
    figure = Figure(figsize=(6, 6) if is_maze else (11, 5))
    FigureCanvasAgg(figure)
    colors = [f"C{k % 10}" for k in range(len(episodes))]
    if is_maze:
        axis = figure.add_subplot(1, 1, 1)
        _draw_maze(axis, unwrapped)
        for color, episode in zip(colors, episodes):
            xy = np.asarray(episode["positions"]["agent"])
            label = f"ep {episode['episode']} ({'success' if episode['success'] else 'fail'})"
            axis.plot(xy[:, 0], xy[:, 1], color=color, lw=1.5, label=label)
            axis.plot(xy[0, 0], xy[0, 1], "o", color=color, ms=7)
            if "agent" in episode["goals"]:
                goal = episode["goals"]["agent"]
                axis.plot(goal[0], goal[1], "*", color=color, ms=16, mec="k")
        axis.set_aspect("equal")
        axis.set_xlabel("x")
        axis.set_ylabel("y")
        axis.legend(loc="upper right", fontsize=8, title="o start, * goal", title_fontsize=8)
    else:
        top, height = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        styles = {}
        for color, episode in zip(colors, episodes):
            for k, (name, positions) in enumerate(sorted(episode["positions"].items())):
                positions = np.asarray(positions)
                style = styles.setdefault(name, ["-", "--", ":", "-."][k % 4])
                label = f"ep {episode['episode']} {name}"
                top.plot(positions[:, 0], positions[:, 1], style, color=color, lw=1.2, label=label)
                top.plot(positions[0, 0], positions[0, 1], "o", color=color, ms=5)
                if positions.shape[1] > 2:
                    height.plot(positions[:, 2], style, color=color, lw=1.2, label=label)
            for name, goal in episode["goals"].items():
                top.plot(goal[0], goal[1], "x", color=color, ms=12, mew=2.5)
        top.set_aspect("equal", adjustable="datalim")
        top.set_xlabel("x (m)")
        top.set_ylabel("y (m)")
        top.set_title("top view (o start, x cube goal)", fontsize=9)
        top.legend(fontsize=7)
        height.set_xlabel("step")
        height.set_ylabel("z (m)")
        height.set_title("height", fontsize=9)
    successes = sum(bool(episode["success"]) for episode in episodes)
    figure.suptitle(f"{title}: {successes}/{len(episodes)} shown episodes succeeded", fontsize=10)
    figure.savefig(path, dpi=100)
    return path
