"""Goal-conditioned evaluation on OGBench's tasks, all episodes of a task in lockstep.

Protocol (OGBench's `impls/utils/evaluation.py`, batched): for each task id,
`ob, info = env.reset(options=dict(task_id=task_id, render_goal=...))`, goal = info["goal"];
act until the episode ends (terminated, e.g. at the goal, or truncated by the env's own step
limit); success = info["success"] of the last step; actions are clipped to the action
bounds ([-1, 1] for every OGBench env) as OGBench does.

Batching: a task's `episodes_per_task` episodes run in as many env instances, stepped in
lockstep in worker processes (`env_pool.EnvPool`: no env ever shares a process with the
caller's TensorFlow, which crashes next to Mesa's EGL driver). Each step makes ONE policy
call for the whole batch, observations [N, obs_dim] and goals [N, goal_dim]. An episode
that has ended is not stepped again, but its row stays in the batch (its last observation
repeated, its action ignored), so the policy always sees the same shapes and a compiled
`tf.function` is traced once.

Reproducibility: episode k of task t is reset with seed `episode_seed(seed, t, k)` through
`seeding.seeded_reset`, which seeds every random source OGBench uses (see `seeding`). With a
deterministic policy, results are identical across runs, across `episodes_per_task` (episode
k does not depend on how many run) and to a plain one-env-at-a-time OGBench loop that resets
with the same seeds, whatever the number of worker processes. NumPy's global random state
is restored on return.
"""

import contextlib
import os
import time

import numpy as np
from tqdm import tqdm

from tfnfrl.envs import env_pool
from tfnfrl.envs import registry
from tfnfrl.envs import seeding
from tfnfrl.envs import trajectory_plot
from tfnfrl.envs import video as video_lib

# The five evaluation tasks every OGBench goal-conditioned env defines.
DEFAULT_TASK_IDS = (1, 2, 3, 4, 5)
# What a NaN or infinite action for a running episode does: raise NonFiniteActionError, or end
# that episode there as a failure (counted in "nonfinite_episodes/..."; the env is not stepped).
NONFINITE_ACTIONS = ("raise", "fail")


class NonFiniteActionError(ValueError):
    """The policy returned NaN or infinite actions for a running episode."""


_check_int = env_pool.check_int


def scalar_metrics(result):
    """The int/float entries of an `evaluate` result (what a metrics logger wants)."""
    return {
        key: value
        for key, value in result.items()
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    }


class Evaluator:
    """Owns the N env instances of one environment and evaluates policies on its tasks.

    The envs live in worker processes (`env_pool.EnvPool`), never in the caller's process,
    so the caller can run TensorFlow even under MUJOCO_GL=egl. Building manipulation envs
    costs ~1 s each on these CPUs; a trainer that evaluates periodically should build one
    `Evaluator` and call it many times (each episode is fully re-seeded, so reuse does not
    change results). Close it (or use it as a context manager) to stop the workers.

    Args:
      env_name: OGBench dataset name, e.g. "pointmaze-medium-navigate-v0" (checked by the
        registry; unknown names raise ValueError listing the supported ones).
      episodes_per_task: N >= 1, episodes per task = env instances = policy batch size.
      env_kwargs: optional dict passed to `make_env` for every instance, e.g.
        dict(max_episode_steps=100) to shorten episodes (gymnasium's TimeLimit).
      num_workers: worker processes stepping the envs (episode k runs in env k; each worker
        owns a contiguous block of them). None = the machine's cores, at most N; 0 = envs
        in this process (for comparisons only: unsafe next to TensorFlow under EGL).
        Results do not depend on it.
    """

    def __init__(self, env_name, episodes_per_task=10, env_kwargs=None, num_workers=None):
        episodes_per_task = _check_int("episodes_per_task", episodes_per_task, 1)
        registry.check_env_name(env_name)
        self.env_name = env_name
        self.episodes_per_task = int(episodes_per_task)
        self.env_kwargs = dict(env_kwargs or {})
        self.pool = env_pool.EnvPool(env_name, self.episodes_per_task, num_workers=num_workers,
                                     env_kwargs=self.env_kwargs)
        self.num_workers = self.pool.num_workers
        spec = self.pool.spec
        self.max_episode_steps = spec.max_episode_steps
        if not self.max_episode_steps:
            self.pool.close()
            raise ValueError(
                f"{env_name} has no step limit (env.spec.max_episode_steps="
                f"{self.max_episode_steps!r}); pass env_kwargs=dict(max_episode_steps=...) so "
                "every episode ends."
            )
        self.num_tasks = spec.num_tasks
        # Singletask envs fix their task (reward_task_id) and ignore options["task_id"].
        self.fixed_task_id = spec.fixed_task_id
        self.observation_shape = spec.observation_shape
        # Pixel observations (visual-* envs) stay uint8 images; states become float32.
        self.observation_dtype = spec.observation_dtype
        self.goal_shape = spec.goal_shape
        self.goal_dtype = spec.goal_dtype
        self.action_shape = spec.action_shape
        self.action_low = spec.action_low
        self.action_high = spec.action_high

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

    def _policy_actions(self, policy_fn, observations, goals, active, task_id, step, nonfinite_actions):
        """Calls the policy once for the whole batch and validates its actions.

        Returns (float32 [N, *action_shape] clipped to the action bounds, bool [N]: the running
        episodes whose actions were non-finite, all False unless `nonfinite_actions` is "fail").
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
        if bad.size and nonfinite_actions == "raise":
            raise NonFiniteActionError(
                f"policy_fn returned non-finite actions in {self.env_name}, task {task_id}, "
                f"step {step}, for episodes {bad.tolist()} (first: {actions[bad[0]].tolist()})."
            )
        # OGBench clips continuous actions to [-1, 1] before stepping (finished rows: harmless).
        return np.clip(actions, self.action_low, self.action_high), active & ~finite

    @contextlib.contextmanager
    def _name_failures(self, task_id, seed, where):
        """Re-raises a worker failure with the task, seed and step it happened at."""
        try:
            yield
        except env_pool.WorkerError as error:
            raise env_pool.WorkerError(
                f"Evaluation of {self.env_name} task {task_id} (seed {seed}) failed {where}; "
                f"episode k runs in env index k. {error}") from error

    def _run_task(self, policy_fn, task_id, seed, render_set, record_set, frame_skip, bar, nonfinite_actions):
        """Runs the N episodes of one task in lockstep (episode k in env k of the pool).

        Returns dict with success [N] float, lengths [N] int, nonfinite [N] bool (ended on a
        non-finite action), seeds [N] int, frames {episode: list of uint8 frames}, trajectories
        {episode: dict}.
        """
        num = self.episodes_per_task
        pool = self.pool
        observations = np.zeros((num,) + self.observation_shape, dtype=self.observation_dtype)
        goals = np.zeros((num,) + self.goal_shape, dtype=self.goal_dtype)
        seeds = [seeding.episode_seed(seed, task_id, k) for k in range(num)]
        track = (env_pool.POSITIONS,) if record_set else ()
        options = [dict(task_id=task_id, render_goal=k in render_set) for k in range(num)]
        with self._name_failures(task_id, seed, "at reset"):
            obs, infos = pool.reset(range(num), seeds, options, info_keys=(
                "goal", "goal_rendered", env_pool.GOAL_POSITIONS) + track)
        observations[:] = obs
        frames, goal_frames, trajectories = {}, {}, {}
        for k, info in enumerate(infos):
            if "goal" in info:
                goals[k] = info["goal"]
            if k in render_set:
                goal_frames[k] = info.get("goal_rendered")
            if k in record_set:
                trajectories[k] = dict(
                    positions={name: [p] for name, p in info[env_pool.POSITIONS].items()},
                    goals=info[env_pool.GOAL_POSITIONS],
                )
        rendered = sorted(render_set)
        for k, frame in zip(rendered, pool.render(rendered) if rendered else ()):
            frames[k] = [video_lib.compose_frame(frame, goal_frames[k])]

        active = np.ones(num, dtype=bool)
        lengths = np.zeros(num, dtype=np.int64)
        success = np.zeros(num, dtype=np.float64)
        nonfinite = np.zeros(num, dtype=bool)
        step = 0
        while active.any():
            if step >= self.max_episode_steps + 1:
                raise RuntimeError(
                    f"Episodes of {self.env_name} task {task_id} did not end after {step} steps "
                    f"(max_episode_steps={self.max_episode_steps})."
                )
            actions, failed = self._policy_actions(policy_fn, observations, goals, active, task_id, step,
                                                   nonfinite_actions)
            nonfinite |= failed
            active &= ~failed  # Their episodes end here, unsuccessful (success stays 0).
            running = np.flatnonzero(active)
            if not running.size:
                break
            with self._name_failures(task_id, seed, f"at lockstep step {step}"):
                obs, _, terminated, truncated, infos = pool.step(
                    running, actions[running], info_keys=("success",) + track)
            observations[running] = obs
            lengths[running] += 1
            done = terminated | truncated
            for k, info, finished in zip(running, infos, done):
                if k in record_set:
                    for name, p in info[env_pool.POSITIONS].items():
                        trajectories[k]["positions"].setdefault(name, []).append(p)
                if finished:
                    active[k] = False
                    success[k] = float(info["success"])
            to_render = [k for k, finished in zip(running, done)
                         if k in render_set and (lengths[k] % frame_skip == 0 or finished)]
            for k, frame in zip(to_render, pool.render(to_render) if to_render else ()):
                frames[k].append(video_lib.compose_frame(frame, goal_frames[k]))
            step += 1
            bar.update(1)
        # Episodes that all end early leave the rest of the task's budget: keep the total exact.
        bar.update(max(0, self.max_episode_steps - step))
        for k, trajectory in trajectories.items():
            trajectory["positions"] = {n: np.stack(p) for n, p in trajectory["positions"].items()}
            trajectory["success"] = bool(success[k])
            trajectory["episode"] = int(k)
        return dict(success=success, lengths=lengths, nonfinite=nonfinite, seeds=seeds, frames=frames,
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
                path, self.pool.spec.maze_layout, episodes, f"{self.env_name} task{task_id}"))
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
        nonfinite_actions="raise",
    ):
        """Evaluates `policy_fn` on the given tasks; see `evaluate` for arguments and result."""
        task_ids = self._task_ids(task_ids)
        if nonfinite_actions not in NONFINITE_ACTIONS:
            raise ValueError(f"Unknown nonfinite_actions {nonfinite_actions!r}; expected one of {NONFINITE_ACTIONS}.")
        seed = _check_int("seed", seed, 0)
        if not callable(policy_fn):
            raise ValueError(f"policy_fn must be callable. Received: {policy_fn!r}")
        video_episodes = _check_int("video_episodes", video_episodes, 0)
        plot_episodes = _check_int("plot_episodes", plot_episodes, 0)
        video_frame_skip = _check_int("video_frame_skip", video_frame_skip, 1)
        render_set = set(range(min(video_episodes, self.episodes_per_task))) if video_dir else set()
        record_set = set(range(min(plot_episodes, self.episodes_per_task))) if plot_dir else set()
        if self.pool.closed:
            raise RuntimeError(f"This Evaluator for {self.env_name} is closed.")
        if render_set:
            video_lib.check_video_format(video_format)  # Fail before the rollouts, not after.
            self.pool.render([0])  # A missing GL context raises here, naming MUJOCO_GL's options.
            os.makedirs(video_dir, exist_ok=True)
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
                        nonfinite_actions,
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
        if nonfinite_actions == "fail":
            for task_id in task_ids:
                result[f"nonfinite_episodes/task{task_id}"] = int(per_task[task_id]["nonfinite"].sum())
            result["nonfinite_episodes/total"] = int(sum(per_task[t]["nonfinite"].sum() for t in task_ids))
        result["episodes_per_task"] = self.episodes_per_task
        result["time/seconds"] = float(time.perf_counter() - start)
        result["task_ids"] = list(task_ids)
        names = self.pool.spec.task_names
        result["task_names"] = {f"task{t}": names.get(t, f"task{t}") for t in task_ids}
        result["episode_success"] = {f"task{t}": per_task[t]["success"].tolist() for t in task_ids}
        result["episode_lengths"] = {f"task{t}": per_task[t]["lengths"].tolist() for t in task_ids}
        result["episode_seeds"] = {f"task{t}": list(per_task[t]["seeds"]) for t in task_ids}
        result["videos"] = videos
        result["plots"] = plots
        return result

    def close(self):
        """Stops the env workers (closes every env). Idempotent."""
        self.pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


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
    num_workers=None,
    video_episodes=1,
    video_format="auto",
    video_frame_skip=3,
    video_fps=15,
    plot_dir=None,
    plot_episodes=3,
    nonfinite_actions="raise",
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
      num_workers: processes stepping the envs (see `Evaluator`); None = min(cores, N).
      video_episodes, video_format ("auto"|"mp4"|"gif"), video_frame_skip (render every
        k-th step, OGBench uses 3), video_fps: video options.
      plot_dir: if set, write `plot_dir/task{t}_trajectories.png` with the paths of the first
        `plot_episodes` episodes (maze: agent xy vs goal; manipulation: effector and cubes vs
        cube goals). Headless, no OpenGL needed.
      nonfinite_actions: "raise" (NonFiniteActionError naming the task, step and episodes: a
        policy_fn bug) or "fail": that episode ends there as a failure, unstepped, counted in
        "nonfinite_episodes/..." (a learned policy's rare overflow, e.g. a flow's tail sample,
        which must not stop a training run; the trainer's default, `run.nonfinite_actions`).

    Returns:
      dict with
        "success/task{t}": float, fraction of the task's episodes that succeeded;
        "length/task{t}": float, mean episode length in env steps;
        "success/mean": float, mean over the evaluated tasks;
        "episodes_per_task": int; "time/seconds": float wall time;
        "task_ids": list[int]; "task_names": {"task{t}": OGBench task name};
        "episode_success": {"task{t}": list[float] per episode (0.0 or 1.0)};
        "episode_lengths": {"task{t}": list[int]}; "episode_seeds": {"task{t}": list[int]};
        with nonfinite_actions="fail", also "nonfinite_episodes/task{t}" and
        "nonfinite_episodes/total": int, episodes ended on a non-finite action;
        "videos": list of written video paths; "plots": list of written PNG paths.
      `scalar_metrics(result)` keeps the numeric entries for a metrics logger.
    """
    evaluator = Evaluator(env_name, episodes_per_task=episodes_per_task, env_kwargs=env_kwargs,
                          num_workers=num_workers)
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
            nonfinite_actions=nonfinite_actions,
        )
    finally:
        evaluator.close()
