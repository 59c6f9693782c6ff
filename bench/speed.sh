#!/usr/bin/env bash
# Training speed on this machine, one setting per process (precision policies are process-wide):
# float32 as the CPU default, float32 with the fused optimizer update, float32 with XLA (widths
# multiples of 16, then widths chosen from the data), mixed_bfloat16. Each line: real and
# computed (padded) train tokens/s, padding efficiency, MFU against a matmul peak measured in
# the same process, compile seconds and shapes, where a step's time goes and the update's share
# of it, eval sentences/s, peak RSS.
# Fixed steps on CoNLL-2003 batches with MiniLM (configs/conll2003.yaml): about 10 minutes on
# the 2-core CPU machines. Not part of `make test`.
# Usage: bash bench/speed.sh [extra bench/speed.py options, e.g. --steps 60 --set data.train=...]
# SETTINGS="float32 fused xla xla-buckets mixed_bfloat16" chooses the settings (also
# mixed_float16, bf16-xla).
# The table goes to stdout and to SPEED_OUT.md, every setting's figures to SPEED_OUT.json beside
# it (the evidence for a published speed figure); SPEED_OUT defaults to
# runs/speed/speed-<date>-<time>. SPEED_JSONL=FILE also keeps the raw per-setting JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SETTINGS=${SETTINGS:-float32 fused xla xla-buckets mixed_bfloat16}
SPEED_OUT=${SPEED_OUT:-runs/speed/speed-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$(dirname "$SPEED_OUT")"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for setting in $SETTINGS; do
  case $setting in
    float32) args=(--precision float32) ;;
    fused) args=(--precision float32 --fused-update) ;;
    xla) args=(--precision float32 --xla) ;;
    xla-buckets) args=(--precision float32 --xla --set data.length_buckets=8) ;;
    mixed_bfloat16) args=(--precision mixed_bfloat16) ;;
    mixed_float16) args=(--precision mixed_float16) ;;
    bf16-xla) args=(--precision mixed_bfloat16 --xla) ;;
    *) echo "bench/speed.sh: unknown setting $setting" >&2; exit 2 ;;
  esac
  echo "== $setting" >&2
  "$PY" bench/speed.py "${args[@]}" --json "$@" | tail -1 >> "$results"
done
"$PY" - "$results" "$SPEED_OUT.json" <<'PY' | tee "$SPEED_OUT.md"
import datetime, json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
today = datetime.date.today().isoformat()
with open(sys.argv[2] + ".tmp", "w") as out:  # whole or not at all
    json.dump({"device": rows[0]["device"], "date": today, "settings": rows}, out, indent=1)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
print(f"{rows[0]['device']}, {today}")
print("| setting | matmul peak GFLOP/s | real tok/s | computed tok/s | padding eff. | MFU | "
      "compile s (shapes) | fwd / bwd / update ms (batch) | update share | eval sent/s | "
      "peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    peak = ", ".join(f"{k} {v:.0f}" for k, v in r["matmul_peak_gflops"].items())
    b = r["step_breakdown_ms"]
    print(f"| {r['setting']} | {peak} | {r['real_tokens_per_s']:.0f} | "
          f"{r['computed_tokens_per_s']:.0f} | {100 * r['padding_efficiency']:.1f} % | "
          f"{r['mfu_percent']:.1f} % | {r['compile_seconds']:.1f} ({r['compiled_shapes']}) | "
          f"{b['forward']:.0f} / {b['backward']:.0f} / {b['optimizer_update']:.0f} ({b['batch']})"
          f" | {100 * r['update_share']:.1f} % | {r['eval_sentences_per_s'] or 0:.0f} | "
          f"{r['peak_rss_mib']:.0f} |")
for r in rows:
    widths = f"; XLA widths {r['length_buckets']}" if r["length_buckets"] else ""
    print(f"MFU: {r['mfu_percent']:.1f} % of the measured matmul peak ({r['setting']}); "
          f"update {100 * r['update_share']:.1f} % of a step{widths}")
PY
echo "figures: $SPEED_OUT.json, table: $SPEED_OUT.md" >&2
if [ -n "${SPEED_JSONL:-}" ]; then
  cp "$results" "$SPEED_JSONL"
fi
