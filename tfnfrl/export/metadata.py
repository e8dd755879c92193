"""The policy-info JSON stored in a SavedModel's `assets/`: what a client needs without tfnfrl."""

import datetime
import json
import os

import tensorflow as tf

import tfnfrl

ASSET_FILENAME = "policy_info.json"
FORMAT_VERSION = 1  # Bumped when a key of the JSON changes meaning.

NON_FINITE_BEHAVIOUR = (
    "A NaN or +-inf anywhere in observations, goals or actions fails the whole request with "
    "InvalidArgumentError (no action is returned)."
)


def _plain(config):
    """A ConfigDict (or dict, or None) as JSON-able data."""
    if config is None:
        return None
    if hasattr(config, "to_json"):
        return json.loads(config.to_json())
    return json.loads(json.dumps(config))


def signature_summary(module):
    """{signature: {"inputs": {name: {"dtype", "shape"}}, "outputs": ...}} (shape -1 = any size)."""
    summary = {}
    for name in module.signature_names:
        structured = getattr(module, name).get_concrete_function().structured_outputs
        out = {key: [-1 if d is None else d for d in tensor.shape.as_list()] for key, tensor in structured.items()}
        inputs = {
            key: {"dtype": spec.dtype.name, "shape": [-1 if d is None else d for d in spec.shape.as_list()]}
            for key, spec in module.input_specs(name).items()
        }
        summary[name] = {
            "inputs": inputs,
            "outputs": {key: {"dtype": "float32", "shape": shape} for key, shape in out.items()},
        }
    summary["serving_default"]["optional_inputs"] = {"seed": "[] -> a fresh random seed per call", "deterministic": False}
    summary["sample_actions"]["optional_inputs"] = {"seed": "[] -> a fresh random seed per call"}
    return summary


def policy_info(module, agent_name, env_name=None, train_step=None, agent_config=None, run_config=None, checkpoint=None):
    """The JSON-able description of an exported policy.

    Args:
      module: the `PolicyModule` being exported (dims and signatures are read from it).
      agent_name: registry name of the agent (e.g. "nf_gcbc").
      env_name: OGBench dataset/env name the agent was trained on, if known.
      train_step: training updates completed at the exported checkpoint.
      agent_config, run_config: the resolved configs of the run (ConfigDict or dict).
      checkpoint: the checkpoint path the weights came from.
    """
    return {
        "format_version": FORMAT_VERSION,
        "agent": agent_name,
        "env_name": env_name,
        "train_step": None if train_step is None else int(train_step),
        "goal_conditioned": module.goal_conditioned,
        "observation_dim": module.observation_dim,
        "goal_dim": module.goal_dim,
        "action_dim": module.action_dim,
        # OGBench observations are unbounded; actions are clipped to these bounds.
        "observation_bounds": {"low": None, "high": None},
        "action_bounds": {
            "low": [module.action_low] * module.action_dim,
            "high": [module.action_high] * module.action_dim,
        },
        "signatures": signature_summary(module),
        "non_finite_inputs": NON_FINITE_BEHAVIOUR,
        "agent_config": _plain(agent_config),
        "run_config": _plain(run_config),
        "checkpoint": checkpoint,
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tfnfrl_version": tfnfrl.__version__,
        "tensorflow_version": tf.__version__,
    }


def write_policy_info(info, directory):
    """Write `info` as `directory/policy_info.json`; returns the path."""
    path = os.path.join(directory, ASSET_FILENAME)
    with open(path, "w") as f:
        json.dump(info, f, indent=2, sort_keys=True)
    return path


def read_policy_info(saved_model_dir):
    """The policy-info dict of an exported SavedModel directory."""
    with open(os.path.join(saved_model_dir, "assets", ASSET_FILENAME)) as f:
        return json.load(f)
