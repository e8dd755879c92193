"""Rendering evaluation episodes to video files (MP4 when an encoder exists, else GIF).

MuJoCo renders through OpenGL and picks its backend from the MUJOCO_GL environment variable
*when `mujoco` is first imported*: `egl` (headless GPU or Mesa, needs libEGL), `osmesa`
(software, needs libOSMesa) or `glfw` (the default, needs a display). On a headless machine
the default fails; `check_rendering` turns that failure into an error that says what to set.
"""

import importlib.util
import os

import numpy as np

RENDERING_HELP = (
    "MuJoCo could not create an OpenGL context (MUJOCO_GL={value!r}, DISPLAY={display!r}). "
    "Rendering videos on a headless machine needs MUJOCO_GL=egl (library libEGL, e.g. "
    "`apt-get install libegl1`) or MUJOCO_GL=osmesa (library libOSMesa, e.g. "
    "`apt-get install libosmesa6`), set in the environment before Python imports mujoco, "
    "e.g. `MUJOCO_GL=egl python launch/evaluate.py ...`. The default (glfw) needs a display. "
    "Evaluation without videos needs no OpenGL. Underlying error: {error}"
)


BACKEND_IMPORT_HELP = (
    "MuJoCo could not load the OpenGL backend named by MUJOCO_GL={value!r} (is its library "
    "installed? egl needs libEGL, osmesa needs libOSMesa). Unset MUJOCO_GL to evaluate "
    "without videos, or set MUJOCO_GL=egl / MUJOCO_GL=osmesa with the matching library "
    "installed to render. Underlying error: {error}"
)


def backend_import_error(error):
    """A RuntimeError for `import mujoco` failing because MUJOCO_GL names a missing library."""
    return RuntimeError(BACKEND_IMPORT_HELP.format(
        value=os.environ.get("MUJOCO_GL"), error=f"{type(error).__name__}: {error}"))


def rendering_error(error):
    """A RuntimeError explaining which variable/library rendering needs, chained to `error`."""
    message = RENDERING_HELP.format(
        value=os.environ.get("MUJOCO_GL"),
        display=os.environ.get("DISPLAY"),
        error=f"{type(error).__name__}: {error}",
    )
    return RuntimeError(message)


def check_rendering(env):
    """Renders one frame of `env` (already reset) and raises a clear error if OpenGL fails.

    Args:
      env: a reset gymnasium env with `render_mode` producing RGB arrays (OGBench's default).

    Returns:
      The rendered frame, uint8 [H, W, 3].

    Raises:
      RuntimeError: naming MUJOCO_GL and the library it needs, when no GL context can be made.
    """
    try:
        frame = env.render()
    except Exception as error:  # mujoco.FatalError, GLFW/EGL errors, PyOpenGL import errors.
        raise rendering_error(error) from error
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise RuntimeError(
            f"env.render() returned an array of shape {frame.shape}; expected an RGB frame "
            "[H, W, 3]. Make the env with render_mode='rgb_array' (OGBench's default)."
        )
    return frame


def compose_frame(frame, goal_frame):
    """Places the rendered goal to the right of the current frame (uint8 [H, W(+W'), 3])."""
    frame = np.asarray(frame, dtype=np.uint8)
    if goal_frame is None:
        return frame
    goal_frame = np.asarray(goal_frame, dtype=np.uint8)
    if goal_frame.shape[0] != frame.shape[0]:
        return frame  # Different renderers: skip the goal rather than resample.
    separator = np.full((frame.shape[0], 4, 3), 255, dtype=np.uint8)
    return np.concatenate([frame, separator, goal_frame], axis=1)


def mp4_available():
    """Whether MP4 encoding is available (imageio with its ffmpeg plugin)."""
    return (
        importlib.util.find_spec("imageio") is not None
        and importlib.util.find_spec("imageio_ffmpeg") is not None
    )


def check_video_format(video_format):
    """Validates `video_format` and resolves "auto"; returns "mp4" or "gif".

    Raises:
      ValueError: for an unknown format, or "mp4" without imageio + imageio-ffmpeg.
    """
    if video_format not in ("auto", "mp4", "gif"):
        raise ValueError(f"video_format must be 'auto', 'mp4' or 'gif'. Received: {video_format!r}")
    if video_format == "auto":
        return "mp4" if mp4_available() else "gif"
    if video_format == "mp4" and not mp4_available():
        raise ValueError(
            "video_format='mp4' needs imageio and imageio-ffmpeg "
            "(`pip install imageio imageio-ffmpeg`); use video_format='gif' otherwise."
        )
    return video_format


def write_video(path_without_extension, frames, fps=15, video_format="auto"):
    """Writes frames to `path_without_extension` + ".mp4" or ".gif".

    Args:
      path_without_extension: output path without extension; its directory must exist.
      frames: sequence of uint8 [H, W, 3] arrays of equal shape, at least one.
      fps: frames per second of playback.
      video_format: "mp4", "gif" or "auto" (MP4 if imageio-ffmpeg is installed, else GIF;
        GIF needs only Pillow, which matplotlib already requires).

    Returns:
      The path written.
    """
    if not frames:
        raise ValueError(f"No frames to write to {path_without_extension!r}.")
    if fps <= 0:
        raise ValueError(f"fps must be positive. Received: fps={fps!r}")
    video_format = check_video_format(video_format)
    frames = [np.asarray(frame, dtype=np.uint8) for frame in frames]
    path = f"{path_without_extension}.{video_format}"
    if video_format == "mp4":
        import imageio  # pylint: disable=import-outside-toplevel

        # macro_block_size=1 keeps odd frame sizes instead of resizing them.
        imageio.mimwrite(path, frames, fps=fps, macro_block_size=1)
    else:
        from PIL import Image  # pylint: disable=import-outside-toplevel

        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(
            path,
            save_all=True,
            append_images=images[1:],
            duration=max(1, int(round(1000 / fps))),
            loop=0,
        )
    return path
