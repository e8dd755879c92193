"""Per-episode random streams: each episode's randomness is a function of (seed, index).

Collectors draw their own choices (cells, noise, random actions) from a numpy Generator and
re-seed every random source OGBench uses internally (the env's `np_random`, the global
legacy `np.random` that OGBench's oracles and maze noise read, and the action space) at the
start of each episode. Output then depends only on (seed, episode index), never on which
worker ran the episode or in which order.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class EpisodeSeeds:
    """Seeds for one episode.

    Attributes:
      rng: Generator for the collector's own draws.
      env_seed: passed to env.reset(seed=...) (seeds the env's np_random).
      legacy_seed: passed to np.random.seed (OGBench's oracles and maze noise use np.random).
      space_seed: seeds the action space (the maze's reset takes a few random actions).
    """

    rng: np.random.Generator
    env_seed: int
    legacy_seed: int
    space_seed: int


def episode_seeds(seed, episode_index):
    """Independent seeds for episode `episode_index` of a run with base `seed` (both >= 0)."""
    if seed < 0 or episode_index < 0:
        raise ValueError(
            f"seed and episode_index must be >= 0; received seed={seed}, "
            f"episode_index={episode_index}."
        )
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(episode_index,))
    env_seed, legacy_seed, space_seed = (int(w) for w in sequence.generate_state(3))
    return EpisodeSeeds(
        rng=np.random.default_rng(sequence.spawn(1)[0]),
        env_seed=env_seed,
        legacy_seed=legacy_seed,
        space_seed=space_seed,
    )


def seed_legacy_global(seeds):
    """Seeds numpy's global RandomState, which OGBench's oracles and mazes draw from."""
    np.random.seed(seeds.legacy_seed)
