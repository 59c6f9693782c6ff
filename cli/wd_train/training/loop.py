"""The training loop: masked cross-entropy, AdamWarmup steps, the LR of every step, dev F1 after
every epoch, best-epoch weights kept, early stopping on dev F1.

A custom loop rather than `model.fit`: it records the learning rate of every step, keeps the best
epoch's weights in memory without a second pass, and traces one step function for all batch
shapes (the input signature has a free sequence length).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..data.batching import Padding, batch_indices, pad_batch
from ..evaluation import Scores, evaluate, make_predict_function
from ..model.decoding import loss_sum_function, softmax_loss_sum
from ..model.optimizer import make_apply_gradients
from ..model.schedule import schedule_lr

if TYPE_CHECKING:
    from ..config import TrainingConfig
    from .setup import TrainingSetup


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    dev: Scores
    lr: float  # learning rate of the epoch's last step
    steps: int  # optimizer steps so far
    train_seconds: float
    tokens: int  # real (non-padding) tokens seen in the epoch
    padded_tokens: int = 0  # tokens computed, padding included


@dataclass
class FitResult:
    history: list[EpochRecord] = field(default_factory=list)
    lr_trace: list[tuple[int, float]] = field(default_factory=list)  # (step, lr)
    best_epoch: int = 0
    best_weights: list | None = None
    best_dev_predictions: list[list[str]] | None = None
    stopped_early: bool = False
    compiled_shapes: int = 0  # with XLA: the batch shapes compiled (each costs a compilation)
    compile_seconds: float = 0.0  # with XLA: time of the first step of every new shape

    @property
    def train_seconds(self) -> float:
        return sum(r.train_seconds for r in self.history)

    @property
    def train_tokens(self) -> int:
        return sum(r.tokens for r in self.history)

    @property
    def padding_efficiency(self) -> float | None:
        """Real / padded train tokens (None for epochs recorded before it was counted)."""
        padded = sum(r.padded_tokens for r in self.history)
        return self.train_tokens / padded if padded else None


class Diverged(Exception):
    """The loss of a step was not finite or above the limit: the run has no result."""

    def __init__(self, epoch: int, step: int, lr: float, loss: float):
        super().__init__(f"epoch {epoch}, step {step + 1}: loss {loss:g} at lr {lr:.3g}")
        self.epoch, self.step, self.lr, self.loss = epoch, step, lr, loss


@dataclass
class ResumePoint:
    """Where an interrupted run goes on from: its result so far (epochs, best epoch, its weights
    and dev predictions) and the batch sampler's RNG state after its last epoch."""

    result: FitResult
    rng_state: dict


def masked_loss(labels, logits, words_per_batch: float | None = None,
                loss_sum=softmax_loss_sum):
    """The head's loss over the words (first pieces) only: the batch's mean per word, or with
    `words_per_batch` its sum divided by that constant (every word weighs the same whatever the
    batch's length bucket)."""
    import tensorflow as tf

    total, words = loss_sum(labels, logits)
    if words_per_batch is not None:
        return total / words_per_batch
    return total / tf.maximum(words, 1.0)


def make_train_step(model, optimizer, words_per_batch: float | None = None,
                    jit_compile: bool = False, strategy=None, fused_update: bool = False):
    """One optimizer step on a global batch: (loss, whether the step was applied). With a
    tf.distribute `strategy`, each replica computes its share of the batch (distribute.py).
    `fused_update`: the update alone compiled by XLA (model/optimizer.py; under a compiled
    step it is compiled with the rest anyway)."""
    if strategy is not None:
        return _make_distributed_train_step(model, optimizer, words_per_batch, jit_compile,
                                            strategy)
    import tensorflow as tf

    spec = tf.TensorSpec([None, None], tf.int32)
    loss_sum = loss_sum_function(model)
    scaled = isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
    apply_gradients = make_apply_gradients(optimizer, model.trainable_variables,
                                           fused=fused_update and not jit_compile)

    @tf.function(input_signature=[spec, spec, spec], jit_compile=jit_compile)
    def train_step(token_ids, segment_ids, label_ids):
        with tf.GradientTape() as tape:
            logits = model([token_ids, segment_ids], training=True)
            loss = masked_loss(label_ids, logits, words_per_batch, loss_sum)
            # float16: the loss is scaled up so that small gradients survive; a step whose
            # gradients overflow is skipped by the optimizer (and so is its schedule step)
            target = optimizer.get_scaled_loss(loss) if scaled else loss
        gradients = tape.gradient(target, model.trainable_variables)
        if scaled:
            gradients = optimizer.get_unscaled_gradients(gradients)
        apply_gradients(gradients)
        applied = tf.constant(True)
        if scaled:
            # Keras' LossScaleOptimizer counts a skipped step in `iterations` all the same, and
            # AdamWarmup's schedule reads `iterations`: take the count back, so that only the
            # steps AdamWarmup applied move the warmup and decay
            applied = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in gradients
                                     if g is not None])
            tf.cond(applied, tf.no_op,
                    lambda: optimizer.iterations.assign_sub(1, read_value=False) or tf.no_op())
        return loss, applied

    return train_step


def _make_distributed_train_step(model, optimizer, words_per_batch, jit_compile, strategy):
    import tensorflow as tf

    from .distribute import replica_rows

    spec = tf.TensorSpec([None, None], tf.int32)
    loss_sum = loss_sum_function(model)

    def replica_gradients(token_ids, segment_ids, label_ids, words):
        with tf.GradientTape() as tape:
            logits = model([token_ids, segment_ids], training=True)
            total, _ = loss_sum(label_ids, logits)
            loss = total / words  # this replica's share of the global batch's loss
        return loss, tape.gradient(loss, model.trainable_variables)

    if jit_compile:  # XLA compiles each replica's forward and backward pass; the all-reduce
        # and the update stay outside it (a cross-replica step cannot be one XLA cluster)
        replica_gradients = tf.function(replica_gradients, jit_compile=True)

    def replica_step(token_ids, segment_ids, label_ids, words):
        loss, gradients = replica_gradients(replica_rows(token_ids), replica_rows(segment_ids),
                                            replica_rows(label_ids), words)
        # the optimizer sums the replicas' gradients: those of the global batch's loss
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function(input_signature=[spec, spec, spec])
    def train_step(token_ids, segment_ids, label_ids):
        if words_per_batch is not None:
            words = tf.constant(words_per_batch, tf.float32)
        else:
            words = tf.maximum(tf.reduce_sum(tf.cast(label_ids >= 0, tf.float32)), 1.0)
        losses = strategy.run(replica_step, args=(token_ids, segment_ids, label_ids, words))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None), tf.constant(True)

    return train_step


Progress = Callable[[str, int, int, dict], None]  # (phase, done, total, values)

# Steps between reads of the loss back to the host: the device never waits for the host
# between them (progress, the LR trace and the divergence check catch up at each read).
READ_BACK_EVERY = 16


def _prefetched(windows, batches: list, padding: Padding | int):
    """The epoch's padded batches as a tf.data pipeline, in exactly the sampler's order, the
    next ones built on another thread while the device computes."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, None], tf.int32)

    def generate():
        for indices in batches:
            yield pad_batch(windows, indices, padding)

    return tf.data.Dataset.from_generator(
        generate, output_signature=(spec, spec, spec)).prefetch(2)


def _out_of_patience(result: FitResult, patience: int | None) -> bool:
    return patience is not None and len(result.history) - result.best_epoch >= patience


def _read_back(pending: list, epoch: int, batches: int, next_step: int, schedule,
               max_loss: float | None, result: FitResult, losses: list[float],
               progress: Progress | None) -> tuple[int, float]:
    """One host sync for the steps run on the device since the last: check their losses, trace
    the learning rate of every applied step, report progress. Returns the next step and the
    learning rate of the last one read."""
    for number, (loss_tensor, applied_tensor) in pending:
        loss = float(loss_tensor)
        lr = schedule_lr(schedule, next_step)
        if not math.isfinite(loss) or (max_loss is not None and loss > max_loss):
            raise Diverged(epoch, next_step, lr, loss)
        if bool(applied_tensor):  # a step skipped by loss scaling: schedule unmoved
            result.lr_trace.append((next_step, lr))
            next_step += 1
        losses.append(loss)
        if progress:
            progress("train", number, batches, {"epoch": epoch, "loss": loss, "lr": lr})
    return next_step, lr


def fit(
    setup: TrainingSetup,
    training: TrainingConfig,
    *,
    progress: Progress | None = None,
    on_epoch_end: Callable[[EpochRecord, FitResult, np.random.Generator], None] | None = None,
    resume: ResumePoint | None = None,
) -> FitResult:
    """Train what `setup` built (training/setup.py), as `training` says, from `resume` (epochs
    done, best so far, sampler state) or from the start; with a tf.distribute strategy (model
    and optimizer built in its scope) over its replicas."""
    model, optimizer, schedule, data = setup.model, setup.optimizer, setup.schedule, setup.data
    epochs, batch_size, seed = training.epochs, training.batch_size, training.seed
    patience, loss_average, max_loss = training.patience, training.loss_average, \
        training.max_loss
    jit_compile, padding = setup.jit_compile, setup.padding
    strategy, constraints = setup.distribution.strategy, setup.constraints
    pool_batches = setup.pool_batches
    rng = np.random.default_rng(seed)
    windows = data.train.windows
    words_per_batch = None
    if loss_average == "words":
        words_per_batch = batch_size * sum(w.num_words for w in windows) / len(windows)
    train_step = make_train_step(model, optimizer, words_per_batch, jit_compile, strategy,
                                 setup.fused_update)
    predict = make_predict_function(model, jit_compile, constraints)
    shapes: set[tuple[int, int]] = set()
    lengths = np.array([len(w.token_ids) for w in windows])
    result = FitResult()
    best_f1 = -1.0
    if resume is not None:
        rng.bit_generator.state = resume.rng_state
        result = resume.result
        best_f1 = result.history[result.best_epoch - 1].dev.f1
        steps_done = result.history[-1].steps
        result.lr_trace = [(step, schedule_lr(schedule, step)) for step in range(steps_done)]
        if _out_of_patience(result, patience):  # it ran out just before it was cut off
            result.stopped_early = len(result.history) < epochs
            return result
    for epoch in range(len(result.history) + 1, epochs + 1):
        batches = batch_indices(lengths, batch_size, rng, pool_batches)
        losses, tokens, padded, started = [], 0, 0, time.perf_counter()
        next_step = int(optimizer.iterations.numpy())  # the host reads the step once an epoch
        lr = schedule_lr(schedule, next_step)
        pending: list = []  # (batch number, (loss, applied)) run on the device, not read back
        for done, (token_ids, segment_ids, label_ids) in enumerate(
                _prefetched(windows, batches, padding), start=1):
            new_shape = jit_compile and tuple(token_ids.shape) not in shapes
            step_started = time.perf_counter()
            pending.append((done, train_step(token_ids, segment_ids, label_ids)))
            if new_shape:  # an XLA compilation: wait for it, to time it
                float(pending[-1][1][0])
                shapes.add(tuple(token_ids.shape))
                result.compiled_shapes = len(shapes)
                result.compile_seconds += time.perf_counter() - step_started
            tokens += int(lengths[batches[done - 1]].sum())
            padded += int(token_ids.shape[0]) * int(token_ids.shape[1])
            if len(pending) < READ_BACK_EVERY and done < len(batches):
                continue
            next_step, lr = _read_back(pending, epoch, len(batches), next_step, schedule,
                                       max_loss, result, losses, progress)
            pending.clear()
        seconds = time.perf_counter() - started
        dev_scores, dev_predicted = evaluate(predict, data.dev, data.labels, data.scheme,
                                             batch_size * 2, padding)
        record = EpochRecord(
            epoch=epoch, loss=float(np.mean(losses)), dev=dev_scores, lr=lr,
            steps=int(optimizer.iterations.numpy()), train_seconds=seconds, tokens=tokens,
            padded_tokens=padded,
        )
        result.history.append(record)
        if dev_scores.f1 > best_f1:
            best_f1 = dev_scores.f1
            result.best_epoch = epoch
            result.best_weights = [w.copy() for w in model.get_weights()]
            result.best_dev_predictions = dev_predicted
        if on_epoch_end:
            on_epoch_end(record, result, rng)
        if _out_of_patience(result, patience):
            result.stopped_early = epoch < epochs
            break
    return result
