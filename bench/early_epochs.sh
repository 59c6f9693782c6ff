#!/usr/bin/env bash
# Why do early epochs lag? (issue 12) CoNLL-2003's first 3400 training sentences (107 steps per
# epoch, the small-budget case), configs/conll2003.yaml's recipe with warmup/decay, 3 epochs,
# seed 1, and one change at a time (also the heads and constrained decoding); prints the dev F1
# after every epoch.
# Usage: bash bench/early_epochs.sh [extra wd-train options]   (about 3 min per row on 2 CPUs)
set -euo pipefail
cd "$(dirname "$0")/.."
WD=${WD:-.venv/bin/wd-train}
OUT=${OUT:-runs/early-epochs}
LIMIT=${LIMIT:-3400}
declare -A ABLATIONS=(
  [recipe]=""
  [random_batches]="--set data.batching=random"
  [loss_per_batch]="--set training.loss_average=batch"
  [faithful_gelu]="--set model.activation=auto"
  [random+faithful]="--set data.batching=random --set model.activation=auto"
  [crf_head]="--set model.head=crf"
  [bilstm_crf_head]="--set model.head=bilstm_crf"
  [constrained]="--set model.constrained_decoding=true"
)
ORDER=${ORDER:-recipe random_batches loss_per_batch faithful_gelu random+faithful crf_head bilstm_crf_head constrained}
for name in $ORDER; do
  if [ ! -f "$OUT/$name/metrics.json" ]; then
    # shellcheck disable=SC2086
    "$WD" configs/conll2003.yaml --quiet --overwrite --output-dir "$OUT/$name" \
      --set data.limit="$LIMIT" --set training.seed=1 ${ABLATIONS[$name]} "$@" >/dev/null
  fi
done
.venv/bin/python - "$OUT" $ORDER <<'PY'
import csv, json, sys
out, names = sys.argv[1], sys.argv[2:]
print("| run | dev F1 epoch 1 | epoch 2 | epoch 3 | test F1 (best epoch) | invalid dev/test | "
      "train tokens/s |")
print("|---|---|---|---|---|---|---|")
for name in names:
    rows = list(csv.DictReader(open(f"{out}/{name}/history.csv")))
    m = json.load(open(f"{out}/{name}/metrics.json"))
    curve = " | ".join(f"{float(r['dev_f1']):.4f}" for r in rows)
    invalid = f"{m['dev'].get('invalid_sequences')}/{m['test'].get('invalid_sequences')}"
    print(f"| {name} | {curve} | {m['test']['f1']:.4f} ({m['best_epoch']}) | {invalid} | "
          f"{m['train_tokens_per_s']:.0f} |")
PY
