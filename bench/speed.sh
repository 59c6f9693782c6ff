#!/usr/bin/env bash
# Training speed on this machine, one setting per process (precision policies are process-wide):
# float32 as the CPU default, float32 with XLA, mixed_bfloat16. Each line: real and computed
# (padded) train tokens/s, padding efficiency, MFU against a matmul peak measured in the same
# process, compile seconds, where a step's time goes, eval sentences/s, peak RSS.
# Fixed steps on CoNLL-2003 batches with MiniLM (configs/conll2003.yaml): under 10 minutes on
# the 2-core CPU machines. Not part of `make test`.
# Usage: bash bench/speed.sh [extra bench/speed.py options, e.g. --steps 60 --set data.train=...]
# SETTINGS="float32 xla mixed_bfloat16" chooses the settings (also mixed_float16, bf16-xla).
# SPEED_JSONL=FILE keeps the per-setting JSON lines the table is made from (the evidence for a
# published speed figure), e.g. SPEED_JSONL=runs/speed.jsonl bash bench/speed.sh | tee runs/speed.md
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SETTINGS=${SETTINGS:-float32 xla mixed_bfloat16}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for setting in $SETTINGS; do
  case $setting in
    float32) args=(--precision float32) ;;
    xla) args=(--precision float32 --xla) ;;
    mixed_bfloat16) args=(--precision mixed_bfloat16) ;;
    mixed_float16) args=(--precision mixed_float16) ;;
    bf16-xla) args=(--precision mixed_bfloat16 --xla) ;;
    *) echo "bench/speed.sh: unknown setting $setting" >&2; exit 2 ;;
  esac
  echo "== $setting" >&2
  "$PY" bench/speed.py "${args[@]}" --json "$@" | tail -1 >> "$results"
done
"$PY" - "$results" <<'PY'
import datetime, json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{rows[0]['device']}, {datetime.date.today()}")
print("| setting | matmul peak GFLOP/s | real tok/s | computed tok/s | padding eff. | MFU | "
      "compile s | fwd / bwd / update ms | eval sent/s | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    peak = ", ".join(f"{k} {v:.0f}" for k, v in r["matmul_peak_gflops"].items())
    b = r["step_breakdown_ms"]
    print(f"| {r['setting']} | {peak} | {r['real_tokens_per_s']:.0f} | "
          f"{r['computed_tokens_per_s']:.0f} | {100 * r['padding_efficiency']:.1f} % | "
          f"{r['mfu_percent']:.1f} % | {r['compile_seconds']:.1f} ({r['compiled_shapes']}) | "
          f"{b['forward']:.0f} / {b['backward']:.0f} / {b['optimizer_update']:.0f} ({b['batch']})"
          f" | {r['eval_sentences_per_s'] or 0:.0f} | {r['peak_rss_mib']:.0f} |")
for r in rows:
    print(f"MFU: {r['mfu_percent']:.1f} % of the measured matmul peak ({r['setting']})")
PY
if [ -n "${SPEED_JSONL:-}" ]; then
  cp "$results" "$SPEED_JSONL"
fi
