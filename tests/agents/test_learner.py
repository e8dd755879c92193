"""The learner contract on toy networks: loss groups in order, own variables, Polyak targets, exact resume."""

import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from tfnfrl import rng
from tfnfrl.agents import learner, specs, targets
from tfnfrl.training import checkpoints

SPEC = specs.EnvSpec(observation_dim=2, action_dim=1)
X = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]], np.float32)
Y = np.array([[0.3], [-0.7], [1.1]], np.float32)
BATCH = dict(x=X, y=Y)


def _dense(name, seed):
    layer = keras.layers.Dense(1, kernel_initializer=keras.initializers.VarianceScaling(seed=seed), name=name)
    layer(tf.zeros([1, 2]))
    return layer


class ToyLearner(learner.Learner):
    """Group "fit" trains `a` on (a(x) + b(x) - y)^2 (reading b); group "match" trains `b` on (b(x) - a(x))^2."""

    def __init__(self, seed=0, lr=(0.1, 0.05), tau=0.25, optimizer="sgd", match_every=1):
        super().__init__(ml_collections.ConfigDict(dict(agent_name="toy")), SPEC)
        self.tau = tau
        self.a, self.b = _dense("a", seed), _dense("b", seed + 100)
        self.target_b = targets.make_target(self.b, tf.zeros([1, 2]))
        self.track(self.a, self.b, self.target_b)
        make = keras.optimizers.SGD if optimizer == "sgd" else keras.optimizers.Adam
        self.fit_optimizer, self.match_optimizer = make(lr[0]), make(lr[1])
        self.loss_groups = [
            learner.LossGroup("fit", self.fit_loss, lambda: self.a.trainable_weights, self.fit_optimizer),
            learner.LossGroup("match", self.match_loss, lambda: self.b.trainable_weights, self.match_optimizer,
                              every=match_every),
        ]
        self.build_optimizers()

    def fit_loss(self, batch, seed):
        del seed
        error = self.a(batch["x"]) + self.b(batch["x"]) - batch["y"]
        return tf.reduce_sum(tf.square(error), -1), {"abs_error": tf.reduce_mean(tf.abs(error))}

    def match_loss(self, batch, seed):
        del seed
        return tf.reduce_sum(tf.square(self.b(batch["x"]) - self.a(batch["x"])), -1), {}

    def update_targets(self, step):
        targets.polyak_update(self.b.weights, self.target_b.weights, self.tau)


def _numpy(layer):
    return [w.numpy().copy() for w in layer.weights]


def _linear(weights, x):
    kernel, bias = weights
    return x @ kernel + bias


def test_groups_apply_in_order_each_to_its_own_variables_then_targets_move():
    toy = ToyLearner()
    a0, b0, t0 = _numpy(toy.a), _numpy(toy.b), _numpy(toy.target_b)
    np.testing.assert_array_equal(b0[0], t0[0])  # The target starts as a copy.
    metrics = toy.train_step(BATCH, tf.constant([0, 0]), step=0)

    # Group "fit": gradient of mean((a + b - y)^2) w.r.t. a's kernel and bias, SGD lr 0.1.
    error = _linear(a0, X) + _linear(b0, X) - Y
    a1 = [a0[0] - 0.1 * (2 * X.T @ error / len(X)), a0[1] - 0.1 * (2 * error.mean(0))]
    # Group "match" runs after "fit" and so reads the updated a.
    gap = _linear(b0, X) - _linear(a1, X)
    b1 = [b0[0] - 0.05 * (2 * X.T @ gap / len(X)), b0[1] - 0.05 * (2 * gap.mean(0))]
    for got, want in zip(_numpy(toy.a) + _numpy(toy.b), a1 + b1):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Polyak by hand: target <- tau * online + (1 - tau) * target.
    for got, online, old in zip(_numpy(toy.target_b), b1, t0):
        np.testing.assert_allclose(got, 0.25 * online + 0.75 * old, rtol=1e-5, atol=1e-6)
    assert set(metrics) == {"fit/loss", "fit/abs_error", "fit/grad_norm", "match/loss", "match/grad_norm"}
    np.testing.assert_allclose(float(metrics["fit/loss"]), np.mean(np.sum(error**2, -1)), rtol=1e-5)


def test_a_group_with_a_zero_learning_rate_leaves_only_its_own_variables_unchanged():
    toy = ToyLearner(lr=(0.0, 0.05))
    a0, b0 = _numpy(toy.a), _numpy(toy.b)
    toy.train_step(BATCH, tf.constant([0, 0]))
    assert all(np.array_equal(x, y) for x, y in zip(_numpy(toy.a), a0))
    assert not all(np.array_equal(x, y) for x, y in zip(_numpy(toy.b), b0))


def test_delayed_group_applies_only_every_kth_step_but_reports_every_step():
    toy = ToyLearner(match_every=2)
    update = tf.function(toy.update, jit_compile=True)
    b_before = _numpy(toy.b)
    metrics = update(BATCH, tf.constant([0, 1]), tf.constant(1, tf.int64))  # 1 % 2 != 0: not applied.
    assert "match/loss" in metrics and np.isfinite(float(metrics["match/loss"]))
    assert all(np.array_equal(x, y) for x, y in zip(_numpy(toy.b), b_before))
    assert int(toy.match_optimizer.iterations.numpy()) == 0 and int(toy.fit_optimizer.iterations.numpy()) == 1
    update(BATCH, tf.constant([0, 2]), tf.constant(2, tf.int64))
    assert int(toy.match_optimizer.iterations.numpy()) == 1
    assert not all(np.array_equal(x, y) for x, y in zip(_numpy(toy.b), b_before))


def test_a_group_whose_loss_misses_one_of_its_variables_is_refused():
    toy = ToyLearner()
    toy.loss_groups[1] = learner.LossGroup(
        "match", toy.match_loss, lambda: toy.b.trainable_weights + toy.target_b.trainable_weights, toy.match_optimizer)
    with pytest.raises(ValueError, match="gives no gradient to.*target_b"):
        toy.train_step(BATCH, tf.constant([0, 0]))


def test_learner_with_a_target_network_and_two_optimizers_resumes_exactly(tmp_path):
    def run(toy, steps, start=0):
        step_fn = tf.function(toy.train_step)
        for i in range(start, start + steps):
            batch = dict(x=X + 0.1 * i, y=Y - 0.05 * i)
            step_fn(batch, rng.fold_in(tf.constant([0, 0]), i), tf.constant(i, tf.int64))

    reference = ToyLearner(optimizer="adam")
    run(reference, 5)
    interrupted = ToyLearner(optimizer="adam")
    run(interrupted, 3)
    checkpoints.Checkpointer(str(tmp_path), interrupted, seed=0).save(3)
    resumed = ToyLearner(seed=7, optimizer="adam")  # Other initial weights: all must come from the checkpoint.
    assert checkpoints.Checkpointer(str(tmp_path), resumed, seed=0).restore() == 3
    run(resumed, 2, start=3)
    for layer in ("a", "b", "target_b"):
        for got, want in zip(_numpy(getattr(resumed, layer)), _numpy(getattr(reference, layer))):
            np.testing.assert_array_equal(got, want, err_msg=layer)
    for name in ("fit_optimizer", "match_optimizer"):
        for got, want in zip(getattr(resumed, name).variables, getattr(reference, name).variables):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=name)


def test_polyak_update_by_hand_and_shape_mismatch():
    source = [tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])]
    target = [tf.Variable([5.0, -2.0]), tf.Variable([[0.0]])]
    targets.polyak_update(source, target, 0.1)
    np.testing.assert_allclose(target[0].numpy(), [0.1 * 1 + 0.9 * 5, 0.1 * 2 + 0.9 * -2])
    np.testing.assert_allclose(target[1].numpy(), [[0.3]])
    targets.polyak_update(source, target, 1.0)
    np.testing.assert_array_equal(target[0].numpy(), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^Weight \S+ has shape \(1,\) but its target \S+ has \(2,\)\.$"):
        targets.polyak_update([tf.Variable([1.0])], [tf.Variable([1.0, 2.0])], 0.5)
    with pytest.raises(ValueError, match=r"^Cannot pair 2 source weights with 1 target weights\.$"):
        targets.polyak_update(source, target[:1], 0.5)  # zip() alone would silently skip the second pair.
