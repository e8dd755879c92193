"""Runs a collector over many episodes in worker processes and writes the dataset files.

Episode k (training episodes first, then validation episodes) is collected from seeds
derived from (seed, k) only, so the files are identical for any worker count and any
scheduling. Workers are separate processes started with the 'spawn' method (safe when the
parent has TensorFlow or OpenGL state); each builds its environment once and then runs
episodes on demand. The parent shows a tqdm bar in steps and steps/s, assembles episodes
in index order, validates the arrays against the protocol, writes both files atomically
(tfnfrl.data.writer) and then a provenance record next to them (tfnfrl.data.provenance:
seed, episode counts, file hashes), which OGBench's loader ignores.
"""

import dataclasses
import multiprocessing
from concurrent import futures
import os
import time

import numpy as np
from absl import logging
from tqdm import tqdm

from tfnfrl.data import checks, protocol, provenance, writer


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


# Worker-process state: one collector (and env) per process, built by the initializer.
_WORKER_COLLECTOR = None


def _init_worker(spec, episode_length):
    global _WORKER_COLLECTOR
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    _WORKER_COLLECTOR = make_collector(spec, episode_length)


def _collect_in_worker(task):
    seed, index = task
    return _collect_one(_WORKER_COLLECTOR, seed, index)


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


def dataset_paths(name, dataset_dir):
    """(train, val) file paths of dataset `name` in `dataset_dir` (with '~' expanded)."""
    directory = os.path.expanduser(dataset_dir)
    return (
        os.path.join(directory, f"{name}.npz"),
        os.path.join(directory, f"{name}-val.npz"),
    )


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
      num_workers: worker processes; 1 collects in this process.
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
    discarded = 0
    bar = tqdm(total=total * length, unit="step", unit_scale=True, desc=spec.name,
               disable=not progress, mininterval=1.0, smoothing=0.05)
    with bar:
        if num_workers == 1:
            collector = make_collector(spec, length)
            try:
                for index in range(total):
                    _, episode, n_bad = _collect_one(collector, seed, index)
                    buffer.put(index, episode)
                    discarded += n_bad
                    bar.update(length)
            finally:
                collector.close()
        else:
            # concurrent.futures (not multiprocessing.Pool): a worker that dies or fails to
            # build its env raises BrokenProcessPool here instead of being respawned forever.
            context = multiprocessing.get_context("spawn")
            with futures.ProcessPoolExecutor(num_workers, mp_context=context,
                                             initializer=_init_worker,
                                             initargs=(spec, length)) as pool:
                pending = [pool.submit(_collect_in_worker, (seed, index))
                           for index in range(total)]
                try:
                    for future in futures.as_completed(pending):
                        index, episode, n_bad = future.result()
                        buffer.put(index, episode)
                        discarded += n_bad
                        bar.update(length)
                except BaseException:
                    for future in pending:
                        future.cancel()
                    raise

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
