"""Target networks: a copy of a network that trails it by Polyak averaging."""

import tensorflow as tf


def make_target(network, *example_inputs):
    """A new network with `network`'s config, built on `example_inputs`, holding a copy of its weights.

    The copy is named "target_<name>", so its weights have their own Keras paths.
    """
    config = dict(network.get_config(), name=f"target_{network.name}")
    target = type(network).from_config(config)
    target(*example_inputs)
    copy_weights(network.weights, target.weights)
    return target


def copy_weights(source, target):
    """target <- source, weight by weight (lists of equal shapes)."""
    _check_pairs(source, target)
    for s, t in zip(source, target):
        t.assign(s)


def polyak_update(source, target, tau):
    """target <- tau * source + (1 - tau) * target for each pair of weights (soft update).

    `tau` in [0, 1]: 1 copies, 0 leaves the target unchanged (TD3 and the paper: 0.005).
    """
    _check_pairs(source, target)
    for s, t in zip(source, target):
        t.assign(tau * tf.convert_to_tensor(s) + (1.0 - tau) * tf.convert_to_tensor(t))


def _check_pairs(source, target):
    if len(source) != len(target):
        raise ValueError(f"Cannot pair {len(source)} source weights with {len(target)} target weights.")
    for s, t in zip(source, target):
        if tuple(s.shape) != tuple(t.shape):
            raise ValueError(
                f"Weight {getattr(s, 'path', s.name)} has shape {tuple(s.shape)} but its target "
                f"{getattr(t, 'path', t.name)} has {tuple(t.shape)}."
            )
