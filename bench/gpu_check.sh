#!/usr/bin/env bash
# The GPU check (issue 10): at most about 8 minutes on a GPU machine. Sets up with CUDA (unless
# a .venv with tensorflow[and-cuda] is already there), says what TensorFlow sees, runs the
# GPU-marked tests, trains MiniLM on CoNLL-2003 for one epoch with the `auto` settings
# (mixed_bfloat16 from compute capability 8.0, XLA) and prints its tokens/s, MFU and dev F1
# next to the CPU float32 figures for the same epoch, then times a BERT-base-sized random-init
# model (batch 32, length 128) for MFU against the measured bf16 matmul peak.
# Targets on an H100/H200-class GPU: MiniLM >= 100 000 real train tokens/s; BERT-base-sized
# >= 35 % of the bf16 dense matmul peak.
# Usage: bash bench/gpu_check.sh   (CONLL=/path/to/conll2003 if not ../shared/data/conll2003)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WD=.venv/bin/wd-train
OUT=${OUT:-runs/gpu-check}
CONLL=${CONLL:-../shared/data/conll2003}
mkdir -p "$OUT"
began=$(date +%s)
say() { echo "[gpu_check $(( $(date +%s) - began )) s] $*" >&2; }

if ! "$PY" -c "import nvidia.cudnn" 2>/dev/null; then
  say "setting up with CUDA (WD_CUDA=1 make setup)"
  WD_CUDA=1 make setup
fi
"$WD" info | tee "$OUT/info.txt"
"$WD" info --json > "$OUT/info.json"
if ! grep -q '"gpus_found": [1-9]' "$OUT/info.json"; then
  say "TensorFlow sees no GPU: nothing to check (see $OUT/info.txt)"; exit 1
fi

say "GPU-marked tests"
"$PY" -m pytest -q -m gpu tests

# The CPU float32 figures of the same run (configs/conll2003.yaml, one epoch, seed 1), measured
# on the 2-core CPU machines on 2026-11-28 (198 s of training, 439 steps; test F1 0.8302).
CPU_TOKENS_PER_S=${CPU_TOKENS_PER_S:-1414}
CPU_DEV_F1=${CPU_DEV_F1:-0.8701}
if [ -f "$CONLL/eng.train" ]; then
  say "CoNLL-2003, MiniLM, one epoch, auto precision and XLA"
  "$WD" configs/conll2003.yaml --quiet --json --overwrite --output-dir "$OUT/conll-epoch1" \
    --set training.epochs=1 --set data.train="$CONLL/eng.train" \
    --set data.dev="$CONLL/eng.testa" --set data.test="$CONLL/eng.testb" > "$OUT/conll.json"
  "$PY" - "$OUT/conll.json" "$CPU_TOKENS_PER_S" "$CPU_DEV_F1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"CoNLL-2003 epoch 1 on {m['device']} ({m['precision']}, XLA {m['jit_compile']}, "
      f"{m['compiled_shapes']} shapes in {m['compile_seconds']:.0f} s): "
      f"{m['train_tokens_per_s']:.0f} real train tokens/s (CPU float32: {sys.argv[2]}), "
      f"dev F1 {m['dev']['f1']:.4f} (CPU float32: {sys.argv[3]}), test F1 {m['test']['f1']:.4f}")
PY
  say "MiniLM step speed and MFU (CoNLL-2003 batches)"
  "$PY" bench/speed.py --precision mixed_bfloat16 --xla --steps 300 \
    --set data.train="$CONLL/eng.train" --set data.dev="$CONLL/eng.testa" \
    --set data.test="$CONLL/eng.testb" | tee "$OUT/speed-minilm.txt"
else
  say "no CoNLL-2003 at $CONLL: MiniLM figures skipped (CONLL=/path/to/conll2003)"
fi

say "BERT-base-sized random-init model, batch 32 x 128, for MFU"
"$PY" bench/speed.py --precision mixed_bfloat16 --xla --steps 30 --repeats 4 \
  --eval-sentences 0 \
  --set model.checkpoint=null \
  --set 'model.random_init={layers: 12, hidden: 768, heads: 12, feed_forward: 3072}' \
  --set model.vocab=models/all-MiniLM-L6-v2/vocab.txt --set data.pad_to_multiple_of=128 \
  $( [ -f "$CONLL/eng.train" ] && echo --set data.train="$CONLL/eng.train" \
     --set data.dev="$CONLL/eng.testa" --set data.test="$CONLL/eng.testb" \
     || echo --config configs/demo.yaml ) | tee "$OUT/speed-bert-base.txt"
say "done"
