"""Where a dataset's files came from: the official OGBench download or local generation.

Next to `{name}.npz` and `{name}-val.npz`, tfnfrl writes a small record
`{name}.provenance.json` when it generates the pair (tfnfrl.data.generation) or downloads it
(tfnfrl.data.sources): the source, the generation seed and episode counts or the download
URL, and each file's size and sha256. OGBench's loader never opens it. `read_provenance`
re-hashes the files, so a record that no longer describes them (files replaced or edited
by hand) is reported as source 'unknown' instead of being trusted, and it counts the
episodes in the files themselves. Files without a record (downloaded by plain OGBench, or
generated before records existed) are 'unknown' too.

Record (JSON):
  {"format": 1, "source": "generated" | "official", "dataset": name,
   "created": "2026-01-01T00:00:00Z", "created_with": {"tfnfrl": ..., "ogbench": ...},
   "files": {basename: {"bytes": int, "sha256": hex}} (train and val),
   generated: "seed", "num_episodes", "num_val_episodes", "episode_length";
   official: "url" (the base URL the files were fetched from)}
"""

import contextlib
import datetime
import hashlib
import importlib.metadata
import json
import os

import numpy as np

from tfnfrl import jsonio

RECORD_FORMAT = 1
RECORD_SUFFIX = ".provenance.json"
SOURCES = ("official", "generated", "unknown")
_CHUNK = 1 << 20


def record_path(train_path):
    """The record of the pair whose training file is `train_path` ('x.npz' -> 'x.provenance.json')."""
    base = train_path[: -len(".npz")] if train_path.endswith(".npz") else train_path
    return base + RECORD_SUFFIX


def package_version(package):
    """Installed version of `package`, or None if it is not installed as a distribution."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# (path, inode, size, mtime_ns) -> digest: a run that prepares, loads and then records its
# data hashes each (possibly 1 GB) file once.
_DIGESTS = {}


def file_digest(path):
    """{'bytes': size, 'sha256': hex digest} of the file at `path`."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
        _DIGESTS[key] = {"bytes": stat.st_size, "sha256": digest.hexdigest()}
    return dict(_DIGESTS[key])


def remove_record(train_path):
    """Deletes the record of `train_path`'s pair if there is one (before its files change)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(record_path(train_path))


def write_record(train_path, val_path, source, **fields):
    """Writes the record of a train/val pair atomically, with both files' size and sha256.

    Args:
      train_path, val_path: the pair's files (they must exist).
      source: 'generated' or 'official'.
      **fields: what else to record (JSON-serialisable), e.g. seed and num_episodes, or url.

    Returns:
      The record's path.
    """
    if source not in ("generated", "official"):
        raise ValueError(f"source must be 'generated' or 'official'. Received: source={source!r}")
    name = os.path.basename(train_path)[: -len(".npz")]
    record = dict(
        format=RECORD_FORMAT,
        source=source,
        dataset=name,
        created=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        created_with={"tfnfrl": package_version("tfnfrl"), "ogbench": package_version("ogbench")},
        files={os.path.basename(p): file_digest(p) for p in (train_path, val_path)},
        **fields,
    )
    return jsonio.write_json(record_path(train_path), record)


def _read_record(path):
    try:
        with open(path) as f:
            record = json.load(f)
    except FileNotFoundError:
        return None, "no provenance record"
    except (OSError, ValueError) as e:
        return None, f"unreadable provenance record {path} ({e})"
    if not isinstance(record, dict) or record.get("source") not in ("generated", "official"):
        return None, f"provenance record {path} has no valid 'source'"
    return record, None


def episode_counts(path):
    """(episodes, episode length or None if lengths differ) of one dataset file."""
    try:
        with np.load(path, allow_pickle=False) as file:
            terminals = np.asarray(file["terminals"], dtype=bool)
    except Exception as e:  # Truncated/corrupt zip, missing key, decoder errors.
        raise ValueError(
            f"Dataset file {path} is truncated or corrupt ({type(e).__name__}: {e}). Delete it "
            "and download or generate it again."
        ) from e
    ends = np.flatnonzero(terminals)
    lengths = np.unique(np.diff(np.concatenate([[-1], ends])))
    return int(ends.size), (int(lengths[0]) if lengths.size == 1 else None)


def read_provenance(train_path, val_path):
    """What is known about a train/val pair: its source, seed, episode counts and hashes.

    Returns:
      dict (JSON-serialisable):
        dataset: the dataset name; dataset_dir: absolute directory of the files.
        source: 'official' (downloaded by tfnfrl from OGBench's URL), 'generated' (by
          tfnfrl's generator) or 'unknown' (no valid record, or files changed since).
        seed: the generation seed (None unless generated).
        num_episodes, num_val_episodes, episode_length: counted in the files themselves
          (episode_length None if episodes differ in length).
        url: base URL of an official download (else None).
        created, created_with: when and with which tfnfrl/ogbench versions the files were
          generated or downloaded (None if unknown).
        files: {basename: {'bytes', 'sha256'}} of both files as they are now.
        ogbench_version: the OGBench version installed now (its envs evaluate the run).
        note: why the source is 'unknown' (else '').

    Raises:
      FileNotFoundError: a file of the pair is missing.
      ValueError: a file cannot be read.
    """
    for path in (train_path, val_path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"Dataset file {path} does not exist.")
    files = {os.path.basename(p): file_digest(p) for p in (train_path, val_path)}
    record, note = _read_record(record_path(train_path))
    if record is not None and record.get("files") != files:
        changed = sorted(k for k in files if (record.get("files") or {}).get(k) != files[k])
        record, note = None, (f"{', '.join(changed)} changed since its provenance record was "
                              "written")
    num_episodes, episode_length = episode_counts(train_path)
    num_val_episodes, _ = episode_counts(val_path)
    record = record or {}
    source = record.get("source", "unknown")
    return dict(
        dataset=os.path.basename(train_path)[: -len(".npz")],
        dataset_dir=os.path.dirname(os.path.abspath(train_path)),
        source=source,
        seed=record.get("seed") if source == "generated" else None,
        num_episodes=num_episodes,
        num_val_episodes=num_val_episodes,
        episode_length=episode_length,
        url=record.get("url") if source == "official" else None,
        created=record.get("created"),
        created_with=record.get("created_with"),
        files=files,
        ogbench_version=package_version("ogbench"),
        note=note or "",
    )


def describe(provenance):
    """One line saying which data a run uses, e.g. 'GENERATED data (seed 0, 1000 episodes ...)'."""
    shape = (f"{provenance['num_episodes']} + {provenance['num_val_episodes']} val episodes"
             + (f" x {provenance['episode_length']} steps" if provenance["episode_length"] else ""))
    where = f"in {provenance['dataset_dir']}"
    if provenance["source"] == "official":
        return (f"{provenance['dataset']}: OFFICIAL OGBench data ({shape}, downloaded from "
                f"{provenance['url']}) {where}")
    if provenance["source"] == "generated":
        return (f"{provenance['dataset']}: GENERATED data (tfnfrl's generator, seed "
                f"{provenance['seed']}, {shape}; not the official files) {where}")
    return (f"{provenance['dataset']}: data of UNKNOWN origin ({shape}; {provenance['note']}) "
            f"{where}")
