"""A flow policy's frozen-weight acting cache (`tfnfrl.flows.frozen.FrozenFlow`), kept current.

Agents whose policy is a coupling `ConditionalFlow` (NF-BC, NF-GCBC, NF-RLBC) act through a
`FrozenFlow`: dense W^-1 and fused coupling kernels derived once per weight version. The
weights change when the optimizer training the flow steps, so the cache remembers that
optimizer's step: an eager `policy.act` / `act_mode` re-derives it when the step moved, and
`policy.refresh()` (called by `policy_fn()` and the exporter) re-derives it always, for
weights assigned without a step (a checkpoint restore, `set_weights`).
"""

import tensorflow as tf

from tfnfrl.flows import frozen


class FrozenActing:
    """`FrozenFlow` for `flow`, re-derived whenever `step` (an optimizer's iterations) has moved.

    A plain object, not tracked: the derived weights never enter checkpoints.

    Args:
      flow: a built coupling `ConditionalFlow` (see `frozen.supports`).
      step: the iterations variable of the optimizer that updates `flow`.
    """

    def __init__(self, flow, step):
        self.frozen_flow = frozen.FrozenFlow(flow)
        self._step = step
        self._cache_step = None  # The step the cache was derived at (None: unknown).

    def _current_step(self):
        # A raw read: ~8 us, against ~40 us through the Keras variable's .numpy() (paid per eager act).
        step = getattr(self._step, "value", self._step)
        try:
            return int(tf.raw_ops.ReadVariableOp(resource=step.handle, dtype=step.dtype).numpy())
        except (AttributeError, ValueError):  # Distributed variables have no single handle.
            return int(step.numpy())

    def refresh(self):
        """Re-derive the cache from the flow's current weights."""
        self.frozen_flow.refresh()
        self._cache_step = self._current_step()

    def refresh_if_stepped(self):
        """Re-derive the cache if the optimizer stepped since the last refresh."""
        if self._cache_step != self._current_step():
            self.refresh()

    def sample(self, noise, context, denoise_scale=None):
        """Flow noise [N, d] and context [N, k] -> actions [N, d] (unclipped); the cache must be current."""
        return self.frozen_flow.sample(noise, context, denoise_scale=denoise_scale)


class FrozenFlowActor:
    """Mixin for agents acting through a `FrozenActing` cache, with the training-time path as fallback.

    The agent sets `self.frozen_acting` (from `attach`, possibly None) and defines
    `act_with_noise(observations, goals, noise)` (cache path, noise [N, act]), `reference_act` and
    `reference_act_mode` (training-time path); it must list this class before its `Learner` base.
    """

    @property
    def frozen_flow(self):
        """The acting-time `FrozenFlow`, or None when acting through the training-time path."""
        return self.frozen_acting.frozen_flow if self.frozen_acting is not None else None

    def _act(self, observations, goals, seed):
        if self.frozen_acting is None:
            return self.reference_act(observations, goals, seed)
        noise = self.head.flow.noise(None, seed, batch_size=tf.shape(observations)[0])
        return self.act_with_noise(observations, goals, noise)

    def _act_mode(self, observations, goals):
        if self.frozen_acting is None:
            return self.reference_act_mode(observations, goals)
        # z = 0: the flow's image of the base mode.
        return self.act_with_noise(observations, goals, tf.zeros([tf.shape(observations)[0], self.spec.action_dim]))


def attach(config, flow, step, policy):
    """A `FrozenActing` registered with `policy` (`Policy.attach_weight_cache`), or None.

    None when `config.fast_act` is False or `flow` is not a coupling `ConditionalFlow`
    (e.g. MAF blocks, whose sampling is sequential): the agent then acts through the
    training-time path.
    """
    if not config.get("fast_act", True) or not frozen.supports(flow):
        return None
    acting = FrozenActing(flow, step)
    policy.attach_weight_cache(acting.refresh, acting.refresh_if_stepped)
    return acting
