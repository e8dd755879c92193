"""Batch samplers over loaded OGBench datasets: goal-conditioned relabelling and transitions.

Both samplers are stateless: batch number `step` of input stream `stream` is drawn from a
numpy Generator seeded by (seed, step) for stream 0 and (seed, step, stream) for the others,
so a batch is a pure function of (seed, step, stream) and an interrupted run resumes exactly by
restarting at its step counter. Streams are the input pipelines of a multi-worker run (one per
worker, `tfnfrl.data.pipeline`); a one-process run reads stream 0 only. Datasets are the
non-compact dicts returned by `tfnfrl.data.load_datasets` (one row per transition,
terminals = 1 at each episode's last transition). `tfnfrl.data.graph_samplers` draws the same
laws with TensorFlow ops (no numpy_function), for TPU hosts and in-graph input.

Goal relabelling follows OGBench's GCDataset (impls/utils/datasets.py). For a state at
index i of a trajectory whose last transition is f, a goal is one of
  - current: the state itself (index i);
  - trajectory (future) goal, either
      geometric: index min(i + K, f) with K ~ Geometric(1 - discount) on {1, 2, ...}
        (the truncated geometric law of the discounted state occupancy), or
      uniform: uniform over {i + 1, ..., f} (exactly uniform; OGBench's rounding gives the
        two end points half weight), and i itself when i = f;
  - random: any dataset state;
chosen with probabilities p_curgoal, p_trajgoal, p_randomgoal. The value goal also sets the
goal-reaching reward: success = (goal index == i), reward = success - 1 if gc_negative else
success, mask = 1 - success.
"""

import ml_collections
import numpy as np


def gc_sampler_config():
    """Default goal-conditioned sampling config (OGBench GCDataset keys and defaults)."""
    config = ml_collections.ConfigDict()
    # Discount gamma of the geometric future-goal offset K ~ Geometric(1 - gamma); mean
    # offset 1 / (1 - gamma) steps. The NF paper uses 0.97 (cube-single, scene, puzzle-3x3,
    # ...) and 0.99 (cube-double, antmaze-large).
    config.discount = 0.99
    # Probability that the value goal is the current state (reward 0 / success).
    config.value_p_curgoal = 0.2
    # Probability that the value goal is a future state of the same trajectory.
    config.value_p_trajgoal = 0.5
    # Probability that the value goal is a uniformly random dataset state.
    config.value_p_randomgoal = 0.3
    # Future value goals: True = truncated geometric offset, False = uniform over the future.
    config.value_geom_sample = True
    # Probability that the actor goal is the current state.
    config.actor_p_curgoal = 0.0
    # Probability that the actor goal is a future state of the same trajectory.
    config.actor_p_trajgoal = 1.0
    # Probability that the actor goal is a uniformly random dataset state.
    config.actor_p_randomgoal = 0.0
    # Future actor goals: True = truncated geometric offset, False = uniform over the future.
    # OGBench's GCBC uses uniform (False); the NF-GCBC paper uses geometric (True).
    config.actor_geom_sample = False
    # Rewards: True gives -1 until the goal and 0 at it; False gives 0 / 1.
    config.gc_negative = True
    return config


def _step_rng(seed, step, stream=0):
    """The Generator of batch `step` of input stream `stream` for sampler seed `seed` (all >= 0 ints)."""
    if step < 0:
        raise ValueError(f"step must be >= 0; received step={step}.")
    if stream < 0:
        raise ValueError(f"stream must be >= 0; received stream={stream}.")
    return np.random.default_rng([int(seed), int(step)] + ([int(stream)] if stream else []))


def _check_dataset(dataset, keys):
    missing = [k for k in keys if k not in dataset]
    if missing:
        raise ValueError(
            f"Dataset is missing {missing}; it has {sorted(dataset)}. Load it with "
            "tfnfrl.data.load_datasets."
        )
    n = len(dataset["observations"])
    if n == 0:
        raise ValueError("Dataset is empty (0 transitions).")
    for key in keys:
        if len(dataset[key]) != n:
            raise ValueError(
                f"Dataset arrays differ in length: observations has {n}, {key} has "
                f"{len(dataset[key])}."
            )
    return n


def _check_seed(seed):
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0; received seed={seed!r}.")
    return int(seed)


class GCSampler:
    """Goal-conditioned batches with OGBench-style goal relabelling (see module docstring).

    Attributes:
      size: number of transitions.
      final_index: [size] int64, index of the last transition of each row's trajectory.
    """

    def __init__(self, dataset, config, seed):
        """Args: dataset from load_datasets; config like gc_sampler_config(); seed int >= 0."""
        self._size = _check_dataset(
            dataset, ("observations", "next_observations", "actions", "terminals")
        )
        self._seed = _check_seed(seed)
        self._config = config
        for prefix in ("value", "actor"):
            probs = [config[f"{prefix}_p_{kind}"] for kind in ("curgoal", "trajgoal", "randomgoal")]
            if min(probs) < 0 or not np.isclose(sum(probs), 1.0):
                raise ValueError(
                    f"{prefix}_p_curgoal/trajgoal/randomgoal must be >= 0 and sum to 1; "
                    f"received {probs}."
                )
        if not 0.0 < config.discount < 1.0:
            raise ValueError(f"discount must be in (0, 1); received discount={config.discount}.")

        self._observations = np.asarray(dataset["observations"], dtype=np.float32)
        self._next_observations = np.asarray(dataset["next_observations"], dtype=np.float32)
        self._actions = np.asarray(dataset["actions"], dtype=np.float32)
        terminals = np.asarray(dataset["terminals"]) > 0
        terminal_locs = np.flatnonzero(terminals)
        if terminal_locs.size == 0 or terminal_locs[-1] != self._size - 1:
            raise ValueError(
                "The last transition of the dataset must be terminal (terminals[-1] == 1): "
                "the dataset is cut mid-trajectory."
            )
        # For each row, the index of its trajectory's last transition.
        self.final_index = terminal_locs[np.searchsorted(terminal_locs, np.arange(self._size))]

    @property
    def size(self):
        return self._size

    def _goal_indices(self, rng, idxs, p_cur, p_traj, geom_sample):
        n = len(idxs)
        final = self.final_index[idxs]
        if geom_sample:
            offsets = rng.geometric(p=1.0 - self._config.discount, size=n)
            traj = np.minimum(idxs + offsets, final)
        else:
            # Uniform over {i + 1, ..., f}; stays at i when i is already the last index.
            span = final - idxs
            traj = idxs + 1 + np.floor(rng.uniform(size=n) * span).astype(np.int64)
            traj = np.where(span > 0, np.minimum(traj, final), idxs)
        random = rng.integers(self._size, size=n)
        choice = rng.uniform(size=n)
        return np.where(choice < p_cur, idxs, np.where(choice < p_cur + p_traj, traj, random))

    @property
    def seed(self):
        return self._seed

    @property
    def config(self):
        """The goal-sampling config (like gc_sampler_config())."""
        return self._config

    def arrays(self):
        """{observations, next_observations, actions}: the float32 arrays batches are gathered from."""
        return {"observations": self._observations, "next_observations": self._next_observations,
                "actions": self._actions}

    def sample_indices(self, batch_size, step, stream=0):
        """Indices of batch `step`: (state idxs, actor goal idxs, value goal idxs), each [B]."""
        rng = _step_rng(self._seed, step, stream)
        c = self._config
        idxs = rng.integers(self._size, size=batch_size)
        actor = self._goal_indices(
            rng, idxs, c.actor_p_curgoal, c.actor_p_trajgoal, c.actor_geom_sample
        )
        value = self._goal_indices(
            rng, idxs, c.value_p_curgoal, c.value_p_trajgoal, c.value_geom_sample
        )
        return idxs, actor, value

    def sample(self, batch_size, step, stream=0):
        """Batch number `step` of input stream `stream` (a pure function of (seed, step, stream)).

        Returns a dict of float32 arrays: observations [B, obs], actions [B, act],
        next_observations [B, obs], actor_goals [B, obs], value_goals [B, obs],
        rewards [B], masks [B].
        """
        idxs, actor, value = self.sample_indices(batch_size, step, stream)
        success = (idxs == value).astype(np.float32)
        return {
            "observations": self._observations[idxs],
            "actions": self._actions[idxs],
            "next_observations": self._next_observations[idxs],
            "actor_goals": self._observations[actor],
            "value_goals": self._observations[value],
            "rewards": success - (1.0 if self._config.gc_negative else 0.0),
            "masks": 1.0 - success,
        }

    def element_spec(self, batch_size):
        """{key: (shape, np.float32)} of a batch of `batch_size` (for tf.data)."""
        obs = self._observations.shape[1:]
        act = self._actions.shape[1:]
        shapes = {
            "observations": obs, "actions": act, "next_observations": obs,
            "actor_goals": obs, "value_goals": obs, "rewards": (), "masks": (),
        }
        return {k: ((batch_size,) + tuple(s), np.float32) for k, s in shapes.items()}


class TransitionSampler:
    """Uniform transition batches with rewards and masks, for offline RL on singletask data.

    The dataset must come from a singletask name (load_datasets adds OGBench's relabelled
    'rewards' and 'masks'; mask = 0 where the task is solved, i.e. no bootstrapping).
    Batches also hold `next_actions`, the dataset action at s' (ReBRAC's critic penalty):
    actions[i + 1] inside an episode, actions[i] at an episode's last transition (whose
    successor is not in the data); it needs the dataset's `terminals`.
    """

    _KEYS = ("observations", "actions", "next_observations", "rewards", "masks")

    def __init__(self, dataset, seed):
        missing = [k for k in ("rewards", "masks") if k not in dataset]
        if missing:
            raise ValueError(
                f"TransitionSampler needs {missing}, which only singletask datasets have: load "
                "a name like 'cube-single-play-singletask-task1-v0' with load_datasets."
            )
        self._size = _check_dataset(dataset, self._KEYS + ("terminals",))
        self._seed = _check_seed(seed)
        self._arrays = {k: np.asarray(dataset[k], dtype=np.float32) for k in self._KEYS}
        last = np.asarray(dataset["terminals"]) > 0
        self._next_index = np.where(last, np.arange(self._size), np.minimum(np.arange(self._size) + 1, self._size - 1))

    @property
    def size(self):
        return self._size

    @property
    def seed(self):
        return self._seed

    @property
    def next_index(self):
        """[size] int64: the row whose action is each row's `next_actions`."""
        return self._next_index

    def arrays(self):
        """{observations, actions, next_observations, rewards, masks}: the float32 arrays batches are gathered from."""
        return dict(self._arrays)

    def sample_indices(self, batch_size, step, stream=0):
        """Row indices [B] of batch `step` of input stream `stream`."""
        return _step_rng(self._seed, step, stream).integers(self._size, size=batch_size)

    def sample(self, batch_size, step, stream=0):
        """Batch `step` of `stream`: observations, actions, next_observations, next_actions [B, .], rewards, masks [B]."""
        idxs = self.sample_indices(batch_size, step, stream)
        batch = {k: v[idxs] for k, v in self._arrays.items()}
        batch["next_actions"] = self._arrays["actions"][self._next_index[idxs]]
        return batch

    def element_spec(self, batch_size):
        """{key: (shape, np.float32)} of a batch of `batch_size` (for tf.data)."""
        spec = {k: ((batch_size,) + v.shape[1:], np.float32) for k, v in self._arrays.items()}
        spec["next_actions"] = spec["actions"]
        return spec
