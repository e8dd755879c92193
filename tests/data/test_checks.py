"""Dataset checks: generated files pass; each kind of violation is reported by name."""

import numpy as np
import pytest

from tests.data.conftest import TINY
from tfnfrl.data import check_dataset, checks

NAME = "pointmaze-medium-navigate-v0"
EPISODES, LENGTH = TINY[NAME]


def _arrays(tiny_dir):
    with np.load(tiny_dir / f"{NAME}.npz") as f:
        return {k: f[k].copy() for k in f.files}


def _errors(arrays, **kwargs):
    kwargs.setdefault("num_episodes", EPISODES)
    kwargs.setdefault("episode_length", LENGTH)
    return " | ".join(checks.check_arrays(arrays, NAME, **kwargs).errors)


def test_generated_pair_passes_and_reports_stats(tiny_dir):
    train, val = check_dataset(NAME, str(tiny_dir), num_episodes=EPISODES, episode_length=LENGTH)
    assert train.ok and val.ok, f"{train}\n{val}"
    assert train.stats["episodes"] == EPISODES and val.stats["episodes"] == 1
    assert "OK" in str(train)


def test_protocol_defaults_flag_short_episodes_and_note_reduced_counts(tiny_dir):
    train, _ = check_dataset(NAME, str(tiny_dir))
    assert not train.ok
    assert "do not have 1001 steps" in str(train)
    assert any("OGBench's full train file has 1000" in n for n in train.notes)


@pytest.mark.parametrize(
    "corrupt,expected",
    [
        (lambda a: a.pop("qvel"), "missing arrays ['qvel']"),
        (lambda a: a.__setitem__("actions", a["actions"] * 3), "actions outside [-1, 1]"),
        (lambda a: a.__setitem__("terminals", np.zeros_like(a["terminals"])),
         "last step is not terminal"),
        (lambda a: a.__setitem__("observations", a["observations"][:-5]), "different numbers"),
        (lambda a: a.__setitem__("actions", a["actions"].astype(np.float64)), "dtype float64"),
        (lambda a: a.__setitem__("qpos", np.concatenate([a["qpos"]] * 2, axis=1)),
         "qpos has 4 dims per step but the env pointmaze-medium-v0 has 2"),
        (lambda a: a["observations"].__setitem__((3, 0), np.nan), "observations contains NaN"),
        (lambda a: a["qpos"].__setitem__((3, 0), 9.0), "observations differ from qpos"),
    ],
)
def test_violations_are_reported(tiny_dir, corrupt, expected):
    arrays = _arrays(tiny_dir)
    assert _errors(arrays) == ""
    corrupt(arrays)
    assert expected in _errors(arrays)


def test_episode_length_and_count_are_enforced(tiny_dir):
    arrays = _arrays(tiny_dir)
    arrays["terminals"][LENGTH + 9] = True  # Episode 1 now ends early.
    assert "do not have 60 steps (first: episode 1 with 10 steps)" in _errors(arrays)
    assert "4 episodes; expected 5" in _errors(_arrays(tiny_dir), num_episodes=5)


def test_unreadable_file_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / f"{NAME}.npz"
    path.write_bytes(b"not a zip file at all")
    report = checks.check_file(str(path), NAME)
    assert not report.ok and "truncated or corrupt" in report.errors[0]
    with pytest.raises(ValueError, match=r"(?s)^Invalid dataset file\. .*truncated or corrupt"):
        report.raise_if_failed()
