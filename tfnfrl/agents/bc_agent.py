"""Behaviour cloning (plain or goal-conditioned) with an interchangeable policy head.

One learner serves NF-BC, NF-GCBC (Ghugare & Eysenbach 2025, Sec. 5.1), Gaussian BC/GCBC
(OGBench) and FM-GCBC: the condition encoder, losses, optimizer and acting code are shared;
the config's `head` picks the distribution.

Training (per example): y = encoder(s[, g]); a~ = a + sigma * eps (sigma = `action_noise`,
0 for the baselines); loss = head.training_loss(a~, y), i.e. -log pi(a~ | y) for likelihood
heads. Acting: a = head.sample(y) (or head.mode(y)); if `denoise`, one Tweedie step
a <- a + sigma^2 grad_a log pi(a | y) (the paper's denoising); then clip to [-1, 1].
"""

import tensorflow as tf

from tfnfrl import networks
from tfnfrl import rng
from tfnfrl.agents import learner
from tfnfrl.agents import optimizers
from tfnfrl.agents import policy as policy_lib

# What the trainer feeds a BC learner: GCSampler batches (goals are ignored without them).
FEED = "gc_sampler"


def goal_dim(config, spec):
    """The goal size the policy reads: the spec's for goal-conditioned configs, else 0."""
    if not config.goal_conditioned:
        return 0
    if spec.goal_dim < 1:
        raise ValueError(f"A goal-conditioned agent needs goal_dim >= 1. Received: goal_dim={spec.goal_dim}")
    return spec.goal_dim


def make_networks(config, spec, seed):
    """{"encoder": ConditionEncoder, "head": PolicyHead}, built, initialisers seeded from `seed` (int)."""
    seeds = rng.SeedStream(int(seed))
    encoder = networks.ConditionEncoder(**config.encoder, seed=seeds, name="encoder")
    head_kwargs = dict(config.head)
    head_type = head_kwargs.pop("type")
    if "init_seed" in head_kwargs and head_kwargs["init_seed"] is None:
        head_kwargs["init_seed"] = int(seed)  # Reproducible linear-flow initialisation.
    goals = goal_dim(config, spec)
    context_dim = encoder.output_size(spec.observation_dim + goals)
    head = networks.make_head(head_type, spec.action_dim, context_dim, seed=seeds, name="head", **head_kwargs)
    # Build every weight now (eagerly, under the caller's distribution scope), not in a trace.
    encoder(tf.zeros([1, spec.observation_dim]), tf.zeros([1, goals]) if goals else None)
    head.build()
    return {"encoder": encoder, "head": head}


class BCAgent(learner.Learner):
    """A policy pi(a | s[, g]) trained by behaviour cloning: one loss group, "actor".

    Args:
      config: the agent's ConfigDict (see e.g. `tfnfrl.agents.nf_gcbc.get_config`).
      spec: `tfnfrl.agents.specs.EnvSpec` of the data.
      networks: `make_networks(config, spec, seed)`.
      total_steps: training length, the horizon of the learning-rate schedule.

    `policy` (a `tfnfrl.agents.policy.Policy`): act(observations [N, obs], goals [N, goal],
    seed [2]) -> actions; act_mode(observations, goals); log_prob(observations, goals,
    actions) -> [N] (log pi(a | s, g), no denoising). Without goals, goal_dim is 0.
    """

    def __init__(self, config, spec, networks, total_steps=1_000_000):
        super().__init__(config, spec)
        self.goal_conditioned = bool(config.goal_conditioned)
        self.goal_dim = goal_dim(config, spec)
        self.encoder = networks["encoder"]
        self.head = networks["head"]
        self.track(self.encoder, self.head)
        self.optimizer = optimizers.make_optimizer(config.optimizer, total_steps)
        self.loss_groups = [learner.LossGroup("actor", self.loss, lambda: self.policy_variables, self.optimizer)]
        self.build_optimizers()
        self.policy = policy_lib.Policy(
            spec.observation_dim, self.goal_dim, spec.action_dim,
            sample_fn=self._act, mode_fn=self._act_mode, log_prob_fn=self._log_prob,
            action_low=spec.action_low, action_high=spec.action_high,
            eval_deterministic=config.eval_deterministic, jit_compile=config.jit_act,
        )

    @property
    def policy_variables(self):
        """The trainable weights (encoder, then head) the optimizer updates."""
        return self.encoder.trainable_weights + self.head.trainable_weights

    # ------------------------------------------------------------------ training
    def context(self, observations, goals):
        """y = encoder(s[, g]) [N, context_dim]; goals are ignored unless goal-conditioned."""
        return self.encoder(observations, goals if self.goal_conditioned else None)

    def batch_goals(self, batch):
        """The goals a training batch conditions on (GCSampler's `actor_goals`), or None."""
        return batch["actor_goals"] if self.goal_conditioned else None

    def loss(self, batch, seed):
        """Per-example loss [B] and scalar metrics for a batch dict; `seed` int32 [2] feeds all noise."""
        noise_seed, head_seed = tf.unstack(rng.split(seed, 2))
        actions = tf.convert_to_tensor(batch["actions"])
        sigma = float(self.config.action_noise)
        if sigma > 0.0:
            actions = actions + sigma * rng.standard_normal(tf.shape(actions), noise_seed, actions.dtype)
        context = self.context(batch["observations"], self.batch_goals(batch))
        per_example = self.head.training_loss(actions, context, head_seed)
        return per_example, {"loss": tf.reduce_mean(per_example)}

    def validation_metrics(self, batch):
        """Metrics on a held-out batch, no training noise: actor/loss (NLL for likelihood heads), actor/mode_mse."""
        actions = tf.convert_to_tensor(batch["actions"])
        context = self.context(batch["observations"], self.batch_goals(batch))
        mode = tf.clip_by_value(self.head.mode(context), self.spec.action_low, self.spec.action_high)
        loss = tf.reduce_mean(self.head.training_loss(actions, context, tf.constant([0, 0])))
        return {"actor/loss": loss, "actor/mode_mse": tf.reduce_mean(tf.square(mode - actions))}

    # ------------------------------------------------------------------ acting
    def _finish(self, actions, context):
        """The paper's denoising step (if enabled), then clipping to the action bounds."""
        if self.config.denoise and self.config.action_noise > 0.0:
            with tf.GradientTape() as tape:
                tape.watch(actions)
                log_prob = self.head.log_prob(actions, context)
            # Rows are independent, so the gradient of the sum is each row's own gradient.
            actions = actions + self.config.action_noise**2 * tape.gradient(log_prob, actions)
        return tf.clip_by_value(actions, self.spec.action_low, self.spec.action_high)

    def _act(self, observations, goals, seed):
        context = self.context(observations, goals)
        return self._finish(self.head.sample(context, seed), context)

    def _act_mode(self, observations, goals):
        context = self.context(observations, goals)
        return self._finish(self.head.mode(context), context)

    def _log_prob(self, observations, goals, actions):
        return self.head.log_prob(actions, self.context(observations, goals))
