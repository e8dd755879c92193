"""Atomic writes of OGBench dataset files.

Each file is written to a hidden temporary file in the destination directory, flushed to
disk, and then renamed over the final name with os.replace (atomic on POSIX within one file
system). A run killed at any point leaves either no `{name}.npz` or a complete one; a
leftover temporary file is named `.{name}.npz.*.tmp`, which OGBench's loader never opens.
"""

import contextlib
import os
import tempfile

import numpy as np
from absl import logging


def _write_temp(path, arrays):
    """Writes `arrays` compressed to a temp file next to `path`; returns the temp path."""
    directory, base = os.path.split(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        # A file object (not a name) stops numpy from appending '.npz' to the temp name.
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        raise
    return tmp_path


def write_npz_atomic(path, arrays):
    """Writes the dict of numpy arrays `arrays` to `path` (.npz, compressed) atomically."""
    tmp_path = _write_temp(path, arrays)
    os.replace(tmp_path, path)


def write_dataset_files(train_path, train_arrays, val_path, val_arrays):
    """Writes a train/val pair; neither final name appears before both are fully written.

    Both files are first written to temporary files; only then are they renamed, the
    validation file first, so that the training file (the one a loader asks for first)
    appearing means its partner is already in place. If anything fails before the renames,
    the temporary files are removed and any previous files are left untouched.
    """
    os.makedirs(os.path.dirname(os.path.abspath(train_path)), exist_ok=True)
    tmp_train = _write_temp(train_path, train_arrays)
    try:
        tmp_val = _write_temp(val_path, val_arrays)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_train)
        raise
    # Remove an older training file first: a kill between the two renames then leaves a
    # missing training file (regenerate) rather than a new val file beside an old train file.
    with contextlib.suppress(FileNotFoundError):
        os.remove(train_path)
    os.replace(tmp_val, val_path)
    os.replace(tmp_train, train_path)
    logging.info("Wrote %s and %s.", train_path, val_path)
