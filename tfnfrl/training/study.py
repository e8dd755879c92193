"""Studies: a grid of runs trained one after another, one small JSON record per finished run.

A grid module (e.g. results/grids/rl_offline.py) defines `STUDY` (a name) and `RUNS`, a list
of `Run`s. `run_grid` trains each run in its own workdir under a root (resuming a killed
run, skipping a finished one) and writes `<records>/<run id>.json` when it finishes:
configs, steps, wall time (with the seconds the process was stopped left out and reported
beside it), machine load, per-task success, the last logged training and
validation metrics, and the dataset's provenance. Records are small and committed to git;
tables (`records_table`) are regenerated from them, never typed by hand.
"""

import dataclasses
import glob
import hashlib
import json
import os
import platform
import subprocess

import numpy as np

from tfnfrl import agents
from tfnfrl import envs
from tfnfrl import jsonio
from tfnfrl.training import metrics_log
from tfnfrl.training import presets
from tfnfrl.training import report
from tfnfrl.training import run_config as run_config_lib
from tfnfrl.training import trainer
from tfnfrl.training import wall_clock

RECORD_FORMAT = 1
# Run-config fields that set a run's budget or bookkeeping, not what it learns: they are left out
# of the run id, so raising a grid's `steps` continues each finished run from its last checkpoint.
BUDGET_FIELDS = ("steps", "eval_every", "log_every", "checkpoint_every", "keep_checkpoints", "eval_workers",
                 "eval_variants", "progress")
_WALL_FILE = "study_wall.json"  # The run's active and paused wall seconds (tfnfrl.training.wall_clock).


# What a run can raise that says "this configuration fails" rather than "the code or machine is
# broken": the study records the failure (a record with `failed`) and goes on with the next run.
RUN_FAILURES = (trainer.NonFiniteLossError, envs.NonFiniteActionError)


_PATH_SAFE = str.maketrans({"[": "(", "]": ")", "*": "_", "?": "_", " ": "-"})


def path_safe_label(label):
    """`label` for a path: "nf_gcbc[no LU]" -> "nf_gcbc(no-LU)" (no glob characters, no spaces)."""
    return label.translate(_PATH_SAFE)


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run of a study.

    Attributes:
      agent: registry name. env_name: OGBench (singletask) name. seed: run seed.
      preset: named preset applied before the overrides (tfnfrl/training/presets.py).
      config: {dotted agent-config field: value} overrides.
      run: {run-config field: value} overrides (steps, eval_episodes, dataset_dir, ...).
      label: a short name for tables (default: the agent).
    """

    agent: str
    env_name: str
    seed: int = 0
    preset: str = "cpu"
    config: tuple = ()
    run: tuple = ()
    label: str = ""

    @classmethod
    def make(cls, agent, env_name, seed=0, preset="cpu", config=None, run=None, label=""):
        """A Run from plain dicts of overrides (nested dicts, e.g. `eval_variants`, are frozen to tuples)."""
        return cls(agent, env_name, int(seed), preset, tuple(sorted((config or {}).items())),
                   tuple(sorted((k, _freeze(v)) for k, v in (run or {}).items())), label or agent)

    @property
    def variant_names(self):
        """The names of the run's evaluation variants (run override `eval_variants`)."""
        return [name for name, _ in dict(self.run).get("eval_variants", ())]

    @property
    def run_id(self):
        """'<label>__<env>__seed<k>__<hash of the overrides>': stable across invocations and budgets.

        The label is made path-safe (`path_safe_label`): the id names the run's workdir, and
        TensorFlow reads checkpoints through glob patterns.
        """
        learned = tuple((k, v) for k, v in self.run if k not in BUDGET_FIELDS)
        digest = hashlib.sha1(repr((self.agent, self.preset, self.config, learned)).encode()).hexdigest()[:8]
        return f"{path_safe_label(self.label or self.agent)}__{self.env_name}__seed{self.seed}__{digest}"

    def configs(self):
        """(agent config, run config) with the preset, then the overrides, applied."""
        agent_config, run_config = presets.apply_preset(
            self.preset, agents.get_config(self.agent), run_config_lib.get_run_config())
        for dotted, value in self.config:
            presets.set_dotted(agent_config, dotted, value)
        run_config.env_name, run_config.seed = self.env_name, self.seed
        for key, value in self.run:
            presets.set_dotted(run_config, key, _thaw(value) if key == "eval_variants" else value)
        run_config.progress = False
        return agent_config, run_config


def _freeze(value):
    """Nested dicts as sorted tuples of (key, value) pairs, so a `Run` stays hashable."""
    return tuple(sorted((k, _freeze(v)) for k, v in value.items())) if isinstance(value, dict) else value


def _thaw(value):
    """`_freeze`'s pairs back to nested dicts."""
    if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in value):
        return {k: _thaw(v) for k, v in value}
    return value


def git_commit():
    """The checkout's commit hash (and '+dirty' with uncommitted changes), or 'unknown'."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def last_metrics(workdir, prefix):
    """The last logged value of every metric starting with `prefix` ("training/", "validation/")."""
    latest = {}
    for row in metrics_log.read_metrics(workdir):
        for key, value in row.items():
            if key.startswith(prefix) and value is not None:
                latest[key] = value
    return latest


def learning_curve(workdir):
    """[(step, mean success)] of every evaluation the run logged."""
    return [(r["step"], r["evaluation/success/mean"]) for r in metrics_log.read_metrics(workdir)
            if r.get("evaluation/success/mean") is not None]


def variant_curves(workdir):
    """{variant name: [(step, mean success)]} of every evaluation variant the run logged."""
    curves = {}
    for row in metrics_log.read_metrics(workdir):
        for key, value in row.items():
            if key.startswith("evaluation-") and key.endswith("/success/mean") and value is not None:
                name = key[len("evaluation-"):-len("/success/mean")]
                curves.setdefault(name, []).append((row["step"], value))
    return curves


def coverage_curve(workdir):
    """[(env steps, coverage)] an online run logged (empty for offline runs)."""
    return [(r["collection/env_steps"], r["collection/coverage"]) for r in metrics_log.read_metrics(workdir)
            if r.get("collection/coverage") is not None]


def run_one(run, root, records_dir, study="study"):
    """Train `run` (resuming it if killed) and write its record; returns the record."""
    workdir = os.path.join(root, run.run_id)
    os.makedirs(workdir, exist_ok=True)
    load_before = os.getloadavg()
    agent_config, run_config = run.configs()
    clock = wall_clock.WallClock(os.path.join(workdir, _WALL_FILE))
    try:
        result = trainer.train(agent_config, run_config, workdir)
    finally:
        wall_seconds = clock.stop()
    saved = jsonio.read_json(os.path.join(workdir, run_config_lib.CONFIG_FILE))
    record = dict(
        format=RECORD_FORMAT, study=study, run_id=run.run_id, label=run.label or run.agent, agent=run.agent,
        env_name=run.env_name, seed=run.seed, preset=run.preset, overrides=dict(config=dict(run.config),
                                                                                run=dict(run.run)),
        steps=int(run_config.steps), wall_seconds=round(wall_seconds, 1),
        paused_seconds=round(clock.paused_seconds(), 1),
        machine=dict(cpus=os.cpu_count(), load_before=[round(x, 2) for x in load_before],
                     load_after=[round(x, 2) for x in os.getloadavg()], platform=platform.platform()),
        git_commit=git_commit(), data=saved.get("data"),
        success={k: v for k, v in result.items() if k.startswith("success/")},
        collection={k: v for k, v in result.items() if k.startswith("collection/")},
        episodes_per_task=result.get("episodes_per_task"), learning_curve=learning_curve(workdir),
        nonfinite_episodes=int(result.get("nonfinite_episodes/total", 0)),
        variants={name: dict(success={k: v for k, v in variant.items() if k.startswith("success/")},
                             learning_curve=variant_curves(workdir).get(name, []),
                             nonfinite_episodes=int(variant.get("nonfinite_episodes/total", 0)))
                  for name, variant in result.get("variants", {}).items()},
        coverage_curve=coverage_curve(workdir),
        final_training=last_metrics(workdir, "training/"), final_validation=last_metrics(workdir, "validation/"),
        agent_config=saved["agent"], run_config=saved["run"],
    )
    jsonio.write_json(os.path.join(records_dir, f"{run.run_id}.json"), record)
    return record


def failure_record(run, root, records_dir, error, study="study"):
    """Write (and return) the record of a run that raised `error` (one of `RUN_FAILURES`): its
    identity, the last step it logged, the error, and no success. `run_grid` skips such runs until
    asked to retry; `report_markdown` lists them under the tables."""
    workdir = os.path.join(root, run.run_id)
    logged = [r["step"] for r in metrics_log.read_metrics(workdir)] if os.path.isdir(workdir) else []
    wall_path = os.path.join(workdir, _WALL_FILE)
    record = dict(
        format=RECORD_FORMAT, study=study, run_id=run.run_id, label=run.label or run.agent, agent=run.agent,
        env_name=run.env_name, seed=run.seed, preset=run.preset,
        overrides=dict(config=dict(run.config), run=dict(run.run)), steps=max(logged, default=0),
        wall_seconds=round(jsonio.read_json(wall_path)["seconds"], 1) if os.path.exists(wall_path) else None,
        git_commit=git_commit(), failed=dict(type=type(error).__name__, error=str(error)),
    )
    jsonio.write_json(os.path.join(records_dir, f"{run.run_id}.json"), record)
    return record


def run_grid(runs, root, records_dir, study="study", log=print, max_runs=None, retry_failed=False):
    """Train every run without a record at its `steps`, in order; returns the number trained now.

    `max_runs` stops after training that many (None: all), so studies can take turns in a queue.
    A run raising one of `RUN_FAILURES` (a diverged loss, a non-finite action under
    `nonfinite_actions="raise"`) gets a failure record and the grid goes on; later calls skip it
    unless `retry_failed` (it then resumes from its last checkpoint).

    A record at fewer steps (the grid's budget was raised) is extended: the run resumes from its
    last checkpoint, which equals training the longer run from scratch when no learning rate
    decays over `steps` (the trainer refuses the extension otherwise).
    """
    trained = 0
    for i, run in enumerate(runs):
        if max_runs is not None and trained >= max_runs:
            break
        record_path = os.path.join(records_dir, f"{run.run_id}.json")
        steps = int(run.configs()[1].steps)
        record = jsonio.read_json(record_path) if os.path.exists(record_path) else None
        if record is not None and record.get("failed"):
            if not retry_failed:
                log(f"[{i + 1}/{len(runs)}] failed earlier, skipped (retry_failed to rerun): {run.run_id}: "
                    f"{record['failed']['error']}")
                continue
            record = None
        recorded = record["steps"] if record else None
        lacking = [n for n in run.variant_names if n not in (record or {}).get("variants", {})]
        if recorded == steps and not lacking:
            log(f"[{i + 1}/{len(runs)}] done: {run.run_id}")
            continue
        if recorded is not None and recorded > steps:
            raise ValueError(f"{record_path} records {recorded} updates, more than the grid's {steps}: raise the "
                             "grid's steps back, or move the record (and its workdir) aside to retrain.")
        verb = ("training" if recorded is None else f"extending from {recorded} updates:" if recorded != steps
                else f"evaluating variants {lacking} (added after it finished: final weights only) of")
        log(f"[{i + 1}/{len(runs)}] {verb} {run.run_id} ...")
        trained += 1
        try:
            record = run_one(run, root, records_dir, study)
        except RUN_FAILURES as error:
            failure_record(run, root, records_dir, error, study)
            log(f"[{i + 1}/{len(runs)}] FAILED, recorded, going on: {run.run_id}: {type(error).__name__}: {error}")
            continue
        log(f"[{i + 1}/{len(runs)}] {run.run_id}: success {record['success'].get('success/mean')} "
            f"in {record['wall_seconds'] / 60:.1f} min")
    return trained


def variant_label(label, name):
    """The table label of evaluation variant `name` of runs labelled `label`: "<label>@<name>"."""
    return f"{label}@{name}"


def expand_variants(records):
    """`records` plus one record per evaluation variant of each: labelled `variant_label`, with the
    variant's success and learning curve, the run's other fields (wall time: the run's), and
    `variant_of` naming the run whose weights it evaluated."""
    expanded = []
    for record in records:
        expanded.append(record)
        for name, variant in (record.get("variants") or {}).items():
            expanded.append(dict(record, label=variant_label(record["label"], name), success=variant["success"],
                                 learning_curve=variant["learning_curve"], variants={}, variant_of=record["run_id"]))
    return expanded


def run_status(runs, root, records_dir):
    """One row per run: its state ("done"; "partial" at its last logged step, which includes a finished
    run lacking an evaluation variant added since; or "queued"), and an
    estimate of its remaining wall seconds (None when no finished run of its agent and env exists).

    The estimate is the steps still to go times the mean wall seconds per step of finished runs
    with the same agent, preset and env (else the same agent and preset on any env).
    """
    records = {}
    for path in glob.glob(os.path.join(records_dir, "*.json")):
        record = jsonio.read_json(path)
        records[record["run_id"]] = record
    per_step = {}
    for record in records.values():
        if record.get("failed"):
            continue
        rate = record["wall_seconds"] / max(record["steps"], 1)
        per_step.setdefault((record["agent"], record["preset"], record["env_name"]), []).append(rate)
        per_step.setdefault((record["agent"], record["preset"]), []).append(rate)
    rows = []
    for run in runs:
        steps = int(run.configs()[1].steps)
        record = records.get(run.run_id)
        lacking = [n for n in run.variant_names if n not in (record or {}).get("variants", {})]
        if record is not None and record.get("failed"):
            rows.append(dict(run=run, state="failed", step=record["steps"], steps=steps, remaining_seconds=0.0,
                             success=None, wall_seconds=record.get("wall_seconds") or 0.0))
            continue
        if record is not None and record["steps"] == steps and not lacking:
            rows.append(dict(run=run, state="done", step=steps, steps=steps, remaining_seconds=0.0,
                             success=record["success"].get("success/mean"), wall_seconds=record["wall_seconds"]))
            continue
        workdir = os.path.join(root, run.run_id)
        logged = [r["step"] for r in metrics_log.read_metrics(workdir)] if os.path.isdir(workdir) else []
        step = steps if record is not None and record["steps"] == steps else max(logged, default=0)
        rates = per_step.get((run.agent, run.preset, run.env_name)) or per_step.get((run.agent, run.preset))
        remaining = None if not rates else float(np.mean(rates)) * max(steps - step, 0)
        rows.append(dict(run=run, state="partial" if step else "queued", step=step, steps=steps,
                         remaining_seconds=remaining, success=None, wall_seconds=None))
    return rows


def status_text(rows):
    """A plain-text progress table of `run_status` rows, with the done count and the time left."""
    lines = [f"{'state':8} {'progress':>14} {'success':>8} {'min':>6}  run"]
    for row in rows:
        progress = f"{row['step']}/{row['steps']}"
        success = "" if row["success"] is None else f"{row['success']:.2f}"
        minutes = row["wall_seconds"] if row["state"] in ("done", "failed") else row["remaining_seconds"]
        minutes = "?" if minutes is None else f"{minutes / 60:.0f}"
        lines.append(f"{row['state']:8} {progress:>14} {success:>8} {minutes:>6}  {row['run'].run_id}")
    done = sum(row["state"] == "done" for row in rows)
    failed = sum(row["state"] == "failed" for row in rows)
    known = [row["remaining_seconds"] for row in rows if row["remaining_seconds"] is not None]
    unknown = sum(row["remaining_seconds"] is None for row in rows)
    left = f"about {sum(known) / 3600:.1f} h left" + (f" (+ {unknown} runs with no estimate yet)" if unknown else "")
    lines.append(f"{done} of {len(rows)} runs done" + (f", {failed} failed" if failed else "") + f"; {left}. (min: wall minutes of a done run, "
                 "estimated minutes left otherwise, from finished runs of the same agent and preset.)")
    return "\n".join(lines)


def _read_records(records_dir):
    return [jsonio.read_json(p) for p in sorted(glob.glob(os.path.join(records_dir, "*.json")))]


def load_records(records_dir):
    """Every finished run's record in `records_dir`, sorted by run id, followed by its evaluation
    variants' records (failed runs' records: `load_failures`)."""
    return expand_variants([r for r in _read_records(records_dir) if not r.get("failed")])


def load_failures(records_dir):
    """The failure records (`failure_record`) in `records_dir`, sorted by run id."""
    return [r for r in _read_records(records_dir) if r.get("failed")]


def failures_markdown(failures):
    """A list of the failed runs, which no table includes: label, env, seed, step, error."""
    if not failures:
        return ""
    lines = ["", "Failed runs (in no table or mean above; rerun with `--retry_failed`):", ""]
    lines += [f"- {r['label']}, {r['env_name']}, seed {r['seed']}, at update {r['steps']}: "
              f"{r['failed']['type']}: {r['failed']['error']}" for r in failures]
    return "\n".join(lines)


def _of_episodes(record, count):
    """"3 of 100 episodes" (tasks x episodes per task of the record's evaluation), or "1 episode"."""
    tasks = [k for k in record.get("success", {}) if k.startswith("success/task")]
    if record.get("episodes_per_task") and tasks:
        return f"{count} of {record['episodes_per_task'] * len(tasks)} episodes"
    return f"{count} episode{'' if count == 1 else 's'}"


def nonfinite_markdown(records):
    """A note naming the runs (and variants) whose final evaluation had episodes end on a
    non-finite action, which count as failures in the tables; "" when none did."""
    rows = [r for r in records if r.get("nonfinite_episodes")]
    for record in records:
        for name, variant in (record.get("variants") or {}).items():
            if variant.get("nonfinite_episodes"):
                rows.append(dict(record, label=variant_label(record["label"], name),
                                 nonfinite_episodes=variant["nonfinite_episodes"]))
    if not rows:
        return ""
    lines = ["", "Episodes that ended on a non-finite (NaN/inf) action, counted as failures above "
             "(`run.nonfinite_actions=fail`), in the final evaluation:", ""]
    lines += [f"- {r['label']}, {r['env_name']}, seed {r['seed']}: {_of_episodes(r, r['nonfinite_episodes'])}"
              for r in sorted(rows, key=lambda r: (r["label"], r["env_name"], r["seed"]))]
    return "\n".join(lines)


def mean_std(values, signed=False):
    """"mean ± std" over seeds to 3 decimals; the mean alone for one seed (a std of one value says nothing)."""
    values = np.asarray(values, dtype=float)
    mean = f"{values.mean():+.3f}" if signed else f"{values.mean():.3f}"
    return mean if values.size == 1 else f"{mean} ± {values.std():.3f}"


def late_mean(record):
    """Mean success over a run's evaluations after half its last evaluated step (the final one alone without a curve)."""
    curve = record.get("learning_curve") or ()
    if not curve:
        return record["success"]["success/mean"]
    half = curve[-1][0] / 2
    return float(np.mean([success for step, success in curve if step > half]))


def records_table(records, labels=None, published=None):
    """Markdown tables, one per env: success mean ± std over seeds per label, seeds, steps, wall minutes.

    With learning curves, a "best evaluation" column gives each run's highest evaluated success
    (mean ± std over seeds): an optimistic number (the checkpoint is picked on the evaluation
    itself), shown because some methods peak early and decline; and a "late evaluations" column
    gives each run's mean over its evaluations in the second half of training (`late_mean`),
    which pools several evaluations and so moves less with episode noise than the final one. `published` = (column title,
    {env: {label: success or None}}) adds a last column of published numbers (e.g. a paper's
    table) to the envs it names; a published label with no runs gets a row of its own (when
    `labels` is given, only if it is one of them: each table shows its own methods).
    """
    by_env = {}
    for record in records:
        by_env.setdefault(record["env_name"], {}).setdefault(record["label"], []).append(record)
    lines = []
    for env_name in sorted(by_env):
        groups = by_env[env_name]
        order = [l for l in (labels or sorted(groups)) if l in groups]
        online = any(r.get("collection") for rs in groups.values() for r in rs)
        curves = any(len(r.get("learning_curve") or ()) > 1 for rs in groups.values() for r in rs)
        extra = " coverage (mean ± std) | env steps |" if online else ""
        extra += " best evaluation (mean ± std) | late evaluations (mean ± std) |" if curves else ""
        reference = (published[1].get(env_name) or {}) if published else {}
        lines += [f"\n### {env_name}\n", "| method | success (mean ± std over seeds) |" + extra + " seeds | updates | "
                  "wall min / run | per seed |" + (f" {published[0]} |" if reference else ""),
                  "|---|---:|" + ("---:|---:|" if online else "") + ("---:|---:|" if curves else "") + "---:|---:|---:|---|"
                  + ("---:|" if reference else "")]
        for label in order:
            rs = sorted(groups[label], key=lambda r: r["seed"])
            values = [r["success"]["success/mean"] for r in rs]
            steps = sorted({r["steps"] for r in rs})
            cells = ""
            if online:
                cover = [r.get("collection", {}).get("collection/coverage", float("nan")) for r in rs]
                env_steps = sorted({int(r.get("collection", {}).get("collection/env_steps", 0)) for r in rs})
                cells = f" {mean_std(cover)} | {'/'.join(str(e) for e in env_steps)} |"
            if curves:
                best = [max([s for _, s in r.get("learning_curve") or ()] + [v]) for r, v in zip(rs, values)]
                cells += f" {mean_std(best)} | {mean_std([late_mean(r) for r in rs])} |"
            lines.append(
                f"| {label} | {mean_std(values)} |{cells} {len(rs)} | "
                f"{'/'.join(str(s) for s in steps)} | {np.mean([r['wall_seconds'] for r in rs]) / 60:.1f} | "
                + ", ".join(f"{v:.2f}" for v in values) + " |"
                + (_published_cell(reference.get(label)) if reference else ""))
        columns = (4 if online else 2) + (2 if curves else 0) + 4  # Before the published column.
        for label in reference:
            if label not in groups and (labels is None or label in labels):
                lines.append(f"| {label} (not run here) |" + " – |" * (columns - 1) + _published_cell(reference[label]))
    return "\n".join(lines)


def _published_cell(value):
    return " – |" if value is None else f" {value:.2f} |"


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """A 2 x 2 design that splits the gap between two methods into the shares of two factors.

    Attributes:
      title: a heading for the table.
      factors: (name of factor A, name of factor B), e.g. ("policy class", "goal sampling").
      cells: {(a, b): label}: the label run with A at level a and B at level b; 1 is the
        treated method's level (e.g. the flow policy, geometric goals), 0 the baseline's.
    """

    title: str
    factors: tuple
    cells: dict


def decomposition_table(records, decomposition):
    """Markdown: per env, the gap y11 - y00 and each factor's share, mean ± std over seeds.

    Per seed (one that all four cells have), with y_ab the success of cell (a, b):
      share of A = ((y11 - y01) + (y10 - y00)) / 2,  share of B = ((y11 - y10) + (y01 - y00)) / 2,
    A's effect averaged over B's levels and vice versa (the Shapley split of a 2 x 2 design);
    they add up to the gap exactly. A's effect at each level of B follows. Envs missing a cell
    are left out.
    """
    name_a, name_b = decomposition.factors
    cells = decomposition.cells
    if set(cells) != {(1, 1), (1, 0), (0, 1), (0, 0)}:
        raise ValueError(f"A Decomposition needs the cells (1, 1), (1, 0), (0, 1), (0, 0). Received: {sorted(cells)}")
    success = {}  # (env, label) -> {seed: success}
    for record in records:
        success.setdefault((record["env_name"], record["label"]), {})[record["seed"]] = record["success"]["success/mean"]
    lines = [f"\n### {decomposition.title}\n",
             f"| env | gap: {cells[1, 1]} - {cells[0, 0]} | share of {name_a} | share of {name_b} | "
             f"{cells[1, 1]} - {cells[0, 1]} | {cells[1, 0]} - {cells[0, 0]} | seeds |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for env_name in sorted({r["env_name"] for r in records}):
        by_cell = {cell: success.get((env_name, label), {}) for cell, label in cells.items()}
        seeds = sorted(set.intersection(*(set(v) for v in by_cell.values())))
        if not seeds:
            continue
        y = {cell: np.array([by_cell[cell][s] for s in seeds]) for cell in cells}
        columns = [
            y[1, 1] - y[0, 0],
            ((y[1, 1] - y[0, 1]) + (y[1, 0] - y[0, 0])) / 2,
            ((y[1, 1] - y[1, 0]) + (y[0, 1] - y[0, 0])) / 2,
            y[1, 1] - y[0, 1],
            y[1, 0] - y[0, 0],
        ]
        lines.append(f"| {env_name} | " + " | ".join(mean_std(c, signed=True) for c in columns)
                     + f" | {len(seeds)} |")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Differences:
    """Each label's success against a reference label, paired by seed (e.g. the full model against
    its ablations: same seed, same data order and initialisation; for an evaluation variant, the
    very same weights).

    Attributes:
      title: a heading. reference: the label others are compared with. labels: those others.
      envs: the envs to report (default: every env where the pairs exist).
    """

    title: str
    reference: str
    labels: tuple
    envs: tuple = ()


def differences_table(records, differences):
    """Markdown: per env and label, reference - label over the seeds both have (mean ± std, per seed)."""
    success = {}  # (env, label) -> {seed: success}
    for record in records:
        success.setdefault((record["env_name"], record["label"]), {})[record["seed"]] = record["success"]["success/mean"]
    lines = [f"\n### {differences.title}\n", f"| env | {differences.reference} - ... | difference (mean ± std over "
             "seeds) | per seed | seeds |", "|---|---|---:|---|---:|"]
    envs = differences.envs or sorted({r["env_name"] for r in records})
    for env_name in envs:
        reference = success.get((env_name, differences.reference), {})
        for label in differences.labels:
            other = success.get((env_name, label), {})
            seeds = sorted(set(reference) & set(other))
            if not seeds:
                continue
            gaps = np.array([reference[s] - other[s] for s in seeds])
            lines.append(f"| {env_name} | {label} | {mean_std(gaps, signed=True)} | "
                         + ", ".join(f"{g:+.2f}" for g in gaps) + f" | {len(seeds)} |")
    return "\n".join(lines) if len(lines) > 3 else ""  # No pair yet: no table.


@dataclasses.dataclass(frozen=True)
class Table:
    """A group of a study's results: its labels, in order, on `envs` (default: every env)."""

    title: str
    labels: tuple
    envs: tuple = ()


def report_markdown(records, grid, failures=()):
    """The study's tables from its records: `grid.tables` (or one table of all labels), then
    decompositions and differences, then notes on non-finite actions and on `failures`."""
    tables = grid.tables or [Table("", tuple(dict.fromkeys(
        [r.label for r in grid.runs] + [variant_label(r.label, n) for r in grid.runs for n in r.variant_names])))]
    parts = []
    for table in tables:
        chosen = [r for r in records
                  if r["label"] in table.labels and (not table.envs or r["env_name"] in table.envs)]
        if chosen:
            parts.append((f"\n## {table.title}\n" if table.title else "")
                         + records_table(chosen, labels=table.labels, published=grid.published))
    parts += [decomposition_table(records, d) for d in grid.decompositions]
    parts += [table for table in (differences_table(records, d) for d in grid.differences) if table]
    parts += [note for note in (nonfinite_markdown([r for r in records if not r.get("variant_of")]),
                                failures_markdown(failures)) if note]
    return "\n".join(parts)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A grid module's contents: STUDY, RUNS, and optionally TABLES, DECOMPOSITIONS, PUBLISHED, DIFFERENCES.

    tables: `Table`s: one set of per-env tables each (e.g. the main grid and the ablations).
    decompositions: `Decomposition`s to report.
    published: None, or (column title, {env: {label: success}}): published numbers shown
      beside the grid's own (`records_table`).
    differences: `Differences` to report (labels against a reference, paired by seed).
    """

    study: str
    runs: list
    tables: list
    decompositions: list
    published: tuple = None
    differences: list = ()


def generated_markers(name):
    """The HTML comments that bracket study `name`'s generated tables in a markdown file."""
    return f"<!-- generated by launch/study.py: {name} -->", f"<!-- end generated: {name} -->"


def replace_generated(text, name, body):
    """`text` with the block between study `name`'s markers (`generated_markers`) replaced by `body`.

    Raises ValueError naming the markers when `text` lacks them (or has them out of order), so
    a report is never appended somewhere unexpected.
    """
    begin, end = generated_markers(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"No generated block for {name!r}: put the two lines\n{begin}\n{end}\nwhere its tables go.")
    return text[:start + len(begin)] + "\n" + body.strip("\n") + "\n" + text[stop:]


def read_grid(path):
    """The `Grid` a grid module file defines (STUDY defaults to the file's name)."""
    namespace = {}
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), namespace)  # pylint: disable=exec-used
    if "RUNS" not in namespace:
        raise ValueError(f"{path} defines no RUNS list of tfnfrl.training.study.Run.")
    runs = list(namespace["RUNS"])
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path} lists the same run twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    known = {r.label for r in runs} | {variant_label(r.label, name) for r in runs for name in r.variant_names}
    tables = list(namespace.get("TABLES", []))
    decompositions = list(namespace.get("DECOMPOSITIONS", []))
    listed = [label for table in tables for label in table.labels]
    listed += [label for d in decompositions for label in d.cells.values()]
    differences = list(namespace.get("DIFFERENCES", []))
    listed += [label for d in differences for label in (d.reference, *d.labels)]
    unknown = sorted(set(listed) - known)
    if unknown:
        raise ValueError(f"{path}: TABLES, DECOMPOSITIONS or DIFFERENCES name labels no run has: {unknown}")
    published = namespace.get("PUBLISHED")
    study_name = namespace.get("STUDY", os.path.splitext(os.path.basename(path))[0])
    return Grid(study_name, runs, tables, decompositions, published, differences)


def load_grid(path):
    """(study name, runs) of a grid module file defining STUDY and RUNS."""
    grid = read_grid(path)
    return grid.study, grid.runs


def plot_learning_curves(records, path, title=None, curve="learning_curve"):
    """Success (mean over tasks) against updates, one panel per env, one colour per label; returns `path`.

    A label with several seeds is drawn as the mean over seeds (at the steps all of them
    evaluated) inside a band from the lowest to the highest seed; one seed is drawn as is.
    `curve="coverage_curve"` plots maze coverage against env steps instead (online runs).
    """
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    envs = sorted({r["env_name"] for r in records})
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4), squeeze=False)
    labels = sorted({r["label"] for r in records})
    colours = {label: f"C{i}" for i, label in enumerate(labels)}
    marker = "o" if curve == "learning_curve" else None
    for ax, env_name in zip(axes[0], envs):
        for label in labels:
            curves = [dict(r[curve]) for r in records if r["env_name"] == env_name and r["label"] == label and r.get(curve)]
            if not curves:
                continue
            steps = sorted(set.intersection(*(set(c) for c in curves)))
            if len(curves) == 1 or not steps:
                for i, c in enumerate(curves):
                    ax.plot(sorted(c), [c[k] for k in sorted(c)], marker=marker, color=colours[label], alpha=0.8,
                            label=label if i == 0 else None)
                continue
            values = np.array([[c[k] for k in steps] for c in curves])
            ax.plot(steps, values.mean(0), marker=marker, color=colours[label], label=f"{label} ({len(curves)} seeds)")
            ax.fill_between(steps, values.min(0), values.max(0), color=colours[label], alpha=0.15, linewidth=0)
        ax.set(title=env_name, xlabel="updates" if curve == "learning_curve" else "env steps",
               ylabel="success" if curve == "learning_curve" else "fraction of free cells visited", ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return report.save_figure(fig, path, dpi=110)


def record_json(record):
    """A record as canonical JSON text (for tests and diffs)."""
    return json.dumps(record, indent=2, sort_keys=True)
