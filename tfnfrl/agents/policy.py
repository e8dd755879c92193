"""`Policy`: the compiled acting functions of a trained agent, what evaluation and export consume.

An agent builds its Policy from plain functions over its own networks; the evaluator calls
`policy_fn(...)` and the SavedModel exporter wraps `act`, `act_mode`, `log_prob` and any
`extra_functions` (e.g. a critic's Q-values) unchanged, so what is evaluated is what is
served. Neither needs to know the concrete agent.
"""

import numpy as np
import tensorflow as tf

from tfnfrl.agents import specs


def _matrix(size, name):
    return tf.TensorSpec([None, size], tf.float32, name=name)


class _EagerFastFunction:
    """A tf.function with a fixed input signature whose eager calls skip tf.function's dispatch.

    An eager call whose arguments are tensors matching the signature goes straight to the one
    concrete function (about 0.3 ms less per batch-1 call on 2 CPU cores); anything else (numpy
    inputs, wrong shapes, keyword arguments, tracing callers such as the exporter) goes through
    the tf.function, which converts its inputs and rejects bad ones with its own clear error.
    `before()`, if given, runs first on every eager call (e.g. a weight-cache freshness check);
    traced callers refresh through `Policy.refresh()` instead.
    """

    def __init__(self, function, before=None):
        self._function = function
        self._before = before
        self._specs = tuple(function.input_signature)
        self._concrete = None

    def __call__(self, *args, **kwargs):
        if not tf.executing_eagerly():
            return self._function(*args, **kwargs)
        if self._before is not None:
            self._before()
        if not kwargs and len(args) == len(self._specs) and all(
            isinstance(arg, tf.Tensor) and spec.is_compatible_with(arg) for arg, spec in zip(args, self._specs)
        ):
            if self._concrete is None:
                self._concrete = self._function.get_concrete_function()
            return self._concrete(*args)
        return self._function(*args, **kwargs)

    def __getattr__(self, name):  # get_concrete_function, input_signature, ...
        return getattr(self._function, name)


class Policy(tf.Module):
    """pi(a | s[, g]) as compiled functions with fixed input signatures.

    Args:
      observation_dim, goal_dim, action_dim: sizes; goal_dim 0 for policies without goals
        (their functions then take an [N, 0] goals tensor).
      sample_fn: (observations [N, obs], goals [N, goal], seed int32 [2]) -> actions [N, act],
        already clipped to the bounds.
      mode_fn: (observations, goals) -> deterministic actions [N, act].
      log_prob_fn: (observations, goals, actions) -> log pi(a | s[, g]) [N] in nats, or None
        for deterministic policies (then there is no `log_prob`).
      action_low, action_high: the action bounds (floats).
      eval_deterministic: whether `policy_fn` acts with `act_mode` by default.
      jit_compile: XLA-compile `act` and `act_mode` (lower per-call latency on CPU).
      extra_functions: {name: (fn, {input name: size})}: more batched float32 functions to
        export as signatures, e.g. {"q_value": (q_fn, {"observations": 28, "actions": 5})};
        each fn takes the inputs in that order and returns a dict of tensors.

    An agent whose acting functions read a cache derived from the weights (e.g.
    `tfnfrl.flows.frozen.FrozenFlow`'s dense W^-1) registers it with `attach_weight_cache`.
    """

    def __init__(
        self,
        observation_dim,
        goal_dim,
        action_dim,
        sample_fn,
        mode_fn,
        log_prob_fn=None,
        action_low=specs.ACTION_LOW,
        action_high=specs.ACTION_HIGH,
        eval_deterministic=False,
        jit_compile=True,
        extra_functions=None,
        name="policy",
    ):
        super().__init__(name=name)
        self.observation_dim = int(observation_dim)
        self.goal_dim = int(goal_dim)
        self.action_dim = int(action_dim)
        self.action_low = float(action_low)
        self.action_high = float(action_high)
        self.eval_deterministic = bool(eval_deterministic)
        self.refresh_fn = None
        state = [_matrix(self.observation_dim, "observations"), _matrix(self.goal_dim, "goals")]
        self.act = _EagerFastFunction(tf.function(
            sample_fn, input_signature=state + [tf.TensorSpec([2], tf.int32, name="seed")], jit_compile=jit_compile
        ))
        self.act_mode = _EagerFastFunction(tf.function(mode_fn, input_signature=state, jit_compile=jit_compile))
        self.log_prob = None
        if log_prob_fn is not None:
            self.log_prob = tf.function(log_prob_fn, input_signature=state + [_matrix(self.action_dim, "actions")])
        self.extra_functions = {}
        for extra_name, (fn, inputs) in (extra_functions or {}).items():
            signature = [_matrix(size, key) for key, size in inputs.items()]
            self.extra_functions[extra_name] = (tf.function(fn, input_signature=signature), dict(inputs))

    @property
    def goal_conditioned(self):
        return self.goal_dim > 0

    def attach_weight_cache(self, refresh, refresh_if_stale):
        """Register an acting-time weight cache read by `act` / `act_mode`.

        `refresh()` re-derives it now: `policy_fn()` and the exporter call it (through
        `Policy.refresh`) because they freeze the weights. `refresh_if_stale()` runs before each
        eager `act` / `act_mode` call and re-derives it if the weights changed (e.g. the
        optimizer stepped) since.
        """
        self.refresh_fn = refresh
        self.act = _EagerFastFunction(self.act._function, refresh_if_stale)  # pylint: disable=protected-access
        self.act_mode = _EagerFastFunction(self.act_mode._function, refresh_if_stale)  # pylint: disable=protected-access

    def refresh(self):
        """Re-derive the acting-time weight cache (if any) from the current weights."""
        if self.refresh_fn is not None:
            self.refresh_fn()

    def policy_fn(self, seed=0, deterministic=None):
        """A numpy policy for `tfnfrl.envs.evaluate`: (obs [N, obs], goals [N, goal]) -> [N, act].

        Each call draws with the stateless seed [seed, call index], so a run of calls is
        reproducible. `deterministic` (default: `eval_deterministic`) uses `act_mode`. Goals
        are dropped for policies without goals. The acting-time weight cache is refreshed
        first (`refresh()`), so weights assigned without an optimizer step (a restore) count.
        """
        self.refresh()
        deterministic = self.eval_deterministic if deterministic is None else deterministic
        calls = iter(range(2**31 - 1))

        def policy(observations, goals):
            observations = tf.constant(np.asarray(observations, np.float32))
            if self.goal_conditioned:
                goals = tf.constant(np.asarray(goals, np.float32))
            else:
                goals = tf.zeros([observations.shape[0], 0], tf.float32)
            if deterministic:
                return self.act_mode(observations, goals).numpy()
            return self.act(observations, goals, tf.constant([seed, next(calls)], tf.int32)).numpy()

        return policy
