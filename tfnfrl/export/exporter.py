"""Export an agent (or a training workdir's checkpoint) as a TF Serving SavedModel version."""

import dataclasses
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tfnfrl.export import metadata
from tfnfrl.export import policy_module
from tfnfrl.export import tflite
from tfnfrl.export import versions

DEFAULT_EXPORT_DIR = "savedmodels"
FORMATS = ("savedmodel", "tflite")  # tflite: the SavedModel plus <version>/policy.tflite (LiteRT).
VERIFY_TOLERANCE = 1e-5  # Max |served - library| action difference accepted by the self-check.


@dataclasses.dataclass
class ExportResult:
    """Where an export landed.

    Attributes:
      path: the version directory `<export_dir>/<name>/<version>` (the SavedModel).
      name: the model name (TF Serving's /v1/models/<name>).
      version: the integer version.
      info: the policy-info dict written to `assets/policy_info.json`.
      tflite_path: `<path>/policy.tflite` when the "tflite" format was asked for, else None.
    """

    path: str
    name: str
    version: int
    info: dict
    tflite_path: str = None


def check_formats(formats):
    """The export formats as a tuple; ValueError naming the valid ones for anything else."""
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"Unknown export format(s) {unknown or list(formats)}; expected some of {list(FORMATS)}.")
    return formats


def verify_export(policy, saved_model_dir, batch_size=7, seed=(3, 4)):
    """Reload `saved_model_dir` in this process and compare its signatures with `policy` (a Policy).

    Checks serving_default (sampled with `seed`, and deterministic) against `policy.act` /
    `policy.act_mode`, log_prob against `policy.log_prob` and every extra function against
    its library version, on random inputs. Raises RuntimeError naming the signature and the
    difference if any exceeds VERIFY_TOLERANCE. (The test suite repeats this from a process
    without tfnfrl.)
    """
    rng = np.random.default_rng(0)
    observations = rng.normal(size=(batch_size, policy.observation_dim)).astype(np.float32)
    goals = rng.normal(size=(batch_size, policy.goal_dim)).astype(np.float32)
    actions = rng.uniform(-0.9, 0.9, size=(batch_size, policy.action_dim)).astype(np.float32)
    seed = tf.constant(seed, tf.int32)
    sampled, deterministic = tf.constant(False), tf.constant(True)
    state = dict(observations=observations)
    if policy.goal_conditioned:
        state["goals"] = goals
    loaded = tf.saved_model.load(saved_model_dir)
    serve = loaded.signatures["serving_default"]
    pairs = {
        "serving_default(seed)": (serve(**state, seed=seed, deterministic=sampled)["actions"], policy.act(observations, goals, seed)),
        "serving_default(deterministic)": (
            serve(**state, seed=seed, deterministic=deterministic)["actions"],
            policy.act_mode(observations, goals),
        ),
    }
    if policy.log_prob is not None:
        served = loaded.signatures["log_prob"](**state, actions=actions)["log_prob"]
        pairs["log_prob"] = (served, policy.log_prob(observations, goals, actions))
    for name, (function, inputs) in policy.extra_functions.items():
        feed = {key: rng.uniform(-0.9, 0.9, size=(batch_size, size)).astype(np.float32) for key, size in inputs.items()}
        served, library = loaded.signatures[name](**feed), function(*feed.values())
        for key in library:
            pairs[f"{name}[{key}]"] = (served[key], library[key])
    for name, (served, library) in pairs.items():
        difference = float(np.max(np.abs(served.numpy() - library.numpy())))
        if not difference <= VERIFY_TOLERANCE:
            raise RuntimeError(
                f"Exported {name} differs from the library's by {difference:.3g} (> {VERIFY_TOLERANCE}) "
                f"in {saved_model_dir}; the export was not kept."
            )


def export_agent(
    agent_or_policy,
    export_dir,
    name,
    version=None,
    agent_name=None,
    env_name=None,
    train_step=None,
    agent_config=None,
    run_config=None,
    checkpoint=None,
    verify=True,
    formats=("savedmodel",),
):
    """Write an agent's `Policy` as the SavedModel `<export_dir>/<name>/<version>/` (see `PolicyModule`).

    The SavedModel is written to a hidden temporary directory beside the versions (TF
    Serving ignores non-numeric names) and renamed into place only when complete and
    verified, so a server watching `export_dir` never loads a partial export.

    Args:
      agent_or_policy: a trained learner (its `.policy` is exported) or a `tfnfrl.agents.Policy`.
      export_dir: the model base directory (TF Serving's `model_base_path` parent).
      name: model name (letters, digits, '_', '.', '-').
      version: positive int; None picks the next free one. An existing version raises
        FileExistsError: versions are never overwritten.
      agent_name, env_name, train_step, agent_config, run_config, checkpoint: recorded in
        `assets/policy_info.json` (agent_name defaults to the learner's `config.agent_name`).
      verify: reload the export and compare it with the policy (`verify_export`; for
        LiteRT, `tflite.verify`).
      formats: "savedmodel" and/or "tflite" (`FORMATS`); "tflite" also writes
        `<version>/policy.tflite` (`tfnfrl.export.tflite`; needs the learner, not its policy).

    Returns an ExportResult.
    """
    formats = check_formats(formats)
    versions.check_model_name(name)
    model_dir = os.path.join(export_dir, name)
    version = versions.next_version(model_dir) if version is None else version
    final_path = versions.check_new_version(model_dir, version)
    policy = getattr(agent_or_policy, "policy", agent_or_policy)
    if agent_config is None and hasattr(agent_or_policy, "config"):
        agent_config = agent_or_policy.config
    if agent_name is None:
        agent_name = agent_config.agent_name if agent_config is not None else type(agent_or_policy).__name__

    if "tflite" in formats and not tflite.supports(agent_or_policy):
        raise ValueError(
            f"--format=tflite supports agents acting through a frozen flow (nf_gcbc, nf_bc, nf_rlbc). Received: {agent_name}"
        )

    policy.refresh()  # Acting-time weight caches follow the weights being exported.
    os.makedirs(model_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".export-{version}-", dir=model_dir)
    tflite_path = None
    try:
        module = policy_module.PolicyModule(policy)
        info = metadata.policy_info(
            module, agent_name, env_name=env_name, train_step=train_step, agent_config=agent_config,
            run_config=run_config, checkpoint=checkpoint,
        )
        with tempfile.TemporaryDirectory() as scratch:
            module.attach_policy_info(metadata.write_policy_info(info, scratch))
            saved_model_dir = os.path.join(staging, "model")
            tf.saved_model.save(module, saved_model_dir, signatures=module.signatures())
        if verify:
            verify_export(policy, saved_model_dir)
        if "tflite" in formats:
            tflite.write(agent_or_policy, saved_model_dir, verify_model=verify)
            tflite_path = os.path.join(final_path, tflite.TFLITE_FILENAME)
        versions.check_new_version(model_dir, version)  # Another export may have taken it meanwhile.
        os.rename(saved_model_dir, final_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(final_path, name, int(version), info, tflite_path)


def export_workdir(
    workdir, export_dir=DEFAULT_EXPORT_DIR, name=None, version=None, step=None, verify=True, formats=("savedmodel",)
):
    """Export the checkpoint `step` (None: the newest) of a training workdir; returns an ExportResult.

    `formats` as in `export_agent` (checked before the slow restore).
    `name` defaults to "<agent>_<env_name>" from the workdir's config.json. Raises
    FileNotFoundError for a directory that is not a workdir or has no such checkpoint.
    """
    from tfnfrl.training import restore  # pylint: disable=import-outside-toplevel
    from tfnfrl.training import run_config as run_config_lib  # pylint: disable=import-outside-toplevel

    # Formats, name and version are checked before the (slow) restore, so bad input fails fast.
    formats = check_formats(formats)
    agent_config, run_config, _ = run_config_lib.load(workdir)
    name = name or versions.default_model_name(agent_config.agent_name, run_config.env_name)
    versions.check_model_name(name)
    if version is not None:
        versions.check_new_version(os.path.join(export_dir, name), version)
    run = restore.restore_run(workdir, step)
    agent_name = run.agent_config.agent_name
    return export_agent(
        run.agent,
        export_dir,
        name,
        version=version,
        agent_name=agent_name,
        env_name=run.run_config.env_name,
        train_step=run.step,
        agent_config=run.agent_config,
        run_config=run.run_config,
        checkpoint=run.checkpoint,
        verify=verify,
        formats=formats,
    )
