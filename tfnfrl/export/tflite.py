"""LiteRT (TensorFlow Lite) export of a flow policy, for on-robot inference without TensorFlow.

The `.tflite` model computes what the library's `policy.act` computes for a given draw of
the flow's noise, through the frozen-weight acting path (`tfnfrl.flows.frozen`): encoder,
one flow pass with dense W^-1, the denoising step, the clip. The noise is an input, so a
result is reproducible and the caller picks the randomness:

  actions(observations f32 [B, obs], goals f32 [B, goal], noise f32 [B, act]) -> {"actions": f32 [B, act]}

noise ~ N(0, I) samples; noise = 0 is the deterministic action (`act_mode`). The library's
`policy.act(observations, goals, seed)` uses noise = `tfnfrl.rng.standard_normal([B, act],
seed)`. B is dynamic (resize the inputs); built from TFLite builtin ops only.
"""

import tempfile

import numpy as np
import tensorflow as tf

TFLITE_FILENAME = "policy.tflite"
SIGNATURE = "serving_default"
VERIFY_TOLERANCE = 1e-4  # Max |LiteRT - library| action difference accepted by the self-check.


def supports(agent):
    """Whether `agent` can be exported to LiteRT: it acts from explicit noise (`act_with_noise`)."""
    return callable(getattr(agent, "act_with_noise", None)) and getattr(agent, "frozen_flow", None) is not None


def actions_function(agent):
    """The tf.function converted: (observations, goals, noise) -> {"actions"} (see module docstring)."""
    if not supports(agent):
        raise ValueError(
            "LiteRT export needs an agent that acts from explicit noise through a frozen coupling flow "
            f"(nf_gcbc, nf_bc or nf_rlbc with fast_act). Received: {type(agent).__name__}"
        )
    policy = agent.policy
    policy.refresh()
    matrix = lambda size, name: tf.TensorSpec([None, size], tf.float32, name=name)  # noqa: E731
    signature = [
        matrix(policy.observation_dim, "observations"),
        matrix(policy.goal_dim, "goals"),
        matrix(policy.action_dim, "noise"),
    ]

    @tf.function(input_signature=signature)
    def actions(observations, goals, noise):
        return {"actions": agent.act_with_noise(observations, goals, noise)}

    return actions


def convert(agent):
    """The agent's `.tflite` flatbuffer (bytes); weights frozen as they are now.

    Goes through a scratch SavedModel: converting a concrete function directly loses the
    signature (its input names), which LiteRT's signature runner needs.
    """
    module = tf.Module()
    module.actions = actions_function(agent)
    module.variables_read = list(module.actions.get_concrete_function().variables)
    with tempfile.TemporaryDirectory() as scratch:
        tf.saved_model.save(module, scratch, signatures={SIGNATURE: module.actions})
        converter = tf.lite.TFLiteConverter.from_saved_model(scratch, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()


def interpreter(model_path=None, model_content=None, num_threads=1):
    """A LiteRT interpreter: `ai_edge_litert`'s if installed, else TensorFlow's deprecated `tf.lite`."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # pylint: disable=import-outside-toplevel
    except ImportError:
        Interpreter = tf.lite.Interpreter  # noqa: N806  pylint: disable=invalid-name
    return Interpreter(model_path=model_path, model_content=model_content, num_threads=num_threads)


def run(runner, observations, goals, noise):
    """Actions [B, act] from a `interpreter(...)`'s signature runner for one batch."""
    return runner(observations=observations, goals=goals, noise=noise)["actions"]


def verify(agent, model_content, batch_size=7):
    """Compare the model with the library (`agent.act_with_noise`); RuntimeError beyond VERIFY_TOLERANCE."""
    rng = np.random.default_rng(0)
    policy = agent.policy
    observations = rng.normal(size=(batch_size, policy.observation_dim)).astype(np.float32)
    goals = rng.normal(size=(batch_size, policy.goal_dim)).astype(np.float32)
    runner = interpreter(model_content=model_content).get_signature_runner(SIGNATURE)
    for noise in (rng.normal(size=(batch_size, policy.action_dim)), np.zeros((batch_size, policy.action_dim))):
        noise = noise.astype(np.float32)
        served = run(runner, observations, goals, noise)
        library = agent.act_with_noise(observations, goals, noise).numpy()
        difference = float(np.max(np.abs(served - library)))
        if not difference <= VERIFY_TOLERANCE:
            raise RuntimeError(
                f"The LiteRT model's actions differ from the library's by {difference:.3g} (> {VERIFY_TOLERANCE}); "
                "the export was not kept."
            )


def write(agent, directory, verify_model=True):
    """Convert, optionally verify, and write `<directory>/policy.tflite`; returns its path."""
    content = convert(agent)
    if verify_model:
        verify(agent, content)
    path = f"{directory}/{TFLITE_FILENAME}"
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(content)
    return path
