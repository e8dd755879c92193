"""Runs a collector over many episodes in worker processes and writes the dataset files.

Episode k (training episodes first, then validation episodes) is collected from seeds
derived from (seed, k) only, so the files are identical for any worker count and any
scheduling. The environments never live in the calling process, even with one worker:
under MUJOCO_GL=egl a manipulation env loads Mesa's GL driver, and TensorFlow in the same
process (the trainer falling back to generation, a script that imports it later) then
crashes. Workers are clean processes started by `tfnfrl.envs.worker_process.Worker` (plain
`subprocess`, importing only this module: multiprocessing's 'spawn' would re-import the
caller's `__main__` and with it TensorFlow); each builds its collector and env once, reports
the env's dims, then collects the episodes it is sent, one at a time. The parent shows a
tqdm bar in steps and steps/s, assembles episodes in index order, validates the arrays
against the protocol, writes both files atomically (tfnfrl.data.writer) and then a
provenance record next to them (tfnfrl.data.provenance: seed, episode counts, file hashes),
which OGBench's loader ignores.
"""

import dataclasses
from multiprocessing import connection as mp_connection
import os
import time

import numpy as np
from absl import logging
from tqdm import tqdm

from tfnfrl.data import checks, protocol, provenance, writer
from tfnfrl.envs import worker_process

# Seconds a worker may take to build its env or to collect one episode (a worker that dies
# is seen at once regardless). Generous: a 1001-step manipulation episode takes ~3 s on an
# idle core, a scene episode may be redone, and the machine may be busy.
WORKER_TIMEOUT = 1800.0


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """What a generation run produced.

    Attributes:
      train_path, val_path: the files written.
      num_train_episodes, num_val_episodes: episodes in each file.
      num_steps: environment steps collected in total (train + val).
      seconds: wall time of the collection and writing.
      discarded_episodes: scene episodes redone because the cube left the visible area.
    """

    train_path: str
    val_path: str
    num_train_episodes: int
    num_val_episodes: int
    num_steps: int
    seconds: float
    discarded_episodes: int

    @property
    def steps_per_second(self):
        return self.num_steps / max(self.seconds, 1e-9)


def make_collector(spec, episode_length):
    """The collector for `spec`'s family, with its environment built."""
    if spec.family == "pointmaze":
        from tfnfrl.data.generation.pointmaze import PointMazeCollector

        return PointMazeCollector(spec, episode_length)
    from tfnfrl.data.generation.manipspace import ManipSpaceCollector

    return ManipSpaceCollector(spec, episode_length)


def episode_arrays(episode, has_button_states):
    """Stacks one episode's per-step lists into arrays with the file dtypes."""
    keys = checks.required_arrays(has_button_states)
    return {k: np.asarray(episode[k], dtype=checks.ARRAY_DTYPES[k]) for k in keys}


def _collect_one(collector, seed, index):
    discarded_before = getattr(collector, "discarded_episodes", 0)
    episode = collector.collect(seed, index)
    discarded = getattr(collector, "discarded_episodes", 0) - discarded_before
    return index, episode_arrays(episode, collector.has_button_states), discarded


class _CollectorService:
    """What a generation worker serves (worker_process.serve): episodes of one collector."""

    def __init__(self, collector):
        self._collector = collector

    def collect(self, seed, index):
        """(index, episode arrays, scene episodes discarded) of episode `index`."""
        return _collect_one(self._collector, seed, index)


def _serve_collector(conn, spec, episode_length):
    """Worker target: builds the collector, answers ("ok", env dims), then serves episodes."""
    try:
        collector = make_collector(spec, episode_length)
    except Exception as error:  # pylint: disable=broad-except
        conn.send(("error", worker_process.error_text(error)))
        return
    try:
        conn.send(("ok", collector.env_dims()))
        worker_process.serve(conn, _CollectorService(collector))
    finally:
        collector.close()


def _collect_in_workers(spec, length, seed, num_episodes, num_workers, on_episode):
    """Collects episodes 0..num_episodes-1 in `num_workers` clean worker processes.

    Each worker holds at most one episode request at a time and gets the next index when it
    answers, so fast workers take more episodes. Calls `on_episode(index, arrays, discarded)`
    in completion order. Returns the env dims the workers reported.

    Raises:
      WorkerError: a worker failed to build its env or collect an episode (the message has
        its traceback), died, or took longer than WORKER_TIMEOUT; every worker is stopped.
    """
    num_workers = min(num_workers, num_episodes)
    target = worker_process.function_name(_serve_collector)
    workers = []
    try:
        for i in range(num_workers):
            workers.append(worker_process.Worker(
                target, (spec, length),
                name=f"generation worker {i + 1} of {num_workers} for {spec.name}"))
        dims = None
        for worker in workers:  # They build their envs in parallel.
            dims = worker.receive(WORKER_TIMEOUT, f"building the {spec.env_id} env")
        busy = {}  # Connection -> (worker, episode index it is collecting).
        next_index = 0
        while busy or next_index < num_episodes:
            idle = [w for w in workers if w.conn not in busy]
            for worker in idle[:num_episodes - next_index]:
                worker.send("collect", (seed, next_index), {}, what=f"collecting episode {next_index}")
                busy[worker.conn] = (worker, next_index)
                next_index += 1
            ready = mp_connection.wait(list(busy), WORKER_TIMEOUT)
            if not ready:
                late = ", ".join(f"{w.name} (episode {i})" for w, i in busy.values())
                raise worker_process.WorkerError(
                    f"No episode finished within {WORKER_TIMEOUT} s: {late}; stopped.")
            for conn in ready:
                worker, index = busy.pop(conn)
                on_episode(*worker.receive(WORKER_TIMEOUT, f"collecting episode {index}"))
    except BaseException:
        for worker in workers:  # Busy workers would only read "close" after their episode.
            worker.kill()
        raise
    finally:
        for worker in workers:
            worker.close()
    return dims


class _EpisodeBuffer:
    """Preallocated arrays for `num_episodes` episodes of `length` steps, filled by index."""

    def __init__(self, num_episodes, length):
        self._num_episodes = num_episodes
        self._length = length
        self.arrays = None

    def put(self, index, episode):
        steps = len(episode["terminals"])
        if steps != self._length:
            raise RuntimeError(
                f"Episode {index} has {steps} steps; expected {self._length} (the env's "
                "time limit should be the only way an episode ends)."
            )
        if self.arrays is None:
            self.arrays = {
                k: np.empty((self._num_episodes * self._length,) + v.shape[1:], dtype=v.dtype)
                for k, v in episode.items()
            }
        start = index * self._length
        for k, v in episode.items():
            self.arrays[k][start : start + self._length] = v

    def split(self, num_first_episodes):
        """(first episodes, remaining episodes) as two dicts of arrays (views, no copy)."""
        cut = num_first_episodes * self._length
        return (
            {k: v[:cut] for k, v in self.arrays.items()},
            {k: v[cut:] for k, v in self.arrays.items()},
        )


dataset_paths = protocol.dataset_paths  # The one file-naming rule, re-exported.


def _remove_stale_temp_files(paths):
    """Deletes temp files a killed earlier write of `paths` left behind (see writer)."""
    for path in paths:
        directory, base = os.path.split(path)
        if not os.path.isdir(directory):
            continue
        for entry in os.listdir(directory):
            if entry.startswith(f".{base}.") and entry.endswith(".tmp"):
                logging.warning("Removing %s, left by an interrupted earlier run.", entry)
                os.remove(os.path.join(directory, entry))


def generate_dataset(
    env_name,
    dataset_dir,
    num_episodes=None,
    num_workers=1,
    seed=0,
    episode_length=None,
    progress=True,
):
    """Collects a dataset by OGBench's protocol and writes `{name}.npz` and `{name}-val.npz`.

    Also writes `{name}.provenance.json` (source 'generated', seed, episode counts, file
    hashes), read by tfnfrl.data.dataset_provenance.

    Args:
      env_name: a supported dataset name (a singletask name generates its base dataset).
      dataset_dir: output directory ('~' is expanded; created if missing).
      num_episodes: training episodes; None = the protocol count. Validation adds 10 %
        (at least 1) more, collected after the training episodes.
      num_workers: worker processes collecting in parallel (the env never lives in this
        process, so TensorFlow may run here; see the module docstring).
      seed: base seed (>= 0); episode k uses seeds derived from (seed, k).
      episode_length: steps per episode; None = the protocol length. Shorter episodes are
        for tests and smoke runs.
      progress: show a tqdm bar (steps, steps/s).

    Returns:
      GenerationResult.
    """
    spec = protocol.get_spec(env_name)
    num_train = spec.num_episodes if num_episodes is None else int(num_episodes)
    length = spec.episode_length if episode_length is None else int(episode_length)
    for label, value, minimum in [("num_episodes", num_train, 1), ("num_workers", num_workers, 1),
                                  ("seed", seed, 0), ("episode_length", length, 2)]:
        if value < minimum:
            raise ValueError(f"{label} must be >= {minimum}; received {label}={value}.")
    num_val = protocol.val_episode_count(num_train)
    total = num_train + num_val
    train_path, val_path = dataset_paths(spec.name, dataset_dir)
    logging.info(
        "Generating %s: %d train + %d val episodes x %d steps, %d worker(s), seed %d -> %s",
        spec.name, num_train, num_val, length, num_workers, seed, os.path.dirname(train_path),
    )

    _remove_stale_temp_files((train_path, val_path))

    start = time.time()
    buffer = _EpisodeBuffer(total, length)
    bar = tqdm(total=total * length, unit="step", unit_scale=True, desc=spec.name,
               disable=not progress, mininterval=1.0, smoothing=0.05)
    discarded = 0

    def on_episode(index, episode, n_bad):
        nonlocal discarded
        buffer.put(index, episode)
        discarded += n_bad
        bar.update(length)

    with bar:
        dims = _collect_in_workers(spec, length, seed, total, num_workers, on_episode)
    # The checks compare the files with the env's dims: the ones the workers' env reported.
    checks.remember_env_dims(spec.name, dims)

    train_arrays, val_arrays = buffer.split(num_train)
    for split, arrays, n in (("train", train_arrays, num_train), ("val", val_arrays, num_train)):
        report = checks.check_arrays(arrays, spec.name, split, num_episodes=n,
                                     episode_length=length, source=f"{spec.name} ({split})")
        report.raise_if_failed()
    # The old record goes first: a kill before the new one is written leaves files whose
    # origin reads as 'unknown', never new files described by an old record.
    provenance.remove_record(train_path)
    writer.write_dataset_files(train_path, train_arrays, val_path, val_arrays)
    provenance.write_record(train_path, val_path, "generated", seed=int(seed),
                            num_episodes=num_train, num_val_episodes=num_val,
                            episode_length=length)
    seconds = time.time() - start
    result = GenerationResult(
        train_path=train_path,
        val_path=val_path,
        num_train_episodes=num_train,
        num_val_episodes=num_val,
        num_steps=total * length,
        seconds=seconds,
        discarded_episodes=discarded,
    )
    logging.info(
        "Done: %d steps in %.1f s (%.0f steps/s)%s.", result.num_steps, seconds,
        result.steps_per_second,
        f", {discarded} unhealthy scene episode(s) redone" if discarded else "",
    )
    return result
