"""CouplingConditioner: the fused s/t evaluation equals the two separate MLPs, and old checkpoints load."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfnfrl.flows import ConditionalFlow
from tfnfrl.flows import conditioners

DATA = os.path.join(os.path.dirname(__file__), "data", "pre_fusion_flow")
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def perturb(layer, scale=0.2, seed=1):
    """Move every weight away from its initialisation (zero output layers would hide bugs)."""
    rng = np.random.default_rng(seed)
    for w in layer.trainable_weights:
        w.assign(w.numpy() + scale * rng.standard_normal(w.shape).astype(np.float32))


def conditioner_pair(num_masked, context_dim, output_units, use_layer_norm=True):
    """A fused and an unfused conditioner holding the same weights."""
    fused, unfused = (conditioners.CouplingConditioner(num_masked, context_dim, output_units, 16,
                                                       use_layer_norm=use_layer_norm, seed=0, fused=f)
                      for f in (True, False))
    fused.build()
    unfused.build()
    perturb(fused)
    unfused.set_weights(fused.get_weights())
    return fused, unfused


def inputs(batch, num_masked, context_dim, seed=0):
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal((batch, num_masked)).astype(np.float32)
    context = rng.standard_normal((batch, context_dim)).astype(np.float32) if context_dim else None
    return x1, context


def set_fused(flow, fused):
    for conditioner in flow.affine_conditioners:
        conditioner.fused = fused


def perturbed_flow(event_dim=5, context_dim=4, num_blocks=3):
    flow = ConditionalFlow(event_dim, context_dim, num_blocks=num_blocks, hidden_units=16, init_seed=0, seed=0)
    flow.build()
    perturb(flow)
    return flow


# ------------------------------------------------------------------------ conditioner outputs
@pytest.mark.parametrize("num_masked,context_dim,output_units,use_layer_norm,jit", [
    (2, 6, 3, True, False), (2, 6, 3, True, True), (2, 6, 3, False, False), (2, 6, 3, False, True),
    (0, 4, 1, True, False), (2, 0, 3, True, False), (0, 0, 1, True, False), (0, 0, 1, False, True)])
def test_fused_and_unfused_outputs_agree(num_masked, context_dim, output_units, use_layer_norm, jit):
    fused, unfused = conditioner_pair(num_masked, context_dim, output_units, use_layer_norm)
    x1, context = inputs(32, num_masked, context_dim)
    run = lambda layer: tf.function(lambda a, c: layer(a, c), jit_compile=jit)(x1, context)  # noqa: E731
    (shift_f, log_scale_f), (shift_u, log_scale_u) = run(fused), run(unfused)
    assert shift_f.shape == log_scale_f.shape == (32, output_units)
    assert np.max(np.abs(shift_u.numpy())) > 1e-2 and np.max(np.abs(log_scale_u.numpy() - shift_u.numpy())) > 1e-2
    np.testing.assert_allclose(shift_f.numpy(), shift_u.numpy(), **TOLERANCE)
    np.testing.assert_allclose(log_scale_f.numpy(), log_scale_u.numpy(), **TOLERANCE)


def test_fused_path_uses_each_branch_own_weights():
    """Swapping the s and t weights must swap the outputs (no branch reads the other's weights)."""
    fused, _ = conditioner_pair(2, 6, 3)
    x1, context = inputs(8, 2, 6)
    shift, log_scale = fused(x1, context)
    t_vars = [w for layer in fused._shift_layers for w in layer.weights]
    s_vars = [w for layer in fused._log_scale_layers for w in layer.weights]
    t_vals, s_vals = [v.numpy() for v in t_vars], [v.numpy() for v in s_vars]
    for v, value in zip(t_vars + s_vars, s_vals + t_vals):
        v.assign(value)
    shift_swapped, log_scale_swapped = fused(x1, context)
    np.testing.assert_allclose(shift_swapped.numpy(), log_scale.numpy(), **TOLERANCE)
    np.testing.assert_allclose(log_scale_swapped.numpy(), shift.numpy(), **TOLERANCE)


def test_fused_layer_norm_uses_each_branch_epsilon_and_refuses_two():
    fused, unfused = conditioner_pair(2, 3, 3)
    for layer in (fused, unfused):
        for norm in [l for l in layer._shift_layers + layer._log_scale_layers
                     if isinstance(l, keras.layers.LayerNormalization)]:
            norm.epsilon = 10.0  # Large enough to change the outputs visibly.
    x1, context = inputs(8, 2, 3)
    np.testing.assert_allclose(fused(x1, context)[1].numpy(), unfused(x1, context)[1].numpy(), **TOLERANCE)
    fused._log_scale_layers[2].epsilon = 1e-3
    with pytest.raises(ValueError,
                       match=r"Fused LayerNorm needs one epsilon for both branches\. Received: \[0\.001, 10\.0\]"):
        fused(x1, context)


def test_fused_and_unfused_gradients_agree():
    fused, unfused = conditioner_pair(2, 6, 3)
    x1, context = inputs(32, 2, 6)
    grads = {}
    for name, layer in (("fused", fused), ("unfused", unfused)):
        x1_t, context_t = tf.constant(x1), tf.constant(context)
        with tf.GradientTape() as tape:
            tape.watch([x1_t, context_t])
            shift, log_scale = layer(x1_t, context_t)
            loss = tf.reduce_sum(tf.sin(shift) * tf.exp(0.1 * log_scale))
        grads[name] = tape.gradient(loss, layer.trainable_weights + [x1_t, context_t])
    assert len(grads["fused"]) == 2 * 10 + 2
    for g_f, g_u in zip(grads["fused"], grads["unfused"]):
        assert g_f is not None and np.any(g_u.numpy() != 0)
        np.testing.assert_allclose(g_f.numpy(), g_u.numpy(), rtol=1e-4, atol=1e-5)


def test_config_round_trip_keeps_fused_and_default_follows_the_module_switch(monkeypatch):
    for fused in (True, False):
        layer = conditioners.CouplingConditioner(2, 3, 3, 8, fused=fused)
        clone = conditioners.CouplingConditioner.from_config(layer.get_config())
        assert clone.fused is fused and clone.get_config() == layer.get_config()
    monkeypatch.setattr(conditioners, "FUSED_BY_DEFAULT", True)
    assert conditioners.CouplingConditioner(2, 3, 3, 8).fused is True
    monkeypatch.setattr(conditioners, "FUSED_BY_DEFAULT", False)
    assert conditioners.CouplingConditioner(2, 3, 3, 8).fused is False


# ------------------------------------------------------------------------------ whole flow
def test_flow_log_prob_samples_and_gradients_agree_fused_and_unfused():
    flow = perturbed_flow()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    context = rng.standard_normal((64, 4)).astype(np.float32)
    results = {}
    for fused in (True, False):
        set_fused(flow, fused)
        with tf.GradientTape() as tape:
            log_prob = flow.log_prob(x, context)
            loss = -tf.reduce_mean(log_prob)
        grads = tape.gradient(loss, flow.trainable_variables)
        results[fused] = (log_prob.numpy(), flow.sample(context, seed=[4, 2]).numpy(), [g.numpy() for g in grads])
    (lp_f, sample_f, grads_f), (lp_u, sample_u, grads_u) = results[True], results[False]
    assert np.std(lp_u) > 0.1
    np.testing.assert_allclose(lp_f, lp_u, **TOLERANCE)
    np.testing.assert_allclose(sample_f, sample_u, **TOLERANCE)
    for g_f, g_u in zip(grads_f, grads_u):
        np.testing.assert_allclose(g_f, g_u, rtol=1e-4, atol=1e-5)


def test_flow_fused_and_unfused_agree_under_xla():
    flow = perturbed_flow()
    x, context = np.random.default_rng(5).standard_normal((2, 16, 5)).astype(np.float32)
    context = context[:, :4]
    out = {}
    for fused in (True, False):
        set_fused(flow, fused)
        out[fused] = tf.function(flow.log_prob, jit_compile=True)(x, context).numpy()
    np.testing.assert_allclose(out[True], out[False], **TOLERANCE)


# ------------------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("fused", [True, False])
def test_checkpoint_written_before_fusion_loads_into_fused_flow(fused):
    """tests/flows/data/pre_fusion_flow was written by the tree before the fused conditioner."""
    with open(os.path.join(DATA, "expected.json")) as f:
        expected = json.load(f)
    flow = ConditionalFlow(3, 2, num_blocks=2, hidden_units=8, init_seed=1, seed=1)  # Other init: restore must matter.
    flow.build()
    set_fused(flow, fused)
    # Same variable names below the flow's own (auto-numbered) name.
    assert [w.path.split("/", 1)[1] for w in flow.weights] == [p.split("/", 1)[1] for p in expected["paths"]]
    x, context = np.array(expected["x"], np.float32), np.array(expected["context"], np.float32)
    assert np.max(np.abs(flow.log_prob(x, context).numpy() - expected["log_prob"])) > 1e-2
    tf.train.Checkpoint(flow=flow).read(os.path.join(DATA, "ckpt")).assert_existing_objects_matched()
    np.testing.assert_allclose(flow.log_prob(x, context).numpy(), expected["log_prob"], **TOLERANCE)


def test_unfused_checkpoint_restores_into_fused_flow(tmp_path):
    unfused = perturbed_flow()
    set_fused(unfused, False)
    path = tf.train.Checkpoint(flow=unfused).save(str(tmp_path / "ckpt"))
    fused = ConditionalFlow(5, 4, num_blocks=3, hidden_units=16, init_seed=7, seed=7)
    fused.build()
    set_fused(fused, True)
    tf.train.Checkpoint(flow=fused).restore(path).assert_existing_objects_matched()
    x, context = np.random.default_rng(6).standard_normal((2, 16, 5)).astype(np.float32)
    context = context[:, :4]
    np.testing.assert_allclose(fused.log_prob(x, context).numpy(), unfused.log_prob(x, context).numpy(), **TOLERANCE)
