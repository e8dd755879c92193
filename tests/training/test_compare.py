"""Seed aggregation of final evaluations into tables and plots."""

import json
import os

import numpy as np
import pytest

from tfnfrl.training import compare


def write_eval(root, env_name, agent, seed, successes):
    workdir = os.path.join(root, env_name, agent, f"seed{seed}")
    os.makedirs(workdir)
    result = {f"success/task{i + 1}": s for i, s in enumerate(successes)}
    result["success/mean"] = float(np.mean(successes))
    with open(os.path.join(workdir, "eval_final.json"), "w") as f:
        json.dump(result, f)


@pytest.fixture
def root(tmp_path):
    write_eval(tmp_path, "cube-single-play-v0", "nf_gcbc", 0, [1.0, 0.5])
    write_eval(tmp_path, "cube-single-play-v0", "nf_gcbc", 1, [0.0, 0.5])
    write_eval(tmp_path, "cube-single-play-v0", "gcbc", 0, [0.2, 0.2])
    os.makedirs(tmp_path / "cube-single-play-v0" / "gcbc" / "seed1")  # Unfinished: no eval file.
    return str(tmp_path)


def test_collect_finds_finished_runs_only(root):
    results = compare.collect(root)
    assert set(results) == {"cube-single-play-v0"}
    assert set(results["cube-single-play-v0"]["nf_gcbc"]) == {0, 1}
    assert set(results["cube-single-play-v0"]["gcbc"]) == {0}


def test_summary_is_mean_and_std_over_seeds(root):
    summary = compare.summarize(compare.collect(root)["cube-single-play-v0"]["nf_gcbc"])
    assert summary["task1"] == (0.5, 0.5, 2)
    assert summary["task2"] == (0.5, 0.0, 2)
    assert summary["mean"] == (0.5, 0.25, 2)


def test_markdown_table_lists_tasks_and_agents(root):
    table = compare.markdown_table(compare.collect(root)["cube-single-play-v0"], agents=["nf_gcbc", "gcbc"])
    lines = table.splitlines()
    assert lines[0] == "| task | nf_gcbc (2 seeds) | gcbc (1 seeds) |"
    assert "| task1 | 0.500 ± 0.500 | 0.200 ± 0.000 |" in lines
    assert lines[-1] == "| **mean** | **0.500 ± 0.250** | **0.200 ± 0.000** |"


def test_plot_draws_each_agents_seed_summary_and_writes_a_png(root, tmp_path, monkeypatch):
    import matplotlib.axes  # pylint: disable=import-outside-toplevel

    bars, real_bar = {}, matplotlib.axes.Axes.bar

    def recording_bar(self, x, height, width, **kwargs):  # Draws as usual; keeps what each agent's bars show.
        bars[kwargs["label"]] = (list(height), list(kwargs["yerr"]))
        return real_bar(self, x, height, width, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "bar", recording_bar)
    path = compare.plot_comparison(compare.collect(root), str(tmp_path / "plots" / "cmp.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # task1, task2, mean: the means over seeds, std as the error bar (the numbers of test_summary...).
    assert bars == {"nf_gcbc": ([0.5, 0.5, 0.5], [0.5, 0.0, 0.25]),
                    "gcbc": ([0.2, 0.2, 0.2], [0.0, 0.0, 0.0])}
