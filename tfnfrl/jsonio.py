"""Atomic JSON files: a reader never sees a half-written file, a killed writer leaves the old one."""

import json
import os
import tempfile


def write_json(path, data):
    """Write `data` as indented, key-sorted JSON to `path` atomically; returns `path`.

    The text goes to a temporary file in the same directory, is flushed to disk, and is
    renamed over `path` (atomic on POSIX), so `path` holds either the old or the new content.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the file is meant to be shared.
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def read_json(path):
    """The JSON value in `path` (FileNotFoundError if absent, ValueError naming the file if corrupt)."""
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete or restore it.") from error
