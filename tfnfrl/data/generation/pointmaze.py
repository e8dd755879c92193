"""Point-maze collector: OGBench's navigate/stitch protocol with the BFS oracle.

Each step the agent heads for the maze's oracle subgoal (the next cell on a shortest BFS
path to the goal, `env.unwrapped.get_oracle_subgoal`): action = unit direction to the
subgoal + N(0, noise^2), clipped to [-1, 1]. The point body's action *is* its velocity
command, so no learned walker is needed.

- navigate: start in any free cell, goal in a free cell that is not a straight corridor
  cell; whenever the goal is reached a new goal is drawn, so one episode visits many goals.
- stitch: the goal is a cell exactly 4 BFS steps from the start (short, local episodes).
"""

import collections

import gymnasium
import numpy as np

from tfnfrl.data import checks
from tfnfrl.data.generation import seeding

_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1))


def free_and_vertex_cells(maze_map):
    """Free cells, and free cells that are not straight corridor cells (goal candidates).

    A straight corridor cell has free cells on two opposite sides and walls on the other two.
    Returns two lists of (i, j) tuples in row-major order.
    """
    free, vertex = [], []
    for i in range(maze_map.shape[0]):
        for j in range(maze_map.shape[1]):
            if maze_map[i, j] != 0:
                continue
            free.append((i, j))
            vertical = maze_map[i - 1, j] == 0 and maze_map[i + 1, j] == 0
            horizontal = maze_map[i, j - 1] == 0 and maze_map[i, j + 1] == 0
            walls_lr = maze_map[i, j - 1] == 1 and maze_map[i, j + 1] == 1
            walls_ud = maze_map[i - 1, j] == 1 and maze_map[i + 1, j] == 1
            if (vertical and walls_lr) or (horizontal and walls_ud):
                continue
            vertex.append((i, j))
    return free, vertex


def cells_at_bfs_distance(maze_map, start_ij, distance):
    """Free cells exactly `distance` BFS steps (4-connected moves) from `start_ij`."""
    dist = {tuple(start_ij): 0}
    queue = collections.deque([tuple(start_ij)])
    found = []
    while queue:
        i, j = queue.popleft()
        for di, dj in _NEIGHBOURS:
            ni, nj = i + di, j + dj
            inside = 0 <= ni < maze_map.shape[0] and 0 <= nj < maze_map.shape[1]
            if inside and maze_map[ni, nj] == 0 and (ni, nj) not in dist:
                dist[(ni, nj)] = dist[(i, j)] + 1
                queue.append((ni, nj))
                if dist[(ni, nj)] == distance:
                    found.append((ni, nj))
    return found


class PointMazeCollector:
    """Collects point-maze episodes of one DatasetSpec (one env per process)."""

    def __init__(self, spec, episode_length):
        """Makes the env. `episode_length` is the step limit (protocol value or an override)."""
        import ogbench.locomaze  # noqa: F401  (registers the maze envs with gymnasium)

        self._spec = spec
        self._episode_length = episode_length
        # terminate_at_goal=False: reaching a goal must not end the episode (navigate draws
        # a new goal instead); the time limit alone ends it.
        self._env = gymnasium.make(
            spec.env_id, terminate_at_goal=False, max_episode_steps=episode_length
        )
        self._maze = self._env.unwrapped
        self._free, self._vertex = free_and_vertex_cells(self._maze.maze_map)
        self.has_button_states = False

    def _task(self, rng):
        init_ij = self._free[rng.integers(len(self._free))]
        if self._spec.dataset_type == "navigate":
            goal_ij = self._vertex[rng.integers(len(self._vertex))]
        else:
            candidates = cells_at_bfs_distance(self._maze.maze_map, init_ij, 4)
            goal_ij = candidates[rng.integers(len(candidates))] if candidates else init_ij
        return init_ij, goal_ij

    def collect(self, seed, episode_index):
        """Runs one episode; returns its arrays (see generation.runner for the keys)."""
        seeds = seeding.episode_seeds(seed, episode_index)
        seeding.seed_legacy_global(seeds)
        self._maze.action_space.seed(seeds.space_seed)
        rng = seeds.rng

        init_ij, goal_ij = self._task(rng)
        ob, _ = self._env.reset(
            seed=seeds.env_seed, options=dict(task_info=dict(init_ij=init_ij, goal_ij=goal_ij))
        )
        episode = collections.defaultdict(list)
        done = False
        while not done:
            xy = self._maze.get_xy()
            subgoal_xy, _ = self._maze.get_oracle_subgoal(xy, self._maze.cur_goal_xy)
            direction = subgoal_xy - xy
            direction = direction / (np.linalg.norm(direction) + 1e-6)
            action = direction + rng.normal(0.0, self._spec.action_noise, size=direction.shape)
            action = np.clip(action, -1.0, 1.0)

            next_ob, _, terminated, truncated, info = self._env.step(action)
            done = terminated or truncated
            if info["success"] and self._spec.dataset_type == "navigate":
                new_goal = self._vertex[rng.integers(len(self._vertex))]
                self._maze.set_goal(new_goal)  # Adds OGBench's goal noise (np.random).

            episode["observations"].append(ob)
            episode["actions"].append(action)
            episode["terminals"].append(done)
            episode["qpos"].append(info["prev_qpos"])
            episode["qvel"].append(info["prev_qvel"])
            ob = next_ob
        return episode

    def env_dims(self):
        """The env's dims (see tfnfrl.data.checks.env_dims): what the files must match."""
        return checks.dims_of_env(self._env)

    def close(self):
        self._env.close()
