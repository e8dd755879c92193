"""TF Serving's layout: model names, integer versions, never overwriting one."""

import os
import re

import pytest

from tfnfrl.export import versions


def test_next_version_counts_only_integer_directories(tmp_path):
    model_dir = str(tmp_path / "policy")
    assert versions.existing_versions(model_dir) == [] and versions.next_version(model_dir) == 1
    for entry in ("1", "2", "10", ".export-11-abc", "notes"):
        os.makedirs(os.path.join(model_dir, entry))
    assert versions.existing_versions(model_dir) == [1, 2, 10]
    assert versions.next_version(model_dir) == 11


def test_an_existing_version_is_refused_naming_the_next_free_one(tmp_path):
    model_dir = str(tmp_path / "policy")
    os.makedirs(os.path.join(model_dir, "3"))
    with pytest.raises(FileExistsError, match=r"policy/3 already exists.*version 4"):
        versions.check_new_version(model_dir, 3)
    assert versions.check_new_version(model_dir, 5) == os.path.join(model_dir, "5")


@pytest.mark.parametrize("bad", [0, -2, 1.5, "3", True])
def test_version_must_be_a_positive_integer(tmp_path, bad):
    # The rule and the refused value (each parameter its own), not a message any bad version would give.
    refusal = rf"^`version` must be a positive integer\. Received: version={re.escape(repr(bad))}$"
    with pytest.raises(ValueError, match=refusal):
        versions.check_new_version(str(tmp_path), bad)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("bad", ["", "a/b", "../up", "has space", "-dash", None])
def test_model_names_are_path_and_url_safe(bad):
    # The rule and the refused name, not just any model-name error.
    refusal = rf"^Model name must start with a letter or digit .* Received: name={re.escape(repr(bad))}$"
    with pytest.raises(ValueError, match=refusal):
        versions.check_model_name(bad)


def test_default_name_joins_agent_and_env():
    assert versions.default_model_name("nf_gcbc", "cube-single-play-v0") == "nf_gcbc_cube-single-play-v0"
    versions.check_model_name(versions.default_model_name("nf_gcbc", "cube-single-play-v0"))
    assert versions.default_model_name("nf_bc") == "nf_bc"
