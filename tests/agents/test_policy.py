"""Policy's eager fast path: the concrete function for matching tensors, tf.function's checks otherwise."""

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny

SEED = tf.constant([3, 7], tf.int32)


def _inputs(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, tiny.OBS)).astype(np.float32), rng.normal(size=(batch, tiny.GOAL)).astype(np.float32)


@pytest.mark.parametrize("name", ["nf_gcbc", "gcbc"])
def test_tensor_calls_take_the_concrete_function_and_equal_the_tf_function(name):
    agent = tiny.tiny_agent(name)
    observations, goals = _inputs()
    fast = agent.policy.act(tf.constant(observations), tf.constant(goals), SEED).numpy()
    assert agent.policy.act._concrete is not None  # pylint: disable=protected-access  # The fast path ran.
    through_function = agent.policy.act._function(observations, goals, SEED).numpy()  # pylint: disable=protected-access
    np.testing.assert_array_equal(fast, through_function)
    # Numpy (and float64) inputs still work, through the tf.function's conversion.
    np.testing.assert_allclose(
        agent.policy.act(observations.astype(np.float64), goals, np.array([3, 7])).numpy(), fast, atol=1e-6
    )
    np.testing.assert_array_equal(
        agent.policy.act_mode(tf.constant(observations), tf.constant(goals)).numpy(),
        agent.policy.act_mode._function(observations, goals).numpy(),  # pylint: disable=protected-access
    )


def test_wrong_shapes_get_the_signature_error_not_a_kernel_error():
    agent = tiny.tiny_agent("nf_gcbc")
    observations, goals = _inputs()
    # Every binding error quotes the whole signature (so "observations" alone would match a goals error too):
    # match the refused argument's own spec and the spec it fails to cast to.
    expected = r"to TensorSpec\(shape=\(None, 4\), dtype=tf.float32, name='observations'\)"
    with pytest.raises(TypeError, match=r"Can not cast TensorSpec\(shape=\(3, 3\), dtype=tf.float32, "
                                        r"name='observations'\) " + expected):
        agent.policy.act(tf.constant(observations[:, :-1]), tf.constant(goals), SEED)
    with pytest.raises(TypeError, match=r"Can not cast TensorSpec\(shape=\(4,\), dtype=tf.float32, "
                                        r"name='observations'\) " + expected):
        agent.policy.act(tf.constant(observations[0]), tf.constant(goals), SEED)


def test_frozen_flow_captures_few_variables():
    """The acting call captures the encoder's weights, the couplings' two hidden kernels, the
    context kernel and one packed variable, not one variable per bias and LayerNorm."""
    agent = tiny.tiny_agent("nf_gcbc")
    captured = agent.policy.act.get_concrete_function().captured_inputs
    encoder_weights = len(agent.encoder.weights)
    blocks = agent.head.flow.num_blocks
    assert len(captured) <= encoder_weights + 2 * blocks + 2
    # A bound alone would pass a function that captured nothing (constants baked in at trace time):
    # the encoder's own variables are among the captures, so acting reads the live weights.
    captured_ids = {id(c) for c in captured}
    assert all(id(w.handle) in captured_ids for w in agent.encoder.weights)
