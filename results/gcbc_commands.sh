#!/usr/bin/env bash
# The exact commands behind RESULTS.md's NF-GCBC vs GCBC vs FM-GCBC table (CPU-scale).
# Datasets first (see RESULTS.md for sizes):
#   python launch/generate_dataset.py --env_name=pointmaze-medium-navigate-v0 --num_workers=2
#   python launch/generate_dataset.py --env_name=cube-single-play-v0 --num_episodes=200 --num_workers=2
# Each run writes runs/<env>/<agent>/seed<k>/; rerunning skips finished runs and resumes
# interrupted ones. Then: python launch/compare.py --root=runs --agents=nf_gcbc,gcbc,fm_gcbc
# The longer single-seed runs: ROOT=runs_30k STEPS=30000 SEEDS=0 ENVS=cube-single-play-v0 bash results/gcbc_commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${ROOT:-runs}
STEPS=${STEPS:-10000}
SEEDS=${SEEDS:-"0 1 2"}
ENVS=${ENVS:-"pointmaze-medium-navigate-v0 cube-single-play-v0"}
COMMON="--run.steps=$STEPS --run.eval_every=0 --run.eval_episodes=10 --run.log_every=500 --run.checkpoint_every=2500 --run.progress=false"
# CPU-scale architectures, the same width (256) and batch (256) for every agent.
declare -A AGENT_FLAGS=(
  [nf_gcbc]="--config.encoder.hidden_dims=(256,256) --config.head.num_blocks=4 --config.head.hidden_units=128"
  [gcbc]="--config.batch_size=256 --config.head.hidden_dims=(256,256,256)"
  [fm_gcbc]="--config.head.hidden_dims=(256,256,256)"
)
# Goal-relabelling discount: the paper's 0.97 for cube-single; OGBench's 0.99 for pointmaze.
declare -A ENV_FLAGS=(
  [pointmaze-medium-navigate-v0]="--config.sampler.discount=0.99"
  [cube-single-play-v0]="--config.sampler.discount=0.97"
)
for env in $ENVS; do
  for seed in $SEEDS; do
    for agent in nf_gcbc gcbc fm_gcbc; do
      workdir="$ROOT/$env/$agent/seed$seed"
      if [ -f "$workdir/eval_final.json" ]; then echo "done: $workdir"; continue; fi
      echo "=== $(date -u +%FT%TZ) $agent $env seed $seed"
      start=$(date +%s)
      # shellcheck disable=SC2086
      python launch/train.py --agent="$agent" --run.env_name="$env" --run.seed="$seed" --workdir="$workdir" \
        $COMMON ${AGENT_FLAGS[$agent]} ${ENV_FLAGS[$env]}
      echo "wall_seconds=$(( $(date +%s) - start )) $workdir"
    done
  done
done
python launch/compare.py --root="$ROOT" --agents=nf_gcbc,gcbc,fm_gcbc --plot="results/gcbc_comparison_$(basename "$ROOT").png"
