r"""Run a study grid in the background, one JSON record per finished run; or print its tables.

  nohup python launch/study.py --grid=results/grids/rl_offline.py > study.log 2>&1 &
  python launch/study.py --grid=results/grids/rl_offline.py --report --plot=results/rl_offline.png --write=RESULTS.md
  python launch/study.py --grid=results/grids/rl_offline.py --status   # what is done, what is left

A grid file defines STUDY and RUNS (tfnfrl.training.study.Run), and optionally TABLES
(tfnfrl.training.study.Table: one set of tables per group of labels) and DECOMPOSITIONS (2 x 2 designs whose gap
`--report` splits into each factor's share: tfnfrl.training.study.Decomposition). Each run trains in
<root>/<run id>/ (rerunning resumes killed runs and skips finished ones) and writes
<records>/<run id>.json; `--report` regenerates the tables from the records alone.
"""

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

_GRID = flags.DEFINE_string("grid", None, "Python file defining STUDY and RUNS.", required=True)
_ROOT = flags.DEFINE_string("root", None, "Workdirs of the runs; default: runs/studies/<STUDY>.")
_RECORDS = flags.DEFINE_string("records", None, "Where records go; default: results/runs/<STUDY>.")
_REPORT = flags.DEFINE_bool("report", False, "Only print the tables from the existing records.")
_MAX_RUNS = flags.DEFINE_integer("max_runs", None, "Train at most this many runs now (a queue's turn); default: all.")
_PLOT = flags.DEFINE_string("plot", None, "With --report: write the learning curves PNG here.")
_WRITE = flags.DEFINE_string("write", None, "With --report: also replace the study's generated block in this markdown "
                              "file (e.g. RESULTS.md; between the markers tfnfrl.training.study.generated_markers).")
_STATUS = flags.DEFINE_bool("status", False, "Only print each run's state (done / failed / partial / queued) and the "
                             "time left.")
_RETRY_FAILED = flags.DEFINE_bool("retry_failed", False, "Rerun runs with a failure record (a diverged loss), "
                                  "resuming from their last checkpoint; default: skip them.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    from tfnfrl.training import study, trainer  # pylint: disable=import-outside-toplevel

    grid = study.read_grid(_GRID.value)
    name, runs = grid.study, grid.runs
    records_dir = _RECORDS.value or os.path.join("results", "runs", name)
    if _REPORT.value:
        records, failures = study.load_records(records_dir), study.load_failures(records_dir)
        if not records:
            sys.exit(f"ERROR: no records in {records_dir}.")
        finished = sum(1 for r in records if not r.get("variant_of"))
        failed = f" ({len(failures)} more failed: listed below the tables)" if failures else ""
        report = (f"{finished} of {len(runs)} runs of {name} have records{failed}.\n"
                  + study.report_markdown(records, grid, failures))
        print(report)
        if _PLOT.value:
            print(f"\nPlot: {study.plot_learning_curves(records, _PLOT.value, title=name)}")
            if any(r.get("coverage_curve") for r in records):
                coverage_png = os.path.splitext(_PLOT.value)[0] + "_coverage.png"
                print(f"Coverage: {study.plot_learning_curves(records, coverage_png, name, 'coverage_curve')}")
        if _WRITE.value:
            with open(_WRITE.value) as f:
                text = f.read()
            try:
                text = study.replace_generated(text, name, report)
            except ValueError as error:
                sys.exit(f"ERROR: {_WRITE.value}: {error}")
            with open(_WRITE.value, "w") as f:
                f.write(text)
            print(f"Wrote the {name} tables into {_WRITE.value}.")
        return
    root = _ROOT.value or os.path.join("runs", "studies", name)
    if _STATUS.value:
        print(study.status_text(study.run_status(runs, root, records_dir)))
        return
    try:
        study.run_grid(runs, root, records_dir, study=name, log=lambda m: print(m, flush=True),
                       max_runs=_MAX_RUNS.value, retry_failed=_RETRY_FAILED.value)
    except (FileNotFoundError, ValueError, trainer.NonFiniteLossError) as error:
        sys.exit(f"ERROR: {error}")


if __name__ == "__main__":
    app.run(main)
