"""Under MUJOCO_GL=egl, checking and generating datasets never builds an env beside TensorFlow.

Building a cube/scene/puzzle env under EGL loads Mesa's LLVM, and TensorFlow's own LLVM then
crashes the process (segfault 139, or abort 134 at exit when TensorFlow came first; see
tfnfrl.envs.worker_process). Each test runs a script in a fresh process with MUJOCO_GL=egl
that imports TensorFlow and runs an op first (as launch/train.py does), then checks or
generates a cube dataset: with the env built in-process (checks.env_dims, generation with
one worker) or in multiprocessing 'spawn' workers (which re-import `__main__`, and with it
TensorFlow), every one of them died.
"""

import ctypes.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.data.conftest import TINY

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CUBE = "cube-single-play-v0"

pytestmark = pytest.mark.skipif(ctypes.util.find_library("EGL") is None,
                                reason="needs libEGL (MUJOCO_GL=egl)")

# Imports TensorFlow and runs an op first; `report(out)` prints the result as JSON with the
# GL libraries this process mapped (there must be none).
_PRELUDE = """
    import json, sys
    import tensorflow as tf
    assert float(tf.reduce_sum(tf.ones([3]))) == 3.0

    def report(out):
        with open("/proc/self/maps") as maps:
            out["mesa_here"] = sorted({line.split()[-1] for line in maps
                                       if "libLLVM" in line or "_dri.so" in line})
        out["dm_control_here"] = "dm_control" in sys.modules
        print(json.dumps(out))
"""


def _run(code, *args):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2", MUJOCO_GL="egl")
    env.pop("DISPLAY", None)
    # The script is __main__ and imports TensorFlow at its top, as a launch script does.
    script = textwrap.dedent(_PRELUDE) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script, *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def _output(process):
    assert process.returncode == 0, process.stderr[-3000:]
    out = json.loads(process.stdout.strip().splitlines()[-1])
    assert out.pop("mesa_here") == []  # No GL driver was ever loaded beside TensorFlow.
    assert out.pop("dm_control_here") is False
    return out


_CHECK = """
    from tfnfrl.data import check_dataset, check_file, checks

    directory, name, episodes, length = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5])
    train, val = check_dataset(name, directory, num_episodes=episodes, episode_length=length)
    single = check_file(f"{directory}/{name}.npz", name, num_episodes=episodes,
                        episode_length=length)
    report(dict(ok=[train.ok, val.ok, single.ok], errors=train.errors + val.errors,
                dims=checks.env_dims(name)))
"""


def test_checks_beside_tensorflow(tiny_dir):
    episodes, length = TINY[CUBE]
    out = _output(_run(_CHECK, str(tiny_dir), CUBE, str(episodes), str(length)))
    assert out["ok"] == [True, True, True], out["errors"]
    assert out["dims"] == dict(obs_dim=28, action_dim=5, nq=21, nv=20, num_buttons=0)


_GENERATE = """
    import hashlib
    import numpy as np
    from tfnfrl.data.generation import generate_dataset

    def digest(path):
        with np.load(path) as arrays:
            return {k: hashlib.sha256(arrays[k].tobytes()).hexdigest() for k in arrays.files}

    directory, name = sys.argv[1:3]
    out = {}
    for workers in (1, 2):
        result = generate_dataset(name, f"{directory}/{workers}", num_episodes=2,
                                  episode_length=30, num_workers=workers, progress=False)
        out[workers] = [digest(result.train_path), digest(result.val_path)]
    report(out)
"""


def test_generation_beside_tensorflow_with_one_and_two_workers(tmp_path):
    out = _output(_run(_GENERATE, str(tmp_path), CUBE))
    assert out["1"] == out["2"]  # The same arrays whatever the worker count.
    assert set(out["1"][0]) == {"observations", "actions", "terminals", "qpos", "qvel"}
