#!/usr/bin/env bash
# The background study queue, one heavy job at a time, studies taking turns:
#   nohup bash results/queue.sh [CODE_TREE] > results/queue.log 2>&1 &
# CODE_TREE (default: this checkout) is the tree whose code runs, e.g. a detached
# `git worktree add --detach /work/bg HEAD`, so edits here never change code under a running
# study; workdirs (runs/studies/<study>) and records (results/runs/<study>) go to this checkout.
# Each turn trains at most --max_runs runs; finished runs are skipped, killed ones resumed.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tree="${1:-$here}"
cd "$tree"
export PYTHONPATH="$tree" MUJOCO_GL="${MUJOCO_GL:-egl}"
turn() {  # turn GRID MAX_RUNS
  echo "=== $(date -u +%FT%TZ) $1 (up to $2 runs)"
  python launch/study.py --grid="results/grids/$1.py" --root="$here/runs/studies/$1" \
    --records="$here/results/runs/$1" --max_runs="$2"
}
# Issue 14's grid first (its runs are short, and the issue can close once it is done), then issue 10's.
turn gcbc_study 100
for _ in $(seq 16); do
  turn rl_offline 2
  turn gcbc_study 4
done
echo "=== $(date -u +%FT%TZ) done"
