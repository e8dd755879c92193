"""The interface every policy head implements, so agents never know the distribution type."""

import keras
import tensorflow as tf

from tfnfrl import keras_defaults


class PolicyHead(keras.layers.Layer):
    """A distribution over actions a in R^action_dim given a context y in R^context_dim.

    Subclasses implement `log_prob`, `sample` and `mode`; `training_loss` defaults to the
    negative log-likelihood (maximum likelihood), which flow-matching heads override with
    their own regression objective. Shapes: actions [B, action_dim], context [B, context_dim].
    `seed` arguments of the methods are stateless seeds: int32 Tensors of shape [2]. The
    constructor's `seed` (int or `tfnfrl.rng.SeedStream`, None: Keras' default) seeds the
    head's weight initialisers; subclasses build their layers from `self.init_seeds`.
    """

    def __init__(self, action_dim, context_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed if isinstance(seed, int) else None
        self.init_seeds = keras_defaults.seed_stream(seed)
        for name, value in (("action_dim", action_dim), ("context_dim", context_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        self.action_dim = action_dim
        self.context_dim = context_dim

    def log_prob(self, actions, context):
        """log pi(a | y) in nats: [B, action_dim], [B, context_dim] -> [B]."""
        raise NotImplementedError

    def sample(self, context, seed):
        """One action per row of the context: [B, context_dim] -> [B, action_dim]."""
        raise NotImplementedError

    def mode(self, context):
        """A deterministic action per row (the mean, or the image of zero noise): [B, action_dim]."""
        raise NotImplementedError

    def training_loss(self, actions, context, seed):
        """Per-example training objective [B] (default: -log pi(a | y)); `seed` feeds its noise."""
        del seed  # Maximum likelihood needs no noise.
        return -self.log_prob(actions, context)

    def call(self, actions, context):
        """Keras entry point: log_prob(actions, context)."""
        return self.log_prob(actions, context)

    def compute_output_shape(self, actions_shape, context_shape=None):
        return (actions_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(action_dim=self.action_dim, context_dim=self.context_dim, seed=self.seed)
        return config


def check_shapes(head, actions=None, context=None):
    """Raise ValueError unless actions are [B, action_dim] and context [B, context_dim]."""
    for name, tensor, size in (("actions", actions, head.action_dim), ("context", context, head.context_dim)):
        if tensor is None:
            continue
        shape = tf.TensorShape(tensor.shape)
        if shape.rank != 2 or (shape[-1] is not None and shape[-1] != size):
            raise ValueError(
                f"{type(head).__name__}: `{name}` must have shape [batch, {size}]. Received: {name}.shape={tuple(shape)}"
            )
