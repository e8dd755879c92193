"""Atomic writes: a failed or killed write never leaves a file the loader would accept."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tfnfrl.data import writer


class _Exploding:
    """An array-like whose conversion fails, to interrupt np.savez in the middle."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("disk on fire")


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "x.npz"
    writer.write_npz_atomic(str(path), {"a": np.arange(3)})
    with pytest.raises(RuntimeError, match="disk on fire"):
        writer.write_npz_atomic(str(path), {"a": np.arange(5), "b": _Exploding()})
    with np.load(path) as f:
        np.testing.assert_array_equal(f["a"], np.arange(3))
    assert sorted(os.listdir(tmp_path)) == ["x.npz"]


def test_pair_is_written_only_when_both_files_are_complete(tmp_path):
    train, val = str(tmp_path / "d.npz"), str(tmp_path / "d-val.npz")
    with pytest.raises(RuntimeError, match="disk on fire"):
        writer.write_dataset_files(train, {"a": np.ones(4)}, val, {"a": _Exploding()})
    assert os.listdir(tmp_path) == []
    writer.write_dataset_files(train, {"a": np.ones(4)}, val, {"a": np.zeros(2)})
    assert sorted(os.listdir(tmp_path)) == ["d-val.npz", "d.npz"]


def test_killed_writer_leaves_no_final_file(tmp_path):
    path = tmp_path / "big.npz"
    # Random data compresses slowly: the write takes long enough to be killed mid-way.
    script = textwrap.dedent(f"""
        import numpy as np
        from tfnfrl.data import writer
        data = np.random.default_rng(0).standard_normal((20_000_000,)).astype(np.float32)
        writer.write_npz_atomic({str(path)!r}, {{"observations": data}})
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=root,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
            time.sleep(0.02)
        temps = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        assert temps, "the writer never started its temporary file"
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the write finished before it could be killed"
    assert not path.exists()
    # What is left is a hidden temp file that no loader asks for.
    assert all(n.startswith(".big.npz.") and n.endswith(".tmp") for n in os.listdir(tmp_path))


def test_written_files_get_the_usual_permissions(tmp_path):
    path = tmp_path / "p.npz"
    umask = os.umask(0o022)
    try:
        writer.write_npz_atomic(str(path), {"a": np.arange(2)})
    finally:
        os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o644
