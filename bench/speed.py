"""Training speed of one setting, measured on the machine it runs on: prints the figures
`bench/speed.sh` tabulates (one setting per process: precision policies are process-wide).

It trains a fixed number of steps on the seeded, length-bucketed CoNLL-2003 batches with the
tool's own step function and input pipeline (training/loop.py), and reports them next to a
matmul peak measured in the same process, since absolute times on these machines vary by up to
4x from day to day.

Usage: python bench/speed.py [--precision P] [--xla] [--fused-update] [--steps N] [--config C]
                             [--set K=V ...]
(`--set data.length_buckets=8` with `--xla`: XLA's widths chosen from the data.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train_flops(spec, batch: int, width: int, labels: int) -> float:
    """Matmul FLOPs of one training step (forward + backward = 3 x forward) on a padded
    batch x width: per layer the Q, K, V, output and feed-forward projections, the attention
    scores and their weighted sum; then the tag layer. Embedding lookups, softmax, LayerNorm
    and the optimizer's update are not matmuls and are not counted (the MFU convention)."""
    h, i, layers = spec.embed_dim, spec.feed_forward_dim, spec.transformer_num
    tokens = batch * width
    per_layer = 2 * tokens * (4 * h * h + 2 * h * i) + 2 * 2 * batch * width * width * h
    return 3 * (layers * per_layer + 2 * tokens * h * labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs/conll2003.yaml"))
    parser.add_argument("--precision", default="float32",
                        choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--xla", action="store_true")
    parser.add_argument("--fused-update", action="store_true",
                        help="the optimizer's update alone compiled by XLA "
                             "(training.fused_update)")
    parser.add_argument("--steps", type=int, default=120, help="timed training steps")
    parser.add_argument("--eval-sentences", type=int, default=1000,
                        help="dev sentences timed for eval (0: no eval figure)")
    parser.add_argument("--repeats", type=int, default=8,
                        help="calls timed for the step breakdown")
    parser.add_argument("--set", action="append", default=[], dest="set_texts")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of text")
    args = parser.parse_args()

    from wd_train.console import quiet_tensorflow_startup

    quiet_tensorflow_startup()
    import numpy as np
    import tensorflow as tf

    from wd_train.config import load_config
    from wd_train.data.batching import batch_indices
    from wd_train.evaluation import make_predict_function, predict_tags
    from wd_train.training.device import configure_gpus, describe_device, matmul_peak
    from wd_train.training.loop import _prefetched, make_train_step, masked_loss
    from wd_train.training.setup import build_training

    config, _ = load_config(Path(args.config), args.set_texts)
    gpus = configure_gpus(config.training.gpu)
    peaks = {"float32": matmul_peak("float32", 2.0)}
    if args.precision != "float32":
        low = "bfloat16" if args.precision == "mixed_bfloat16" else "float16"
        peaks[low] = matmul_peak(low, 2.0)
    peak = peaks["float32" if args.precision == "float32" else low]

    started = time.perf_counter()
    # exactly what a run of this config trains with (training/setup.py), at the bench's
    # precision and XLA setting
    setup = build_training(config, precision=args.precision, jit_compile=args.xla)
    load_seconds = time.perf_counter() - started  # data, model and optimizer
    data, spec, model, optimizer = setup.data, setup.spec, setup.model, setup.optimizer
    windows = data.train.windows
    batch_size = config.training.batch_size
    words_per_batch = batch_size * sum(w.num_words for w in windows) / len(windows)
    if config.training.loss_average != "words":
        words_per_batch = None
    padding = setup.padding
    train_step = make_train_step(model, optimizer, words_per_batch, jit_compile=args.xla,
                                 fused_update=args.fused_update)
    lengths = np.array([len(w.token_ids) for w in windows])
    batches = batch_indices(lengths, batch_size, np.random.default_rng(config.training.seed),
                            setup.pool_batches)
    batches = batches[: args.steps + 1]  # the first traces the step: not timed

    shapes, compile_seconds, timed = set(), 0.0, 0.0
    real = computed = 0
    flops = 0.0
    for number, (tokens, segments, labels) in enumerate(
            _prefetched(windows, batches, padding)):
        shape = tuple(tokens.shape)
        step_started = time.perf_counter()
        loss, _ = train_step(tokens, segments, labels)
        float(loss)  # wait for the device: this step's time, nothing of the next
        seconds = time.perf_counter() - step_started
        if number == 0 or (args.xla and shape not in shapes):
            compile_seconds += seconds if args.xla else 0.0
            shapes.add(shape)
            continue
        timed += seconds
        real += int(lengths[batches[number]].sum())
        computed += shape[0] * shape[1]
        flops += train_flops(spec, shape[0], shape[1], len(data.labels))

    if not timed:
        sys.exit(f"bench/speed.py: all {args.steps} steps compiled a new XLA shape, none was "
                 "timed: raise --steps")

    # where a step's time goes, on one batch of the median width: forward, forward+backward,
    # and the whole step (the rest is the optimizer's update)
    widths = sorted(int(lengths[b].max()) for b in batches)
    width = padding.width(widths[len(widths) // 2])
    token_ids = tf.constant(np.full((batch_size, width), 1000, np.int32))
    segment_ids = tf.zeros_like(token_ids)
    label_ids = tf.constant(np.where(np.arange(width) % 2 == 1, 1, -1)[None].repeat(
        batch_size, 0).astype(np.int32))
    variables = model.trainable_variables

    @tf.function(jit_compile=args.xla)
    def forward(t, s, y):
        return masked_loss(y, model([t, s], training=True))

    @tf.function(jit_compile=args.xla)
    def forward_backward(t, s, y):
        with tf.GradientTape() as tape:
            loss = masked_loss(y, model([t, s], training=True))
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) if not isinstance(
            g, tf.IndexedSlices) else tf.reduce_sum(g.values) for g in tape.gradient(
            loss, variables)])

    def per_call(function, repeats=args.repeats):
        float(function(token_ids, segment_ids, label_ids)[0] if function is train_step
              else function(token_ids, segment_ids, label_ids))
        begun = time.perf_counter()
        for _ in range(repeats):
            out = function(token_ids, segment_ids, label_ids)
        float(out[0] if function is train_step else out)
        return (time.perf_counter() - begun) / repeats * 1000

    forward_ms = per_call(forward)
    backward_ms = per_call(forward_backward) - forward_ms
    step_ms = per_call(train_step)
    update_ms = step_ms - forward_ms - backward_ms

    eval_per_s = None
    if args.eval_sentences:
        predict = make_predict_function(model, jit_compile=args.xla)
        dev = data.dev
        keep = set(range(min(args.eval_sentences, len(dev.sentences))))
        dev_windows = [w for w in dev.windows if w.sentence in keep]
        sentences = dev.sentences[: len(keep)]
        predict_tags(predict, dev_windows, sentences, data.labels, batch_size * 2,
                     padding)  # compiles, warms up
        begun = time.perf_counter()
        predict_tags(predict, dev_windows, sentences, data.labels, batch_size * 2, padding)
        eval_per_s = round(len(sentences) / (time.perf_counter() - begun), 1)

    from wd_train import code_version
    from wd_train.training.run import peak_rss_mib

    figures = {
        "code_version": code_version(),
        "device": describe_device() if gpus else describe_device() + f", {_cores()} cores",
        "setting": args.precision + (" + XLA" if args.xla else "") + (
            " + fused update" if args.fused_update and not args.xla else "") + (
            f" + {len(setup.length_buckets)} widths from the data" if setup.length_buckets
            else ""),
        "length_buckets": list(setup.length_buckets),
        "pad_to_multiple_of": setup.pad_to_multiple_of,
        "matmul_peak_gflops": {k: round(v, 1) for k, v in peaks.items()},
        "steps_timed": args.steps - (len(shapes) - 1 if args.xla else 0),
        "batch_size": batch_size,
        "real_tokens_per_s": round(real / timed, 1),
        "computed_tokens_per_s": round(computed / timed, 1),
        "padding_efficiency": round(real / computed, 4),
        "model_gflops_per_s": round(flops / timed / 1e9, 1),
        "mfu_percent": round(100 * flops / timed / 1e9 / peak, 1),
        "compile_seconds": round(compile_seconds, 1),
        "compiled_shapes": len(shapes) if args.xla else 0,
        "step_breakdown_ms": {"batch": f"{batch_size}x{width}", "forward": round(forward_ms, 1),
                              "backward": round(backward_ms, 1),
                              "optimizer_update": round(update_ms, 1),
                              "step": round(step_ms, 1)},
        "update_share": round(update_ms / step_ms, 4),
        "eval_sentences_per_s": eval_per_s,
        "setup_seconds": round(load_seconds, 1),
        "peak_rss_mib": peak_rss_mib(),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"device: {figures['device']}; setting: {figures['setting']}")
    print("matmul peak (measured now): " + ", ".join(
        f"{k} {v:.0f} GFLOP/s" for k, v in figures["matmul_peak_gflops"].items()))
    print(f"train: {figures['steps_timed']} steps of batch {batch_size}: "
          f"{figures['real_tokens_per_s']:.0f} real tokens/s, "
          f"{figures['computed_tokens_per_s']:.0f} computed (padded) tokens/s, "
          f"padding efficiency {100 * figures['padding_efficiency']:.1f} %")
    print(f"model: {figures['model_gflops_per_s']:.1f} GFLOP/s")
    print(f"MFU: {figures['mfu_percent']:.1f} % of the measured matmul peak")
    print(f"compile: {figures['compile_seconds']:.1f} s ({figures['compiled_shapes']} shapes)")
    b = figures["step_breakdown_ms"]
    print(f"step on {b['batch']}: forward {b['forward']:.0f} ms, backward {b['backward']:.0f} "
          f"ms, optimizer update {b['optimizer_update']:.0f} ms "
          f"({100 * figures['update_share']:.1f} % of the step)")
    if eval_per_s is not None:
        print(f"eval: {eval_per_s:.0f} sentences/s")
    print(f"peak RSS: {figures['peak_rss_mib']:.0f} MiB")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
