"""TF Serving's model layout: `<export_dir>/<name>/<version>/`, integer versions, never overwritten."""

import os
import re

# TF Serving serves a model under /v1/models/<name>; keep names URL- and path-safe.
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_model_name(name):
    """Raise ValueError unless `name` is a usable model name (letters, digits, '_', '.', '-')."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"Model name must start with a letter or digit and contain only letters, digits, '_', '.' "
            f"or '-' (it becomes a directory and the URL /v1/models/<name>). Received: name={name!r}"
        )


def default_model_name(agent_name, env_name=None):
    """`<agent>_<env>` (e.g. "nf_gcbc_cube-single-play-v0"), or the agent name alone."""
    return f"{agent_name}_{env_name}" if env_name else agent_name


def existing_versions(model_dir):
    """Sorted integer versions already in `model_dir` (TF Serving ignores non-numeric entries)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(entry) for entry in os.listdir(model_dir) if entry.isdigit())


def next_version(model_dir):
    """One more than the newest version in `model_dir`, or 1 for a new model."""
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def check_new_version(model_dir, version):
    """Raise ValueError for a non-positive version, FileExistsError if it already exists."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive integer. Received: version={version!r}")
    path = os.path.join(model_dir, str(version))
    if os.path.exists(path):
        raise FileExistsError(
            f"{path} already exists and exported versions are never overwritten; pass another --version "
            f"or omit it to export as version {next_version(model_dir)}."
        )
    return path
