"""Goal relabelling laws, episode boundaries, determinism and rewards of the samplers."""

import numpy as np
import pytest
from scipy import stats

from tests.data.synthetic import make_dataset
from tfnfrl.data import GCSampler, TransitionSampler, gc_sampler_config


def config(**overrides):
    c = gc_sampler_config()
    c.update(overrides)
    return c


def trajectory_only(geom, discount=0.9):
    return config(discount=discount, actor_p_curgoal=0.0, actor_p_trajgoal=1.0,
                  actor_p_randomgoal=0.0, actor_geom_sample=geom)


def draw(sampler, n_steps=10, batch=10_000):
    parts = [sampler.sample_indices(batch, step) for step in range(n_steps)]
    return [np.concatenate(x) for x in zip(*parts)]


def test_geometric_offsets_follow_the_truncated_geometric_law():
    gamma = 0.9
    sampler = GCSampler(make_dataset(), trajectory_only(True, gamma), seed=0)
    idxs, goals, _ = draw(sampler)
    remaining = sampler.final_index[idxs] - idxs
    offsets = goals - idxs
    assert np.all((offsets >= 0) & (offsets <= remaining))
    assert np.all((offsets == 0) == (remaining == 0))  # Only a last state is its own goal.

    # Far from the end the truncation is negligible: P(O = k) = gamma^(k-1) (1 - gamma).
    far = offsets[remaining >= 80]
    ks = np.arange(1, 31)
    pmf = gamma ** (ks - 1) * (1 - gamma)
    observed = np.append([np.sum(far == k) for k in ks], np.sum(far > 30))
    expected = np.append(pmf, gamma**30) * far.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    np.testing.assert_allclose(far.mean(), 1 / (1 - gamma), rtol=0.03)

    # Near the end the tail mass collapses onto the last state: P(O = d) = gamma^(d-1).
    for d in (1, 2, 4):
        at_d = offsets[remaining == d]
        p = gamma ** (d - 1)
        z = (np.mean(at_d == d) - p) / np.sqrt(p * (1 - p) / at_d.size + 1e-12)
        assert abs(z) < 4, (d, at_d.size, np.mean(at_d == d), p)


def test_uniform_future_goals_are_uniform_over_the_rest_of_the_trajectory():
    sampler = GCSampler(make_dataset(), trajectory_only(False), seed=1)
    idxs, goals, _ = draw(sampler)
    remaining = sampler.final_index[idxs] - idxs
    offsets = goals - idxs
    assert np.all((offsets >= 1) | (remaining == 0)) and np.all(offsets <= remaining)
    for d in (4, 50):
        at_d = offsets[remaining == d]
        observed = np.bincount(at_d, minlength=d + 1)[1:]
        assert stats.chisquare(observed).pvalue > 1e-3


def test_goals_never_cross_episode_boundaries():
    data = make_dataset()
    for geom in (True, False):
        batch = GCSampler(data, trajectory_only(geom), seed=2).sample(4096, step=3)
        np.testing.assert_array_equal(batch["actor_goals"][:, 1], batch["observations"][:, 1])
        assert np.all(batch["actor_goals"][:, 0] >= batch["observations"][:, 0])


def test_goal_mixture_probabilities():
    data = make_dataset()
    c = config(value_p_curgoal=0.2, value_p_trajgoal=0.5, value_p_randomgoal=0.3,
               value_geom_sample=False)
    sampler = GCSampler(data, c, seed=3)
    idxs, _, value = draw(sampler)
    n = len(data["observations"])
    traj = data["observations"][:, 1]
    own_share = np.bincount(traj.astype(int))[traj[idxs].astype(int)] / n
    crossing = traj[value] != traj[idxs]
    # Only random goals leave the trajectory: P = 0.3 * (1 - own trajectory's share).
    np.testing.assert_allclose(crossing.mean(), 0.3 * np.mean(1 - own_share), atol=0.01)
    # Current-state goals, plus uniform future goals at the last state (index == final).
    at_end = sampler.final_index[idxs] == idxs
    expected_same = 0.2 + 0.5 * at_end.mean() + 0.3 * np.mean(1 / n)
    np.testing.assert_allclose(np.mean(value == idxs), expected_same, atol=0.01)


def test_batches_are_a_pure_function_of_seed_and_step():
    data = make_dataset()
    a = GCSampler(data, gc_sampler_config(), seed=5)
    b = GCSampler(data, gc_sampler_config(), seed=5)
    later = a.sample(64, step=9)
    a.sample(64, step=0)
    for key, value in b.sample(64, step=9).items():  # Fresh sampler, different call order.
        np.testing.assert_array_equal(value, later[key])
    assert not np.array_equal(a.sample(64, step=10)["observations"], later["observations"])
    other = GCSampler(data, gc_sampler_config(), seed=6).sample(64, step=9)
    assert not np.array_equal(other["observations"], later["observations"])


def test_batch_contents_rewards_and_masks():
    data = make_dataset()
    sampler = GCSampler(data, config(gc_negative=True), seed=0)
    batch = sampler.sample(2048, step=1)
    idx = batch["observations"][:, 0].astype(int)
    np.testing.assert_array_equal(batch["actions"], data["actions"][idx])
    np.testing.assert_array_equal(batch["next_observations"], data["next_observations"][idx])
    success = np.all(batch["value_goals"] == batch["observations"], axis=1)
    assert 0.1 < success.mean() < 0.5
    np.testing.assert_array_equal(batch["rewards"], success - 1.0)
    np.testing.assert_array_equal(batch["masks"], 1.0 - success)
    assert all(v.dtype == np.float32 for v in batch.values())
    positive = GCSampler(data, config(gc_negative=False), seed=0).sample(2048, step=1)
    np.testing.assert_array_equal(positive["rewards"], success.astype(np.float32))
    spec = sampler.element_spec(2048)
    assert {k: v.shape for k, v in batch.items()} == {k: s for k, (s, _) in spec.items()}


def test_bad_configs_and_datasets_raise():
    data = make_dataset()
    # Each message names the offending mixture (actor or value) and the values received.
    with pytest.raises(ValueError, match=r"^actor_p_curgoal/trajgoal/randomgoal must be >= 0 and sum to 1; "
                                         r"received \[0\.0, 0\.5, 0\.0\]\.$"):
        GCSampler(data, config(actor_p_trajgoal=0.5), seed=0)
    with pytest.raises(ValueError, match=r"^value_p_curgoal/trajgoal/randomgoal must be >= 0 and sum to 1; "
                                         r"received \[-0\.2, 0\.9, 0\.3\]\.$"):
        GCSampler(data, config(value_p_curgoal=-0.2, value_p_trajgoal=0.9), seed=0)  # Sums to 1, one < 0.
    for discount in (1.0, 0.0):
        with pytest.raises(ValueError, match=rf"^discount must be in \(0, 1\); received discount={discount}\.$"):
            GCSampler(data, config(discount=discount), seed=0)
    for seed in (-1, 1.0):
        with pytest.raises(ValueError, match=rf"^seed must be an int >= 0; received seed={seed}\.$"):
            GCSampler(data, gc_sampler_config(), seed=seed)
    cut = dict(data, terminals=np.zeros_like(data["terminals"]))
    with pytest.raises(ValueError, match=r"terminals\[-1\] == 1\): the dataset is cut mid-trajectory"):
        GCSampler(cut, gc_sampler_config(), seed=0)
    with pytest.raises(ValueError, match=r"^step must be >= 0; received step=-1\.$"):
        GCSampler(data, gc_sampler_config(), seed=0).sample(4, step=-1)
    with pytest.raises(ValueError, match=r"^stream must be >= 0; received stream=-1\.$"):
        GCSampler(data, gc_sampler_config(), seed=0).sample(4, step=0, stream=-1)


def test_transition_sampler():
    data = make_dataset()
    with pytest.raises(ValueError, match=r"^TransitionSampler needs \['rewards', 'masks'\], which only singletask"):
        TransitionSampler(data, seed=0)
    with pytest.raises(ValueError, match=r"^TransitionSampler needs \['masks'\], "):
        TransitionSampler(dict(data, rewards=np.zeros(len(data["observations"]), np.float32)), seed=0)
    n = len(data["observations"])
    data["rewards"] = -(np.arange(n) % 3 != 0).astype(np.float32)
    data["masks"] = -data["rewards"]
    sampler = TransitionSampler(data, seed=4)
    batch = sampler.sample(512, step=2)
    idx = batch["observations"][:, 0].astype(int)
    np.testing.assert_array_equal(batch["rewards"], data["rewards"][idx])
    np.testing.assert_array_equal(batch["masks"], data["masks"][idx])
    np.testing.assert_array_equal(batch["next_observations"][:, 0], idx + 1)
    np.testing.assert_array_equal(TransitionSampler(data, seed=4).sample(512, 2)["actions"],
                                  batch["actions"])
    assert set(sampler.element_spec(8)) == set(batch)


def test_transition_sampler_next_actions_stay_inside_the_episode():
    data = make_dataset()
    n = len(data["observations"])
    data["rewards"] = np.zeros(n, np.float32)
    data["masks"] = np.ones(n, np.float32)
    data["actions"] = np.arange(n, dtype=np.float32)[:, None].repeat(3, axis=1)  # Action i names its row.
    batch = TransitionSampler(data, seed=1).sample(4096, step=0)
    idx = batch["observations"][:, 0].astype(int)
    last = data["terminals"][idx] > 0
    assert last.any() and (~last).any()
    np.testing.assert_array_equal(batch["next_actions"][~last, 0], idx[~last] + 1)  # The successor's action.
    np.testing.assert_array_equal(batch["next_actions"][last, 0], idx[last])  # No successor: its own action.
