#!/usr/bin/env bash
# The background queue of this session's measurements, one heavy job at a time:
#   nohup bash results/queue.sh > results/queue.log 2>&1 &
# Each study skips finished runs (records in results/runs/<study>/) and resumes killed ones.
set -uo pipefail
cd "$(dirname "$0")/.."
while pgrep -f "benchmarks/train_speed.py" > /dev/null; do sleep 10; done
echo "=== $(date -u +%FT%TZ) NF-UGS study"
python launch/study.py --grid=results/grids/nf_ugs_pointmaze.py
echo "=== $(date -u +%FT%TZ) offline-RL study (its first three runs, cube seed 0, give the learning curve)"
python launch/study.py --grid=results/grids/rl_offline.py
echo "=== $(date -u +%FT%TZ) done"
