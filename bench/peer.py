"""Side by side with transformers + PyTorch: the same MiniLM weights fine-tuned on the same
CoNLL-2003 batches, timed step for step (bench/peer.sh runs the three parts and the ratios).

  batches   (wd-train's venv) the batches a run of the config trains on first: wd-train's own
            wordpieces, labels and seeded length-bucketed sampler, written to one .npz
  wd-train  (wd-train's venv) wd-train's train step (training/loop.py, built by
            training/setup.py as a run builds it) on those batches
  torch     (the bench venv: torch + transformers, never a wd-train dependency)
            BertForTokenClassification on the same batches, each padded to its own longest
            window, with the recipe of configs/conll2003.yaml: AdamW (lr 1e-4, eps 1e-8, weight
            decay 0.01 except bias and LayerNorm), linear warmup over 10 % then linear decay,
            global gradient-norm clip 1.0, dropout 0.1
  compare   the two JSON results: real and padded tokens/s of each, and their ratios

Both time the same steps after the same untimed warm-up; with XLA, wd-train first compiles
every batch shape the timed steps use (a compilation is reported, not timed). Real tokens are
the windows' own pieces ([CLS] and [SEP] included), padded tokens the batch's rows × width as
computed. Each process also measures a float32 matmul peak, since these machines vary by day.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = -1  # wd_train.data.wordpieces.IGNORE: a piece without a label (not first of a word)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- batches: the shared input -------------------------------------------------------------

def write_batches(args) -> None:
    """The first warmup + steps batches of the config's run, and its schedule's step counts."""
    import numpy as np

    from wd_train.bert_folder import read_bert_folder
    from wd_train.config import load_config
    from wd_train.data.batching import POOL_BATCHES, batches_per_epoch, run_batches
    from wd_train.data.dataset import load_data
    from wd_train.model.schedule import make_schedule

    config, _ = load_config(Path(args.config), args.set_texts)
    data = load_data(config, read_bert_folder(config.model.checkpoint))
    windows = data.train.windows
    pool = POOL_BATCHES if config.data.batching == "bucketed" else 1
    training = config.training
    batches = run_batches([len(w.token_ids) for w in windows], training.batch_size,
                          training.seed, training.epochs, pool)[: args.warmup + args.steps]
    total = training.epochs * batches_per_epoch(len(windows), training.batch_size, pool)
    schedule = make_schedule(config.optimizer, total)
    used = sorted({int(i) for b in batches for i in b})
    position = {index: n for n, index in enumerate(used)}
    lengths = np.array([len(windows[i].token_ids) for i in used])
    np.savez(
        args.out,
        tokens=np.concatenate([windows[i].token_ids for i in used]).astype(np.int32),
        labels=np.concatenate([windows[i].label_ids for i in used]).astype(np.int32),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        batch_windows=np.array([position[int(i)] for b in batches for i in b]),
        batch_offsets=np.concatenate([[0], np.cumsum([len(b) for b in batches])]),
        num_labels=len(data.labels), total_steps=total, warmup_steps=schedule.warmup_steps,
        warmup=args.warmup, config=str(args.config),
    )
    print(f"{args.out}: {len(batches)} batches ({args.warmup} warm-up) of the run's "
          f"{total} steps", file=sys.stderr)


def read_batches(path):
    """[(token_ids, label_ids)] per batch, each a list of per-window arrays; and the header."""
    import numpy as np

    saved = np.load(path)
    tokens, labels, offsets = saved["tokens"], saved["labels"], saved["offsets"]
    rows, starts = saved["batch_windows"], saved["batch_offsets"]
    batches = []
    for begin, end in itertools.pairwise(starts):
        members = rows[begin:end]
        batches.append(([tokens[offsets[w]:offsets[w + 1]] for w in members],
                        [labels[offsets[w]:offsets[w + 1]] for w in members]))
    header = {key: saved[key].item() for key in ("num_labels", "total_steps", "warmup_steps",
                                                 "warmup")}
    return batches, header


def _padded(batch, width: int, ignore: int):
    import numpy as np

    tokens, labels = batch
    token_ids = np.zeros((len(tokens), width), np.int32)
    label_ids = np.full((len(tokens), width), ignore, np.int32)
    for row, (t, y) in enumerate(zip(tokens, labels)):
        token_ids[row, : len(t)], label_ids[row, : len(y)] = t, y
    return token_ids, label_ids


def _result(name: str, real: int, padded: int, seconds: float, steps: int, **extra) -> dict:
    return {"name": name, "steps_timed": steps, "seconds": round(seconds, 3),
            "real_tokens": real, "padded_tokens": padded,
            "real_tokens_per_s": round(real / seconds, 1),
            "padded_tokens_per_s": round(padded / seconds, 1),
            "padding_efficiency": round(real / padded, 4), "threads": _cores(),
            "peak_rss_mib": _rss_mib(), **extra}


# --- wd-train --------------------------------------------------------------------------------

def time_wd_train(args) -> dict:
    from wd_train.console import quiet_tensorflow_startup

    quiet_tensorflow_startup()
    import numpy as np
    import tensorflow as tf

    from wd_train.config import load_config
    from wd_train.training.device import describe_device, matmul_peak
    from wd_train.training.loop import make_train_step
    from wd_train.training.setup import build_training

    config, _ = load_config(Path(args.config), args.set_texts)
    batches, header = read_batches(args.batches)
    peak = matmul_peak("float32", 2.0)
    setup = build_training(config, jit_compile=args.xla)
    windows = setup.data.train.windows
    words_per_batch = None
    if config.training.loss_average == "words":
        words_per_batch = (config.training.batch_size * sum(w.num_words for w in windows)
                           / len(windows))
    train_step = make_train_step(setup.model, setup.optimizer, words_per_batch,
                                 jit_compile=args.xla, fused_update=args.fused_update)
    padded = [_padded(b, setup.padding.width(max(len(t) for t in b[0])), IGNORE)
              for b in batches]

    def step(token_ids, label_ids):
        return train_step(token_ids, np.zeros_like(token_ids), label_ids)[0]

    warmup, timed = padded[: header["warmup"]], padded[header["warmup"]:]
    compile_started = time.perf_counter()
    for token_ids, label_ids in warmup:
        float(step(token_ids, label_ids))
    shapes = {t.shape: (t, y) for t, y in timed} if args.xla else {}
    for token_ids, label_ids in shapes.values():  # XLA compiles each shape once: not timed
        float(step(token_ids, label_ids))
    warm_seconds = time.perf_counter() - compile_started
    started = time.perf_counter()
    for token_ids, label_ids in timed:
        loss = step(token_ids, label_ids)
    float(loss)
    seconds = time.perf_counter() - started
    setting = ("float32" + (" + XLA" if args.xla else "")
               + (" + fused update" if args.fused_update and not args.xla else "")
               + (f", widths {list(setup.length_buckets)}" if setup.length_buckets else ""))
    return _result(
        "wd-train", sum(int((t > 0).sum()) for t, _ in timed),
        sum(t.size for t, _ in timed), seconds, len(timed), setting=setting,
        device=describe_device() + f", {_cores()} cores", matmul_peak_gflops=round(peak, 1),
        warmup_seconds=round(warm_seconds, 1), compiled_shapes=len(shapes),
        versions={"tensorflow": tf.__version__})


# --- transformers + PyTorch ---------------------------------------------------------------

def time_torch(args) -> dict:
    import numpy as np
    import torch
    import transformers
    from transformers import BertForTokenClassification, get_linear_schedule_with_warmup

    torch.set_num_threads(_cores())
    torch.manual_seed(args.seed)
    batches, header = read_batches(args.batches)
    peak = _torch_matmul_peak(torch, 2.0)
    model = BertForTokenClassification.from_pretrained(
        args.model, num_labels=header["num_labels"], hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1)
    model.train()
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(optimizer, header["warmup_steps"],
                                                header["total_steps"])
    padded = []
    for batch in batches:  # each padded to its own longest window, as HF's collator does
        token_ids, label_ids = _padded(batch, max(len(t) for t in batch[0]), -100)
        padded.append((torch.from_numpy(token_ids.astype(np.int64)),
                       torch.from_numpy(np.where(label_ids < 0, -100, label_ids).astype(
                           np.int64))))

    def step(token_ids, label_ids):
        out = model(input_ids=token_ids, attention_mask=(token_ids != 0).long(),
                    token_type_ids=torch.zeros_like(token_ids), labels=label_ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return out.loss.detach()

    warmup, timed = padded[: header["warmup"]], padded[header["warmup"]:]
    for token_ids, label_ids in warmup:
        float(step(token_ids, label_ids))
    started = time.perf_counter()
    for token_ids, label_ids in timed:
        loss = step(token_ids, label_ids)
    float(loss)
    seconds = time.perf_counter() - started
    return _result(
        "pytorch", sum(int((t > 0).sum()) for t, _ in timed), sum(t.numel() for t, _ in timed),
        seconds, len(timed), setting="float32, transformers BertForTokenClassification",
        matmul_peak_gflops=round(peak, 1),
        versions={"torch": torch.__version__, "transformers": transformers.__version__})


def _torch_matmul_peak(torch, seconds: float, size: int = 2048) -> float:
    a = torch.randn(size, size)
    torch.mm(a, a)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.mm(a, a)
        count += 1
    return 2 * size**3 * count / (time.perf_counter() - started) / 1e9


# --- compare -------------------------------------------------------------------------------

def _code_version() -> str:
    from wd_train import code_version

    return code_version()


def compare(args) -> None:
    ours, theirs = (json.loads(Path(p).read_text()) for p in (args.wd_train, args.torch))
    for r in (ours, theirs):
        print(f"{r['name']:9} {r['setting']}: {r['steps_timed']} steps, "
              f"{r['real_tokens_per_s']:.0f} real tokens/s, {r['padded_tokens_per_s']:.0f} "
              f"padded tokens/s (padding efficiency {100 * r['padding_efficiency']:.1f} %), "
              f"float32 matmul peak {r['matmul_peak_gflops']:.0f} GFLOP/s, "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    real = ours["real_tokens_per_s"] / theirs["real_tokens_per_s"]
    padded = ours["padded_tokens_per_s"] / theirs["padded_tokens_per_s"]
    print(f"ratio real: {real:.2f}  ratio padded: {padded:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"code_version": _code_version(), "wd_train": ours, "pytorch": theirs,
             "ratio_real": round(real, 4),
             "ratio_padded": round(padded, 4)}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    batches = commands.add_parser("batches", help="write the shared batches (wd-train's venv)")
    batches.add_argument("--out", required=True)
    batches.add_argument("--steps", type=int, default=60, help="timed steps")
    batches.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
    ours = commands.add_parser("wd-train", help="time wd-train on the batches")
    ours.add_argument("--xla", action="store_true")
    ours.add_argument("--fused-update", action="store_true")
    for sub in (batches, ours):
        sub.add_argument("--config", default=str(ROOT / "configs/conll2003.yaml"))
        sub.add_argument("--set", action="append", default=[], dest="set_texts")
    theirs = commands.add_parser("torch", help="time transformers + PyTorch (bench venv)")
    theirs.add_argument("--model", required=True, help="Hugging Face BERT folder")
    theirs.add_argument("--lr", type=float, default=1e-4)
    theirs.add_argument("--seed", type=int, default=1)
    for sub in (ours, theirs):
        sub.add_argument("--batches", required=True)
        sub.add_argument("--out", required=True, help="JSON result file")
    both = commands.add_parser("compare", help="print both and the ratios")
    both.add_argument("wd_train")
    both.add_argument("torch")
    both.add_argument("--json", help="also write both results and the ratios here")
    args = parser.parse_args()
    if args.command == "batches":
        write_batches(args)
    elif args.command == "compare":
        compare(args)
    else:
        result = time_wd_train(args) if args.command == "wd-train" else time_torch(args)
        Path(args.out).write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.exit(main())
