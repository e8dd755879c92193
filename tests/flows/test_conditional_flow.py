"""ConditionalFlow: bijector math, density quality, serialisation, gradients, bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfnfrl.flows import ConditionalFlow
from tfnfrl.flows import toy

BLOCK_TYPES = ("coupling", "autoregressive")


def perturbed_flow(event_dim, context_dim, block_type, num_blocks=3, hidden_units=32, scale=0.1):
    """A flow whose weights are moved away from the identity initialisation (seeded)."""
    keras.utils.set_random_seed(0)
    flow = ConditionalFlow(event_dim, context_dim, num_blocks=num_blocks, hidden_units=hidden_units,
                           block_type=block_type, init_seed=0)
    flow.build()
    rng = np.random.default_rng(1)
    for w in flow.trainable_weights:
        w.assign(w.numpy() + scale * rng.standard_normal(w.shape).astype(np.float32))
    return flow


def random_inputs(batch, event_dim, context_dim, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, event_dim)).astype(np.float32)
    context = rng.standard_normal((batch, context_dim)).astype(np.float32) if context_dim else None
    return x, context


# ---------------------------------------------------------------------------- bijector math
@pytest.mark.parametrize("block_type", BLOCK_TYPES)
@pytest.mark.parametrize("event_dim,context_dim", [(1, 0), (1, 3), (2, 4), (5, 0), (5, 8)])
def test_round_trip_data_noise_data(block_type, event_dim, context_dim):
    flow = perturbed_flow(event_dim, context_dim, block_type)
    x, context = random_inputs(64, event_dim, context_dim)
    z, _ = flow.inverse_and_log_det(x, context)
    assert np.max(np.abs(z.numpy() - x)) > 1e-2, "the flow should not be the identity"
    x_back = flow.transform_noise(z, context)
    assert np.max(np.abs(x_back.numpy() - x)) <= 1e-4


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_round_trip_inside_tf_function(block_type):
    flow = perturbed_flow(3, 2, block_type)
    x, context = random_inputs(16, 3, 2)

    @tf.function(jit_compile=True)
    def round_trip(x, context):
        z, _ = flow.inverse_and_log_det(x, context)
        return flow.transform_noise(z, context)

    assert np.max(np.abs(round_trip(x, context).numpy() - x)) <= 1e-4


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
@pytest.mark.parametrize("event_dim", [1, 2, 5])
def test_log_det_matches_autodiff_jacobian(block_type, event_dim):
    context_dim = 3
    flow = perturbed_flow(event_dim, context_dim, block_type)
    x, context = random_inputs(8, event_dim, context_dim, seed=2)
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        z, log_det = flow.inverse_and_log_det(x, context)
    jacobian = tape.batch_jacobian(z, x)  # [B, d, d]
    _, autodiff_log_det = np.linalg.slogdet(jacobian.numpy().astype(np.float64))
    np.testing.assert_allclose(log_det.numpy(), autodiff_log_det, atol=1e-4)
    # ildj at x equals -fldj at z: the two directions agree.
    chain = flow.bijector(tf.constant(context))
    fldj = chain.forward_log_det_jacobian(z, event_ndims=1)
    np.testing.assert_allclose(fldj.numpy(), -log_det.numpy(), atol=1e-4)


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_sample_and_log_prob_agree_with_log_prob(block_type):
    flow = perturbed_flow(4, 3, block_type)
    _, context = random_inputs(32, 4, 3)
    seed = tf.constant([3, 4], tf.int32)
    samples, log_prob = flow.sample_and_log_prob(context, seed=seed)
    np.testing.assert_allclose(log_prob.numpy(), flow.log_prob(samples, context).numpy(), atol=1e-3)
    np.testing.assert_array_equal(samples.numpy(), flow.sample(context, seed=seed).numpy())
    other = flow.sample(context, seed=tf.constant([5, 6], tf.int32))
    assert not np.allclose(other.numpy(), samples.numpy())


def test_identity_at_initialisation_up_to_linear_flow():
    """Zero-initialised conditioners: with the linear flows off the flow is exactly N(0, I)."""
    flow = ConditionalFlow(3, 2, num_blocks=2, hidden_units=16, use_linear_flow=False)
    x, context = random_inputs(10, 3, 2)
    expected = -0.5 * np.sum(x**2, axis=-1) - 1.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(flow.log_prob(x, context).numpy(), expected, atol=1e-5)


def test_unconditional_sampling_needs_batch_size():
    flow = ConditionalFlow(2, 0, num_blocks=2, hidden_units=16)
    assert flow.sample(None, seed=1, batch_size=5).shape == (5, 2)
    with pytest.raises(ValueError, match=r"^An unconditional flow needs `batch_size` to sample\.$"):
        flow.sample(None, seed=1)


# ------------------------------------------------------------------ density quality (trained)
TARGET = toy.RotatingBimodal(radius=1.5, mode_std=0.3)


@pytest.fixture(scope="module")
def trained_flow():
    keras.utils.set_random_seed(0)
    flow = ConditionalFlow(2, 1, num_blocks=4, hidden_units=64, init_seed=0)
    toy.fit_density(flow, TARGET, steps=1500)
    return flow


def test_target_density_integrates_to_one():
    grid = np.linspace(-4.0, 4.0, 321)
    xx, yy = np.meshgrid(grid, grid)
    points = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    density = np.exp(TARGET.log_prob(points, np.full((len(points), 1), 0.3)))
    assert abs(density.sum() * (grid[1] - grid[0]) ** 2 - 1.0) < 1e-3


def test_trained_flow_matches_true_entropy_and_gaussian_does_not(trained_flow):
    x, c = TARGET.sample(np.random.default_rng(123), 20000)
    true_entropy = -np.mean(TARGET.log_prob(x, c))
    flow_nll = -np.mean(trained_flow.log_prob(x, c).numpy())
    gaussian = toy.DiagonalGaussian()
    toy.fit_density(gaussian, TARGET, steps=1500)
    gaussian_nll = -np.mean(gaussian.log_prob(x, c).numpy())
    assert flow_nll - true_entropy <= 0.15, (flow_nll, true_entropy)
    assert gaussian_nll - true_entropy > 0.15, (gaussian_nll, true_entropy)


@pytest.mark.parametrize("context_value", [-0.6, 0.4])
def test_trained_flow_density_integrates_to_one(trained_flow, context_value):
    grid = np.linspace(-4.0, 4.0, 321, dtype=np.float32)
    xx, yy = np.meshgrid(grid, grid)
    points = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    context = np.full((len(points), 1), context_value, np.float32)
    density = np.exp(trained_flow.log_prob(points, context).numpy())
    cell = (grid[1] - grid[0]) ** 2
    assert abs(density.sum() * cell - 1.0) <= 0.02


def test_samples_follow_the_target(trained_flow):
    """Samples land near the two modes in equal proportion."""
    c = np.full((4000, 1), 0.0, np.float32)  # Modes at (+-1.5, 0).
    samples = trained_flow.sample(c, seed=tf.constant([0, 7])).numpy()
    right = samples[:, 0] > 0
    assert 0.4 < right.mean() < 0.6
    np.testing.assert_allclose(samples[right].mean(0), [TARGET.radius, 0.0], atol=0.15)
    np.testing.assert_allclose(samples[~right].mean(0), [-TARGET.radius, 0.0], atol=0.15)


# ----------------------------------------------------------------------------- serialisation
@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_config_and_weights_round_trip(block_type):
    flow = perturbed_flow(3, 2, block_type)
    x, context = random_inputs(16, 3, 2)
    clone = ConditionalFlow.from_config(flow.get_config())
    clone.build()
    clone.set_weights(flow.get_weights())
    np.testing.assert_array_equal(clone.log_prob(x, context).numpy(), flow.log_prob(x, context).numpy())
    assert clone.get_config() == flow.get_config()


def test_keras_saving_round_trip(tmp_path):
    flow = perturbed_flow(3, 2, "coupling")
    x_in, c_in = keras.Input((3,)), keras.Input((2,))
    model = keras.Model([x_in, c_in], flow(x_in, c_in))
    path = str(tmp_path / "flow.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x, context = random_inputs(16, 3, 2)
    np.testing.assert_allclose(loaded([x, context]).numpy(), flow.log_prob(x, context).numpy(), atol=1e-6)
    restored_flow = [layer for layer in loaded.layers if isinstance(layer, ConditionalFlow)][0]
    np.testing.assert_array_equal(restored_flow.sample(context, seed=[1, 2]).numpy(),
                                  flow.sample(context, seed=[1, 2]).numpy())


# --------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("block_type", BLOCK_TYPES)
@pytest.mark.parametrize("event_dim", [1, 4])
def test_gradients_reach_every_weight(block_type, event_dim):
    flow = perturbed_flow(event_dim, 3, block_type, scale=0.1)
    x, context = random_inputs(32, event_dim, 3)
    for name, loss_fn in [
        ("log_prob", lambda: tf.reduce_mean(flow.log_prob(x, context))),
        # NF-RLBC's actor backpropagates a function of the samples and the entropy term.
        ("sample_and_log_prob", lambda: tf.reduce_mean(
            tf.reduce_sum(tf.square(flow.sample_and_log_prob(context, seed=[1, 1])[0]), -1)
            + flow.sample_and_log_prob(context, seed=[1, 1])[1])),
    ]:
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, flow.trainable_variables)
        missing = [v.path for v, g in zip(flow.trainable_variables, grads)
                   if g is None or not np.any(g.numpy() != 0)]
        # The MADE's masked first-layer kernel has no path from x when d == 1 (by design).
        if block_type == "autoregressive" and event_dim == 1:
            missing = [m for m in missing if not m.endswith("kernel0")]
        assert not missing, f"{name}: no gradient for {missing}"


# -------------------------------------------------------------------------------- bad input
def test_wrong_shapes_raise_value_error_naming_expected_shape():
    flow = ConditionalFlow(5, 4, num_blocks=2, hidden_units=16)
    x, context = random_inputs(8, 5, 4)
    x_shape = r"^`x` must have shape \[batch, 5\] \(event_dim=5\)\. Received: x\.shape="
    with pytest.raises(ValueError, match=x_shape + r"\(8, 3\)$"):
        flow.log_prob(x[:, :3], context)
    with pytest.raises(ValueError, match=x_shape + r"\(5,\)$"):
        flow.log_prob(x[0], context)
    context_shape = r"^`context` must have shape \[batch, 4\] \(context_dim=4\)\. Received: context\.shape="
    with pytest.raises(ValueError, match=context_shape + r"\(8, 2\)$"):
        flow.log_prob(x, context[:, :2])
    with pytest.raises(ValueError, match=context_shape + r"\(8, 1, 4\)$"):
        flow.sample(context[:, None, :])
    with pytest.raises(ValueError, match=r"`context` of shape \[batch, 4\] is required \(context_dim=4\)"):
        flow.log_prob(x, None)
    with pytest.raises(ValueError, match=r"^`x` and `context` must have the same batch size\. Received: 8 and 3$"):
        flow.log_prob(x, context[:3])
    with pytest.raises(ValueError, match=r"^This flow is unconditional \(context_dim=0\); pass context=None\. "
                                         r"Received: context with shape \(8, 4\)$"):
        ConditionalFlow(5, 0, num_blocks=1, hidden_units=8).log_prob(x, context)


@pytest.mark.parametrize("kwargs,message", [
    (dict(event_dim=0), "`event_dim` must be an integer >= 1. Received: event_dim=0"),
    (dict(event_dim=2, num_blocks=0), "`num_blocks` must be an integer >= 1. Received: num_blocks=0"),
    (dict(event_dim=2, block_type="spline"),
     "`block_type` must be one of ('coupling', 'autoregressive'). Received: block_type='spline'"),
    (dict(event_dim=2, context_dim=-1), "`context_dim` must be an integer >= 0. Received: context_dim=-1"),
])
def test_bad_constructor_arguments(kwargs, message):
    # Each argument is refused by its own check, naming it and the value received.
    with pytest.raises(ValueError) as error:
        ConditionalFlow(**kwargs)
    assert str(error.value) == message


def test_non_finite_input_poisons_only_its_row():
    flow = perturbed_flow(3, 2, "coupling")
    x, context = random_inputs(4, 3, 2)
    x[1, 0] = np.nan
    context[2, 1] = np.inf
    log_prob = flow.log_prob(x, context).numpy()
    assert np.isnan(log_prob[1]) and np.isnan(log_prob[2])
    assert np.all(np.isfinite(log_prob[[0, 3]]))
    clean_x, clean_context = random_inputs(4, 3, 2)
    np.testing.assert_allclose(log_prob[[0, 3]], flow.log_prob(clean_x, clean_context).numpy()[[0, 3]], atol=1e-6)


def test_non_finite_input_raises_with_validate_args():
    flow = ConditionalFlow(3, 2, num_blocks=1, hidden_units=8, validate_args=True)
    x, context = random_inputs(4, 3, 2)
    x[0, 0] = np.inf
    with pytest.raises(tf.errors.InvalidArgumentError, match="ConditionalFlow received a non-finite input"):
        flow.log_prob(x, context)


def test_seeded_samples_are_the_same_with_and_without_xla():
    flow = perturbed_flow(3, 2, "coupling")
    _, context = random_inputs(8, 3, 2)
    seed = tf.constant([4, 2], tf.int32)
    eager = flow.sample(context, seed=seed).numpy()
    graph = tf.function(lambda c, s: flow.sample(c, seed=s))(context, seed).numpy()
    xla = tf.function(lambda c, s: flow.sample(c, seed=s), jit_compile=True)(context, seed).numpy()
    np.testing.assert_allclose(graph, eager, atol=1e-5)
    np.testing.assert_allclose(xla, eager, atol=1e-5)


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_tf_train_checkpoint_round_trip_restores_every_weight(block_type, tmp_path):
    flow = perturbed_flow(3, 2, block_type)
    path = tf.train.Checkpoint(flow=flow).save(str(tmp_path / "ckpt"))
    saved = [w.numpy().copy() for w in flow.weights]
    for w in flow.weights:
        w.assign(np.full(w.shape, 7 if "float" in w.dtype else 0, w.dtype))
    tf.train.Checkpoint(flow=flow).restore(path).assert_existing_objects_matched()
    for before, w in zip(saved, flow.weights):
        np.testing.assert_array_equal(w.numpy(), before, err_msg=w.path)
