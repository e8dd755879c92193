"""N OGBench environments stepped in lockstep in worker processes, never beside TensorFlow.

Why workers: under `MUJOCO_GL=egl` (Mesa), building a manipulation env loads Mesa's LLVM
into the process, and TensorFlow's own LLVM then crashes (see `worker_process`). The pool
keeps every env out of the caller's process, so the caller may run TensorFlow freely.

Layout: env indices 0..num_envs-1 are split into `num_workers` contiguous slices, one per
clean worker process (`worker_process.Worker`, started through `subprocess`, so it never
imports TensorFlow). A call on a list of indices sends each worker its part at once (the
workers run in parallel), then gathers the answers back into the caller's order.
`num_workers=0` keeps the envs in this process (for comparisons and tests only; unsafe
next to TensorFlow under EGL).

API (all per-index arguments and results are in the order of `indices`):
  pool = EnvPool(env_name, num_envs, num_workers=None, env_kwargs=None, timeout=120.0)
  pool.spec                  EnvSpec: shapes, dtypes, action bounds, max_episode_steps,
                             num_tasks, fixed_task_id, task_names, maze_layout, ...
  obs, infos = pool.reset(indices, seeds, options=None, info_keys=None)
  obs, rewards, terminated, truncated, infos = pool.step(
      indices, actions, info_keys=None, reset_seeds=None, reset_options=None)
  frames = pool.render(indices)               uint8 [H, W, 3] each
  results = pool.call(indices, function, *args)   function(env, *args) in the worker
  pool.close() / `with EnvPool(...) as pool:`

Seeding: `reset` goes through `seeding.seeded_reset` (NumPy's global generator, the action
space and the env all seeded by the episode seed), so an episode depends on its seed and
actions only, not on which worker runs it or what the other envs do. Envs whose `step`
draws from NumPy's global generator (the teleport maze) get their own saved generator
state, swapped in around each of their steps. Results equal a plain one-env loop's.

Infos: `info_keys=None` returns each env's whole info dict; a tuple of keys returns only
those (cheaper to ship: a cube info holds ~20 arrays), plus two computed keys:
`POSITIONS` (`trajectory_plot.tracked_positions` of the env now) and `GOAL_POSITIONS`
(`trajectory_plot.goal_positions`).

Online collection (e.g. NF-UGS: N pointmaze envs in lockstep, 1000-step rollouts): call
`step(all_indices, actions, reset_seeds=..., reset_options=...)` every step. Giving
`reset_seeds` turns on same-step auto-reset: an env whose episode ends (terminated or
truncated) is reset at once inside its worker with its entry of `reset_seeds` (and of
`reset_options`, e.g. `dict(task_id=...)` or OGBench's `task_info`); its returned
observation is then the new episode's first one, and its info is the reset's info plus
"final_obs" and "final_info" (the last step's observation and info), as gymnasium's
same-step vector auto-reset does. Entries of envs that did not end are ignored, so the
collector can pass e.g. `episode_seed(seed, env_index, episodes_done[env_index])` for all.

Failures: a worker that dies (killed, crashed env) or does not answer within `timeout`
raises `WorkerError` naming the env, the worker's env indices and the call's indices, and
the pool closes (its other workers are stopped); an exception inside an env is re-raised
as `WorkerError` with the worker's traceback and the pool stays usable.
"""

import contextlib
import dataclasses
import os
import weakref
from typing import Optional

import numpy as np

from tfnfrl.envs import registry
from tfnfrl.envs import seeding
from tfnfrl.envs import trajectory_plot
from tfnfrl.envs import video as video_lib
from tfnfrl.envs import worker_process
from tfnfrl.envs.worker_process import WorkerError

# Computed info keys (see the module docstring).
POSITIONS = "tfnfrl/positions"
GOAL_POSITIONS = "tfnfrl/goal_positions"
# Seconds a worker may take to answer one call (a dead worker is seen at once regardless).
DEFAULT_TIMEOUT = 120.0
# Seconds a worker may take to start and build its envs (~1 s per manipulation env).
DEFAULT_START_TIMEOUT = 900.0


def import_mujoco():
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


def check_int(name, value, minimum):
    """Raises ValueError unless `value` is an integer (not a bool) >= `minimum`."""
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_int or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def default_num_workers(num_envs):
    """The machine's cores, at most `num_envs`."""
    return max(1, min(os.cpu_count() or 1, int(num_envs)))


@dataclasses.dataclass(frozen=True, eq=False)
class EnvSpec:
    """What callers need to know about the pool's env, read once in a worker.

    Attributes:
      env_name: the OGBench name the envs were made from.
      observation_shape, goal_shape: shapes of one observation and one goal (goal (0,) when
        reset infos have no "goal").
      observation_dtype, goal_dtype: dtype for batches: np.uint8 for pixel observations,
        else np.float32.
      action_shape, action_low, action_high: the action space (bounds float32).
      max_episode_steps: the env's step limit (None if it has none).
      num_tasks: evaluation tasks the env defines (task ids 1..num_tasks).
      fixed_task_id: the task of a singletask env (which ignores options["task_id"]), else None.
      task_names: {task_id: OGBench task name}.
      maze_layout: `trajectory_plot.maze_layout` of the env (None for non-maze envs).
      global_rng_in_step: whether `step` draws from NumPy's global generator.
    """

    env_name: str
    observation_shape: tuple
    observation_dtype: type
    goal_shape: tuple
    goal_dtype: type
    action_shape: tuple
    action_low: np.ndarray
    action_high: np.ndarray
    max_episode_steps: Optional[int]
    num_tasks: int
    fixed_task_id: Optional[int]
    task_names: dict
    maze_layout: Optional[dict]
    global_rng_in_step: bool


class _EnvSlice:
    """The envs of one worker (or of the in-process mode), addressed by local index.

    Every public method takes `local` (local env indices) plus per-index sequences and
    returns a tuple of per-index lists (the pool reorders them).
    """

    def __init__(self, env_name, env_kwargs, count):
        import_mujoco()
        self.envs = [seeding.make_deterministic(registry.make_env(env_name, **env_kwargs))
                     for _ in range(count)]
        self.env_name = env_name
        self.global_rng_in_step = seeding.step_uses_global_rng(self.envs[0])
        self.rng_states = [None] * count

    def _reset_one(self, i, seed, options):
        observation, info = seeding.seeded_reset(self.envs[i], int(seed), options)
        if self.global_rng_in_step:
            self.rng_states[i] = np.random.get_state()
        return observation, info

    def _select(self, i, info, info_keys):
        if info_keys is None:
            return dict(info)
        selected = {key: info[key] for key in info_keys if key in info}
        if POSITIONS in info_keys:
            selected[POSITIONS] = trajectory_plot.tracked_positions(self.envs[i], info)
        if GOAL_POSITIONS in info_keys:
            selected[GOAL_POSITIONS] = trajectory_plot.goal_positions(self.envs[i])
        return selected

    def spec(self):
        """The EnvSpec, from one seeded probe reset of the first env (it also warms it up)."""
        env = self.envs[0]
        unwrapped = env.unwrapped
        task_infos = list(getattr(unwrapped, "task_infos", None) or ())
        fixed_task_id = getattr(unwrapped, "_reward_task_id", None)
        task_id = 1 if fixed_task_id is None else int(fixed_task_id)
        probe, info = self._reset_one(0, 0, dict(task_id=task_id, render_goal=False))
        dtype = np.uint8 if np.asarray(probe).dtype == np.uint8 else np.float32
        goal = info.get("goal")
        return EnvSpec(
            env_name=self.env_name,
            observation_shape=tuple(np.shape(probe)),
            observation_dtype=dtype,
            goal_shape=tuple(np.shape(goal)) if goal is not None else (0,),
            goal_dtype=dtype,
            action_shape=tuple(env.action_space.shape),
            action_low=np.asarray(env.action_space.low, dtype=np.float32),
            action_high=np.asarray(env.action_space.high, dtype=np.float32),
            max_episode_steps=env.spec.max_episode_steps if env.spec is not None else None,
            num_tasks=len(task_infos),
            fixed_task_id=None if fixed_task_id is None else int(fixed_task_id),
            task_names={k + 1: str(t.get("task_name", f"task{k + 1}"))
                        for k, t in enumerate(task_infos)},
            maze_layout=trajectory_plot.maze_layout(env),
            global_rng_in_step=self.global_rng_in_step,
        )

    def reset(self, local, seeds, options, info_keys=None):
        observations, infos = [], []
        for i, seed, episode_options in zip(local, seeds, options):
            observation, info = self._reset_one(i, seed, episode_options)
            observations.append(observation)
            infos.append(self._select(i, info, info_keys))
        return observations, infos

    def step(self, local, actions, reset_seeds=None, reset_options=None, info_keys=None):
        results = ([], [], [], [], [])
        for j, (i, action) in enumerate(zip(local, actions)):
            if self.rng_states[i] is not None:
                np.random.set_state(self.rng_states[i])
            observation, reward, terminated, truncated, info = self.envs[i].step(action)
            if self.rng_states[i] is not None:
                self.rng_states[i] = np.random.get_state()
            info = self._select(i, info, info_keys)
            if reset_seeds is not None and (terminated or truncated):
                final_observation, final_info = observation, info
                options = reset_options[j] if reset_options is not None else None
                observation, info = self._reset_one(i, reset_seeds[j], options)
                info = self._select(i, info, info_keys)
                info["final_obs"], info["final_info"] = final_observation, final_info
            for result, value in zip(results, (observation, float(reward), bool(terminated),
                                               bool(truncated), info)):
                result.append(value)
        return results

    def render(self, local):
        # check_rendering turns a missing GL context into an error naming MUJOCO_GL's options.
        return ([video_lib.check_rendering(self.envs[i]) for i in local],)

    def call(self, local, function, args=()):
        return ([function(self.envs[i], *args) for i in local],)

    def close(self):
        for env in self.envs:
            env.close()
        self.envs = []


def _serve_envs(conn, env_name, env_kwargs, count):
    """Worker target: builds `count` envs, answers with their EnvSpec, then serves calls."""
    try:
        envs = _EnvSlice(env_name, env_kwargs, count)
        spec = envs.spec()
    except Exception as error:  # pylint: disable=broad-except
        conn.send(("error", worker_process.error_text(error)))
        return
    conn.send(("ok", spec))
    try:
        worker_process.serve(conn, envs)
    finally:
        envs.close()


@contextlib.contextmanager
def _global_rng_preserved():
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _shutdown(workers, local_envs, kill=False):
    """Stops every worker (politely unless `kill`) and closes in-process envs."""
    for worker in workers:
        if kill:
            worker.kill()
        worker.close()
    workers.clear()
    for envs in local_envs:
        envs.close()
    local_envs.clear()


def _per_index(value, count, name):
    """`value` as a list of `count` entries: a list/tuple is taken as is, anything else repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{name} has {len(value)} entries for {count} indices.")
        return list(value)
    return [value] * count


class EnvPool:
    """`num_envs` instances of one OGBench env in worker processes (see the module docstring).

    Args:
      env_name: a supported OGBench name (tfnfrl.envs.registry.SUPPORTED_ENVS).
      num_envs: number of env instances, >= 1.
      num_workers: worker processes; None = the machine's cores (at most num_envs); 0 = no
        workers, envs in this process (comparisons and tests only).
      env_kwargs: dict for `registry.make_env` of every env, e.g. dict(max_episode_steps=50).
      timeout: seconds a worker may take to answer one call before it is killed.
      start_timeout: seconds a worker may take to start and build its envs.
    """

    def __init__(self, env_name, num_envs, num_workers=None, env_kwargs=None,
                 timeout=DEFAULT_TIMEOUT, start_timeout=DEFAULT_START_TIMEOUT):
        registry.check_env_name(env_name)
        num_envs = check_int("num_envs", num_envs, 1)
        if num_workers is None:
            num_workers = default_num_workers(num_envs)
        num_workers = min(check_int("num_workers", num_workers, 0), num_envs)
        self.env_name = env_name
        self.num_envs = num_envs
        self.num_workers = num_workers
        self.env_kwargs = dict(env_kwargs or {})
        self.timeout = timeout
        chunks = np.array_split(np.arange(num_envs), max(num_workers, 1))
        # (start, stop) env indices of each worker (one slice for the in-process mode).
        self.slices = [(int(chunk[0]), int(chunk[-1]) + 1) for chunk in chunks]
        self._owner = np.concatenate([np.full(len(c), w) for w, c in enumerate(chunks)])
        self._workers, self._local = [], []
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._local, True)
        self._broken = None
        try:
            if num_workers == 0:
                with _global_rng_preserved():
                    self._local.append(_EnvSlice(env_name, self.env_kwargs, num_envs))
                    self.spec = self._local[0].spec()
            else:
                target = worker_process.function_name(_serve_envs)
                for w, (start, stop) in enumerate(self.slices):
                    self._workers.append(worker_process.Worker(
                        target, (env_name, self.env_kwargs, stop - start),
                        name=f"env worker {w} of {env_name} (env indices {start}..{stop - 1})"))
                specs = [worker.receive(start_timeout, f"building {stop - start} envs")
                         for worker, (start, stop) in zip(self._workers, self.slices)]
                self.spec = specs[0]
        except BaseException:
            self.close(kill=True)
            raise

    # ----------------------------------------------------------------------------- plumbing

    @property
    def closed(self):
        return not (self._workers or self._local)

    @property
    def worker_pids(self):
        """Process ids of the workers (empty in the in-process mode)."""
        return [worker.pid for worker in self._workers]

    def _check_indices(self, indices):
        if self.closed:
            raise RuntimeError(self._broken or f"This EnvPool of {self.env_name} is closed.")
        indices = [int(i) for i in np.asarray(indices, dtype=np.int64).reshape(-1)]
        bad = [i for i in indices if not 0 <= i < self.num_envs]
        if bad:
            raise ValueError(f"Env indices {bad} out of range [0, {self.num_envs}).")
        if len(set(indices)) != len(indices):
            raise ValueError(f"Env indices repeat: {indices}.")
        return indices

    def _dispatch(self, command, indices, num_outputs, per_index=None, **shared):
        """Runs `command` on every index's owner, in parallel; per-index outputs in order."""
        groups = {}
        for position, index in enumerate(indices):
            worker = int(self._owner[index])
            positions, local = groups.setdefault(worker, ([], []))
            positions.append(position)
            local.append(index - self.slices[worker][0])
        calls = []
        for worker, (positions, local) in groups.items():
            kwargs = dict(shared)
            for name, values in (per_index or {}).items():
                if values is not None:
                    kwargs[name] = [values[p] for p in positions]
            calls.append((worker, positions, local, kwargs))
        if self._local:
            with _global_rng_preserved():
                results = [getattr(self._local[0], command)(local, **kwargs)
                           for _, _, local, kwargs in calls]
        else:
            results = self._remote(command, calls)
        outputs = [[None] * len(indices) for _ in range(num_outputs)]
        for (_, positions, _, _), result in zip(calls, results):
            for output, values in zip(outputs, result):
                for position, value in zip(positions, values):
                    output[position] = value
        return outputs

    def _remote(self, command, calls):
        """Sends every worker its call, then collects all answers (raising the first error)."""
        first_error, results = None, []
        sent = []
        try:
            for worker, positions, local, kwargs in calls:
                what = self._describe(command, worker, local)
                try:
                    self._workers[worker].send(command, (local,), kwargs, what=what)
                    sent.append((worker, what))
                except WorkerError as error:
                    first_error = first_error or error
                    break
            for worker, what in sent:
                try:
                    results.append(self._workers[worker].receive(self.timeout, what))
                except WorkerError as error:
                    first_error = first_error or error
        except BaseException:  # E.g. Ctrl-C: answers may be pending, the pool is out of step.
            self._broken = (f"This EnvPool of {self.env_name} was closed by an interrupted "
                            f"{command}.")
            self.close(kill=True)
            raise
        if first_error is not None:
            if any(worker.process.poll() is not None for worker in self._workers):
                self._broken = (f"This EnvPool of {self.env_name} was closed after a worker "
                                f"failed: {first_error}")
                self.close(kill=True)
            raise first_error
        return results

    def _describe(self, command, worker, local):
        start = self.slices[worker][0]
        return f"running {command} on env indices {[start + i for i in local]}"

    # ---------------------------------------------------------------------------------- API

    def reset(self, indices, seeds, options=None, info_keys=None):
        """Resets the listed envs, env `indices[j]` with `seeds[j]` (see `seeding.seeded_reset`).

        Args:
          indices: env indices (unique, any order).
          seeds: one int seed per index.
          options: reset options, one dict for all or a list with one per index.
          info_keys: None for whole infos, else the keys to return (see module docstring).

        Returns:
          (observations stacked [len(indices), *observation_shape], list of info dicts).
        """
        indices = self._check_indices(indices)
        seeds = _per_index(list(seeds), len(indices), "seeds")
        options = _per_index(options, len(indices), "options")
        observations, infos = self._dispatch(
            "reset", indices, 2, dict(seeds=seeds, options=options), info_keys=info_keys)
        return self._stack(observations), infos

    def step(self, indices, actions, info_keys=None, reset_seeds=None, reset_options=None):
        """Steps the listed envs once, env `indices[j]` with `actions[j]`; others stay put.

        Args:
          indices: env indices (unique, any order).
          actions: array [len(indices), *action_shape].
          info_keys: None for whole infos, else the keys to return.
          reset_seeds: None, or one seed per index: same-step auto-reset of envs whose
            episode ends (see the module docstring).
          reset_options: reset options for auto-resets, one dict or one per index.

        Returns:
          (observations [len(indices), ...], rewards float64 [len], terminated bool [len],
          truncated bool [len], list of info dicts).
        """
        indices = self._check_indices(indices)
        actions = np.asarray(actions)
        expected = (len(indices),) + tuple(self.spec.action_shape)
        if actions.shape != expected:
            raise ValueError(f"actions have shape {list(actions.shape)}; expected "
                             f"{list(expected)} = [len(indices), action_dim].")
        if reset_seeds is not None:
            reset_seeds = _per_index(list(reset_seeds), len(indices), "reset_seeds")
            reset_options = _per_index(reset_options, len(indices), "reset_options")
        elif reset_options is not None:
            raise ValueError("reset_options needs reset_seeds (auto-reset is on only with seeds).")
        observations, rewards, terminated, truncated, infos = self._dispatch(
            "step", indices, 5,
            dict(actions=actions, reset_seeds=reset_seeds, reset_options=reset_options),
            info_keys=info_keys)
        return (self._stack(observations), np.asarray(rewards, dtype=np.float64),
                np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool), infos)

    def render(self, indices):
        """RGB frames (uint8 [H, W, 3]) of the listed envs; a missing GL context raises an
        error that says which MUJOCO_GL setting and library rendering needs."""
        indices = self._check_indices(indices)
        return self._dispatch("render", indices, 1)[0]

    def call(self, indices, function, *args):
        """`function(env, *args)` for each listed env, run where the env lives.

        `function` must be a module-level function (it is pickled by name) and its result
        picklable; e.g. `pool.call([0], trajectory_plot.goal_positions)`.
        """
        indices = self._check_indices(indices)
        return self._dispatch("call", indices, 1, function=function, args=args)[0]

    def _stack(self, observations):
        if not observations:
            return np.zeros((0,) + tuple(self.spec.observation_shape))
        return np.stack([np.asarray(o) for o in observations])

    def close(self, kill=False):
        """Stops the workers (or closes the in-process envs). Idempotent."""
        _shutdown(self._workers, self._local, kill=kill)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
