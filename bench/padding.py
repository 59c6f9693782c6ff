"""How much of XLA's work is padding, for a number of compiled widths (issue 23): the padding
efficiency (real / padded train tokens) of a run's own batches, as `data.length_buckets: K`
pads them, next to the best any scheme with K widths can do on the same windows.

No training and no timing: it reads the config's training data and replays the run's seeded
sampler, so it runs in seconds while anything else runs.

- "batches, K widths": the run's length-bucketed batches (the sortish sampler of
  `data/batching.py`), each padded to the smallest of K widths chosen by `choose_length_buckets`
  that holds its longest window: what `data.length_buckets: K` trains on.
- "bound, K widths": every window padded on its own to the smallest of K widths chosen for
  the windows themselves (the same exact programme over window lengths). A batch holds several
  windows and is padded to its longest, so no batching with K widths does better than this.

Usage: python bench/padding.py [--config configs/conll2003.yaml] [--widths 4 8 12 16] [--json F]
  e.g. python bench/padding.py --json docs/speed/padding-conll2003.json   (the evidence of
  docs/speed.md's padding figures)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs/conll2003.yaml"))
    parser.add_argument("--widths", type=int, nargs="+", default=[4, 8, 12, 16])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    from wd_train import code_version
    from wd_train.bert_folder import read_bert_folder
    from wd_train.config import load_config
    from wd_train.data.batching import (
        POOL_BATCHES,
        Padding,
        choose_length_buckets,
        padding_efficiency,
        run_batches,
    )
    from wd_train.data.dataset import load_data

    config, _ = load_config(args.config)
    data = load_data(config, read_bert_folder(config.model.checkpoint))
    lengths = np.array([len(w.token_ids) for w in data.train.windows])
    pool = POOL_BATCHES if config.data.batching == "bucketed" else 1
    batches = run_batches(lengths, config.training.batch_size, config.training.seed,
                          config.training.epochs, pool)
    longest = [int(lengths[b].max()) for b in batches]
    rows = [len(b) for b in batches]
    figures = {
        "config": os.path.relpath(args.config, ROOT), "code_version": code_version(),
        "windows": len(lengths), "batches": len(batches),
        "length_min": int(lengths.min()), "length_max": int(lengths.max()),
        "own_longest": padding_efficiency(lengths, batches, 1),
        "multiples_of_16": padding_efficiency(lengths, batches, 16),
        "widths": [],
    }
    for count in args.widths:
        chosen = choose_length_buckets(longest, rows, count)
        own = choose_length_buckets(lengths, None, count)
        bound = lengths.sum() / sum(Padding(1, own).width(int(n)) for n in lengths)
        figures["widths"].append({
            "count": count, "batches": padding_efficiency(lengths, batches, Padding(16, chosen)),
            "batch_widths": list(chosen), "bound": float(bound), "bound_widths": list(own)})

    print(f"{figures['config']}: {len(lengths)} windows of {figures['length_min']}-"
          f"{figures['length_max']} pieces, {len(batches)} batches over the run")
    print(f"  each batch at its own longest window (eager): {100 * figures['own_longest']:.1f} %")
    print(f"  multiples of 16 (data.pad_to_multiple_of: 16): {100 * figures['multiples_of_16']:.1f} %")
    print("| widths | the run's batches | best possible (bound) |")
    print("|---:|---:|---:|")
    for row in figures["widths"]:
        print(f"| {row['count']} | {100 * row['batches']:.1f} % | {100 * row['bound']:.1f} % |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
