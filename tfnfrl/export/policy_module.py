"""The `tf.Module` a trained agent is exported as: named, batched signatures over its acting functions.

Functions are exported, not distributions (TF-Agents' policy saver does the same): each
signature validates its inputs and then calls the compiled functions of the agent's
`tfnfrl.agents.Policy` (`act`, `act_mode`, `log_prob`, and any `extra_functions`)
unchanged, the ones `tfnfrl.envs.evaluate` runs through `policy.policy_fn`, so what was
evaluated is what is served. No concrete agent is imported here.

Signatures (B = batch, any size >= 1; goals only for goal-conditioned agents):

  serving_default(observations f32 [B, obs], goals f32 [B, goal],
                  seed i32 [2] = [] (fresh), deterministic bool [] = False)
      -> {"actions": f32 [B, act]}
      One flow pass (sample, or z = 0 when `deterministic`), the denoising step and the clip
      to the action bounds: exactly `policy.act(observations, goals, seed)` or
      `policy.act_mode(observations, goals)`.
  sample_actions(observations, goals, num_samples i32 [], seed i32 [2] = [] (fresh))
      -> {"actions": f32 [B, num_samples, act]}
      = policy.act on each row repeated num_samples times (one seed for the whole batch).
  log_prob(observations, goals, actions f32 [B, act]) -> {"log_prob": f32 [B]}
      = policy.log_prob: log pi(a | s[, g]) in nats, no denoising, no clipping (only for
      policies with a density; deterministic actors have no `log_prob` signature).
  <extra name>(inputs...) -> dict: each of the policy's `extra_functions`, e.g. an
      actor-critic's q_value(observations, actions) -> {"q": [B], "q_heads": [B, K]}.

`seed` and `deterministic` carry defaults in the SignatureDef (`SignatureDef.defaults`), so a
request may omit them; `seed=[]` (or omitting it) draws a fresh random seed per call.
A non-finite observation, goal or action fails the request with InvalidArgumentError.
"""

import tensorflow as tf

from tfnfrl.export import input_checks

POLICY_SIGNATURES = ("serving_default", "sample_actions", "log_prob")


def captured_variables(functions):
    """The distinct tf.Variables read by tf.functions (with input signatures), in first-use order."""
    seen, variables = set(), []
    for function in functions:
        for variable in function.get_concrete_function().variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


class PolicyModule(tf.Module):
    """Wraps a `tfnfrl.agents.Policy`'s compiled functions in the export signatures (see module docstring).

    Args:
      policy: the trained agent's `Policy` (`agent.policy`). Only the variables its
        functions read are exported (not optimizers, targets or their slots).
    """

    def __init__(self, policy, name="tfnfrl_policy"):
        super().__init__(name=name)
        for attribute in ("act", "act_mode", "log_prob", "extra_functions", "observation_dim", "goal_dim"):
            if not hasattr(policy, attribute):
                raise ValueError(f"Cannot export {type(policy).__name__}: it has no `{attribute}`; pass `agent.policy`.")
        self.observation_dim = int(policy.observation_dim)
        self.goal_dim = int(policy.goal_dim)
        self.action_dim = int(policy.action_dim)
        self.goal_conditioned = bool(policy.goal_conditioned)
        self.action_low, self.action_high = float(policy.action_low), float(policy.action_high)
        self.signature_names = [n for n in POLICY_SIGNATURES if n != "log_prob" or policy.log_prob is not None]
        self.extra_inputs = {name: inputs for name, (_, inputs) in policy.extra_functions.items()}
        self.signature_names += list(self.extra_inputs)
        self._build_signatures(policy)
        # Track the plain tf.Variables the traced signatures read. Keras 3 layers or
        # keras.Variables tracked instead are restored by `tf.saved_model.load` but not by a
        # TF1 session loader (TF Serving, `saved_model_cli run`): "Could not find variable".
        self.acting_variables = captured_variables(self.signatures().values())

    def attach_policy_info(self, path):
        """Store the JSON file at `path` as a SavedModel asset (it lands in `assets/<basename>`)."""
        self.policy_info = tf.saved_model.Asset(path)

    # ------------------------------------------------------------------ specs
    def input_specs(self, signature_name):
        """{input name: TensorSpec} of one signature, in argument order."""
        matrix = lambda size: tf.TensorSpec([None, size], tf.float32)  # noqa: E731
        state = {"observations": matrix(self.observation_dim)}
        if self.goal_conditioned:
            state["goals"] = matrix(self.goal_dim)
        seed = tf.TensorSpec(input_checks.EMPTY_SEED_SHAPE, tf.int32)
        if signature_name == "serving_default":
            return {**state, "seed": seed, "deterministic": tf.TensorSpec([], tf.bool)}
        if signature_name == "sample_actions":
            return {**state, "num_samples": tf.TensorSpec([], tf.int32), "seed": seed}
        if signature_name == "log_prob":
            return {**state, "actions": matrix(self.action_dim)}
        if signature_name in self.extra_inputs:
            return {key: matrix(size) for key, size in self.extra_inputs[signature_name].items()}
        raise ValueError(f"Unknown signature {signature_name!r}; expected one of {self.signature_names}.")

    def signatures(self):
        """{signature name: tf.function} to pass to `tf.saved_model.save(..., signatures=...)`."""
        return {name: getattr(self, name) for name in self.signature_names}

    # ------------------------------------------------------------------ bodies
    def _state(self, observations, goals):
        """Checked (observations, goals); goals are [B, 0] for agents without goals."""
        observations = input_checks.checked_matrix("observations", observations, self.observation_dim)
        batch = tf.shape(observations)[0]
        if self.goal_conditioned:
            goals = input_checks.checked_matrix("goals", goals, self.goal_dim, batch_size=batch)
        else:
            goals = tf.zeros([batch, 0], tf.float32)
        return observations, goals

    def _build_signatures(self, policy):
        # Closures over `policy` (not attributes), so the policy's functions are traced in
        # without tracking the agent, its optimizers or its targets into the SavedModel.
        empty_seed = tf.constant([], tf.int32)
        stochastic = tf.constant(False)

        def actions(observations, goals, seed, deterministic):
            observations, goals = self._state(observations, goals)
            seed = input_checks.resolve_seed(seed)
            actions = tf.cond(
                deterministic,
                lambda: policy.act_mode(observations, goals),
                lambda: policy.act(observations, goals, seed),
            )
            return {"actions": actions}

        def samples(observations, goals, num_samples, seed):
            observations, goals = self._state(observations, goals)
            seed = input_checks.resolve_seed(seed)
            check = tf.debugging.assert_positive(num_samples, message="`num_samples` must be >= 1")
            with tf.control_dependencies([check]):
                flat = policy.act(
                    tf.repeat(observations, num_samples, axis=0), tf.repeat(goals, num_samples, axis=0), seed
                )
            return {"actions": tf.reshape(flat, [-1, num_samples, self.action_dim])}

        def log_prob(observations, goals, actions):
            observations, goals = self._state(observations, goals)
            actions = input_checks.checked_matrix(
                "actions", actions, self.action_dim, batch_size=tf.shape(observations)[0]
            )
            return {"log_prob": policy.log_prob(observations, goals, actions)}

        # Named Python signatures: their argument names become the SignatureDef's input keys.
        if self.goal_conditioned:
            def serving_default(observations, goals, seed=empty_seed, deterministic=stochastic):
                return actions(observations, goals, seed, deterministic)

            def sample_actions(observations, goals, num_samples, seed=empty_seed):
                return samples(observations, goals, num_samples, seed)

            def log_prob_fn(observations, goals, actions):
                return log_prob(observations, goals, actions)
        else:
            def serving_default(observations, seed=empty_seed, deterministic=stochastic):
                return actions(observations, None, seed, deterministic)

            def sample_actions(observations, num_samples, seed=empty_seed):
                return samples(observations, None, num_samples, seed)

            def log_prob_fn(observations, actions):
                return log_prob(observations, None, actions)

        for name, function in (
            ("serving_default", serving_default), ("sample_actions", sample_actions), ("log_prob", log_prob_fn)
        ):
            if name in self.signature_names:
                specs = [tf.TensorSpec(s.shape, s.dtype, name=key) for key, s in self.input_specs(name).items()]
                setattr(self, name, tf.function(function, input_signature=specs))

        for name, (function, inputs) in policy.extra_functions.items():
            setattr(self, name, self._extra_signature(name, function, inputs))

    def _extra_signature(self, name, function, inputs):
        """A signature over `function` whose inputs (named by their TensorSpecs) are checked first."""

        def checked(*tensors):
            batch = tf.shape(tensors[0])[0]
            tensors = [
                input_checks.checked_matrix(key, tensor, size, batch_size=None if i == 0 else batch)
                for i, ((key, size), tensor) in enumerate(zip(inputs.items(), tensors))
            ]
            return function(*tensors)

        specs = [tf.TensorSpec(s.shape, s.dtype, name=key) for key, s in self.input_specs(name).items()]
        return tf.function(checked, input_signature=specs)
