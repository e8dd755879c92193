"""Generated files load through OGBench's own loader; bad input gives clear errors."""

import shutil

import numpy as np
import ogbench
import pytest

from tests.data.conftest import TINY
from tfnfrl.data import load_datasets
from tfnfrl.data import loading


def test_ogbench_loader_reads_goal_conditioned_dataset(tiny_dir):
    episodes, length = TINY["pointmaze-medium-navigate-v0"]
    env, train, val = ogbench.make_env_and_datasets(
        "pointmaze-medium-navigate-v0", dataset_dir=str(tiny_dir)
    )
    env.close()
    # Non-compact: each episode of T stored steps gives T - 1 transitions.
    assert train["observations"].shape == (episodes * (length - 1), 2)
    assert val["observations"].shape == (length - 1, 2)
    assert train["terminals"].sum() == episodes
    # next_observations continue the same episode.
    np.testing.assert_array_equal(train["next_observations"][:-1][train["terminals"][:-1] == 0],
                                  train["observations"][1:][train["terminals"][:-1] == 0])


@pytest.mark.parametrize("name", ["cube-single-play-singletask-task2-v0",
                                  "puzzle-3x3-noisy-singletask-task1-v0"])
def test_ogbench_loader_relabels_singletask_rewards(tiny_dir, name):
    env, train, val = ogbench.make_env_and_datasets(name, dataset_dir=str(tiny_dir))
    env.close()
    for dataset in (train, val):
        assert set(dataset["rewards"]) <= set(np.arange(-9.0, 0.5))  # Minus unsolved parts.
        np.testing.assert_array_equal(dataset["masks"], (dataset["rewards"] < 0).astype(np.float32))
    ours, _ = load_datasets(name, str(tiny_dir))
    np.testing.assert_array_equal(ours["rewards"], train["rewards"])


def test_load_datasets_matches_ogbench_and_is_float32(tiny_dir):
    train, val = load_datasets("cube-single-play-v0", str(tiny_dir))
    _, ref_train, _ = ogbench.make_env_and_datasets("cube-single-play-v0",
                                                    dataset_dir=str(tiny_dir))
    assert set(train) == {"observations", "next_observations", "actions", "terminals"}
    for key, value in train.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, ref_train[key])
    assert val["actions"].shape[1] == 5


def test_missing_dataset_message_holds_the_generate_command(tmp_path):
    # conftest points OGBench's URL at a closed local port, so the download fails at once.
    with pytest.raises(FileNotFoundError) as info:
        load_datasets("cube-double-play-singletask-task1-v0", str(tmp_path),
                      data_source="download")
    message = str(info.value)
    assert f"{ogbench.utils.DATASET_URL}/cube-double-play-v0.npz" in message
    assert (f"python launch/generate_dataset.py --env_name=cube-double-play-v0 "
            f"--dataset_dir={tmp_path}") in message
    assert loading.generate_command("scene-play-v0") == (
        "python launch/generate_dataset.py --env_name=scene-play-v0")


def test_unknown_name_lists_supported_names(tmp_path):
    with pytest.raises(ValueError, match=r"^Unknown environment/dataset name 'antmaze-medium-navigate-v0'\. "
                                         r"Supported goal-conditioned names: pointmaze-medium-navigate-v0, "):
        load_datasets("antmaze-medium-navigate-v0", str(tmp_path))


def _copy_pair(src_dir, dst_dir, name):
    for suffix in ("", "-val"):
        shutil.copy(src_dir / f"{name}{suffix}.npz", dst_dir / f"{name}{suffix}.npz")


def test_truncated_file_is_named(tiny_dir, tmp_path):
    name = "pointmaze-medium-navigate-v0"
    _copy_pair(tiny_dir, tmp_path, name)
    path = tmp_path / f"{name}-val.npz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    # read_npz's message for the val file (OGBench's fallback message names both files).
    with pytest.raises(ValueError, match=rf"^Dataset file \S*/{name}-val\.npz is (truncated or )?corrupt"):
        load_datasets(name, str(tmp_path))


def test_corrupt_file_is_named(tiny_dir, tmp_path):
    name = "cube-single-play-v0"
    _copy_pair(tiny_dir, tmp_path, name)
    path = tmp_path / f"{name}.npz"
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 64] = bytes(64)  # Zero out compressed bytes inside a member.
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"^Dataset file \S*/{name}\.npz is (truncated or )?corrupt"):
        load_datasets(name, str(tmp_path))


def test_dimension_mismatch_is_an_error(tiny_dir, tmp_path):
    # Point-maze arrays (2-D observations) saved under a cube name: OGBench's loader would
    # accept them; ours compares with the env's spaces.
    for suffix in ("", "-val"):
        shutil.copy(tiny_dir / f"pointmaze-medium-navigate-v0{suffix}.npz",
                    tmp_path / f"cube-single-play-v0{suffix}.npz")
    with pytest.raises(ValueError, match=r"observations has shape \(\d+, 2\).*\[N, 28\]"):
        load_datasets("cube-single-play-v0", str(tmp_path))
