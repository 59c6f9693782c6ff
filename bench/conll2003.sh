#!/usr/bin/env bash
# CoNLL-2003 benchmark: MiniLM fine-tuned with warmup/decay and with a constant LR (one seed
# each, same optimizer, data and budget), then a table of dev/test F1, epochs, time, tokens/s.
# Not part of `make test`. The two runs are the seed-1 cells of configs/conll2003-compare.yaml,
# so `wd-train configs/conll2003-compare.yaml` afterwards reuses them.
# Usage: bash bench/conll2003.sh [extra wd-train options, e.g. --set data.train=...]
set -euo pipefail
cd "$(dirname "$0")/.."
WD=${WD:-.venv/bin/wd-train}
OUT=${OUT:-runs/conll2003-compare}
SEED=${SEED:-1}
for variant in warmup_decay constant; do
  run_dir="$OUT/$variant/seed-$SEED"
  if [ -f "$run_dir/metrics.json" ]; then
    echo "reusing finished run $run_dir" >&2
    continue
  fi
  "$WD" configs/conll2003.yaml --quiet --output-dir "$run_dir" --overwrite \
    --set optimizer.schedule="$variant" --set training.seed="$SEED" "$@" >/dev/null
done
.venv/bin/python - "$OUT" "$SEED" <<'PY'
import json, platform, sys, datetime
out, seed = sys.argv[1], sys.argv[2]
print(f"CoNLL-2003, MiniLM-L6-H384, seed {seed}, {datetime.date.today()}, "
      f"{platform.machine()} {__import__('os').cpu_count()} cores")
print(f"| schedule | dev F1 | test F1 | epochs (best) | train time | train tokens/s |")
print(f"|---|---|---|---|---|---|")
for variant in ("warmup_decay", "constant"):
    m = json.load(open(f"{out}/{variant}/seed-{seed}/metrics.json"))
    print(f"| {variant} | {m['dev']['f1']:.4f} | {m['test']['f1']:.4f} | "
          f"{m['epochs_run']} ({m['best_epoch']}) | {m['train_seconds']:.0f} s | "
          f"{m['train_tokens_per_s']:.0f} |")
PY
