"""The supported-name registry: names, name mapping, errors and env construction."""

import gymnasium
import ogbench  # noqa: F401  (registers OGBench's environments with gymnasium)
import pytest

from tfnfrl.envs import registry
from tfnfrl.envs.registry import SUPPORTED_ENVS, check_env_name, make_env

REQUIRED = [
    f"pointmaze-{size}-{kind}-v0"
    for size in ("medium", "large", "giant") for kind in ("navigate", "stitch")
] + [
    f"cube-{n}-{kind}-v0" for n in ("single", "double") for kind in ("play", "noisy")
] + ["scene-play-v0", "scene-noisy-v0"] + [
    f"puzzle-{n}-{kind}-v0" for n in ("3x3", "4x4") for kind in ("play", "noisy")
]


def test_issue_names_and_singletask_variants_are_supported():
    assert isinstance(SUPPORTED_ENVS, tuple) and len(set(SUPPORTED_ENVS)) == len(SUPPORTED_ENVS)
    for name in REQUIRED:
        assert name in SUPPORTED_ENVS
        stem = name[: -len("-v0")]
        assert f"{stem}-singletask-v0" in SUPPORTED_ENVS
        assert f"{stem}-singletask-task5-v0" in SUPPORTED_ENVS
    assert not any(name.startswith(("antmaze", "humanoidmaze")) for name in SUPPORTED_ENVS)


def test_every_supported_name_maps_to_a_registered_gymnasium_env():
    for name in SUPPORTED_ENVS:
        assert registry.env_id(name) in gymnasium.registry, name


def test_name_mapping_mirrors_ogbench():
    name = "puzzle-4x4-noisy-singletask-task3-v0"
    assert registry.is_singletask(name)
    assert registry.dataset_name(name) == "puzzle-4x4-noisy-v0"
    assert registry.env_id(name) == "puzzle-4x4-singletask-task3-v0"
    assert registry.env_id("pointmaze-large-stitch-v0") == "pointmaze-large-v0"
    assert registry.dataset_type("cube-double-noisy-singletask-v0") == "noisy"


def test_unknown_name_lists_supported_names():
    with pytest.raises(ValueError) as info:
        check_env_name("cube-single-v0")  # An env id, not a dataset name.
    message = str(info.value)
    assert "'cube-single-v0'" in message and "cube-single-play-v0" in message
    assert "singletask-task1" in message
    with pytest.raises(ValueError, match=r"^Unknown environment/dataset name 'antmaze-large-navigate-v0'\. "
                                         r"Supported goal-conditioned names: pointmaze-medium-navigate-v0, "):
        make_env("antmaze-large-navigate-v0")
    for name in ("pointmaze-medium-navigate-v0", "cube-single-play-singletask-task1-v0"):
        assert check_env_name(name) is None  # Supported names pass silently.


def test_make_env_gives_evaluation_envs():
    env = make_env("pointmaze-medium-navigate-v0")
    try:
        ob, info = env.reset(seed=0, options=dict(task_id=1))
        assert ob.shape == env.observation_space.shape == (2,)
        assert info["goal"].shape == (2,)
        assert env.action_space.shape == (2,)
    finally:
        env.close()
    single = make_env("pointmaze-medium-navigate-singletask-task2-v0")
    try:
        single.reset(seed=0)
        _, reward, *_ = single.step(single.action_space.sample())
        # Singletask rewards are -1 until solved (one step from the start cannot solve task 2); the
        # goal-conditioned env would give 0.0 here.
        assert reward == -1.0
    finally:
        single.close()
