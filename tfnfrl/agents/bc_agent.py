"""Behaviour cloning (plain or goal-conditioned) with an interchangeable policy head.

One class serves NF-BC, NF-GCBC (Ghugare & Eysenbach 2025, Sec. 5.1), Gaussian BC/GCBC
(OGBench) and FM-GCBC: the condition encoder, losses, optimizer and acting code are shared;
the config's `head` picks the distribution.

Training (per example): y = encoder(s[, g]); a~ = a + sigma * eps (sigma = `action_noise`,
0 for the baselines); loss = head.training_loss(a~, y), i.e. -log pi(a~ | y) for likelihood
heads. Acting: a = head.sample(y) (or head.mode(y)); if `denoise`, one Tweedie step
a <- a + sigma^2 grad_a log pi(a | y) (the paper's denoising); then clip to [-1, 1].
"""

import keras
import numpy as np
import tensorflow as tf

from tfnfrl import networks
from tfnfrl.agents import optimizers
from tfnfrl import rng

# OGBench's continuous actions all live in [-1, 1].
ACTION_LOW, ACTION_HIGH = -1.0, 1.0


class BCAgent(tf.Module):
    """A policy pi(a | s[, g]) trained by behaviour cloning, with compiled acting functions.

    Args:
      config: the agent's ConfigDict (see e.g. `tfnfrl.agents.nf_gcbc.get_config`).
      observation_dim, goal_dim, action_dim: sizes from the dataset/env. `goal_dim` is
        ignored (taken as 0) when `config.goal_conditioned` is False.
      total_steps: training length, the horizon of the learning-rate schedule.
      seed: seeds the weight initialisation (Keras' global seed and the flow's linear
        layers), so equal seeds give equal initial weights.

    Compiled functions (fixed input signatures, reused unchanged by the SavedModel export):
      act(observations [N, obs] f32, goals [N, goal] f32, seed [2] i32) -> actions [N, act]
      act_mode(observations, goals) -> actions [N, act]        (deterministic: the head's mode)
      policy_log_prob(observations, goals, actions) -> [N]       (log pi(a | s, g), no denoising)
    For agents that are not goal-conditioned, goal_dim is 0 and `goals` is an [N, 0] tensor.
    """

    def __init__(self, config, observation_dim, goal_dim, action_dim, total_steps=1_000_000, seed=0, name=None):
        super().__init__(name=name or config.agent_name)
        for label, value in (("observation_dim", observation_dim), ("action_dim", action_dim)):
            if int(value) < 1:
                raise ValueError(f"`{label}` must be >= 1. Received: {label}={value}")
        self.config = config
        self.goal_conditioned = bool(config.goal_conditioned)
        self.observation_dim = int(observation_dim)
        self.goal_dim = int(goal_dim) if self.goal_conditioned else 0
        self.action_dim = int(action_dim)
        if self.goal_conditioned and self.goal_dim < 1:
            raise ValueError(f"A goal-conditioned agent needs goal_dim >= 1. Received: goal_dim={goal_dim}")

        keras.utils.set_random_seed(int(seed))
        self.encoder = networks.ConditionEncoder(**config.encoder, name="encoder")
        head_kwargs = dict(config.head)
        head_type = head_kwargs.pop("type")
        if "init_seed" in head_kwargs and head_kwargs["init_seed"] is None:
            head_kwargs["init_seed"] = int(seed)  # Reproducible flow initialisation.
        context_dim = self.encoder.output_size(self.observation_dim + self.goal_dim)
        self.head = networks.make_head(head_type, self.action_dim, context_dim, name="head", **head_kwargs)
        # Build every weight now (eagerly, under the caller's distribution scope), not in a trace.
        self.encoder(tf.zeros([1, self.observation_dim]), tf.zeros([1, self.goal_dim]) if self.goal_conditioned else None)
        self.head.build()
        # Keras 3 layers hold sub-layers in lists that tf.train.Checkpoint does not follow, so
        # non-trainable weights (e.g. the flows' permutations) would be left out. Tracking every
        # weight under its unique Keras path makes checkpoints and SavedModels complete.
        weights = self.encoder.weights + self.head.weights
        self.weights_by_path = {w.path.replace("/", "."): w for w in weights}
        if len(self.weights_by_path) != len(weights):
            raise ValueError("Two of the agent's weights share a Keras path; name the layers uniquely.")
        self.optimizer = optimizers.make_optimizer(config.optimizer, total_steps)
        self.optimizer.build(self.policy_variables)

        spec = lambda size, dtype=tf.float32: tf.TensorSpec([None, size], dtype)  # noqa: E731
        seed_spec = tf.TensorSpec([2], tf.int32, name="seed")
        self.act = tf.function(
            self._act,
            input_signature=[spec(self.observation_dim), spec(self.goal_dim), seed_spec],
            jit_compile=config.jit_act,
        )
        self.act_mode = tf.function(
            self._act_mode,
            input_signature=[spec(self.observation_dim), spec(self.goal_dim)],
            jit_compile=config.jit_act,
        )
        self.policy_log_prob = tf.function(
            self._policy_log_prob,
            input_signature=[spec(self.observation_dim), spec(self.goal_dim), spec(self.action_dim)],
        )

    # ------------------------------------------------------------------ variables
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

    def compute_gradients(self, batch, seed, global_batch_size=None):
        """(gradients, metrics) of this replica's batch; the loss is summed / global batch size.

        With a distribution strategy the optimizer sums gradients over replicas, so dividing
        by the global batch size makes the update equal to the single-device mean.
        """
        with tf.GradientTape() as tape:
            per_example, info = self.loss(batch, seed)
            if global_batch_size is None:
                loss = tf.reduce_mean(per_example)
            else:
                loss = tf.reduce_sum(per_example) / tf.cast(global_batch_size, per_example.dtype)
        gradients = tape.gradient(loss, self.policy_variables)
        info["grad_norm"] = tf.linalg.global_norm(gradients)
        return gradients, info

    def apply_gradients(self, gradients):
        """One optimizer step on the policy weights."""
        self.optimizer.apply_gradients(zip(gradients, self.policy_variables))

    def train_step(self, batch, seed):
        """Uncompiled single-device update; returns metrics. The trainer compiles its own."""
        gradients, info = self.compute_gradients(batch, seed)
        self.apply_gradients(gradients)
        return info

    def validation_metrics(self, batch):
        """Metrics on a held-out batch, no training noise: NLL (likelihood heads) and mode MSE."""
        actions = tf.convert_to_tensor(batch["actions"])
        context = self.context(batch["observations"], self.batch_goals(batch))
        mode = tf.clip_by_value(self.head.mode(context), ACTION_LOW, ACTION_HIGH)
        metrics = {"mode_mse": tf.reduce_mean(tf.square(mode - actions))}
        metrics["loss"] = tf.reduce_mean(self.head.training_loss(actions, context, tf.constant([0, 0])))
        return metrics

    # ------------------------------------------------------------------ acting
    def _finish(self, actions, context):
        """The paper's denoising step (if enabled), then clipping to the action bounds."""
        if self.config.denoise and self.config.action_noise > 0.0:
            with tf.GradientTape() as tape:
                tape.watch(actions)
                log_prob = self.head.log_prob(actions, context)
            # Rows are independent, so the gradient of the sum is each row's own gradient.
            actions = actions + self.config.action_noise**2 * tape.gradient(log_prob, actions)
        return tf.clip_by_value(actions, ACTION_LOW, ACTION_HIGH)

    def _act(self, observations, goals, seed):
        context = self.context(observations, goals)
        return self._finish(self.head.sample(context, seed), context)

    def _act_mode(self, observations, goals):
        context = self.context(observations, goals)
        return self._finish(self.head.mode(context), context)

    def _policy_log_prob(self, observations, goals, actions):
        return self.head.log_prob(actions, self.context(observations, goals))

    def policy_fn(self, seed=0, deterministic=None):
        """A numpy policy for `tfnfrl.envs.evaluate`: (obs [N, obs], goals [N, goal]) -> [N, act].

        Each call draws with the stateless seed [seed, call index], so a run of calls is
        reproducible. `deterministic` (default: the config's `eval_deterministic`) uses
        `act_mode`. Goals are dropped for agents that are not goal-conditioned.
        """
        deterministic = self.config.eval_deterministic if deterministic is None else deterministic
        calls = iter(range(2**31 - 1))

        def policy(observations, goals):
            observations = np.asarray(observations, np.float32)
            if self.goal_conditioned:
                goals = np.asarray(goals, np.float32)
            else:
                goals = np.zeros((observations.shape[0], 0), np.float32)
            if deterministic:
                return self.act_mode(observations, goals).numpy()
            return self.act(observations, goals, tf.constant([seed, next(calls)], tf.int32)).numpy()

        return policy
