"""Under MUJOCO_GL=egl, TensorFlow and manipulation envs never share a process (issue 8).

Building a cube/scene/puzzle env under EGL loads Mesa's LLVM, and TensorFlow's own LLVM then
segfaults. Each test runs a script in a fresh process with MUJOCO_GL=egl that imports
TensorFlow first (as the launch scripts do), then loads data, evaluates, renders or trains
on manipulation envs: before the env pool, every one of them died with exit 139.
"""

import ctypes.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CUBE = "cube-single-play-v0"

pytestmark = pytest.mark.skipif(ctypes.util.find_library("EGL") is None,
                                reason="needs libEGL (MUJOCO_GL=egl)")


def _run(code, *args, mujoco_gl="egl"):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MUJOCO_GL", None)
    env.pop("DISPLAY", None)
    if mujoco_gl:
        env["MUJOCO_GL"] = mujoco_gl
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def cube_data_dir(tmp_path_factory):
    """A tiny cube-single dataset (2 + 1 episodes x 30 steps), generated without TensorFlow."""
    directory = str(tmp_path_factory.mktemp("egl_data"))
    process = _run(
        """
        import sys
        from tfnfrl.data.generation import generate_dataset
        generate_dataset(sys.argv[1], sys.argv[2], num_episodes=2, episode_length=30,
                         progress=False)
        """, CUBE, directory, mujoco_gl=None)
    assert process.returncode == 0, process.stderr[-3000:]
    return directory


_LOAD_EVALUATE_RENDER = """
    import json, sys
    import tensorflow as tf  # First, as launch/train.py does.
    from tests.envs import reference
    from tfnfrl import data
    from tfnfrl.envs import Evaluator

    data_dir, video_dir = sys.argv[1:3]
    out = {}
    # Singletask: OGBench's loader builds the cube env to relabel rewards (in a worker).
    train, val = data.load_datasets("cube-single-play-singletask-task1-v0", data_dir)
    out["rewards"] = [len(train["rewards"]), float(train["rewards"].max())]

    @tf.function
    def policy(observations, goals):
        return tf.tanh(3.0 * (goals[:, :5] - observations[:, :5]))

    for name in ("cube-single-play-v0", "scene-play-v0"):
        with Evaluator(name, episodes_per_task=2, env_kwargs=dict(max_episode_steps=12)) as ev:
            result = ev(policy, task_ids=(1,), progress=False, video_dir=f"{video_dir}/{name}",
                        video_episodes=1, video_format="gif", video_frame_skip=4)
            out[name] = dict(videos=result["videos"], lengths=result["episode_lengths"],
                             workers=ev.num_workers,
                             worker_modules=ev.pool.call([0], reference.loaded_modules,
                                                         ("tensorflow", "dm_control.mjcf")))
    out["tf"] = float(tf.reduce_sum(tf.ones([3])))
    with open("/proc/self/maps") as maps:
        out["mesa_here"] = sorted({line.split()[-1] for line in maps
                                   if "libLLVM" in line or "_dri.so" in line})
    print(json.dumps(out))
"""


def test_load_evaluate_and_render_cube_and_scene_next_to_tensorflow(cube_data_dir, tmp_path):
    process = _run(_LOAD_EVALUATE_RENDER, cube_data_dir, str(tmp_path))
    assert process.returncode == 0, process.stderr[-3000:]
    out = json.loads(process.stdout.strip().splitlines()[-1])
    assert out["tf"] == 3.0
    assert out["mesa_here"] == []  # No GL driver was ever loaded beside TensorFlow.
    assert out["rewards"][0] == 2 * 29  # Transitions of the 2 training episodes.
    for name in (CUBE, "scene-play-v0"):
        assert out[name]["lengths"] == {"task1": [12, 12]}
        assert out[name]["workers"] == min(os.cpu_count() or 1, 2)
        # The worker runs the env (dm_control loaded) and never imports TensorFlow.
        assert out[name]["worker_modules"] == [["dm_control.mjcf"]]
        assert out[name]["videos"] == [str(tmp_path / name / "task1_episode0.gif")]
        with Image.open(out[name]["videos"][0]) as gif:
            assert gif.n_frames == 4  # Reset + steps 4, 8, 12.
            width, height = gif.size
            assert width == 2 * height + 4  # Frame | separator | goal frame.
            gif.seek(gif.n_frames - 1)
            assert np.asarray(gif.convert("RGB")).std() > 0


_TRAIN = """
    import json, sys
    from tests.training.conftest import tiny_agent_config, tiny_run
    from tfnfrl.training import trainer

    data_dir, workdir = sys.argv[1:3]
    config = tiny_run(data_dir, env_name="cube-single-play-v0", steps=4, log_every=2,
                      checkpoint_every=4, eval_episodes=1, eval_tasks=(1,))
    result = trainer.train(tiny_agent_config(), config, workdir)
    print(json.dumps(result["episode_lengths"]))
"""


def test_tiny_cube_training_with_evaluation_under_egl(cube_data_dir, tmp_path):
    # The reported crash: `MUJOCO_GL=egl launch/train.py ... cube-single` died with exit 139.
    process = _run(_TRAIN, cube_data_dir, str(tmp_path / "run"))
    assert process.returncode == 0, process.stderr[-3000:]
    lengths = json.loads(process.stdout.strip().splitlines()[-1])
    assert lengths == {"task1": [200]}  # One full-length episode of the real evaluation.
