"""Normalizing-flow policy head: pi(a | y) is the paper's conditional flow over actions."""

import keras
import tensorflow as tf

from tfnfrl.flows import ConditionalFlow
from tfnfrl.networks import policy_head


@keras.saving.register_keras_serializable(package="tfnfrl")
class FlowHead(policy_head.PolicyHead):
    """pi(a | y) = `ConditionalFlow(event_dim=action_dim, context_dim=context_dim)`.

    Exact log-likelihood and one-pass sampling; `mode` maps zero noise through the flow
    (the deterministic action of the SavedModel export, not the true density maximum).

    Args:
      action_dim, context_dim: sizes of a and y.
      num_blocks: coupling + linear blocks (paper: 6 for GCBC, 12 for BC).
      hidden_units: coupling MLP width (paper: 256).
      block_type: "coupling" or "autoregressive" (see `ConditionalFlow`).
      init_seed: seed of the linear flows' initial orthogonal matrices (reproducible init).
      use_linear_flow, use_layer_norm: the paper's ablation switches (see `ConditionalFlow`).
    """

    def __init__(
        self,
        action_dim,
        context_dim,
        num_blocks=6,
        hidden_units=256,
        block_type="coupling",
        init_seed=None,
        use_linear_flow=True,
        use_layer_norm=True,
        **kwargs,
    ):
        super().__init__(action_dim, context_dim, **kwargs)
        self.num_blocks = num_blocks
        self.hidden_units = hidden_units
        self.block_type = block_type
        self.init_seed = init_seed
        self.use_linear_flow = use_linear_flow
        self.use_layer_norm = use_layer_norm
        self.flow = ConditionalFlow(
            event_dim=action_dim,
            context_dim=context_dim,
            num_blocks=num_blocks,
            hidden_units=hidden_units,
            block_type=block_type,
            init_seed=init_seed,
            use_linear_flow=use_linear_flow,
            use_layer_norm=use_layer_norm,
            seed=self.init_seeds,
            name="flow",
        )

    def build(self, input_shape=None):
        self.flow.build()
        self.built = True

    def log_prob(self, actions, context):
        policy_head.check_shapes(self, actions=actions, context=context)
        return self.flow.log_prob(actions, context)

    def sample(self, context, seed):
        return self.flow.sample(context, seed=seed)

    def mode(self, context):
        zeros = tf.zeros([tf.shape(context)[0], self.action_dim], dtype=self.compute_dtype)
        return self.flow.transform_noise(zeros, context)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_blocks=self.num_blocks,
            hidden_units=self.hidden_units,
            block_type=self.block_type,
            init_seed=self.init_seed,
            use_linear_flow=self.use_linear_flow,
            use_layer_norm=self.use_layer_norm,
        )
        return config
