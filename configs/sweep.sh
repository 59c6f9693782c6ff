#!/usr/bin/env bash
# A plain shell sweep: learning rate × warmup proportion × seed, one wd-train process per run,
# every run appending its JSON line to one results file, then `wd-train report` on that file
# (groups = the combinations, F1 mean ± std over seeds, paired differences, charts).
#
#   bash configs/sweep.sh                         # configs/ci.yaml (tiny model, CPU), 8 runs
#   CONFIG=configs/demo.yaml OUT=runs/sweep-demo LRS="5e-5 1e-4" bash configs/sweep.sh
#
# The loop is the whole trick: split it over machines or `xargs -P` as you like — the results
# file is locked per line, and `wd-train report` reads it (or the run directories) afterwards.
# Other groupings of the same runs: wd-train report "$OUT/results.jsonl" --by optimizer.learning_rate
set -euo pipefail
cd "$(dirname "$0")/.."
WD=${WD:-.venv/bin/wd-train}
CONFIG=${CONFIG:-configs/ci.yaml}
OUT=${OUT:-runs/sweep}
LRS=${LRS:-"5e-4 1e-3"}
WARMUPS=${WARMUPS:-"0.0 0.1"}
SEEDS=${SEEDS:-"13 14"}

mkdir -p "$OUT"
for lr in $LRS; do
  for warmup in $WARMUPS; do
    for seed in $SEEDS; do
      run_dir="$OUT/lr-$lr/warmup-$warmup/seed-$seed"
      if [ -f "$run_dir/metrics.json" ]; then
        echo "finished, skipped: $run_dir" >&2  # rerun the script to resume a sweep
        continue
      fi
      echo "lr $lr, warmup $warmup, seed $seed → $run_dir" >&2
      "$WD" "$CONFIG" --quiet --output-dir "$run_dir" --results "$OUT/results.jsonl" \
        --set optimizer.learning_rate="$lr" --set optimizer.warmup_proportion="$warmup" \
        --set training.seed="$seed" --set gate=null >/dev/null
    done
  done
done
"$WD" report "$OUT/results.jsonl"
