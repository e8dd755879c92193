"""Official downloads (from a local test server), generation fallback and provenance records.

The "official" files are a tiny generated dataset served by an HTTP server on 127.0.0.1
that each test starts; ogbench.utils.DATASET_URL points at it. Nothing leaves the machine.
"""

import functools
import http.server
import os
import re
import socket
import threading
import time

import numpy as np
import ogbench
import ogbench.utils
import pytest

from tests.data.conftest import closed_local_url
from tfnfrl.data import (
    DatasetUnavailableError,
    dataset_provenance,
    download_dataset,
    load_datasets,
    prepare_dataset,
    provenance,
)
from tfnfrl.data.generation import generate_dataset

NAME = "pointmaze-medium-navigate-v0"
FILES = [f"{NAME}-val.npz", f"{NAME}.npz", f"{NAME}.provenance.json"]
# Fast settings for the fallback generations (two full-length point-maze episodes).
GENERATE = dict(num_episodes=1, num_workers=1, progress=False)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the files of `directory`; mode 'drop' stops halfway, 'corrupt' flips bytes."""

    def __init__(self, *args, directory, mode, requests, resume, **kwargs):
        self.directory, self.mode, self.requests, self.resume = directory, mode, requests, resume
        super().__init__(*args, **kwargs)

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        path = os.path.join(self.directory, os.path.basename(self.path))
        if not os.path.exists(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))  # Always the full size.
        self.end_headers()
        half = len(body) // 2
        if self.mode == "drop":
            body = body[:half]  # Then the connection closes.
        elif self.mode == "corrupt":
            body = body[:half] + bytes(b ^ 0xFF for b in body[half:half + 64]) + body[half + 64:]
        elif self.mode == "pause":  # Half now, the rest once the test sets `resume`.
            self.wfile.write(body[:half])
            self.wfile.flush()
            self.resume.wait(timeout=10.0)
            body = body[half:]
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _RequestLog(list):
    def __init__(self):
        super().__init__()
        self.resume = threading.Event()


@pytest.fixture(scope="module")
def official_dir(tmp_path_factory):
    """What the test server serves: 2 + 1 full-length episodes (they pass check_file)."""
    directory = tmp_path_factory.mktemp("served")
    generate_dataset(NAME, str(directory), num_episodes=2, seed=7, progress=False)
    return directory


@pytest.fixture
def serve(official_dir, monkeypatch):
    """serve(mode) starts a server on 127.0.0.1, points OGBench's URL at it, returns its log.

    The log (a list of request paths) has a `resume` Event for mode 'pause'.
    """
    servers = []

    def start(mode="files"):
        requests = _RequestLog()
        handler = functools.partial(_Handler, directory=str(official_dir), mode=mode,
                                    requests=requests, resume=requests.resume)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05),
                         daemon=True).start()
        servers.append(server)
        monkeypatch.setattr(ogbench.utils, "DATASET_URL",
                            f"http://127.0.0.1:{server.server_address[1]}/ogbench")
        return requests

    yield start
    for server in servers:
        server.RequestHandlerClass.keywords["resume"].set()
        server.shutdown()
        server.server_close()


def test_download_fetches_verifies_and_loads_the_official_files(serve, official_dir, tmp_path):
    requests = serve()
    train, val = load_datasets(NAME, str(tmp_path), data_source="download")

    assert requests == [f"/ogbench/{NAME}.npz", f"/ogbench/{NAME}-val.npz"]
    assert sorted(os.listdir(tmp_path)) == FILES  # No temporary file left behind.
    _, ref_train, ref_val = ogbench.make_env_and_datasets(NAME, dataset_dir=str(official_dir))
    for ours, ref in ((train, ref_train), (val, ref_val)):
        for key in ref:
            np.testing.assert_array_equal(ours[key], ref[key])
    found = dataset_provenance(NAME, str(tmp_path))
    assert found["source"] == "official" and found["seed"] is None
    assert found["url"] == ogbench.utils.DATASET_URL
    assert (found["num_episodes"], found["num_val_episodes"], found["episode_length"]) == (2, 1, 1001)
    for file in (f"{NAME}.npz", f"{NAME}-val.npz"):  # Byte-identical to what was served.
        assert found["files"][file] == provenance.file_digest(str(official_dir / file))


def test_auto_downloads_when_the_server_answers_and_then_reuses_the_files(serve, tmp_path):
    requests = serve()
    load_datasets(NAME, str(tmp_path))  # data_source defaults to 'auto'.
    assert dataset_provenance(NAME, str(tmp_path))["source"] == "official"
    assert len(requests) == 2

    found = prepare_dataset(NAME, str(tmp_path), "auto")
    assert found["source"] == "official" and len(requests) == 2  # Not fetched again.


def test_a_file_appears_only_once_complete(serve, tmp_path):
    requests = serve("pause")
    final = tmp_path / f"{NAME}.npz"
    download = threading.Thread(target=download_dataset, args=(NAME, str(tmp_path)),
                                kwargs=dict(progress=False))
    download.start()
    deadline = time.monotonic() + 10.0
    while not [p for p in tmp_path.iterdir() if p.stat().st_size] and time.monotonic() < deadline:
        time.sleep(0.02)
    partial = [p.name for p in tmp_path.iterdir()]
    assert len(partial) == 1 and partial[0].startswith(f".{NAME}.npz.")  # Hidden temp file.
    assert not final.exists()
    requests.resume.set()
    download.join(timeout=10.0)
    assert sorted(os.listdir(tmp_path)) == FILES


def test_dropped_connection_leaves_no_file_and_auto_generates(serve, tmp_path, caplog):
    requests = serve("drop")
    with pytest.raises(DatasetUnavailableError) as info:
        download_dataset(NAME, str(tmp_path), attempts=2, retry_delay=0, progress=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert f"{ogbench.utils.DATASET_URL}/{NAME}.npz" in message
    assert "connection closed after" in message and "attempt 2 of 2" in message
    assert (f"python launch/generate_dataset.py --env_name={NAME} --dataset_dir={tmp_path}"
            in message)
    assert requests == [f"/ogbench/{NAME}.npz"] * 2  # Retried once.
    assert os.listdir(tmp_path) == []  # Neither a partial file nor a temp file.

    found = prepare_dataset(NAME, str(tmp_path), "auto", attempts=1, **GENERATE)
    assert found["source"] == "generated"
    assert (found["seed"], found["num_episodes"], found["num_val_episodes"]) == (0, 1, 1)
    assert sorted(os.listdir(tmp_path)) == FILES
    fallback = [r.getMessage() for r in caplog.records if "GENERATED data instead" in r.getMessage()]
    assert len(fallback) == 1 and "\n" not in fallback[0] and NAME in fallback[0]


def test_unreachable_server_falls_back_at_once(tmp_path):
    # conftest points DATASET_URL at a closed port: the connection is refused. A retry
    # would sleep retry_delay (20 s) first.
    start = time.monotonic()
    found = prepare_dataset(NAME, str(tmp_path), "auto", retry_delay=20.0, **GENERATE)
    assert time.monotonic() - start < 10.0
    assert found["source"] == "generated"


def test_download_never_generates_and_generate_never_downloads(serve, tmp_path):
    url = re.escape(f"{ogbench.utils.DATASET_URL}/{NAME}.npz")
    refused = rf"^Could not download the official {NAME} from {url}: cannot connect \("
    with pytest.raises(DatasetUnavailableError, match=refused):
        load_datasets(NAME, str(tmp_path), data_source="download")
    assert os.listdir(tmp_path) == []

    requests = serve()
    found = prepare_dataset(NAME, str(tmp_path), "generate", **GENERATE)
    assert found["source"] == "generated" and requests == []


def test_corrupt_download_is_rejected(serve, tmp_path):
    serve("corrupt")
    with pytest.raises(DatasetUnavailableError, match="fails tfnfrl's checks") as info:
        download_dataset(NAME, str(tmp_path), progress=False)
    assert f"{ogbench.utils.DATASET_URL}/{NAME}.npz" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_stalled_server_times_out(tmp_path, monkeypatch):
    with socket.socket() as listener:  # Accepts connections (kernel backlog), never answers.
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        monkeypatch.setattr(ogbench.utils, "DATASET_URL",
                            f"http://127.0.0.1:{listener.getsockname()[1]}/ogbench")
        start = time.monotonic()
        timed_out = rf"{NAME}\.npz: no response \(\w+: .*timed out\) \(attempt 2 of 2\)"
        with pytest.raises(DatasetUnavailableError, match=timed_out):
            download_dataset(NAME, str(tmp_path), attempts=2, timeout=0.3, retry_delay=0,
                             progress=False)
        assert time.monotonic() - start < 5.0
    assert os.listdir(tmp_path) == []


def test_existing_files_are_used_unless_they_contradict_the_request(tmp_path):
    directory = str(tmp_path)
    generate_dataset(NAME, directory, num_episodes=1, progress=False)
    mtime = os.path.getmtime(tmp_path / f"{NAME}.npz")

    assert prepare_dataset(NAME, directory, "generate")["source"] == "generated"
    assert prepare_dataset(NAME, directory, "generate", num_episodes=1)["num_episodes"] == 1
    assert os.path.getmtime(tmp_path / f"{NAME}.npz") == mtime  # Not regenerated.
    with pytest.raises(ValueError, match="GENERATED .* asks for the official"):
        prepare_dataset(NAME, directory, "download")
    with pytest.raises(ValueError, match="--num_episodes=3 --overwrite"):
        prepare_dataset(NAME, directory, "generate", num_episodes=3)

    provenance.write_record(str(tmp_path / f"{NAME}.npz"), str(tmp_path / f"{NAME}-val.npz"),
                            "official", url="http://127.0.0.1/ogbench")
    with pytest.raises(ValueError, match="OFFICIAL .* asks for generated"):
        prepare_dataset(NAME, directory, "generate")
    assert prepare_dataset(NAME, directory, "download")["source"] == "official"


def test_generator_records_provenance_and_changed_files_become_unknown(tmp_path):
    directory = str(tmp_path)
    generate_dataset(NAME, directory, num_episodes=3, seed=5, episode_length=40, progress=False)
    found = dataset_provenance(NAME, directory)
    assert found["source"] == "generated" and found["seed"] == 5
    assert (found["num_episodes"], found["num_val_episodes"], found["episode_length"]) == (3, 1, 40)
    assert "GENERATED" in provenance.describe(found) and "seed 5" in provenance.describe(found)
    _, train, _ = ogbench.make_env_and_datasets(NAME, dataset_dir=directory)  # Reads as before.
    assert train["observations"].shape == (3 * 39, 2)

    val_path = tmp_path / f"{NAME}-val.npz"
    val_path.write_bytes((tmp_path / f"{NAME}.npz").read_bytes())  # Replaced by hand.
    changed = dataset_provenance(NAME, directory)
    assert changed["source"] == "unknown" and changed["seed"] is None
    assert f"{NAME}-val.npz changed" in changed["note"] and changed["num_val_episodes"] == 3
    os.remove(provenance.record_path(str(tmp_path / f"{NAME}.npz")))
    assert dataset_provenance(NAME, directory)["note"] == "no provenance record"


def test_environment_variable_replaces_the_base_url(serve, tmp_path, monkeypatch):
    requests = serve()
    served = ogbench.utils.DATASET_URL
    monkeypatch.setenv("TFNFRL_DATASET_URL", served + "/")
    monkeypatch.setattr(ogbench.utils, "DATASET_URL", closed_local_url())
    download_dataset(NAME, str(tmp_path), progress=False)
    assert len(requests) == 2
    assert dataset_provenance(NAME, str(tmp_path))["url"] == served


def test_unknown_data_source_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"auto, download, generate. Received: data_source='web'"):
        load_datasets(NAME, str(tmp_path), data_source="web")


def test_closed_local_url_refuses_connections():
    url = closed_local_url()
    port = int(url.split(":")[2].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
