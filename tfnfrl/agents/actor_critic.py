"""Pieces every offline actor-critic agent shares: the critic loss, Q aggregation, divergence check, export.

TD target (no gradient): y = r + discount * mask * agg_k Qbar_k(s', a') - penalty, with Qbar
the target critic, a' the agent's next action (already clipped) and agg = min or mean over
the ensemble; mask = 0 where the task is solved, so such transitions never bootstrap.
Critic loss per example: sum_k (Q_k(s, a) - y)^2.
"""

import ml_collections
import tensorflow as tf

from tfnfrl.agents import optimizers

Q_AGGREGATIONS = ("min", "mean")


def critic_config(hidden_dims=(512, 512, 512, 512), num_heads=2):
    """The critic ensemble section of an agent config (the paper's: 2 x [4 x 512, GELU, LayerNorm])."""
    return ml_collections.ConfigDict(
        dict(
            num_heads=num_heads,  # Ensemble size K.
            hidden_dims=tuple(hidden_dims),  # Each head's hidden widths (Dense -> GELU -> LayerNorm).
            activation="gelu",  # Hidden activation.
            layer_norm=True,  # LayerNorm after each hidden activation.
        )
    )


def adam_config(lr):
    """A constant-rate Adam (no warm-up, no decay, no weight decay), as the RL agents use."""
    return optimizers.optimizer_config(lr=lr, warmup_steps=0, final_lr=lr, weight_decay=0.0)


def aggregate(q_heads, how):
    """[B, K] -> [B]: min or mean over the ensemble."""
    if how not in Q_AGGREGATIONS:
        raise ValueError(f"Unknown Q aggregation {how!r}; expected one of {Q_AGGREGATIONS}.")
    return tf.reduce_min(q_heads, axis=-1) if how == "min" else tf.reduce_mean(q_heads, axis=-1)


def td_target(rewards, masks, next_q, discount):
    """y = r + discount * mask * next_q, all [B], with no gradient."""
    return tf.stop_gradient(rewards + discount * masks * next_q)


def critic_loss(q_heads, target):
    """Per-example sum over heads of (Q_k - y)^2: [B, K], [B] -> [B]; plus metrics."""
    per_example = tf.reduce_sum(tf.square(q_heads - target[:, None]), axis=-1)
    metrics = {
        "loss": tf.reduce_mean(per_example),
        "q_mean": tf.reduce_mean(q_heads),
        "q_abs_max": tf.reduce_max(tf.abs(q_heads)),
        "target_mean": tf.reduce_mean(target),
    }
    return per_example, metrics


def q_bound(spec, discount, margin):
    """The largest |Q| a sane critic can reach: margin * max|r| / (1 - discount) (None without rewards)."""
    if spec.reward_abs_max <= 0.0:
        return None
    return margin * spec.reward_abs_max / (1.0 - discount)


def divergence_message(metrics, bound, key="critic/q_abs_max"):
    """A message when the critic's |Q| exceeds `bound` (None when within it or unbounded)."""
    if bound is None or key not in metrics or metrics[key] <= bound:
        return None
    return (
        f"the critic diverged: max |Q| = {metrics[key]:.4g} exceeds {bound:.4g} "
        "(divergence_margin x max|r| / (1 - discount))"
    )


def make_optimizers(config, total_steps):
    """(actor optimizer, critic optimizer) from the config's `actor_optimizer` / `critic_optimizer`."""
    return (optimizers.make_optimizer(config.actor_optimizer, total_steps),
            optimizers.make_optimizer(config.critic_optimizer, total_steps))


def q_value_export(critic, aggregation, spec):
    """The Policy `extra_functions` entry exporting q_value(observations, actions)."""
    return {"q_value": (q_value_function(critic, aggregation),
                        {"observations": spec.observation_dim, "actions": spec.action_dim})}


def q_value_function(critic, aggregation):
    """(observations, actions) -> {"q": [B] (aggregated), "q_heads": [B, K]}, for export."""

    def q_value(observations, actions):
        q_heads = critic(observations, actions)
        return {"q": aggregate(q_heads, aggregation), "q_heads": q_heads}

    return q_value
