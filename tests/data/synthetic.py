"""A synthetic loaded dataset whose observations reveal their own index and trajectory."""

import numpy as np

# Trajectory lengths (in transitions) of the default synthetic dataset.
LENGTHS = (300, 5, 1, 60, 900)


def make_dataset(lengths=LENGTHS):
    """Non-compact dataset dict with observations[i] = (i, trajectory id), float32.

    next_observations[i] = (i + 1, id); actions [N, 3]; terminals 1 at each trajectory's
    last transition, as tfnfrl.data.load_datasets returns them.
    """
    n = sum(lengths)
    traj = np.repeat(np.arange(len(lengths)), lengths)
    obs = np.stack([np.arange(n), traj], axis=1).astype(np.float32)
    terminals = np.zeros(n, dtype=np.float32)
    terminals[np.cumsum(lengths) - 1] = 1.0
    return {
        "observations": obs,
        "next_observations": obs + np.array([1.0, 0.0], dtype=np.float32),
        "actions": np.tanh(obs[:, :1] / 100.0).repeat(3, axis=1),
        "terminals": terminals,
    }
