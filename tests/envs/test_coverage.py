"""Maze coverage: cells of positions, visited fraction, checkpoint state, PNG plots."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tfnfrl.envs.coverage import MazeCoverage, plot_coverage


# 4 rows x 5 columns, 7 free cells; cell (i, j) is centred at (2j - 1, 2i - 3).
SMALL = dict(
    maze_map=np.array([[1, 1, 1, 1, 1],
                       [1, 0, 0, 0, 1],
                       [1, 0, 1, 0, 1],
                       [1, 0, 1, 0, 1]]),
    unit=2.0, offset_x=1.0, offset_y=3.0)


def _centre(i, j, layout=SMALL):
    return (j * layout["unit"] - layout["offset_x"], i * layout["unit"] - layout["offset_y"])


def test_cells_invert_the_centre_formula_and_round_to_the_nearest_centre():
    coverage = MazeCoverage(SMALL)
    ij = np.array([(i, j) for i in range(4) for j in range(5)])
    centres = np.array([_centre(i, j) for i, j in ij])
    np.testing.assert_array_equal(coverage.cells(centres), ij)
    # Anywhere within half a unit (exclusive) of a centre is that cell.
    for shift in ([0.99, 0.0], [-0.99, 0.99], [0.0, -0.99]):
        np.testing.assert_array_equal(coverage.cells(centres + shift), ij)
    # Outside the map: clipped to the border cells.
    np.testing.assert_array_equal(coverage.cells([[-50.0, -50.0], [50.0, 50.0], [3.0, 99.0]]),
                                  [[0, 0], [3, 4], [3, 2]])
    # Leading dims flattened, row-major: a [4, 5, 2] grid of centres gives the [20, 2] cells.
    np.testing.assert_array_equal(coverage.cells(centres.reshape(4, 5, 2)), ij)
    with pytest.raises(ValueError,
                       match=r"^positions must have shape \[\.\.\., 2\] \(world x, y\); received \(4, 3\)\.$"):
        coverage.cells(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="^positions hold non-finite values"):
        coverage.cells([[np.nan, 0.0]])


def test_fraction_counts_free_cells_once_and_never_walls():
    coverage = MazeCoverage(SMALL)
    assert coverage.num_free_cells == 7 and coverage.fraction == 0.0
    np.testing.assert_array_equal(
        coverage.free_cell_centres(),
        [_centre(1, 1), _centre(1, 2), _centre(1, 3), _centre(2, 1), _centre(2, 3),
         _centre(3, 1), _centre(3, 3)])
    free = coverage.free_cell_centres()
    assert free.shape == (7, 2)
    np.testing.assert_array_equal(coverage.cells(free),
                                  np.argwhere(np.asarray(SMALL["maze_map"]) == 0))
    # Three visits of (1, 1), two of (2, 3) (one off-centre), one of the wall (0, 0).
    coverage.update([_centre(1, 1), _centre(1, 1), _centre(2, 3)])
    coverage.update(np.array([[_centre(1, 1), np.add(_centre(2, 3), 0.4)]]))
    coverage.update([_centre(0, 0)])
    assert coverage.num_visited_cells == 2
    assert coverage.fraction == pytest.approx(2 / 7)
    expected = np.zeros((4, 5), np.int64)
    expected[1, 1], expected[2, 3], expected[0, 0] = 3, 2, 1
    np.testing.assert_array_equal(coverage.counts, expected)
    assert coverage.counts.dtype == np.int64
    coverage.update(free)  # Every free cell once more: full coverage.
    assert coverage.fraction == 1.0
    counts = coverage.counts
    counts[:] = 0  # A copy: the coverage keeps its counts.
    assert coverage.fraction == 1.0


def test_state_round_trip():
    coverage = MazeCoverage(SMALL)
    coverage.update([_centre(1, 2), _centre(3, 1), _centre(3, 1)])
    state = json.loads(json.dumps(coverage.state_dict()))  # JSON-able.
    restored = MazeCoverage.from_state(SMALL, state)
    np.testing.assert_array_equal(restored.counts, coverage.counts)
    assert restored.fraction == coverage.fraction == pytest.approx(2 / 7)
    from_array = MazeCoverage.from_state(SMALL, {"counts": coverage.counts})  # .npz style.
    np.testing.assert_array_equal(from_array.counts, coverage.counts)
    restored.update([_centre(1, 1)])
    assert restored.fraction == pytest.approx(3 / 7) and coverage.fraction == pytest.approx(2 / 7)
    with pytest.raises(ValueError, match=r"^counts must have the maze's shape \(4, 5\); received \(2, 2\)\.$"):
        MazeCoverage.from_state(SMALL, {"counts": [[0, 1], [2, 3]]})
    with pytest.raises(ValueError, match=r"^counts must be non-negative integers\.$"):
        MazeCoverage.from_state(SMALL, {"counts": -np.ones((4, 5), np.int64)})
    with pytest.raises(ValueError, match=r"^state must be the dict of MazeCoverage\.state_dict\(\) \(key 'counts'\)"):
        MazeCoverage.from_state(SMALL, {})


def test_layout_is_checked():
    with pytest.raises(ValueError,
                       match=r"^layout must be the dict of trajectory_plot\.maze_layout\(env\) .*received NoneType\.$"):
        MazeCoverage(None)
    with pytest.raises(ValueError, match="missing \\['unit'\\]"):
        MazeCoverage({k: v for k, v in SMALL.items() if k != "unit"})
    with pytest.raises(ValueError, match="no free cell"):
        MazeCoverage(dict(SMALL, maze_map=np.ones((3, 3), np.int64)))


def _density(points):
    """A smooth log density peaked at (3, 1), [M, 2] -> [M]."""
    assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 2
    return -0.5 * ((points[:, 0] - 3.0) ** 2 + (points[:, 1] - 1.0) ** 2)


def test_plot_with_and_without_density(tmp_path):
    coverage = MazeCoverage(SMALL)
    coverage.update(np.repeat(coverage.free_cell_centres()[:4], [1, 10, 100, 1000], axis=0))
    plain = plot_coverage(str(tmp_path / "plain.png"), SMALL, coverage.counts, title="small")
    assert plain == str(tmp_path / "plain.png")
    calls = []
    both = plot_coverage(str(tmp_path / "both.png"), SMALL, coverage.counts,
                         log_density_fn=lambda p: calls.append(len(p)) or _density(p),
                         title="small", goals=[[3.0, 1.0], [1.0, -1.0]])
    assert calls == [4 * 5 * 8 * 8]  # One call over the whole grid.
    sizes = {}
    for path in (plain, both):
        assert os.path.getsize(path) > 1024
        with Image.open(path) as image:
            sizes[path] = image.size
            assert np.asarray(image.convert("L")).std() > 10
    assert sizes[plain] == (550, 500) and sizes[both] == (1100, 500)
    # Empty counts and a density that is -inf somewhere still plot.
    empty = plot_coverage(str(tmp_path / "empty.png"), SMALL, np.zeros((4, 5), np.int64),
                          log_density_fn=lambda p: np.where(p[:, 0] > 2, -np.inf, 0.0))
    assert os.path.getsize(empty) > 1024
    with pytest.raises(ValueError, match=r"must map \[M, 2\] to \[M\] \(M = 1280\); returned shape \(1280, 2\)\.$"):
        plot_coverage(str(tmp_path / "bad.png"), SMALL, coverage.counts,
                      log_density_fn=lambda p: np.zeros((len(p), 2)))
    with pytest.raises(ValueError, match=r"^counts must have the maze's shape \(4, 5\); received \(3, 3\)\.$"):
        plot_coverage(str(tmp_path / "bad.png"), SMALL, np.zeros((3, 3), np.int64))


def test_pointmaze_medium_layout():
    from tfnfrl.envs import registry, trajectory_plot  # pylint: disable=import-outside-toplevel

    # Pointmaze builds no GL context, so the env is safe in-process.
    env = registry.make_env("pointmaze-medium-navigate-v0")
    layout = trajectory_plot.maze_layout(env)
    coverage = MazeCoverage(layout)
    assert coverage.num_free_cells == 26  # OGBench's medium maze: 8 x 8 with 26 free cells.
    centres = coverage.free_cell_centres()
    assert centres.shape == (26, 2)
    cells = coverage.cells(centres)
    np.testing.assert_array_equal(cells, np.argwhere(layout["maze_map"] == 0))
    # Same cells as OGBench's own xy_to_ij, also off-centre; and its ij_to_xy centres.
    unwrapped = env.unwrapped
    rng = np.random.default_rng(0)
    for (i, j), xy in zip(cells, centres):
        np.testing.assert_allclose(unwrapped.ij_to_xy((i, j)), xy)
        for point in xy + rng.uniform(-1.9, 1.9, size=(5, 2)):
            assert tuple(coverage.cells(point[None])[0]) == unwrapped.xy_to_ij(point)
    # The evaluation tasks start and end in free cells.
    for task in unwrapped.task_infos:
        for key in ("init_xy", "goal_xy"):
            i, j = coverage.cells(np.asarray(task[key])[None])[0]
            assert layout["maze_map"][i, j] == 0
    coverage.update(centres[::2])
    assert coverage.fraction == pytest.approx(13 / 26)
    env.close()
