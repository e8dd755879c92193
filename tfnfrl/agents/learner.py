"""The learner contract every agent follows: named loss groups, each with its own optimizer.

An agent module (e.g. `tfnfrl.agents.nf_rlbc`) provides
  get_config()                        its ConfigDict, every field commented;
  make_networks(config, spec, seed)   {name: built Keras layer}, initialisers seeded from `seed`;
  AGENT_CLASS(config, spec, networks, total_steps)   a `Learner` that receives its networks;
  FEED                         what the trainer feeds it (see tfnfrl.training.feeds).

A `Learner` declares `loss_groups`, applied in their order by one `update(batch, seed,
step)`: for each group, the gradient of its mean loss w.r.t. its own variables is applied
by its own optimizer, so a critic is updated before an actor reads it in the same update.
`update_targets(step)` then moves target networks (Polyak averaging,
`tfnfrl.agents.targets`). The trainer compiles both into one step and checkpoints the
learner: every optimizer, network and target network is an attribute of it.
"""

import dataclasses
from typing import Callable

import keras
import tensorflow as tf

from tfnfrl import tracking


@dataclasses.dataclass
class LossGroup:
    """One loss, the weights it trains and the optimizer that trains them.

    Attributes:
      name: metric prefix, e.g. "critic" (metrics "critic/loss", "critic/grad_norm", ...).
      loss_fn: (batch dict, seed int32 [2]) -> (per-example loss [B], {name: scalar}).
        Every group of an update receives the update's seed; a learner whose losses draw
        noise splits it by purpose (e.g. `tfnfrl.rng.split(seed, 3)[k]`), so draws never
        repeat across groups.
      variables: () -> list of trainable weights this group updates (and no other).
      optimizer: a Keras optimizer owned by this group.
      every: apply the update only when step % every == 0 (e.g. TD3's delayed actor); the
        loss and its metrics are still computed every step.
    """

    name: str
    loss_fn: Callable
    variables: Callable
    optimizer: keras.optimizers.Optimizer
    every: int = 1


class Learner(tf.Module):
    """Base class of the agents (see the module docstring).

    Subclasses set, in their constructor, `self.loss_groups` (a list of LossGroup) and
    `self.policy` (a `tfnfrl.agents.policy.Policy`), then call `self.track(*layers)` with
    every network they own (online and target), and `self.build_optimizers()`.
    """

    def __init__(self, config, spec, name=None):
        super().__init__(name=name or config.agent_name)
        self.config = config
        self.spec = spec
        self.loss_groups = []

    # ------------------------------------------------------------------ set-up helpers
    def track(self, *layers):
        """Track every weight of `layers` for checkpoints (Keras 3 list attributes are invisible to TF)."""
        self.weights_by_path = tracking.weights_by_path(*layers)

    def build_optimizers(self):
        """Create every optimizer's slots now (eagerly, under the caller's distribution scope)."""
        names = [group.name for group in self.loss_groups]
        if len(set(names)) != len(names):
            raise ValueError(f"Loss group names must be unique. Received: {names}")
        for group in self.loss_groups:
            if group.every < 1:
                raise ValueError(f"Loss group {group.name!r}: `every` must be >= 1. Received: {group.every}")
            group.optimizer.build(group.variables())

    @property
    def optimizers(self):
        """{group name: optimizer}."""
        return {group.name: group.optimizer for group in self.loss_groups}

    # ------------------------------------------------------------------ training
    def group_gradients(self, group, batch, seed, global_batch_size=None):
        """(gradients, metrics) of one loss group on this replica's batch.

        The loss is the batch mean, or (under a distribution strategy) the sum over this
        replica's rows divided by `global_batch_size`, so the all-reduced update equals the
        single-device mean.
        """
        variables = group.variables()
        with tf.GradientTape() as tape:
            per_example, info = group.loss_fn(batch, seed)
            if global_batch_size is None:
                loss = tf.reduce_mean(per_example)
            else:
                loss = tf.reduce_sum(per_example) / tf.cast(global_batch_size, per_example.dtype)
        gradients = tape.gradient(loss, variables)
        missing = [v.path for v, g in zip(variables, gradients) if g is None]
        if missing:
            raise ValueError(f"Loss group {group.name!r} gives no gradient to {missing}.")
        metrics = {f"{group.name}/{key}": value for key, value in info.items()}
        metrics.setdefault(f"{group.name}/loss", tf.reduce_mean(per_example))
        metrics[f"{group.name}/grad_norm"] = tf.linalg.global_norm(gradients)
        return gradients, metrics

    def update(self, batch, seed, step, global_batch_size=None, gradient_fns=None):
        """Apply every loss group once, in order; returns their metrics {"group/key": scalar}.

        `step` (int64 scalar) is the update's index, `seed` its stateless seed.
        `gradient_fns` optionally replaces `group_gradients` per group (the trainer passes
        XLA-compiled ones under a multi-replica strategy).
        """
        metrics = {}
        for index, group in enumerate(self.loss_groups):
            compute = gradient_fns[index] if gradient_fns else (
                lambda b, s, n, group=group: self.group_gradients(group, b, s, n))
            gradients, info = compute(batch, seed, global_batch_size)
            metrics.update(info)
            pairs = list(zip(gradients, group.variables()))
            if group.every == 1:
                group.optimizer.apply_gradients(pairs)
            else:
                def apply(pairs=pairs, optimizer=group.optimizer):
                    optimizer.apply_gradients(pairs)
                    return tf.constant(True)

                tf.cond(tf.equal(step % group.every, 0), apply, lambda: tf.constant(False))
        return metrics

    def update_targets(self, step):
        """Move target networks after `update` (default: the learner has none)."""
        del step

    def train_step(self, batch, seed, step=0):
        """Uncompiled single-device update plus target update; returns metrics (the trainer compiles its own)."""
        step = tf.convert_to_tensor(step, tf.int64)
        metrics = self.update(batch, seed, step)
        self.update_targets(step)
        return metrics

    def validation_metrics(self, batch):
        """Metrics on a held-out batch, "group/key" -> scalar (default: none)."""
        del batch
        return {}

    def check_metrics(self, metrics):
        """A message if finite but diverging training metrics should stop the run, else None."""
        del metrics
        return None
