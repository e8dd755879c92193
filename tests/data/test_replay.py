"""EpisodeReplay: ring of fixed-length episodes, truncated-geometric future goals, checkpoints.

Observations encode where they are stored: observation = [episode id, step, ...], so a
sampled transition or goal says which episode and step it came from.
"""

import os
import re

import numpy as np
import pytest
from scipy import stats

from tfnfrl.data.replay import EpisodeReplay



def _unroll(episode_ids, start, steps, obs_dim=3):
    """observations [n, steps + 1, obs_dim] = [id, t, -t] at t = start..start + steps and
    actions [n, steps, 2] = [id, t] (finite, distinct per episode and step)."""
    ids = np.asarray(episode_ids, np.float32)[:, None]
    t = np.arange(start, start + steps + 1, dtype=np.float32)[None, :]
    ids, t = np.broadcast_arrays(ids, t)
    columns = [ids, t, -t, np.zeros_like(t)][:obs_dim]
    observations = np.stack(columns, axis=-1)
    actions = np.stack([ids[:, :-1], t[:, :-1]], axis=-1)
    return observations, actions


def _fill(buffer, episode_ids, length, unroll):
    """Starts len(episode_ids) episodes and writes `length` steps in unrolls of `unroll`."""
    slots = buffer.start_episodes(len(episode_ids))
    for start in range(0, length, unroll):
        steps = min(unroll, length - start)
        buffer.write(slots, start, *_unroll(episode_ids, start, steps, buffer.observation_dim))
    return slots


def _truncated_geometric_pmf(lengths, discount):
    """Exact law of goal_offsets when t is uniform over all transitions of episodes of the
    given lengths: offset = min(K, L - t), K ~ Geometric(1 - discount) on {1, 2, ...}."""
    p = 1.0 - discount
    k = np.arange(1, max(lengths) + 1)
    pmf = np.zeros(len(k))
    for length in lengths:
        for t in range(length):
            remaining = length - t
            pmf[: remaining - 1] += p * discount ** (k[: remaining - 1] - 1)
            pmf[remaining - 1] += discount ** (remaining - 1)  # P(K >= remaining).
    return pmf / sum(lengths)


def _chi_square(observed, expected_probs, min_expected=5.0):
    """Pearson chi-square statistic and degrees of freedom, tail bins pooled."""
    expected = expected_probs * observed.sum()
    statistic, dof, pool_o, pool_e = 0.0, -1, 0.0, 0.0
    for i in range(len(expected)):
        pool_o += observed[i]
        pool_e += expected[i]
        if pool_e >= min_expected:
            statistic += (pool_o - pool_e) ** 2 / pool_e
            dof += 1
            pool_o, pool_e = 0.0, 0.0
    return statistic, dof


def test_goal_offsets_follow_the_truncated_geometric_law():
    discount = 0.95  # Mean offset 20 on episodes of 40..80 steps: truncation matters.
    buffer = EpisodeReplay(4, 80, 3, 2, discount=discount, seed=3)
    _fill(buffer, [0, 1], 80, 16)
    _fill(buffer, [2, 3], 40, 16)  # Partially written episodes truncate at what is stored.
    lengths = [80, 80, 40, 40]
    batch = buffer.sample(200_000, step=0)
    offsets = batch["goal_offsets"]
    steps = batch["observations"][:, 1].astype(np.int64)
    episode_length = np.where(batch["observations"][:, 0] < 2, 80, 40)
    assert offsets.min() >= 1
    assert (offsets <= episode_length - steps).all()
    observed = np.bincount(offsets, minlength=81)[1:]
    expected = _truncated_geometric_pmf(lengths, discount)
    stat, dof = _chi_square(observed.astype(np.float64), expected)
    assert dof > 50
    assert stat < stats.chi2.ppf(1 - 1e-4, dof), (stat, dof)  # Wrong gamma +-0.01: > 4000.
    # The truncation atom: from t = L - 1 the only future state is the last one.
    last = steps == episode_length - 1
    assert last.any() and (offsets[last] == 1).all()
    # Mean offset far from the end approaches 1 / (1 - discount).
    early = (steps < 10) & (episode_length == 80)
    assert abs(offsets[early].mean() - 1 / (1 - discount)) < 1.0


def test_offsets_follow_the_geometric_law_on_long_episodes():
    discount = 0.99
    buffer = EpisodeReplay(2, 1000, 2, 2, discount=discount, seed=0)
    _fill(buffer, [0, 1], 1000, 250)
    batch = buffer.sample(100_000, step=7)
    observed = np.bincount(batch["goal_offsets"], minlength=1001)[1:].astype(np.float64)
    stat, dof = _chi_square(observed, _truncated_geometric_pmf([1000, 1000], discount))
    assert stat < stats.chi2.ppf(1 - 1e-4, dof), (stat, dof)


def test_samples_never_cross_episodes_or_stored_lengths():
    buffer = EpisodeReplay(5, 30, 3, 2, discount=0.9, seed=1)
    _fill(buffer, [10, 11, 12], 30, 7)
    slots = buffer.start_episodes(2)
    buffer.write(slots, 0, *_unroll([20, 21], 0, 4))  # In progress: 4 of 30 steps stored.
    lengths = {10: 30, 11: 30, 12: 30, 20: 4, 21: 4}
    batch = buffer.sample(20_000, step=5)
    ids, steps = batch["observations"][:, 0], batch["observations"][:, 1]
    np.testing.assert_array_equal(batch["actions"], batch["observations"][:, :2])
    np.testing.assert_array_equal(batch["next_observations"][:, 0], ids)
    np.testing.assert_array_equal(batch["next_observations"][:, 1], steps + 1)
    np.testing.assert_array_equal(batch["goals"][:, 0], ids)  # Same episode.
    np.testing.assert_array_equal(batch["goals"][:, 1], steps + batch["goal_offsets"])
    limit = np.array([lengths[int(i)] for i in ids])
    assert (steps < limit).all() and (batch["goals"][:, 1] <= limit).all()
    # Transitions are uniform over stored ones: episodes are drawn in proportion to length.
    frequency = {i: np.mean(ids == i) for i in lengths}
    for i, length in lengths.items():
        assert abs(frequency[i] - length / 98) < 0.01, (i, frequency[i])
    assert {k: v.dtype for k, v in batch.items()} == dict(
        observations=np.float32, actions=np.float32, next_observations=np.float32,
        goals=np.float32, goal_offsets=np.int64)
    assert batch["goals"].shape == (20_000, 2) and buffer.goal_dim == 2


def test_goal_indices_select_goal_coordinates():
    buffer = EpisodeReplay(1, 10, 3, 2, goal_indices=(2,), discount=0.5, seed=0)
    _fill(buffer, [4], 10, 10)
    batch = buffer.sample(100, step=0)
    assert batch["goals"].shape == (100, 1)
    np.testing.assert_array_equal(batch["goals"][:, 0],
                                  -(batch["observations"][:, 1] + batch["goal_offsets"]))


def test_ring_overwrites_the_oldest_episodes():
    buffer = EpisodeReplay(3, 6, 3, 2, seed=0)
    assert buffer.num_episodes == 0 and buffer.num_transitions == 0
    np.testing.assert_array_equal(_fill(buffer, [0, 1], 6, 3), [0, 1])
    assert buffer.num_episodes == 2 and buffer.num_transitions == 12
    slots = buffer.start_episodes(2)  # Slot 2 is free; slot 0 holds the oldest episode.
    np.testing.assert_array_equal(slots, [2, 0])
    np.testing.assert_array_equal(buffer.lengths(), [0, 6, 0])
    assert buffer.num_episodes == 1 and buffer.num_transitions == 6
    buffer.write(slots, 0, *_unroll([2, 3], 0, 3))
    np.testing.assert_array_equal(buffer.lengths(), [3, 6, 3])
    ids = buffer.sample(5_000, step=0)["observations"][:, 0]
    assert set(np.unique(ids).tolist()) == {1.0, 2.0, 3.0}  # Episode 0 is gone.
    np.testing.assert_array_equal(buffer.start_episodes(3), [1, 2, 0])
    with pytest.raises(ValueError, match=r"^Cannot start 4 episodes in a buffer of 3 episode slots; "
                                         r"raise capacity_episodes"):
        buffer.start_episodes(4)


def test_write_refuses_inconsistent_unrolls():
    buffer = EpisodeReplay(4, 10, 3, 2, seed=0)
    slots = buffer.start_episodes(2)
    buffer.write(slots, 0, *_unroll([0, 1], 0, 4))
    before = (buffer.lengths(), buffer.sample(64, 0))

    def refused(match, *args):
        with pytest.raises(ValueError, match=match):
            buffer.write(*args)

    continues = r"^write\(start={}\) must continue each episode where it stands, but slots \[0, 1\] hold \[4, 4\]"
    refused(continues.format(6), slots, 6, *_unroll([0, 1], 6, 2))  # Skips ahead.
    refused(continues.format(0), slots, 0, *_unroll([0, 1], 0, 2))  # Repeats.
    refused(r"^Writing steps 4\.\.11 exceeds episode_length=10\.$", slots, 4, *_unroll([0, 1], 4, 7))
    observations, actions = _unroll([0, 1], 4, 3)
    observations_shape = (r"^observations must have shape \[n, U \+ 1, observation_dim\] = \(2, 4, 3\) "
                          r".* received shape ")
    refused(observations_shape + r"\(2, 3, 3\)\.$", slots, 4, observations[:, :-1], actions)
    refused(observations_shape + r"\(2, 4, 2\)\.$", slots, 4, observations[..., :2], actions)
    actions_shape = r"^actions must have shape \[n=2, U, action_dim=2\]; received shape "
    refused(actions_shape + r"\(2, 3, 1\)\.$", slots, 4, observations, actions[..., :1])
    refused(actions_shape + r"\(3, 2\)\.$", slots, 4, observations, actions[0])
    # Matching shapes, but an empty unroll (U = 0) is refused all the same.
    refused(r"= \(2, 1, 3\) for actions of shape \(2, 0, 2\) \(U >= 1\); received shape \(2, 1, 3\)\.$",
            slots, 4, observations[:, :1], actions[:, :0])
    refused(r"^slots must be distinct; received \[0, 0\]\.$", np.array([0, 0]), 4, observations, actions)
    refused(r"^slots must be in \[0, 4\); received \[0, 9\]\.$", np.array([0, 9]), 4, observations, actions)
    refused(r"^slots must be a non-empty int array \[n\]; received array\(\[0\., 1\.\]\)",
            np.array([0.0, 1.0]), 4, observations, actions)
    bad = observations.copy()
    bad[1, 2, 0] = np.nan
    refused("observations hold non-finite values \\(for slots \\[1\\]\\)", slots, 4, bad, actions)
    bad = actions.copy()
    bad[0, 0, 1] = np.inf
    refused("actions hold non-finite values", slots, 4, observations, bad)
    bad = observations.copy()
    bad[:, 0, 2] += 1.0
    refused("repeat the stored state at step 4", slots, 4, bad, actions)
    # Nothing was written by the refused calls.
    np.testing.assert_array_equal(buffer.lengths(), before[0])
    after = buffer.sample(64, 0)
    for key, value in before[1].items():
        np.testing.assert_array_equal(after[key], value)
    buffer.write(slots, 4, observations, actions)  # The right unroll still goes in.
    np.testing.assert_array_equal(buffer.lengths(), [7, 7, 0, 0])


def test_constructor_and_sample_arguments_are_checked():
    with pytest.raises(ValueError, match=r"^goal_indices must be a non-empty list of indices in \[0, 2\) "
                                         r"\(observation_dim=2\); received \(0, 2\)\.$"):
        EpisodeReplay(2, 10, 2, 2, goal_indices=(0, 2))
    with pytest.raises(ValueError, match=r"^discount must be in \(0, 1\); received discount=1\.0\.$"):
        EpisodeReplay(2, 10, 2, 2, discount=1.0)
    with pytest.raises(ValueError, match=r"^capacity_episodes must be an int >= 1; received capacity_episodes=0\.$"):
        EpisodeReplay(0, 10, 2, 2)
    empty = r"^The replay buffer is empty: write at least one unroll first\.$"
    buffer = EpisodeReplay(2, 10, 3, 2)
    with pytest.raises(ValueError, match=empty):
        buffer.sample(4, 0)
    buffer.start_episodes(2)
    with pytest.raises(ValueError, match=empty):
        buffer.sample(4, 0)
    with pytest.raises(ValueError, match=empty):
        buffer.sample_goals(4, np.random.default_rng(0))
    _fill(buffer, [0, 1], 3, 3)
    with pytest.raises(ValueError, match=r"^step must be an int >= 0; received step=-1\.$"):
        buffer.sample(4, -1)
    with pytest.raises(ValueError, match=r"^batch_size must be an int >= 1; received batch_size=0\.$"):
        buffer.sample(0, 0)
    with pytest.raises(ValueError, match=r"^rng must be a numpy Generator; received int\.$"):
        buffer.sample_goals(4, 0)


def test_sampling_is_a_pure_function_of_seed_and_step():
    def make(seed):
        buffer = EpisodeReplay(4, 20, 3, 2, seed=seed)
        _fill(buffer, [0, 1, 2], 20, 5)
        return buffer

    a, b = make(0), make(0)
    first = a.sample(256, 3)
    a.sample(256, 4)
    a.sample_goals(10, np.random.default_rng(1))
    for again in (a.sample(256, 3), b.sample(256, 3)):
        for key in first:
            np.testing.assert_array_equal(again[key], first[key])
    assert not np.array_equal(a.sample(256, 4)["observations"], first["observations"])
    assert not np.array_equal(make(1).sample(256, 3)["observations"], first["observations"])


def test_sample_goals_are_uniform_over_stored_states():
    buffer = EpisodeReplay(3, 9, 3, 2, goal_indices=(0, 1), seed=0)
    _fill(buffer, [0], 9, 9)
    slots = buffer.start_episodes(1)
    buffer.write(slots, 0, *_unroll([1], 0, 4))  # Stores states 0..4.
    goals = buffer.sample_goals(60_000, np.random.default_rng(0))
    assert goals.shape == (60_000, 2) and goals.dtype == np.float32
    states = {(0, t) for t in range(10)} | {(1, t) for t in range(5)}
    pairs = [tuple(g) for g in goals.astype(np.int64).tolist()]
    assert set(pairs) == states
    counts = np.array([pairs.count(s) for s in sorted(states)])
    assert np.abs(counts / len(pairs) - 1 / 15).max() < 0.006
    np.testing.assert_array_equal(buffer.sample_goals(7, np.random.default_rng(5)),
                                  buffer.sample_goals(7, np.random.default_rng(5)))


def test_save_load_round_trip(tmp_path):
    buffer = EpisodeReplay(3, 12, 3, 2, goal_indices=(1, 0), discount=0.9, seed=11)
    _fill(buffer, [0, 1], 12, 5)
    slots = buffer.start_episodes(2)  # Wraps: slots [2, 0].
    buffer.write(slots, 0, *_unroll([2, 3], 0, 5))
    path = str(tmp_path / "replay" / "buffer.npz")
    assert buffer.save(path) == path
    assert os.listdir(tmp_path / "replay") == ["buffer.npz"]  # No temporary file left.
    loaded = EpisodeReplay.load(path)
    assert loaded.config() == buffer.config()
    np.testing.assert_array_equal(loaded.lengths(), buffer.lengths())
    assert loaded.num_transitions == buffer.num_transitions == 22
    for step in (0, 1, 99):
        expected, actual = buffer.sample(128, step), loaded.sample(128, step)
        for key in expected:
            np.testing.assert_array_equal(actual[key], expected[key])
    np.testing.assert_array_equal(loaded.sample_goals(9, np.random.default_rng(2)),
                                  buffer.sample_goals(9, np.random.default_rng(2)))
    # Collection resumes where it stood: the in-progress unroll and the ring pointer.
    for b in (buffer, loaded):
        b.write(slots, 5, *_unroll([2, 3], 5, 3))
        np.testing.assert_array_equal(b.start_episodes(2), [1, 2])
    # Saving again replaces the file atomically.
    loaded.save(path)
    np.testing.assert_array_equal(EpisodeReplay.load(path).lengths(), [8, 0, 0])


def test_load_names_the_path_of_a_missing_or_corrupt_file(tmp_path):
    missing = str(tmp_path / "nothing.npz")
    with pytest.raises(FileNotFoundError, match=rf"^No replay buffer file at {re.escape(missing)}\.$"):
        EpisodeReplay.load(missing)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all" * 10)
    with pytest.raises(ValueError, match=r"garbage\.npz is not a readable EpisodeReplay \.npz file"):
        EpisodeReplay.load(str(garbage))
    buffer = EpisodeReplay(2, 50, 3, 2)
    _fill(buffer, [0, 1], 50, 25)
    good = tmp_path / "good.npz"
    buffer.save(str(good))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated\.npz is not a readable EpisodeReplay \.npz file"):
        EpisodeReplay.load(str(truncated))
    corrupted = tmp_path / "corrupted.npz"
    data = bytearray(good.read_bytes())
    data[len(data) // 3: len(data) // 3 + 64] = b"x" * 64
    corrupted.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupted\.npz is not a readable EpisodeReplay \.npz file"):
        EpisodeReplay.load(str(corrupted))
    other = tmp_path / "other.npz"
    np.savez(other, observations=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz is not a consistent EpisodeReplay file"):
        EpisodeReplay.load(str(other))
    with np.load(good) as data:
        arrays = dict(data)
    arrays["lengths"] = np.array([51, 0])
    inconsistent = tmp_path / "inconsistent.npz"
    np.savez(inconsistent, **arrays)
    with pytest.raises(ValueError, match="inconsistent.npz .*lengths outside"):
        EpisodeReplay.load(str(inconsistent))
