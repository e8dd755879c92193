"""A ring buffer of fixed-length episodes for online collection, with future-goal relabelling.

Plain numpy (no TensorFlow), so it can live in the trainer and be checkpointed as one .npz.

Online collection steps N envs in lockstep; every episode lasts exactly `episode_length`
steps (no termination; the env's own goal is ignored) and all N envs reset together. An
episode is written in chunks ("unrolls") of U steps as it is collected:

    slots = buffer.start_episodes(n)                      # n new episodes, length 0
    buffer.write(slots, 0, observations[:, 0:U + 1], actions[:, 0:U])
    buffer.write(slots, U, observations[:, U:2 * U + 1], actions[:, U:2 * U])
    ...

Slot s holds states observations[s, 0..L] and actions[s, 0..L-1] for its length L (the
number of stored transitions); transition t of slot s is (observations[s, t], actions[s, t],
observations[s, t + 1]). When the buffer is full, `start_episodes` overwrites the oldest
slots (ring order).

Relabelling (as `tfnfrl.data.samplers.GCSampler` with geometric future goals): for a
transition (s, t), the goal is the state at index min(t + K, L) of the same episode with
K ~ Geometric(1 - discount) on {1, 2, ...}: a strictly future state, never one of another
episode or beyond what is stored (so a partially written episode truncates at its last
stored state). Batches are pure functions of (seed, step) and the buffer contents.
"""

import os
import zipfile
import zlib

import numpy as np

from tfnfrl.data.writer import write_npz_atomic

_FORMAT_VERSION = 1
_ARRAYS = ("observations", "actions", "lengths")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; received {name}={value!r}.")
    return int(value)


def _non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0; received {name}={value!r}.")
    return int(value)


class EpisodeReplay:
    """Ring buffer of `capacity_episodes` episodes of at most `episode_length` transitions.

    Attributes (read-only):
      capacity_episodes, episode_length, observation_dim, action_dim: the config.
      goal_indices: tuple of observation indices that form a goal (default (0, 1): maze xy).
      goal_dim: len(goal_indices).
      discount: gamma of the future-goal offset K ~ Geometric(1 - gamma) (mean 1 / (1 - gamma)
        steps).
      seed: base seed of `sample` (batch `step` uses np.random.default_rng([seed, step])).
      num_transitions: stored transitions, summed over slots.
      num_episodes: slots holding at least one transition.
    """

    def __init__(self, capacity_episodes, episode_length, observation_dim, action_dim,
                 goal_indices=(0, 1), discount=0.99, seed=0):
        """Args:
          capacity_episodes: number of episode slots (int >= 1).
          episode_length: transitions per complete episode (int >= 1); a slot stores
            episode_length + 1 states.
          observation_dim, action_dim: sizes of one flat observation / action (ints >= 1).
          goal_indices: observation indices forming the goal, e.g. (0, 1) for maze xy.
          discount: in (0, 1).
          seed: int >= 0.
        """
        self._capacity = _positive_int("capacity_episodes", capacity_episodes)
        self._episode_length = _positive_int("episode_length", episode_length)
        self._observation_dim = _positive_int("observation_dim", observation_dim)
        self._action_dim = _positive_int("action_dim", action_dim)
        goal_indices = tuple(int(i) for i in np.atleast_1d(np.asarray(goal_indices)))
        if not goal_indices or any(not 0 <= i < self._observation_dim for i in goal_indices):
            raise ValueError(
                f"goal_indices must be a non-empty list of indices in [0, {self._observation_dim})"
                f" (observation_dim={self._observation_dim}); received {goal_indices}."
            )
        self._goal_indices = goal_indices
        discount = float(discount)
        if not 0.0 < discount < 1.0:
            raise ValueError(f"discount must be in (0, 1); received discount={discount}.")
        self._discount = discount
        self._seed = _non_negative_int("seed", seed)
        self._observations = np.zeros(
            (self._capacity, self._episode_length + 1, self._observation_dim), np.float32)
        self._actions = np.zeros(
            (self._capacity, self._episode_length, self._action_dim), np.float32)
        self._lengths = np.zeros(self._capacity, np.int64)
        self._next_slot = 0  # Ring pointer: the slot the next new episode goes to.

    # Config and sizes.

    @property
    def capacity_episodes(self):
        return self._capacity

    @property
    def episode_length(self):
        return self._episode_length

    @property
    def observation_dim(self):
        return self._observation_dim

    @property
    def action_dim(self):
        return self._action_dim

    @property
    def goal_indices(self):
        return self._goal_indices

    @property
    def goal_dim(self):
        return len(self._goal_indices)

    @property
    def discount(self):
        return self._discount

    @property
    def seed(self):
        return self._seed

    @property
    def num_transitions(self):
        return int(self._lengths.sum())

    @property
    def num_episodes(self):
        return int(np.count_nonzero(self._lengths))

    def lengths(self):
        """Copy of the stored transitions per slot, int64 [capacity_episodes]."""
        return self._lengths.copy()

    def config(self):
        """The constructor arguments, as a JSON-able dict."""
        return dict(capacity_episodes=self._capacity, episode_length=self._episode_length,
                    observation_dim=self._observation_dim, action_dim=self._action_dim,
                    goal_indices=list(self._goal_indices), discount=self._discount,
                    seed=self._seed)

    # Writing.

    def start_episodes(self, n):
        """Slots for `n` new episodes (1 <= n <= capacity_episodes), in ring order.

        The slots' previous episodes (the oldest ones once the buffer is full) are dropped:
        their length becomes 0 until `write` fills them again.

        Returns:
          int64 [n] slot indices.
        """
        n = _positive_int("n", n)
        if n > self._capacity:
            raise ValueError(
                f"Cannot start {n} episodes in a buffer of {self._capacity} episode slots; "
                "raise capacity_episodes to at least the number of envs."
            )
        slots = (self._next_slot + np.arange(n, dtype=np.int64)) % self._capacity
        self._next_slot = int((self._next_slot + n) % self._capacity)
        self._lengths[slots] = 0
        return slots

    def write(self, slots, start, observations, actions):
        """Appends one unroll of U steps to each of the episodes in `slots`.

        Args:
          slots: int [n] distinct slots (from `start_episodes`), each holding exactly `start`
            transitions.
          start: int, the episode step of the unroll's first state (0 for a new episode).
          observations: float [n, U + 1, observation_dim], states start..start + U (state
            `start` is the last state of the previous unroll, and must equal the stored one
            when start > 0).
          actions: float [n, U, action_dim], actions at steps start..start + U - 1.

        Sets each slot's length to start + U. Raises ValueError (nothing is written) for
        writes that skip ahead or overlap (a slot's length != start), run past
        episode_length, have wrong shapes, or hold non-finite values.
        """
        slots = np.asarray(slots)
        if slots.ndim != 1 or slots.size == 0 or not np.issubdtype(slots.dtype, np.integer):
            raise ValueError(f"slots must be a non-empty int array [n]; received {slots!r}.")
        slots = slots.astype(np.int64)
        if slots.min() < 0 or slots.max() >= self._capacity:
            raise ValueError(
                f"slots must be in [0, {self._capacity}); received {slots.tolist()}.")
        if np.unique(slots).size != slots.size:
            raise ValueError(f"slots must be distinct; received {slots.tolist()}.")
        start = _non_negative_int("start", start)
        observations = np.asarray(observations, dtype=np.float32)
        actions = np.asarray(actions, dtype=np.float32)
        n = slots.size
        if actions.ndim != 3 or actions.shape[0] != n or actions.shape[2] != self._action_dim:
            raise ValueError(
                f"actions must have shape [n={n}, U, action_dim={self._action_dim}]; received "
                f"shape {actions.shape}.")
        unroll = actions.shape[1]
        expected = (n, unroll + 1, self._observation_dim)
        if observations.shape != expected or unroll < 1:
            raise ValueError(
                f"observations must have shape [n, U + 1, observation_dim] = {expected} for "
                f"actions of shape {actions.shape} (U >= 1); received shape "
                f"{observations.shape}.")
        if start + unroll > self._episode_length:
            raise ValueError(
                f"Writing steps {start}..{start + unroll} exceeds episode_length="
                f"{self._episode_length}.")
        stale = self._lengths[slots] != start
        if stale.any():
            raise ValueError(
                f"write(start={start}) must continue each episode where it stands, but slots "
                f"{slots[stale].tolist()} hold {self._lengths[slots][stale].tolist()} "
                "transitions (a skipped or repeated unroll, or a slot reused by "
                "start_episodes).")
        for name, array in (("observations", observations), ("actions", actions)):
            if not np.isfinite(array).all():
                bad = sorted(set(np.argwhere(~np.isfinite(array))[:, 0].tolist()))
                raise ValueError(
                    f"{name} hold non-finite values (for slots {slots[bad].tolist()}); nothing "
                    "was written.")
        if start > 0 and not np.array_equal(self._observations[slots, start], observations[:, 0]):
            raise ValueError(
                f"observations[:, 0] must repeat the stored state at step {start} (the last "
                "state of the previous unroll); it differs.")
        self._observations[slots, start:start + unroll + 1] = observations
        self._actions[slots, start:start + unroll] = actions
        self._lengths[slots] = start + unroll

    # Sampling.

    @staticmethod
    def _locate(flat, sizes):
        """(slot, index) of flat indices into the concatenation of `sizes[s]` items per slot."""
        ends = np.cumsum(sizes)
        slots = np.searchsorted(ends, flat, side="right")
        return slots, flat - (ends - sizes)[slots]

    def _check_not_empty(self):
        if self.num_transitions == 0:
            raise ValueError("The replay buffer is empty: write at least one unroll first.")

    def sample(self, batch_size, step):
        """Batch number `step`: transitions uniform over all stored ones, future goals.

        A pure function of (seed, step) and the buffer contents
        (np.random.default_rng([seed, step])).

        Returns:
          dict of
            observations: float32 [B, observation_dim], state at t;
            actions: float32 [B, action_dim], action at t;
            next_observations: float32 [B, observation_dim], state at t + 1;
            goals: float32 [B, goal_dim], observations[slot, t + k, goal_indices];
            goal_offsets: int64 [B], k = min(K, L - t) in [1, L - t], K ~ Geometric(1 - gamma).
        """
        batch_size = _positive_int("batch_size", batch_size)
        step = _non_negative_int("step", step)
        self._check_not_empty()
        rng = np.random.default_rng([self._seed, step])
        slots, times = self._locate(rng.integers(self.num_transitions, size=batch_size),
                                    self._lengths)
        offsets = np.minimum(rng.geometric(p=1.0 - self._discount, size=batch_size),
                             self._lengths[slots] - times)
        goals = self._observations[slots, times + offsets][:, self._goal_indices]
        return dict(
            observations=self._observations[slots, times],
            actions=self._actions[slots, times],
            next_observations=self._observations[slots, times + 1],
            goals=goals.astype(np.float32),
            goal_offsets=offsets.astype(np.int64),
        )

    def sample_goals(self, n, rng):
        """Goal coordinates of `n` stored states drawn uniformly (with replacement).

        Every stored state counts once: states 0..L of each slot with L >= 1 transitions
        (exploration-goal candidates).

        Args:
          n: int >= 1.
          rng: a numpy Generator.

        Returns:
          float32 [n, goal_dim].
        """
        n = _positive_int("n", n)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator; received {type(rng).__name__}.")
        self._check_not_empty()
        states = np.where(self._lengths > 0, self._lengths + 1, 0)
        slots, times = self._locate(rng.integers(int(states.sum()), size=n), states)
        return self._observations[slots, times][:, self._goal_indices].astype(np.float32)

    # Checkpoints.

    def save(self, path):
        """Writes every array, the ring pointer, the lengths and the config to `path` (.npz).

        Atomic (`tfnfrl.data.writer.write_npz_atomic`: a compressed temporary file in the same
        directory, flushed to disk, renamed over `path`), so `path` holds either the old or
        the new buffer. All capacity_episodes slots are stored (empty ones compress to
        little).

        Returns:
          `path`.
        """
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        config = self.config()
        write_npz_atomic(path, dict(
            format_version=np.int64(_FORMAT_VERSION),
            observations=self._observations,
            actions=self._actions,
            lengths=self._lengths,
            next_slot=np.int64(self._next_slot),
            capacity_episodes=np.int64(config["capacity_episodes"]),
            episode_length=np.int64(config["episode_length"]),
            observation_dim=np.int64(config["observation_dim"]),
            action_dim=np.int64(config["action_dim"]),
            goal_indices=np.asarray(config["goal_indices"], np.int64),
            discount=np.float64(config["discount"]),
            seed=np.int64(config["seed"]),
        ))
        return path

    @classmethod
    def load(cls, path):
        """The buffer saved at `path` (equal to the saved one: same samples for every step).

        Raises:
          FileNotFoundError: no file at `path`.
          ValueError naming `path`: the file is not a readable, consistent EpisodeReplay file.
        """
        if not os.path.exists(path):
            raise FileNotFoundError(f"No replay buffer file at {path}.")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(
                f"{path} is not a readable EpisodeReplay .npz file ({error}); delete it or "
                "restore it from a backup.") from error
        try:
            version = int(arrays["format_version"])
            if version != _FORMAT_VERSION:
                raise ValueError(f"format version {version}, expected {_FORMAT_VERSION}")
            buffer = cls(
                capacity_episodes=int(arrays["capacity_episodes"]),
                episode_length=int(arrays["episode_length"]),
                observation_dim=int(arrays["observation_dim"]),
                action_dim=int(arrays["action_dim"]),
                goal_indices=tuple(int(i) for i in arrays["goal_indices"]),
                discount=float(arrays["discount"]),
                seed=int(arrays["seed"]),
            )
            for key in _ARRAYS:
                target = getattr(buffer, f"_{key}")
                if arrays[key].shape != target.shape:
                    raise ValueError(f"{key} has shape {arrays[key].shape}, expected "
                                     f"{target.shape}")
                target[...] = arrays[key]
            if buffer._lengths.min() < 0 or buffer._lengths.max() > buffer._episode_length:
                raise ValueError(f"lengths outside [0, {buffer._episode_length}]")
            next_slot = int(arrays["next_slot"])
            if not 0 <= next_slot < buffer._capacity:
                raise ValueError(f"ring pointer {next_slot} outside [0, {buffer._capacity})")
            buffer._next_slot = next_slot
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError(
                f"{path} is not a consistent EpisodeReplay file ({error}); delete it or restore "
                "it from a backup.") from error
        return buffer
