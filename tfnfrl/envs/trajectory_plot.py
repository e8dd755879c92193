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


def maze_layout(env):
    """What a maze plot needs from `env`, as plain picklable data; None for non-maze envs.

    Returns:
      dict with "maze_map" (int array [rows, cols], 1 = wall), "unit" (cell size, metres),
      "offset_x", "offset_y" (world position of cell (0, 0) is (-offset_x, -offset_y)).
    """
    unwrapped = env.unwrapped
    if not hasattr(unwrapped, "maze_map"):
        return None
    return dict(
        maze_map=np.asarray(unwrapped.maze_map).copy(),
        unit=float(unwrapped._maze_unit),  # pylint: disable=protected-access
        offset_x=float(unwrapped._offset_x),  # pylint: disable=protected-access
        offset_y=float(unwrapped._offset_y),  # pylint: disable=protected-access
    )


def _draw_maze(axis, layout):
    """Draws the maze walls (grey squares) in world coordinates."""
    unit, offset_x, offset_y = layout["unit"], layout["offset_x"], layout["offset_y"]
    maze_map = np.asarray(layout["maze_map"])
    for i in range(maze_map.shape[0]):
        for j in range(maze_map.shape[1]):
            if maze_map[i, j] == 1:
                x, y = j * unit - offset_x, i * unit - offset_y
                axis.add_patch(
                    Rectangle((x - unit / 2, y - unit / 2), unit, unit, color="0.75", lw=0)
                )
    axis.set_xlim(-offset_x - unit / 2, (maze_map.shape[1] - 0.5) * unit - offset_x)
    axis.set_ylim(-offset_y - unit / 2, (maze_map.shape[0] - 0.5) * unit - offset_y)


def plot_trajectories(path, maze, episodes, title):
    """Saves a PNG of the given episodes' paths.

    Args:
      path: output PNG path (directory must exist).
      maze: the maze's layout, as `maze_layout(env)` returns it (None: not a maze), or the
        env the episodes ran in (any instance works; the layout is read from it).
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
    layout = maze if maze is None or isinstance(maze, dict) else maze_layout(maze)
    is_maze = layout is not None
    figure = Figure(figsize=(6, 6) if is_maze else (11, 5))
    FigureCanvasAgg(figure)
    colors = [f"C{k % 10}" for k in range(len(episodes))]
    if is_maze:
        axis = figure.add_subplot(1, 1, 1)
        _draw_maze(axis, layout)
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
