"""NF-UGS: unsupervised goal-reaching where one flow is the goal critic and the coverage density.

Ghugare & Eysenbach 2025, Sec. 5.3. A conditional flow over goals g (the agent's xy) given
phi(s, a) is the Q-function of goal reaching, p(g | s, a) = the discounted future-state
density; with its condition zeroed it is the marginal p(g) over everything reached so far.
Exploration commands, per env and unroll, the candidate goal of lowest marginal density.

Per update, in this order (`tfnfrl.agents.learner`):
  critic: g~ = g + N(0, goal_noise^2), g a future state at a Geometric(1 - discount) offset;
          y = phi(s, a), replaced by zeros with probability `condition_dropout`;
          loss = -log p(g~ | y) (trains phi and the flow).
  actor:  a~ ~ pi(. | s, g) (tanh-Gaussian, reparameterised);
          loss = alpha * log pi(a~ | s, g) - log p(g | phi(s, a~)) (phi and the flow fixed).
  alpha:  loss = -log_alpha * (log pi(a~ | s, g) + target_entropy), target -0.5 |A|.
Acting: a sample; evaluation and `act_mode` use tanh(mean).
"""

import ml_collections
import tensorflow as tf

from tfnfrl import networks
from tfnfrl import rng
from tfnfrl.agents import actor_critic
from tfnfrl.agents import config_parts
from tfnfrl.agents import learner
from tfnfrl.agents import optimizers
from tfnfrl.agents import policy as policy_lib

FEED = "online"
EXPLORATION = ("nf_ugs", "uniform", "oracle")


def get_config():
    config = config_parts.agent_header("nf_ugs", batch_size=256, goal_conditioned=True, eval_deterministic=True)
    config.goal_indices = (0, 1)  # The goal space: these observation coordinates (the agent's xy).
    config.discount = 0.99  # gamma of the future-goal offset K ~ Geometric(1 - gamma).
    config.goal_noise = 0.05  # Std of the Gaussian noise added to relabelled goals in the critic loss.
    config.condition_dropout = 0.1  # Probability that the flow's condition is zeroed (it then models p(g)).
    config.target_entropy_scale = -0.5  # Target entropy = scale * action_dim.
    config.initial_alpha = 1.0  # Initial entropy temperature.
    config.exploration = "nf_ugs"  # Exploration goals: nf_ugs (lowest p(g)) | uniform (random buffer goal) | oracle.
    config.num_candidates = 1024  # Candidate goals drawn from the buffer per env and unroll.
    config.critic_optimizer = optimizers.optimizer_config(lr=1e-4, warmup_steps=0, final_lr=1e-4, weight_decay=1e-6)
    config.actor_optimizer = actor_critic.adam_config(3e-4)
    config.alpha_optimizer = actor_critic.adam_config(3e-4)
    # phi(s, a): 4 x 1024 (Dense -> LayerNorm -> swish) -> 64, the paper's NF-UGS encoder.
    config.encoder = config_parts.encoder_config(hidden_dims=(1024,) * 4, output_dim=64, activation="swish")
    config.head = config_parts.flow_head_config(num_blocks=6, hidden_units=256)
    config.actor = config_parts.mlp_config(hidden_dims=(1024,) * 4, activation="swish", layer_norm=True)
    config.collection = collection_config()
    return config


def collection_config():
    """The online collection section (read by tfnfrl.training.online)."""
    return ml_collections.ConfigDict(dict(
        num_envs=16,  # N envs stepped in lockstep (worker processes).
        episode_length=1000,  # Steps per episode; every env resets together at the start of a round.
        unroll_length=50,  # Steps between exploration-goal choices and update bursts.
        updates_per_unroll=25,  # Gradient updates after each unroll (run.steps counts updates).
        capacity_episodes=512,  # Replay capacity, in whole episodes.
        start_task=1,  # Every episode starts from this OGBench task's start cell (its goal is ignored).
    ))


def make_networks(config, spec, seed):
    """{"encoder" phi(s, a), "head" (goal FlowHead), "actor" (tanh-Gaussian), "temperature"}, built."""
    seeds = rng.SeedStream(int(seed))
    goal_dim = len(config.goal_indices)
    encoder = networks.ConditionEncoder(**config.encoder, seed=seeds, name="encoder")
    head_kwargs = dict(config.head)
    head_kwargs.pop("type")
    if head_kwargs.get("init_seed") is None:
        head_kwargs["init_seed"] = int(seed)
    context_dim = encoder.output_size(spec.observation_dim + spec.action_dim)
    head = networks.FlowHead(goal_dim, context_dim, seed=seeds, name="head", **head_kwargs)
    actor = networks.TanhGaussianActor(spec.action_dim, **config.actor, seed=seeds, name="actor")
    temperature = networks.Temperature(config.initial_alpha, name="temperature")
    encoder(tf.zeros([1, spec.observation_dim]), None, tf.zeros([1, spec.action_dim]))
    head.build()
    actor(tf.zeros([1, spec.observation_dim + goal_dim]))
    temperature.build()
    return {"encoder": encoder, "head": head, "actor": actor, "temperature": temperature}


class NFUGSAgent(learner.Learner):
    """Loss groups "critic", "actor", "alpha" (see the module docstring)."""

    def __init__(self, config, spec, networks, total_steps=1_000_000):
        super().__init__(config, spec)
        if config.exploration not in EXPLORATION:
            raise ValueError(f"Unknown exploration {config.exploration!r}; expected one of {EXPLORATION}.")
        self.goal_conditioned = True
        self.goal_dim = len(config.goal_indices)
        if spec.goal_dim and spec.goal_dim != self.goal_dim:
            raise ValueError(f"The env's goals have {spec.goal_dim} dims but goal_indices selects {self.goal_dim}.")
        self.encoder, self.head = networks["encoder"], networks["head"]
        self.actor, self.temperature = networks["actor"], networks["temperature"]
        self.track(self.encoder, self.head, self.actor, self.temperature)
        self.critic_optimizer = optimizers.make_optimizer(config.critic_optimizer, total_steps)
        self.actor_optimizer = optimizers.make_optimizer(config.actor_optimizer, total_steps)
        self.alpha_optimizer = optimizers.make_optimizer(config.alpha_optimizer, total_steps)
        self.target_entropy = float(config.target_entropy_scale) * spec.action_dim
        self.loss_groups = [
            learner.LossGroup("critic", self.critic_loss, lambda: self.critic_variables, self.critic_optimizer),
            learner.LossGroup("actor", self.actor_loss, lambda: self.actor.trainable_weights, self.actor_optimizer),
            learner.LossGroup("alpha", self.alpha_loss, lambda: self.temperature.trainable_weights,
                              self.alpha_optimizer),
        ]
        self.build_optimizers()
        sizes = dict(observations=spec.observation_dim, actions=spec.action_dim)
        self.policy = policy_lib.Policy(
            spec.observation_dim, self.goal_dim, spec.action_dim,
            sample_fn=self._act, mode_fn=self._act_mode, log_prob_fn=self._log_prob,
            action_low=spec.action_low, action_high=spec.action_high,
            eval_deterministic=config.eval_deterministic, jit_compile=config.jit_act,
            extra_functions={
                "goal_log_prob": (lambda o, a, g: {"log_prob": self.goal_log_prob(o, a, g)},
                                  dict(sizes, goals=self.goal_dim)),
                "marginal_goal_log_prob": (lambda g: {"log_prob": self.marginal_goal_log_prob(g)},
                                           {"goals": self.goal_dim}),
            },
        )
        self.marginal_log_prob = tf.function(
            self.marginal_goal_log_prob, input_signature=[tf.TensorSpec([None, self.goal_dim], tf.float32)],
            jit_compile=config.jit_act)

    @property
    def critic_variables(self):
        """phi and the goal flow."""
        return self.encoder.trainable_weights + self.head.trainable_weights

    # ------------------------------------------------------------------ densities
    def goal_log_prob(self, observations, actions, goals):
        """log p(g | phi(s, a)) [B]: the flow's Q-function of reaching g from (s, a)."""
        return self.head.log_prob(goals, self.encoder(observations, None, actions))

    def marginal_goal_log_prob(self, goals):
        """log p(g) [B]: the flow with its condition zeroed (the coverage density)."""
        context = tf.zeros([tf.shape(goals)[0], self.head.context_dim], goals.dtype)
        return self.head.log_prob(goals, context)

    # ------------------------------------------------------------------ losses
    def critic_loss(self, batch, seed):
        noise_seed, drop_seed = tf.unstack(rng.split(rng.split(seed, 3)[0], 2))
        goals = batch["goals"] + self.config.goal_noise * rng.standard_normal(tf.shape(batch["goals"]), noise_seed)
        context = self.encoder(batch["observations"], None, batch["actions"])
        keep = tf.cast(rng.uniform([tf.shape(context)[0], 1], drop_seed) >= self.config.condition_dropout,
                       context.dtype)
        nll = -self.head.log_prob(goals, context * keep)
        return nll, {"loss": tf.reduce_mean(nll), "dropped": 1.0 - tf.reduce_mean(keep)}

    def _sample(self, observations, goals, seed):
        return self.actor.sample_and_log_prob(tf.concat([observations, goals], axis=-1), seed)

    def actor_loss(self, batch, seed):
        actions, log_prob = self._sample(batch["observations"], batch["goals"], rng.split(seed, 3)[1])
        q = self.goal_log_prob(batch["observations"], actions, batch["goals"])
        alpha = tf.stop_gradient(self.temperature())
        per_example = alpha * log_prob - q
        return per_example, {"q": tf.reduce_mean(q), "entropy": -tf.reduce_mean(log_prob), "alpha": alpha}

    def alpha_loss(self, batch, seed):
        _, log_prob = self._sample(batch["observations"], batch["goals"], rng.split(seed, 3)[1])
        log_alpha = tf.convert_to_tensor(self.temperature.log_alpha)
        per_example = -log_alpha * tf.stop_gradient(log_prob + self.target_entropy)
        return per_example, {"alpha": tf.exp(log_alpha)}

    def validation_metrics(self, batch):
        context = self.encoder(batch["observations"], None, batch["actions"])
        return {"critic/nll": tf.reduce_mean(-self.head.log_prob(batch["goals"], context)),
                "critic/marginal_nll": tf.reduce_mean(-self.marginal_goal_log_prob(batch["goals"]))}

    # ------------------------------------------------------------------ acting
    def _act(self, observations, goals, seed):
        return self._sample(observations, goals, seed)[0]

    def _act_mode(self, observations, goals):
        return self.actor.mode(tf.concat([observations, goals], axis=-1))

    def _log_prob(self, observations, goals, actions):
        return self.actor.log_prob(actions, tf.concat([observations, goals], axis=-1))


AGENT_CLASS = NFUGSAgent
