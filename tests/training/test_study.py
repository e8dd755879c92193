"""The study runner: records per finished run, skip finished, resume killed, tables from records."""

import os
import re

import pytest

from tests.training.conftest import ENV
from tfnfrl import jsonio
from tfnfrl.training import metrics_log, study, trainer


def dict_update(config, **fields):
    """A copy of ConfigDict `config` with `fields` set."""
    config = config.copy_and_resolve_references()
    config.update(fields)
    return config


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
        assert record["wall_seconds"] > 0 and record["paused_seconds"] == 0.0
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
    twice = study.Run.make("gcbc", "x").run_id
    with pytest.raises(ValueError, match=rf"{re.escape(str(grid))} lists the same run twice: \['{re.escape(twice)}'\]$"):
        study.load_grid(str(grid))
    with pytest.raises(KeyError, match=r"Config has no field 'head\.width'\."):
        study.Run.make("gcbc", ENV, config={"head.width": 3}).configs()


def _record(env, label, seed, success):
    return {"env_name": env, "label": label, "seed": seed, "success": {"success/mean": success},
            "steps": 10, "wall_seconds": 60.0}


CELLS = {(1, 1): "nf[g]", (1, 0): "nf[u]", (0, 1): "gc[g]", (0, 0): "gc[u]"}
DECOMPOSITION = study.Decomposition("split", ("class", "goals"), CELLS)


def test_decomposition_splits_the_gap_into_shares_by_hand():
    values = {0: {"nf[g]": 0.9, "nf[u]": 0.6, "gc[g]": 0.5, "gc[u]": 0.1},
              1: {"nf[g]": 0.7, "nf[u]": 0.6, "gc[g]": 0.3, "gc[u]": 0.1}}
    records = [_record("maze", label, seed, v) for seed, row in values.items() for label, v in row.items()]
    records.append(_record("maze", "nf[g]", 2, 1.0))  # Seed 2 lacks the other cells: not paired, left out.
    records += [_record("cube", label, 0, 0.5) for label in ("nf[g]", "nf[u]", "gc[g]")]  # No gc[u] on cube.
    table = study.decomposition_table(records, DECOMPOSITION)
    rows = [line for line in table.splitlines() if line.startswith("| maze")]
    assert len(rows) == 1 and "cube" not in table
    # Seed 0: gap 0.8, class ((0.9-0.5)+(0.6-0.1))/2 = 0.45, goals ((0.9-0.6)+(0.5-0.1))/2 = 0.35.
    # Seed 1: gap 0.6, class ((0.7-0.3)+(0.6-0.1))/2 = 0.45, goals ((0.7-0.6)+(0.3-0.1))/2 = 0.15.
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells == ["maze", "+0.700 ± 0.100", "+0.450 ± 0.000", "+0.250 ± 0.100",
                     "+0.400 ± 0.000", "+0.500 ± 0.000", "2"]
    with pytest.raises(ValueError, match=r"needs the cells \(1, 1\), \(1, 0\), \(0, 1\), \(0, 0\)"):
        study.decomposition_table(records, study.Decomposition("x", ("a", "b"), {(1, 1): "nf[g]"}))


def test_grid_tables_group_labels_and_envs_and_unknown_labels_are_refused(tmp_path):
    grid = tmp_path / "grid.py"
    header = ("from tfnfrl.training.study import Run, Table, Decomposition\n"
              "RUNS = [Run.make('gcbc', e, label=l) for e in ('maze', 'cube') for l in ('nf[g]', 'nf[u]', 'gc[g]', 'gc[u]', 'abl')]\n")
    grid.write_text(header + "TABLES = [Table('Main', ('nf[g]', 'gc[u]')), Table('Ablations', ('nf[g]', 'abl'), envs=('cube',))]\n"
                    f"DECOMPOSITIONS = [Decomposition('split', ('class', 'goals'), {CELLS!r})]\n")
    loaded = study.read_grid(str(grid))
    records = [_record(env, label, 0, 0.5) for env in ("maze", "cube") for label in ("nf[g]", "gc[u]", "abl")]
    text = study.report_markdown(records, loaded)
    main, ablations = text.split("## Ablations")
    assert "## Main" in main and "| abl |" not in main and "### maze" in main and "### cube" in main
    assert "### maze" not in ablations and "### cube" in ablations and "| abl |" in ablations
    assert ablations.index("| nf[g] |") < ablations.index("| abl |")  # The table's own label order.
    grid.write_text(header + "TABLES = [Table('Main', ('nf[g]', 'typo'))]\n")
    with pytest.raises(ValueError, match=r"name labels no run has: \['typo'\]"):
        study.read_grid(str(grid))


def test_tables_add_the_best_evaluation_when_runs_have_curves():
    records = [dict(_record("maze", "gc", seed, final), learning_curve=curve)
               for seed, final, curve in ((0, 0.3, [[5, 0.7], [10, 0.5], [15, 0.3]]),
                                          (1, 0.4, [[5, 0.2], [10, 0.6], [15, 0.4]]))]
    row = next(line for line in study.records_table(records).splitlines() if line.startswith("| gc |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # Final 0.3 and 0.4; best 0.7 and 0.6; late (steps 10 and 15, after half of 15) 0.4 and 0.5.
    assert cells[:4] == ["gc", "0.350 ± 0.050", "0.650 ± 0.050", "0.450 ± 0.050"]
    assert "best evaluation" not in study.records_table([_record("maze", "gc", 0, 0.3)])  # No curve, no column.
    assert study.late_mean(_record("maze", "gc", 0, 0.3)) == 0.3  # Without a curve: the final evaluation.


def test_run_ids_are_path_safe_for_checkpoints():
    run = study.Run.make("nf_gcbc", ENV, config={"head.use_linear_flow": False}, label="nf_gcbc[no LU]")
    assert run.run_id.startswith("nf_gcbc(no-LU)__" + ENV + "__seed0__")
    assert not set(run.run_id) & set("[]*? ")


def test_status_shows_done_partial_and_queued_runs_with_the_time_left(tmp_path):
    run = {"steps": 20}
    done, partial, other_env, other_agent = (
        study.Run.make("gcbc", ENV, seed=0, preset="tiny", run=run),
        study.Run.make("gcbc", ENV, seed=1, preset="tiny", run=run),
        study.Run.make("gcbc", "cube-single-play-v0", seed=0, preset="tiny", run=run),
        study.Run.make("nf_gcbc", ENV, seed=0, preset="tiny", run=run))
    root, records = tmp_path / "runs", tmp_path / "records"
    jsonio.write_json(str(records / f"{done.run_id}.json"),
                      dict(run_id=done.run_id, agent="gcbc", preset="tiny", env_name=ENV, steps=20, wall_seconds=40.0,
                           success={"success/mean": 0.25}))
    (root / partial.run_id).mkdir(parents=True)
    (root / partial.run_id / "metrics.jsonl").write_text('{"step": 5}\n{"step": 15}\n')
    rows = study.run_status([done, partial, other_env, other_agent], str(root), str(records))
    assert [r["state"] for r in rows] == ["done", "partial", "queued", "queued"]
    assert [r["step"] for r in rows] == [20, 15, 0, 0]
    # 2 s per step from the finished run: 5 steps left, then 20 on another env, then no estimate.
    assert [r["remaining_seconds"] for r in rows] == [0.0, 10.0, 40.0, None]
    text = study.status_text(rows)
    assert "1 of 4 runs done; about 0.0 h left (+ 1 runs with no estimate yet)" in text
    assert re.search(r"\npartial +15/20 +0 +gcbc__", text) and re.search(r"\ndone +20/20 +0\.25 +1 +gcbc__", text)
    # A variant added to the finished run (same run id) leaves it to be completed.
    with_variant = study.Run.make("gcbc", ENV, seed=0, preset="tiny",
                                  run=dict(run, eval_variants={"v": {"eval_deterministic": False}}))
    (row,) = study.run_status([with_variant], str(root), str(records))
    assert (row["state"], row["step"], row["remaining_seconds"]) == ("partial", 20, 0.0)


def test_plot_draws_the_seed_mean_inside_the_seed_range(tmp_path, monkeypatch):
    import matplotlib.axes  # pylint: disable=import-outside-toplevel

    drawn = {}
    monkeypatch.setattr(matplotlib.axes.Axes, "fill_between",
                        lambda self, x, low, high, **kw: drawn.setdefault("band", (list(x), list(low), list(high))))
    records = [dict(_record("maze", "gc", seed, 0.0), learning_curve=curve)
               for seed, curve in ((0, [[5, 0.2], [10, 0.6]]), (1, [[5, 0.4], [10, 0.2], [15, 0.9]]))]
    records.append(dict(_record("maze", "nf", 0, 0.0), learning_curve=[[5, 0.5]]))  # One seed: no band.
    assert os.path.getsize(study.plot_learning_curves(records, str(tmp_path / "c.png"))) > 1000
    # Only the steps both seeds evaluated; the band spans their lowest and highest values.
    assert drawn["band"] == ([5, 10], [0.2, 0.2], [0.4, 0.6])


def test_reports_replace_only_their_own_generated_block():
    begin, end = study.generated_markers("toy")
    other_begin, other_end = study.generated_markers("other")
    text = f"# Results\n{begin}\nold table\n{end}\nreading\n{other_begin}\nkept\n{other_end}\n"
    new = study.replace_generated(text, "toy", "| new | table |\n")
    assert new == f"# Results\n{begin}\n| new | table |\n{end}\nreading\n{other_begin}\nkept\n{other_end}\n"
    assert study.replace_generated(new, "toy", "| new | table |") == new  # Idempotent.
    with pytest.raises(ValueError, match="No generated block for 'missing'"):
        study.replace_generated(text, "missing", "x")
    with pytest.raises(ValueError, match="No generated block for 'toy'"):
        study.replace_generated(f"{end}\n{begin}\n", "toy", "x")  # Out of order.


def test_published_numbers_sit_beside_their_labels_and_unrun_methods_get_their_own_row():
    records = [dict(_record("maze", "gc", seed, v), learning_curve=[[5, 0.5], [10, v]])
               for seed, v in ((0, 0.2), (1, 0.4))]
    records.append(_record("cube", "gc", 0, 0.1))
    published = ("paper", {"maze": {"gc": 0.91, "fql": 0.96, "crl": None}})
    text = study.records_table(records, published=published)
    cube, maze = text.split("### maze")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
            for line in maze.splitlines() if line.startswith("| ") and "method" not in line}
    header = next(line for line in maze.splitlines() if line.startswith("| method"))
    assert header.rstrip().endswith("| paper |") and len(rows["gc"]) == header.count("|") - 1
    assert rows["gc"][1] == "0.300 ± 0.100" and rows["gc"][-1] == "0.91"
    assert rows["fql (not run here)"] == ["fql (not run here)"] + ["–"] * 7 + ["0.96"]
    assert rows["crl (not run here)"][-1] == "–" and len(rows["crl (not run here)"]) == len(rows["gc"])
    assert "paper" not in cube  # No published numbers for that env: no column.
    # A table of chosen labels shows only their published numbers (another table holds "fql").
    chosen = study.records_table(records, labels=("gc", "crl"), published=published)
    assert "crl (not run here)" in chosen and "fql" not in chosen


def test_differences_pair_seeds_and_skip_unpaired_ones():
    records = [_record("cube", "full", 0, 0.8), _record("cube", "full", 1, 0.6), _record("cube", "full", 2, 0.5),
               _record("cube", "abl", 0, 0.3), _record("cube", "abl", 1, 0.5),  # No seed 2.
               _record("maze", "full", 0, 0.9)]
    text = study.differences_table(records, study.Differences("effects", "full", ("abl", "missing")))
    rows = [line for line in text.splitlines() if line.startswith("| cube") or line.startswith("| maze")]
    # Seeds 0 and 1 only: differences 0.5 and 0.1, mean 0.3, std 0.2; nothing to pair on maze.
    assert rows == ["| cube | abl | +0.300 ± 0.200 | +0.50, +0.10 | 2 |"]
    assert study.differences_table(records, study.Differences("effects", "full", ("missing",))) == ""


def test_one_seed_shows_its_value_without_a_spread():
    assert study.mean_std([0.3]) == "0.300" and study.mean_std([0.2, 0.4]) == "0.300 ± 0.100"
    assert study.mean_std([0.25], signed=True) == "+0.250"
    assert "| gc | 0.300 | 1 |" in study.records_table([_record("maze", "gc", 0, 0.3)])


def test_a_failing_run_is_recorded_as_failed_and_the_grid_goes_on(tiny_data_dir, tmp_path, monkeypatch):
    runs = _grid(tiny_data_dir)
    root, records = str(tmp_path / "runs"), str(tmp_path / "records")
    real_train = trainer.train

    def diverging_seed0(agent_config, run_config, workdir):
        if run_config.seed == 0:  # Trains to update 10, then "diverges".
            real_train(agent_config, dict_update(run_config, steps=10), workdir)
            raise trainer.DivergenceError("critic/q_abs_max=1e9 at step 15; last good checkpoint ckpt-10")
        return real_train(agent_config, run_config, workdir)

    monkeypatch.setattr(study.trainer, "train", diverging_seed0)
    messages = []
    assert study.run_grid(runs, root, records, study="toy", log=messages.append) == 2
    assert any(m.startswith("[1/2] FAILED, recorded, going on") and "DivergenceError" in m for m in messages)
    assert [r["seed"] for r in study.load_records(records)] == [1]
    (failure,) = study.load_failures(records)
    assert (failure["seed"], failure["steps"], failure["failed"]["type"]) == (0, 10, "DivergenceError")
    assert failure["wall_seconds"] > 0
    report = study.report_markdown(study.load_records(records), study.Grid("toy", runs, [], []),
                                   study.load_failures(records))
    assert re.search(r"- gcbc, pointmaze-medium-navigate-v0, seed 0, at update 10: DivergenceError: critic/q_abs_max",
                     report)
    rows = study.run_status(runs, root, records)
    assert [r["state"] for r in rows] == ["failed", "done"]
    assert "1 of 2 runs done, 1 failed" in study.status_text(rows)
    # Later turns skip it; retry_failed resumes it from its checkpoint at update 10.
    messages.clear()
    assert study.run_grid(runs, root, records, log=messages.append) == 0
    assert messages[0].startswith("[1/2] failed earlier, skipped")
    monkeypatch.setattr(study.trainer, "train", real_train)
    assert study.run_grid(runs, root, records, log=messages.append, retry_failed=True) == 1
    assert not study.load_failures(records)
    assert sorted(r["seed"] for r in study.load_records(records)) == [0, 1]
    # Resumed, not restarted: the first invocation's final evaluation at update 10 is still logged.
    rows = metrics_log.read_metrics(os.path.join(root, runs[0].run_id))
    assert [(r["step"], "evaluation/success/mean" in r) for r in rows] == [(10, False), (10, True), (20, False),
                                                                           (20, True)]


def test_final_evaluations_with_non_finite_actions_are_named_under_the_tables():
    base = dict(env_name=ENV, seed=0, steps=20, wall_seconds=1.0, episodes_per_task=20,
                success={"success/mean": 0.1, "success/task1": 0.1, "success/task2": 0.1})
    records = [dict(base, run_id="a", label="nf", nonfinite_episodes=3,
                    variants={"v": dict(success={"success/mean": 0.0}, learning_curve=[], nonfinite_episodes=5)}),
               dict(base, run_id="b", label="gcbc", nonfinite_episodes=0),
               dict(base, run_id="c", label="old", nonfinite_episodes=1, episodes_per_task=None)]
    note = study.nonfinite_markdown(records)
    assert f"- nf, {ENV}, seed 0: 3 of 40 episodes" in note and f"- nf@v, {ENV}, seed 0: 5 of 40 episodes" in note
    assert f"- old, {ENV}, seed 0: 1 episode\n" in note + "\n"
    assert "gcbc" not in note
    assert study.nonfinite_markdown(records[1:2]) == ""
