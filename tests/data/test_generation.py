"""Dataset generation: OGBench's file format, protocol facts, determinism across workers."""

import dataclasses
import os
import signal

import numpy as np
import pytest

from tests.data.conftest import TINY
from tfnfrl.data import protocol
from tfnfrl.data.generation import generate_dataset, pointmaze, runner, seeding
from tfnfrl.data.generation.manipspace import scene_episode_is_healthy
from tfnfrl.envs import WorkerError


def _load(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def test_pointmaze_files_have_ogbench_arrays_and_episode_structure(tiny_dir):
    episodes, length = TINY["pointmaze-medium-navigate-v0"]
    train = _load(tiny_dir / "pointmaze-medium-navigate-v0.npz")
    val = _load(tiny_dir / "pointmaze-medium-navigate-v0-val.npz")
    assert set(train) == {"observations", "actions", "terminals", "qpos", "qvel"}
    assert train["observations"].dtype == np.float32 and train["terminals"].dtype == bool
    assert train["observations"].shape == (episodes * length, 2)
    assert val["observations"].shape == (length, 2)  # max(1, 4 // 10) validation episode.
    # Terminal exactly at each episode's last step.
    ends = np.arange(1, episodes + 1) * length - 1
    assert np.array_equal(np.flatnonzero(train["terminals"]), ends)
    # qpos is the state before the step: for the point it equals the observation, and the
    # next observation is the position after the (scaled, clipped) action.
    np.testing.assert_array_equal(train["observations"], train["qpos"])
    assert np.abs(train["actions"]).max() <= 1.0
    # Oracle actions: unit direction + N(0, 0.5) noise, so neither constant nor saturated.
    assert 0.2 < np.abs(train["actions"]).mean() < 0.95


def test_manipulation_files_store_state_and_button_states(tiny_dir):
    cube = _load(tiny_dir / "cube-single-play-v0.npz")
    assert cube["observations"].shape[1] == 28 and cube["actions"].shape[1] == 5
    assert cube["qpos"].shape[1] == 21 and cube["qvel"].shape[1] == 20
    assert "button_states" not in cube
    # The plan oracle moves the arm: effector position (obs dims 12:15) changes.
    assert np.ptp(cube["observations"][:, 12:15], axis=0).max() > 0.1
    puzzle = _load(tiny_dir / "puzzle-3x3-noisy-v0.npz")
    assert puzzle["button_states"].dtype == np.int64
    assert puzzle["button_states"].shape == (2 * 40, 9)
    assert set(np.unique(puzzle["button_states"])) <= {0, 1}


@pytest.mark.parametrize("name", ["pointmaze-large-stitch-v0", "cube-double-noisy-v0"])
def test_output_depends_on_seed_not_on_worker_count(tmp_path, name):
    def run(workers, seed, sub):
        result = generate_dataset(name, str(tmp_path / sub), num_episodes=3,
                                  num_workers=workers, seed=seed, episode_length=30,
                                  progress=False)
        return _load(result.train_path), _load(result.val_path)

    one = run(1, 7, "a")
    two = run(2, 7, "b")
    for split_one, split_two in zip(one, two):
        for key in split_one:
            np.testing.assert_array_equal(split_one[key], split_two[key], err_msg=key)
    other = run(1, 8, "c")
    assert not np.array_equal(one[0]["actions"], other[0]["actions"])


def test_episode_seeds_are_a_function_of_seed_and_index():
    def key(seeds):
        return (seeds.env_seed, seeds.legacy_seed, seeds.space_seed, tuple(seeds.rng.integers(1 << 30, size=4)))

    a = key(seeding.episode_seeds(3, 10))
    assert a == key(seeding.episode_seeds(3, 10))  # Fresh objects, same streams.
    assert len(set(a[:3])) == 3  # The env, legacy and action-space seeds differ from each other.
    # Both arguments matter, and (seed, index) is not confused with (index, seed) or a neighbour.
    others = [key(seeding.episode_seeds(s, i)) for s, i in ((3, 11), (4, 10), (10, 3), (2, 10), (3, 9))]
    for other in others:
        assert all(x != y for x, y in zip(a, other)), other
    with pytest.raises(ValueError, match=r"received seed=-1, episode_index=0\."):
        seeding.episode_seeds(-1, 0)
    with pytest.raises(ValueError, match=r"received seed=0, episode_index=-2\."):
        seeding.episode_seeds(0, -2)


def test_maze_cells_follow_the_protocol():
    # A plus-shaped maze: the centre is a junction, arms are straight corridors.
    maze = np.ones((7, 7), dtype=int)
    maze[1:6, 3] = 0
    maze[3, 1:6] = 0
    free, vertex = pointmaze.free_and_vertex_cells(maze)
    assert len(free) == 9
    # Corridor cells (open on two opposite sides, walls on the others) are not goals; the
    # junction and the four dead ends are.
    assert set(vertex) == {(3, 3), (1, 3), (5, 3), (3, 1), (3, 5)}
    assert set(pointmaze.cells_at_bfs_distance(maze, (1, 3), 4)) == {(5, 3), (3, 1), (3, 5)}


def test_scene_health_check_flags_cubes_out_of_view():
    qpos = np.zeros((5, 25))
    qpos[:, 14:17] = [0.4, 0.0, 0.02]
    assert scene_episode_is_healthy(qpos)
    right = qpos.copy()
    right[2, 15] = 0.3
    assert not scene_episode_is_healthy(right)
    left_in_drawer = qpos.copy()
    left_in_drawer[2, 15:17] = [-0.31, 0.07]
    assert scene_episode_is_healthy(left_in_drawer)
    left_outside = qpos.copy()
    left_outside[2, 15:17] = [-0.31, 0.02]
    assert not scene_episode_is_healthy(left_outside)


def test_protocol_facts():
    giant = protocol.get_spec("pointmaze-giant-navigate-v0")
    assert (giant.num_episodes, giant.episode_length, giant.action_noise) == (500, 2001, 0.5)
    stitch = protocol.get_spec("pointmaze-medium-stitch-v0")
    assert (stitch.num_episodes, stitch.episode_length) == (5000, 201)
    assert protocol.get_spec("cube-triple-play-v0").num_episodes == 3000
    assert protocol.get_spec("puzzle-4x4-noisy-v0").p_random_action == 0.2
    assert protocol.get_spec("scene-noisy-v0").p_random_action == 0.1
    assert protocol.get_spec("scene-play-v0").has_button_states
    single = protocol.get_spec("cube-single-play-singletask-task3-v0")
    assert single.name == "cube-single-play-v0" and single.env_id == "cube-single-v0"
    assert protocol.p_stack_range("cube-double-v0") == (0.0, 0.25)
    assert protocol.val_episode_count(1000) == 100 and protocol.val_episode_count(3) == 1


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match=r"^num_episodes must be >= 1; received num_episodes=0\.$"):
        generate_dataset("pointmaze-medium-navigate-v0", str(tmp_path), num_episodes=0)
    with pytest.raises(ValueError, match=r"^Unknown environment/dataset name 'antmaze-medium-navigate-v0'\. "
                                         r"Supported goal-conditioned names: pointmaze-medium-navigate-v0, "):
        generate_dataset("antmaze-medium-navigate-v0", str(tmp_path))
    assert not any(tmp_path.iterdir())  # Refused before anything was written.


def test_leftovers_of_a_killed_write_are_removed_by_the_next_run(tmp_path):
    stale = tmp_path / ".pointmaze-medium-stitch-v0-val.npz.k1ll3d.tmp"
    stale.write_bytes(b"half a file")
    unrelated = tmp_path / ".other.npz.x.tmp"
    unrelated.write_bytes(b"")
    generate_dataset("pointmaze-medium-stitch-v0", str(tmp_path), num_episodes=1,
                     episode_length=10, progress=False)
    assert not stale.exists() and unrelated.exists()
    assert (tmp_path / "pointmaze-medium-stitch-v0-val.npz").exists()


def _worker_children():
    """Pids of this process's live generation workers (children running worker_process)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, IndexError):
            continue
        if (fields[1] == str(os.getpid()) and fields[0] != "Z"
                and b"worker_process" in command):
            pids.append(int(entry))
    return pids


def test_a_worker_that_cannot_build_its_env_fails_the_run_with_its_traceback():
    spec = dataclasses.replace(protocol.get_spec("cube-single-play-v0"), env_id="nosuch-v0")
    with pytest.raises(WorkerError, match=r"(?s)building the nosuch-v0 env.*NameNotFound"):
        runner._collect_in_workers(spec, 10, 0, 3, 2, lambda *episode: None)
    assert _worker_children() == []


def test_a_killed_worker_fails_the_run_at_once_and_stops_the_others():
    spec = protocol.get_spec("pointmaze-medium-navigate-v0")
    done = []

    def on_episode(index, episode, discarded):
        done.append(index)
        if len(done) == 1:
            os.kill(_worker_children()[0], signal.SIGKILL)

    # The killed worker is found dead reading its episode, or (when it had just sent one) at
    # the next command: either way the run fails at once, naming the signal and the episode.
    with pytest.raises(WorkerError, match=r"died \(killed by signal SIGKILL\) while (receiving the command for )?"
                                          r"collecting episode \d+\.$"):
        runner._collect_in_workers(spec, 1000, 0, 20, 2, on_episode)
    assert len(done) < 20 and _worker_children() == []
