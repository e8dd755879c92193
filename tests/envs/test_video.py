"""Videos of evaluation episodes: file writing, and OpenGL failures reported clearly."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tfnfrl.envs import video

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Evaluates a short pointmaze run with and without video and prints both results as JSON.
_EVAL_WITH_VIDEO = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from tfnfrl.envs import evaluate

    def policy(observations, goals):
        return np.clip(goals - observations, -1, 1)

    kwargs = dict(task_ids=(3,), episodes_per_task=2, seed=1, progress=False,
                  env_kwargs=dict(max_episode_steps=30))
    with_video = evaluate(policy, "pointmaze-medium-navigate-v0", video_dir=sys.argv[1],
                          video_episodes=1, video_format="gif", video_frame_skip=3, **kwargs)
    without = evaluate(policy, "pointmaze-medium-navigate-v0", **kwargs)
    print(json.dumps(dict(with_video=with_video, without=without)))
    """
)


def _run(code, args, mujoco_gl):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    env.pop("DISPLAY", None)
    env.pop("MUJOCO_GL", None)
    if mujoco_gl is not None:
        env["MUJOCO_GL"] = mujoco_gl
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_video_with_egl_and_results_unchanged(tmp_path):
    process = _run(_EVAL_WITH_VIDEO, [str(tmp_path)], mujoco_gl="egl")
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads(process.stdout.strip().splitlines()[-1])
    path = str(tmp_path / "task3_episode0.gif")
    assert results["with_video"]["videos"] == [path]
    # Rendering (and render_goal=True at reset) must not change the episodes.
    for key in ("episode_success", "episode_lengths", "episode_seeds"):
        assert results["with_video"][key] == results["without"][key]
    with Image.open(path) as gif:
        width, height = gif.size
        assert gif.n_frames >= 2
        # Frame | 4-pixel separator | goal frame, each square.
        assert width == 2 * height + 4
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
        assert last.std() > 0  # Not a blank frame.


def test_missing_gl_context_raises_clear_error(tmp_path):
    # Default backend (glfw) without a display: no GL context can be created.
    process = _run(_EVAL_WITH_VIDEO, [str(tmp_path)], mujoco_gl=None)
    assert process.returncode != 0
    assert "RuntimeError" in process.stderr
    assert "MUJOCO_GL=egl" in process.stderr and "libEGL" in process.stderr
    assert "MUJOCO_GL=osmesa" in process.stderr and "libOSMesa" in process.stderr
    assert not list(tmp_path.iterdir())  # Fails before any rollout or file.


def test_check_rendering_wraps_render_errors():
    class BrokenEnv:
        def render(self):
            raise RuntimeError("an OpenGL platform library has not been loaded")

    with pytest.raises(RuntimeError, match="MUJOCO_GL=egl") as info:
        video.check_rendering(BrokenEnv())
    assert "OpenGL platform library" in str(info.value)


def test_check_rendering_rejects_non_rgb_frames():
    class DepthEnv:
        def render(self):
            return np.zeros((4, 4))

    with pytest.raises(RuntimeError, match=r"shape \(4, 4\)"):
        video.check_rendering(DepthEnv())


def test_write_gif(tmp_path):
    frames = [np.full((8, 10, 3), value, dtype=np.uint8) for value in (0, 120, 250)]
    path = video.write_video(str(tmp_path / "clip"), frames, fps=10, video_format="gif")
    assert path == str(tmp_path / "clip.gif")
    with Image.open(path) as gif:
        assert gif.size == (10, 8)
        assert gif.n_frames == 3
        for index in range(3):  # Every frame, in order (a one-colour frame survives the GIF palette exactly).
            gif.seek(index)
            np.testing.assert_array_equal(np.asarray(gif.convert("RGB")), frames[index])
            assert gif.info["duration"] == 100  # 10 fps.


def test_compose_frame_puts_goal_right():
    frame = np.arange(6 * 5 * 3, dtype=np.uint8).reshape(6, 5, 3)
    goal = np.full((6, 5, 3), 7, dtype=np.uint8)
    composed = video.compose_frame(frame, goal)
    assert composed.shape == (6, 14, 3) and composed.dtype == np.uint8
    np.testing.assert_array_equal(composed[:, :5], frame)  # Frame left, untouched.
    np.testing.assert_array_equal(composed[:, 5:9], np.full((6, 4, 3), 255, np.uint8))  # White separator.
    np.testing.assert_array_equal(composed[:, 9:], goal)
    np.testing.assert_array_equal(video.compose_frame(frame, None), frame)
    # A goal of another height (another renderer) is left out rather than resampled.
    np.testing.assert_array_equal(video.compose_frame(frame, np.zeros((4, 5, 3), np.uint8)), frame)


@pytest.mark.parametrize(
    "frames, kwargs, message",
    [
        ([], {}, r"^No frames to write to '.*/clip'\.$"),
        ([np.zeros((2, 2, 3))], dict(video_format="avi"),
         r"^video_format must be 'auto', 'mp4' or 'gif'\. Received: 'avi'$"),
        ([np.zeros((2, 2, 3))], dict(fps=0), r"^fps must be positive\. Received: fps=0$"),
    ],
)
def test_write_video_bad_input(tmp_path, frames, kwargs, message):
    with pytest.raises(ValueError, match=message):
        video.write_video(str(tmp_path / "clip"), frames, **kwargs)
    assert not list(tmp_path.iterdir())  # Nothing written.
