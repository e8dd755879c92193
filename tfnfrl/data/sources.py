"""Where a run's dataset comes from: OGBench's official files or tfnfrl's generator.

`prepare_dataset(env_name, dataset_dir, data_source)` makes sure `{name}.npz` and
`{name}-val.npz` exist and returns their provenance (see tfnfrl.data.provenance):

- 'download': fetch the official files from OGBench's server (the URL layout of
  `ogbench.utils.download_datasets`: `{ogbench.utils.DATASET_URL}/{name}.npz`, read when
  called; $TFNFRL_DATASET_URL replaces the base URL if set). Never generates.
- 'generate': run tfnfrl's generator (OGBench's collection protocol, full episode count
  unless `num_episodes` is given) with a progress bar. Never downloads.
- 'auto' (default): try the download; if the server cannot be reached or the transfer
  fails, generate instead, with a one-line warning saying that the run uses generated data.

Existing files are used as they are, unless their provenance record contradicts the
request ('download' over generated files, 'generate' over official ones or over generated
ones with another episode count): then a ValueError explains what to do, and nothing is
overwritten.

Downloads do not go through `ogbench.utils.download_datasets` itself: its `urlopen` has no
timeout (an unreachable server hangs the run), it does not compare the bytes received with
Content-Length (a dropped connection renames a truncated file into place), and its fixed
`{file}.tmp` name collides between concurrent runs. Here each file streams into a private
temporary file in the dataset directory, is checked with `checks.check_file`, and only
then renamed into place with os.replace (validation file first, as tfnfrl.data.writer
does), so the loader never sees a partial or corrupt file. A transfer that breaks after
connecting is retried; a server that cannot be reached at all is not, so 'auto' falls back
at once.
"""

import contextlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request

from absl import logging
from tqdm import tqdm

from tfnfrl.data import checks, loading, protocol, provenance
from tfnfrl.envs import registry

DATA_SOURCES = ("auto", "download", "generate")
URL_ENV_VAR = "TFNFRL_DATASET_URL"  # Overrides OGBench's server (a mirror, a test server).
_CHUNK = 1 << 20


class DatasetUnavailableError(FileNotFoundError):
    """The dataset files are missing and could not be downloaded.

    A FileNotFoundError, so callers that handled a missing dataset before still do; the
    message names the URL, what went wrong and the command that generates the files.

    Attributes:
      url: the URL that failed; problem: what went wrong, in a few words.
    """

    url = None
    problem = None


class _TransferError(Exception):
    """One failed download attempt; `retry` says whether another attempt may succeed."""

    def __init__(self, message, retry):
        super().__init__(message)
        self.retry = retry


def check_data_source(data_source):
    """Raises ValueError unless `data_source` is one of DATA_SOURCES."""
    if data_source not in DATA_SOURCES:
        raise ValueError(
            f"data_source must be one of {', '.join(DATA_SOURCES)}. "
            f"Received: data_source={data_source!r}"
        )


def dataset_urls(env_name):
    """(train_url, val_url) of `env_name`'s official files.

    The base URL is $TFNFRL_DATASET_URL if set (a mirror, or a test server for launch
    scripts run as subprocesses), else ogbench.utils.DATASET_URL, read at call time.
    """
    import ogbench.utils  # Deferred: importing ogbench registers every env.

    name = registry.dataset_name(env_name)
    base = (os.environ.get(URL_ENV_VAR) or ogbench.utils.DATASET_URL).rstrip("/")
    return f"{base}/{name}.npz", f"{base}/{name}-val.npz"


def _temp_file(path):
    """(fd, temp path) of a new temporary file next to `path`, named like writer's temp files."""
    directory, base = os.path.split(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    os.fchmod(fd, 0o644)
    return fd, tmp_path


def _open(url, timeout):
    """The HTTP response for `url`, or _TransferError saying whether to retry."""
    try:
        return urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as e:
        # 5xx and 429 are the server's passing trouble; 404 and other 4xx will not change.
        raise _TransferError(f"HTTP {e.code} {e.reason}", retry=e.code >= 500 or e.code == 429)
    except urllib.error.URLError as e:
        # No connection at all (DNS, refused, unreachable, connect timeout): the network or
        # the server is not there, and retrying would only delay the fallback.
        raise _TransferError(f"cannot connect ({e.reason})", retry=False)
    except (http.client.HTTPException, OSError) as e:
        # Connected, but the server closed or stalled before answering.
        raise _TransferError(f"no response ({type(e).__name__}: {e})", retry=True)


def _fetch_once(url, path, timeout, progress):
    """Streams `url` into a temp file next to `path`; returns the temp path (complete)."""
    with _open(url, timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        fd, tmp_path = _temp_file(path)
        received = 0
        try:
            with os.fdopen(fd, "wb") as f, tqdm(
                total=expected, unit="B", unit_scale=True, unit_divisor=1024,
                desc=os.path.basename(path), disable=not progress, mininterval=1.0,
            ) as bar:
                # read1: whatever has arrived, up to _CHUNK (read() would wait for all of it).
                # http.client returns b'' (no error) when a connection with a Content-Length
                # closes early, so the received size is compared below.
                for chunk in iter(lambda: response.read1(_CHUNK), b""):
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
            if expected is not None and received != expected:
                raise _TransferError(
                    f"connection closed after {received} of {expected} bytes", retry=True
                )
        except (http.client.HTTPException, OSError) as e:
            with contextlib.suppress(OSError):
                os.remove(tmp_path)
            raise _TransferError(
                f"transfer broke after {received} bytes ({type(e).__name__}: {e})", retry=True
            ) from e
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp_path)
            raise
    return tmp_path


def _unavailable(env_name, dataset_dir, url, problem):
    spec = protocol.get_spec(env_name)
    error = DatasetUnavailableError(
        f"Could not download the official {spec.name} from {url}: {problem}. "
        f"Without internet, generate the dataset locally (data_source='generate' or 'auto') "
        f"or ahead of time with:\n  {loading.generate_command(env_name, dataset_dir)}\n"
        f"(full size: {spec.num_episodes} episodes x {spec.episode_length} steps; add "
        f"--num_episodes=N for a smaller dataset and --num_workers=N to use more cores)."
    )
    error.url, error.problem = url, problem
    return error


def _fetch(env_name, dataset_dir, url, path, attempts, timeout, retry_delay, progress):
    """_fetch_once with retries; DatasetUnavailableError when every attempt failed."""
    for attempt in range(1, attempts + 1):
        try:
            return _fetch_once(url, path, timeout, progress)
        except _TransferError as e:
            if not e.retry or attempt == attempts:
                tries = f" (attempt {attempt} of {attempts})" if e.retry else ""
                raise _unavailable(env_name, dataset_dir, url, f"{e}{tries}") from None
            logging.warning("Download of %s failed (%s); retrying (%d of %d) in %.0f s.",
                            url, e, attempt + 1, attempts, retry_delay * attempt)
            time.sleep(retry_delay * attempt)


def download_dataset(env_name, dataset_dir=None, *, attempts=3, timeout=10.0, retry_delay=2.0,
                     progress=True):
    """Downloads the official `{name}.npz` and `{name}-val.npz` into `dataset_dir`, atomically.

    Both files are fetched into temporary files in `dataset_dir`, each is checked with
    `checks.check_file` (format, dtypes, dims, episode lengths of OGBench's protocol), and
    only then both are renamed into place; a provenance record (source 'official', the URL,
    file hashes) is written next to them. On any failure no file appears and any earlier
    files are left as they were.

    Args:
      env_name: a supported dataset or singletask name (singletask names get their base
        dataset).
      dataset_dir: destination; None = OGBench's '~/.ogbench/data'.
      attempts: tries per file when a transfer breaks after connecting (>= 1). A server
        that cannot be reached at all is not retried.
      timeout: seconds to connect, and the longest wait for each read.
      retry_delay: seconds before the 2nd try; the k-th waits k times as long.
      progress: show a tqdm bar per file (bytes).

    Returns:
      (train_path, val_path).

    Raises:
      DatasetUnavailableError (a FileNotFoundError): unreachable server, HTTP error, broken
        transfer after `attempts` tries, or a file that fails the checks; the message names
        the URL and the command that generates the dataset instead.
    """
    registry.check_env_name(env_name)
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1. Received: attempts={attempts}")
    name = registry.dataset_name(env_name)
    train_path, val_path = loading.dataset_files(name, dataset_dir)
    os.makedirs(os.path.dirname(train_path), exist_ok=True)
    temps = []
    try:
        for path, url, split in zip((train_path, val_path), dataset_urls(name), ("train", "val")):
            logging.info("Downloading %s to %s.", url, path)
            temps.append(_fetch(env_name, dataset_dir, url, path, attempts, timeout,
                                retry_delay, progress))
            report = checks.check_file(temps[-1], name, split)
            if not report.ok:
                raise _unavailable(env_name, dataset_dir, url,
                                   "the file fails tfnfrl's checks: " + "; ".join(report.errors))
        # Same order as tfnfrl.data.writer: the training file appears last, so its presence
        # means the validation file is in place; the old record goes before either changes.
        provenance.remove_record(train_path)
        with contextlib.suppress(FileNotFoundError):
            os.remove(train_path)
        os.replace(temps[1], val_path)
        os.replace(temps[0], train_path)
        temps = []
    finally:
        for tmp_path in temps:
            with contextlib.suppress(OSError):
                os.remove(tmp_path)
    provenance.write_record(train_path, val_path, "official",
                            url=dataset_urls(name)[0].rsplit("/", 1)[0])
    return train_path, val_path


def dataset_provenance(env_name, dataset_dir=None):
    """Where the files `env_name` reads came from; a JSON-serialisable dict.

    Keys: dataset, dataset_dir, source ('official' | 'generated' | 'unknown'), seed (None
    unless generated), num_episodes, num_val_episodes, episode_length (counted in the files),
    url (official downloads), created, created_with, files ({basename: {bytes, sha256}}),
    ogbench_version (installed now), note (why 'unknown'). See
    tfnfrl.data.provenance.read_provenance.

    Raises:
      FileNotFoundError if a file is missing; ValueError if one cannot be read.
    """
    registry.check_env_name(env_name)
    return provenance.read_provenance(*loading.dataset_files(env_name, dataset_dir))


def _check_existing(env_name, dataset_dir, found, data_source, num_episodes):
    """Raises ValueError when existing files contradict the request (see module docstring)."""
    where = found["dataset_dir"]
    if data_source == "download" and found["source"] == "generated":
        raise ValueError(
            f"{where} holds GENERATED {found['dataset']} files (seed {found['seed']}), but "
            "data_source='download' asks for the official ones. Pass another dataset_dir, or "
            "delete the files to download the official ones there."
        )
    if data_source == "generate" and found["source"] == "official":
        raise ValueError(
            f"{where} holds the OFFICIAL {found['dataset']} files, but data_source='generate' "
            "asks for generated ones. Pass another dataset_dir, or use data_source='auto' or "
            "'download' to train on the official files."
        )
    if (data_source != "download" and num_episodes is not None
            and found["source"] == "generated" and found["num_episodes"] != num_episodes):
        raise ValueError(
            f"{where} holds generated {found['dataset']} files with {found['num_episodes']} "
            f"episodes, but num_episodes={num_episodes} was asked for. Pass another "
            f"dataset_dir, or regenerate with:\n  "
            f"{loading.generate_command(env_name, dataset_dir)} --num_episodes={num_episodes} "
            "--overwrite"
        )
    if data_source != "auto" and found["source"] == "unknown":
        logging.warning("Using %s files whose origin is unknown (%s); data_source=%r cannot be "
                        "checked.", found["dataset"], found["note"], data_source)


def prepare_dataset(env_name, dataset_dir=None, data_source="auto", *, num_episodes=None, seed=0,
                    num_workers=None, progress=True, attempts=3, timeout=10.0, retry_delay=2.0):
    """Makes sure the dataset files of `env_name` exist, per `data_source`; returns provenance.

    Args:
      env_name: a supported dataset or singletask name.
      dataset_dir: directory of the files; None = OGBench's '~/.ogbench/data'.
      data_source: 'auto' (download, else generate), 'download' or 'generate'.
      num_episodes: training episodes to generate; None = the protocol's full count.
        Ignored for downloads (the official files have their own count).
      seed: generation seed.
      num_workers: generation worker processes; None = os.cpu_count().
      progress: show progress bars (download bytes, generation steps).
      attempts, timeout, retry_delay: download settings (see download_dataset).

    Returns:
      The dataset's provenance (see dataset_provenance).

    Raises:
      ValueError: unknown name or data_source; existing files contradict the request.
      DatasetUnavailableError (a FileNotFoundError): data_source='download' and the files
        could not be downloaded.
    """
    check_data_source(data_source)
    registry.check_env_name(env_name)
    name = registry.dataset_name(env_name)
    if all(os.path.exists(p) for p in loading.dataset_files(name, dataset_dir)):
        found = dataset_provenance(name, dataset_dir)
        _check_existing(env_name, dataset_dir, found, data_source, num_episodes)
        logging.info("Data: %s.", provenance.describe(found))
        return found

    download_error = None
    if data_source in ("auto", "download"):
        try:
            download_dataset(name, dataset_dir, attempts=attempts, timeout=timeout,
                             retry_delay=retry_delay, progress=progress)
        except DatasetUnavailableError as e:
            if data_source == "download":
                raise
            download_error = e
    if data_source == "generate" or download_error is not None:
        if download_error is not None:
            logging.warning("Could not download the official %s from %s (%s): this run uses "
                            "GENERATED data instead (tfnfrl's generator, seed %d).", name,
                            download_error.url, download_error.problem, seed)
        from tfnfrl.data.generation import generate_dataset  # Deferred: collectors, mujoco.

        directory = os.path.dirname(loading.dataset_files(name, dataset_dir)[0])
        generate_dataset(name, directory, num_episodes=num_episodes,
                         num_workers=num_workers or os.cpu_count() or 1, seed=seed,
                         progress=progress)
    found = dataset_provenance(name, dataset_dir)
    logging.info("Data: %s.", provenance.describe(found))
    return found
