"""The `tf.Module` a trained agent is exported as: named, batched signatures over its acting functions.

Functions are exported, not distributions (TF-Agents' policy saver does the same): each
signature validates its inputs and then calls the agent's own compiled functions
`act`, `act_mode` and `policy_log_prob` unchanged, the ones `tfnfrl.envs.evaluate` runs
through `agent.policy_fn`, so what was evaluated is what is served.

Signatures (B = batch, any size >= 1; goals only for goal-conditioned agents):

  serving_default(observations f32 [B, obs], goals f32 [B, goal],
                  seed i32 [2] = [] (fresh), deterministic bool [] = False)
      -> {"actions": f32 [B, act]}
      One flow pass (sample, or z = 0 when `deterministic`), the denoising step and the clip
      to the action bounds: exactly `agent.act(observations, goals, seed)` or
      `agent.act_mode(observations, goals)`.
  sample_actions(observations, goals, num_samples i32 [], seed i32 [2] = [] (fresh))
      -> {"actions": f32 [B, num_samples, act]}
      = agent.act on each row repeated num_samples times (one seed for the whole batch).
  log_prob(observations, goals, actions f32 [B, act]) -> {"log_prob": f32 [B]}
      = agent.policy_log_prob: log pi(a | s[, g]) in nats, no denoising, no clipping.

`seed` and `deterministic` carry defaults in the SignatureDef (`SignatureDef.defaults`), so a
request may omit them; `seed=[]` (or omitting it) draws a fresh random seed per call.
A non-finite observation, goal or action fails the request with InvalidArgumentError.
"""

import tensorflow as tf

from tfnfrl.export import input_checks

SIGNATURE_NAMES = ("serving_default", "sample_actions", "log_prob")


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
    """Wraps an agent's compiled acting functions in the export signatures (see module docstring).

    Args:
      agent: a trained agent exposing `act(obs, goals, seed)`, `act_mode(obs, goals)`,
        `policy_log_prob(obs, goals, actions)`, `observation_dim`, `goal_dim`,
        `action_dim` and `goal_conditioned` (e.g. `tfnfrl.agents.BCAgent`). Only the
        variables those functions read are exported (not the optimizer or its slots).
    """

    def __init__(self, agent, name="tfnfrl_policy"):
        super().__init__(name=name)
        for attribute in ("act", "act_mode", "policy_log_prob"):
            if not hasattr(agent, attribute):
                raise ValueError(f"Cannot export {type(agent).__name__}: it has no `{attribute}`.")
        self.observation_dim = int(agent.observation_dim)
        self.goal_dim = int(agent.goal_dim)
        self.action_dim = int(agent.action_dim)
        self.goal_conditioned = bool(agent.goal_conditioned)
        self._build_signatures(agent)
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
        raise ValueError(f"Unknown signature {signature_name!r}; expected one of {SIGNATURE_NAMES}.")

    def signatures(self):
        """{signature name: tf.function} to pass to `tf.saved_model.save(..., signatures=...)`."""
        return {name: getattr(self, name) for name in SIGNATURE_NAMES}

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

    def _build_signatures(self, agent):
        # Closures over `agent` (not attributes), so the agent, its optimizer and its other
        # functions are not tracked into the SavedModel; the agent's functions are traced in.
        empty_seed = tf.constant([], tf.int32)
        stochastic = tf.constant(False)

        def actions(observations, goals, seed, deterministic):
            observations, goals = self._state(observations, goals)
            seed = input_checks.resolve_seed(seed)
            actions = tf.cond(
                deterministic,
                lambda: agent.act_mode(observations, goals),
                lambda: agent.act(observations, goals, seed),
            )
            return {"actions": actions}

        def samples(observations, goals, num_samples, seed):
            observations, goals = self._state(observations, goals)
            seed = input_checks.resolve_seed(seed)
            check = tf.debugging.assert_positive(num_samples, message="`num_samples` must be >= 1")
            with tf.control_dependencies([check]):
                flat = agent.act(
                    tf.repeat(observations, num_samples, axis=0), tf.repeat(goals, num_samples, axis=0), seed
                )
            return {"actions": tf.reshape(flat, [-1, num_samples, self.action_dim])}

        def log_prob(observations, goals, actions):
            observations, goals = self._state(observations, goals)
            actions = input_checks.checked_matrix(
                "actions", actions, self.action_dim, batch_size=tf.shape(observations)[0]
            )
            return {"log_prob": agent.policy_log_prob(observations, goals, actions)}

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
            specs = [tf.TensorSpec(s.shape, s.dtype, name=key) for key, s in self.input_specs(name).items()]
            setattr(self, name, tf.function(function, input_signature=specs))
