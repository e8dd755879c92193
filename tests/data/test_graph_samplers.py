"""The in-graph samplers draw the numpy samplers' laws with TF ops, XLA or not, and never leave a trajectory."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from tests.data.synthetic import make_dataset
from tfnfrl.data import GCSampler, TransitionSampler, gc_sampler_config, graph_samplers, make_tf_dataset


def trajectory_only(geom, discount=0.9):
    config = gc_sampler_config()
    config.update(discount=discount, actor_p_curgoal=0.0, actor_p_trajgoal=1.0, actor_p_randomgoal=0.0,
                  actor_geom_sample=geom)
    return config


def offsets(sampler, steps=4, batch=25_000):
    """(remaining steps to the trajectory's end, actor goal offset) of many draws."""
    idxs, goals = [], []
    for step in range(steps):
        i, a, _ = sampler.sample_indices(batch, step)
        idxs.append(np.asarray(i))
        goals.append(np.asarray(a))
    idxs, goals = np.concatenate(idxs), np.concatenate(goals)
    return idxs, goals - idxs


@pytest.mark.parametrize("geom", [True, False])
def test_goal_offsets_follow_the_numpy_samplers_law_and_stay_in_the_trajectory(geom):
    data = make_dataset()
    numpy_sampler = GCSampler(data, trajectory_only(geom), seed=0)
    graph_sampler = graph_samplers.from_numpy(numpy_sampler)
    final = numpy_sampler.final_index
    np_idxs, np_offsets = offsets(numpy_sampler)
    tf_idxs, tf_offsets = offsets(graph_sampler)
    remaining = final[tf_idxs] - tf_idxs
    assert np.all((tf_offsets >= 0) & (tf_offsets <= remaining))  # Never past the trajectory's end.
    assert np.all((tf_offsets == 0) == (remaining == 0))
    # States are uniform over the dataset (the trajectories get their share of rows).
    traj = data["observations"][:, 1].astype(int)
    lengths = np.bincount(traj)
    assert stats.chisquare(np.bincount(traj[tf_idxs], minlength=len(lengths)),
                           lengths / lengths.sum() * tf_idxs.size).pvalue > 1e-3
    # Same offset law as the numpy sampler: a two-sample chi-square on the offsets (tail pooled),
    # far from the end and one step from a short trajectory's end.
    for name, np_mask, tf_mask, top in (
        ("far", final[np_idxs] - np_idxs >= 80, remaining >= 80, 40),
        ("near", final[np_idxs] - np_idxs == 3, remaining == 3, 3),
    ):
        table = np.stack([np.bincount(np.minimum(o[m], top), minlength=top + 1)
                          for o, m in ((np_offsets, np_mask), (tf_offsets, tf_mask))])
        table = table[:, table.sum(axis=0) > 0]
        assert stats.chi2_contingency(table).pvalue > 1e-3, (name, table)
    if geom:  # The law itself: mean offset 1 / (1 - discount) far from the end.
        np.testing.assert_allclose(tf_offsets[remaining >= 80].mean(), 10.0, rtol=0.03)


def test_goal_mixture_and_rewards():
    data = make_dataset()
    config = gc_sampler_config()
    config.update(value_p_curgoal=0.2, value_p_trajgoal=0.5, value_p_randomgoal=0.3, gc_negative=True)
    sampler = graph_samplers.from_numpy(GCSampler(data, config, seed=3))
    batch = {k: v.numpy() for k, v in sampler.sample(40_000, 0).items()}
    traj_of = lambda x: x[:, 1]  # noqa: E731
    crossing = traj_of(batch["value_goals"]) != traj_of(batch["observations"])
    share = np.bincount(data["observations"][:, 1].astype(int)) / len(data["observations"])
    own = share[traj_of(batch["observations"]).astype(int)]
    np.testing.assert_allclose(crossing.mean(), 0.3 * np.mean(1 - own), atol=0.01)  # Only random goals cross.
    np.testing.assert_array_equal(traj_of(batch["actor_goals"]), traj_of(batch["observations"]))
    success = np.all(batch["value_goals"] == batch["observations"], axis=1)
    np.testing.assert_array_equal(batch["rewards"], success - 1.0)
    np.testing.assert_array_equal(batch["masks"], 1.0 - success)
    idx = batch["observations"][:, 0].astype(int)
    np.testing.assert_array_equal(batch["actions"], data["actions"][idx])
    np.testing.assert_array_equal(batch["next_observations"], data["next_observations"][idx])
    expected = GCSampler(data, config, seed=3).sample(8, 0)
    assert {k: (v.dtype, v.shape[1:]) for k, v in batch.items()} == {k: (v.dtype, v.shape[1:]) for k, v in expected.items()}


def test_batches_are_a_pure_function_of_seed_step_and_stream_with_or_without_xla():
    sampler = graph_samplers.from_numpy(GCSampler(make_dataset(), gc_sampler_config(), seed=5))
    eager = sampler.sample(64, tf.constant(9, tf.int64), 1)
    compiled = tf.function(lambda step: sampler.sample(64, step, 1), jit_compile=True)(tf.constant(9, tf.int64))
    for key in eager:
        np.testing.assert_array_equal(eager[key].numpy(), compiled[key].numpy(), err_msg=key)
    for other in (sampler.sample(64, 9, 0), sampler.sample(64, 10, 1)):
        assert not np.array_equal(other["observations"].numpy(), eager["observations"].numpy())


def test_transition_sampler_in_graph():
    data = make_dataset()
    n = len(data["observations"])
    data.update(rewards=-(np.arange(n) % 3 != 0).astype(np.float32), masks=np.ones(n, np.float32))
    data["actions"] = np.arange(n, dtype=np.float32)[:, None].repeat(3, axis=1)
    sampler = graph_samplers.from_numpy(TransitionSampler(data, seed=1))
    batch = {k: v.numpy() for k, v in sampler.sample(4096, 2).items()}
    idx = batch["observations"][:, 0].astype(int)
    np.testing.assert_array_equal(batch["rewards"], data["rewards"][idx])
    last = data["terminals"][idx] > 0
    np.testing.assert_array_equal(batch["next_actions"][~last, 0], idx[~last] + 1)
    np.testing.assert_array_equal(batch["next_actions"][last, 0], idx[last])


def test_tf_data_pipeline_maps_the_graph_sampler_without_numpy_function():
    sampler = graph_samplers.from_numpy(GCSampler(make_dataset(), gc_sampler_config(), seed=2))
    dataset = make_tf_dataset(sampler, 16, start_step=3)
    first = next(iter(dataset))
    for key, value in sampler.sample(16, 3).items():
        np.testing.assert_array_equal(first[key].numpy(), value.numpy())
    assert not any("PyFunc" in op for op in dataset_ops(dataset))
    numpy_dataset = make_tf_dataset(GCSampler(make_dataset(), gc_sampler_config(), seed=2), 16)
    assert any("PyFunc" in op for op in dataset_ops(numpy_dataset))  # (PyFuncStateless: what the check looks for.)


def dataset_ops(dataset):
    """The op types of a dataset's graph, its functions included."""
    graph = tf.compat.v1.GraphDef.FromString(
        tf.raw_ops.DatasetToGraphV2(input_dataset=dataset._variant_tensor).numpy()  # pylint: disable=protected-access
    )
    return {node.op for node in graph.node} | {node.op for f in graph.library.function for node in f.node_def}
