"""NF-GCBC: goal-conditioned behaviour cloning with a normalizing-flow policy.

Ghugare & Eysenbach 2025 (arXiv 2505.23527), Sec. 5.1: maximum likelihood of noised dataset
actions under pi(a | s, g) = ConditionalFlow(a; encoder(s, g)); one denoising step at action
time. Defaults are the paper's (1M steps on a GPU; shrink for CPUs, e.g. with
`--config.head.num_blocks` / `--config.encoder.hidden_dims`).

Acting (evaluation, export) runs through `tfnfrl.flows.frozen.FrozenFlow`: the same flow pass
and denoising step with each block's W^-1 and fused coupling kernels computed once per
weight version (the optimizer's step), not per call.
"""

import tensorflow as tf

from tfnfrl.agents import bc_agent
from tfnfrl.agents import config_parts
from tfnfrl.agents import frozen_acting
from tfnfrl.agents import optimizers

FEED = bc_agent.FEED
make_networks = bc_agent.make_networks


class NFGCBCAgent(frozen_acting.FrozenFlowActor, bc_agent.BCAgent):
    """`BCAgent` whose policy acts with frozen-weight caches (`FrozenFlow`) when the head allows it.

    Same parameters, losses and checkpoints as `BCAgent`; `policy.act` / `act_mode` return the
    training-time path's actions (`reference_act` / `reference_act_mode`) to float tolerance.
    The cache is derived on first use and by `policy.refresh()`, which `policy_fn()` and
    the exporter call (they freeze the weights); an eager `policy.act` / `act_mode` call first
    re-derives it if the optimizer stepped since. Weights assigned without an optimizer step
    (a checkpoint restore, `set_weights`) need `policy.refresh()` (or `policy_fn()`) before
    eager acting; the exporter and evaluation do it themselves.
    """

    def __init__(self, config, spec, networks, total_steps=1_000_000):
        super().__init__(config, spec, networks, total_steps=total_steps)
        self.frozen_acting = frozen_acting.attach(
            config, getattr(self.head, "flow", None), self.optimizer.iterations, self.policy
        )

    def _denoise_scale(self):
        sigma = float(self.config.action_noise)
        return sigma**2 if self.config.denoise and sigma > 0.0 else None

    def act_with_noise(self, observations, goals, noise):
        """Actions for flow noise [N, act] (zeros: `act_mode`) through the cache as it is: what the
        LiteRT export computes. Traced callers should call `policy.refresh()` first."""
        context = self.context(observations, goals)
        actions = self.frozen_acting.sample(noise, context, denoise_scale=self._denoise_scale())
        return tf.clip_by_value(actions, self.spec.action_low, self.spec.action_high)

    def reference_act(self, observations, goals, seed):
        """The training-time acting path: `head.sample`, autodiff denoising step, clip."""
        return bc_agent.BCAgent._act(self, observations, goals, seed)

    def reference_act_mode(self, observations, goals):
        return bc_agent.BCAgent._act_mode(self, observations, goals)


AGENT_CLASS = NFGCBCAgent


def get_config():
    # Goals are relabelled from each trajectory's future; evaluation samples (no zero-noise mode).
    config = config_parts.agent_header("nf_gcbc", batch_size=256, goal_conditioned=True)
    config.action_noise = 0.1  # sigma: N(0, sigma^2) noise added to dataset actions before the MLE loss.
    config.denoise = True  # At action time a <- a + sigma^2 * grad_a log pi(a | s, g), then clip to [-1, 1].
    config.fast_act = True  # Act through frozen-weight caches (tfnfrl.flows.frozen); False: the training-time path.
    config.optimizer = optimizers.optimizer_config(lr=3e-4, warmup_steps=500, final_lr=1e-6, weight_decay=1e-6)
    config.encoder = config_parts.encoder_config()  # 4 x 512 (Dense -> LayerNorm -> SiLU) -> 64.
    config.head = config_parts.flow_head_config(num_blocks=6, hidden_units=256)
    config.sampler = config_parts.goal_sampling_config(discount=0.99, geom_sample=True)
    return config
