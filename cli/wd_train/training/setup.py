"""What a run trains with, built from its config in one place: the data, the schedule, the
device settings (precision, XLA, padding, tf.distribute), the tagger and its AdamWarmup with
the head's learning-rate factors. `run.py` trains with it; `bench/speed.py` times exactly it
(one builder: the bench cannot drift from what training runs).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from ..bert_folder import BertFolder, read_bert_folder
from ..config import Config
from ..data.batching import (
    POOL_BATCHES,
    Padding,
    batches_per_epoch,
    choose_length_buckets,
    padding_efficiency,
    run_batches,
)
from ..data.dataset import EncodedData, load_data
from ..errors import WdTrainError
from ..model.decoding import scheme_constraints
from ..model.optimizer import build_optimizer
from ..model.precision import set_precision
from ..model.schedule import Schedule, make_schedule
from ..model.tagger import BackboneSpec, backbone_spec, build_tagger, head_lr_multipliers
from .device import auto_precision, configure_gpus, describe_device, seed_everything
from .distribute import Distribution, make_distribution

log = logging.getLogger(__name__)


@dataclass
class TrainingSetup:
    data: EncodedData
    schedule: Schedule
    spec: BackboneSpec
    model: Any  # tf.keras.Model
    optimizer: Any  # the AdamWarmup shim (in a LossScaleOptimizer under mixed_float16)
    precision: str  # the dtype policy: float32, mixed_float16, mixed_bfloat16
    jit_compile: bool
    pad_to_multiple_of: int
    pool_batches: int  # batches per length-sorted pool (1: random batches)
    distribution: Distribution
    device: str  # for the log and metrics.json
    constraints: Any  # the tag scheme's, under constrained decoding; else None
    length_buckets: tuple[int, ...] = ()  # with XLA and data.length_buckets: the padded widths
    fused_update: bool = False  # training.fused_update resolved (`auto`: on without a strategy)

    @property
    def padding(self) -> Padding:
        return Padding(self.pad_to_multiple_of, self.length_buckets)


def build_training(config: Config, *, folder: BertFolder | None = None,
                   precision: str | None = None, jit_compile: bool | None = None
                   ) -> TrainingSetup:
    """Read the data and build everything a run of `config` trains with. `folder`: the
    checkpoint's, when the caller has read it (read here otherwise). `precision` and
    `jit_compile` override the config's (the speed bench's settings). Sets the dtype policy
    and the seeds: call it where a run starts (train_run restores float32 after)."""
    if folder is None:
        folder = read_bert_folder(config.model.checkpoint)
    data = load_data(config, folder)
    log.info(
        f"data: train {len(data.train.sentences)} sentences / {len(data.train.windows)} windows, "
        f"dev {len(data.dev.sentences)}, test {len(data.test.sentences) if data.test else 0}; "
        f"{len(data.labels)} labels; lowercase={data.lowercase} ({data.lowercase_source})"
    )
    pool_batches = POOL_BATCHES if config.data.batching == "bucketed" else 1
    total_steps = config.training.epochs * batches_per_epoch(
        len(data.train.windows), config.training.batch_size, pool_batches
    )
    schedule = make_schedule(config.optimizer, total_steps)  # refuses a warmup past the end
    gpus = configure_gpus(config.training.gpu)
    if precision is None:
        precision = (auto_precision(gpus) if config.training.precision == "auto"
                     else config.training.precision)
    distribution = make_distribution(config.training.distribution, gpus)
    if distribution.strategy is not None and precision == "mixed_float16":
        raise WdTrainError("training.precision: mixed_float16 is not supported with "
                           f"training.distribution {distribution.kind} (its loss scaling skips "
                           "steps per replica); use mixed_bfloat16")
    if distribution.strategy is not None and config.training.fused_update is True:
        raise WdTrainError("training.fused_update: not supported with training.distribution "
                           f"{distribution.kind} (the update follows the replicas' all-reduce)")
    fused_update = distribution.strategy is None and config.training.fused_update in (True, "auto")
    set_precision(precision)  # before the model is built
    if jit_compile is None:
        jit_compile = bool(gpus) if config.training.jit_compile == "auto" \
            else config.training.jit_compile
    pad_to_multiple_of = config.data.pad_to_multiple_of or (16 if jit_compile else 1)
    length_buckets = (xla_length_buckets(config, data, pool_batches)
                      if jit_compile and config.data.length_buckets else ())
    seed_everything(config.training.seed)
    device = describe_device()
    spec = backbone_spec(config.model, len(data.vocab), folder)
    if spec.token_num < len(data.vocab):
        raise WdTrainError(
            f"model.vocab: {data.vocab_path} has {len(data.vocab)} entries but the model has "
            f"only {spec.token_num} token embeddings"
        )
    # with a strategy, the variables (model and optimizer slots) are mirrored on its replicas
    with (distribution.strategy.scope() if distribution.strategy is not None
          else contextlib.nullcontext()):
        model = build_tagger(config.model, spec, len(data.labels))
        optimizer = build_optimizer(
            config.optimizer, schedule, model.trainable_variables,
            loss_scaling=precision == "mixed_float16",
            lr_multipliers=head_lr_multipliers(
                model, config.optimizer.head_lr_multiplier,
                config.optimizer.head_lr_multipliers.model_dump()))
    if distribution.strategy is not None:
        device += (f", {distribution.kind} × {distribution.replicas} replicas"
                   + (f" (worker {distribution.worker} of {distribution.workers})"
                      if distribution.kind == "multi_worker" else ""))
    log.info(f"device: {device}, {precision}{', XLA' if jit_compile else ''}; schedule: "
             f"{schedule.name} lr={schedule.learning_rate:g} "
             f"warmup={schedule.warmup_steps} decay={schedule.decay_steps} "
             f"min_lr={schedule.min_lr:g}")
    constraints = (scheme_constraints(data.labels, data.scheme)
                   if config.model.constrained_decoding else None)
    return TrainingSetup(data=data, schedule=schedule, spec=spec, model=model,
                         optimizer=optimizer, precision=precision, jit_compile=jit_compile,
                         pad_to_multiple_of=pad_to_multiple_of, pool_batches=pool_batches,
                         distribution=distribution, device=device, constraints=constraints,
                         length_buckets=length_buckets, fused_update=fused_update)


def xla_length_buckets(config: Config, data: EncodedData, pool_batches: int) -> tuple[int, ...]:
    """data.length_buckets padded widths for XLA, chosen over every batch the run will train
    on (its seeded sampler, all epochs); logs their padding efficiency next to that of
    multiples of 16."""
    lengths = [len(w.token_ids) for w in data.train.windows]
    batches = run_batches(lengths, config.training.batch_size, config.training.seed,
                          config.training.epochs, pool_batches)
    widths = [max(lengths[i] for i in indices) for indices in batches]
    buckets = choose_length_buckets(widths, [len(b) for b in batches],
                                    config.data.length_buckets)
    chosen = padding_efficiency(lengths, batches, Padding(16, buckets))
    multiples = padding_efficiency(lengths, batches, 16)
    log.info(f"XLA length buckets {', '.join(map(str, buckets))}: padding efficiency "
             f"{100 * chosen:.1f} % of the run's train batches (multiples of 16: "
             f"{100 * multiples:.1f} %)")
    return buckets
