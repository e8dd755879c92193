"""The study runner: records per finished run, skip finished, resume killed, tables from records."""

import os

import pytest

from tests.training.conftest import ENV
from tfnfrl import jsonio
from tfnfrl.training import metrics_log, study, trainer


def _grid(data_dir):
    run = {"steps": 20, "dataset_dir": data_dir, "eval_episodes": 1, "eval_tasks": (1,), "log_every": 10}
    return [study.Run.make("gcbc", ENV, seed=s, preset="tiny", run=run) for s in (0, 1)]


def test_grid_writes_records_skips_finished_runs_and_resumes_a_killed_one(tiny_data_dir, tmp_path):
    runs = _grid(tiny_data_dir)
    root, records = str(tmp_path / "runs"), str(tmp_path / "records")
    # Run 1 was "killed" at update 10: its workdir holds a checkpoint at 10 and no record.
    agent_config, run_config = runs[1].configs()
    run_config.steps = 10
    trainer.train(agent_config, run_config, os.path.join(root, runs[1].run_id))

    messages = []
    assert study.run_grid(runs, root, records, study="toy", log=messages.append, max_runs=1) == 1
    assert [r["seed"] for r in study.load_records(records)] == [0]  # One turn of a queue: the first run only.
    assert study.run_grid(runs, root, records, study="toy", log=messages.append) == 1
    saved = study.load_records(records)
    assert [r["run_id"] for r in saved] == sorted(r.run_id for r in runs)
    for record in saved:
        assert record["steps"] == 20 and record["study"] == "toy" and record["agent"] == "gcbc"
        assert 0.0 <= record["success"]["success/mean"] <= 1.0 and record["episodes_per_task"] == 1
        assert record["wall_seconds"] > 0
        assert record["data"]["dataset"] == "pointmaze-medium-navigate-v0" and len(record["machine"]["load_before"]) == 3
        assert record["agent_config"]["batch_size"] == 32  # The tiny preset.
        # The record's numbers are the run's own logs: its last training row and its evaluations.
        rows = metrics_log.read_metrics(os.path.join(root, record["run_id"]))
        training = [r for r in rows if "training/actor/loss" in r]
        assert training[-1]["step"] == 20
        assert record["final_training"] == {k: v for k, v in training[-1].items() if k.startswith("training/")}
        curve = [[r["step"], r["evaluation/success/mean"]] for r in rows if "evaluation/success/mean" in r]
        assert record["learning_curve"] == curve and curve[-1] == [20, record["success"]["success/mean"]]
    fresh = next(r for r in saved if r["seed"] == 0)
    assert [step for step, _ in fresh["learning_curve"]] == [20]  # eval_every=0 (tiny preset): at the end only.
    # A second invocation trains nothing and leaves the records alone.
    before = [jsonio.read_json(os.path.join(records, f"{r.run_id}.json")) for r in runs]
    assert study.run_grid(runs, root, records, log=messages.append) == 0
    assert before == [jsonio.read_json(os.path.join(records, f"{r.run_id}.json")) for r in runs]
    assert any(m.startswith("[2/2] done") for m in messages)

    table = study.records_table(saved)
    values = [r["success"]["success/mean"] for r in sorted(saved, key=lambda r: r["seed"])]
    assert f"### {ENV}" in table and "| gcbc |" in table and ", ".join(f"{v:.2f}" for v in values) in table
    png = study.plot_learning_curves(saved, str(tmp_path / "curves.png"))
    assert os.path.getsize(png) > 1000


def test_raising_the_budget_extends_finished_runs_and_lowering_it_is_refused(tiny_data_dir, tmp_path):
    root, records = str(tmp_path / "runs"), str(tmp_path / "records")
    short = _grid(tiny_data_dir)[:1]
    longer = [study.Run.make("gcbc", ENV, seed=0, preset="tiny", run=dict(short[0].run, steps=30))]
    assert longer[0].run_id == short[0].run_id  # The budget is not part of the run's identity.
    study.run_grid(short, root, records, log=lambda m: None)
    messages = []
    assert study.run_grid(longer, root, records, log=messages.append) == 1
    assert any("extending from 20 updates" in m for m in messages)
    record = jsonio.read_json(os.path.join(records, f"{short[0].run_id}.json"))
    assert record["steps"] == 30 and record["run_config"]["steps"] == 30
    assert [step for step, _ in record["learning_curve"]][-1] == 30
    with pytest.raises(ValueError, match="records 30 updates, more than the grid's 20"):
        study.run_grid(short, root, records, log=lambda m: None)


def test_run_ids_are_stable_and_distinguish_overrides(tmp_path):
    a = study.Run.make("nf_gcbc", ENV, seed=0, config={"head.num_blocks": 2})
    assert a.run_id == study.Run.make("nf_gcbc", ENV, seed=0, config={"head.num_blocks": 2}).run_id
    assert a.run_id != study.Run.make("nf_gcbc", ENV, seed=0, config={"head.num_blocks": 3}).run_id
    assert a.run_id != study.Run.make("nf_gcbc", ENV, seed=0, config={"head.num_blocks": 2},
                                      run={"eval_episodes": 5}).run_id
    grid = tmp_path / "grid.py"
    grid.write_text("from tfnfrl.training.study import Run\nRUNS = [Run.make('gcbc', 'x'), Run.make('gcbc', 'x')]\n")
    with pytest.raises(ValueError, match="same run twice"):
        study.load_grid(str(grid))
    with pytest.raises(KeyError, match="no field"):
        study.Run.make("gcbc", ENV, config={"head.width": 3}).configs()
