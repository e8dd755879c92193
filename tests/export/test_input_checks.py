"""The graph-level request checks that also guard TF Serving's feeds (no Python spec check there)."""

import numpy as np
import pytest
import tensorflow as tf

from tfnfrl.export import input_checks

ANY_MATRIX = tf.TensorSpec([None, None], tf.float32)


@tf.function(input_signature=[ANY_MATRIX, ANY_MATRIX])
def _checked(observations, goals):
    observations = input_checks.checked_matrix("observations", observations, 3)
    return observations, input_checks.checked_matrix("goals", goals, 2, batch_size=tf.shape(observations)[0])


def test_valid_inputs_pass_unchanged():
    observations, goals = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    out_obs, out_goals = _checked(observations, goals)
    np.testing.assert_array_equal(out_obs, observations)
    np.testing.assert_array_equal(out_goals, goals)


@pytest.mark.parametrize(
    "observations,goals,message",
    [
        (np.ones((4, 5)), np.zeros((4, 2)), r"`observations` must have shape float32 \[batch, 3\]"),
        (np.ones((4, 3)), np.zeros((4, 1)), r"`goals` must have shape float32 \[batch, 2\]"),
        (np.ones((4, 3)), np.zeros((3, 2)), "`goals` must have as many rows as `observations`"),
        (np.full((4, 3), np.nan), np.zeros((4, 2)), "`observations` contains a non-finite value"),
        (np.ones((4, 3)), np.full((4, 2), -np.inf), "`goals` contains a non-finite value"),
    ],
)
def test_bad_inputs_fail_with_a_message_naming_the_input(observations, goals, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        _checked(np.asarray(observations, np.float32), np.asarray(goals, np.float32))


@tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
def _seed(seed):
    return input_checks.resolve_seed(seed)


def test_a_given_seed_is_used_as_is():
    np.testing.assert_array_equal(_seed(tf.constant([3, -4])), [3, -4])


def test_an_empty_seed_draws_a_fresh_seed_on_every_call():
    first, second = _seed(tf.constant([], tf.int32)), _seed(tf.constant([], tf.int32))
    assert first.shape == (2,) and not np.array_equal(first, second)


def test_a_seed_of_the_wrong_length_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`seed` must be int32 \[2\]"):
        _seed(tf.constant([1, 2, 3]))
