"""NF-RLBC: offline RL with a normalizing-flow actor beside a critic ensemble (TD3+BC shape).

Ghugare & Eysenbach 2025, Sec. 5.2: the flow policy drops straight into an actor-critic,
because it gives both exact log-likelihoods (the BC term) and reparameterised samples (the
Q term), with no distillation and no resampling.

Per update, in this order (see `tfnfrl.agents.learner`):
  critic: a' = clip(pi(z'; s'), -1, 1) (a fresh flow sample, no target actor, no smoothing
          noise, no gradient); y = r + discount * mask * agg_k Qbar_k(s', a');
          loss = sum_k (Q_k(s, a) - y)^2.
  actor:  a~ = clip(pi(z; s), -1, 1) through the reparameterised sample;
          loss = -min_k Q_k(s, a~) [/ mean|Q| if normalize_q] + alpha * (-log pi(a_data | s))
                 + entropy_coef * log pi(a~ | s); the critic's weights are not updated by it.
  targets: Qbar <- tau * Q + (1 - tau) * Qbar.
Acting: a flow sample, clipped (no denoising step); `act_mode` maps z = 0. Both run through
the frozen-weight path (`tfnfrl.agents.frozen_acting`, `fast_act`), derived once per actor step.
"""

import tensorflow as tf

from tfnfrl import networks
from tfnfrl import rng
from tfnfrl.agents import actor_critic
from tfnfrl.agents import config_parts
from tfnfrl.agents import frozen_acting
from tfnfrl.agents import learner
from tfnfrl.agents import policy as policy_lib
from tfnfrl.agents import targets

FEED = "transition_sampler"
# Dataset actions are clipped just inside the box: the flow has support on all of R^d, but
# OGBench's scripted actions sit exactly on +-1 where the BC term would be computed at the edge.
ACTION_CLIP = 1.0 - 1e-5


def get_config():
    config = config_parts.agent_header("nf_rlbc", batch_size=256)
    config.discount = 0.99  # gamma of the TD target (the paper's commands use 0.995).
    config.tau = 0.005  # Polyak rate of the target critic, every update.
    config.q_agg = "min"  # Aggregation of the target critic's heads: min | mean (the paper: mean for antsoccer).
    config.alpha = 10.0  # BC coefficient: 10 for cube, scene, puzzle; 1 for the mazes and antsoccer.
    config.entropy_coef = 0.0  # lambda, weight of E[log pi] in the actor loss (the paper: 0).
    config.normalize_q = False  # Divide the actor's Q term by mean |Q| (no gradient through it).
    config.divergence_margin = 10.0  # Stop when max |Q| > margin * max|r| / (1 - discount).
    config.fast_act = True  # Act through frozen-weight caches (tfnfrl.flows.frozen); False: the training-time path.
    config.actor_optimizer = actor_critic.adam_config(1e-4)  # Adam on the encoder and the flow.
    config.critic_optimizer = actor_critic.adam_config(1e-4)  # Adam on the critic ensemble.
    config.encoder = config_parts.encoder_config()  # 4 x 512 (Dense -> LayerNorm -> SiLU) -> 64 on s.
    config.head = config_parts.flow_head_config(num_blocks=6, hidden_units=256)
    config.critic = actor_critic.critic_config()
    return config


def make_networks(config, spec, seed):
    """{"encoder", "head" (FlowHead), "critic", "target_critic"}, built, seeded from `seed`."""
    seeds = rng.SeedStream(int(seed))
    encoder = networks.ConditionEncoder(**config.encoder, seed=seeds, name="encoder")
    head_kwargs = dict(config.head)
    head_kwargs.pop("type")
    if head_kwargs.get("init_seed") is None:
        head_kwargs["init_seed"] = int(seed)
    context_dim = encoder.output_size(spec.observation_dim)
    head = networks.FlowHead(spec.action_dim, context_dim, seed=seeds, name="head", **head_kwargs)
    critic = networks.CriticEnsemble(**config.critic, seed=seeds, name="critic")
    observations, actions = tf.zeros([1, spec.observation_dim]), tf.zeros([1, spec.action_dim])
    encoder(observations)
    head.build()
    critic(observations, actions)
    return {"encoder": encoder, "head": head, "critic": critic,
            "target_critic": targets.make_target(critic, observations, actions)}


class NFRLBCAgent(frozen_acting.FrozenFlowActor, learner.Learner):
    """Loss groups "critic" then "actor"; the target critic follows by Polyak averaging."""

    def __init__(self, config, spec, networks, total_steps=1_000_000):
        super().__init__(config, spec)
        if config.q_agg not in actor_critic.Q_AGGREGATIONS:
            raise ValueError(f"Unknown q_agg {config.q_agg!r}; expected one of {actor_critic.Q_AGGREGATIONS}.")
        self.goal_conditioned = False
        self.encoder, self.head = networks["encoder"], networks["head"]
        self.critic, self.target_critic = networks["critic"], networks["target_critic"]
        self.track(self.encoder, self.head, self.critic, self.target_critic)
        self.actor_optimizer, self.critic_optimizer = actor_critic.make_optimizers(config, total_steps)
        self.q_bound = actor_critic.q_bound(spec, config.discount, config.divergence_margin)
        self.loss_groups = [
            learner.LossGroup("critic", self.critic_loss, lambda: self.critic.trainable_weights, self.critic_optimizer),
            learner.LossGroup("actor", self.actor_loss, lambda: self.actor_variables, self.actor_optimizer),
        ]
        self.build_optimizers()
        self.policy = policy_lib.Policy(
            spec.observation_dim, 0, spec.action_dim,
            sample_fn=self._act, mode_fn=self._act_mode, log_prob_fn=self._log_prob,
            action_low=spec.action_low, action_high=spec.action_high,
            eval_deterministic=config.eval_deterministic, jit_compile=config.jit_act,
            extra_functions=actor_critic.q_value_export(self.critic, config.q_agg, spec),
        )
        self.frozen_acting = frozen_acting.attach(config, self.head.flow, self.actor_optimizer.iterations, self.policy)

    @property
    def actor_variables(self):
        """The encoder's and the flow's trainable weights (what the actor loss trains)."""
        return self.encoder.trainable_weights + self.head.trainable_weights

    def _clip(self, actions):
        return tf.clip_by_value(actions, self.spec.action_low, self.spec.action_high)

    # ------------------------------------------------------------------ losses
    def critic_loss(self, batch, seed):
        next_seed = rng.split(seed, 3)[0]
        next_context = self.encoder(batch["next_observations"])
        next_actions = tf.stop_gradient(self._clip(self.head.sample(next_context, next_seed)))
        next_q = actor_critic.aggregate(self.target_critic(batch["next_observations"], next_actions), self.config.q_agg)
        target = actor_critic.td_target(batch["rewards"], batch["masks"], next_q, self.config.discount)
        return actor_critic.critic_loss(self.critic(batch["observations"], batch["actions"]), target)

    def actor_loss(self, batch, seed):
        actor_seed = rng.split(seed, 3)[1]
        context = self.encoder(batch["observations"])
        actions, log_prob = self.head.flow.sample_and_log_prob(context, seed=actor_seed)
        q = tf.reduce_min(self.critic(batch["observations"], self._clip(actions)), axis=-1)
        q_loss = -q
        if self.config.normalize_q:
            q_loss = q_loss / tf.stop_gradient(tf.reduce_mean(tf.abs(q)))
        data_actions = tf.clip_by_value(batch["actions"], -ACTION_CLIP, ACTION_CLIP)
        nll = -self.head.log_prob(data_actions, context)
        per_example = q_loss + self.config.alpha * nll + self.config.entropy_coef * log_prob
        metrics = {"q_loss": tf.reduce_mean(q_loss), "nll": tf.reduce_mean(nll), "log_prob": tf.reduce_mean(log_prob)}
        return per_example, metrics

    def update_targets(self, step):
        targets.polyak_update(self.critic.weights, self.target_critic.weights, self.config.tau)

    def validation_metrics(self, batch):
        """Held-out actor/nll and critic/td_error (critic loss without training noise)."""
        context = self.encoder(batch["observations"])
        data_actions = tf.clip_by_value(batch["actions"], -ACTION_CLIP, ACTION_CLIP)
        critic_loss, _ = self.critic_loss(batch, tf.constant([0, 0]))
        return {"actor/nll": tf.reduce_mean(-self.head.log_prob(data_actions, context)),
                "critic/loss": tf.reduce_mean(critic_loss)}

    def check_metrics(self, metrics):
        return actor_critic.divergence_message(metrics, self.q_bound)

    # ------------------------------------------------------------------ acting
    def act_with_noise(self, observations, goals, noise):
        """Clipped actions for flow noise [N, act] through the frozen cache as it is (zeros: `act_mode`)."""
        del goals
        return self._clip(self.frozen_acting.sample(noise, self.encoder(observations)))

    def reference_act(self, observations, goals, seed):
        """The training-time acting path: `head.sample`, clip."""
        del goals
        return self._clip(self.head.sample(self.encoder(observations), seed))

    def reference_act_mode(self, observations, goals):
        del goals
        return self._clip(self.head.mode(self.encoder(observations)))

    def _log_prob(self, observations, goals, actions):
        del goals
        return self.head.log_prob(actions, self.encoder(observations))


AGENT_CLASS = NFRLBCAgent
