"""Maze coverage: which free cells of an OGBench maze the agent has visited, and its plot.

Plain numpy and matplotlib (Agg, no pyplot, no TensorFlow). A maze layout is what
`tfnfrl.envs.trajectory_plot.maze_layout(env)` returns (also `EnvPool.spec.maze_layout`):
dict(maze_map int [rows, cols] (1 = wall), unit (cell size, metres), offset_x, offset_y).
Cell (i, j) (row i, column j) has its centre at world (x, y) = (j * unit - offset_x,
i * unit - offset_y), and a position belongs to the nearest cell centre, as OGBench's
`xy_to_ij` rounds it.

Coverage is the fraction of free cells visited at least once (the NF-UGS metric, issue 11).
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure


def _check_layout(layout):
    if not isinstance(layout, dict):
        raise ValueError(
            f"layout must be the dict of trajectory_plot.maze_layout(env) (None for non-maze "
            f"envs); received {type(layout).__name__}.")
    missing = [k for k in ("maze_map", "unit", "offset_x", "offset_y") if k not in layout]
    if missing:
        raise ValueError(f"layout is missing {missing}; it has {sorted(layout)}.")
    maze_map = np.asarray(layout["maze_map"])
    if maze_map.ndim != 2 or maze_map.size == 0:
        raise ValueError(f"layout['maze_map'] must be [rows, cols]; has shape {maze_map.shape}.")
    if float(layout["unit"]) <= 0:
        raise ValueError(f"layout['unit'] must be > 0; received {layout['unit']}.")
    walls = maze_map == 1
    if walls.all():
        raise ValueError("layout['maze_map'] has no free cell (all 1 = wall).")
    return maze_map.astype(np.int64), walls


def _check_xy(xy):
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim == 0 or xy.shape[-1] != 2:
        raise ValueError(f"positions must have shape [..., 2] (world x, y); received {xy.shape}.")
    xy = xy.reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise ValueError("positions hold non-finite values.")
    return xy


def _cells(layout, maze_map, xy):
    unit = float(layout["unit"])
    j = np.floor((xy[:, 0] + float(layout["offset_x"])) / unit + 0.5).astype(np.int64)
    i = np.floor((xy[:, 1] + float(layout["offset_y"])) / unit + 0.5).astype(np.int64)
    rows, cols = maze_map.shape
    return np.stack([np.clip(i, 0, rows - 1), np.clip(j, 0, cols - 1)], axis=-1)


def _check_counts(counts, shape):
    """`counts` as int64 `shape`, or ValueError unless they are non-negative whole numbers."""
    counts = np.asarray(counts)
    if counts.shape != shape:
        raise ValueError(f"counts must have the maze's shape {shape}; received {counts.shape}.")
    finite = counts.dtype.kind in "iu" or (counts.dtype.kind == "f" and np.isfinite(counts).all())
    if not finite:
        raise ValueError(f"counts must be non-negative integers; received dtype {counts.dtype}.")
    as_int = counts.astype(np.int64)
    if not np.array_equal(as_int, counts) or (as_int < 0).any():
        raise ValueError("counts must be non-negative integers.")
    return as_int


class MazeCoverage:
    """Visit counts per maze cell and the fraction of free cells visited.

    Attributes:
      counts: int64 [rows, cols] copy of the visits per cell (walls included: a position
        rounded into a wall cell is counted there, but never in `fraction`).
      fraction: visited free cells / free cells, float in [0, 1].
      num_free_cells, num_visited_cells: ints.
    """

    def __init__(self, layout):
        """Args: layout: dict as `trajectory_plot.maze_layout(env)` returns it."""
        self._layout = dict(layout) if isinstance(layout, dict) else layout
        self._maze_map, self._walls = _check_layout(self._layout)
        self._counts = np.zeros(self._maze_map.shape, np.int64)

    @property
    def layout(self):
        """The maze layout this coverage counts cells of."""
        return self._layout

    def cells(self, xy):
        """Cells of world positions.

        Args:
          xy: float [..., 2] world (x, y), metres.

        Returns:
          int64 [N, 2] (row i, column j) of the nearest cell centre, clipped to the map
          (N = the product of the leading dims).
        """
        return _cells(self._layout, self._maze_map, _check_xy(xy))

    def update(self, xy):
        """Counts one visit for each position in `xy` (float [..., 2] world x, y, metres)."""
        cells = self.cells(xy)
        np.add.at(self._counts, (cells[:, 0], cells[:, 1]), 1)

    @property
    def counts(self):
        return self._counts.copy()

    @property
    def num_free_cells(self):
        return int((~self._walls).sum())

    @property
    def num_visited_cells(self):
        return int(((self._counts > 0) & ~self._walls).sum())

    @property
    def fraction(self):
        return self.num_visited_cells / self.num_free_cells

    def free_cell_centres(self):
        """World (x, y) of the free cells' centres, float64 [F, 2], in row-major cell order."""
        i, j = np.nonzero(~self._walls)
        unit = float(self._layout["unit"])
        return np.stack([j * unit - float(self._layout["offset_x"]),
                         i * unit - float(self._layout["offset_y"])], axis=-1)

    def state_dict(self):
        """JSON-able state: {"counts": list of rows of ints}."""
        return {"counts": self._counts.tolist()}

    @classmethod
    def from_state(cls, layout, state):
        """A MazeCoverage of `layout` with the counts of `state` (from `state_dict`; the
        counts may also be an int array, e.g. read back from an .npz)."""
        coverage = cls(layout)
        if not isinstance(state, dict) or "counts" not in state:
            raise ValueError("state must be the dict of MazeCoverage.state_dict() (key 'counts').")
        coverage._counts = _check_counts(state["counts"], coverage._maze_map.shape).copy()
        return coverage


def _grid(layout, maze_map, points_per_cell):
    """Cell-centred grid over the maze bounds: xs [W], ys [H] (world metres) and extent."""
    unit = float(layout["unit"])
    rows, cols = maze_map.shape
    left, bottom = -float(layout["offset_x"]) - unit / 2, -float(layout["offset_y"]) - unit / 2
    width, height = cols * points_per_cell, rows * points_per_cell
    xs = left + (np.arange(width) + 0.5) * unit / points_per_cell
    ys = bottom + (np.arange(height) + 0.5) * unit / points_per_cell
    extent = (left, left + cols * unit, bottom, bottom + rows * unit)
    return xs, ys, extent


def _draw_walls(axis, walls, extent):
    """Walls as one grey image layer over the panel (no seams between wall cells)."""
    axis.imshow(np.ma.masked_where(~walls, np.ones(walls.shape)), origin="lower", extent=extent,
                cmap=ListedColormap(["0.75"]), interpolation="nearest", zorder=2)
    axis.set_xlim(extent[0], extent[1])
    axis.set_ylim(extent[2], extent[3])


def plot_coverage(path, layout, counts, log_density_fn=None, title=None, goals=None,
                  points_per_cell=8):
    """Saves a PNG of the visited cells and, optionally, the learned goal density.

    Left panel: visits per free cell over the maze (walls grey, unvisited cells white,
    colour = log10 of the count). Right panel (if `log_density_fn`): log p(g) on a grid of
    `points_per_cell`² points per cell over the maze bounds, wall points masked; the colour
    range spans the 2nd percentile to the maximum, so a few very unlikely points do not wash
    out the rest.

    Args:
      path: output PNG path (directory must exist).
      layout: dict as `trajectory_plot.maze_layout(env)` returns it.
      counts: int [rows, cols] visit counts (e.g. `MazeCoverage.counts`).
      log_density_fn: None, or a callable mapping float32 [M, 2] world xy (metres) to
        log densities [M] (e.g. the flow's marginal log p(g)); called once.
      title: figure title (e.g. "pointmaze-medium, 300k env steps"); coverage is appended.
      goals: None or float [K, 2] world xy, drawn as red crosses on both panels (e.g. the
        current exploration goals).
      points_per_cell: grid resolution of the density panel.

    Returns:
      `path`.
    """
    maze_map, walls = _check_layout(layout)
    counts = _check_counts(counts, maze_map.shape)
    if goals is not None:
        goals = np.asarray(goals, dtype=np.float64).reshape(-1, 2)
    panels = 2 if log_density_fn is not None else 1
    figure = Figure(figsize=(5.5 * panels, 5), layout="constrained")
    FigureCanvasAgg(figure)
    _, _, extent = _grid(layout, maze_map, 1)

    visits = figure.add_subplot(1, panels, 1)
    shown = np.ma.masked_where(walls | (counts == 0), np.log10(np.maximum(counts, 1)))
    image = visits.imshow(shown, origin="lower", extent=extent, cmap="viridis",
                          interpolation="nearest", vmin=0.0,
                          vmax=max(float(shown.max()) if shown.count() else 1.0, 1e-6))
    _draw_walls(visits, walls, extent)
    figure.colorbar(image, ax=visits, fraction=0.046, pad=0.04, label="log10 visits")
    free = ~walls
    fraction = float(((counts > 0) & free).sum()) / float(free.sum())
    visits.set_title(f"visited cells: {fraction:.1%} of {int(free.sum())} free", fontsize=9)

    axes = [visits]
    if log_density_fn is not None:
        xs, ys, extent = _grid(layout, maze_map, int(points_per_cell))
        grid_x, grid_y = np.meshgrid(xs, ys)
        points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=-1).astype(np.float32)
        values = np.asarray(log_density_fn(points), dtype=np.float64)
        if values.shape not in ((len(points),), (len(points), 1)):
            raise ValueError(f"log_density_fn must map [M, 2] to [M] (M = {len(points)}); "
                             f"returned shape {values.shape}.")
        values = values.reshape(grid_x.shape)
        cells = _cells(layout, maze_map, points.astype(np.float64))
        in_wall = walls[cells[:, 0], cells[:, 1]].reshape(grid_x.shape)
        masked = np.ma.masked_where(in_wall | ~np.isfinite(values), values)
        density = figure.add_subplot(1, panels, 2)
        if masked.count():
            low, high = np.percentile(masked.compressed(), 2), float(masked.max())
        else:
            low, high = 0.0, 1.0
        image = density.imshow(masked, origin="lower", extent=extent, cmap="magma",
                               interpolation="nearest", vmin=low, vmax=max(high, low + 1e-6))
        _draw_walls(density, walls, extent)
        figure.colorbar(image, ax=density, fraction=0.046, pad=0.04, label="log p(g)")
        density.set_title("learned log p(g)", fontsize=9)
        axes.append(density)

    for axis in axes:
        if goals is not None and len(goals):
            axis.plot(goals[:, 0], goals[:, 1], "x", color="red", ms=7, mew=2, zorder=3)
        axis.set_aspect("equal")
        axis.set_xlabel("x")
        axis.set_ylabel("y")
    title = f"{title}: " if title else ""
    figure.suptitle(f"{title}coverage {fraction:.1%}", fontsize=10)
    figure.savefig(path, dpi=100)
    return path
