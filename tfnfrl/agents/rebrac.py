"""ReBRAC: a deterministic actor with behaviour regularisation (Tarasov et al. 2023), baseline of NF-RLBC.

TD3+BC with ReBRAC's design choices, as run in OGBench's offline-RL comparisons (FQL, Park
et al. 2025). Per update, in this order:
  critic: a' = clip(mu_bar(s') + clip(N(0, actor_noise^2), +-noise_clip), -1, 1) from the
          target actor; y = r + discount * mask * (agg_k Qbar_k(s', a')
          - alpha_critic * ||a' - a'_data||^2); loss = sum_k (Q_k(s, a) - y)^2.
  actor (every `actor_freq` updates): a~ = mu(s);
          loss = -min_k Q_k(s, a~) / mean|Q| (no gradient through the scale)
                 + alpha_actor * ||a~ - a_data||^2.
  targets: the critic's every update, the actor's with each actor update (Polyak, tau).
Acting is deterministic: mu(s) = tanh(MLP(s)) (`act` ignores its seed); no log_prob.
"""

import tensorflow as tf

from tfnfrl import networks
from tfnfrl import rng
from tfnfrl.agents import actor_critic
from tfnfrl.agents import config_parts
from tfnfrl.agents import learner
from tfnfrl.agents import policy as policy_lib
from tfnfrl.agents import targets

FEED = "transition_sampler"

# (alpha_actor, alpha_critic) per OGBench dataset family, state-based, as used for ReBRAC in
# FQL's comparisons (Park et al. 2025, arXiv 2502.02538, appendix hyper-parameter table).
# cube-single (1, 1) is also in public ReBRAC commands (InFOM's README). scene and puzzle
# were read from a public FQL-based repository's per-environment table (its FQL, IQL and
# humanoidmaze values match FQL's published ones), not from the paper's PDF itself, which
# could not be reached from here: see RESULTS.md.
REBRAC_ALPHAS = {
    "cube-single": (1.0, 1.0),
    "scene": (0.1, 0.01),
    "puzzle-3x3": (0.3, 0.01),
    "puzzle-4x4": (0.3, 0.01),
}


def alphas_for(env_name):
    """(alpha_actor, alpha_critic) of REBRAC_ALPHAS for an OGBench name, or None if not tabled."""
    for family, alphas in REBRAC_ALPHAS.items():
        if env_name.startswith(family + "-"):
            return alphas
    return None


def get_config():
    config = config_parts.agent_header("rebrac", batch_size=256, eval_deterministic=True)
    config.discount = 0.99  # gamma of the TD target.
    config.tau = 0.005  # Polyak rate of the target critic and target actor.
    config.q_agg = "min"  # Aggregation of the target critic's heads in the TD target: min | mean.
    # BC coefficients; per-environment values: tfnfrl/agents/rebrac.py's REBRAC_ALPHAS (cube-single: 1, 1).
    config.alpha_actor = 1.0  # Weight of ||mu(s) - a_data||^2 in the actor loss.
    config.alpha_critic = 1.0  # Weight of ||a' - a'_data||^2 subtracted from the target Q.
    config.actor_freq = 2  # Update the actor (and its target) every this many updates.
    config.actor_noise = 0.2  # Std of the target-policy smoothing noise.
    config.actor_noise_clip = 0.5  # Clip of that noise.
    config.divergence_margin = 10.0  # Stop when max |Q| > margin * max|r| / (1 - discount).
    config.actor_optimizer = actor_critic.adam_config(3e-4)
    config.critic_optimizer = actor_critic.adam_config(3e-4)
    config.actor = config_parts.mlp_config(hidden_dims=(512, 512, 512, 512), activation="gelu", layer_norm=False)
    config.critic = actor_critic.critic_config()
    return config


def make_networks(config, spec, seed):
    """{"actor", "target_actor", "critic", "target_critic"}, built, seeded from `seed`."""
    seeds = rng.SeedStream(int(seed))
    actor = networks.MLP(**config.actor, output_dim=spec.action_dim, output_init_scale=1e-2, seed=seeds, name="actor")
    critic = networks.CriticEnsemble(**config.critic, seed=seeds, name="critic")
    observations, actions = tf.zeros([1, spec.observation_dim]), tf.zeros([1, spec.action_dim])
    actor(observations)
    critic(observations, actions)
    return {"actor": actor, "target_actor": targets.make_target(actor, observations),
            "critic": critic, "target_critic": targets.make_target(critic, observations, actions)}


class ReBRACAgent(learner.Learner):
    """Loss groups "critic" (every update) then "actor" (every `actor_freq`); Polyak targets."""

    def __init__(self, config, spec, networks, total_steps=1_000_000):
        super().__init__(config, spec)
        if config.q_agg not in actor_critic.Q_AGGREGATIONS:
            raise ValueError(f"Unknown q_agg {config.q_agg!r}; expected one of {actor_critic.Q_AGGREGATIONS}.")
        self.goal_conditioned = False
        self.actor, self.target_actor = networks["actor"], networks["target_actor"]
        self.critic, self.target_critic = networks["critic"], networks["target_critic"]
        self.track(self.actor, self.target_actor, self.critic, self.target_critic)
        self.actor_optimizer, self.critic_optimizer = actor_critic.make_optimizers(config, total_steps)
        self.q_bound = actor_critic.q_bound(spec, config.discount, config.divergence_margin)
        self.loss_groups = [
            learner.LossGroup("critic", self.critic_loss, lambda: self.critic.trainable_weights, self.critic_optimizer),
            learner.LossGroup("actor", self.actor_loss, lambda: self.actor.trainable_weights, self.actor_optimizer,
                              every=int(config.actor_freq)),
        ]
        self.build_optimizers()
        self.policy = policy_lib.Policy(
            spec.observation_dim, 0, spec.action_dim,
            sample_fn=lambda observations, goals, seed: self._act_mode(observations, goals),
            mode_fn=self._act_mode, log_prob_fn=None,
            action_low=spec.action_low, action_high=spec.action_high,
            eval_deterministic=config.eval_deterministic, jit_compile=config.jit_act,
            extra_functions=actor_critic.q_value_export(self.critic, config.q_agg, spec),
        )

    def mu(self, actor, observations):
        """The deterministic action tanh(MLP(s)) of `actor` (online or target): [B, act]."""
        return tf.tanh(actor(observations))

    def critic_loss(self, batch, seed):
        noise_seed = rng.split(seed, 2)[0]
        next_mu = self.mu(self.target_actor, batch["next_observations"])
        noise = self.config.actor_noise * rng.standard_normal(tf.shape(next_mu), noise_seed, next_mu.dtype)
        noise = tf.clip_by_value(noise, -self.config.actor_noise_clip, self.config.actor_noise_clip)
        next_actions = tf.clip_by_value(next_mu + noise, self.spec.action_low, self.spec.action_high)
        next_q = actor_critic.aggregate(self.target_critic(batch["next_observations"], next_actions), self.config.q_agg)
        penalty = self.config.alpha_critic * tf.reduce_sum(tf.square(next_actions - batch["next_actions"]), axis=-1)
        target = actor_critic.td_target(batch["rewards"], batch["masks"], next_q - penalty, self.config.discount)
        per_example, metrics = actor_critic.critic_loss(self.critic(batch["observations"], batch["actions"]), target)
        metrics["penalty"] = tf.reduce_mean(penalty)
        return per_example, metrics

    def actor_loss(self, batch, seed):
        del seed
        actions = self.mu(self.actor, batch["observations"])
        q = tf.reduce_min(self.critic(batch["observations"], actions), axis=-1)
        q_loss = -q / tf.stop_gradient(tf.reduce_mean(tf.abs(q)) + 1e-8)
        bc = tf.reduce_sum(tf.square(actions - batch["actions"]), axis=-1)
        per_example = q_loss + self.config.alpha_actor * bc
        return per_example, {"q_loss": tf.reduce_mean(q_loss), "bc_mse": tf.reduce_mean(bc)}

    def update_targets(self, step):
        targets.polyak_update(self.critic.weights, self.target_critic.weights, self.config.tau)

        def move_actor():
            targets.polyak_update(self.actor.weights, self.target_actor.weights, self.config.tau)
            return tf.constant(True)

        tf.cond(tf.equal(step % int(self.config.actor_freq), 0), move_actor, lambda: tf.constant(False))

    def validation_metrics(self, batch):
        """Held-out critic/loss and actor/bc_mse."""
        critic_loss, _ = self.critic_loss(batch, tf.constant([0, 0]))
        bc = tf.reduce_sum(tf.square(self.mu(self.actor, batch["observations"]) - batch["actions"]), axis=-1)
        return {"critic/loss": tf.reduce_mean(critic_loss), "actor/bc_mse": tf.reduce_mean(bc)}

    def check_metrics(self, metrics):
        return actor_critic.divergence_message(metrics, self.q_bound)

    def _act_mode(self, observations, goals):
        del goals
        return tf.clip_by_value(self.mu(self.actor, observations), self.spec.action_low, self.spec.action_high)


AGENT_CLASS = ReBRACAgent
