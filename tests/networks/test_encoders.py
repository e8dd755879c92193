"""MLP and condition encoder: layer order, shapes, identity mode and Keras config round trip."""

import numpy as np
import pytest
import tensorflow as tf

from tfnfrl import networks


def test_mlp_hidden_layer_is_dense_layernorm_activation():
    mlp = networks.MLP((8, 8), output_dim=3, activation="silu", layer_norm=True)
    mlp.build((None, 5))
    kinds = [type(layer).__name__ for layer in mlp._layers]
    assert kinds == ["Dense", "LayerNormalization", "Activation"] * 2 + ["Dense"]
    assert mlp(tf.zeros([4, 5])).shape == (4, 3)
    # OGBench's critic order: Dense -> activation -> LayerNorm.
    after = networks.MLP((8, 8), output_dim=3, activation="gelu", layer_norm=True, norm_after_activation=True)
    after.build((None, 5))
    assert [type(layer).__name__ for layer in after._layers] == ["Dense", "Activation", "LayerNormalization"] * 2 + ["Dense"]
    plain = networks.MLP((8,), output_dim=3, layer_norm=False)
    plain.build((None, 5))
    assert [type(layer).__name__ for layer in plain._layers] == ["Dense", "Activation", "Dense"]


def test_mlp_computes_dense_layernorm_silu_by_hand():
    mlp = networks.MLP((4,), output_dim=None, activation="silu", layer_norm=True)
    x = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    out = mlp(x).numpy()
    dense = mlp._layers[0]
    h = x @ dense.kernel.numpy() + dense.bias.numpy()
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(out, h / (1.0 + np.exp(-h)), atol=1e-5)


def test_encoder_paper_default_shapes():
    encoder = networks.ConditionEncoder()  # 4 x 512 -> 64.
    y = encoder(tf.zeros([2, 28]), tf.zeros([2, 28]))
    assert y.shape == (2, 64)
    assert encoder.output_size(56) == 64
    assert [w.shape[-1] for w in encoder.trainable_weights if len(w.shape) == 2] == [512, 512, 512, 512, 64]


def test_encoder_computes_mlp_of_concatenation_by_hand():
    """y = Dense(SiLU(LayerNorm(Dense(concat(s, g, a))))): the defaults and the input order."""
    encoder = networks.ConditionEncoder(hidden_dims=(4,), output_dim=2)
    rng = np.random.default_rng(1)
    obs, goal, act = (rng.normal(size=(3, n)).astype(np.float32) for n in (2, 3, 1))
    encoder(obs, goal, act)  # Builds the layers.
    first, last = encoder.mlp._layers[0], encoder.mlp._layers[-1]
    last.bias.assign(rng.normal(size=2).astype(np.float32))  # Not zero: the bias must be added.
    out = encoder(obs, goal, act).numpy()
    h = np.concatenate([obs, goal, act], -1) @ first.kernel.numpy() + first.bias.numpy()
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-6)
    expected = (h / (1.0 + np.exp(-h))) @ last.kernel.numpy() + last.bias.numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    swapped = encoder(goal[:, :2], np.concatenate([obs, goal[:, 2:]], -1), act).numpy()
    assert np.abs(swapped - out).max() > 1e-3  # The order of the inputs matters.


def test_identity_encoder_is_concatenation():
    encoder = networks.ConditionEncoder(hidden_dims=(), output_dim=None)
    obs, goal = np.ones((2, 3), np.float32), 2 * np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(encoder(obs, goal).numpy(), np.concatenate([obs, goal], -1))
    actions = 3 * np.ones((2, 1), np.float32)
    np.testing.assert_array_equal(encoder(obs, goal, actions).numpy(), np.concatenate([obs, goal, actions], -1))
    np.testing.assert_array_equal(encoder(obs, actions=actions).numpy(), np.concatenate([obs, actions], -1))
    assert encoder.output_size(7) == 7
    assert not encoder.trainable_weights


@pytest.mark.parametrize("layer_cls,kwargs", [
    (networks.MLP, dict(hidden_dims=(6, 5), output_dim=2, activation="gelu", layer_norm=False)),
    (networks.ConditionEncoder, dict(hidden_dims=(6,), output_dim=3)),
])
def test_config_round_trip(layer_cls, kwargs):
    layer = layer_cls(**kwargs)
    clone = layer_cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    if layer_cls is networks.MLP:
        layer.build((None, 4))
        clone.build((None, 4))
    else:
        layer(tf.zeros([1, 2]), tf.zeros([1, 2]))
        clone(tf.zeros([1, 2]), tf.zeros([1, 2]))
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match=r"^`hidden_dims` must be positive integers\. Received: hidden_dims=\(8, 0\)$"):
        networks.MLP((8, 0))
    with pytest.raises(ValueError, match=r"^`output_dim` must be a positive integer or None\. Received: output_dim=0$"):
        networks.MLP((8,), output_dim=0)
    with pytest.raises(ValueError, match="nonexistent"):
        networks.MLP((8,), activation="nonexistent")
