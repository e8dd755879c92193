"""Goal-conditioned evaluation on OGBench's tasks, all episodes of a task in lockstep.

Protocol (OGBench's `impls/utils/evaluation.py`, batched): for each task id,
`ob, info = env.reset(options=dict(task_id=task_id, render_goal=...))`, goal = info["goal"];
act until the episode ends (terminated, e.g. at the goal, or truncated by the env's own step
limit); success = info["success"] of the last step; actions are clipped to the action
bounds ([-1, 1] for every OGBench env) as OGBench does.

Batching: a task's `episodes_per_task` episodes run in as many env instances, stepped in
lockstep; each step makes ONE policy call for the whole batch, observations [N, obs_dim] and
goals [N, goal_dim]. An episode that has ended is not stepped again, but its row stays in the
batch (its last observation repeated, its action ignored), so the policy always sees the same
shapes and a compiled `tf.function` is traced once.

Reproducibility: episode k of task t is reset with seed `episode_seed(seed, t, k)` through
`seeding.seeded_reset`, which seeds every random source OGBench uses (see `seeding`). With a
deterministic policy, results are identical across runs, across `episodes_per_task` (episode
k does not depend on how many run) and to a plain one-env-at-a-time OGBench loop that resets
with the same seeds. NumPy's global random state is restored on return.
"""

import os
import time

import numpy as np
from tqdm import tqdm

from tfnfrl.envs import registry
from tfnfrl.envs import seeding
from tfnfrl.envs import trajectory_plot
from tfnfrl.envs import video as video_lib

# The five evaluation tasks every OGBench goal-conditioned env defines.
DEFAULT_TASK_IDS = (1, 2, 3, 4, 5)


class NonFiniteActionError(ValueError):
    """The policy returned NaN or infinite actions for a running episode."""


def _import_mujoco():
    """Imports mujoco, explaining a MUJOCO_GL backend whose library is missing.

    MuJoCo loads the backend named by MUJOCO_GL at import time, so e.g. MUJOCO_GL=osmesa
    without libOSMesa breaks every env, not only rendering.
    """
    try:
        import mujoco  # pylint: disable=import-outside-toplevel,unused-import
    except Exception as error:  # PyOpenGL raises AttributeError when the library is absent.
        if os.environ.get("MUJOCO_GL"):
            raise video_lib.backend_import_error(error) from error
        raise


def _check_int(name, value, minimum):
    """Raises ValueError unless `value` is an integer (not a bool) >= `minimum`."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_int or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _task_name(unwrapped, task_id):
    task_infos = getattr(unwrapped, "task_infos", None)
    if task_infos and 1 <= task_id <= len(task_infos):
        return str(task_infos[task_id - 1].get("task_name", f"task{task_id}"))
    return f"task{task_id}"


def scalar_metrics(result):
    """The int/float entries of an `evaluate` result (what a metrics logger wants)."""
    return {
        key: value
        for key, value in result.items()
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    }


class Evaluator:
    """Owns the N env instances of one environment and evaluates policies on its tasks.

    Building manipulation envs costs ~1 s each on these CPUs; a trainer that evaluates
    periodically should build one `Evaluator` and call it many times (each episode is fully
    re-seeded, so reuse does not change results).

    Args:
      env_name: OGBench dataset name, e.g. "pointmaze-medium-navigate-v0" (checked by the
        registry; unknown names raise ValueError listing the supported ones).
      episodes_per_task: N >= 1, episodes per task = env instances = policy batch size.
      env_kwargs: optional dict passed to `make_env` for every instance, e.g.
        dict(max_episode_steps=100) to shorten episodes (gymnasium's TimeLimit).
    """

    def __init__(self, env_name, episodes_per_task=10, env_kwargs=None):
        episodes_per_task = _check_int("episodes_per_task", episodes_per_task, 1)
        registry.check_env_name(env_name)
        _import_mujoco()
        self.env_name = env_name
        self.episodes_per_task = int(episodes_per_task)
        self.env_kwargs = dict(env_kwargs or {})
        self.envs = [
            seeding.make_deterministic(registry.make_env(env_name, **self.env_kwargs))
            for _ in range(self.episodes_per_task)
        ]
        env = self.envs[0]
        unwrapped = env.unwrapped
        self.max_episode_steps = env.spec.max_episode_steps if env.spec is not None else None
        if not self.max_episode_steps:
            raise ValueError(
                f"{env_name} has no step limit (env.spec.max_episode_steps="
                f"{self.max_episode_steps!r}); pass env_kwargs=dict(max_episode_steps=...) so "
                "every episode ends."
            )
        self.num_tasks = len(getattr(unwrapped, "task_infos", ()) or ())
        # Singletask envs fix their task (reward_task_id) and ignore options["task_id"].
        self.fixed_task_id = getattr(unwrapped, "_reward_task_id", None)
        # One reset tells the observation and goal shapes (and compiles manipulation models).
        saved_rng_state = np.random.get_state()
        try:
            probe_ob, probe_info = seeding.seeded_reset(
                env, 0, self._reset_options(self._task_ids(None)[0], False))
        finally:
            np.random.set_state(saved_rng_state)
        self.observation_shape = tuple(np.shape(probe_ob))
        # Pixel observations (visual-* envs) stay uint8 images; states become float32.
        self.observation_dtype = np.uint8 if np.asarray(probe_ob).dtype == np.uint8 else np.float32
        goal = probe_info.get("goal")
        self.goal_shape = tuple(np.shape(goal)) if goal is not None else (0,)
        self.goal_dtype = self.observation_dtype
        self.action_shape = tuple(env.action_space.shape)
        self.action_low = np.asarray(env.action_space.low, dtype=np.float32)
        self.action_high = np.asarray(env.action_space.high, dtype=np.float32)
        self._global_rng_in_step = seeding.step_uses_global_rng(env)

    # ----------------------------------------------------------------------------- helpers

    def _task_ids(self, task_ids):
        """Validated list of task ids; None means every task of the env."""
        if self.fixed_task_id is not None:
            if task_ids is not None and list(task_ids) != [self.fixed_task_id]:
                raise ValueError(
                    f"{self.env_name} is a singletask env fixed to task {self.fixed_task_id}; "
                    f"pass task_ids=None or ({self.fixed_task_id},). "
                    f"Received: task_ids={task_ids!r}"
                )
            return [int(self.fixed_task_id)]
        if task_ids is None:
            return list(range(1, self.num_tasks + 1)) if self.num_tasks else list(DEFAULT_TASK_IDS)
        task_ids = list(task_ids)
        if not task_ids:
            raise ValueError("task_ids is empty; expected at least one task id.")
        valid = range(1, self.num_tasks + 1)
        for task_id in task_ids:
            is_int = isinstance(task_id, (int, np.integer)) and not isinstance(task_id, bool)
            if not is_int or task_id not in valid:
                raise ValueError(
                    f"Unknown task id {task_id!r} for {self.env_name}; "
                    f"expected one of {list(valid)}."
                )
        if len(set(task_ids)) != len(task_ids):
            raise ValueError(f"task_ids has duplicates: {task_ids!r}")
        return [int(task_id) for task_id in task_ids]

    @staticmethod
    def _reset_options(task_id, render_goal):
        return dict(task_id=task_id, render_goal=render_goal)

    def _policy_actions(self, policy_fn, observations, goals, active, task_id, step):
        """Calls the policy once for the whole batch and validates its actions.

        Returns float32 [N, *action_shape], clipped to the action bounds.
        """
        num = self.episodes_per_task
        expected = (num,) + self.action_shape
        raw = policy_fn(observations.copy(), goals.copy())
        try:
            actions = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"policy_fn returned {type(raw).__name__} that is not a numeric array; expected "
                f"shape {list(expected)} = [episodes_per_task, action_dim]."
            ) from error
        if actions.shape != expected:
            raise ValueError(
                f"policy_fn returned actions of shape {list(actions.shape)}; expected "
                f"{list(expected)} = [episodes_per_task, action_dim] for {self.env_name} "
                f"(it was given observations {list(observations.shape)} and goals "
                f"{list(goals.shape)})."
            )
        finite = np.isfinite(actions.reshape(num, -1)).all(axis=1)
        bad = np.flatnonzero(active & ~finite)
        if bad.size:
            raise NonFiniteActionError(
                f"policy_fn returned non-finite actions in {self.env_name}, task {task_id}, "
                f"step {step}, for episodes {bad.tolist()} (first: {actions[bad[0]].tolist()})."
            )
        # OGBench clips continuous actions to [-1, 1] before stepping (finished rows: harmless).
        return np.clip(actions, self.action_low, self.action_high)

    def _run_task(self, policy_fn, task_id, seed, render_set, record_set, frame_skip, bar):
        """Runs the N episodes of one task in lockstep.

        Returns dict with success [N] float, lengths [N] int, seeds [N] int, frames
        {episode: list of uint8 frames}, trajectories {episode: dict}.
        """
        num = self.episodes_per_task
        observations = np.zeros((num,) + self.observation_shape, dtype=self.observation_dtype)
        goals = np.zeros((num,) + self.goal_shape, dtype=self.goal_dtype)
        seeds = [seeding.episode_seed(seed, task_id, k) for k in range(num)]
        rng_states = [None] * num
        frames, goal_frames, trajectories = {}, {}, {}
        for k, env in enumerate(self.envs):
            options = self._reset_options(task_id, k in render_set)
            ob, info = seeding.seeded_reset(env, seeds[k], options)
            observations[k] = ob
            if "goal" in info:
                goals[k] = info["goal"]
            if self._global_rng_in_step:
                rng_states[k] = np.random.get_state()
            if k in render_set:
                goal_frames[k] = info.get("goal_rendered")
                frames[k] = [video_lib.compose_frame(env.render(), goal_frames[k])]
            if k in record_set:
                positions = trajectory_plot.tracked_positions(env, info)
                trajectories[k] = dict(
                    positions={name: [p] for name, p in positions.items()},
                    goals=trajectory_plot.goal_positions(env),
                )

        active = np.ones(num, dtype=bool)
        lengths = np.zeros(num, dtype=np.int64)
        success = np.zeros(num, dtype=np.float64)
        step = 0
        while active.any():
            if step >= self.max_episode_steps + 1:
                raise RuntimeError(
                    f"Episodes of {self.env_name} task {task_id} did not end after {step} steps "
                    f"(max_episode_steps={self.max_episode_steps})."
                )
            actions = self._policy_actions(policy_fn, observations, goals, active, task_id, step)
            for k in np.flatnonzero(active):
                env = self.envs[k]
                if rng_states[k] is not None:
                    np.random.set_state(rng_states[k])
                ob, _, terminated, truncated, info = env.step(actions[k])
                if rng_states[k] is not None:
                    rng_states[k] = np.random.get_state()
                observations[k] = ob
                lengths[k] += 1
                done = bool(terminated or truncated)
                if k in render_set and (lengths[k] % frame_skip == 0 or done):
                    frames[k].append(video_lib.compose_frame(env.render(), goal_frames[k]))
                if k in record_set:
                    for name, p in trajectory_plot.tracked_positions(env, info).items():
                        trajectories[k]["positions"].setdefault(name, []).append(p)
                if done:
                    active[k] = False
                    success[k] = float(info["success"])
            step += 1
            bar.update(1)
        # Episodes that all end early leave the rest of the task's budget: keep the total exact.
        bar.update(max(0, self.max_episode_steps - step))
        for k, trajectory in trajectories.items():
            trajectory["positions"] = {n: np.stack(p) for n, p in trajectory["positions"].items()}
            trajectory["success"] = bool(success[k])
            trajectory["episode"] = int(k)
        return dict(success=success, lengths=lengths, seeds=seeds, frames=frames,
                    trajectories=trajectories)

    def _write_media(self, task_id, run, video_dir, video_fps, video_format, plot_dir):
        """Writes (and drops from `run`) a task's videos and trajectory plot.

        Returns (list of video paths, list of plot paths).
        """
        videos, plots = [], []
        frames = run.pop("frames")
        for k in sorted(frames):
            path = os.path.join(video_dir, f"task{task_id}_episode{k}")
            videos.append(video_lib.write_video(path, frames.pop(k), fps=video_fps,
                                                video_format=video_format))
        trajectories = run.pop("trajectories")
        if trajectories:
            path = os.path.join(plot_dir, f"task{task_id}_trajectories.png")
            episodes = [trajectories[k] for k in sorted(trajectories)]
            plots.append(trajectory_plot.plot_trajectories(
                path, self.envs[0], episodes, f"{self.env_name} task{task_id}"))
        return videos, plots

    # --------------------------------------------------------------------------------- API

    def __call__(
        self,
        policy_fn,
        task_ids=None,
        seed=0,
        video_dir=None,
        progress=True,
        video_episodes=1,
        video_format="auto",
        video_frame_skip=3,
        video_fps=15,
        plot_dir=None,
        plot_episodes=3,
    ):
        """Evaluates `policy_fn` on the given tasks; see `evaluate` for arguments and result."""
        task_ids = self._task_ids(task_ids)
        seed = _check_int("seed", seed, 0)
        if not callable(policy_fn):
            raise ValueError(f"policy_fn must be callable. Received: {policy_fn!r}")
        video_episodes = _check_int("video_episodes", video_episodes, 0)
        plot_episodes = _check_int("plot_episodes", plot_episodes, 0)
        video_frame_skip = _check_int("video_frame_skip", video_frame_skip, 1)
        render_set = set(range(min(video_episodes, self.episodes_per_task))) if video_dir else set()
        record_set = set(range(min(plot_episodes, self.episodes_per_task))) if plot_dir else set()
        if not self.envs:
            raise RuntimeError(f"This Evaluator for {self.env_name} is closed.")
        if render_set:
            video_lib.check_video_format(video_format)  # Fail before the rollouts, not after.
            os.makedirs(video_dir, exist_ok=True)
            video_lib.check_rendering(self.envs[0])
        if plot_dir:
            os.makedirs(plot_dir, exist_ok=True)

        start = time.perf_counter()
        saved_rng_state = np.random.get_state()
        result = {}
        per_task = {}
        videos, plots = [], []
        try:
            with tqdm(
                total=len(task_ids) * self.max_episode_steps,
                desc=f"eval {self.env_name}",
                unit="step",
                disable=not progress,
                dynamic_ncols=True,
            ) as bar:
                for task_id in task_ids:
                    bar.set_postfix_str(f"task {task_id}")
                    per_task[task_id] = self._run_task(
                        policy_fn, task_id, seed, render_set, record_set, video_frame_skip, bar,
                    )
                    bar.set_postfix_str(
                        f"task {task_id} success {per_task[task_id]['success'].mean():.2f}"
                    )
                    # Write this task's media now: a 1000-step episode's frames take ~80 MB.
                    media = self._write_media(task_id, per_task[task_id], video_dir, video_fps,
                                              video_format, plot_dir)
                    videos += media[0]
                    plots += media[1]
        finally:
            np.random.set_state(saved_rng_state)

        for task_id in task_ids:
            run = per_task[task_id]
            result[f"success/task{task_id}"] = float(run["success"].mean())
            result[f"length/task{task_id}"] = float(run["lengths"].mean())
        result["success/mean"] = float(np.mean([result[f"success/task{t}"] for t in task_ids]))
        result["episodes_per_task"] = self.episodes_per_task
        result["time/seconds"] = float(time.perf_counter() - start)
        result["task_ids"] = list(task_ids)
        result["task_names"] = {f"task{t}": _task_name(self.envs[0].unwrapped, t) for t in task_ids}
        result["episode_success"] = {f"task{t}": per_task[t]["success"].tolist() for t in task_ids}
        result["episode_lengths"] = {f"task{t}": per_task[t]["lengths"].tolist() for t in task_ids}
        result["episode_seeds"] = {f"task{t}": list(per_task[t]["seeds"]) for t in task_ids}
        result["videos"] = videos
        result["plots"] = plots
        return result

    def close(self):
        """Closes every env (frees renderers)."""
        for env in self.envs:
            env.close()
        self.envs = []


def evaluate(
    policy_fn,
    env_name,
    task_ids=None,
    episodes_per_task=10,
    seed=0,
    video_dir=None,
    progress=True,
    *,
    env_kwargs=None,
    video_episodes=1,
    video_format="auto",
    video_frame_skip=3,
    video_fps=15,
    plot_dir=None,
    plot_episodes=3,
):
    """Success of `policy_fn` on OGBench's evaluation tasks (the protocol in the module docstring).

    Args:
      policy_fn: callable(observations, goals) -> actions, with observations float32
        [N, obs_dim], goals float32 [N, goal_dim] (uint8 images [N, H, W, 3] for pixel
        envs) and actions [N, action_dim] (numpy or a tensor convertible with np.asarray),
        N = episodes_per_task. Called once per lockstep step with the same shapes every
        time; arrays are fresh copies. Stochastic policies draw their own randomness (e.g.
        a stateless seed advanced per call in a closure).
      env_name: OGBench dataset name, e.g. "pointmaze-medium-navigate-v0".
      task_ids: task ids to evaluate; None means all of the env's tasks (1..5 for every
        OGBench goal-conditioned env, or the fixed task of a "-singletask-" env).
      episodes_per_task: N, episodes per task, all run in lockstep.
      seed: base seed; episode k of task t uses `seeding.episode_seed(seed, t, k)`.
      video_dir: if set, render the first `video_episodes` episodes of each task (current
        frame | goal frame) to `video_dir/task{t}_episode{k}.{mp4|gif}`. Needs OpenGL:
        MUJOCO_GL=egl or osmesa on headless machines (a clear RuntimeError says so).
      progress: show a tqdm bar (unit: lockstep steps).
      env_kwargs: dict for `make_env`, e.g. dict(max_episode_steps=50).
      video_episodes, video_format ("auto"|"mp4"|"gif"), video_frame_skip (render every
        k-th step, OGBench uses 3), video_fps: video options.
      plot_dir: if set, write `plot_dir/task{t}_trajectories.png` with the paths of the first
        `plot_episodes` episodes (maze: agent xy vs goal; manipulation: effector and cubes vs
        cube goals). Headless, no OpenGL needed.

    Returns:
      dict with
        "success/task{t}": float, fraction of the task's episodes that succeeded;
        "length/task{t}": float, mean episode length in env steps;
        "success/mean": float, mean over the evaluated tasks;
        "episodes_per_task": int; "time/seconds": float wall time;
        "task_ids": list[int]; "task_names": {"task{t}": OGBench task name};
        "episode_success": {"task{t}": list[float] per episode (0.0 or 1.0)};
        "episode_lengths": {"task{t}": list[int]}; "episode_seeds": {"task{t}": list[int]};
        "videos": list of written video paths; "plots": list of written PNG paths.
      `scalar_metrics(result)` keeps the numeric entries for a metrics logger.
    """
    evaluator = Evaluator(env_name, episodes_per_task=episodes_per_task, env_kwargs=env_kwargs)
    try:
        return evaluator(
            policy_fn,
            task_ids=task_ids,
            seed=seed,
            video_dir=video_dir,
            progress=progress,
            video_episodes=video_episodes,
            video_format=video_format,
            video_frame_skip=video_frame_skip,
            video_fps=video_fps,
            plot_dir=plot_dir,
            plot_episodes=plot_episodes,
        )
    finally:
        evaluator.close()
