"""Config sections the agents share (each agent file composes and overrides them)."""

import ml_collections


def agent_header(agent_name, batch_size=256, goal_conditioned=False, eval_deterministic=False):
    """The fields every agent config starts with (the agent's own sections follow)."""
    config = ml_collections.ConfigDict()
    config.agent_name = agent_name  # Registry name of this agent (tfnfrl.agents.AGENTS).
    config.goal_conditioned = goal_conditioned  # Condition the policy on goals g as well as s.
    config.batch_size = batch_size  # Global batch size (split over the replicas of a tf.distribute strategy).
    config.eval_deterministic = eval_deterministic  # Evaluate with the deterministic action instead of a sample.
    config.jit_act = True  # XLA-compile the acting functions (lower per-call latency on CPU).
    return config


def encoder_config(hidden_dims=(512, 512, 512, 512), output_dim=64, activation="silu", layer_norm=True):
    """Condition encoder y = MLP(concat(s, g)); the paper's default is 4 x 512 -> 64."""
    config = ml_collections.ConfigDict(
        dict(
            hidden_dims=tuple(hidden_dims),  # Hidden widths, each Dense -> (LayerNorm) -> activation; (): none.
            output_dim=ml_collections.config_dict.placeholder(int),  # Representation size; None: no output Dense.
            activation=activation,  # Keras activation of the hidden layers.
            layer_norm=layer_norm,  # LayerNorm after each hidden Dense (the paper: on).
        )
    )
    config.output_dim = output_dim
    return config


def mlp_config(hidden_dims=(512, 512, 512, 512), activation="gelu", layer_norm=False):
    """A plain MLP's fields (tfnfrl.networks.MLP), e.g. a deterministic actor's trunk."""
    return ml_collections.ConfigDict(
        dict(
            hidden_dims=tuple(hidden_dims),  # Hidden widths.
            activation=activation,  # Hidden activation.
            layer_norm=layer_norm,  # LayerNorm in each hidden layer.
        )
    )


def flow_head_config(num_blocks=6, hidden_units=256):
    """A normalizing-flow policy head (tfnfrl.networks.FlowHead): the paper's 6 blocks of width 256."""
    return ml_collections.ConfigDict(
        dict(
            type="flow",  # Policy head: tfnfrl.networks.FlowHead.
            num_blocks=num_blocks,  # (Affine coupling + LU linear) blocks.
            hidden_units=hidden_units,  # Width of the coupling MLPs.
            block_type="coupling",  # "coupling" (RealNVP) or "autoregressive" (MAF).
            init_seed=ml_collections.config_dict.placeholder(int),  # Linear flows' init seed; None: the run seed.
            use_linear_flow=True,  # The LU linear flow after each affine block (paper's ablation: off -> 0 success).
            use_layer_norm=True,  # LayerNorm in the coupling MLPs (paper's ablation: off -> 0 success).
        )
    )


def goal_sampling_config(discount=0.99, geom_sample=True):
    """Actor-goal relabelling for goal-conditioned agents (keys of tfnfrl.data's GCSampler config).

    The paper draws the goal k ~ Geometric(1 - discount) steps ahead in the same trajectory
    (truncated at its end), with discount 0.97 for puzzle-3x3, scene, cube-single,
    humanoidmaze-medium, antsoccer, antmaze-medium-stitch and 0.99 for cube-double and
    antmaze-large: override `--config.sampler.discount` per dataset.
    """
    return ml_collections.ConfigDict(
        dict(
            discount=discount,  # gamma of the geometric goal offset (mean offset 1 / (1 - gamma)).
            actor_p_curgoal=0.0,  # Probability that the goal is the current state.
            actor_p_trajgoal=1.0,  # Probability that the goal is a future state of the same trajectory.
            actor_p_randomgoal=0.0,  # Probability that the goal is a random dataset state.
            actor_geom_sample=geom_sample,  # Geometric (True) or uniform (False) future offset.
        )
    )
