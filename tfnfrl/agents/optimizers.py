"""Optimizer and learning-rate schedule shared by the agents."""

import keras
import ml_collections


def optimizer_config(lr=3e-4, warmup_steps=500, final_lr=1e-6, weight_decay=1e-6):
    """The optimizer fields of an agent config (paper defaults for NF-GCBC)."""
    return ml_collections.ConfigDict(
        dict(
            lr=lr,  # Peak learning rate (reached after the warm-up).
            warmup_steps=warmup_steps,  # Linear warm-up from 0 to `lr` over this many steps; 0: none.
            final_lr=final_lr,  # Cosine decay from `lr` to this at the last step; == lr: constant.
            weight_decay=weight_decay,  # AdamW decoupled weight decay (multiplied by the lr); 0: Adam.
            beta_1=0.9,  # Adam first-moment decay.
            beta_2=0.999,  # Adam second-moment decay.
            epsilon=1e-8,  # Adam epsilon (optax's default; Keras' is 1e-7).
            global_clipnorm=ml_collections.config_dict.placeholder(float),  # Clip gradients' global norm; None: off.
        )
    )


def learning_rate_schedule(config, total_steps):
    """lr(step): linear warm-up to `config.lr`, then cosine decay to `config.final_lr` at `total_steps`.

    Returns a float (constant lr) when there is neither warm-up nor decay.
    """
    if config.lr <= 0 or config.final_lr < 0 or config.final_lr > config.lr:
        raise ValueError(
            f"Expected 0 <= final_lr <= lr and lr > 0. Received: lr={config.lr}, final_lr={config.final_lr}"
        )
    if config.warmup_steps < 0:
        raise ValueError(f"`warmup_steps` must be >= 0. Received: warmup_steps={config.warmup_steps}")
    if config.warmup_steps == 0 and config.final_lr == config.lr:
        return float(config.lr)
    decay_steps = max(1, int(total_steps) - int(config.warmup_steps))
    if config.warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(config.lr, decay_steps, alpha=config.final_lr / config.lr)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=decay_steps,
        alpha=config.final_lr / config.lr,
        warmup_target=config.lr,
        warmup_steps=int(config.warmup_steps),
    )


def make_optimizer(config, total_steps):
    """AdamW with the warm-up + cosine schedule over `total_steps` training steps."""
    return keras.optimizers.AdamW(
        learning_rate=learning_rate_schedule(config, total_steps),
        weight_decay=config.weight_decay,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        global_clipnorm=config.global_clipnorm,
    )
